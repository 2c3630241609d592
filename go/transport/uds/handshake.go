//go:build linux

package uds

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/shm"
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
func EncodeHelloMsg(h wire.Hello) [HelloMsgLen]byte { return session.EncodeHelloMsg(h) }

// EncodeHelloAckMsg encodes a whole HELLO_ACK message with status.
func EncodeHelloAckMsg(status uint16, a wire.HelloAck) [HelloAckMsgLen]byte {
	return session.EncodeHelloAckMsg(status, a)
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
	conn := session.SocketConn(fd)
	hello := helloFor(cfg, sys.ProposedPacketSize(fd, cfg.PacketSize))
	ack, err := session.ClientHello(&conn, hello, cfg.ResponsePayloadCap, deadline, abort)
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

// serverHandshake runs the server side on an accepted connection (see
// session.ServerHandshake), provisioning the SHM region when selected.
func serverHandshake(fd int, ep transport.Endpoint, cfg *ServerConfig, sessionID uint64, deadline time.Time, abort *transport.Abort) (wire.HelloAck, *shm.Region, error) {
	conn := session.SocketConn(fd)
	return session.ServerHandshake(&conn, &session.ServerSide{
		Offer: cfg.Offer(sys.ProposedPacketSize(fd, cfg.PacketSize)), SessionID: sessionID,
		ShmProfiles: ShmProfiles, OnReject: cfg.OnReject,
		CreateRegion: func(ack *wire.HelloAck) (*shm.Region, error) {
			return shm.Create(ep, sessionID, ack.AgreedMaxRequestPayloadBytes, ack.AgreedMaxResponsePayloadBytes, cfg.Shm)
		},
	}, deadline, abort)
}
