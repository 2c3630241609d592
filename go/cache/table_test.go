package cache

import (
	"fmt"
	"testing"

	"netipc.local/netipc/codec"
)

// buildTable builds a table from items through the snapshot codec.
func buildTable(t *testing.T, items []codec.CgroupItem) *CgroupsTable {
	t.Helper()
	p, err := codec.AppendSnapshot(nil, &codec.CgroupsSnapshot{SystemdEnabled: 1, Generation: 9, Items: items})
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.DecodeSnapshot(p)
	if err != nil {
		t.Fatal(err)
	}
	return BuildCgroupsTable(v)
}

// Items sharing hashes (all in one probe chain), names that differ only
// in their last byte or length, duplicates: every lookup finds exactly its
// first occurrence and nothing else.
func TestTableCollisions(t *testing.T) {
	var items []codec.CgroupItem
	for i := range 40 {
		items = append(items, codec.CgroupItem{Hash: uint32(i % 3), Options: uint32(i), Enabled: uint32(i % 2),
			Name: fmt.Appendf(nil, "cgroup-%d", i), Path: fmt.Appendf(nil, "/sys/fs/cgroup/%d", i)})
	}
	items = append(items, codec.CgroupItem{Hash: 1, Options: 99, Name: []byte("cgroup-1"), Path: []byte("/dup")})
	items = append(items, codec.CgroupItem{Hash: 7, Name: nil, Path: []byte("/empty")})
	tb := buildTable(t, items)
	if tb.Len() != 41 || tb.Duplicates() != 1 || tb.Generation() != 9 {
		t.Fatal("table", tb.Len(), tb.Duplicates())
	}
	for i, it := range items[:40] {
		e, ok := tb.Get(it.Hash, it.Name)
		if !ok || e.Options != uint32(i) || e.Hash != it.Hash || e.Enabled != it.Enabled ||
			string(e.Name) != string(it.Name) || string(e.Path) != string(it.Path) {
			t.Fatalf("item %d: %+v %v", i, e, ok)
		}
		if cap(e.Name) != len(e.Name) || cap(e.Path) != len(e.Path) {
			t.Fatal("entry strings can grow into the arena")
		}
		if _, ok := tb.Get(it.Hash+3, it.Name); ok {
			t.Fatalf("item %d found under another hash", i)
		}
		if _, ok := tb.Get(it.Hash, append(it.Name, 'x')); ok {
			t.Fatalf("item %d found under a longer name", i)
		}
		if e, ok := tb.Get(it.Hash, it.Name[:len(it.Name)-1]); ok && e.Options == uint32(i) {
			t.Fatalf("item %d found under a shorter name", i)
		}
	}
	if e, ok := tb.Get(7, nil); !ok || string(e.Path) != "/empty" {
		t.Fatal("empty name")
	}
	if tb.Item(40).Hash != 7 {
		t.Fatal("snapshot order")
	}
	if _, ok := emptyTable.Get(0, nil); ok {
		t.Fatal("empty table hit")
	}
}
