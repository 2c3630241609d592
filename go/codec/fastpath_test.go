package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// byteMutations calls f with every copy of p that has one byte of the
// area from `from` on replaced by 0, 1 or 0xFF.
func byteMutations(p []byte, from int, f func([]byte)) {
	b := make([]byte, len(p))
	for i := from; i < len(p); i++ {
		for _, v := range []byte{0, 1, 0xFF} {
			if p[i] == v {
				continue
			}
			copy(b, p)
			b[i] = v
			f(b)
		}
	}
}

// The fast request checks agree with the precise ones on every single
// byte mutation of packed requests (the fuzz targets check random
// inputs).
func TestLookupRequestFastChecksAgree(t *testing.T) {
	cg := [][][]byte{
		paths("/a", "/sys/fs/cgroup/x", "/0123456", "/b"),
		paths("/0123456", "/01234567", "/012345678", "/x"),
		lookupBenchPaths(9),
		// Up to fewKeys keys: scanned one by one.
		paths("/sys/fs/cgroup/x"),
		paths("/a", "/0123456"),
		// One key (singleCgroupsKeyOK too): 1, 7, 8 and 9 bytes.
		paths("/"),
		paths("/012345"),
		paths("/0123456"),
		paths("/01234567"),
	}
	for _, ps := range cg {
		p := must(AppendCgroupsLookupRequest(nil, ps))
		byteMutations(p, 0, func(b []byte) {
			checkKeyRulesAgree(t, b, firstBadCgroupsKey, checkCgroupsKey)
			checkSingleKeyAgrees(t, b)
		})
	}
	p := must(AppendAppsLookupRequest(nil, []uint32{1, 2, 3}))
	byteMutations(p, 0, func(b []byte) { checkKeyRulesAgree(t, b, firstBadAppsKey, checkAppsKey) })
}

// AppendCgroupsLookupRequest reports the error CgroupsLookupRequestLen
// does (the first bad path in order), leaves out as it was and, when it
// succeeds, writes exactly the canonical bytes.
func TestAppendCgroupsLookupRequestErrors(t *testing.T) {
	cases := [][][]byte{
		paths("/a", "", "/b\x00"),
		paths("/a", "/b\x00", ""),
		paths("\x00"),
		paths("/a", "/b", "/c\x00d", "/e"),
		paths("/a", "/bbbbbbbbbbbbbbbbbbbbbbbbbbbb\x00"),
		append(lookupBenchPaths(12), []byte("/sys/fs/cgroup/bench/x\x00y")),
		append(lookupBenchPaths(12), []byte("")),
	}
	for i, ps := range cases {
		_, want := CgroupsLookupRequestLen(ps)
		out := make([]byte, 3, 64)
		got, err := AppendCgroupsLookupRequest(out, ps)
		if err == nil || want == nil || err.Error() != want.Error() || len(got) != 3 || &got[0] != &out[0] {
			t.Fatalf("case %d: got %v, want %v", i, err, want)
		}
	}
	// Reused buffers full of garbage: the padding is still zero.
	ps := paths("/a", "/bcdefghijk", "/0123456", "/x")
	want := must(AppendCgroupsLookupRequest(nil, ps))
	buf := bytes.Repeat([]byte{0xEE}, 256)
	for _, prefix := range []int{0, 1, 5} {
		got := must(AppendCgroupsLookupRequest(buf[:prefix], ps))
		if !bytes.Equal(got[prefix:], want) {
			t.Fatalf("prefix %d: bytes differ", prefix)
		}
	}
	// One key (its own encoder): the bytes of the incremental builder,
	// also over garbage, for key lengths around the 8-byte alignment.
	for n := 1; n <= 17; n++ {
		key := append([]byte("/"), bytes.Repeat([]byte{'k'}, n-1)...)
		var rb CgroupsLookupRequestBuilder
		if ok, err := rb.Push(key); !ok || err != nil {
			t.Fatalf("%d: push %v %v", n, ok, err)
		}
		want := rb.AppendTo(nil)
		for _, prefix := range []int{0, 3} {
			got := must(AppendCgroupsLookupRequest(buf[:prefix], [][]byte{key}))
			if !bytes.Equal(got[prefix:], want) {
				t.Fatalf("one key of %d bytes, prefix %d: bytes differ", n, prefix)
			}
		}
	}
	if _, err := AppendCgroupsLookupRequest(nil, nil); err != nil || errors.Unwrap(err) != nil {
		t.Fatal(err)
	}
}

// The fast response checks agree with the precise ones on every single
// byte mutation of responses of every shape the builders write.
func TestLookupResponseFastChecksAgree(t *testing.T) {
	ps := paths("/a", "/sys/fs/cgroup/x", "/0123456", "/b")
	req := must(DecodeCgroupsLookupRequest(must(AppendCgroupsLookupRequest(nil, ps))))
	var cb CgroupsLookupBuilder
	cb.Reset(7, req)
	must(cb.AddRequestItem(req, 0, LookupKnown, OrchestratorK8s, []byte("pod"), []Label{lbl("k", ""), lbl("namespace", "v")}))
	must(cb.AddRequestItem(req, 1, LookupKnown, OrchestratorDocker, nil, nil))
	must(cb.AddRequestUnknown(req, 2, LookupUnknownRetryLater))
	must(cb.AddRequestItem(req, 3, LookupKnown, 0, []byte("0123456"), []Label{lbl("a", "b")}))
	cp := append([]byte(nil), must(cb.Finish())...)
	byteMutations(cp, 0, func(b []byte) {
		checkItemRulesAgree(t, b, CgroupsLookupItemHdrSize, firstBadCgroupsItem, cgroupsItemOK, checkCgroupsItem)
	})

	var ab AppsLookupBuilder
	ab.ResetForCount(3, 4)
	known := AppsLookupEntry{Status: PidKnown, Orchestrator: OrchestratorDocker, Ppid: 1, UID: 2, Starttime: 3,
		Comm: []byte("comm"), CgroupPath: []byte("/p"), CgroupName: []byte("name")}
	must(ab.Add(10, &known, []Label{lbl("image", "x:1"), lbl("k", "")}))
	must(ab.AddUnknown(11))
	root := AppsLookupEntry{Status: PidKnown, CgroupStatus: CgroupHostRoot, UID: UIDUnset, Comm: []byte("c")}
	must(ab.Add(12, &root, nil))
	perm := AppsLookupEntry{Status: PidKnown, CgroupStatus: CgroupUnknownPermanent, Comm: []byte("0123456789abcde"),
		CgroupPath: []byte("/q")}
	must(ab.Add(13, &perm, nil))
	ap := append([]byte(nil), must(ab.Finish())...)
	byteMutations(ap, 0, func(b []byte) {
		checkItemRulesAgree(t, b, AppsLookupItemHdrSize, firstBadAppsItem, appsItemOK, checkAppsItem)
	})
}

// Valid items whose strings are not packed the way encoders write them
// (the fast checks' general path), and their single byte mutations.
func TestLookupResponseFastChecksUnpacked(t *testing.T) {
	resp := func(item []byte) []byte {
		p := make([]byte, LookupRespHdrSize+LookupDirEntrySize)
		putResponseHeader((*[LookupRespHdrSize]byte)(p), 1, 9)
		put32(p, LookupRespHdrSize+4, uint32(len(item)))
		return append(p, item...)
	}
	// cgroups: name "pod" at 28, a gap byte, path "/a" at 33, one label.
	cg := make([]byte, CgroupsLookupItemHdrSize)
	put16(cg, 0, 1)
	put32(cg, clNameOff, 28)
	put32(cg, clNameLen, 3)
	put32(cg, clPathOff, 33)
	put32(cg, clPathLen, 2)
	put16(cg, clLabels, 1)
	cg = append(cg, "pod\x00x/a\x00"...) // ends at 36: table at 40
	cg = append(cg, 0, 0, 0, 0)
	cg = append(cg, make([]byte, LookupLabelEntrySize)...)
	put32(cg, 40, 56)
	put32(cg, 44, 1)
	put32(cg, 48, 58)
	put32(cg, 52, 2)
	cg = append(cg, "k\x00vv\x00"...)
	cp := resp(cg)
	if _, err := DecodeCgroupsLookupResponse(cp); err != nil {
		t.Fatal(err)
	}
	byteMutations(cp, 0, func(b []byte) {
		checkItemRulesAgree(t, b, CgroupsLookupItemHdrSize, firstBadCgroupsItem, cgroupsItemOK, checkCgroupsItem)
	})
	// apps: name, path, comm in reverse order.
	ap := make([]byte, AppsLookupItemHdrSize)
	put16(ap, 0, 1)
	put32(ap, alPid, 5)
	put32(ap, alNameOff, 60)
	put32(ap, alNameLen, 1)
	put32(ap, alPathOff, 62)
	put32(ap, alPathLen, 2)
	put32(ap, alCommOff, 65)
	put32(ap, alCommLen, 3)
	ap = append(ap, "n\x00/p\x00abc\x00"...)
	aresp := resp(ap)
	if _, err := DecodeAppsLookupResponse(aresp); err != nil {
		t.Fatal(err)
	}
	byteMutations(aresp, 0, func(b []byte) {
		checkItemRulesAgree(t, b, AppsLookupItemHdrSize, firstBadAppsItem, appsItemOK, checkAppsItem)
	})
}

// Zero-value views (what a failed decode returns) are empty.
func TestZeroLookupViews(t *testing.T) {
	var cr CgroupsLookupRequestView
	var ar AppsLookupRequestView
	var cv CgroupsLookupResponseView
	var av AppsLookupResponseView
	n := cr.Len() + ar.Len() + cv.Len() + av.Len() + int(cv.Generation()+av.Generation())
	for range cr.Keys() {
		n++
	}
	for range ar.Pids() {
		n++
	}
	for range cv.Items() {
		n++
	}
	for range av.Items() {
		n++
	}
	n += len(cr.ToOwned()) + len(ar.ToOwned()) + len(cv.ToOwned().Items) + len(av.ToOwned().Items)
	if n != 0 {
		t.Fatal("zero views are not empty")
	}
}

// copyNoNul copies exactly len(src) bytes and finds every NUL, whatever
// the length (each size class) and position.
func TestCopyNoNul(t *testing.T) {
	for n := 0; n <= 100; n++ {
		src := bytes.Repeat([]byte{0x81}, n)
		for i := range src {
			src[i] = byte(0x80 + i%0x7F + 1)
		}
		for at := -1; at < n; at++ {
			s := append([]byte(nil), src...)
			if at >= 0 {
				s[at] = 0
			}
			dst := bytes.Repeat([]byte{0xEE}, n+8)
			ok := copyNoNul(dst, s)
			if ok != (at < 0) || !bytes.Equal(dst[:n], s) || !bytes.Equal(dst[n:], bytes.Repeat([]byte{0xEE}, 8)) {
				t.Fatalf("len %d, NUL at %d: ok %v, copy %x", n, at, ok, dst)
			}
		}
	}
}

// A LabelSet holds its labels; builders given one write the bytes they
// write for the same []Label.
func TestLabelSet(t *testing.T) {
	ls := []Label{lbl("namespace", "default"), lbl("pod", "web"), lbl("k", "")}
	set := must(NewLabelSet(ls))
	if set.Len() != 3 || string(set.Label(1).Value) != "web" || normLabels(set.ToLabels()) != normLabels(ls) {
		t.Fatal("set contents")
	}
	n := 0
	for i, l := range set.Labels() {
		if !bytes.Equal(l.Key, ls[i].Key) || !bytes.Equal(l.Value, ls[i].Value) {
			t.Fatal("set iteration")
		}
		n++
	}
	ls[0].Key[0] = 'N' // the set copied the labels
	if n != 3 || string(set.Label(0).Key) != "namespace" {
		t.Fatal("set aliases its input")
	}
	var empty LabelSet
	if e := must(NewLabelSet(nil)); e.Len() != 0 || empty.Len() != 0 || e.ToLabels() != nil {
		t.Fatal("empty set")
	}
	for _, bad := range [][]Label{{lbl("", "v")}, {lbl("k\x00", "v")}, {lbl("k", "v"), lbl("k", "\x00")}} {
		if _, err := NewLabelSet(bad); err == nil {
			t.Fatal("bad labels accepted")
		}
	}
	func() {
		defer func() { _ = recover() }()
		_ = set.Label(3)
		t.Fatal("no panic")
	}()
}

func normLabels(ls []Label) string {
	s := ""
	for _, l := range ls {
		s += fmt.Sprintf("%q=%q ", l.Key, l.Value)
	}
	return s
}

func TestZeroLanesCountEveryZeroByte(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		var w [16]byte
		for i := range w {
			// Mostly zeros and bytes with the high bit set: the values a
			// carry or a borrow would miscount.
			switch r.IntN(4) {
			case 0:
				w[i] = 0
			case 1:
				w[i] = 0x80 | byte(r.IntN(128))
			default:
				w[i] = byte(r.IntN(256))
			}
		}
		want := 0
		for _, c := range w {
			if c == 0 {
				want++
			}
		}
		if got := sumLanes(zeroLanes(binary.LittleEndian.Uint64(w[:8])) + zeroLanes(binary.LittleEndian.Uint64(w[8:]))); got != want {
			t.Fatalf("zero lanes of %x = %d, want %d", w, got, want)
		}
	}
}

// The minimal-item shortcut never changes a verdict: for every status
// value and every single-byte change of the minimal item, appsItemOK
// agrees with checkAppsItem, and appsMinimal takes exactly the valid
// non-KNOWN minimal items.
func TestAppsMinimalShortcutAgrees(t *testing.T) {
	agree := func(it []byte, what string) {
		t.Helper()
		err := checkAppsItem(it)
		if appsItemOK(it) != (err == nil) {
			t.Fatalf("%s: fast check %v, precise %v", what, appsItemOK(it), err)
		}
		if appsMinimal(it) && err != nil {
			t.Fatalf("%s: shortcut took an item the precise check rejects: %v", what, err)
		}
	}
	taken := 0
	for status := range 256 {
		var it [AppsLookupMinItemSize]byte
		putAppsMinimal(it[:], 4242, PidStatus(status))
		agree(it[:], fmt.Sprintf("status %d", status))
		if appsMinimal(it[:]) != (status != int(PidKnown) && checkAppsItem(it[:]) == nil) {
			t.Fatalf("status %d: shortcut %v", status, appsMinimal(it[:]))
		}
		if appsMinimal(it[:]) {
			taken++
		}
	}
	if taken < 3 {
		t.Fatalf("the shortcut took %d statuses", taken)
	}
	for at := range AppsLookupMinItemSize {
		for v := range 256 {
			it := appsMinimalItem
			it[at] = byte(v)
			agree(it[:], fmt.Sprintf("byte %d = %d", at, v))
		}
	}
	long := append(appsMinimalItem[:], 0)
	if appsMinimal(long) || appsMinimal(appsMinimalItem[:62]) {
		t.Fatal("the shortcut took an item of another length")
	}
}
