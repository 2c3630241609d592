//go:build linux

package uds

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
)

const testToken = sessiontest.Token

// soon is a generous deadline for operations that must succeed.
func soon() time.Time { return sessiontest.Soon() }

func endpoint(t testing.TB, service string) transport.Endpoint {
	t.Helper()
	ep, err := transport.NewEndpoint(t.TempDir(), service)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// harness runs the shared session tests over UDS.
var harness = &sessiontest.Harness{
	Endpoint: endpoint,
	StartServer: func(t testing.TB, ep transport.Endpoint, cfg sessiontest.Config, serve sessiontest.ServeFunc) *sessiontest.Server {
		return startServer(t, ep, serverCfg(cfg), serve)
	},
	Connect: func(ep transport.Endpoint, cfg sessiontest.Config, deadline time.Time, abort *transport.Abort) (*session.Client, error) {
		c, err := Connect(ep, clientCfg(cfg), deadline, abort)
		if err != nil {
			return nil, err
		}
		return &c.clientCore, nil
	},
	Pair: func(t testing.TB) (sessiontest.Raw, session.Conn) {
		a, b := socketpair(t)
		return rawFd(a), session.SocketConn(b)
	},
	Dial: func(t testing.TB, ep transport.Endpoint) sessiontest.Raw {
		t.Helper()
		fd, err := connectPath(ep.SocketPath(), soon(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Close(fd) })
		return rawFd(fd)
	},
	Listen: func(t testing.TB, ep transport.Endpoint) sessiontest.Listener {
		t.Helper()
		l, err := Listen(ep)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		return sessiontest.Listener{Close: l.Close,
			Accept: func(deadline time.Time, abort *transport.Abort) (sessiontest.Handshake, error) {
				p, err := l.Accept(deadline, abort)
				if err != nil {
					return nil, err
				}
				return func(cfg sessiontest.Config, deadline time.Time, abort *transport.Abort) (*session.Server, error) {
					s, err := p.Handshake(serverCfg(cfg), deadline, abort)
					if err != nil {
						return nil, err
					}
					return &s.serverCore, nil
				}, nil
			}}
	},
	Profiles:     []uint32{netipc.ProfileBaseline, netipc.ProfileShmHybrid},
	ProfileNames: []string{"uds", "shm"},
}

// TestSessionShared runs the tests shared with the Named Pipe transport.
func TestSessionShared(t *testing.T) { sessiontest.Run(t, harness) }

// rawFd is a SEQPACKET socket used without a session.
type rawFd int

func (r rawFd) Send(pkt []byte) error { return sys.SendPacket(int(r), pkt, nil, time.Time{}) }

func (r rawFd) Recv(buf []byte) (int, int, error) {
	return sys.RecvPacket(int(r), buf, nil, soon(), nil)
}

func (r rawFd) Hangup() { _ = unix.Shutdown(int(r), unix.SHUT_RDWR) }

func serverCfg(c sessiontest.Config) ServerConfig {
	return ServerConfig{SupportedProfiles: c.SupportedProfiles, PreferredProfiles: c.PreferredProfiles,
		MaxRequestPayloadBytes: c.MaxRequestPayloadBytes, MaxResponsePayloadBytes: c.MaxResponsePayloadBytes,
		PacketSize: c.PacketSize, AuthToken: c.AuthToken}
}

func clientCfg(c sessiontest.Config) ClientConfig {
	return ClientConfig{SupportedProfiles: c.SupportedProfiles, PreferredProfiles: c.PreferredProfiles,
		MaxRequestPayloadBytes: c.MaxRequestPayloadBytes, MaxRequestBatchItems: c.MaxRequestBatchItems,
		MaxResponsePayloadBytes: c.MaxResponsePayloadBytes, MaxResponseBatchItems: c.MaxResponseBatchItems,
		ResponsePayloadCap: c.ResponsePayloadCap, AuthToken: c.AuthToken, PacketSize: c.PacketSize,
		MaxInFlight: c.MaxInFlight}
}

type server = sessiontest.Server

var incrementServe = sessiontest.IncrementServe

// startServer serves ep with cfg until cleanup (see sessiontest.Serve).
func startServer(t testing.TB, ep transport.Endpoint, cfg ServerConfig, serve sessiontest.ServeFunc) *server {
	t.Helper()
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	return sessiontest.Serve(t, l.Accept, func(p *PendingConn, deadline time.Time, abort *transport.Abort) (*session.Server, error) {
		s, err := p.Handshake(cfg, deadline, abort)
		if err != nil {
			return nil, err
		}
		return &s.serverCore, nil
	}, l.Close, serve)
}

func baseServerCfg() ServerConfig { return serverCfg(sessiontest.BaseServerCfg()) }

func baseClientCfg() ClientConfig { return clientCfg(sessiontest.BaseClientCfg()) }

func connect(t testing.TB, ep transport.Endpoint, cfg ClientConfig) *ClientSession {
	t.Helper()
	c, err := Connect(ep, cfg, soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func callIncrement(t testing.TB, c *ClientSession, v uint64) uint64 {
	t.Helper()
	return sessiontest.CallIncrement(t, &c.clientCore, v)
}

func wantIs(t testing.TB, err, target error) {
	t.Helper()
	sessiontest.WantIs(t, err, target)
}

// socketpair returns two connected SEQPACKET fds, closed at cleanup.
func socketpair(t testing.TB) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fds[0]); _ = unix.Close(fds[1]) })
	return fds[0], fds[1]
}
