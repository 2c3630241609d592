package netipc_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/wire"
)

// The project's golden vectors (testdata/vectors, written by the Rust
// encoders for fixed inputs): the Go encoders must reproduce every one
// byte for byte from the same inputs (mirroring crates/netipc/tests/golden.rs).

const goldenDir = "../testdata/vectors"

func message(h wire.Header, payload []byte) []byte {
	h.PayloadLen = uint32(len(payload))
	return append(h.AppendTo(nil), payload...)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func snapshot16() []byte {
	s := codec.BenchSnapshot(1)
	return must(codec.AppendSnapshot(nil, &s))
}

var k8sPath = []byte("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice")

func goldenCgroupsLookupResponse() []byte {
	paths := [][]byte{k8sPath, []byte("/system.slice/docker-abc.scope"), []byte("/not/yet")}
	var b codec.CgroupsLookupBuilder
	if err := b.ResetForPaths(7, paths); err != nil {
		panic(err)
	}
	must(b.Add(paths[0], codec.LookupKnown, codec.OrchestratorK8s, []byte("k8s_web_default"), []codec.Label{
		{Key: []byte("namespace"), Value: []byte("default")}, {Key: []byte("pod"), Value: []byte("web")},
	}))
	must(b.Add(paths[1], codec.LookupKnown, codec.OrchestratorDocker, nil, nil))
	must(b.AddUnknown(paths[2], codec.LookupUnknownRetryLater))
	return append([]byte(nil), must(b.Finish())...)
}

func goldenAppsLookupResponse() []byte {
	var b codec.AppsLookupBuilder
	b.ResetForCount(9, 2)
	known := codec.AppsLookupEntry{
		Status: codec.PidKnown, CgroupStatus: codec.CgroupKnown, Orchestrator: codec.OrchestratorDocker,
		Ppid: 1, UID: 1000, Starttime: 123456, Comm: []byte("nginx"),
		CgroupPath: []byte("/system.slice/docker-abc.scope"), CgroupName: []byte("docker-abc"),
	}
	must(b.Add(1234, &known, []codec.Label{{Key: []byte("image"), Value: []byte("nginx:latest")}}))
	must(b.AddUnknown(4321))
	return append([]byte(nil), must(b.Finish())...)
}

var goldenVectors = []struct {
	name string
	gen  func() []byte
}{
	{"hello", func() []byte {
		b := wire.Hello{
			SupportedProfiles: netipc.ProfileBaseline | netipc.ProfileShmHybrid, PreferredProfiles: netipc.ProfileShmHybrid,
			MaxRequestPayloadBytes: 4096, MaxRequestBatchItems: 1, MaxResponsePayloadBytes: 65536, MaxResponseBatchItems: 1,
			AuthToken: 0xBE4C400000C0FFEE, PacketSize: 65536,
		}.Encode()
		return b[:]
	}},
	{"hello_ack", func() []byte {
		b := wire.HelloAck{
			ServerSupportedProfiles: 3, IntersectionProfiles: 3, SelectedProfile: netipc.ProfileShmHybrid,
			AgreedMaxRequestPayloadBytes: 4096, AgreedMaxRequestBatchItems: 1, AgreedMaxResponsePayloadBytes: 65536,
			AgreedMaxResponseBatchItems: 1, AgreedPacketSize: 65536, SessionID: 1,
		}.Encode()
		return b[:]
	}},
	{"msg_hello_ack_rejected", func() []byte {
		p := wire.HelloAck{}.Encode()
		return message(wire.ControlHeader(netipc.CodeHelloAck, netipc.StatusAuthFailed, 0), p[:])
	}},
	{"msg_increment_req", func() []byte {
		return message(wire.RequestHeader(netipc.MethodIncrement, 1, 0), codec.AppendIncrement(nil, 41))
	}},
	{"msg_increment_resp", func() []byte {
		return message(wire.ResponseHeader(netipc.MethodIncrement, 1, 0), codec.AppendIncrement(nil, 42))
	}},
	{"msg_increment_batch4_req", func() []byte {
		b := wire.NewBatchBuilder(nil, 4)
		for _, v := range []uint64{10, 20, 30, 40} {
			if err := b.AddWith(func(buf []byte) ([]byte, error) { return codec.AppendIncrement(buf, v), nil }); err != nil {
				panic(err)
			}
		}
		h := wire.RequestHeader(netipc.MethodIncrement, 2, 0)
		h.Flags, h.ItemCount = netipc.FlagBatch, 4
		return message(h, must(b.Finish()))
	}},
	{"msg_string_reverse_batch3_resp", func() []byte {
		b := wire.NewBatchBuilder(nil, 3)
		for _, s := range []string{"olleh", "", "cpiten"} {
			if err := b.AddWith(func(buf []byte) ([]byte, error) { return codec.AppendStringReverse(buf, []byte(s)) }); err != nil {
				panic(err)
			}
		}
		h := wire.ResponseHeader(netipc.MethodStringReverse, 3, 0)
		h.Flags, h.ItemCount = netipc.FlagBatch, 3
		return message(h, must(b.Finish()))
	}},
	{"msg_internal_error_resp", func() []byte {
		return message(wire.ErrorResponseHeader(netipc.MethodCgroupsLookup, 4, netipc.StatusInternalError), nil)
	}},
	{"string_reverse_req", func() []byte { return must(codec.AppendStringReverse(nil, []byte("hello, netipc"))) }},
	{"cgroups_snapshot_req", func() []byte { return codec.AppendSnapshotRequest(nil) }},
	{"cgroups_snapshot_resp_bench16", snapshot16},
	{"cgroups_snapshot_resp_corpus64", func() []byte {
		s := codec.CgroupsCorpusSnapshot(64, 7, 5)
		return must(codec.AppendSnapshot(nil, &s))
	}},
	{"cgroups_lookup_req", func() []byte {
		return must(codec.AppendCgroupsLookupRequest(nil, [][]byte{k8sPath, []byte("/system.slice/docker-abc.scope"), []byte("/not/yet")}))
	}},
	{"cgroups_lookup_resp", goldenCgroupsLookupResponse},
	{"apps_lookup_req", func() []byte { return must(codec.AppendAppsLookupRequest(nil, []uint32{1234, 4321})) }},
	{"apps_lookup_resp", goldenAppsLookupResponse},
}

// chunkedSnapshotPackets is the 16-item snapshot response chunked at packet
// size 128, message id 1.
func chunkedSnapshotPackets() [][]byte {
	payload := snapshot16()
	plan, _ := wire.NewChunkPlan(len(payload), 128)
	h := wire.ResponseHeader(netipc.MethodCgroupsSnapshot, 1, uint32(len(payload)))
	var out [][]byte
	for i := uint32(0); i < plan.ChunkCount; i++ {
		s, e := plan.Range(len(payload), i)
		var pkt []byte
		if i == 0 {
			pkt = h.AppendTo(nil)
		} else {
			c := wire.ChunkHeader{MessageID: 1, TotalMessageLen: uint32(32 + len(payload)), ChunkIndex: i,
				ChunkCount: plan.ChunkCount, ChunkPayloadLen: uint32(e - s)}.Encode()
			pkt = append(pkt, c[:]...)
		}
		out = append(out, append(pkt, payload[s:e]...))
	}
	return out
}

func TestGoldenVectors(t *testing.T) {
	for _, v := range goldenVectors {
		t.Run(v.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(goldenDir, v.name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, v.name, v.gen(), want)
		})
	}
	pkts := chunkedSnapshotPackets()
	if len(pkts) != 14 {
		t.Fatalf("%d packets", len(pkts))
	}
	for i, p := range pkts {
		want, err := os.ReadFile(filepath.Join(goldenDir, "chunked_snapshot", fmt.Sprintf("packet-%02d.bin", i)))
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, fmt.Sprintf("packet %d", i), p, want)
	}
}

// The golden vectors also decode back to their inputs.
func TestGoldenVectorsDecode(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(goldenDir, name+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v, err := codec.DecodeCgroupsLookupResponse(read("cgroups_lookup_resp"))
	if err != nil || v.Len() != 3 || v.Generation() != 7 {
		t.Fatal(err)
	}
	it := v.Item(0)
	if it.Status() != codec.LookupKnown || it.Orchestrator() != codec.OrchestratorK8s || string(it.Name()) != "k8s_web_default" ||
		it.LabelCount() != 2 || string(it.Label(1).Key) != "pod" || string(it.Label(1).Value) != "web" {
		t.Fatalf("item 0: %+v", it.ToOwned())
	}
	if v.Item(2).Status() != codec.LookupUnknownRetryLater || string(v.Item(2).Path()) != "/not/yet" {
		t.Fatal("item 2")
	}
	a, err := codec.DecodeAppsLookupResponse(read("apps_lookup_resp"))
	if err != nil || a.Len() != 2 || a.Generation() != 9 {
		t.Fatal(err)
	}
	ai := a.Item(0)
	if ai.Pid() != 1234 || string(ai.Comm()) != "nginx" || ai.Starttime() != 123456 || string(ai.CgroupName()) != "docker-abc" ||
		string(ai.Label(0).Value) != "nginx:latest" || a.Item(1).Status() != codec.PidUnknown || a.Item(1).UID() != codec.UIDUnset {
		t.Fatalf("apps: %+v", ai.ToOwned())
	}
	s, err := codec.DecodeSnapshot(read("cgroups_snapshot_resp_corpus64"))
	if err != nil || s.Len() != 64 || s.Generation() != 5 {
		t.Fatal(err)
	}
	for _, it := range s.Items() {
		if it.Hash != codec.SimpleHash(it.Name) {
			t.Fatal("corpus hash")
		}
	}
}

// The benchmark snapshot and its 128-byte chunking are exactly what a live
// independent peer put on the wire.
func TestBenchSnapshotMatchesCapturedPeer(t *testing.T) {
	dir := filepath.Join(conformanceDir, "transport", "chunked_snapshot_resp")
	want, err := os.ReadFile(filepath.Join(dir, "payload.bin"))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "payload", snapshot16(), want)
	for i, p := range chunkedSnapshotPackets() {
		w, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("packet-%02d.bin", i)))
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, fmt.Sprintf("packet %d", i), p, w)
	}
}
