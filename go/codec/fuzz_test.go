package codec

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

func seeds(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		files, _ := filepath.Glob(filepath.Join("../../testdata", pat))
		if len(files) == 0 {
			f.Fatalf("no seed for %s", pat)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
}

func FuzzIncrement(f *testing.F) {
	seeds(f, "conformance/vectors/increment_*.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeIncrement(b)
		if (err == nil) != (len(b) == 8) {
			t.Fatal("length rule")
		}
		if err == nil && !bytes.Equal(AppendIncrement(nil, v), b) {
			t.Fatal("round trip")
		}
	})
}

func FuzzStringReverse(f *testing.F) {
	seeds(f, "conformance/vectors/string_reverse_*.bin", "vectors/string_reverse_req.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeStringReverse(b)
		if err != nil {
			return
		}
		p, err := AppendStringReverse(nil, v.Text)
		if err != nil || !bytes.HasPrefix(b, p) {
			t.Fatal("re-encode is not a prefix of the input")
		}
	})
}

func FuzzSnapshotRequest(f *testing.F) {
	seeds(f, "conformance/vectors/cgroups_req.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeSnapshotRequest(b); err == nil {
			enc := r.Bytes()
			if !bytes.HasPrefix(b, enc[:]) {
				t.Fatal("round trip")
			}
		}
	})
}

func FuzzSnapshotResponse(f *testing.F) {
	seeds(f, "conformance/vectors/cgroups_resp*.bin", "vectors/cgroups_snapshot_resp_*.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSnapItemRulesAgree(t, b)
		v, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		o := v.ToOwned()
		p, err := AppendSnapshot(nil, &o)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := DecodeSnapshot(p)
		if err != nil || v2.Len() != v.Len() {
			t.Fatal("re-encoded snapshot does not decode")
		}
		var w CgroupItemView
		for i, it := range v2.Items() {
			v.ItemInto(i, &w)
			if it.Hash != w.Hash || it.Options != w.Options || it.Enabled != w.Enabled || !bytes.Equal(it.Name, w.Name) || !bytes.Equal(it.Path, w.Path) {
				t.Fatal("item differs after round trip")
			}
			if u := v.Item(i); u.Hash != w.Hash || !bytes.Equal(u.Name, w.Name) || !bytes.Equal(u.Path, w.Path) {
				t.Fatal("Item and ItemInto disagree")
			}
		}
	})
}

func FuzzCgroupsLookupRequest(f *testing.F) {
	seeds(f, "conformance/vectors/cgroups_lookup_req*.bin", "vectors/cgroups_lookup_req.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		checkKeyRulesAgree(t, b, firstBadCgroupsKey, checkCgroupsKey)
		checkSingleKeyAgrees(t, b)
		v, err := DecodeCgroupsLookupRequest(b)
		if err != nil {
			return
		}
		p, err := AppendCgroupsLookupRequest(nil, v.ToOwned())
		if err != nil {
			t.Fatal(err)
		}
		v2, err := DecodeCgroupsLookupRequest(p)
		if err != nil || v2.Len() != v.Len() {
			t.Fatal("re-encoded request does not decode")
		}
		// A response echoing every key can always be built.
		var rb CgroupsLookupBuilder
		rb.Reset(1, v)
		for i := 0; i < v.Len(); i++ {
			if _, err := rb.AddRequestUnknown(v, i, LookupUnknownRetryLater); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := DecodeCgroupsLookupResponse(must(rb.Finish())); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzCgroupsLookupResponse(f *testing.F) {
	seeds(f, "conformance/vectors/cgroups_lookup_resp*.bin", "vectors/cgroups_lookup_resp.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		checkItemRulesAgree(t, b, CgroupsLookupItemHdrSize, firstBadCgroupsItem, cgroupsItemOK, checkCgroupsItem)
		v, err := DecodeCgroupsLookupResponse(b)
		if err != nil {
			return
		}
		o := v.ToOwned()
		p, err := o.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := DecodeCgroupsLookupResponse(p)
		if err != nil || normC(v2.ToOwned()) != normC(o) {
			t.Fatal("re-encoded response differs")
		}
	})
}

func FuzzAppsLookupRequest(f *testing.F) {
	seeds(f, "conformance/vectors/apps_lookup_req*.bin", "vectors/apps_lookup_req.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		checkKeyRulesAgree(t, b, firstBadAppsKey, checkAppsKey)
		v, err := DecodeAppsLookupRequest(b)
		if err != nil {
			return
		}
		p, err := AppendAppsLookupRequest(nil, v.ToOwned())
		if err != nil {
			t.Fatal(err)
		}
		if v2, err := DecodeAppsLookupRequest(p); err != nil || v2.Len() != v.Len() {
			t.Fatal("re-encoded request does not decode")
		}
	})
}

func FuzzAppsLookupResponse(f *testing.F) {
	seeds(f, "conformance/vectors/apps_lookup_resp*.bin", "vectors/apps_lookup_resp.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		checkItemRulesAgree(t, b, AppsLookupItemHdrSize, firstBadAppsItem, appsItemOK, checkAppsItem)
		v, err := DecodeAppsLookupResponse(b)
		if err != nil {
			return
		}
		o := v.ToOwned()
		p, err := o.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := DecodeAppsLookupResponse(p)
		if err != nil || normA(v2.ToOwned()) != normA(o) {
			t.Fatal("re-encoded response differs")
		}
	})
}

// checkSnapItemRulesAgree: for every item of a payload whose directory
// fits, the fast item check and the precise one give the same verdict.
func checkSnapItemRulesAgree(t *testing.T, b []byte) {
	if len(b) < SnapshotRespHdrSize {
		return
	}
	count := bin.U32(b, snapHdrItemCount)
	if uint64(count)*netipc.DirEntrySize > uint64(len(b)-SnapshotRespHdrSize) {
		return
	}
	v := CgroupsSnapshotView{payload: b, itemCount: count}
	dir, packed := snapAreas(b, count)
	for i := 0; i < int(count); i++ {
		item, err := v.itemBytes(i)
		if err == nil {
			err = checkSnapItem(item)
		}
		entry := dir[i*netipc.DirEntrySize : (i+1)*netipc.DirEntrySize]
		if fast := firstBadSnapItem(entry, packed) == 1; fast != (err == nil) {
			t.Fatalf("item %d: fast check says %v, precise check says %v", i, fast, err)
		}
	}
}

// checkKeyRulesAgree: for every key of a request payload whose header and
// directory parse, the fast key check (fast, on a one-key directory) and
// the precise one (precise) give the same verdict, and the fast check
// over the whole directory finds the first key the precise one rejects.
func checkKeyRulesAgree(t *testing.T, b []byte, fast func(entries, area []byte) int, precise func(directory, int) error) {
	d, err := parseRequestDir(b, "request")
	if err != nil {
		return
	}
	first := d.count
	for i := 0; i < d.count; i++ {
		err := precise(d, i)
		if err != nil && first == d.count {
			first = i
		}
		entry := d.entries()[i*LookupDirEntrySize : (i+1)*LookupDirEntrySize]
		if ok := fast(entry, d.area()) == 1; ok != (err == nil) {
			t.Fatalf("key %d: fast check says %v, precise check says %v", i, ok, err)
		}
	}
	if got := fast(d.entries(), d.area()); got != first {
		t.Fatalf("fast check: first bad key %d, precise check: %d", got, first)
	}
}

// checkSingleKeyAgrees: for a request payload whose header parses and
// counts one key, singleCgroupsKeyOK accepts exactly what the precise
// key check accepts.
func checkSingleKeyAgrees(t *testing.T, b []byte) {
	d, err := parseRequestDir(b, "request")
	if err != nil || d.count != 1 {
		return
	}
	precise := checkCgroupsKey(d, 0)
	if ok := singleCgroupsKeyOK(b); ok != (precise == nil) {
		t.Fatalf("single-key check says %v, precise check says %v", ok, precise)
	}
}

// checkItemRulesAgree: for every item of a response payload whose header
// and directory parse and whose range is valid, the fast item check
// (itemOK) and the precise one (precise) give the same verdict, and the
// fast check over the whole directory (fast) finds the first item
// validateItems rejects.
func checkItemRulesAgree(t *testing.T, b []byte, minLen int, fast func(entries, area []byte) int,
	itemOK func([]byte) bool, precise func([]byte) error) {
	d, _, err := parseResponseDir(b, "response")
	if err != nil {
		return
	}
	first, prevEnd := -1, uint64(0)
	for i := 0; i < d.count; i++ {
		off, end, err := d.entryRange(i, "item")
		rangeOK := err == nil && end-off >= uint64(minLen)
		if rangeOK {
			item := d.area()[off:end]
			err := precise(item)
			if ok := itemOK(item); ok != (err == nil) {
				t.Fatalf("item %d: fast check says %v, precise check says %v", i, ok, err)
			}
			rangeOK = err == nil
		}
		if first < 0 && (!rangeOK || off < prevEnd) {
			first = i
		}
		prevEnd = end
	}
	verdict := d.validateItems(minLen, "item", precise)
	if first < 0 {
		first = d.count
	}
	if got := fast(d.entries(), d.area()); got != first || (got == d.count) != (verdict == nil) {
		t.Fatalf("fast check: first bad item %d of %d, precise check: %d (%v)", got, d.count, first, verdict)
	}
}
