//go:build linux

package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

func srvCfg(t testing.TB, service string) ServerConfig {
	return ServerConfig{RunDir: t.TempDir(), Service: service, AuthToken: token}
}

func cliCfg() ClientConfig { return ClientConfig{AuthToken: token} }

// testProfiles are the profiles the shared tests run over.
var testProfiles = []struct {
	name    string
	profile uint32
}{{"uds", netipc.ProfileBaseline}, {"shm", netipc.ProfileShmHybrid}}

func testRunDir(t testing.TB) string { return t.TempDir() }

func incr(v uint64) (uint64, error) { return v + 1, nil }

func TestClientLifecycle(t *testing.T) {
	cfg := srvCfg(t, "incr")
	c, err := NewIncrementClient(cfg.RunDir, cfg.Service, cliCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.State() != StateDisconnected || c.Ready() {
		t.Fatal("initial state")
	}
	_, err = c.Call(1)
	wantIs(t, err, netipc.ErrNotReady)
	if !c.Refresh() || c.State() != StateNotFound {
		t.Fatal(c.State())
	}
	_, err = c.Call(1)
	wantIs(t, err, netipc.ErrNotFound)
	srv := started(t)(NewIncrementServer(cfg, incr))
	refreshReady(t, c)
	for v := uint64(0); v < 100; v++ {
		got, err := c.Call(v)
		if err != nil || got != v+1 {
			t.Fatal(got, err)
		}
	}
	if c.Refresh() {
		t.Fatal("refresh of a healthy session changed the state")
	}
	st := c.Status()
	if st.Calls != 102 || st.Failures != 2 || st.Connects != 1 || !st.ShmAttached || st.SessionID == 0 {
		t.Fatalf("%+v", st)
	}
	// Server restart: the old session breaks; the call reconnects once
	// and succeeds (at-least-once).
	srv.Stop()
	if c.Refresh(); c.State() == StateReady {
		t.Fatal("stopped server not noticed")
	}
	started(t)(NewIncrementServer(cfg, incr))
	refreshReady(t, c)
	if got, err := c.Call(5); err != nil || got != 6 {
		t.Fatal(err)
	}
	if c.Status().Reconnects != 1 {
		t.Fatal(c.Status())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(1)
	wantIs(t, err, netipc.ErrClosed)
}

func TestRetryAfterServerRestartBetweenCalls(t *testing.T) {
	cfg := srvCfg(t, "retry")
	cfg.SupportedProfiles = netipc.ProfileBaseline
	srv := started(t)(NewIncrementServer(cfg, incr))
	c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c.Close()
	refreshReady(t, c)
	srv.Stop()
	started(t)(NewIncrementServer(cfg, incr))
	// Still READY (no refresh): the call fails on the dead session,
	// reconnects and resends once.
	if got, err := c.Call(1); err != nil || got != 2 {
		t.Fatal(err)
	}
	if st := c.Status(); st.Retries != 1 || st.Reconnects != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestAuthFailedAndIncompatible(t *testing.T) {
	cfg := srvCfg(t, "auth")
	started(t)(NewIncrementServer(cfg, incr))
	c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: 1})
	defer c.Close()
	c.Refresh()
	if c.State() != StateAuthFailed {
		t.Fatal(c.State())
	}
	_, err := c.Call(1)
	wantIs(t, err, netipc.ErrAuthFailed)
	cfg2 := srvCfg(t, "prof")
	cfg2.SupportedProfiles = netipc.ProfileShmHybrid
	started(t)(NewIncrementServer(cfg2, incr))
	c2, _ := NewIncrementClient(cfg2.RunDir, cfg2.Service, ClientConfig{AuthToken: token, SupportedProfiles: netipc.ProfileBaseline})
	defer c2.Close()
	c2.Refresh()
	if c2.State() != StateIncompatible {
		t.Fatal(c2.State())
	}
}

func TestBatchesAndStringReverse(t *testing.T) {
	cfg := srvCfg(t, "batch")
	started(t)(NewIncrementServer(cfg, incr))
	c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, BatchItems: 100})
	defer c.Close()
	refreshReady(t, c)
	vals := make([]uint64, 1234) // split into several batch messages
	for i := range vals {
		vals[i] = uint64(i * 3)
	}
	got, err := c.CallBatch(vals)
	if err != nil || len(got) != len(vals) {
		t.Fatal(err, len(got))
	}
	for i := range vals {
		if got[i] != vals[i]+1 {
			t.Fatal(i)
		}
	}
	cfg2 := srvCfg(t, "rev")
	started(t)(NewStringReverseServer(cfg2, func(s []byte) ([]byte, error) {
		r := make([]byte, len(s))
		for i, b := range s {
			r[len(s)-1-i] = b
		}
		return r, nil
	}))
	r, _ := NewStringReverseClient(cfg2.RunDir, cfg2.Service, cliCfg())
	defer r.Close()
	refreshReady(t, r)
	v, err := r.Call([]byte("hello, netipc"))
	if err != nil || string(v.Text) != "cpiten ,olleh" {
		t.Fatal(err, v)
	}
	// A string larger than the request budget grows it by reconnecting
	// (zero-config server: 1 KiB, growing).
	big := bytes.Repeat([]byte("ab"), 20000)
	v, err = r.Call(big)
	if err != nil || len(v.Text) != len(big) || v.Text[0] != 'b' {
		t.Fatal(err)
	}
	texts := [][]byte{[]byte("a"), nil, []byte("xyz"), bytes.Repeat([]byte("q"), 5000)}
	bv, err := r.CallBatch(texts)
	if err != nil || bv.Len() != 4 || string(bv.Item(2).Text) != "zyx" || len(bv.Item(3).Text) != 5000 || len(bv.Item(1).Text) != 0 {
		t.Fatal(err)
	}
}

func TestSnapshotOverflowRecovery(t *testing.T) {
	cfg := srvCfg(t, "cgroups-snapshot")
	snap := codec.CgroupsCorpusSnapshot(2000, 1, 1) // ~300 KiB
	var gen atomic.Uint64
	srv := started(t)(NewCgroupsSnapshotServer(cfg, func(b *codec.CgroupsSnapshotBuilder) error {
		b.SetSystemdEnabled(1)
		b.SetGeneration(gen.Add(1))
		for i := range snap.Items {
			if err := b.Add(&snap.Items[i]); err != nil {
				return err
			}
		}
		return nil
	}))
	c, _ := NewCgroupsSnapshotClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c.Close()
	refreshReady(t, c)
	v, err := c.CallSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != 2000 || string(v.Item(1999).Name) != string(snap.Items[1999].Name) {
		t.Fatal("snapshot content")
	}
	st := c.Status()
	if st.OverflowReconnects == 0 || st.ResponsePayloadBytes < 300000 {
		t.Fatalf("%+v", st)
	}
	if srv.LearnedBudgets().Response < 300000 || srv.Stats().LimitExceeded == 0 {
		t.Fatal(srv.LearnedBudgets())
	}
	// A new client is offered the learned budget at once.
	c2, _ := NewCgroupsSnapshotClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c2.Close()
	refreshReady(t, c2)
	if _, err := c2.CallSnapshot(); err != nil || c2.Status().OverflowReconnects != 0 {
		t.Fatal(err, c2.Status())
	}
}

// faultyIncrement answers v+1, except that 13 fails and 66 panics.
func faultyIncrement(v uint64) (uint64, error) {
	switch v {
	case 13:
		return 0, errors.New("unlucky")
	case 66:
		panic("boom")
	}
	return v + 1, nil
}

func TestHandlerFailurePanicAndUnsupported(t *testing.T) {
	cfg := srvCfg(t, "faults")
	srv := started(t)(NewIncrementServer(cfg, faultyIncrement))
	c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c.Close()
	refreshReady(t, c)
	_, err := c.Call(13)
	wantIs(t, err, netipc.ErrPeerStatus) // INTERNAL_ERROR, retried once, then reported
	var se *netipc.StatusError
	if !errors.As(err, &se) || se.Status != netipc.StatusInternalError {
		t.Fatal(err)
	}
	refreshReady(t, c)
	_, err = c.Call(66)
	if !errors.As(err, &se) || se.Status != netipc.StatusInternalError {
		t.Fatal(err)
	}
	refreshReady(t, c)
	if got, err := c.Call(1); err != nil || got != 2 {
		t.Fatal("server must survive a handler panic", err)
	}
	st := srv.Stats()
	if st.HandlerFailures != 2 || st.HandlerPanics != 2 {
		t.Fatalf("%+v", st)
	}
	// A method this server does not serve: UNSUPPORTED, session kept.
	r, _ := NewStringReverseClient(cfg.RunDir, cfg.Service, cliCfg())
	defer r.Close()
	refreshReady(t, r)
	_, err = r.Call([]byte("x"))
	wantIs(t, err, netipc.ErrUnsupported)
	if !r.Ready() || r.Status().Reconnects != 0 {
		t.Fatal("UNSUPPORTED must keep the session")
	}
}

// A batch item whose handler fails or panics fails the whole batch with
// INTERNAL_ERROR (the session ends; the client retries once and reports
// it), over UDS and SHM; the server lives on and counts both.
func TestBatchItemFailureOrPanicFailsTheBatch(t *testing.T) {
	for _, tp := range testProfiles {
		t.Run(tp.name, func(t *testing.T) {
			cfg := srvCfgFor(t.TempDir(), "batch-faults", tp.profile)
			srv := started(t)(NewIncrementServer(cfg, faultyIncrement))
			cc := cliCfgFor(tp.profile)
			cc.BatchItems = 8
			c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, cc)
			defer c.Close()
			failingBatchesFail(t, srv, c)
		})
	}
}

// failingBatchesFail checks that a batch holding faultyIncrement's failing
// value (13) or panicking one (66) fails with INTERNAL_ERROR, that the
// server then answers a good batch, and that it counted one failure and
// one panic per attempt (the client retries each batch once).
func failingBatchesFail(t *testing.T, srv *Server, c *IncrementClient) {
	t.Helper()
	for _, bad := range []uint64{13, 66} {
		refreshReady(t, c)
		_, err := c.CallBatch([]uint64{1, bad, 3})
		var se *netipc.StatusError
		if !errors.As(err, &se) || se.Status != netipc.StatusInternalError {
			t.Fatal(bad, err)
		}
	}
	refreshReady(t, c)
	if got, err := c.CallBatch([]uint64{1, 2, 3}); err != nil || len(got) != 3 || got[2] != 4 {
		t.Fatal("server must survive a failing batch", got, err)
	}
	if st := srv.Stats(); st.HandlerFailures != 2 || st.HandlerPanics != 2 {
		t.Fatalf("%+v", st)
	}
}

// The batch handler's server over UDS and SHM: single calls and batches
// answered by one handler call each, a failing or panicking value failing
// the whole request (INTERNAL_ERROR, the session ends, the server lives on
// and counts both).
func TestIncrementBatchServer(t *testing.T) {
	for _, tp := range testProfiles {
		t.Run(tp.name, func(t *testing.T) {
			cfg := srvCfgFor(t.TempDir(), "batch-handler", tp.profile)
			var calls atomic.Int64
			answer := batchHandler(faultyIncrement)
			srv := started(t)(NewIncrementBatchServer(cfg, func(values []uint64) error {
				calls.Add(1)
				return answer(values)
			}))
			cc := cliCfgFor(tp.profile)
			cc.BatchItems = 64
			c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, cc)
			defer c.Close()
			refreshReady(t, c)
			if got, err := c.Call(41); err != nil || got != 42 {
				t.Fatal(got, err)
			}
			values := make([]uint64, 64)
			for i := range values {
				values[i] = uint64(i) * 1000
			}
			got, err := c.CallBatch(values)
			if err != nil || len(got) != len(values) {
				t.Fatal(len(got), err)
			}
			for i, v := range values {
				if got[i] != v+1 {
					t.Fatalf("item %d: %d for %d", i, got[i], v)
				}
			}
			if n := calls.Load(); n != 2 {
				t.Fatalf("%d handler calls for a call and a batch", n)
			}
			failingBatchesFail(t, srv, c)
		})
	}
}

func lookupServer(t testing.TB, cfg ServerConfig, gen *atomic.Uint64) *Server {
	return started(t)(NewCgroupsLookupServer(cfg, func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
		if gen != nil {
			b.SetGeneration(gen.Load())
		}
		for i := 0; i < req.Len(); i++ {
			k := req.Key(i)
			var err error
			switch {
			case bytes.HasPrefix(k, []byte("/known")):
				_, err = b.AddRequestItem(req, i, codec.LookupKnown, codec.OrchestratorK8s, []byte("bench-pod"),
					[]codec.Label{{Key: []byte("namespace"), Value: bytes.Repeat([]byte("n"), 200)}})
			case bytes.HasPrefix(k, []byte("/big")):
				_, err = b.AddRequestItem(req, i, codec.LookupKnown, codec.OrchestratorK8s, nil,
					[]codec.Label{{Key: []byte("blob"), Value: bytes.Repeat([]byte("b"), 1500)}})
			case bytes.HasPrefix(k, []byte("/huge")):
				_, err = b.AddRequestItem(req, i, codec.LookupKnown, codec.OrchestratorK8s, bytes.Repeat([]byte("x"), 3<<20), nil)
			default:
				_, err = b.AddRequestUnknown(req, i, codec.LookupUnknownRetryLater)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}))
}

func TestCgroupsLookupSplitStitch(t *testing.T) {
	cfg := srvCfg(t, "cgroups-lookup")
	cfg.MaxResponsePayloadBytes = 16384
	cfg.MaxRequestPayloadBytes = 4096
	var gen atomic.Uint64
	gen.Store(42)
	lookupServer(t, cfg, &gen)
	c, _ := NewCgroupsLookupClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, RequestPayloadBytes: 4096})
	defer c.Close()
	refreshReady(t, c)
	var paths [][]byte
	for i := range 500 {
		switch {
		case i%7 == 0:
			paths = append(paths, fmt.Appendf(nil, "/unknown/%d", i))
		case i == 250:
			paths = append(paths, []byte("/huge/one"))
		default:
			paths = append(paths, fmt.Appendf(nil, "/known/%04d", i))
		}
	}
	paths = append(paths, bytes.Repeat([]byte("/l"), 3000)) // longer than any request
	v, err := c.Lookup(paths)
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != len(paths) || v.Generation() != 42 {
		t.Fatal(v.Len(), v.Generation())
	}
	for i := 0; i < v.Len(); i++ {
		it := v.Item(i)
		if !bytes.Equal(it.Path(), paths[i]) {
			t.Fatal("order", i)
		}
		want := codec.LookupKnown
		switch {
		case i%7 == 0:
			want = codec.LookupUnknownRetryLater
		case i == 250 || i == len(paths)-1:
			want = codec.LookupOversizedItem
		}
		if it.Status() != want {
			t.Fatalf("item %d: %v want %v", i, it.Status(), want)
		}
		if want == codec.LookupKnown && (it.LabelCount() != 1 || string(it.Name()) != "bench-pod") {
			t.Fatal("enrichment")
		}
	}
	// Empty lookup probes the generation.
	if v, err := c.Lookup(nil); err != nil || v.Len() != 0 || v.Generation() != 42 {
		t.Fatal(err)
	}
	_, err = c.Lookup([][]byte{[]byte("/ok"), nil})
	wantIs(t, err, netipc.ErrInvalidArgument)
}

func TestLookupCeilings(t *testing.T) {
	cfg := srvCfg(t, "ceil")
	cfg.MaxResponsePayloadBytes = 4096
	lookupServer(t, cfg, nil)
	c, _ := NewCgroupsLookupClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, LookupMaxItems: 5, LookupMaxSubcalls: 2})
	defer c.Close()
	refreshReady(t, c)
	_, err := c.Lookup(paths4("/a", "/b", "/c", "/d", "/e", "/f"))
	var le *netipc.LimitError
	if !errors.As(err, &le) || le.Limit != netipc.LimitLookupCeiling {
		t.Fatal(err)
	}
	// Five items with 1.5 KiB labels need more than two subcalls at a
	// 4 KiB response budget.
	_, err = c.Lookup(paths4("/big/1", "/big/2", "/big/3", "/big/4", "/big/5"))
	if !errors.As(err, &le) || le.Limit != netipc.LimitLookupCeiling {
		t.Fatal(err)
	}
}

func paths4(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, p := range s {
		out[i] = []byte(p)
	}
	return out
}

func TestGenerationMismatchFailsTheCall(t *testing.T) {
	cfg := srvCfg(t, "gen")
	cfg.MaxResponsePayloadBytes = 4096
	var gen atomic.Uint64
	started(t)(NewCgroupsLookupServer(cfg, func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
		b.SetGeneration(gen.Add(1)) // every subresponse differs
		for i := 0; i < req.Len(); i++ {
			if _, err := b.AddRequestItem(req, i, codec.LookupKnown, 1, bytes.Repeat([]byte("n"), 300), nil); err != nil {
				return err
			}
		}
		return nil
	}))
	c, _ := NewCgroupsLookupClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c.Close()
	refreshReady(t, c)
	var ps [][]byte
	for i := range 40 {
		ps = append(ps, fmt.Appendf(nil, "/p/%d", i))
	}
	_, err := c.Lookup(ps)
	wantIs(t, err, netipc.ViolationGenerationMismatch)
}

func TestAppsLookup(t *testing.T) {
	cfg := srvCfg(t, "apps-lookup")
	cfg.MaxResponsePayloadBytes = 8192
	started(t)(NewAppsLookupServer(cfg, func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error {
		b.SetGeneration(9)
		e := codec.AppsLookupEntry{Status: codec.PidKnown, CgroupStatus: codec.CgroupKnown, Orchestrator: codec.OrchestratorDocker,
			Ppid: 1, UID: 1000, Starttime: 42, Comm: []byte("bench"), CgroupPath: []byte("/sys/fs/cgroup/bench"), CgroupName: []byte("bench-container")}
		for i := 0; i < req.Len(); i++ {
			var err error
			if req.Pid(i)%2 == 0 {
				_, err = b.AddRequestItem(req, i, &e, []codec.Label{{Key: []byte("image"), Value: []byte("bench:latest")}})
			} else {
				_, err = b.AddRequestUnknown(req, i)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}))
	c, _ := NewAppsLookupClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c.Close()
	refreshReady(t, c)
	pids := make([]uint32, 3000)
	for i := range pids {
		pids[i] = uint32(1000 + i)
	}
	v, err := c.Lookup(pids)
	if err != nil || v.Len() != len(pids) || v.Generation() != 9 {
		t.Fatal(err)
	}
	for i := 0; i < v.Len(); i++ {
		it := v.Item(i)
		if it.Pid() != pids[i] {
			t.Fatal("echo")
		}
		if (it.Status() == codec.PidKnown) != (pids[i]%2 == 0) {
			t.Fatal("status", i, it.Status())
		}
	}
	if v, err := c.Lookup(nil); err != nil || v.Len() != 0 || v.Generation() != 9 {
		t.Fatal(err)
	}
}

func TestConcurrentClientsAndStop(t *testing.T) {
	cfg := srvCfg(t, "many")
	cfg.MaxSessions = 4
	srv := started(t)(NewIncrementServer(cfg, incr))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := NewIncrementClient(cfg.RunDir, cfg.Service, cliCfg())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for !c.Ready() {
				c.Refresh()
			}
			for i := range 200 {
				v := uint64(g*1000 + i)
				if got, err := c.Call(v); err != nil || got != v+1 {
					errs <- fmt.Errorf("call: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Stop removes the socket and every SHM region file.
	c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, cliCfg())
	defer c.Close()
	refreshReady(t, c)
	if !c.Status().ShmAttached {
		t.Fatal("shm")
	}
	sum := srv.Stop()
	if !sum.Drained || sum.Abandoned != 0 {
		t.Fatal(sum)
	}
	entries, _ := os.ReadDir(cfg.RunDir)
	if len(entries) != 0 {
		t.Fatal("files left after stop:", entries)
	}
	if srv.Stop() != sum {
		t.Fatal("stop not idempotent")
	}
	_, err := c.Call(1)
	if err == nil {
		t.Fatal("call after stop")
	}
	_ = filepath.Join
}
