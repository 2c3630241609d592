package netipc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/wire"
)

// The external contract: every vector in testdata/conformance (bytes
// produced by an independent, interoperating implementation) must decode
// to exactly the fields vectors.json lists, encode from those fields to
// exactly its bytes, and re-encode from the decoded view to the same bytes.

const conformanceDir = "../testdata/conformance"

type vector struct {
	File   string         `json:"file"`
	Type   string         `json:"type"`
	Fields map[string]any `json:"fields"`
	bytes  []byte
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(conformanceDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []vector `json:"vectors"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for i := range doc.Vectors {
		b, err := os.ReadFile(filepath.Join(conformanceDir, "vectors", doc.Vectors[i].File))
		if err != nil {
			t.Fatal(err)
		}
		doc.Vectors[i].bytes = b
	}
	return doc.Vectors
}

var names = map[string]uint64{
	"REQUEST": uint64(netipc.KindRequest), "RESPONSE": uint64(netipc.KindResponse), "CONTROL": uint64(netipc.KindControl),
	"BATCH": uint64(netipc.FlagBatch), "OK": 0, "BAD_ENVELOPE": 1, "AUTH_FAILED": 2, "INCOMPATIBLE": 3,
	"UNSUPPORTED": 4, "LIMIT_EXCEEDED": 5, "INTERNAL_ERROR": 6, "HELLO": 1, "HELLO_ACK": 2,
	"INCREMENT": 1, "CGROUPS_SNAPSHOT": 2, "STRING_REVERSE": 3, "CGROUPS_LOOKUP": 4, "APPS_LOOKUP": 5,
	"UDS_SEQPACKET": 1, "SHM_HYBRID": 2, "SHM_FUTEX": 4, "NIPC_UID_UNSET": 0xFFFFFFFF,
}

func parseHex(s string) (uint64, bool) {
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 64)
		return v, err == nil
	}
	if h, ok := strings.CutPrefix(s, "0X"); ok {
		v, err := strconv.ParseUint(h, 16, 64)
		return v, err == nil
	}
	return 0, false
}

// num reads a numeric field: a number, a hex string, "NAME (0x..)", a flag
// union "A|B" or a spec name.
func num(t *testing.T, v any) uint64 {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseUint(x.String(), 10, 64)
		if err != nil {
			t.Fatalf("bad number %v", x)
		}
		return n
	case string:
		if i := strings.IndexByte(x, '('); i >= 0 && strings.HasSuffix(x, ")") {
			n, ok := parseHex(strings.TrimSpace(x[i+1 : len(x)-1]))
			if !ok {
				t.Fatalf("bad value %q", x)
			}
			return n
		}
		if n, ok := parseHex(x); ok {
			return n
		}
		var acc uint64
		for _, p := range strings.Split(x, "|") {
			n, ok := names[strings.TrimSpace(p)]
			if !ok {
				t.Fatalf("unknown name %q", p)
			}
			acc |= n
		}
		return acc
	}
	t.Fatalf("not a number: %v", v)
	return 0
}

func text(t *testing.T, v any) []byte {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("not a string: %v", v)
	}
	return []byte(s)
}

func obj(v any) map[string]any { return v.(map[string]any) }
func arr(v any) []any          { return v.([]any) }

func headerFromFields(t *testing.T, f map[string]any) wire.Header {
	return wire.Header{
		Kind: uint16(num(t, f["kind"])), Flags: uint16(num(t, f["flags"])), Code: uint16(num(t, f["code"])),
		TransportStatus: uint16(num(t, f["transport_status"])), PayloadLen: uint32(num(t, f["payload_len"])),
		ItemCount: uint32(num(t, f["item_count"])), MessageID: num(t, f["message_id"]),
	}
}

func checkHeaderFields(t *testing.T, h wire.Header, f map[string]any) {
	t.Helper()
	if num(t, f["magic"]) != uint64(netipc.MagicMsg) || num(t, f["version"]) != 1 || num(t, f["header_len"]) != 32 {
		t.Fatal("fixed header fields")
	}
	if want := headerFromFields(t, f); h != want {
		t.Fatalf("header %+v, want %+v", h, want)
	}
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: bytes differ\n got %x\nwant %x", what, got, want)
	}
}

func labelsFrom(t *testing.T, v any) []codec.Label {
	var out []codec.Label
	for _, kv := range arr(v) {
		p := arr(kv)
		out = append(out, codec.Label{Key: text(t, p[0]), Value: text(t, p[1])})
	}
	return out
}

func orchFrom(t *testing.T, v any) codec.Orchestrator {
	if s, ok := v.(string); ok {
		if o, ok := codec.ParseOrchestrator(s); ok {
			return o
		}
	}
	return codec.Orchestrator(num(t, v))
}

func batchItems(t *testing.T, items []any) []byte {
	b := wire.NewBatchBuilder(nil, uint32(len(items)))
	for _, it := range items {
		for kind, val := range obj(it) {
			var err error
			switch kind {
			case "string-reverse":
				err = b.AddWith(func(buf []byte) ([]byte, error) { return codec.AppendStringReverse(buf, text(t, val)) })
			case "increment-request", "increment-response":
				err = b.AddWith(func(buf []byte) ([]byte, error) { return codec.AppendIncrement(buf, num(t, val)), nil })
			default:
				t.Fatalf("unexpected batch item kind %s", kind)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkBatchItems(t *testing.T, v wire.BatchView, items []any) {
	if v.Len() != len(items) {
		t.Fatalf("batch len %d want %d", v.Len(), len(items))
	}
	for i, it := range items {
		item, _ := v.Item(i)
		for kind, val := range obj(it) {
			switch kind {
			case "string-reverse":
				sv, err := codec.DecodeStringReverse(item)
				if err != nil || !bytes.Equal(sv.Text, text(t, val)) {
					t.Fatalf("batch item %d: %v %q", i, err, sv.Text)
				}
			case "increment-request", "increment-response":
				n, err := codec.DecodeIncrement(item)
				if err != nil || n != num(t, val) {
					t.Fatalf("batch item %d: %v %d", i, err, n)
				}
			}
		}
	}
}

func snapshotFrom(t *testing.T, f map[string]any) codec.CgroupsSnapshot {
	s := codec.CgroupsSnapshot{SystemdEnabled: uint32(num(t, f["systemd_enabled"])), Generation: num(t, f["generation"])}
	for _, it := range arr(f["items"]) {
		m := obj(it)
		s.Items = append(s.Items, codec.CgroupItem{
			Hash: uint32(num(t, m["hash"])), Options: uint32(num(t, m["options"])), Enabled: uint32(num(t, m["enabled"])),
			Name: text(t, m["name"]), Path: text(t, m["path"]),
		})
	}
	return s
}

func TestConformanceVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) != 36 {
		t.Fatalf("the conformance set has 36 vectors, found %d", len(vs))
	}
	for _, v := range vs {
		t.Run(v.File, func(t *testing.T) { checkVector(t, v) })
	}
}

func checkVector(t *testing.T, v vector) {
	f := v.Fields
	switch v.Type {
	case "header":
		h, err := wire.DecodeHeader(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		checkHeaderFields(t, h, f)
		enc := headerFromFields(t, f).Encode()
		mustEqual(t, "encode", enc[:], v.bytes)
	case "chunk-header":
		c, err := wire.DecodeChunkHeader(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		want := wire.ChunkHeader{
			MessageID: num(t, f["message_id"]), TotalMessageLen: uint32(num(t, f["total_message_len"])),
			ChunkIndex: uint32(num(t, f["chunk_index"])), ChunkCount: uint32(num(t, f["chunk_count"])),
			ChunkPayloadLen: uint32(num(t, f["chunk_payload_len"])),
		}
		if c != want || num(t, f["magic"]) != uint64(netipc.MagicChunk) {
			t.Fatalf("%+v want %+v", c, want)
		}
		enc := want.Encode()
		mustEqual(t, "encode", enc[:], v.bytes)
	case "hello":
		h, err := wire.DecodeHello(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		want := wire.Hello{
			SupportedProfiles: uint32(num(t, f["supported_profiles"])), PreferredProfiles: uint32(num(t, f["preferred_profiles"])),
			MaxRequestPayloadBytes: uint32(num(t, f["max_request_payload_bytes"])), MaxRequestBatchItems: uint32(num(t, f["max_request_batch_items"])),
			MaxResponsePayloadBytes: uint32(num(t, f["max_response_payload_bytes"])), MaxResponseBatchItems: uint32(num(t, f["max_response_batch_items"])),
			AuthToken: num(t, f["auth_token"]), PacketSize: uint32(num(t, f["packet_size"])),
		}
		if h != want {
			t.Fatalf("%+v want %+v", h, want)
		}
		enc := want.Encode()
		mustEqual(t, "encode", enc[:], v.bytes)
	case "hello-ack":
		a, err := wire.DecodeHelloAck(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		want := wire.HelloAck{
			ServerSupportedProfiles: uint32(num(t, f["server_supported_profiles"])), IntersectionProfiles: uint32(num(t, f["intersection_profiles"])),
			SelectedProfile: uint32(num(t, f["selected_profile"])), AgreedMaxRequestPayloadBytes: uint32(num(t, f["agreed_max_request_payload_bytes"])),
			AgreedMaxRequestBatchItems: uint32(num(t, f["agreed_max_request_batch_items"])), AgreedMaxResponsePayloadBytes: uint32(num(t, f["agreed_max_response_payload_bytes"])),
			AgreedMaxResponseBatchItems: uint32(num(t, f["agreed_max_response_batch_items"])), AgreedPacketSize: uint32(num(t, f["agreed_packet_size"])),
			SessionID: num(t, f["session_id"]),
		}
		if a != want {
			t.Fatalf("%+v want %+v", a, want)
		}
		enc := want.Encode()
		mustEqual(t, "encode", enc[:], v.bytes)
	case "cgroups-snapshot-request":
		r, err := codec.DecodeSnapshotRequest(v.bytes)
		if err != nil || uint64(r.LayoutVersion) != num(t, f["layout_version"]) || uint64(r.Flags) != num(t, f["flags"]) {
			t.Fatal(err, r)
		}
		enc := r.Bytes()
		mustEqual(t, "encode", enc[:], v.bytes)
		mustEqual(t, "append", codec.AppendSnapshotRequest(nil), v.bytes)
	case "cgroups-snapshot-response":
		want := snapshotFrom(t, f)
		view, err := codec.DecodeSnapshot(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		got := view.ToOwned()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("decoded %v\nwant %v", got, want)
		}
		enc, err := codec.AppendSnapshot(nil, &want)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "encode", enc, v.bytes)
		again, _ := codec.AppendSnapshot(nil, &got)
		mustEqual(t, "re-encode", again, v.bytes)
		var b codec.CgroupsSnapshotBuilder
		b.Reset(want.SystemdEnabled, want.Generation)
		for i := range want.Items {
			if err := b.Add(&want.Items[i]); err != nil {
				t.Fatal(err)
			}
		}
		mustEqual(t, "builder", b.Finish(), v.bytes)
	case "increment-request", "increment-response":
		n, err := codec.DecodeIncrement(v.bytes)
		if err != nil || n != num(t, f["value"]) {
			t.Fatal(err, n)
		}
		mustEqual(t, "encode", codec.AppendIncrement(nil, n), v.bytes)
	case "string-reverse-request", "string-reverse-response":
		sv, err := codec.DecodeStringReverse(v.bytes)
		if err != nil || !bytes.Equal(sv.Text, text(t, f["text"])) {
			t.Fatal(err, sv)
		}
		enc, _ := codec.AppendStringReverse(nil, text(t, f["text"]))
		mustEqual(t, "encode", enc, v.bytes)
		again, _ := codec.AppendStringReverse(nil, sv.Text)
		mustEqual(t, "re-encode", again, v.bytes)
	case "batch":
		items := arr(f["items"])
		bv, err := wire.DecodeBatch(v.bytes, uint32(len(items)))
		if err != nil {
			t.Fatal(err)
		}
		checkBatchItems(t, bv, items)
		mustEqual(t, "encode", batchItems(t, items), v.bytes)
	case "message":
		hf := obj(f["header"])
		h, err := wire.DecodeHeader(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		checkHeaderFields(t, h, hf)
		payload := v.bytes[32:]
		if len(payload) != int(h.PayloadLen) {
			t.Fatal("payload length")
		}
		hb := headerFromFields(t, hf).Encode()
		out := hb[:]
		switch p := f["payload"].(type) {
		case nil:
			if len(payload) != 0 {
				t.Fatal("payload not empty")
			}
		case map[string]any:
			for kind, val := range p {
				switch kind {
				case "increment-request", "increment-response":
					n, err := codec.DecodeIncrement(payload)
					if err != nil || n != num(t, val) {
						t.Fatal(err, n)
					}
					out = codec.AppendIncrement(out, n)
				case "batch":
					if !h.HasBatchDirectory() {
						t.Fatal("expected batch directory")
					}
					bv, err := wire.DecodeBatch(payload, h.ItemCount)
					if err != nil {
						t.Fatal(err)
					}
					checkBatchItems(t, bv, arr(val))
					out = append(out, batchItems(t, arr(val))...)
				default:
					t.Fatalf("unexpected payload kind %s", kind)
				}
			}
		}
		mustEqual(t, "encode", out, v.bytes)
	case "cgroups-lookup-request":
		var paths [][]byte
		for _, p := range arr(f["paths"]) {
			paths = append(paths, text(t, p))
		}
		rv, err := codec.DecodeCgroupsLookupRequest(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rv.ToOwned()) != fmt.Sprint(paths) {
			t.Fatalf("paths %q want %q", rv.ToOwned(), paths)
		}
		enc, err := codec.AppendCgroupsLookupRequest(nil, paths)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "encode", enc, v.bytes)
		again, _ := codec.AppendCgroupsLookupRequest(nil, rv.ToOwned())
		mustEqual(t, "re-encode", again, v.bytes)
		var rb codec.CgroupsLookupRequestBuilder
		for _, p := range paths {
			if ok, err := rb.Push(p); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		mustEqual(t, "request builder", rb.AppendTo(nil), v.bytes)
	case "cgroups-lookup-response":
		want := codec.CgroupsLookupResponse{Generation: num(t, f["generation"])}
		for _, it := range arr(f["items"]) {
			m := obj(it)
			st, ok := codec.ParseLookupStatus(string(text(t, m["status"])))
			if !ok {
				t.Fatal("status")
			}
			want.Items = append(want.Items, codec.CgroupsLookupItem{
				Status: st, Orchestrator: orchFrom(t, m["orchestrator"]), Path: text(t, m["path"]),
				Name: text(t, m["name"]), Labels: labelsFrom(t, m["labels"]),
			})
		}
		rv, err := codec.DecodeCgroupsLookupResponse(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		if got := rv.ToOwned(); fmt.Sprint(normCgroups(got)) != fmt.Sprint(normCgroups(want)) {
			t.Fatalf("decoded %v\nwant %v", got, want)
		}
		enc, err := want.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "encode", enc, v.bytes)
		got := rv.ToOwned()
		again, _ := got.AppendTo(nil)
		mustEqual(t, "re-encode", again, v.bytes)
	case "apps-lookup-request":
		var pids []uint32
		for _, p := range arr(f["pids"]) {
			pids = append(pids, uint32(num(t, p)))
		}
		rv, err := codec.DecodeAppsLookupRequest(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rv.ToOwned()) != fmt.Sprint(pids) && !(len(pids) == 0 && rv.Len() == 0) {
			t.Fatalf("pids %v want %v", rv.ToOwned(), pids)
		}
		enc, _ := codec.AppendAppsLookupRequest(nil, pids)
		mustEqual(t, "encode", enc, v.bytes)
		again, _ := codec.AppendAppsLookupRequest(nil, rv.ToOwned())
		mustEqual(t, "re-encode", again, v.bytes)
	case "apps-lookup-response":
		want := codec.AppsLookupResponse{Generation: num(t, f["generation"])}
		for _, it := range arr(f["items"]) {
			m := obj(it)
			st, ok1 := codec.ParsePidStatus(string(text(t, m["status"])))
			cs, ok2 := codec.ParseCgroupStatus(string(text(t, m["cgroup_status"])))
			if !ok1 || !ok2 {
				t.Fatal("status")
			}
			want.Items = append(want.Items, codec.AppsLookupItem{
				Pid: uint32(num(t, m["pid"])),
				AppsLookupEntry: codec.AppsLookupEntry{
					Status: st, CgroupStatus: cs, Orchestrator: orchFrom(t, m["orchestrator"]),
					Ppid: uint32(num(t, m["ppid"])), UID: uint32(num(t, m["uid"])), Starttime: num(t, m["starttime"]),
					Comm: text(t, m["comm"]), CgroupPath: text(t, m["cgroup_path"]), CgroupName: text(t, m["cgroup_name"]),
				},
				Labels: labelsFrom(t, m["labels"]),
			})
		}
		rv, err := codec.DecodeAppsLookupResponse(v.bytes)
		if err != nil {
			t.Fatal(err)
		}
		if got := rv.ToOwned(); fmt.Sprint(normApps(got)) != fmt.Sprint(normApps(want)) {
			t.Fatalf("decoded %v\nwant %v", got, want)
		}
		enc, err := want.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "encode", enc, v.bytes)
		got := rv.ToOwned()
		again, _ := got.AppendTo(nil)
		mustEqual(t, "re-encode", again, v.bytes)
	default:
		t.Fatalf("no check for vector type %s", v.Type)
	}
}

// normCgroups renders byte strings as Go strings so that nil and empty
// compare equal.
func normCgroups(r codec.CgroupsLookupResponse) string {
	var s strings.Builder
	fmt.Fprintf(&s, "gen=%d", r.Generation)
	for _, it := range r.Items {
		fmt.Fprintf(&s, " [%v %v %q %q", it.Status, it.Orchestrator, it.Path, it.Name)
		for _, l := range it.Labels {
			fmt.Fprintf(&s, " %q=%q", l.Key, l.Value)
		}
		s.WriteString("]")
	}
	return s.String()
}

func normApps(r codec.AppsLookupResponse) string {
	var s strings.Builder
	fmt.Fprintf(&s, "gen=%d", r.Generation)
	for _, it := range r.Items {
		fmt.Fprintf(&s, " [%d %v %v %v %d %d %d %q %q %q", it.Pid, it.Status, it.CgroupStatus, it.Orchestrator,
			it.Ppid, it.UID, it.Starttime, it.Comm, it.CgroupPath, it.CgroupName)
		for _, l := range it.Labels {
			fmt.Fprintf(&s, " %q=%q", l.Key, l.Value)
		}
		s.WriteString("]")
	}
	return s.String()
}
