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
