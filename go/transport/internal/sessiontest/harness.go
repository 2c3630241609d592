//go:build linux || windows

// Package sessiontest is the shared test support of the UDS and Named Pipe
// transports: a test server, common assertions, and the failure and
// session tests written once against session.Client / session.Server and
// run by each transport's tests through its Harness.
package sessiontest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/wire"
)

// Token is the auth token of the test configurations.
const Token = 0xBE4C400000C0FFEE

// Soon is a generous deadline for operations that must succeed.
func Soon() time.Time { return time.Now().Add(10 * time.Second) }

// Config is the transport-neutral part of a client or server
// configuration; each transport maps it onto its own config types.
type Config struct {
	SupportedProfiles       uint32
	PreferredProfiles       uint32
	MaxRequestPayloadBytes  uint32
	MaxRequestBatchItems    uint32
	MaxResponsePayloadBytes uint32
	MaxResponseBatchItems   uint32
	ResponsePayloadCap      uint32
	AuthToken               uint64
	PacketSize              uint32
	MaxInFlight             int
}

// BaseServerCfg is the default test server configuration.
func BaseServerCfg() Config {
	return Config{AuthToken: Token, MaxRequestPayloadBytes: 65536, MaxResponsePayloadBytes: 65536}
}

// BaseClientCfg is the default test client configuration.
func BaseClientCfg() Config {
	return Config{AuthToken: Token, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536}
}

// ProfileCfgs are the base server and client configurations preferring
// profile (with the baseline as fallback).
func ProfileCfgs(profile uint32) (server, client Config) {
	server, client = BaseServerCfg(), BaseClientCfg()
	if profile != netipc.ProfileBaseline {
		server.SupportedProfiles = netipc.ProfileBaseline | profile
		server.PreferredProfiles = profile
		client.SupportedProfiles = netipc.ProfileBaseline | profile
		client.PreferredProfiles = profile
	}
	return server, client
}

// Raw is the raw end of a connection: whole packets, no session.
type Raw interface {
	// Send sends one packet.
	Send(pkt []byte) error
	// Recv receives one packet into buf (until Soon): the bytes stored
	// and the packet's length (more than stored when it was longer).
	Recv(buf []byte) (stored, real int, err error)
	// Hangup leaves: the other end sees the peer gone.
	Hangup()
}

// Harness is one transport under the shared tests.
type Harness struct {
	// Endpoint returns an endpoint unique to the test.
	Endpoint func(t testing.TB, service string) transport.Endpoint
	// StartServer starts a test server on ep (see Serve).
	StartServer func(t testing.TB, ep transport.Endpoint, cfg Config, serve ServeFunc) *Server
	// Connect connects a client session.
	Connect func(ep transport.Endpoint, cfg Config, deadline time.Time, abort *transport.Abort) (*session.Client, error)
	// Pair returns a raw end and the session Conn connected to it, both
	// released at cleanup.
	Pair func(t testing.TB) (Raw, session.Conn)
	// Dial connects a raw client to ep without a handshake; it is released
	// at cleanup.
	Dial func(t testing.TB, ep transport.Endpoint) Raw
	// Listen listens on ep; the listener is closed at cleanup.
	Listen func(t testing.TB, ep transport.Endpoint) Listener
	// Profiles are the data-plane profiles sessions run on: the baseline
	// first, then the SHM ones.
	Profiles []uint32
	// ProfileNames name Profiles in subtests and sub-benchmarks.
	ProfileNames []string
}

// Listener is a transport listener as the shared tests drive it.
type Listener struct {
	// Accept waits for the next connection; the returned function runs
	// its server handshake.
	Accept func(deadline time.Time, abort *transport.Abort) (Handshake, error)
	// Close closes the listener.
	Close func() error
}

// Handshake runs the server side of a pending connection's handshake.
type Handshake func(cfg Config, deadline time.Time, abort *transport.Abort) (*session.Server, error)

// connect connects with cfg or fails the test; the session is closed at
// cleanup.
func (h *Harness) connect(t testing.TB, ep transport.Endpoint, cfg Config) *session.Client {
	t.Helper()
	c, err := h.Connect(ep, cfg, Soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ServeFunc serves one established server session.
type ServeFunc func(s *session.Server, abort *transport.Abort) error

// Server is a test server: an accept loop handing each connection to its
// own goroutine, which handshakes and then runs serve.
type Server struct {
	closeListener func() error
	abort         *transport.Abort
	wg            sync.WaitGroup
	mu            sync.Mutex
	errs          []error
}

// Serve runs a test server until cleanup: accept takes the next
// connection, handshake establishes its session, closeListener closes the
// listener at the end.
func Serve[P any](t testing.TB, accept func(time.Time, *transport.Abort) (P, error),
	handshake func(P, time.Time, *transport.Abort) (*session.Server, error), closeListener func() error, serve ServeFunc) *Server {
	t.Helper()
	abort, err := transport.NewAbort()
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{closeListener: closeListener, abort: abort}
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		for {
			p, err := accept(time.Time{}, abort)
			if err != nil {
				return
			}
			srv.wg.Add(1)
			go func() {
				defer srv.wg.Done()
				s, err := handshake(p, time.Now().Add(5*time.Second), abort)
				if err != nil {
					srv.record(err)
					return
				}
				defer s.Close()
				srv.record(serve(s, abort))
			}()
		}
	}()
	t.Cleanup(srv.Stop)
	return srv
}

func (s *Server) record(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// Errors returns what the finished sessions returned.
func (s *Server) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// Stop stops accepting, ends every session and closes the listener.
func (s *Server) Stop() {
	s.abort.Trigger()
	s.wg.Wait()
	_ = s.closeListener()
	_ = s.abort.Close()
}

// IncrementServe answers INCREMENT (single or batch) with value + 1 and
// STRING_REVERSE with the reversed string; other methods UNSUPPORTED.
func IncrementServe(s *session.Server, abort *transport.Abort) error {
	for {
		m, err := s.RecvRequest(time.Time{}, abort)
		if err != nil {
			return err
		}
		h := m.Header
		switch h.Code {
		case netipc.MethodIncrement:
			items := make([][]byte, m.ItemCount())
			for i := range items {
				it, _ := m.Item(i)
				v, err := codec.DecodeIncrement(it)
				if err != nil {
					return err
				}
				items[i] = codec.AppendIncrement(nil, v+1)
			}
			if m.IsBatch() {
				err = s.SendBatchResponse(h.Code, h.MessageID, items)
			} else {
				err = s.SendResponse(h.Code, h.MessageID, items[0])
			}
		case netipc.MethodStringReverse:
			v, err2 := codec.DecodeStringReverse(m.Payload)
			if err2 != nil {
				return err2
			}
			r := make([]byte, len(v.Text))
			for i, c := range v.Text {
				r[len(r)-1-i] = c
			}
			p, _ := codec.AppendStringReverse(nil, r)
			err = s.SendResponse(h.Code, h.MessageID, p)
		default:
			err = s.SendError(h.Code, h.MessageID, netipc.StatusUnsupported)
		}
		if err != nil {
			return err
		}
	}
}

// CallIncrement calls INCREMENT(v) and returns the answer.
func CallIncrement(t testing.TB, c *session.Client, v uint64) uint64 {
	t.Helper()
	m, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, v), Soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeIncrement(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// WantIs fails unless errors.Is(err, target).
func WantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("want %v, got %v", target, err)
	}
}

// WantViolation fails unless err is the protocol violation v.
func WantViolation(t testing.TB, err error, v netipc.Violation) {
	t.Helper()
	if !errors.Is(err, v) || !errors.Is(err, netipc.ErrProtocol) {
		t.Fatalf("want %v, got %v", v, err)
	}
}

// WantDecode fails unless err is a decode error of kind.
func WantDecode(t testing.TB, err error, kind netipc.DecodeKind) {
	t.Helper()
	var de *netipc.DecodeError
	if !errors.As(err, &de) || de.Kind != kind {
		t.Fatalf("want decode %v, got %v", kind, err)
	}
}

// ResponseMsg is a whole single OK response message.
func ResponseMsg(code uint16, id uint64, payload []byte) []byte {
	return append(wire.ResponseHeader(code, id, uint32(len(payload))).AppendTo(nil), payload...)
}

// SendRaw sends each packet over r.
func SendRaw(t testing.TB, r Raw, pkts ...[]byte) {
	t.Helper()
	for _, p := range pkts {
		if err := r.Send(p); err != nil {
			t.Fatal(err)
		}
	}
}

// RecvRaw receives one whole packet from r.
func RecvRaw(t testing.TB, r Raw) []byte {
	t.Helper()
	buf := make([]byte, 1<<17)
	n, real, err := r.Recv(buf)
	if err != nil || n != real {
		t.Fatal(err, n, real)
	}
	return buf[:n]
}

// capturedDir holds the canonical transport captures (relative to the
// transport packages, where the tests run).
const capturedDir = "../../../testdata/conformance/transport"

// Captured reads one capture file.
func Captured(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(capturedDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CapturedPackets are the 14 packets of the captured chunked response.
func CapturedPackets(t testing.TB) [][]byte {
	var out [][]byte
	for i := 0; i < 14; i++ {
		out = append(out, Captured(t, fmt.Sprintf("chunked_snapshot_resp/packet-%02d.bin", i)))
	}
	return out
}

// RawAck is the captured session's parameters (packet size 128, 4096 /
// 65536 budgets), for channels driven by raw packets.
var RawAck = wire.HelloAck{AgreedPacketSize: 128, AgreedMaxRequestPayloadBytes: 4096, AgreedMaxRequestBatchItems: 1,
	AgreedMaxResponsePayloadBytes: 65536, AgreedMaxResponseBatchItems: 1}

// CloseWakesBlockedAccepts starts acceptors goroutines blocked in accept
// (no deadline, no abort), then closes the listener from this goroutine:
// every accept must return netipc.ErrClosed, and a second close must
// succeed. accept closes any connection it gets.
func CloseWakesBlockedAccepts(t *testing.T, acceptors int, accept func(time.Time, *transport.Abort) error, closeListener func() error) {
	t.Helper()
	errs := make(chan error, acceptors)
	var entered sync.WaitGroup
	entered.Add(acceptors)
	for range acceptors {
		go func() {
			entered.Done()
			errs <- accept(time.Time{}, nil)
		}()
	}
	entered.Wait()
	if err := closeListener(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for range acceptors {
		select {
		case err := <-errs:
			WantIs(t, err, netipc.ErrClosed)
		case <-timeout:
			t.Fatal("Accept still blocked after Close")
		}
	}
	if err := closeListener(); err != nil {
		t.Fatal("second Close:", err)
	}
}
