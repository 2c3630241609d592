// Package shmturn holds the turn-taking rules both SHM data planes (POSIX
// SHM on Linux, Win SHM) enforce: the client publishes one request, the
// server answers it, and only then may the client publish again.
package shmturn

import "netipc.local/netipc"

// State is one side's view of its region.
type State struct {
	// Client is true on the client side.
	Client bool
	// InFlight is true while a request is outstanding (client: sent and
	// not yet answered; server: received and not yet answered).
	InFlight bool
	// Closed is true once the region was closed.
	Closed bool
	// Poisoned is the error that made the region unusable, if any.
	Poisoned error
}

// CheckSend is the state and size check of a publication of n bytes
// (header included) into an outgoing area of capacity bytes. A client may
// not send again before it received the answer (ViolationShmBusy); a
// server may only answer a received request (ErrInvalidState).
func CheckSend(s State, n, capacity int) error {
	if s.Poisoned != nil {
		return s.Poisoned
	}
	if s.Closed {
		return netipc.ErrClosed
	}
	switch {
	case s.Client && s.InFlight:
		return netipc.ViolationShmBusy
	case !s.Client && !s.InFlight:
		return &netipc.StateError{Reason: "no received SHM request to answer"}
	}
	if n > capacity {
		lim := netipc.LimitResponsePayload
		if s.Client {
			lim = netipc.LimitRequestPayload
		}
		return &netipc.LimitError{Limit: lim, Max: uint64(capacity - netipc.HeaderLen), Actual: uint64(max(n-netipc.HeaderLen, 0))}
	}
	return nil
}

// CheckRecv is the state check before waiting for the peer's message.
func CheckRecv(s State) error {
	if s.Poisoned != nil {
		return s.Poisoned
	}
	if s.Closed {
		return netipc.ErrClosed
	}
	switch {
	case s.Client && !s.InFlight:
		return &netipc.StateError{Reason: "no SHM request in flight"}
	case !s.Client && s.InFlight:
		return &netipc.StateError{Reason: "previous SHM request not answered"}
	}
	return nil
}
