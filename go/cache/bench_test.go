//go:build linux

package cache

import (
	"sync/atomic"
	"testing"

	"netipc.local/netipc/codec"
)

// The L3 lookup scenario: a cache seeded with the 16 benchmark items; one
// op = 16 lookups by (hash, name), all hits.
func BenchmarkLookup16(b *testing.B) {
	dir := b.TempDir()
	snap := codec.BenchSnapshot(1)
	var gen atomic.Uint64
	snapshotServer(b, dir, snap.Items, &gen)
	c := newCache(b, dir)
	if _, err := c.Refresh(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		t := c.Table()
		for i := range snap.Items {
			if _, ok := t.Get(snap.Items[i].Hash, snap.Items[i].Name); !ok {
				b.Fatal("miss")
			}
		}
	}
}
