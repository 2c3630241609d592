//go:build linux

package uds

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/shm"
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

// connectPath connects a SEQPACKET socket to path; ENOENT and
// ECONNREFUSED are netipc.ErrNotFound, a full backlog is retried until the
// deadline. The returned fd is in blocking mode.
func connectPath(path string, deadline time.Time, abort *transport.Abort) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, sys.Wrap("socket", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = unix.Close(fd)
		}
	}()
	addr := &unix.SockaddrUnix{Name: path}
	for {
		if err := abort.Check(); err != nil {
			return -1, err
		}
		err := unix.Connect(fd, addr)
		switch err {
		case nil:
		case unix.ENOENT, unix.ECONNREFUSED:
			return -1, fmt.Errorf("%w: %s", netipc.ErrNotFound, path)
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if err := sys.Sleep(time.Millisecond, deadline, abort); err != nil {
				return -1, err
			}
			continue
		case unix.EINPROGRESS:
			if err := sys.Wait(fd, unix.POLLOUT, deadline, abort); err != nil {
				return -1, err
			}
			soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err != nil {
				return -1, sys.Wrap("getsockopt", err)
			}
			if e := unix.Errno(soErr); e == unix.ENOENT || e == unix.ECONNREFUSED {
				return -1, fmt.Errorf("%w: %s", netipc.ErrNotFound, path)
			} else if e != 0 {
				return -1, sys.Wrap("connect", e)
			}
		default:
			return -1, sys.Wrap("connect", err)
		}
		break
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return -1, sys.Wrap("fcntl", err)
	}
	ok = true
	return fd, nil
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

// clientHandshake connects, exchanges HELLO / HELLO_ACK and attaches SHM
// when selected. Any SHM attach failure wraps netipc.ErrShmAttach: the
// caller must close the session and reconnect without SHM.
func clientHandshake(ep transport.Endpoint, cfg *ClientConfig, deadline time.Time, abort *transport.Abort) (int, wire.HelloAck, *shm.Region, error) {
	fd, err := connectPath(ep.SocketPath(), deadline, abort)
	if err != nil {
		return -1, wire.HelloAck{}, nil, err
	}
	fail := func(err error) (int, wire.HelloAck, *shm.Region, error) {
		_ = unix.Close(fd)
		return -1, wire.HelloAck{}, nil, err
	}
	hello := helloFor(cfg, sys.ProposedPacketSize(fd, cfg.PacketSize))
	msg := EncodeHelloMsg(hello)
	if err := sys.SendPacket(fd, msg[:], nil, deadline); err != nil {
		return fail(err)
	}
	// One spare byte detects an over-long reply.
	var buf [HelloAckMsgLen + 1]byte
	stored, real, err := sys.RecvPacket(fd, buf[:], nil, deadline, abort)
	if err != nil {
		return fail(err)
	}
	ack, err := checkAck(buf[:stored], real, hello, cfg)
	if err != nil {
		return fail(err)
	}
	var region *shm.Region
	if ack.SelectedProfile&ShmProfiles != 0 {
		region, err = shm.AttachWithRetry(ep, ack.SessionID, ack.AgreedMaxRequestPayloadBytes,
			ack.AgreedMaxResponsePayloadBytes, cfg.Shm, cfg.ShmAttachTimeout, deadline, abort)
		switch {
		case err == nil:
		case errors.Is(err, netipc.ErrTimeout) || errors.Is(err, netipc.ErrAborted):
			return fail(err)
		case errors.Is(err, netipc.ErrShmAttach):
			return fail(err)
		default:
			return fail(fmt.Errorf("%w: %v", netipc.ErrShmAttach, err))
		}
	}
	return fd, ack, region, nil
}

// sendRejection sends a rejection HELLO_ACK (full 48-byte payload, layout
// 1, zeros); failures are ignored since the connection closes right after.
func sendRejection(fd int, status uint16, deadline time.Time) {
	m := EncodeHelloAckMsg(status, wire.HelloAck{})
	_ = sys.SendPacket(fd, m[:], nil, deadline)
}

// serverHandshake runs the server side on an accepted connection:
// malformed HELLOs are closed without an answer, a wrong header version
// is rejected with INCOMPATIBLE, negotiation rejections are answered, and
// SHM is provisioned before a successful HELLO_ACK (falling back to the
// baseline when the region cannot be created and the client supports it).
func serverHandshake(fd int, ep transport.Endpoint, cfg *ServerConfig, sessionID uint64, deadline time.Time, abort *transport.Abort) (wire.HelloAck, *shm.Region, error) {
	var buf [HelloMsgLen + 1]byte
	stored, real, err := sys.RecvPacket(fd, buf[:], nil, deadline, abort)
	if err != nil {
		return wire.HelloAck{}, nil, err
	}
	b := buf[:stored]
	h, err := wire.DecodeHeader(b)
	if err != nil {
		var de *netipc.DecodeError
		if errors.As(err, &de) && de.Kind == netipc.DecodeBadVersion {
			sendRejection(fd, netipc.StatusIncompatible, deadline)
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
	n := wire.Negotiate(b[netipc.HeaderLen:HelloMsgLen], cfg.Offer(sys.ProposedPacketSize(fd, cfg.PacketSize)), sessionID)
	switch n.Decision {
	case wire.Reject:
		if cfg.OnReject != nil {
			if hello, err := wire.DecodeHello(b[netipc.HeaderLen:HelloMsgLen]); err == nil {
				cfg.OnReject(n.Status, hello)
			}
		}
		sendRejection(fd, n.Status, deadline)
		return wire.HelloAck{}, nil, HandshakeStatusError(n.Status)
	case wire.Drop:
		return wire.HelloAck{}, nil, netipc.ViolationHandshake
	}
	ack := n.Ack
	var region *shm.Region
	if ack.SelectedProfile&ShmProfiles != 0 {
		// The region must exist before a successful HELLO_ACK names it.
		region, err = shm.Create(ep, sessionID, ack.AgreedMaxRequestPayloadBytes, ack.AgreedMaxResponsePayloadBytes, cfg.Shm)
		if err != nil {
			if ack.IntersectionProfiles&netipc.ProfileBaseline == 0 {
				sendRejection(fd, netipc.StatusUnsupported, deadline)
				return wire.HelloAck{}, nil, err
			}
			ack.SelectedProfile = netipc.ProfileBaseline
			region = nil
		}
	}
	m := EncodeHelloAckMsg(netipc.StatusOK, ack)
	if err := sys.SendPacket(fd, m[:], nil, deadline); err != nil {
		if region != nil {
			_ = region.Close()
		}
		return wire.HelloAck{}, nil, err
	}
	return ack, region, nil
}
