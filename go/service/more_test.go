//go:build linux

package service

import (
	"bytes"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/uds"
	"netipc.local/netipc/wire"
)

// A server whose SHM region the client cannot attach: the client closes
// that session, disables SHM for its context and reconnects on the
// baseline (no same-session fallback).
func TestShmAttachFailureFallsBackToBaseline(t *testing.T) {
	dir := t.TempDir()
	ep, _ := transport.NewEndpoint(dir, "fallback")
	l, err := uds.Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	// The serving goroutine must be gone before the listener closes: an
	// Accept still running on a closed listener would poll and accept on
	// its fd number, which a later test's listener may reuse.
	abort, err := transport.NewAbort()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer func() {
		abort.Trigger()
		<-done
		_ = l.Close()
		_ = abort.Close()
	}()
	var shmOffers atomic.Int32
	go func() {
		defer close(done)
		for id := uint64(1); ; id++ {
			p, err := l.Accept(time.Now().Add(10*time.Second), abort)
			if err != nil {
				return
			}
			buf := make([]byte, 256)
			n, _, err := sys.RecvPacket(p.Fd(), buf, nil, time.Now().Add(5*time.Second), abort)
			if err != nil {
				_ = p.Close()
				continue
			}
			hello, _ := wire.DecodeHello(buf[32:n])
			ack := wire.HelloAck{ServerSupportedProfiles: 3, IntersectionProfiles: hello.SupportedProfiles & 3,
				AgreedMaxRequestPayloadBytes: hello.MaxRequestPayloadBytes, AgreedMaxRequestBatchItems: hello.MaxRequestBatchItems,
				AgreedMaxResponsePayloadBytes: 4096, AgreedMaxResponseBatchItems: hello.MaxRequestBatchItems,
				AgreedPacketSize: 4096, SessionID: p.SessionID(), SelectedProfile: netipc.ProfileBaseline}
			if hello.SupportedProfiles&netipc.ProfileShmHybrid != 0 {
				// Claim SHM, but put junk where the region should be.
				shmOffers.Add(1)
				ack.SelectedProfile = netipc.ProfileShmHybrid
				_ = os.WriteFile(ep.ShmPath(p.SessionID()), bytes.Repeat([]byte{0xEE}, 8192), 0o600)
			}
			m := uds.EncodeHelloAckMsg(netipc.StatusOK, ack)
			_ = sys.SendPacket(p.Fd(), m[:], nil, time.Time{})
			if ack.SelectedProfile != netipc.ProfileBaseline {
				continue // the client gives up on this session
			}
			for {
				n, _, err := sys.RecvPacket(p.Fd(), buf, nil, time.Now().Add(5*time.Second), abort)
				if err != nil {
					break
				}
				h, _ := wire.DecodeHeader(buf[:n])
				v, _ := codec.DecodeIncrement(buf[32:n])
				resp := append(wire.ResponseHeader(h.Code, h.MessageID, 8).AppendTo(nil), codec.AppendIncrement(nil, v+1)...)
				_ = sys.SendPacket(p.Fd(), resp, nil, time.Time{})
			}
			_ = p.Close()
		}
	}()
	c, _ := NewIncrementClient(dir, "fallback", ClientConfig{BatchItems: 1})
	defer c.Close()
	refreshReady(t, c)
	st := c.Status()
	if !st.ShmDisabled || st.ShmFallbacks != 1 || st.ShmAttached || shmOffers.Load() != 1 {
		t.Fatalf("%+v", st)
	}
	if got, err := c.Call(1); err != nil || got != 2 {
		t.Fatal(err)
	}
}

func TestSessionLimit(t *testing.T) {
	cfg := srvCfg(t, "limit")
	cfg.MaxSessions = 1
	srv := started(t)(NewIncrementServer(cfg, incr))
	a, _ := NewIncrementClient(cfg.RunDir, cfg.Service, cliCfg())
	defer a.Close()
	refreshReady(t, a)
	// Served once, a holds the slot: a READY client may still be waiting
	// for it (its handshake ends before the server counts it), and a
	// client handshaken meanwhile may take the slot first.
	if got, err := a.Call(1); err != nil || got != 2 {
		t.Fatalf("a: %d, %v", got, err)
	}
	b, _ := NewIncrementClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, ConnectTimeout: 200 * time.Millisecond, CallTimeout: 200 * time.Millisecond})
	defer b.Close()
	// b is either not admitted, or handshaken and waiting for the slot:
	// its requests are not served while a holds it.
	if b.Refresh(); b.Ready() {
		_, err := b.Call(1)
		wantIs(t, err, netipc.ErrTimeout)
	}
	if srv.ActiveSessions() != 1 {
		t.Fatal(srv.ActiveSessions())
	}
	_ = a.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b.Refresh()
		if got, err := b.Call(1); err == nil && got == 2 {
			return
		}
	}
	t.Fatal("b never served after a closed")
}

func TestStopAbandonsHandlerThatNeverReturns(t *testing.T) {
	cfg := srvCfg(t, "stuck")
	cfg.DrainTimeout = 100 * time.Millisecond
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv, err := NewIncrementServer(cfg, func(v uint64) (uint64, error) {
		entered <- struct{}{}
		<-release
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer close(release)
	c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, CallTimeout: 5 * time.Second})
	defer c.Close()
	refreshReady(t, c)
	done := make(chan struct{})
	go func() { _, _ = c.Call(1); close(done) }()
	<-entered
	sum := srv.Stop()
	if sum.Drained || sum.Abandoned != 1 {
		t.Fatal(sum)
	}
	// The abandoned session's socket was shut down: the call ends.
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("call did not end")
	}
	entries, _ := os.ReadDir(cfg.RunDir)
	if len(entries) != 0 {
		t.Fatal("files left:", entries)
	}
}

func TestBatchOverServerCeiling(t *testing.T) {
	cfg := srvCfg(t, "batchcap")
	cfg.MaxBatchItems = 10
	srv := started(t)(NewIncrementServer(cfg, incr))
	c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, BatchItems: 100})
	defer c.Close()
	refreshReady(t, c)
	_, err := c.CallBatch(make([]uint64, 50))
	wantIs(t, err, netipc.ErrLimitExceeded)
	if srv.Stats().LimitExceeded == 0 {
		t.Fatal("not counted")
	}
	refreshReady(t, c)
	if got, err := c.CallBatch([]uint64{1, 2, 3}); err != nil || got[2] != 4 {
		t.Fatal(err)
	}
}

// A batch for a method without batches, and a malformed payload: the
// server answers BAD_ENVELOPE and closes the session.
func TestBadEnvelopeCloses(t *testing.T) {
	cfg := srvCfg(t, "bad")
	srv := started(t)(NewCgroupsSnapshotServer(cfg, func(b *codec.CgroupsSnapshotBuilder) error { return nil }))
	ep, _ := transport.NewEndpoint(cfg.RunDir, cfg.Service)
	for _, tc := range []struct {
		name  string
		items [][]byte
	}{{"batch", [][]byte{codec.AppendSnapshotRequest(nil), codec.AppendSnapshotRequest(nil)}}, {"malformed", [][]byte{{9, 9, 9, 9}}}} {
		s, err := uds.Connect(ep, uds.ClientConfig{AuthToken: token, MaxRequestBatchItems: 2}, time.Now().Add(5*time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.CallBatch(netipc.MethodCgroupsSnapshot, tc.items, time.Now().Add(5*time.Second), nil)
		if err != nil || m.Header.TransportStatus != netipc.StatusBadEnvelope || m.Header.PayloadLen != 0 || m.Header.Flags != 0 {
			t.Fatal(tc.name, err, m.Header)
		}
		if _, err := s.Call(netipc.MethodCgroupsSnapshot, codec.AppendSnapshotRequest(nil), time.Now().Add(5*time.Second), nil); !errors.Is(err, netipc.ErrPeerClosed) {
			t.Fatal(tc.name, "session not closed:", err)
		}
		_ = s.Close()
	}
	if srv.Stats().BadEnvelopes != 2 {
		t.Fatal(srv.Stats())
	}
}

// A lookup answer whose first item cannot fit the session's budget: the
// server learns a bigger response budget and the client grows into it.
func TestLookupFirstItemGrowsBudget(t *testing.T) {
	cfg := srvCfg(t, "grow")
	big := bytes.Repeat([]byte("x"), 5000)
	srv := started(t)(NewCgroupsLookupServer(cfg, func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
		for i := 0; i < req.Len(); i++ {
			if _, err := b.AddRequestItem(req, i, codec.LookupKnown, 1, big, nil); err != nil {
				return err
			}
		}
		return nil
	}))
	c, _ := NewCgroupsLookupClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, ResponsePayloadBytes: 1024})
	defer c.Close()
	refreshReady(t, c)
	v, err := c.Lookup(paths4("/a", "/b", "/c"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if v.Item(i).Status() != codec.LookupKnown || len(v.Item(i).Name()) != 5000 {
			t.Fatal(i, v.Item(i).Status())
		}
	}
	if srv.LearnedBudgets().Response <= 1024 || c.Status().OverflowReconnects == 0 {
		t.Fatal(srv.LearnedBudgets(), c.Status())
	}
}

func TestRequestBudgetLearning(t *testing.T) {
	cfg := srvCfg(t, "reqgrow")
	srv := started(t)(NewStringReverseServer(cfg, func(s []byte) ([]byte, error) { return s, nil }))
	c, _ := NewStringReverseClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c.Close()
	refreshReady(t, c)
	big := bytes.Repeat([]byte("z"), 30000)
	if _, err := c.Call(big); err != nil {
		t.Fatal(err)
	}
	if b := srv.LearnedBudgets(); b.Request < 30000 || b.Response < 30000 {
		t.Fatal(b)
	}
	// Over the configured cap: a local error, the client stays READY.
	_, err := c.Call(bytes.Repeat([]byte("z"), 2<<20))
	wantIs(t, err, netipc.ErrLimitExceeded)
	if !c.Ready() {
		t.Fatal("client not ready after a local request limit")
	}
}

func TestConfigValidationAndNames(t *testing.T) {
	if _, err := NewIncrementClient(t.TempDir(), "a/b", ClientConfig{}); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
	if _, err := NewIncrementClient(t.TempDir(), "ok", ClientConfig{SupportedProfiles: 0x80}); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
	if _, err := NewIncrementServer(ServerConfig{RunDir: t.TempDir(), Service: "x", SupportedProfiles: 0x10}, incr); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
	if StateReady.String() != "READY" || StateBroken.String() != "BROKEN" || KindAppsLookup.String() != "APPS_LOOKUP" {
		t.Fatal("names")
	}
	r, _ := ClientConfig{}.resolve(fixedSchema(netipc.MethodIncrement, 8).withBatch())
	if r.requestProposal != 16384 || r.batchItems != DefaultBatchItems || r.callTimeout != DefaultCallTimeout {
		t.Fatalf("%+v", r)
	}
	if growPow2(0, 16, 1<<20) != 16 || growPow2(17, 16, 1<<20) != 32 || growPow2(5000000, 16, 1<<20) != 1<<20 {
		t.Fatal("growPow2")
	}
	// A second server on a live endpoint is refused.
	cfg := srvCfg(t, "dup")
	started(t)(NewIncrementServer(cfg, incr))
	if _, err := NewIncrementServer(cfg, incr); !errors.Is(err, netipc.ErrAddressInUse) {
		t.Fatal(err)
	}
}

// A raw client that breaks the session: an over-budget request is
// answered LIMIT_EXCEEDED (and the learned request budget grows); a
// malformed envelope is answered BAD_ENVELOPE; both close the session.
func TestServerAnswersTheRequestThatBrokeTheSession(t *testing.T) {
	cfg := srvCfg(t, "raw")
	cfg.SupportedProfiles = netipc.ProfileBaseline
	srv := started(t)(NewIncrementServer(cfg, incr))
	if srv.Kind() != KindIncrement || srv.Endpoint().Service() != "raw" || srv.BudgetCeilings().Request != netipc.MaxPayloadCap {
		t.Fatal("accessors")
	}
	ep := srv.Endpoint()
	s, err := uds.Connect(ep, uds.ClientConfig{AuthToken: token, MaxRequestPayloadBytes: 64}, time.Now().Add(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Lie about the limit to send 100 bytes over a 64-byte session.
	msg := append(wire.RequestHeader(netipc.MethodIncrement, 3, 100).AppendTo(nil), make([]byte, 100)...)
	if err := sys.SendPacket(s.Fd(), msg, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, _, err := sys.RecvPacket(s.Fd(), buf, nil, time.Now().Add(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := wire.DecodeHeader(buf[:n])
	if h.TransportStatus != netipc.StatusLimitExceeded || h.MessageID != 3 {
		t.Fatal(h)
	}
	if srv.LearnedBudgets().Request < 128 {
		t.Fatal(srv.LearnedBudgets())
	}
	s2, err := uds.Connect(ep, uds.ClientConfig{AuthToken: token}, time.Now().Add(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	bad := wire.RequestHeader(netipc.MethodIncrement, 4, 0).AppendTo(nil)
	bad[6] = 16 // header_len
	_ = sys.SendPacket(s2.Fd(), bad, nil, time.Time{})
	if _, _, err := sys.RecvPacket(s2.Fd(), buf, nil, time.Now().Add(5*time.Second), nil); !errors.Is(err, netipc.ErrPeerClosed) {
		t.Fatal("a header that does not decode is not answered:", err)
	}
	s3, _ := uds.Connect(ep, uds.ClientConfig{AuthToken: token}, time.Now().Add(5*time.Second), nil)
	defer s3.Close()
	empty := wire.RequestHeader(netipc.MethodIncrement, 5, 0)
	empty.Flags = netipc.FlagBatch
	empty.ItemCount = 0
	_ = sys.SendPacket(s3.Fd(), empty.AppendTo(nil), nil, time.Time{})
	n, _, err = sys.RecvPacket(s3.Fd(), buf, nil, time.Now().Add(5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := wire.DecodeHeader(buf[:n]); h.TransportStatus != netipc.StatusBadEnvelope || h.MessageID != 5 {
		t.Fatal(h)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
}
