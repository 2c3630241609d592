//go:build windows

package npipe

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport"
)

const testToken = 0xBE4C400000C0FFEE

// soon is a generous deadline for operations that must succeed.
func soon() time.Time { return time.Now().Add(10 * time.Second) }

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

// server is a test server: an accept loop handing each connection to its
// own goroutine, which handshakes and then runs serve.
type server struct {
	l     *Listener
	abort *transport.Abort
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
}

type serveFunc func(s *ServerSession, abort *transport.Abort) error

// incrementServe answers INCREMENT (single or batch) with value + 1 and
// STRING_REVERSE with the reversed string; other methods UNSUPPORTED.
func incrementServe(s *ServerSession, abort *transport.Abort) error {
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

func startServer(t testing.TB, ep transport.Endpoint, cfg ServerConfig, serve serveFunc) *server {
	t.Helper()
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	abort, err := transport.NewAbort()
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{l: l, abort: abort}
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		for {
			p, err := l.Accept(time.Time{}, abort)
			if err != nil {
				return
			}
			srv.wg.Add(1)
			go func() {
				defer srv.wg.Done()
				s, err := p.Handshake(cfg, time.Now().Add(5*time.Second), abort)
				if err != nil {
					srv.record(err)
					return
				}
				defer s.Close()
				srv.record(serve(s, abort))
			}()
		}
	}()
	t.Cleanup(srv.stop)
	return srv
}

func (s *server) record(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func (s *server) errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func (s *server) stop() {
	s.abort.Trigger()
	s.wg.Wait()
	_ = s.l.Close()
	_ = s.abort.Close()
}

func baseServerCfg() ServerConfig {
	return ServerConfig{AuthToken: testToken, MaxRequestPayloadBytes: 65536, MaxResponsePayloadBytes: 65536}
}

func baseClientCfg() ClientConfig {
	return ClientConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536}
}

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
	m, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, v), soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeIncrement(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("want %v, got %v", target, err)
	}
}
