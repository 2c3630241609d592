//go:build windows

package npipe

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/winpipe"
	"netipc.local/netipc/transport/winshm"
	"netipc.local/netipc/wire"
)

// HelloMsgLen is the length of a HELLO message (header + payload).
const HelloMsgLen = netipc.HeaderLen + wire.HelloLen

// HelloAckMsgLen is the length of a HELLO_ACK message (header + payload).
const HelloAckMsgLen = netipc.HeaderLen + wire.HelloAckLen

// HandshakeStatusError maps a non-OK handshake transport_status to the
// error a client returns: a *netipc.StatusError, which wraps
// ErrAuthFailed, ErrUnsupported, ErrIncompatible or ErrLimitExceeded.
func HandshakeStatusError(status uint16) error { return &netipc.StatusError{Status: status} }

// busySlice bounds one WaitNamedPipe while every instance is busy, so
// the deadline and the abort are checked in between.
const busySlice = 50 * time.Millisecond

// connectPipe opens the endpoint's pipe for overlapped I/O in message
// read mode; no pipe is netipc.ErrNotFound, all instances busy is retried
// until the deadline.
func connectPipe(ep transport.Endpoint, deadline time.Time, abort *transport.Abort) (*pipe, error) {
	name, err := windows.UTF16PtrFromString(ep.PipeName())
	if err != nil {
		return nil, &netipc.ArgError{Reason: "pipe name contains NUL"}
	}
	var h windows.Handle
	for {
		if err := abort.Check(); err != nil {
			return nil, err
		}
		h, err = windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil,
			windows.OPEN_EXISTING, windows.FILE_FLAG_OVERLAPPED, 0)
		if err == nil {
			break
		}
		switch {
		case errors.Is(err, windows.ERROR_FILE_NOT_FOUND):
			return nil, fmt.Errorf("%w: %s", netipc.ErrNotFound, ep.PipeName())
		case errors.Is(err, windows.ERROR_PIPE_BUSY):
			left, err := sys.Remaining(deadline)
			if err != nil {
				return nil, err
			}
			if left < 0 || left > busySlice {
				left = busySlice
			}
			// Failure (timeout, the pipe vanished) is sorted out by the
			// next attempt.
			_, _ = winpipe.WaitNamedPipe(name, max(sys.WaitMs(left), 1))
		default:
			return nil, sys.Wrap("CreateFile", err)
		}
	}
	mode := uint32(windows.PIPE_READMODE_MESSAGE)
	if err := windows.SetNamedPipeHandleState(h, &mode, nil, nil); err != nil {
		_ = windows.CloseHandle(h)
		return nil, sys.Wrap("SetNamedPipeHandleState", err)
	}
	p, err := winpipe.New(h)
	if err != nil {
		_ = windows.CloseHandle(h)
		return nil, err
	}
	return p, nil
}

func helloFor(cfg *ClientConfig, packetSize uint32) wire.Hello {
	return wire.Hello{
		SupportedProfiles: cfg.SupportedProfiles, PreferredProfiles: cfg.PreferredProfiles,
		MaxRequestPayloadBytes: cfg.MaxRequestPayloadBytes, MaxRequestBatchItems: cfg.MaxRequestBatchItems,
		MaxResponsePayloadBytes: cfg.MaxResponsePayloadBytes, MaxResponseBatchItems: cfg.MaxResponseBatchItems,
		AuthToken: cfg.AuthToken, PacketSize: packetSize,
	}
}

// EncodeHelloMsg encodes a whole HELLO message.
func EncodeHelloMsg(h wire.Hello) [HelloMsgLen]byte {
	var m [HelloMsgLen]byte
	wire.ControlHeader(netipc.CodeHello, netipc.StatusOK, wire.HelloLen).EncodeTo(m[:])
	p := h.Encode()
	copy(m[netipc.HeaderLen:], p[:])
	return m
}

// EncodeHelloAckMsg encodes a whole HELLO_ACK message with status.
func EncodeHelloAckMsg(status uint16, a wire.HelloAck) [HelloAckMsgLen]byte {
	var m [HelloAckMsgLen]byte
	wire.ControlHeader(netipc.CodeHelloAck, status, wire.HelloAckLen).EncodeTo(m[:])
	p := a.Encode()
	copy(m[netipc.HeaderLen:], p[:])
	return m
}

// checkAck validates a received HELLO_ACK message (stored bytes and real
// datagram length) against the HELLO we sent and our ceilings. The status
// is read first: a rejection is accepted with or without its payload.
func checkAck(b []byte, real int, hello wire.Hello, cfg *ClientConfig) (wire.HelloAck, error) {
	h, err := wire.DecodeHeader(b)
	if err != nil {
		var de *netipc.DecodeError
		if errors.As(err, &de) && de.Kind == netipc.DecodeBadVersion {
			return wire.HelloAck{}, fmt.Errorf("%w: HELLO_ACK header version %d", netipc.ErrIncompatible, de.Found)
		}
		return wire.HelloAck{}, err
	}
	if h.Kind != netipc.KindControl || h.Code != netipc.CodeHelloAck {
		return wire.HelloAck{}, netipc.ViolationHandshake
	}
	if h.TransportStatus != netipc.StatusOK {
		return wire.HelloAck{}, HandshakeStatusError(h.TransportStatus)
	}
	if h.PayloadLen != wire.HelloAckLen || real != HelloAckMsgLen {
		return wire.HelloAck{}, netipc.ViolationHandshake
	}
	a, err := wire.DecodeHelloAck(b[netipc.HeaderLen:])
	if err != nil {
		return wire.HelloAck{}, err
	}
	switch {
	case a.AgreedPacketSize <= netipc.HeaderLen || a.AgreedPacketSize > hello.PacketSize,
		bits.OnesCount32(a.SelectedProfile) != 1 || a.SelectedProfile&hello.SupportedProfiles == 0,
		a.AgreedMaxRequestBatchItems != a.AgreedMaxResponseBatchItems,
		a.AgreedMaxRequestPayloadBytes > hello.MaxRequestPayloadBytes:
		return wire.HelloAck{}, netipc.ViolationHandshake
	case a.AgreedMaxResponsePayloadBytes > cfg.ResponsePayloadCap:
		return wire.HelloAck{}, &netipc.LimitError{Limit: netipc.LimitResponsePayload,
			Max: uint64(cfg.ResponsePayloadCap), Actual: uint64(a.AgreedMaxResponsePayloadBytes)}
	}
	return a, nil
}

// clientHandshake connects, exchanges HELLO / HELLO_ACK and attaches Win
// SHM when selected. Any SHM attach failure wraps netipc.ErrShmAttach: the
// caller must close the session and reconnect without SHM.
func clientHandshake(ep transport.Endpoint, cfg *ClientConfig, deadline time.Time, abort *transport.Abort) (*pipe, wire.HelloAck, *winshm.Region, error) {
	p, err := connectPipe(ep, deadline, abort)
	if err != nil {
		return nil, wire.HelloAck{}, nil, err
	}
	fail := func(err error) (*pipe, wire.HelloAck, *winshm.Region, error) {
		_ = p.Close()
		return nil, wire.HelloAck{}, nil, err
	}
	hello := helloFor(cfg, proposedPacketSize(cfg.PacketSize))
	msg := EncodeHelloMsg(hello)
	if err := p.Write(append(p.Scratch()[:0], msg[:]...), deadline); err != nil {
		return fail(err)
	}
	// One spare byte detects an over-long reply.
	buf := p.Scratch()[:HelloAckMsgLen+1]
	n, more, err := p.Read(buf, deadline, abort)
	if err != nil {
		return fail(err)
	}
	if more {
		n = len(buf)
	}
	ack, err := checkAck(buf[:n], n, hello, cfg)
	if err != nil {
		return fail(err)
	}
	var region *winshm.Region
	if ack.SelectedProfile&ShmProfiles != 0 {
		region, err = winshm.Attach(ep, cfg.AuthToken, ack.SelectedProfile, ack.SessionID,
			ack.AgreedMaxRequestPayloadBytes, ack.AgreedMaxResponsePayloadBytes)
		if err != nil {
			if !errors.Is(err, netipc.ErrShmAttach) {
				err = fmt.Errorf("%w: %v", netipc.ErrShmAttach, err)
			}
			return fail(err)
		}
	}
	return p, ack, region, nil
}

// sendRejection sends a rejection HELLO_ACK (full 48-byte payload, layout
// 1, zeros); failures are ignored since the connection closes right after.
func sendRejection(p *pipe, status uint16, deadline time.Time) {
	m := EncodeHelloAckMsg(status, wire.HelloAck{})
	_ = p.Write(append(p.Scratch()[:0], m[:]...), deadline)
}

// serverHandshake runs the server side on a connected pipe: malformed
// HELLOs are closed without an answer, a wrong header version is rejected
// with INCOMPATIBLE, negotiation rejections are answered, and Win SHM is
// created before a successful HELLO_ACK (falling back to the baseline
// when it cannot be created and the client supports it).
func serverHandshake(p *pipe, ep transport.Endpoint, cfg *ServerConfig, sessionID uint64, deadline time.Time, abort *transport.Abort) (wire.HelloAck, *winshm.Region, error) {
	buf := p.Scratch()[:HelloMsgLen+1]
	stored, more, err := p.Read(buf, deadline, abort)
	if err != nil {
		return wire.HelloAck{}, nil, err
	}
	real := stored
	if more {
		real = len(buf) // longer than a HELLO: rejected below
	}
	b := buf[:stored]
	h, err := wire.DecodeHeader(b)
	if err != nil {
		var de *netipc.DecodeError
		if errors.As(err, &de) && de.Kind == netipc.DecodeBadVersion {
			sendRejection(p, netipc.StatusIncompatible, deadline)
			return wire.HelloAck{}, nil, HandshakeStatusError(netipc.StatusIncompatible)
		}
		return wire.HelloAck{}, nil, err
	}
	switch {
	case h.Kind != netipc.KindControl:
		return wire.HelloAck{}, nil, netipc.ViolationUnexpectedKind
	case h.Code != netipc.CodeHello:
		return wire.HelloAck{}, nil, netipc.ViolationUnexpectedCode
	case h.PayloadLen != wire.HelloLen || real < HelloMsgLen:
		return wire.HelloAck{}, nil, &netipc.DecodeError{Kind: netipc.DecodeTruncated, What: "hello", Need: HelloMsgLen, Have: min(real, netipc.HeaderLen+int(h.PayloadLen))}
	case real != HelloMsgLen:
		return wire.HelloAck{}, nil, netipc.ViolationPacketLength
	}
	n := wire.Negotiate(b[netipc.HeaderLen:HelloMsgLen], cfg.Offer(proposedPacketSize(cfg.PacketSize)), sessionID)
	switch n.Decision {
	case wire.Reject:
		if cfg.OnReject != nil {
			if hello, err := wire.DecodeHello(b[netipc.HeaderLen:HelloMsgLen]); err == nil {
				cfg.OnReject(n.Status, hello)
			}
		}
		sendRejection(p, n.Status, deadline)
		return wire.HelloAck{}, nil, HandshakeStatusError(n.Status)
	case wire.Drop:
		return wire.HelloAck{}, nil, netipc.ViolationHandshake
	}
	ack := n.Ack
	var region *winshm.Region
	if ack.SelectedProfile&ShmProfiles != 0 {
		// The region must exist before a successful HELLO_ACK names it.
		region, err = winshm.Create(ep, cfg.AuthToken, ack.SelectedProfile, sessionID,
			ack.AgreedMaxRequestPayloadBytes, ack.AgreedMaxResponsePayloadBytes, cfg.Shm)
		if err != nil {
			if ack.IntersectionProfiles&netipc.ProfileBaseline == 0 {
				sendRejection(p, netipc.StatusUnsupported, deadline)
				return wire.HelloAck{}, nil, err
			}
			ack.SelectedProfile = netipc.ProfileBaseline
			region = nil
		}
	}
	m := EncodeHelloAckMsg(netipc.StatusOK, ack)
	if err := p.Write(append(p.Scratch()[:0], m[:]...), deadline); err != nil {
		if region != nil {
			_ = region.Close()
		}
		return wire.HelloAck{}, nil, err
	}
	return ack, region, nil
}
