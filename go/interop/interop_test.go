package interop_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
)

// The two transport profiles, as the Rust CLI names them.
var profiles = []string{"uds", "shm"}

const token uint64 = 0x5EC12E7_0000_0042

// Small budgets that force lookups to be split, re-asked and stitched.
const smallBudget = 4096

// ---------------------------------------------------------------------------
// Fixed data served in both directions.

func snapshotData() *snapshotDS {
	ds := &snapshotDS{Generation: 999, SystemdEnabled: 1, Items: []snapItem{
		{Hash: codec.SimpleHash([]byte("ssh.service")), Options: 6, Enabled: 1, Name: "ssh.service", Path: "/system.slice/ssh.service"},
		// A hash that is not simple_hash(name): served as given.
		{Hash: 300, Options: 0, Enabled: 1, Name: "", Path: ""},
		{Hash: 0xFFFFFFFF, Options: 0xFFFFFFFF, Enabled: 0, Name: "ünïcødé-😀", Path: "/machine.slice/ünïcødé 😀 with spaces"},
	}}
	// Enough items to pass the clients' 64 KiB zero-config response hint,
	// so the overflow recovery runs across languages too.
	for i := range 1000 {
		name := fmt.Sprintf("docker-%012x", i*7919)
		ds.Items = append(ds.Items, snapItem{
			Hash: codec.SimpleHash([]byte(name)), Options: uint32(i % 8), Enabled: uint32(i % 2),
			Name: name, Path: "/system.slice/" + name + ".scope",
		})
	}
	return ds
}

func cgroupsData() *cgroupsDS {
	return &cgroupsDS{Generation: 100, Items: []cgItem{
		{Path: "/kubepods.slice/pod-a", Status: "KNOWN", Orchestrator: orch(codec.OrchestratorK8s), Name: "pod-a",
			Labels: [][2]string{{"namespace", "default"}, {"pod", "web"}, {"empty", ""}}},
		{Path: "/docker/abc", Status: "KNOWN", Orchestrator: orch(codec.OrchestratorDocker), Name: "", Labels: [][2]string{}},
		{Path: "/machine.slice/ünïcødé", Status: "KNOWN", Orchestrator: 4242, Name: "😀 name",
			Labels: [][2]string{{"ключ", "значение"}}},
		{Path: "/gone", Status: "UNKNOWN_PERMANENT", Labels: [][2]string{}},
		{Path: "/later", Status: "UNKNOWN_RETRY_LATER", Labels: [][2]string{}},
	}}
}

func appsData() *appsDS {
	unset := uid(codec.UIDUnset)
	return &appsDS{Generation: 200, Items: []appItem{
		{Pid: 1234, Status: "KNOWN", CgroupStatus: "KNOWN", Orchestrator: orch(codec.OrchestratorDocker),
			Ppid: 1, UID: 1000, Starttime: 123456, Comm: "nginx", CgroupPath: "/docker/abc", CgroupName: "container-a",
			Labels: [][2]string{{"image", "nginx:latest"}, {"e", ""}}},
		{Pid: 1237, Status: "KNOWN", CgroupStatus: "HOST_ROOT", Ppid: 1, UID: 0, Starttime: 123459, Comm: "sshd",
			Labels: [][2]string{}},
		{Pid: 1, Status: "KNOWN", CgroupStatus: "UNKNOWN_RETRY_LATER", Ppid: 0, UID: 0, Starttime: math.MaxUint64,
			Comm: "123456789012345", CgroupPath: "/init.scope", Labels: [][2]string{}},
		{Pid: math.MaxUint32, Status: "KNOWN", CgroupStatus: "UNKNOWN_PERMANENT", Ppid: 7, UID: unset, Starttime: 5,
			Comm: "ü", CgroupPath: "/gone.scope", Labels: [][2]string{}},
		{Pid: 4321, Status: "UNKNOWN", CgroupStatus: "KNOWN", UID: unset, Labels: [][2]string{}},
	}}
}

// bigCgroupsData holds n KNOWN cgroups with names and labels: a lookup of
// all of them is far larger than smallBudget.
func bigCgroupsData(n int) *cgroupsDS {
	ds := &cgroupsDS{Generation: 7}
	for i := range n {
		ds.Items = append(ds.Items, cgItem{
			Path:   fmt.Sprintf("/kubepods.slice/kubepods-pod%06d.slice/cri-containerd-%06x.scope", i, i*31),
			Status: "KNOWN", Orchestrator: orch(codec.OrchestratorK8s), Name: fmt.Sprintf("pod-%d", i),
			Labels: [][2]string{{"namespace", "ns-" + strconv.Itoa(i%17)}, {"pod", "p" + strconv.Itoa(i)}},
		})
	}
	return ds
}

func bigAppsData(n int) *appsDS {
	ds := &appsDS{Generation: 8}
	for i := range n {
		ds.Items = append(ds.Items, appItem{
			Pid: uint32(10000 + i), Status: "KNOWN", CgroupStatus: "KNOWN", Orchestrator: orch(codec.OrchestratorPodman),
			Ppid: uint32(i), UID: uid(i % 3), Starttime: uint64(i) * 1000, Comm: fmt.Sprintf("worker-%d", i%1000),
			CgroupPath: fmt.Sprintf("/machine.slice/libpod-%08x.scope", i), CgroupName: "c" + strconv.Itoa(i),
			Labels: [][2]string{{"image", "busybox:" + strconv.Itoa(i)}},
		})
	}
	return ds
}

func cgroupPaths(ds *cgroupsDS, extra ...string) []string {
	out := make([]string, 0, len(ds.Items)+len(extra))
	for _, it := range ds.Items {
		out = append(out, it.Path)
	}
	return append(out, extra...)
}

func appPids(ds *appsDS, extra ...uint32) []uint32 {
	out := make([]uint32, 0, len(ds.Items)+len(extra))
	for _, it := range ds.Items {
		out = append(out, it.Pid)
	}
	return append(out, extra...)
}

func reversed(b []byte) []byte {
	out := slices.Clone(b)
	slices.Reverse(out)
	return out
}

// ---------------------------------------------------------------------------
// Go client side helpers.

func clientConfig(profile string, tok uint64) service.ClientConfig {
	cfg := service.ClientConfig{AuthToken: tok, CallTimeout: callTimeout, ConnectTimeout: 30 * time.Second}
	if profile == "uds" {
		cfg.SupportedProfiles = netipc.ProfileBaseline
		cfg.PreferredProfiles = netipc.ProfileBaseline
	}
	return cfg
}

// refresher is what every typed client has.
type refresher interface {
	Refresh() bool
	State() service.ClientState
	Status() service.ClientStatus
}

// mustConnect connects a client and checks that the session runs over the
// profile asked for.
func mustConnect(t testing.TB, c refresher, profile string) {
	t.Helper()
	c.Refresh()
	if st := c.State(); st != service.StateReady {
		t.Fatalf("client state after Refresh: %v, want READY", st)
	}
	checkProfile(t, c.Status(), profile)
}

func checkProfile(t testing.TB, st service.ClientStatus, profile string) {
	t.Helper()
	if profile == "shm" {
		if !st.ShmAttached || st.SelectedProfile != netipc.ProfileShmHybrid {
			t.Fatalf("session not over SHM: ShmAttached=%v SelectedProfile=%#x", st.ShmAttached, st.SelectedProfile)
		}
	} else if st.ShmAttached || st.SelectedProfile != netipc.ProfileBaseline {
		t.Fatalf("session not over UDS: ShmAttached=%v SelectedProfile=%#x", st.ShmAttached, st.SelectedProfile)
	}
}

// ---------------------------------------------------------------------------
// Go client -> Rust server.

func TestGoClientRustServer(t *testing.T) {
	netipcBin(t)
	for _, profile := range profiles {
		t.Run(profile, func(t *testing.T) {
			t.Run("increment", func(t *testing.T) { goClientIncrement(t, profile) })
			t.Run("string-reverse", func(t *testing.T) { goClientStringReverse(t, profile) })
			t.Run("snapshot", func(t *testing.T) { goClientSnapshot(t, profile) })
			t.Run("cgroups-lookup", func(t *testing.T) {
				ds := cgroupsData()
				goClientCgroupsLookup(t, profile, ds, cgroupPaths(ds, "/not/in/file", "relative"), 0)
			})
			t.Run("apps-lookup", func(t *testing.T) {
				ds := appsData()
				goClientAppsLookup(t, profile, ds, appPids(ds, 99999, 0), 0)
			})
			t.Run("cgroups-lookup-split", func(t *testing.T) {
				ds := bigCgroupsData(5000)
				paths := cgroupPaths(ds, "/unknown/a", "/unknown/b")
				slices.Reverse(paths) // not in file order
				goClientCgroupsLookup(t, profile, ds, paths, smallBudget)
			})
			t.Run("apps-lookup-split", func(t *testing.T) {
				ds := bigAppsData(5000)
				pids := appPids(ds, 7, 8)
				slices.Reverse(pids)
				goClientAppsLookup(t, profile, ds, pids, smallBudget)
			})
		})
	}
}

func goClientIncrement(t *testing.T, profile string) {
	c := conn{dir: runDir(t), service: "inc", token: token, profile: profile}
	srv := startRustServer(t, "increment", c)
	cl, err := service.NewIncrementClient(c.dir, c.service, clientConfig(profile, token))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mustConnect(t, cl, profile)
	for _, v := range []uint64{41, 0, math.MaxUint64 - 1, math.MaxUint64} {
		got, err := cl.Call(v)
		if err != nil {
			t.Fatalf("Call(%d): %v", v, err)
		}
		if want := v + 1; got != want { // wrapping, like the Rust server
			t.Fatalf("Call(%d) = %d, want %d", v, got, want)
		}
	}
	for _, n := range []int{1, 4, 1000, 2500} { // 2500: split over the batch limit
		vals := make([]uint64, n)
		for i := range vals {
			vals[i] = uint64(i) * 1_000_003
		}
		got, err := cl.CallBatch(vals)
		if err != nil {
			t.Fatalf("CallBatch(%d values): %v", n, err)
		}
		if len(got) != n {
			t.Fatalf("CallBatch(%d values): %d answers", n, len(got))
		}
		for i, v := range vals {
			if got[i] != v+1 {
				t.Fatalf("CallBatch(%d values)[%d] = %d, want %d", n, i, got[i], v+1)
			}
		}
	}
	checkProfile(t, cl.Status(), profile)
	cl.Close()
	srv.stop()
}

func goClientStringReverse(t *testing.T, profile string) {
	c := conn{dir: runDir(t), service: "rev", token: token, profile: profile}
	srv := startRustServer(t, "string-reverse", c)
	cl, err := service.NewStringReverseClient(c.dir, c.service, clientConfig(profile, token))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mustConnect(t, cl, profile)
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: grows the request budget
	inputs := [][]byte{
		[]byte("hello, netipc"),
		{},
		[]byte("ünïcødé 😀"), // reversed bytes: not UTF-8, carried as is
		{0xff, 0xfe, 0x01, 0x7f},
		big,
	}
	for _, in := range inputs {
		got, err := cl.Call(in)
		if err != nil {
			t.Fatalf("Call(%d bytes): %v", len(in), err)
		}
		if want := reversed(in); !bytes.Equal(got.ToOwned(), want) {
			t.Fatalf("Call(%q) = %q, want %q", truncate(in), truncate(got.ToOwned()), truncate(want))
		}
	}
	batch := [][]byte{[]byte("a"), []byte("bc"), {}, []byte("def"), []byte("ünï")}
	view, err := cl.CallBatch(batch)
	if err != nil {
		t.Fatalf("CallBatch: %v", err)
	}
	if view.Len() != len(batch) {
		t.Fatalf("CallBatch: %d answers, want %d", view.Len(), len(batch))
	}
	for i, in := range batch {
		if got := view.Item(i).ToOwned(); !bytes.Equal(got, reversed(in)) {
			t.Fatalf("CallBatch[%d] = %q, want %q", i, got, reversed(in))
		}
	}
	checkProfile(t, cl.Status(), profile)
	cl.Close()
	srv.stop()
}

func goClientSnapshot(t *testing.T, profile string) {
	c := conn{dir: runDir(t), service: "snap", token: token, profile: profile}
	ds := snapshotData()
	file := writeJSON(t, t.TempDir(), "snapshot.json", ds)
	srv := startRustServer(t, "cgroups-snapshot", c, "--data", file)
	cl, err := service.NewCgroupsSnapshotClient(c.dir, c.service, clientConfig(profile, token))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mustConnect(t, cl, profile)
	for round := range 2 { // the second call runs on the grown budget
		view, err := cl.CallSnapshot()
		if err != nil {
			t.Fatalf("CallSnapshot (round %d): %v", round, err)
		}
		got := snapshotDS{Generation: view.Generation(), SystemdEnabled: view.SystemdEnabled(), Items: []snapItem{}}
		for _, it := range view.Items() {
			got.Items = append(got.Items, snapItem{Hash: it.Hash, Options: it.Options, Enabled: it.Enabled,
				Name: string(it.Name), Path: string(it.Path)})
		}
		if got.Generation != ds.Generation || got.SystemdEnabled != ds.SystemdEnabled {
			t.Fatalf("snapshot header: generation %d systemd_enabled %d, want %d %d",
				got.Generation, got.SystemdEnabled, ds.Generation, ds.SystemdEnabled)
		}
		sameItems(t, "snapshot", got.Items, ds.Items)
	}
	checkProfile(t, cl.Status(), profile)
	cl.Close()
	srv.stop()
}

// budgetArgs are the server options of a small-budget test (budget 0: the
// defaults).
func budgetArgs(budget uint32) []string {
	if budget == 0 {
		return nil
	}
	b := strconv.FormatUint(uint64(budget), 10)
	return []string{"--max-request-payload", b, "--max-response-payload", b}
}

func goClientCgroupsLookup(t *testing.T, profile string, ds *cgroupsDS, paths []string, budget uint32) {
	c := conn{dir: runDir(t), service: "cgl", token: token, profile: profile}
	file := writeJSON(t, t.TempDir(), "cgroups.json", ds)
	srv := startRustServer(t, "cgroups-lookup", c, append([]string{"--data", file}, budgetArgs(budget)...)...)
	cfg := clientConfig(profile, token)
	cfg.RequestPayloadBytes, cfg.ResponsePayloadBytes = budget, budget
	cl, err := service.NewCgroupsLookupClient(c.dir, c.service, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mustConnect(t, cl, profile)
	keys := make([][]byte, len(paths))
	for i, p := range paths {
		keys[i] = []byte(p)
	}
	view, err := cl.Lookup(keys)
	if err != nil {
		t.Fatalf("Lookup(%d paths): %v", len(paths), err)
	}
	if view.Generation() != ds.Generation {
		t.Fatalf("generation %d, want %d", view.Generation(), ds.Generation)
	}
	got := make([]cgItem, view.Len())
	for i := range got {
		got[i] = cgItemOf(view.Item(i))
	}
	sameItems(t, "cgroups lookup", got, expectCgroups(ds, paths))
	st := cl.Status()
	checkProfile(t, st, profile)
	if budget != 0 && (st.RequestPayloadBytes > budget || st.ResponsePayloadBytes > budget) {
		t.Fatalf("agreed budgets %d/%d, want at most %d (the lookup must have been split)",
			st.RequestPayloadBytes, st.ResponsePayloadBytes, budget)
	}
	cl.Close()
	srv.stop()
	if n := srv.requests(); budget != 0 && n < 10 {
		t.Fatalf("the Rust server answered %d requests: the lookup was not split", n)
	}
}

func goClientAppsLookup(t *testing.T, profile string, ds *appsDS, pids []uint32, budget uint32) {
	c := conn{dir: runDir(t), service: "apl", token: token, profile: profile}
	file := writeJSON(t, t.TempDir(), "apps.json", ds)
	srv := startRustServer(t, "apps-lookup", c, append([]string{"--data", file}, budgetArgs(budget)...)...)
	cfg := clientConfig(profile, token)
	cfg.RequestPayloadBytes, cfg.ResponsePayloadBytes = budget, budget
	cl, err := service.NewAppsLookupClient(c.dir, c.service, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	mustConnect(t, cl, profile)
	view, err := cl.Lookup(pids)
	if err != nil {
		t.Fatalf("Lookup(%d pids): %v", len(pids), err)
	}
	if view.Generation() != ds.Generation {
		t.Fatalf("generation %d, want %d", view.Generation(), ds.Generation)
	}
	got := make([]appItem, view.Len())
	for i := range got {
		got[i] = appItemOf(view.Item(i))
	}
	sameItems(t, "apps lookup", got, expectApps(ds, pids))
	st := cl.Status()
	checkProfile(t, st, profile)
	if budget != 0 && (st.RequestPayloadBytes > budget || st.ResponsePayloadBytes > budget) {
		t.Fatalf("agreed budgets %d/%d, want at most %d (the lookup must have been split)",
			st.RequestPayloadBytes, st.ResponsePayloadBytes, budget)
	}
	cl.Close()
	srv.stop()
	if n := srv.requests(); budget != 0 && n < 10 {
		t.Fatalf("the Rust server answered %d requests: the lookup was not split", n)
	}
}

// ---------------------------------------------------------------------------
// Rust client -> Go server.

// goServer is a Go managed server whose handlers record whether an SHM
// region file existed in the run directory while they ran.
type goServer struct {
	srv     *service.Server
	dir     string
	sawShm  atomic.Int64
	sawNone atomic.Int64
}

func (g *goServer) observe() {
	if m, _ := filepath.Glob(filepath.Join(g.dir, "*.ipcshm")); len(m) > 0 {
		g.sawShm.Add(1)
	} else {
		g.sawNone.Add(1)
	}
}

func serverConfig(c conn, budget uint32) service.ServerConfig {
	cfg := service.ServerConfig{RunDir: c.dir, Service: c.service, AuthToken: c.token,
		MaxRequestPayloadBytes: budget, MaxResponsePayloadBytes: budget}
	if c.profile == "uds" {
		cfg.SupportedProfiles = netipc.ProfileBaseline
		cfg.PreferredProfiles = netipc.ProfileBaseline
	}
	return cfg
}

// start starts the Go server of kind serving the given data (nil for the
// test methods).
func startGoServer(t *testing.T, kind service.ServiceKind, cfg service.ServerConfig, data any) *goServer {
	t.Helper()
	g := &goServer{dir: cfg.RunDir}
	var err error
	switch kind {
	case service.KindIncrement:
		g.srv, err = service.NewIncrementServer(cfg, func(v uint64) (uint64, error) {
			g.observe()
			return v + 1, nil
		})
	case service.KindStringReverse:
		g.srv, err = service.NewStringReverseServer(cfg, func(text []byte) ([]byte, error) {
			g.observe()
			return reversed(text), nil
		})
	case service.KindCgroupsSnapshot:
		ds := data.(*snapshotDS)
		g.srv, err = service.NewCgroupsSnapshotServer(cfg, func(b *codec.CgroupsSnapshotBuilder) error {
			g.observe()
			b.SetGeneration(ds.Generation)
			b.SetSystemdEnabled(ds.SystemdEnabled)
			for _, it := range ds.Items {
				if err := b.AddItem(it.Hash, it.Options, it.Enabled, []byte(it.Name), []byte(it.Path)); err != nil {
					return err
				}
			}
			return nil
		})
	case service.KindCgroupsLookup:
		ds := data.(*cgroupsDS)
		idx := map[string]cgItem{}
		for _, it := range ds.Items {
			idx[it.Path] = it
		}
		g.srv, err = service.NewCgroupsLookupServer(cfg, func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
			g.observe()
			b.SetGeneration(ds.Generation)
			for i := 0; i < req.Len(); i++ {
				it, ok := idx[string(req.Key(i))]
				var err error
				switch {
				case !ok:
					_, err = b.AddRequestUnknown(req, i, codec.LookupUnknownPermanent)
				case it.Status != "KNOWN":
					st, _ := codec.ParseLookupStatus(it.Status)
					_, err = b.AddRequestUnknown(req, i, st)
				default:
					_, err = b.AddRequestItem(req, i, codec.LookupKnown, codec.Orchestrator(it.Orchestrator),
						[]byte(it.Name), toLabels(it.Labels))
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	case service.KindAppsLookup:
		ds := data.(*appsDS)
		idx := map[uint32]appItem{}
		for _, it := range ds.Items {
			idx[it.Pid] = it
		}
		g.srv, err = service.NewAppsLookupServer(cfg, func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error {
			g.observe()
			b.SetGeneration(ds.Generation)
			for i := 0; i < req.Len(); i++ {
				it, ok := idx[req.Pid(i)]
				var err error
				if !ok || it.Status != "KNOWN" {
					_, err = b.AddRequestUnknown(req, i)
				} else {
					cs, _ := codec.ParseCgroupStatus(it.CgroupStatus)
					e := codec.AppsLookupEntry{Status: codec.PidKnown, CgroupStatus: cs,
						Orchestrator: codec.Orchestrator(it.Orchestrator), Ppid: it.Ppid, UID: uint32(it.UID),
						Starttime: it.Starttime, Comm: []byte(it.Comm), CgroupPath: []byte(it.CgroupPath),
						CgroupName: []byte(it.CgroupName)}
					_, err = b.AddRequestItem(req, i, &e, toLabels(it.Labels))
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	default:
		t.Fatalf("unknown kind %v", kind)
	}
	if err != nil {
		t.Fatalf("starting the Go %v server: %v", kind, err)
	}
	t.Cleanup(func() { g.srv.Stop() })
	return g
}

// stop stops the server and checks that the socket and the SHM files are
// gone, and that the handlers ran over the expected profile.
func (g *goServer) stop(t *testing.T, profile string) {
	t.Helper()
	sock := g.srv.Endpoint().SocketPath()
	g.srv.Stop()
	if fileExists(sock) {
		t.Errorf("socket %s still exists after Stop", sock)
	}
	if m, _ := filepath.Glob(filepath.Join(g.dir, "*.ipcshm")); len(m) != 0 {
		t.Errorf("SHM files left after Stop: %v", m)
	}
	shmCalls, udsCalls := g.sawShm.Load(), g.sawNone.Load()
	if shmCalls+udsCalls == 0 {
		t.Fatalf("no handler ran")
	}
	if profile == "shm" && udsCalls != 0 {
		t.Fatalf("%d handler calls ran without an SHM region (want SHM for all %d)", udsCalls, shmCalls+udsCalls)
	}
	if profile == "uds" && shmCalls != 0 {
		t.Fatalf("%d handler calls ran with an SHM region over the UDS profile", shmCalls)
	}
}

func TestRustClientGoServer(t *testing.T) {
	netipcBin(t)
	for _, profile := range profiles {
		t.Run(profile, func(t *testing.T) {
			t.Run("increment", func(t *testing.T) {
				c := conn{dir: runDir(t), service: "inc", token: token, profile: profile}
				g := startGoServer(t, service.KindIncrement, serverConfig(c, 0), nil)
				for _, v := range []uint64{41, 0, math.MaxUint64} {
					out := runCLIOK(t, append([]string{"call", "increment", strconv.FormatUint(v, 10), "--json"}, c.args()...)...)
					var got struct {
						Value uint64 `json:"value"`
					}
					decodeStrict(t, out, &got)
					if got.Value != v+1 {
						t.Fatalf("call increment %d: %d, want %d", v, got.Value, v+1)
					}
				}
				// 0x-hex input and the plain output.
				out := runCLIOK(t, append([]string{"call", "increment", "0x29"}, c.args()...)...)
				if string(out) != "41 -> 42\n" {
					t.Fatalf("call increment 0x29: %q", out)
				}
				g.stop(t, profile)
			})
			t.Run("string-reverse", func(t *testing.T) {
				c := conn{dir: runDir(t), service: "rev", token: token, profile: profile}
				g := startGoServer(t, service.KindStringReverse, serverConfig(c, 0), nil)
				for _, in := range []string{"hello, netipc", "-leading hyphen", "a", string(bytes.Repeat([]byte("xyz"), 30000))} {
					out := runCLIOK(t, append([]string{"call", "string-reverse", in, "--json"}, c.args()...)...)
					var got struct {
						Text string `json:"text"`
					}
					decodeStrict(t, out, &got)
					if want := string(reversed([]byte(in))); got.Text != want {
						t.Fatalf("call string-reverse %q: %q, want %q", truncate([]byte(in)), truncate([]byte(got.Text)), truncate([]byte(want)))
					}
				}
				g.stop(t, profile)
			})
			t.Run("snapshot", func(t *testing.T) {
				c := conn{dir: runDir(t), service: "snap", token: token, profile: profile}
				ds := snapshotData()
				g := startGoServer(t, service.KindCgroupsSnapshot, serverConfig(c, 0), ds)
				out := runCLIOK(t, append([]string{"snapshot", "--json"}, c.args()...)...)
				var got snapshotDS
				decodeStrict(t, out, &got)
				if got.Generation != ds.Generation || got.SystemdEnabled != ds.SystemdEnabled {
					t.Fatalf("snapshot header: generation %d systemd_enabled %d, want %d %d",
						got.Generation, got.SystemdEnabled, ds.Generation, ds.SystemdEnabled)
				}
				sameItems(t, "snapshot", got.Items, ds.Items)
				g.stop(t, profile)
			})
			t.Run("cgroups-lookup", func(t *testing.T) {
				ds := cgroupsData()
				rustClientCgroupsLookup(t, profile, ds, cgroupPaths(ds, "/not/in/file"), 0)
			})
			t.Run("apps-lookup", func(t *testing.T) {
				ds := appsData()
				rustClientAppsLookup(t, profile, ds, appPids(ds, 99999, 0), 0)
			})
			t.Run("cgroups-lookup-split", func(t *testing.T) {
				ds := bigCgroupsData(1000)
				paths := cgroupPaths(ds, "/unknown/x")
				slices.Reverse(paths)
				rustClientCgroupsLookup(t, profile, ds, paths, smallBudget)
			})
			t.Run("apps-lookup-split", func(t *testing.T) {
				ds := bigAppsData(2000)
				pids := appPids(ds, 5)
				slices.Reverse(pids)
				rustClientAppsLookup(t, profile, ds, pids, smallBudget)
			})
		})
	}
}

func rustClientCgroupsLookup(t *testing.T, profile string, ds *cgroupsDS, paths []string, budget uint32) {
	c := conn{dir: runDir(t), service: "cgl", token: token, profile: profile}
	g := startGoServer(t, service.KindCgroupsLookup, serverConfig(c, budget), ds)
	args := append([]string{"lookup", "cgroups"}, paths...)
	args = append(append(args, "--json"), c.args()...)
	args = append(args, budgetArgs(budget)...)
	out := runCLIOK(t, args...)
	var got cgroupsDS
	decodeStrict(t, out, &got)
	if got.Generation != ds.Generation {
		t.Fatalf("generation %d, want %d", got.Generation, ds.Generation)
	}
	sameItems(t, "cgroups lookup", got.Items, expectCgroups(ds, paths))
	if budget != 0 && g.srv.Stats().Requests < 10 {
		t.Fatalf("%d requests: the lookup was not split", g.srv.Stats().Requests)
	}
	g.stop(t, profile)
}

func rustClientAppsLookup(t *testing.T, profile string, ds *appsDS, pids []uint32, budget uint32) {
	c := conn{dir: runDir(t), service: "apl", token: token, profile: profile}
	g := startGoServer(t, service.KindAppsLookup, serverConfig(c, budget), ds)
	args := []string{"lookup", "apps"}
	for _, p := range pids {
		args = append(args, strconv.FormatUint(uint64(p), 10))
	}
	args = append(append(args, "--json"), c.args()...)
	args = append(args, budgetArgs(budget)...)
	out := runCLIOK(t, args...)
	var got appsDS
	decodeStrict(t, out, &got)
	if got.Generation != ds.Generation {
		t.Fatalf("generation %d, want %d", got.Generation, ds.Generation)
	}
	sameItems(t, "apps lookup", got.Items, expectApps(ds, pids))
	if budget != 0 && g.srv.Stats().Requests < 10 {
		t.Fatalf("%d requests: the lookup was not split", g.srv.Stats().Requests)
	}
	g.stop(t, profile)
}

// ---------------------------------------------------------------------------
// Failures across languages.

// The Rust CLI exit codes (crates/netipc-cli/src/cmd/exit.rs).
const (
	exitAuthFailed   = 4
	exitIncompatible = 5
)

func TestAuthFailure(t *testing.T) {
	netipcBin(t)
	for _, profile := range profiles {
		t.Run(profile, func(t *testing.T) {
			t.Run("go-client", func(t *testing.T) {
				c := conn{dir: runDir(t), service: "inc", token: token, profile: profile}
				srv := startRustServer(t, "increment", c)
				bad, err := service.NewIncrementClient(c.dir, c.service, clientConfig(profile, token+1))
				if err != nil {
					t.Fatal(err)
				}
				defer bad.Close()
				bad.Refresh()
				if st := bad.State(); st != service.StateAuthFailed {
					t.Fatalf("state with a wrong token: %v, want AUTH_FAILED", st)
				}
				if _, err := bad.Call(1); !errors.Is(err, netipc.ErrAuthFailed) {
					t.Fatalf("Call with a wrong token: %v, want ErrAuthFailed", err)
				}
				// The server is unharmed: the right token works.
				good, err := service.NewIncrementClient(c.dir, c.service, clientConfig(profile, token))
				if err != nil {
					t.Fatal(err)
				}
				defer good.Close()
				mustConnect(t, good, profile)
				if v, err := good.Call(1); err != nil || v != 2 {
					t.Fatalf("Call(1) with the right token: %d, %v", v, err)
				}
				good.Close()
				srv.stop()
			})
			t.Run("rust-client", func(t *testing.T) {
				c := conn{dir: runDir(t), service: "inc", token: token, profile: profile}
				g := startGoServer(t, service.KindIncrement, serverConfig(c, 0), nil)
				badConn := c
				badConn.token = token + 1
				r := runCLI(t, append([]string{"call", "increment", "1", "--json"}, badConn.args()...)...)
				if r.code != exitAuthFailed {
					t.Fatalf("call with a wrong token: exit %d (stderr %q), want %d", r.code, r.stderr, exitAuthFailed)
				}
				if len(r.stdout) != 0 {
					t.Fatalf("call with a wrong token printed %q", r.stdout)
				}
				out := runCLIOK(t, append([]string{"call", "increment", "1", "--json"}, c.args()...)...)
				if !bytes.Contains(out, []byte(`"value":2`)) {
					t.Fatalf("call with the right token: %q", out)
				}
				g.stop(t, profile)
				// Read after Stop, which waits for every handshake
				// goroutine: the client may exit before the server's
				// goroutine counted the rejection.
				if n := g.srv.Stats().AuthFailures; n != 1 {
					t.Fatalf("Go server counted %d auth failures, want 1", n)
				}
			})
		})
	}
}

func TestProfileMismatch(t *testing.T) {
	netipcBin(t)
	t.Run("go-client-shm-only", func(t *testing.T) {
		// The Rust server offers the UDS baseline only; the Go client
		// supports SHM only.
		c := conn{dir: runDir(t), service: "inc", token: token, profile: "uds"}
		srv := startRustServer(t, "increment", c)
		cfg := clientConfig("shm", token)
		cfg.SupportedProfiles = netipc.ProfileShmHybrid
		cfg.PreferredProfiles = netipc.ProfileShmHybrid
		cl, err := service.NewIncrementClient(c.dir, c.service, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		cl.Refresh()
		if st := cl.State(); st != service.StateIncompatible {
			t.Fatalf("state: %v, want INCOMPATIBLE", st)
		}
		if _, err := cl.Call(1); !errors.Is(err, netipc.ErrIncompatible) {
			t.Fatalf("Call: %v, want ErrIncompatible", err)
		}
		cl.Close()
		srv.stop()
	})
	t.Run("rust-client-uds-only", func(t *testing.T) {
		// The Go server supports SHM only; the Rust client offers the UDS
		// baseline only.
		c := conn{dir: runDir(t), service: "inc", token: token, profile: "shm"}
		cfg := serverConfig(c, 0)
		cfg.SupportedProfiles = netipc.ProfileShmHybrid
		cfg.PreferredProfiles = netipc.ProfileShmHybrid
		g := startGoServer(t, service.KindIncrement, cfg, nil)
		udsConn := c
		udsConn.profile = "uds"
		r := runCLI(t, append([]string{"call", "increment", "1", "--json"}, udsConn.args()...)...)
		if r.code != exitIncompatible {
			t.Fatalf("call over UDS to an SHM-only server: exit %d (stderr %q), want %d", r.code, r.stderr, exitIncompatible)
		}
		// An SHM client gets through.
		out := runCLIOK(t, append([]string{"call", "increment", "1", "--json"}, c.args()...)...)
		var got map[string]json.Number
		decodeStrict(t, out, &got)
		if got["value"] != "2" {
			t.Fatalf("call over SHM: %q", out)
		}
		g.stop(t, "shm")
	})
}
