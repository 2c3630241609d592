//go:build windows

package npipe

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/winpipe"
	"netipc.local/netipc/transport/winshm"
	"netipc.local/netipc/wire"
)

// HelloMsgLen is the length of a HELLO message (header + payload).
const HelloMsgLen = session.HelloMsgLen

// HelloAckMsgLen is the length of a HELLO_ACK message (header + payload).
const HelloAckMsgLen = session.HelloAckMsgLen

// HandshakeStatusError maps a non-OK handshake transport_status to the
// error a client returns: a *netipc.StatusError, which wraps
// ErrAuthFailed, ErrUnsupported, ErrIncompatible or ErrLimitExceeded.
func HandshakeStatusError(status uint16) error { return session.HandshakeStatusError(status) }

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
func EncodeHelloMsg(h wire.Hello) [HelloMsgLen]byte { return session.EncodeHelloMsg(h) }

// EncodeHelloAckMsg encodes a whole HELLO_ACK message with status.
func EncodeHelloAckMsg(status uint16, a wire.HelloAck) [HelloAckMsgLen]byte {
	return session.EncodeHelloAckMsg(status, a)
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
	conn := session.PipeConn(p)
	hello := helloFor(cfg, proposedPacketSize(cfg.PacketSize))
	ack, err := session.ClientHello(&conn, hello, cfg.ResponsePayloadCap, deadline, abort)
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

// serverHandshake runs the server side on a connected pipe (see
// session.ServerHandshake), creating the Win SHM region when selected.
func serverHandshake(p *pipe, ep transport.Endpoint, cfg *ServerConfig, sessionID uint64, deadline time.Time, abort *transport.Abort) (wire.HelloAck, *winshm.Region, error) {
	conn := session.PipeConn(p)
	return session.ServerHandshake(&conn, &session.ServerSide{
		Offer: cfg.Offer(proposedPacketSize(cfg.PacketSize)), SessionID: sessionID,
		ShmProfiles: ShmProfiles, OnReject: cfg.OnReject,
		CreateRegion: func(ack *wire.HelloAck) (*winshm.Region, error) {
			return winshm.Create(ep, cfg.AuthToken, ack.SelectedProfile, sessionID,
				ack.AgreedMaxRequestPayloadBytes, ack.AgreedMaxResponsePayloadBytes, cfg.Shm)
		},
	}, deadline, abort)
}
