package codec

import (
	"testing"
)

// Decoding never allocates: views alias the payload.
func TestDecodeDoesNotAllocate(t *testing.T) {
	snap := CgroupsCorpusSnapshot(500, 1, 1)
	snapBytes := must(AppendSnapshot(nil, &snap))
	cgReq := vec(t, "cgroups_lookup_req.bin")
	cgResp := vec(t, "cgroups_lookup_resp_known_with_labels.bin")
	apReq := vec(t, "apps_lookup_req.bin")
	apResp := vec(t, "apps_lookup_resp_known_full.bin")
	sr := vec(t, "string_reverse_req.bin")
	inc := vec(t, "increment_req.bin")
	sreq := vec(t, "cgroups_req.bin")
	var sink int
	cases := map[string]func(){
		"increment":      func() { v, _ := DecodeIncrement(inc); sink += int(v) },
		"string_reverse": func() { v, _ := DecodeStringReverse(sr); sink += len(v.Text) },
		"snapshot_req":   func() { v, _ := DecodeSnapshotRequest(sreq); sink += int(v.Flags) },
		"snapshot": func() {
			v, _ := DecodeSnapshot(snapBytes)
			for _, it := range v.Items() {
				sink += len(it.Name)
			}
		},
		"cgroups_lookup_req": func() {
			v, _ := DecodeCgroupsLookupRequest(cgReq)
			for _, k := range v.Keys() {
				sink += len(k)
			}
		},
		"cgroups_lookup_resp": func() {
			v, _ := DecodeCgroupsLookupResponse(cgResp)
			for _, it := range v.Items() {
				for _, l := range it.Labels() {
					sink += len(l.Key)
				}
			}
		},
		"apps_lookup_req": func() {
			v, _ := DecodeAppsLookupRequest(apReq)
			for _, p := range v.Pids() {
				sink += int(p)
			}
		},
		"apps_lookup_resp": func() {
			v, _ := DecodeAppsLookupResponse(apResp)
			for _, it := range v.Items() {
				for _, l := range it.Labels() {
					sink += len(l.Value) + len(it.Comm())
				}
			}
		},
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per decode", name, n)
		}
	}
	_ = sink
}

// Reused builders and encoders do not allocate in steady state.
func TestReusedEncodersDoNotAllocate(t *testing.T) {
	snap := BenchSnapshot(1)
	var sb CgroupsSnapshotBuilder
	buf := make([]byte, 0, 4096)
	req := must(DecodeCgroupsLookupRequest(vec(t, "cgroups_lookup_req.bin")))
	var lb CgroupsLookupBuilder
	labels := []Label{lbl("namespace", "bench")}
	apReq := must(DecodeAppsLookupRequest(vec(t, "apps_lookup_req.bin")))
	var ab AppsLookupBuilder
	entry := AppsLookupEntry{Status: PidKnown, Comm: []byte("bench"), CgroupPath: []byte("/p"), UID: 1}
	cases := map[string]func(){
		"snapshot builder": func() {
			sb.Reset(1, 1)
			for i := range snap.Items {
				_ = sb.Add(&snap.Items[i])
			}
			_ = sb.Finish()
		},
		"snapshot encoder": func() { buf, _ = AppendSnapshot(buf[:0], &snap) },
		"cgroups lookup builder": func() {
			lb.Reset(1, req)
			for i := 0; i < req.Len(); i++ {
				_, _ = lb.AddRequestItem(req, i, LookupKnown, OrchestratorK8s, []byte("pod"), labels)
			}
			_, _ = lb.Finish()
		},
		"apps lookup builder": func() {
			ab.Reset(1, apReq)
			for i := 0; i < apReq.Len(); i++ {
				_, _ = ab.AddRequestItem(apReq, i, &entry, labels)
			}
			_, _ = ab.Finish()
		},
	}
	for name, f := range cases {
		f() // warm up
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
