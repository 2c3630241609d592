// Package cache is Level 3 of NetIPC: a local, indexed cache of the
// cgroups-snapshot service, built on the Level 2 snapshot client only.
//
// The caller drives refreshes from its own loop (no background
// goroutines). A refresh fetches the full snapshot, copies it into a new
// immutable CgroupsTable and publishes it with one atomic pointer store;
// on any failure the previous table stays published (empty only if no
// refresh ever succeeded) and the client is disconnected, so the next
// refresh reconnects.
//
// Lookups by (hash, name) are pure memory: no lock, no syscall, no
// allocation. Table returns the published table; it stays valid and
// unchanged for as long as the caller holds it, whatever refreshes happen
// meanwhile (the garbage collector frees a replaced table once no reader
// references it), so a *CgroupsTable is the read guard. Entry views alias
// the table's storage: never modify them; Dup copies one.
package cache

import (
	"bytes"
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
)

// CgroupEntryView is one cached cgroup. It aliases the immutable table it
// came from (valid as long as that table is referenced); do not modify its
// slices. Dup returns an owned copy.
type CgroupEntryView struct {
	// Hash is the producer-computed identity hash.
	Hash uint32
	// Options holds the cgroup option flags.
	Options uint32
	// Enabled is the raw enabled value.
	Enabled uint32
	// Name is the cgroup name (no NUL).
	Name []byte
	// Path is the cgroup path (no NUL).
	Path []byte
}

// Dup returns an owned copy of the entry.
func (e CgroupEntryView) Dup() codec.CgroupItem {
	return codec.CgroupItem{Hash: e.Hash, Options: e.Options, Enabled: e.Enabled,
		Name: bytes.Clone(e.Name), Path: bytes.Clone(e.Path)}
}

// CgroupsTable is an immutable, indexed snapshot of cgroups, safe for
// concurrent readers.
//
// Items are stored as the views Get hands out (their strings slice one
// arena), so a hit is returned by one copy. The index is open addressing
// over slots that carry the item's hash, so a probe reads only the slot
// array until the hashes match.
type CgroupsTable struct {
	generation     uint64
	systemdEnabled uint32
	items          []CgroupEntryView
	arena          []byte
	slots          []slot
	shift          uint
	duplicates     uint32
}

// slot is one index slot: an item's hash and its index + 1 (0 = empty).
type slot struct {
	hash, item uint32
}

var emptyTable = &CgroupsTable{}

// slotOf scrambles a hash into a slot index (Fibonacci hashing).
func (t *CgroupsTable) slotOf(hash uint32) uint32 { return (hash * 0x9E3779B1) >> t.shift }

// BuildCgroupsTable copies a validated snapshot into a new indexed table.
// Duplicate (hash, name) items keep the first in snapshot order; the
// others are dropped and counted.
func BuildCgroupsTable(v codec.CgroupsSnapshotView) *CgroupsTable {
	n := v.Len()
	strings := 0
	for _, it := range v.Items() {
		strings += len(it.Name) + len(it.Path)
	}
	t := &CgroupsTable{generation: v.Generation(), systemdEnabled: v.SystemdEnabled(),
		items: make([]CgroupEntryView, 0, n), arena: make([]byte, 0, strings)}
	size := 1 << max(bits.Len(uint(2*n)), 3)
	t.slots = make([]slot, size)
	t.shift = uint(32 - bits.Len(uint(size-1)))
	mask := uint32(size - 1)
	for _, it := range v.Items() {
		if t.find(it.Hash, it.Name) != nil {
			t.duplicates++
			continue
		}
		// The arena was sized for every string: appending never moves it,
		// so the items' slices stay valid.
		e := CgroupEntryView{Hash: it.Hash, Options: it.Options, Enabled: it.Enabled,
			Name: t.intern(it.Name), Path: t.intern(it.Path)}
		t.items = append(t.items, e)
		s := t.slotOf(it.Hash)
		for t.slots[s].item != 0 {
			s = (s + 1) & mask
		}
		t.slots[s] = slot{hash: it.Hash, item: uint32(len(t.items))}
	}
	return t
}

// intern copies b into the arena and returns the copy.
func (t *CgroupsTable) intern(b []byte) []byte {
	start := len(t.arena)
	t.arena = append(t.arena, b...)
	end := len(t.arena)
	return t.arena[start:end:end]
}

// Get looks up the item with identity (hash, name): pure memory, no
// allocation, no lock. ok is false for a missing key and on an empty table.
func (t *CgroupsTable) Get(hash uint32, name []byte) (CgroupEntryView, bool) {
	if e := t.find(hash, name); e != nil {
		return *e, true
	}
	return CgroupEntryView{}, false
}

// find returns the item with identity (hash, name), or nil.
func (t *CgroupsTable) find(hash uint32, name []byte) *CgroupEntryView {
	slots := t.slots
	if len(slots) == 0 {
		return nil
	}
	mask := uint32(len(slots) - 1)
	for s := t.slotOf(hash); ; s = (s + 1) & mask {
		sl := slots[s]
		if sl.item == 0 {
			return nil
		}
		if sl.hash == hash {
			if e := &t.items[sl.item-1]; string(e.Name) == string(name) {
				return e
			}
		}
	}
}

// Len returns the number of distinct items.
func (t *CgroupsTable) Len() int { return len(t.items) }

// Item returns item i in snapshot order (out of range panics).
func (t *CgroupsTable) Item(i int) CgroupEntryView { return t.items[i] }

// Generation returns the snapshot generation (0 for an empty cache).
func (t *CgroupsTable) Generation() uint64 { return t.generation }

// SystemdEnabled returns the snapshot's systemd_enabled (0 when empty).
func (t *CgroupsTable) SystemdEnabled() uint32 { return t.systemdEnabled }

// Duplicates returns how many duplicate (hash, name) items were dropped.
func (t *CgroupsTable) Duplicates() uint32 { return t.duplicates }

// RefreshReport says what a successful Refresh did.
type RefreshReport struct {
	// Items is the number of items in the new table (duplicates excluded).
	Items int
	// Duplicates counts dropped duplicate (hash, name) items.
	Duplicates uint32
	// Generation is the snapshot generation.
	Generation uint64
	// Connected says a new session was established during this refresh.
	Connected bool
}

// CacheStatus is the diagnostic state of a cache.
type CacheStatus struct {
	// Client is the Level 2 client's status recorded at the end of the
	// last refresh.
	Client service.ClientStatus
	// Populated says the cache holds a snapshot.
	Populated bool
	// Items is the number of items in the published table.
	Items int
	// Generation is the published table's generation.
	Generation uint64
	// RefreshSuccesses counts successful refreshes.
	RefreshSuccesses uint64
	// RefreshFailures counts failed refreshes.
	RefreshFailures uint64
	// LastSuccess is the wall-clock time of the last successful refresh
	// (zero if none).
	LastSuccess time.Time
}

// CgroupsCache is a Level 3 cache of the cgroups-snapshot service. One
// goroutine (or several, serialized by the cache) refreshes while any
// number of goroutines read.
type CgroupsCache struct {
	refreshMu sync.Mutex // serializes Refresh and Close; guards client
	client    *service.CgroupsSnapshotClient
	table     atomic.Pointer[CgroupsTable]
	populated atomic.Bool
	recordMu  sync.Mutex
	record    CacheStatus
}

// NewCgroupsCache creates a cache over a disconnected Level 2 snapshot
// client for {runDir}/{service}.sock (no I/O; the provider need not exist
// yet). The cache is empty until the first successful Refresh.
func NewCgroupsCache(runDir, serviceName string, cfg service.ClientConfig) (*CgroupsCache, error) {
	cl, err := service.NewCgroupsSnapshotClient(runDir, serviceName, cfg)
	if err != nil {
		return nil, err
	}
	c := &CgroupsCache{client: cl}
	c.table.Store(emptyTable)
	c.record.Client = cl.Status()
	return c, nil
}

// Refresh is RefreshContext without a context.
func (c *CgroupsCache) Refresh() (RefreshReport, error) { return c.RefreshContext(nil) }

// RefreshContext connects if needed, fetches the full snapshot, builds a
// new table and publishes it. On any failure (no provider, handshake
// refused, transport failure, error status, malformed snapshot, timeout,
// abort, ctx cancellation) the previous table stays published and the
// error is returned; the client is disconnected so that the next refresh
// reconnects.
func (c *CgroupsCache) RefreshContext(ctx context.Context) (RefreshReport, error) {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	before := c.client.Status().Connects
	rep, err := c.refresh(ctx)
	st := c.client.Status()
	rep.Connected = st.Connects != before
	c.recordMu.Lock()
	c.record.Client = st
	if err != nil {
		c.record.RefreshFailures++
	} else {
		c.record.RefreshSuccesses++
		c.record.LastSuccess = time.Now()
	}
	c.recordMu.Unlock()
	return rep, err
}

func (c *CgroupsCache) refresh(ctx context.Context) (RefreshReport, error) {
	if !c.client.Ready() {
		c.client.Refresh()
	}
	v, err := c.client.CallSnapshotContext(ctx)
	if err != nil {
		c.client.Disconnect()
		return RefreshReport{}, err
	}
	t := BuildCgroupsTable(v)
	c.table.Store(t)
	c.populated.Store(true)
	return RefreshReport{Items: t.Len(), Duplicates: t.duplicates, Generation: t.generation}, nil
}

// Table returns the published table: the read guard. It never blocks and
// stays valid and unchanged while held.
func (c *CgroupsCache) Table() *CgroupsTable { return c.table.Load() }

// Lookup looks (hash, name) up in the published table: no lock, no
// syscall, no allocation.
func (c *CgroupsCache) Lookup(hash uint32, name []byte) (CgroupEntryView, bool) {
	return c.table.Load().Get(hash, name)
}

// Ready reports whether the cache holds a snapshot (some refresh
// succeeded); it does not mean the client is connected.
func (c *CgroupsCache) Ready() bool { return c.populated.Load() }

// Status returns the diagnostic state; it never waits for a refresh.
func (c *CgroupsCache) Status() CacheStatus {
	c.recordMu.Lock()
	s := c.record
	c.recordMu.Unlock()
	t := c.table.Load()
	s.Populated = c.populated.Load()
	s.Items = t.Len()
	s.Generation = t.generation
	return s
}

// Abort aborts a refresh in progress and every later one until
// ClearAbort (safe from any goroutine).
func (c *CgroupsCache) Abort() { c.client.Abort() }

// ClearAbort clears Abort.
func (c *CgroupsCache) ClearAbort() { c.client.ClearAbort() }

// SetTimeout sets the call timeout of later refreshes (0 = the client's
// configured default).
func (c *CgroupsCache) SetTimeout(d time.Duration) {
	c.refreshMu.Lock()
	c.client.SetCallTimeout(d)
	c.refreshMu.Unlock()
}

// Close aborts a refresh in progress, closes the client and releases the
// cache (the published table becomes empty). It is final.
func (c *CgroupsCache) Close() error {
	c.client.Abort()
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	c.table.Store(emptyTable)
	c.populated.Store(false)
	return c.client.Close()
}
