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
