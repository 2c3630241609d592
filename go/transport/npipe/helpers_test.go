//go:build windows

package npipe

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
)

const testToken = sessiontest.Token

// soon is a generous deadline for operations that must succeed.
func soon() time.Time { return sessiontest.Soon() }

var runDirs atomic.Uint64

// endpoint returns an endpoint under a run directory unique to this test
// process and call: Named Pipe and kernel object names only hash it, so it
// need not exist (and t.TempDir's cleanup does not work under Wine).
func endpoint(t testing.TB, service string) transport.Endpoint {
	t.Helper()
	dir := fmt.Sprintf(`C:\netipc-test\%d-%d-%d`, os.Getpid(), time.Now().UnixNano(), runDirs.Add(1))
	ep, err := transport.NewEndpoint(dir, service)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// harness runs the shared session tests over Named Pipes.
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
		a, b := pipePair(t)
		return rawPipe{a}, session.PipeConn(b)
	},
	Dial: func(t testing.TB, ep transport.Endpoint) sessiontest.Raw {
		t.Helper()
		p, err := connectPipe(ep, soon(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return rawPipe{p}
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
	Profiles:     []uint32{netipc.ProfileBaseline, netipc.ProfileShmHybrid, ProfileBusyWait},
	ProfileNames: []string{"npipe", "shm-hybrid", "shm-busywait"},
}

// TestSessionShared runs the tests shared with the UDS transport.
func TestSessionShared(t *testing.T) { sessiontest.Run(t, harness) }

// keep forces test buffers handed to overlapped I/O onto the heap.
var keep atomic.Pointer[[]byte]

// rawPipe is a pipe used without a session; every buffer it hands to
// overlapped I/O is on the heap.
type rawPipe struct{ p *pipe }

func (r rawPipe) Send(pkt []byte) error {
	heap := append([]byte(nil), pkt...)
	keep.Store(&heap)
	return r.p.Write(heap, soon())
}

func (r rawPipe) Recv(buf []byte) (int, int, error) {
	heap := make([]byte, len(buf))
	keep.Store(&heap)
	n, more, err := r.p.Read(heap, soon(), nil)
	copy(buf, heap[:n])
	if more {
		return n, n + 1, err
	}
	return n, n, err
}

func (r rawPipe) Hangup() { _ = r.p.Close() }

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
