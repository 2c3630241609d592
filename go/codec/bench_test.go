package codec

import (
	"fmt"
	"testing"
)

func BenchmarkSnapshotEncode(b *testing.B) {
	for _, n := range []int{16, 5000} {
		snap := CgroupsCorpusSnapshot(n, 42, 1)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var sb CgroupsSnapshotBuilder
			b.ReportAllocs()
			for b.Loop() {
				sb.Reset(1, 1)
				for i := range snap.Items {
					if err := sb.Add(&snap.Items[i]); err != nil {
						b.Fatal(err)
					}
				}
				_ = sb.Finish()
			}
		})
	}
}

func BenchmarkSnapshotDecode(b *testing.B) {
	for _, n := range []int{16, 5000} {
		snap := CgroupsCorpusSnapshot(n, 42, 1)
		p := must(AppendSnapshot(nil, &snap))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				v, err := DecodeSnapshot(p)
				if err != nil || v.Len() != n {
					b.Fatal(err)
				}
			}
		})
	}
}

// The BENCHMARKS.md in-process lookup scenario ("known"): encode the
// request, run the server side (decode + builder), decode the response.
func BenchmarkCgroupsLookupRoundTrip(b *testing.B) {
	labels := []Label{lbl("namespace", "bench"), lbl("image", "bench:latest")}
	for _, n := range []int{16, 256, 8192} {
		ps := make([][]byte, n)
		for i := range ps {
			ps[i] = fmt.Appendf(nil, "/sys/fs/cgroup/bench/cg-%03d", i)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var reqBuf []byte
			var lb CgroupsLookupBuilder
			b.ReportAllocs()
			for b.Loop() {
				reqBuf, _ = AppendCgroupsLookupRequest(reqBuf[:0], ps)
				req, err := DecodeCgroupsLookupRequest(reqBuf)
				if err != nil {
					b.Fatal(err)
				}
				lb.Reset(1, req)
				for i := 0; i < req.Len(); i++ {
					_, _ = lb.AddRequestItem(req, i, LookupKnown, OrchestratorK8s, []byte("bench-pod"), labels)
				}
				resp, err := DecodeCgroupsLookupResponse(must(lb.Finish()))
				if err != nil || resp.Len() != n {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppsLookupRoundTrip(b *testing.B) {
	labels := []Label{lbl("image", "bench:latest")}
	e := AppsLookupEntry{Status: PidKnown, CgroupStatus: CgroupKnown, Orchestrator: OrchestratorDocker, Ppid: 1, UID: 1000,
		Starttime: 42, Comm: []byte("bench"), CgroupPath: []byte("/sys/fs/cgroup/bench"), CgroupName: []byte("bench-container")}
	for _, n := range []int{16, 256, 8192} {
		pids := make([]uint32, n)
		for i := range pids {
			pids[i] = uint32(1000 + i)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var reqBuf []byte
			var ab AppsLookupBuilder
			b.ReportAllocs()
			for b.Loop() {
				reqBuf, _ = AppendAppsLookupRequest(reqBuf[:0], pids)
				req, err := DecodeAppsLookupRequest(reqBuf)
				if err != nil {
					b.Fatal(err)
				}
				ab.Reset(1, req)
				for i := 0; i < req.Len(); i++ {
					_, _ = ab.AddRequestItem(req, i, &e, labels)
				}
				resp, err := DecodeAppsLookupResponse(must(ab.Finish()))
				if err != nil || resp.Len() != n {
					b.Fatal(err)
				}
			}
		})
	}
}

// Decode-only figures of the lookup responses built by the round-trip
// benchmarks (known items).
func BenchmarkLookupResponseDecode(b *testing.B) {
	labels := []Label{lbl("namespace", "bench"), lbl("image", "bench:latest")}
	e := AppsLookupEntry{Status: PidKnown, CgroupStatus: CgroupKnown, Orchestrator: OrchestratorDocker, Ppid: 1, UID: 1000,
		Starttime: 42, Comm: []byte("bench"), CgroupPath: []byte("/sys/fs/cgroup/bench"), CgroupName: []byte("bench-container")}
	for _, n := range []int{16, 256, 8192} {
		ps := make([][]byte, n)
		pids := make([]uint32, n)
		for i := range ps {
			ps[i] = fmt.Appendf(nil, "/sys/fs/cgroup/bench/cg-%03d", i)
			pids[i] = uint32(1000 + i)
		}
		var cb CgroupsLookupBuilder
		_ = cb.ResetForPaths(1, ps)
		for _, p := range ps {
			_, _ = cb.Add(p, LookupKnown, OrchestratorK8s, []byte("bench-pod"), labels)
		}
		cp := append([]byte(nil), must(cb.Finish())...)
		var ab AppsLookupBuilder
		ab.ResetForCount(1, uint32(n))
		for _, pid := range pids {
			_, _ = ab.Add(pid, &e, labels[1:])
		}
		ap := append([]byte(nil), must(ab.Finish())...)
		b.Run(fmt.Sprintf("cgroups/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(cp)))
			for b.Loop() {
				if v, err := DecodeCgroupsLookupResponse(cp); err != nil || v.Len() != n {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("apps/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ap)))
			for b.Loop() {
				if v, err := DecodeAppsLookupResponse(ap); err != nil || v.Len() != n {
					b.Fatal(err)
				}
			}
		})
	}
}

// Walking a decoded 16-item snapshot (what a client does with every
// answer).
func BenchmarkSnapshotItems(b *testing.B) {
	snap := BenchSnapshot(1)
	p := must(AppendSnapshot(nil, &snap))
	v, err := DecodeSnapshot(p)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, it := range v.Items() {
			n += len(it.Name) + len(it.Path) + int(it.Hash)
		}
	}
	_ = n
}

// ----- lookup codec stages (crates/netipc/benches/codec_lookup.rs) --------
//
// The four stages Rust's `cargo bench -p netipc --bench codec_lookup`
// measures, on the same data (BENCHMARKS.md "Lookup scenarios", every item
// known): request_encode, request_decode (decode + walk the keys),
// response_encode (Reset + AddRequestItemWithLabelSet per key + Finish,
// budgets N * 256 + 4096, at least 65536; response_encode_labels: the
// same with the labels as a []Label) and response_decode (decode + walk the
// items and their labels). Run e.g.
// `go test -run XXX -bench 'LookupCodec/.*/256' -count 6 ./codec/`.
//
// Each stage is one call of a go:noinline function, like the closure
// Rust's criterion times: inside a `for b.Loop()` body the compiler keeps
// every value alive, which stops it from inlining the loop bodies of
// range-over-func iterators (one indirect call per key, which no user
// loop pays).

var lookupBenchSizes = []int{1, 16, 256, 8192}

// lookupBenchBudget is the response budget of an in-process lookup of n
// keys.
func lookupBenchBudget(n int) int { return max(n*256+4096, 65536) }

func lookupBenchPaths(n int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		ps[i] = fmt.Appendf(nil, "/sys/fs/cgroup/bench/cg-%03d", i)
	}
	return ps
}

func lookupBenchPids(n int) []uint32 {
	pids := make([]uint32, n)
	for i := range pids {
		pids[i] = uint32(1000 + i)
	}
	return pids
}

var (
	benchCgName   = []byte("bench-pod")
	benchCgLabels = []Label{lbl("namespace", "bench"), lbl("image", "bench:latest")}
	benchAppsLbls = []Label{lbl("image", "bench:latest")}
	benchCgSet    = must(NewLabelSet(benchCgLabels))
	benchAppsSet  = must(NewLabelSet(benchAppsLbls))
	benchAppsKnow = AppsLookupEntry{Status: PidKnown, CgroupStatus: CgroupKnown, Orchestrator: OrchestratorDocker,
		Ppid: 1, UID: 1000, Starttime: 42, Comm: []byte("bench"), CgroupPath: []byte("/sys/fs/cgroup/bench"),
		CgroupName: []byte("bench-container")}
)

//go:noinline
func benchCgroupsRequestEncode(out []byte, paths [][]byte) []byte {
	out, err := AppendCgroupsLookupRequest(out[:0], paths)
	if err != nil {
		panic(err)
	}
	return out
}

//go:noinline
func benchCgroupsRequestDecode(req []byte) int {
	v, err := DecodeCgroupsLookupRequest(req)
	if err != nil {
		panic(err)
	}
	sum := 0
	for _, k := range v.Keys() {
		sum += len(k)
	}
	return sum
}

// benchCgroupsResponse builds the response with the labels as a LabelSet
// (as Rust's benchmark does).
//
//go:noinline
func benchCgroupsResponse(b *CgroupsLookupBuilder, req CgroupsLookupRequestView) int {
	b.Reset(1, req)
	for i := range req.Len() {
		if st, err := b.AddRequestItemWithLabelSet(req, i, LookupKnown, OrchestratorK8s, benchCgName, benchCgSet); err != nil || st != LookupKnown {
			panic(err)
		}
	}
	return len(must(b.Finish()))
}

// benchCgroupsResponseLabels builds the response with the labels as a
// []Label (validated on every item).
//
//go:noinline
func benchCgroupsResponseLabels(b *CgroupsLookupBuilder, req CgroupsLookupRequestView) int {
	b.Reset(1, req)
	for i := range req.Len() {
		if st, err := b.AddRequestItem(req, i, LookupKnown, OrchestratorK8s, benchCgName, benchCgLabels); err != nil || st != LookupKnown {
			panic(err)
		}
	}
	return len(must(b.Finish()))
}

//go:noinline
func benchCgroupsResponseDecode(resp []byte) int {
	v, err := DecodeCgroupsLookupResponse(resp)
	if err != nil {
		panic(err)
	}
	sum := 0
	for _, it := range v.Items() {
		sum += len(it.Path()) + len(it.Name()) + int(it.Orchestrator())
		for _, l := range it.Labels() {
			sum += len(l.Key) + len(l.Value)
		}
	}
	return sum
}

//go:noinline
func benchAppsRequestEncode(out []byte, pids []uint32) []byte {
	out, err := AppendAppsLookupRequest(out[:0], pids)
	if err != nil {
		panic(err)
	}
	return out
}

//go:noinline
func benchAppsRequestDecode(req []byte) uint64 {
	v, err := DecodeAppsLookupRequest(req)
	if err != nil {
		panic(err)
	}
	sum := uint64(0)
	for _, p := range v.Pids() {
		sum += uint64(p)
	}
	return sum
}

// benchAppsResponse builds the response with the labels as a LabelSet (as
// Rust's benchmark does).
//
//go:noinline
func benchAppsResponse(b *AppsLookupBuilder, req AppsLookupRequestView) int {
	b.Reset(1, req)
	for i := range req.Len() {
		if st, err := b.AddRequestItemWithLabelSet(req, i, &benchAppsKnow, benchAppsSet); err != nil || st != PidKnown {
			panic(err)
		}
	}
	return len(must(b.Finish()))
}

// benchAppsResponseLabels builds the response with the labels as a
// []Label (validated on every item).
//
//go:noinline
func benchAppsResponseLabels(b *AppsLookupBuilder, req AppsLookupRequestView) int {
	b.Reset(1, req)
	for i := range req.Len() {
		if st, err := b.AddRequestItem(req, i, &benchAppsKnow, benchAppsLbls); err != nil || st != PidKnown {
			panic(err)
		}
	}
	return len(must(b.Finish()))
}

//go:noinline
func benchAppsResponseDecode(resp []byte) uint64 {
	v, err := DecodeAppsLookupResponse(resp)
	if err != nil {
		panic(err)
	}
	sum := uint64(0)
	for _, it := range v.Items() {
		sum += uint64(it.Pid()) + uint64(it.UID()) + it.Starttime()
		sum += uint64(len(it.Comm()) + len(it.CgroupPath()) + len(it.CgroupName()))
		for _, l := range it.Labels() {
			sum += uint64(len(l.Key) + len(l.Value))
		}
	}
	return sum
}

var benchSink int

func BenchmarkCgroupsLookupCodec(b *testing.B) {
	for _, n := range lookupBenchSizes {
		paths := lookupBenchPaths(n)
		req := must(AppendCgroupsLookupRequest(nil, paths))
		view := must(DecodeCgroupsLookupRequest(req))
		var lb CgroupsLookupBuilder
		lb.SetBudget(lookupBenchBudget(n), lookupBenchBudget(n))
		benchCgroupsResponse(&lb, view)
		resp := append([]byte(nil), must(lb.Finish())...)
		for _, it := range must(DecodeCgroupsLookupResponse(resp)).Items() {
			if it.Status() != LookupKnown {
				b.Fatal("not known")
			}
		}
		b.Run(fmt.Sprintf("request_encode/%d", n), func(b *testing.B) {
			out := make([]byte, 0, len(req))
			b.ReportAllocs()
			for b.Loop() {
				out = benchCgroupsRequestEncode(out, paths)
			}
		})
		b.Run(fmt.Sprintf("request_decode/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += benchCgroupsRequestDecode(req)
			}
		})
		b.Run(fmt.Sprintf("response_encode/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += benchCgroupsResponse(&lb, view)
			}
		})
		b.Run(fmt.Sprintf("response_encode_labels/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += benchCgroupsResponseLabels(&lb, view)
			}
		})
		b.Run(fmt.Sprintf("response_decode/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += benchCgroupsResponseDecode(resp)
			}
		})
	}
}

func BenchmarkAppsLookupCodec(b *testing.B) {
	for _, n := range lookupBenchSizes {
		pids := lookupBenchPids(n)
		req := must(AppendAppsLookupRequest(nil, pids))
		view := must(DecodeAppsLookupRequest(req))
		var ab AppsLookupBuilder
		ab.SetBudget(lookupBenchBudget(n), lookupBenchBudget(n))
		benchAppsResponse(&ab, view)
		resp := append([]byte(nil), must(ab.Finish())...)
		for _, it := range must(DecodeAppsLookupResponse(resp)).Items() {
			if it.Status() != PidKnown {
				b.Fatal("not known")
			}
		}
		b.Run(fmt.Sprintf("request_encode/%d", n), func(b *testing.B) {
			out := make([]byte, 0, len(req))
			b.ReportAllocs()
			for b.Loop() {
				out = benchAppsRequestEncode(out, pids)
			}
		})
		b.Run(fmt.Sprintf("request_decode/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += int(benchAppsRequestDecode(req))
			}
		})
		b.Run(fmt.Sprintf("response_encode/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += benchAppsResponse(&ab, view)
			}
		})
		b.Run(fmt.Sprintf("response_encode_labels/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += benchAppsResponseLabels(&ab, view)
			}
		})
		b.Run(fmt.Sprintf("response_decode/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += int(benchAppsResponseDecode(resp))
			}
		})
	}
}
