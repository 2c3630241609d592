//go:build linux || windows

package main

import (
	"fmt"
	"os"

	"netipc.local/netipc/cache"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
)

// The in-process scenarios, as crates/netipc-cli/src/cmd/bench/{client,local}.rs
// have them: `lookup` (Level 3 cache) and
// {cgroups,apps}-lookup-{known,unknown,mixed}-{N}.

// newInProcess prepares the workload of an in-process scenario.
func newInProcess(sc scenario) (workload, error) {
	if sc.kind == kindCacheLookup {
		return seedCacheLookup()
	}
	return newLocalLookup(sc.method, sc.known, sc.n), nil
}

// cacheLookup is `lookup`: a Level 3 cache seeded with the 16 benchmark
// items; one pass = 16 lookups by (hash, name) in one table (the read
// guard), all hits.
type cacheLookup struct {
	cache *cache.CgroupsCache
	keys  []codec.CgroupItem
	dir   string
}

// seedCacheLookup seeds the cache from an in-process snapshot server on
// a private temporary run directory, stopped again before measuring.
func seedCacheLookup() (*cacheLookup, error) {
	dir, err := os.MkdirTemp("", "netipc-bench-")
	if err != nil {
		return nil, fmt.Errorf("temporary run dir: %w", err)
	}
	w := &cacheLookup{dir: dir, keys: codec.BenchSnapshot(0).Items}
	if err := w.seed(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *cacheLookup) seed() error {
	const svc = "cgroups-snapshot"
	side, _ := scenario{kind: kindSnapshot}.side() // snapshot-baseline
	sup, pref := side.profiles()
	srv, err := startServer(side, service.ServerConfig{
		RunDir: w.dir, Service: svc, AuthToken: benchToken, SupportedProfiles: sup, PreferredProfiles: pref,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	if w.cache, err = cache.NewCgroupsCache(w.dir, svc, service.ClientConfig{AuthToken: benchToken}); err != nil {
		return err
	}
	r, err := w.cache.Refresh()
	if err != nil {
		return fmt.Errorf("seeding the cache: %w", err)
	}
	if r.Items != len(w.keys) {
		return wrong("cache seeded with %d items", r.Items)
	}
	return nil
}

// step is not inlined into the driver loop (profile-guided optimization
// would: the driver's loop then ran the lookups 1.5 times slower).
//
//go:noinline
func (w *cacheLookup) step() (uint64, error) {
	t := w.cache.Table()
	for i := range w.keys {
		if _, ok := t.Get(w.keys[i].Hash, w.keys[i].Name); !ok {
			return 0, wrong("cache miss for hash %d", w.keys[i].Hash)
		}
	}
	return uint64(len(w.keys)), nil
}

func (w *cacheLookup) close() {
	if w.cache != nil {
		_ = w.cache.Close()
	}
	_ = os.RemoveAll(w.dir)
}

// lookupGeneration is the generation the in-process servers answer with.
const lookupGeneration = 1

// localLookup is one in-process lookup scenario: one call = encode the
// N-key request, run the server dispatch (service.LocalDispatcher: decode,
// handler filling the response builder, budget check), decode the response
// and check its item count. Direct calls, as the Rust program makes them:
// the dispatcher's handler is the only indirect one. One workload type per
// method (cgroupsLookupLocal, appsLookupLocal): each step stays small
// enough for the compiler to inline the calls it makes.
type localLookup struct {
	n          int
	request    []byte
	dispatcher *service.LocalDispatcher
}

// cgroupsLookupLocal is an in-process CGROUPS_LOOKUP scenario.
type cgroupsLookupLocal struct {
	localLookup
	paths [][]byte
}

// appsLookupLocal is an in-process APPS_LOOKUP scenario.
type appsLookupLocal struct {
	localLookup
	pids []uint32
}

func newLocalLookup(m lookupMethod, k known, n int) workload {
	if m == methodCgroups {
		return newCgroupsLookupLocal(k, n)
	}
	return newAppsLookupLocal(k, n)
}

func newCgroupsLookupLocal(k known, n int) *cgroupsLookupLocal {
	budget := localBuffer(n)
	w := &cgroupsLookupLocal{paths: make([][]byte, n)}
	for i := range w.paths {
		w.paths[i] = cgroupsKey(i)
	}
	w.localLookup = localLookup{n: n, request: make([]byte, 0, budget),
		dispatcher: service.NewCgroupsLookupDispatcher(cgroupsHandler(k), uint32(budget))}
	return w
}

func newAppsLookupLocal(k known, n int) *appsLookupLocal {
	budget := localBuffer(n)
	w := &appsLookupLocal{pids: make([]uint32, n)}
	for i := range w.pids {
		w.pids[i] = appsKey(i)
	}
	w.localLookup = localLookup{n: n, request: make([]byte, 0, budget),
		dispatcher: service.NewAppsLookupDispatcher(appsHandler(k), uint32(budget))}
	return w
}

// dispatch answers one request in process.
func (w *localLookup) dispatch(req []byte) ([]byte, error) {
	resp, err := w.dispatcher.Dispatch(req)
	if err != nil {
		return nil, dispatchError(err)
	}
	return resp, nil
}

// dispatchError is the error of a failed in-process dispatch (out of
// line: dispatch inlines).
func dispatchError(err error) error { return fmt.Errorf("in-process dispatch: %w", err) }

// exchange takes an encoded request (and its encoder's error), keeps its
// buffer for the next one and answers it in process.
func (w *localLookup) exchange(req []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if cap(req) > cap(w.request) {
		// Grown: kept for the next request (otherwise it is the same
		// buffer: no pointer store, no write barrier check).
		w.request = req[:0]
	}
	return w.dispatch(req)
}

// checkLen checks the item count of a response.
func (w *localLookup) checkLen(got int) (uint64, error) {
	if got != w.n {
		return 0, wrong("%d items for %d keys", got, w.n)
	}
	return 1, nil
}

func (w *cgroupsLookupLocal) step() (uint64, error) {
	resp, err := w.exchange(codec.AppendCgroupsLookupRequest(w.request[:0], w.paths))
	if err != nil {
		return 0, err
	}
	v, err := codec.DecodeCgroupsLookupResponse(resp)
	if err != nil {
		return 0, err
	}
	return w.checkLen(v.Len())
}

func (w *appsLookupLocal) step() (uint64, error) {
	resp, err := w.exchange(codec.AppendAppsLookupRequest(w.request[:0], w.pids))
	if err != nil {
		return 0, err
	}
	v, err := codec.DecodeAppsLookupResponse(resp)
	if err != nil {
		return 0, err
	}
	return w.checkLen(v.Len())
}

func (w *localLookup) close() {}

// cgroupsHandler is the benchmark CGROUPS_LOOKUP handler.
// The known item's labels are laid out once (a codec.LabelSet), as the
// Rust benchmark does.
func cgroupsHandler(k known) func(codec.CgroupsLookupRequestView, *codec.CgroupsLookupBuilder) error {
	labels := mustLabelSet(cgroupsKnownLabels)
	return func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
		b.SetGeneration(lookupGeneration)
		for i := range req.Len() {
			var err error
			if k.isKnown(i) {
				_, err = b.AddRequestItemWithLabelSet(req, i, codec.LookupKnown, codec.OrchestratorK8s, cgroupsKnownName, labels)
			} else {
				_, err = b.AddRequestUnknown(req, i, codec.LookupUnknownRetryLater)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// appsHandler is the benchmark APPS_LOOKUP handler.
func appsHandler(k known) func(codec.AppsLookupRequestView, *codec.AppsLookupBuilder) error {
	entry := appsKnownEntry()
	labels := mustLabelSet(appsKnownLabels)
	return func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error {
		b.SetGeneration(lookupGeneration)
		for i := range req.Len() {
			var err error
			if k.isKnown(i) {
				_, err = b.AddRequestItemWithLabelSet(req, i, &entry, labels)
			} else {
				_, err = b.AddRequestUnknown(req, i)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// mustLabelSet lays out the benchmark's constant labels (valid by
// construction).
func mustLabelSet(labels []codec.Label) codec.LabelSet {
	set, err := codec.NewLabelSet(labels)
	if err != nil {
		panic(err)
	}
	return set
}
