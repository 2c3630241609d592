package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"netipc.local/netipc"
)

func paths(ps ...string) [][]byte {
	out := make([][]byte, len(ps))
	for i, p := range ps {
		out[i] = []byte(p)
	}
	return out
}

func TestCgroupsLookupRequest(t *testing.T) {
	ps := paths("/a", "/sys/fs/cgroup/x", "/0123456")
	p := must(AppendCgroupsLookupRequest(nil, ps))
	if n := must(CgroupsLookupRequestLen(ps)); n != len(p) {
		t.Fatal("len")
	}
	v := must(DecodeCgroupsLookupRequest(p))
	for i, k := range v.Keys() {
		if !bytes.Equal(k, ps[i]) {
			t.Fatal("key")
		}
	}
	if fmt.Sprint(v.ToOwned()) != fmt.Sprint(ps) {
		t.Fatal("owned")
	}
	for _, bad := range [][][]byte{paths(""), paths("a\x00b")} {
		out, err := AppendCgroupsLookupRequest([]byte{7}, bad)
		if !errors.Is(err, netipc.ErrInvalidArgument) || len(out) != 1 {
			t.Fatal("bad path accepted")
		}
	}
	// 1 path: header 16 + dir 8 + "/a\0" = 27.
	good := must(AppendCgroupsLookupRequest(nil, paths("/a", "/b")))
	cases := []struct {
		name string
		p    []byte
		kind netipc.DecodeKind
	}{
		{"truncated header", good[:15], netipc.DecodeTruncated},
		{"layout", mut(good, func(b []byte) { put16(b, 0, 2) }), netipc.DecodeBadLayoutVersion},
		{"flags", mut(good, func(b []byte) { put16(b, 2, 1) }), netipc.DecodeNonZeroReserved},
		{"reserved0", mut(good, func(b []byte) { put32(b, 8, 1) }), netipc.DecodeNonZeroReserved},
		{"reserved1", mut(good, func(b []byte) { put32(b, 12, 1) }), netipc.DecodeNonZeroReserved},
		{"truncated directory", good[:20], netipc.DecodeTruncated},
		{"huge count", mut(good, func(b []byte) { put32(b, 4, math.MaxUint32) }), netipc.DecodeTruncated},
		{"key out of bounds", mut(good, func(b []byte) { put32(b, 20, 100) }), netipc.DecodeOutOfBounds},
		{"key overflow", mut(good, func(b []byte) { put32(b, 16, 0xFFFFFFF8); put32(b, 20, math.MaxUint32) }), netipc.DecodeOutOfBounds},
		{"unaligned key", mut(good, func(b []byte) { put32(b, 24, 1) }), netipc.DecodeBadAlignment},
		{"short key", mut(good, func(b []byte) { put32(b, 20, 1) }), netipc.DecodeBadLength},
		{"missing NUL", mut(good, func(b []byte) { put32(b, 20, 2) }), netipc.DecodeMissingNul},
		{"interior NUL", mut(good, func(b []byte) { b[32] = 0; b[33] = 0 }), netipc.DecodeInteriorNul},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeCgroupsLookupRequest(c.p)
			wantKind(t, err, c.kind)
		})
	}
}

func TestCgroupsLookupRequestBuilderSplit(t *testing.T) {
	var b CgroupsLookupRequestBuilder
	if b.Budget() != MaxBudget {
		t.Fatal("default budget")
	}
	ps := paths("/a", "/bb", "/ccc", "/dddd", "/eeeee")
	// Budget that holds exactly the first two keys.
	two := must(CgroupsLookupRequestLen(ps[:2]))
	b.SetBudget(two)
	for _, p := range ps[:2] {
		if ok := must(b.Push(p)); !ok {
			t.Fatal("should fit")
		}
	}
	if b.EncodedLen() != two || b.Fits(1) || must(b.Push(ps[2])) {
		t.Fatal("budget not enforced")
	}
	if !bytes.Equal(b.AppendTo(nil), must(AppendCgroupsLookupRequest(nil, ps[:2]))) {
		t.Fatal("builder bytes differ from encoder")
	}
	b.Clear()
	if b.Len() != 0 || !must(b.Push(ps[2])) {
		t.Fatal("clear")
	}
	if _, err := b.Push(nil); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal("empty path accepted")
	}
	if CgroupsLookupSingleRequestLen(5) != 16+8+6 {
		t.Fatal("single request len")
	}
}

// One KNOWN item with a label: path "/p", name "nm", label k=v.
// Payload: header 16, dir 8, item at 24: header 28, "/p\0" at 28, "nm\0"
// at 31, padding 34..40, table at 40, "k\0" at 56, "v\0" at 58; item 60.
func cgroupsItemPayload(t *testing.T) []byte {
	var b CgroupsLookupBuilder
	if err := b.ResetForPaths(3, paths("/p")); err != nil {
		t.Fatal(err)
	}
	if st := must(b.Add([]byte("/p"), LookupKnown, OrchestratorK8s, []byte("nm"), []Label{lbl("k", "v")})); st != LookupKnown {
		t.Fatal(st)
	}
	return append([]byte(nil), must(b.Finish())...)
}

func TestCgroupsLookupResponseRejections(t *testing.T) {
	good := cgroupsItemPayload(t)
	if len(good) != 84 {
		t.Fatalf("fixture length %d", len(good))
	}
	v := must(DecodeCgroupsLookupResponse(good))
	it := v.Item(0)
	if string(it.Path()) != "/p" || string(it.Name()) != "nm" || it.LabelCount() != 1 || string(it.Label(0).Key) != "k" {
		t.Fatal("fixture decode")
	}
	var ub CgroupsLookupBuilder
	_ = ub.ResetForPaths(1, paths("/u"))
	must(ub.AddUnknown([]byte("/u"), LookupUnknownRetryLater))
	unknown := append([]byte(nil), must(ub.Finish())...)
	two := must((&CgroupsLookupResponse{Items: []CgroupsLookupItem{
		{Status: LookupUnknownPermanent, Path: []byte("/a")}, {Status: LookupUnknownPermanent, Path: []byte("/b")},
	}}).AppendTo(nil))
	const I = 24
	cases := []struct {
		name string
		p    []byte
		kind netipc.DecodeKind
	}{
		{"truncated header", good[:15], netipc.DecodeTruncated},
		{"layout", mut(good, func(b []byte) { put16(b, 0, 2) }), netipc.DecodeBadLayoutVersion},
		{"flags", mut(good, func(b []byte) { put16(b, 2, 1) }), netipc.DecodeNonZeroReserved},
		{"truncated directory", good[:20], netipc.DecodeTruncated},
		{"item out of bounds", mut(good, func(b []byte) { put32(b, 20, 61) }), netipc.DecodeOutOfBounds},
		{"item range overflow", mut(good, func(b []byte) { put32(b, 16, 0xFFFFFFF8); put32(b, 20, math.MaxUint32) }), netipc.DecodeOutOfBounds},
		{"unaligned item", mut(good, func(b []byte) { put32(b, 16, 4) }), netipc.DecodeBadAlignment},
		{"overlapping items", mut(two, func(b []byte) { put32(b, 24, 0) }), netipc.DecodeOverlap},
		{"item shorter than 28", mut(good, func(b []byte) { put32(b, 20, 27) }), netipc.DecodeTruncated},
		{"item layout", mut(good, func(b []byte) { put16(b, I, 2) }), netipc.DecodeBadLayoutVersion},
		{"unknown status", mut(good, func(b []byte) { put16(b, I+2, 5) }), netipc.DecodeUnknownStatus},
		{"reserved0", mut(good, func(b []byte) { put16(b, I+6, 1) }), netipc.DecodeNonZeroReserved},
		{"reserved1", mut(good, func(b []byte) { put16(b, I+26, 1) }), netipc.DecodeNonZeroReserved},
		{"empty path", mut(good, func(b []byte) { put32(b, I+12, 0) }), netipc.DecodeBadLength},
		{"non-KNOWN orchestrator", mut(unknown, func(b []byte) { put16(b, I+4, 1) }), netipc.DecodeInvalidField},
		{"non-KNOWN name", mut(unknown, func(b []byte) { put32(b, I+20, 1) }), netipc.DecodeInvalidField},
		{"non-KNOWN labels", mut(unknown, func(b []byte) { put16(b, I+24, 1) }), netipc.DecodeInvalidField},
		{"string offset before 28", mut(good, func(b []byte) { put32(b, I+8, 27) }), netipc.DecodeOutOfBounds},
		{"string out of bounds", mut(good, func(b []byte) { put32(b, I+12, 1000) }), netipc.DecodeOutOfBounds},
		{"string overflow", mut(good, func(b []byte) { put32(b, I+8, math.MaxUint32); put32(b, I+12, math.MaxUint32) }), netipc.DecodeOutOfBounds},
		{"missing NUL", mut(good, func(b []byte) { put32(b, I+12, 1) }), netipc.DecodeMissingNul},
		{"interior NUL", mut(good, func(b []byte) { b[I+32] = 0 }), netipc.DecodeInteriorNul},
		{"overlapping strings", mut(good, func(b []byte) { put32(b, I+16, 28); put32(b, I+20, 2) }), netipc.DecodeOverlap},
		{"non-canonical label table", mut(good, func(b []byte) { put32(b, I+40, 58) }), netipc.DecodeInvalidField},
		{"non-zero table padding", mut(good, func(b []byte) { b[I+35] = 1 }), netipc.DecodeNonZeroReserved},
		{"empty label key", mut(good, func(b []byte) { put32(b, I+44, 0) }), netipc.DecodeBadLength},
		{"labels out of order", mut(good, func(b []byte) { put32(b, I+48, 59) }), netipc.DecodeInvalidField},
		{"label table past item", mut(good, func(b []byte) { put16(b, I+24, 100) }), netipc.DecodeOutOfBounds},
		{"label value out of bounds", mut(good, func(b []byte) { put32(b, I+52, 100) }), netipc.DecodeOutOfBounds},
		{"label value missing NUL", mut(good, func(b []byte) { b[I+59] = 'x' }), netipc.DecodeMissingNul},
		{"label key interior NUL", mut(good, func(b []byte) { put32(b, I+44, 3) }), netipc.DecodeInteriorNul},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeCgroupsLookupResponse(c.p)
			wantKind(t, err, c.kind)
		})
	}
}

func TestCgroupsLookupBuilderBudgetVectors(t *testing.T) {
	pe := vec(t, "cgroups_lookup_resp_payload_exceeded.bin")
	var b CgroupsLookupBuilder
	b.SetBudget(len(pe), 1<<20)
	_ = b.ResetForPaths(104, paths("/payload-exceeded"))
	if st := must(b.Add([]byte("/payload-exceeded"), LookupKnown, OrchestratorK8s, []byte("pod"), []Label{lbl("a", "b")})); st != LookupPayloadExceeded || !b.IsExceeded() {
		t.Fatal(st)
	}
	if !bytes.Equal(must(b.Finish()), pe) {
		t.Fatal("PAYLOAD_EXCEEDED vector")
	}
	ov := vec(t, "cgroups_lookup_resp_oversized_item.bin")
	b.SetBudget(len(ov), len(ov))
	_ = b.ResetForPaths(105, paths("/oversized"))
	if st := must(b.Add([]byte("/oversized"), LookupKnown, OrchestratorDocker, []byte("name"), nil)); st != LookupOversizedItem || b.IsExceeded() {
		t.Fatal(st)
	}
	if !bytes.Equal(must(b.Finish()), ov) {
		t.Fatal("OVERSIZED_ITEM vector")
	}
}

func TestCgroupsLookupBuilderTail(t *testing.T) {
	req := must(DecodeCgroupsLookupRequest(must(AppendCgroupsLookupRequest(nil, paths("/a", "/bb", "/ccc", "/dddd")))))
	big := bytes.Repeat([]byte("n"), 40)
	minOf := func(p int) int { return CgroupsLookupItemHdrSize + p + 2 }
	full0 := CgroupsLookupItemHdrSize + 2 + 1 + 40 + 1
	tail := (minOf(3)+7)&^7 + (minOf(4)+7)&^7 + minOf(5)
	budget := 48 + full0 + tail
	var b CgroupsLookupBuilder
	b.SetBudget(budget, 1<<20)
	b.Reset(5, req)
	if b.ItemCount() != 4 {
		t.Fatal("count")
	}
	add := func(i int) LookupStatus {
		return must(b.AddRequestItem(req, i, LookupKnown, OrchestratorDocker, big, nil))
	}
	if add(0) != LookupKnown || add(1) != LookupPayloadExceeded {
		t.Fatal("split")
	}
	if must(b.AddRequestUnknown(req, 2, LookupUnknownPermanent)) != LookupPayloadExceeded ||
		must(b.AddUnknown([]byte("/dddd"), LookupUnknownRetryLater)) != LookupPayloadExceeded {
		t.Fatal("exceeded mode")
	}
	p := must(b.Finish())
	if len(p) != budget {
		t.Fatalf("len %d want %d", len(p), budget)
	}
	v := must(DecodeCgroupsLookupResponse(p))
	for i, it := range v.Items() {
		if !bytes.Equal(it.Path(), req.Key(i)) {
			t.Fatal("echo")
		}
	}
}

func TestCgroupsLookupBuilderRules(t *testing.T) {
	var b CgroupsLookupBuilder
	_ = b.ResetForPaths(1, paths("/a", "/b", "/c"))
	if must(b.AddUnknown([]byte("/a"), LookupOversizedItem)) != LookupOversizedItem || b.IsExceeded() {
		t.Fatal("oversized")
	}
	if must(b.AddUnknown([]byte("/b"), LookupPayloadExceeded)) != LookupPayloadExceeded || !b.IsExceeded() {
		t.Fatal("explicit PAYLOAD_EXCEEDED enters exceeded mode")
	}
	if must(b.Add([]byte("/c"), LookupKnown, 1, []byte("n"), nil)) != LookupPayloadExceeded {
		t.Fatal("later item")
	}
	if _, err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	// Oversized does not stop later items.
	huge := bytes.Repeat([]byte("n"), 2000)
	b.SetBudget(1024, 1024)
	_ = b.ResetForPaths(1, paths("/a", "/b", "/c"))
	got := []LookupStatus{
		must(b.Add([]byte("/a"), LookupKnown, 1, []byte("ok"), nil)),
		must(b.Add([]byte("/b"), LookupKnown, 1, huge, nil)),
		must(b.Add([]byte("/c"), LookupKnown, 1, []byte("ok"), nil)),
	}
	if fmt.Sprint(got) != "[KNOWN OVERSIZED_ITEM KNOWN]" {
		t.Fatal(got)
	}
	v := must(DecodeCgroupsLookupResponse(must(b.Finish())))
	if v.Item(1).Orchestrator() != 0 || string(v.Item(1).Path()) != "/b" {
		t.Fatal("oversized shape")
	}
	// First item PAYLOAD_EXCEEDED when only the minimal shapes fit.
	b.SetBudget(16+8+CgroupsLookupItemHdrSize+4, 1<<20)
	_ = b.ResetForPaths(1, paths("/a"))
	if must(b.Add([]byte("/a"), LookupKnown, 1, []byte("x"), nil)) != LookupPayloadExceeded {
		t.Fatal("first item")
	}
	// Over budget: finish reports LIMIT_EXCEEDED.
	b.SetBudget(40, 40)
	_ = b.ResetForPaths(1, paths("/aaaaaaaaaaaaaaa"))
	if !b.IsOverBudget() || must(b.AddUnknown([]byte("/aaaaaaaaaaaaaaa"), LookupUnknownRetryLater)) != LookupPayloadExceeded {
		t.Fatal("over budget")
	}
	if _, err := b.Finish(); !errors.Is(err, netipc.ErrLimitExceeded) {
		t.Fatal(err)
	}
	// Invalid input leaves the state unchanged.
	b.SetBudget(MaxBudget, MaxBudget)
	_ = b.ResetForPaths(1, paths("/a", "/b"))
	bad := []func() error{
		func() error { _, err := b.Add([]byte("/abc"), LookupKnown, 0, nil, nil); return err },
		func() error { _, err := b.Add([]byte("/\x00"), LookupKnown, 0, nil, nil); return err },
		func() error { _, err := b.Add([]byte("/a"), LookupKnown, 0, []byte("n\x00"), nil); return err },
		func() error { _, err := b.Add([]byte("/a"), LookupKnown, 0, nil, []Label{lbl("", "v")}); return err },
		func() error {
			_, err := b.Add([]byte("/a"), LookupKnown, 0, nil, []Label{lbl("k\x00", "v")})
			return err
		},
		func() error {
			_, err := b.Add([]byte("/a"), LookupKnown, 0, nil, []Label{lbl("k", "v\x00")})
			return err
		},
		func() error { _, err := b.Add([]byte("/a"), LookupUnknownRetryLater, 1, nil, nil); return err },
		func() error { _, err := b.Add([]byte("/a"), LookupUnknownRetryLater, 0, []byte("n"), nil); return err },
		func() error {
			_, err := b.Add([]byte("/a"), LookupUnknownRetryLater, 0, nil, []Label{lbl("k", "")})
			return err
		},
		func() error { _, err := b.Add([]byte("/a"), LookupStatus(9), 0, nil, nil); return err },
		func() error { _, err := b.AddUnknown([]byte("/a"), LookupKnown); return err },
		func() error {
			_, err := b.Add([]byte("/a"), LookupKnown, 0, nil, make([]Label, MaxLabels+1))
			return err
		},
	}
	for i, f := range bad {
		if err := f(); !errors.Is(err, netipc.ErrInvalidArgument) {
			t.Fatalf("case %d: %v", i, err)
		}
		if b.Added() != 0 || b.EncodedLen() != 16+16 {
			t.Fatalf("case %d changed the builder", i)
		}
	}
	if _, err := b.Finish(); !errors.Is(err, netipc.ErrInvalidState) {
		t.Fatal("finish with missing items")
	}
	must(b.AddUnknown([]byte("/a"), LookupUnknownPermanent))
	must(b.AddUnknown([]byte("/b"), LookupUnknownPermanent))
	if _, err := b.AddUnknown([]byte("/c"), LookupUnknownPermanent); !errors.Is(err, netipc.ErrInvalidState) {
		t.Fatal("too many items")
	}
	// Request-backed entry points check the order.
	req := must(DecodeCgroupsLookupRequest(must(AppendCgroupsLookupRequest(nil, paths("/a", "/b")))))
	b.Reset(1, req)
	if _, err := b.AddRequestItem(req, 1, LookupKnown, 0, nil, nil); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal("out of order")
	}
}

func TestCgroupsLookupManyItemsUpToBudget(t *testing.T) {
	ps := make([][]byte, 2000)
	for i := range ps {
		ps[i] = fmt.Appendf(nil, "/sys/fs/cgroup/bench/cg-%03d", i)
	}
	req := must(DecodeCgroupsLookupRequest(must(AppendCgroupsLookupRequest(nil, ps))))
	labels := []Label{lbl("namespace", "bench"), lbl("image", "bench:latest")}
	for _, budget := range []int{150000, 200000, 1 << 20} {
		var b CgroupsLookupBuilder
		b.SetBudget(budget, 1<<20)
		b.Reset(9, req)
		for i := 0; i < req.Len(); i++ {
			must(b.AddRequestItem(req, i, LookupKnown, OrchestratorK8s, []byte("bench-pod"), labels))
		}
		p := must(b.Finish())
		if len(p) > budget {
			t.Fatal("over budget")
		}
		v := must(DecodeCgroupsLookupResponse(p))
		known := 0
		for v.Item(known).Status() == LookupKnown {
			known++
			if known == v.Len() {
				break
			}
		}
		for i := known; i < v.Len(); i++ {
			if v.Item(i).Status() != LookupPayloadExceeded {
				t.Fatal("tail not PAYLOAD_EXCEEDED")
			}
		}
		if budget == 1<<20 && known != req.Len() || budget != 1<<20 && (known == 0 || len(p) <= budget-152) {
			t.Fatalf("budget %d: known %d len %d", budget, known, len(p))
		}
	}
}

// One KNOWN apps item: comm "c", path "/p", name "n", label k=v. Payload:
// header 16, dir 8, item at 24: header 60, "c\0" at 60, "/p\0" at 62,
// "n\0" at 65, table at 72, "k\0" at 88, "v\0" at 90; item 92.
func appsItemPayload(t *testing.T) []byte {
	var b AppsLookupBuilder
	b.ResetForCount(3, 1)
	e := AppsLookupEntry{Status: PidKnown, Orchestrator: OrchestratorDocker, Ppid: 1, UID: 7, Starttime: 9,
		Comm: []byte("c"), CgroupPath: []byte("/p"), CgroupName: []byte("n")}
	if st := must(b.Add(42, &e, []Label{lbl("k", "v")})); st != PidKnown {
		t.Fatal(st)
	}
	return append([]byte(nil), must(b.Finish())...)
}

func TestAppsLookupRequest(t *testing.T) {
	pids := []uint32{0, 1, math.MaxUint32}
	p := must(AppendAppsLookupRequest(nil, pids))
	if n, ok := AppsLookupRequestLen(3); !ok || n != len(p) {
		t.Fatal("len")
	}
	v := must(DecodeAppsLookupRequest(p))
	if fmt.Sprint(v.ToOwned()) != fmt.Sprint(pids) || v.Pid(2) != math.MaxUint32 {
		t.Fatal("round trip")
	}
	for i, pid := range v.Pids() {
		if pid != pids[i] {
			t.Fatal("iter")
		}
	}
	if AppsLookupRequestMaxItems(16+16*10+15) != 10 || AppsLookupRequestMaxItems(3) != 0 {
		t.Fatal("max items")
	}
	good := must(AppendAppsLookupRequest(nil, []uint32{5, 6}))
	cases := []struct {
		name string
		p    []byte
		kind netipc.DecodeKind
	}{
		{"truncated header", good[:15], netipc.DecodeTruncated},
		{"layout", mut(good, func(b []byte) { put16(b, 0, 0) }), netipc.DecodeBadLayoutVersion},
		{"flags", mut(good, func(b []byte) { put16(b, 2, 1) }), netipc.DecodeNonZeroReserved},
		{"reserved0", mut(good, func(b []byte) { put32(b, 8, 1) }), netipc.DecodeNonZeroReserved},
		{"reserved1", mut(good, func(b []byte) { put32(b, 12, 1) }), netipc.DecodeNonZeroReserved},
		{"truncated directory", good[:24], netipc.DecodeTruncated},
		{"key out of bounds", mut(good, func(b []byte) { put32(b, 24, 16) }), netipc.DecodeOutOfBounds},
		{"key overflow", mut(good, func(b []byte) { put32(b, 24, 0xFFFFFFF8); put32(b, 28, math.MaxUint32) }), netipc.DecodeOutOfBounds},
		{"unaligned key", mut(good, func(b []byte) { put32(b, 24, 4) }), netipc.DecodeBadAlignment},
		{"key length != 8", mut(good, func(b []byte) { put32(b, 20, 4) }), netipc.DecodeBadLength},
		{"key reserved", mut(good, func(b []byte) { put32(b, 32+4, 1) }), netipc.DecodeNonZeroReserved},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeAppsLookupRequest(c.p)
			wantKind(t, err, c.kind)
		})
	}
}

func TestAppsLookupResponseRejections(t *testing.T) {
	good := appsItemPayload(t)
	if len(good) != 24+92 {
		t.Fatalf("fixture length %d", len(good))
	}
	it := must(DecodeAppsLookupResponse(good)).Item(0)
	if it.Pid() != 42 || string(it.Comm()) != "c" || string(it.CgroupPath()) != "/p" || string(it.CgroupName()) != "n" ||
		it.LabelCount() != 1 || string(it.Label(0).Value) != "v" || it.UID() != 7 || it.Starttime() != 9 || it.Ppid() != 1 {
		t.Fatal("fixture decode")
	}
	var ub AppsLookupBuilder
	ub.ResetForCount(1, 1)
	must(ub.AddUnknown(5))
	unknown := append([]byte(nil), must(ub.Finish())...)
	const I = 24
	cgs := func(s CgroupStatus, f func(b []byte)) []byte {
		return mut(good, func(b []byte) { put16(b, I+6, uint16(s)); f(b) })
	}
	cases := []struct {
		name string
		p    []byte
		kind netipc.DecodeKind
	}{
		{"truncated header", good[:10], netipc.DecodeTruncated},
		{"layout", mut(good, func(b []byte) { put16(b, 0, 2) }), netipc.DecodeBadLayoutVersion},
		{"flags", mut(good, func(b []byte) { put16(b, 2, 1) }), netipc.DecodeNonZeroReserved},
		{"truncated directory", good[:20], netipc.DecodeTruncated},
		{"item out of bounds", mut(good, func(b []byte) { put32(b, 20, 93) }), netipc.DecodeOutOfBounds},
		{"unaligned item", mut(good, func(b []byte) { put32(b, 16, 1) }), netipc.DecodeBadAlignment},
		{"item shorter than 60", mut(good, func(b []byte) { put32(b, 20, 59) }), netipc.DecodeTruncated},
		{"item layout", mut(good, func(b []byte) { put16(b, I, 2) }), netipc.DecodeBadLayoutVersion},
		{"unknown pid status", mut(good, func(b []byte) { put16(b, I+2, 4) }), netipc.DecodeUnknownStatus},
		{"unknown cgroup status", mut(good, func(b []byte) { put16(b, I+6, 4) }), netipc.DecodeUnknownStatus},
		{"reserved0", mut(good, func(b []byte) { put32(b, I+20, 1) }), netipc.DecodeNonZeroReserved},
		{"reserved1", mut(good, func(b []byte) { put16(b, I+58, 1) }), netipc.DecodeNonZeroReserved},
		{"comm > 15", mut(good, func(b []byte) { put32(b, I+36, 16) }), netipc.DecodeBadLength},
		{"known comm empty", mut(good, func(b []byte) { put32(b, I+36, 0) }), netipc.DecodeBadLength},
		{"cgroup KNOWN empty path", mut(good, func(b []byte) { put32(b, I+44, 0) }), netipc.DecodeInvalidField},
		{"RETRY_LATER with orchestrator", cgs(CgroupUnknownRetryLater, func(b []byte) {}), netipc.DecodeInvalidField},
		{"PERMANENT empty path", cgs(CgroupUnknownPermanent, func(b []byte) { put32(b, I+44, 0) }), netipc.DecodeInvalidField},
		{"PERMANENT with name", cgs(CgroupUnknownPermanent, func(b []byte) { put16(b, I+4, 0); put16(b, I+56, 0) }), netipc.DecodeInvalidField},
		{"HOST_ROOT with path", cgs(CgroupHostRoot, func(b []byte) {}), netipc.DecodeInvalidField},
		{"unknown pid orchestrator", mut(unknown, func(b []byte) { put16(b, I+4, 1) }), netipc.DecodeInvalidField},
		{"unknown pid cgroup status", mut(unknown, func(b []byte) { put16(b, I+6, 1) }), netipc.DecodeInvalidField},
		{"unknown pid ppid", mut(unknown, func(b []byte) { put32(b, I+12, 1) }), netipc.DecodeInvalidField},
		{"unknown pid uid", mut(unknown, func(b []byte) { put32(b, I+16, 0) }), netipc.DecodeInvalidField},
		{"unknown pid starttime", mut(unknown, func(b []byte) { put64(b, I+24, 1) }), netipc.DecodeInvalidField},
		{"unknown pid strings", mut(unknown, func(b []byte) { put32(b, I+36, 1) }), netipc.DecodeInvalidField},
		{"unknown pid labels", mut(unknown, func(b []byte) { put16(b, I+56, 1) }), netipc.DecodeInvalidField},
		{"string offset before 60", mut(good, func(b []byte) { put32(b, I+32, 59) }), netipc.DecodeOutOfBounds},
		{"string out of bounds", mut(good, func(b []byte) { put32(b, I+44, 1000) }), netipc.DecodeOutOfBounds},
		{"missing NUL", mut(good, func(b []byte) { put32(b, I+44, 1) }), netipc.DecodeMissingNul},
		{"interior NUL", mut(good, func(b []byte) { b[I+63] = 0 }), netipc.DecodeInteriorNul},
		{"overlapping strings", mut(good, func(b []byte) { put32(b, I+48, 62); put32(b, I+52, 2) }), netipc.DecodeOverlap},
		{"non-canonical label table", mut(good, func(b []byte) { put32(b, I+72, 96) }), netipc.DecodeInvalidField},
		{"non-zero table padding", mut(good, func(b []byte) { b[I+70] = 1 }), netipc.DecodeNonZeroReserved},
		{"empty label key", mut(good, func(b []byte) { put32(b, I+76, 0) }), netipc.DecodeBadLength},
		{"label value missing NUL", mut(good, func(b []byte) { b[I+91] = 'x' }), netipc.DecodeMissingNul},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeAppsLookupResponse(c.p)
			wantKind(t, err, c.kind)
		})
	}
}

func TestAppsLookupBuilder(t *testing.T) {
	known := AppsLookupEntry{Status: PidKnown, CgroupStatus: CgroupKnown, Orchestrator: OrchestratorDocker, Ppid: 1, UID: 1000,
		Starttime: 42, Comm: []byte("bench"), CgroupPath: []byte("/sys/fs/cgroup/bench"), CgroupName: []byte("bench-container")}
	labels := []Label{lbl("image", "bench:latest")}
	full := AppsLookupMinItemSize + 5 + 20 + 15
	full = (full+7)&^7 + 16 + 6 + 13
	// budget: header + dir(3) + item0 full + two minimal tails
	budget := 16 + 24 + (full+7)&^7 + 64 + 63
	var b AppsLookupBuilder
	b.SetBudget(budget, 1<<20)
	req := must(DecodeAppsLookupRequest(must(AppendAppsLookupRequest(nil, []uint32{1, 2, 3}))))
	b.Reset(4, req)
	got := []PidStatus{
		must(b.AddRequestItem(req, 0, &known, labels)),
		must(b.AddRequestItem(req, 1, &known, labels)),
		must(b.AddRequestUnknown(req, 2)),
	}
	if fmt.Sprint(got) != "[KNOWN PAYLOAD_EXCEEDED PAYLOAD_EXCEEDED]" {
		t.Fatal(got)
	}
	p := must(b.Finish())
	if len(p) != budget {
		t.Fatalf("len %d want %d", len(p), budget)
	}
	v := must(DecodeAppsLookupResponse(p))
	if v.Item(1).Pid() != 2 || v.Item(1).UID() != UIDUnset {
		t.Fatal("tail shape")
	}
	// Oversized: an item that cannot fit alone in the max budget.
	b.SetBudget(200, 200)
	b.ResetForCount(1, 2)
	big := known
	if must(b.Add(1, &big, []Label{lbl("k", string(bytes.Repeat([]byte("v"), 300)))})) != PidOversizedItem ||
		must(b.Add(2, &known, nil)) != PidKnown {
		t.Fatal("oversized")
	}
	// Validation.
	b.SetBudget(MaxBudget, MaxBudget)
	b.ResetForCount(1, 1)
	bad := []AppsLookupEntry{
		{Status: PidKnown, Comm: nil, CgroupPath: []byte("/p")},
		{Status: PidKnown, Comm: bytes.Repeat([]byte("c"), 16), CgroupPath: []byte("/p")},
		{Status: PidKnown, Comm: []byte("c\x00"), CgroupPath: []byte("/p")},
		{Status: PidKnown, Comm: []byte("c"), CgroupPath: nil},
		{Status: PidKnown, Comm: []byte("c"), CgroupStatus: CgroupHostRoot, CgroupPath: []byte("/p")},
		{Status: PidKnown, Comm: []byte("c"), CgroupStatus: CgroupUnknownRetryLater, Orchestrator: 1},
		{Status: PidKnown, Comm: []byte("c"), CgroupStatus: CgroupUnknownPermanent, CgroupPath: []byte("/p"), CgroupName: []byte("n")},
		{Status: PidUnknown, UID: 0},
		{Status: PidStatus(7), UID: UIDUnset},
	}
	for i := range bad {
		if _, err := b.Add(1, &bad[i], nil); !errors.Is(err, netipc.ErrInvalidArgument) || b.Added() != 0 {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	// Valid non-KNOWN cgroup shapes round trip.
	for _, e := range []AppsLookupEntry{
		{Status: PidKnown, Comm: []byte("c"), CgroupStatus: CgroupUnknownRetryLater},
		{Status: PidKnown, Comm: []byte("c"), CgroupStatus: CgroupUnknownPermanent, CgroupPath: []byte("/p")},
		{Status: PidKnown, Comm: []byte("c"), CgroupStatus: CgroupHostRoot},
	} {
		r := AppsLookupResponse{Generation: 1, Items: []AppsLookupItem{{Pid: 3, AppsLookupEntry: e}}}
		p := must(r.AppendTo(nil))
		if got := must(DecodeAppsLookupResponse(p)).ToOwned(); got.Items[0].CgroupStatus != e.CgroupStatus {
			t.Fatal("round trip")
		}
	}
}

func TestEnums(t *testing.T) {
	for i := LookupStatus(0); i < 5; i++ {
		if s, ok := ParseLookupStatus(i.String()); !ok || s != i || !i.Valid() {
			t.Fatal(i)
		}
	}
	for i := PidStatus(0); i < 4; i++ {
		if s, ok := ParsePidStatus(i.String()); !ok || s != i || !i.Valid() {
			t.Fatal(i)
		}
	}
	for i := CgroupStatus(0); i < 4; i++ {
		if s, ok := ParseCgroupStatus(i.String()); !ok || s != i || !i.Valid() {
			t.Fatal(i)
		}
	}
	for i := Orchestrator(0); i < 8; i++ {
		if s, ok := ParseOrchestrator(i.String()); !ok || s != i || !i.Known() {
			t.Fatal(i)
		}
	}
	if LookupStatus(5).Valid() || PidStatus(4).Valid() || CgroupStatus(4).Valid() || Orchestrator(8).Known() ||
		Orchestrator(999).String() != "999" || OrchestratorK8s.String() != "K8S" {
		t.Fatal("undefined values")
	}
	if _, ok := ParseLookupStatus("known"); ok {
		t.Fatal("case-sensitive")
	}
}

func TestBuilderAccessors(t *testing.T) {
	var c CgroupsLookupBuilder
	var a AppsLookupBuilder
	if c.Budget() != MaxBudget || c.MaxBudget() != MaxBudget || a.Budget() != MaxBudget || a.MaxBudget() != MaxBudget {
		t.Fatal("defaults")
	}
	c.SetBudget(100, 50)
	a.SetBudget(1000, 5000)
	if c.MaxBudget() != 100 || a.MaxBudget() != 5000 {
		t.Fatal("max budget raised to budget")
	}
	a.ResetForCount(3, 2)
	a.SetGeneration(11)
	if a.ItemCount() != 2 || a.EncodedLen() != 32 {
		t.Fatal(a.ItemCount(), a.EncodedLen())
	}
	must(a.AddUnknown(1))
	must(a.AddUnknown(2))
	if v := must(DecodeAppsLookupResponse(must(a.Finish()))); v.Generation() != 11 {
		t.Fatal("generation")
	}
	// A zero builder finishes an empty response.
	var z CgroupsLookupBuilder
	z.SetGeneration(5)
	if v := must(DecodeCgroupsLookupResponse(must(z.Finish()))); v.Len() != 0 || v.Generation() != 5 {
		t.Fatal("zero builder")
	}
}
