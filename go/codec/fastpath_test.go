package codec

import (
	"bytes"
	"errors"
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
	}
	for _, ps := range cg {
		p := must(AppendCgroupsLookupRequest(nil, ps))
		byteMutations(p, 0, func(b []byte) { checkKeyRulesAgree(t, b, firstBadCgroupsKey, checkCgroupsKey) })
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
		p := appendResponseHeader(nil, 1, 9)
		p = append(p, 0, 0, 0, 0, 0, 0, 0, 0)
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
