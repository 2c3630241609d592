//go:build linux

package cache

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/uds"
)

const token = 0xBE4C400000C0FFEE

func snapshotServer(t testing.TB, dir string, items []codec.CgroupItem, gen *atomic.Uint64) *service.Server {
	t.Helper()
	s, err := service.NewCgroupsSnapshotServer(service.ServerConfig{RunDir: dir, Service: "cgroups-snapshot", AuthToken: token, MaxResponsePayloadBytes: 1 << 20},
		func(b *codec.CgroupsSnapshotBuilder) error {
			b.SetSystemdEnabled(1)
			b.SetGeneration(gen.Add(1))
			for i := range items {
				if err := b.Add(&items[i]); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func newCache(t testing.TB, dir string) *CgroupsCache {
	c, err := NewCgroupsCache(dir, "cgroups-snapshot", service.ClientConfig{AuthToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRefreshLookupAndPreservation(t *testing.T) {
	dir := t.TempDir()
	c := newCache(t, dir)
	if c.Ready() {
		t.Fatal("ready before any refresh")
	}
	if _, err := c.Refresh(); !errors.Is(err, netipc.ErrNotFound) {
		t.Fatal(err)
	}
	if _, ok := c.Lookup(1, []byte("x")); ok || c.Table().Len() != 0 || c.Ready() {
		t.Fatal("empty cache")
	}
	items := codec.CgroupsCorpus(500, 3)
	items = append(items, items[7]) // a duplicate identity
	var gen atomic.Uint64
	srv := snapshotServer(t, dir, items, &gen)
	rep, err := c.Refresh()
	if err != nil || rep.Items != 500 || rep.Duplicates != 1 || rep.Generation != 1 || !rep.Connected {
		t.Fatal(err, rep)
	}
	for _, it := range items[:500] {
		e, ok := c.Lookup(it.Hash, it.Name)
		if !ok || string(e.Path) != string(it.Path) || e.Enabled != it.Enabled || e.Options != it.Options {
			t.Fatal("lookup", string(it.Name))
		}
	}
	if _, ok := c.Lookup(items[0].Hash, []byte("nope")); ok {
		t.Fatal("wrong name found")
	}
	if _, ok := c.Lookup(items[0].Hash+1, items[0].Name); ok {
		t.Fatal("wrong hash found")
	}
	// A table held by a reader survives later refreshes unchanged.
	held := c.Table()
	e0, _ := held.Get(items[0].Hash, items[0].Name)
	dup := e0.Dup()
	if rep, err := c.Refresh(); err != nil || rep.Generation != 2 || rep.Connected {
		t.Fatal(err, rep)
	}
	if held.Generation() != 1 || c.Table().Generation() != 2 || string(dup.Name) != string(items[0].Name) {
		t.Fatal("guarded table changed")
	}
	// Provider gone: the cache is preserved and the error reported.
	srv.Stop()
	if _, err := c.Refresh(); err == nil {
		t.Fatal("refresh against a stopped server succeeded")
	}
	if c.Table().Generation() != 2 || !c.Ready() {
		t.Fatal("cache lost on failure")
	}
	if _, ok := c.Lookup(items[3].Hash, items[3].Name); !ok {
		t.Fatal("lookup after failure")
	}
	// Provider restart: the next refresh reconnects and rebuilds.
	snapshotServer(t, dir, items[:10], &gen)
	rep, err = c.Refresh()
	if err != nil || rep.Items != 10 || !rep.Connected {
		t.Fatal(err, rep)
	}
	st := c.Status()
	if st.RefreshSuccesses != 3 || st.RefreshFailures != 2 || st.Items != 10 || st.LastSuccess.IsZero() || !st.Populated {
		t.Fatalf("%+v", st)
	}
}

// A provider that answers with a malformed snapshot: the cache is kept and
// the client disconnected.
func TestMalformedSnapshotPreservesCache(t *testing.T) {
	dir := t.TempDir()
	var gen atomic.Uint64
	srv := snapshotServer(t, dir, codec.CgroupsCorpus(5, 1), &gen)
	c := newCache(t, dir)
	if _, err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ep, _ := transport.NewEndpoint(dir, "cgroups-snapshot")
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
	go func() {
		defer close(done)
		for {
			p, err := l.Accept(time.Now().Add(10*time.Second), abort)
			if err != nil {
				return
			}
			s, err := p.Handshake(uds.ServerConfig{AuthToken: token, MaxRequestPayloadBytes: 65536, MaxResponsePayloadBytes: 65536}, time.Now().Add(5*time.Second), abort)
			if err != nil {
				continue
			}
			for {
				m, err := s.RecvRequest(time.Now().Add(10*time.Second), abort)
				if err != nil {
					break
				}
				_ = s.SendResponse(m.Header.Code, m.Header.MessageID, []byte("definitely not a snapshot payload"))
			}
			_ = s.Close()
		}
	}()
	_, err = c.Refresh()
	if !errors.Is(err, netipc.ErrProtocol) {
		t.Fatal(err)
	}
	if c.Table().Len() != 5 || c.Status().Client.State == service.StateReady {
		t.Fatal("cache lost or client still connected")
	}
}

func TestConcurrentReadersDuringRefresh(t *testing.T) {
	dir := t.TempDir()
	items := codec.CgroupsCorpus(200, 9)
	var gen atomic.Uint64
	snapshotServer(t, dir, items, &gen)
	c := newCache(t, dir)
	if _, err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				t := c.Table()
				g := t.Generation()
				for _, it := range items[:20] {
					e, ok := t.Get(it.Hash, it.Name)
					if !ok || string(e.Path) != string(it.Path) {
						bad.Add(1)
					}
				}
				if t.Generation() != g {
					bad.Add(1)
				}
			}
		}()
	}
	for range 30 {
		if _, err := c.Refresh(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatal("readers saw inconsistent tables")
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	items := codec.CgroupsCorpus(1000, 5)
	var gen atomic.Uint64
	snapshotServer(t, dir, items, &gen)
	c := newCache(t, dir)
	if _, err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(200, func() {
		for _, it := range items[:16] {
			if _, ok := c.Lookup(it.Hash, it.Name); !ok {
				panic("miss")
			}
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per lookup pass", n)
	}
}

func TestAbortAndClose(t *testing.T) {
	dir := t.TempDir()
	var gen atomic.Uint64
	snapshotServer(t, dir, codec.CgroupsCorpus(5, 1), &gen)
	c := newCache(t, dir)
	c.Abort()
	if _, err := c.Refresh(); !errors.Is(err, netipc.ErrAborted) && err == nil {
		t.Fatal(err)
	}
	c.ClearAbort()
	c.SetTimeout(time.Second)
	if _, err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Ready() || c.Table().Len() != 0 {
		t.Fatal("close must release the cache")
	}
	if _, err := c.Refresh(); !errors.Is(err, netipc.ErrClosed) {
		t.Fatal(err)
	}
}

func TestTableAccessors(t *testing.T) {
	dir := t.TempDir()
	items := codec.CgroupsCorpus(3, 2)
	items = append(items, items[0])
	var gen atomic.Uint64
	snapshotServer(t, dir, items, &gen)
	c := newCache(t, dir)
	if _, err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	tb := c.Table()
	if tb.Len() != 3 || tb.Duplicates() != 1 || tb.SystemdEnabled() != 1 || string(tb.Item(2).Name) != string(items[2].Name) {
		t.Fatal("accessors")
	}
}
