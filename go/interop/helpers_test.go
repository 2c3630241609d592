package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"netipc.local/netipc/codec"
)

// Generous deadlines: the Rust binary is a debug build and the machine
// may be loaded (the race detector, other packages in parallel).
const (
	readyTimeout = 60 * time.Second
	exitTimeout  = 60 * time.Second
	callTimeout  = 60 * time.Second
	buildTimeout = 15 * time.Minute
)

// ---------------------------------------------------------------------------
// Locating (or building) the Rust binary.

var (
	binOnce sync.Once
	binPath string
	binSkip string // non-empty: skip with this message
	binErr  error
)

// repoRoot walks up from the working directory to the directory holding
// both Cargo.toml and go/go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "Cargo.toml")) && fileExists(filepath.Join(dir, "go", "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (Cargo.toml next to go/go.mod) not found above the working directory")
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func locateBinary() {
	if p := os.Getenv("NETIPC_BIN"); p != "" {
		if !isExecutable(p) {
			binErr = fmt.Errorf("NETIPC_BIN=%s is not an executable file", p)
			return
		}
		binPath = p
		return
	}
	root, err := repoRoot()
	if err != nil {
		binErr = err
		return
	}
	targetDir := filepath.Join(root, "target")
	if d := os.Getenv("CARGO_TARGET_DIR"); d != "" {
		if !filepath.IsAbs(d) {
			d = filepath.Join(root, d)
		}
		targetDir = d
	}
	p := filepath.Join(targetDir, "debug", "netipc")
	if isExecutable(p) {
		binPath = p
		return
	}
	cargo, err := exec.LookPath("cargo")
	if err != nil {
		binSkip = fmt.Sprintf("the Rust netipc binary is not at %s, NETIPC_BIN is not set and cargo is not installed: "+
			"run `cargo build -p netipc-cli` or set NETIPC_BIN", p)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cargo, "build", "--locked", "-p", "netipc-cli")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		binErr = fmt.Errorf("cargo build -p netipc-cli (in %s): %v\n%s", root, err, out)
		return
	}
	if !isExecutable(p) {
		binErr = fmt.Errorf("cargo build -p netipc-cli succeeded but %s does not exist", p)
		return
	}
	binPath = p
}

// netipcBin returns the path of the Rust binary (skipping or failing the
// test when there is none).
func netipcBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(locateBinary)
	if binSkip != "" {
		t.Skip(binSkip)
	}
	if binErr != nil {
		t.Fatalf("Rust netipc binary: %v", binErr)
	}
	return binPath
}

// runDir returns a fresh private directory short enough for socket paths
// (sun_path holds 108 bytes).
func runDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	if len(d)+len("/cgroups-snapshot-0123456789abcdef.ipcshm") < 100 {
		return d
	}
	base := ""
	if len(os.TempDir()) > 40 {
		base = "/tmp"
	}
	d, err := os.MkdirTemp(base, "nipc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// ---------------------------------------------------------------------------
// Subprocesses.

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rustServer is a running `netipc serve`.
type rustServer struct {
	t      testing.TB
	cmd    *exec.Cmd
	dir    string
	socket string
	stderr *syncBuffer
	done   chan struct{} // closed when Wait returned
	err    error         // Wait's result, valid after done
}

// conn holds the connection options shared by both directions.
type conn struct {
	dir     string
	service string
	token   uint64
	profile string // "uds" or "shm"
}

func (c conn) args() []string {
	return []string{"--run-dir", c.dir, "--service", c.service,
		"--auth-token", strconv.FormatUint(c.token, 10), "--profile", c.profile}
}

// startRustServer starts `netipc serve KIND` with c's options and extra
// arguments, and returns once it printed its READY line.
func startRustServer(t testing.TB, kind string, c conn, extra ...string) *rustServer {
	t.Helper()
	bin := netipcBin(t)
	args := append([]string{"serve", kind}, c.args()...)
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &rustServer{t: t, cmd: cmd, dir: c.dir, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s %s: %v", bin, strings.Join(args, " "), err)
	}
	lines := make(chan string, 1)
	go func() {
		// The first line is READY; keep draining so the server never
		// blocks on a full pipe.
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		if !ok {
			<-s.done
			t.Fatalf("netipc serve %s exited before READY (%v); stderr:\n%s", kind, s.err, s.stderr.String())
		}
		want := "READY " + filepath.Join(c.dir, c.service+".sock")
		if line != want {
			t.Fatalf("netipc serve %s: first line %q, want %q", kind, line, want)
		}
		s.socket = strings.TrimPrefix(line, "READY ")
	case <-timer.C:
		t.Fatalf("netipc serve %s: no READY line within %v; stderr:\n%s", kind, readyTimeout, s.stderr.String())
	}
	if !fileExists(s.socket) {
		t.Fatalf("READY printed but %s does not exist", s.socket)
	}
	return s
}

// stop sends SIGTERM, waits for a clean exit and checks that the socket
// and every SHM region file are gone.
func (s *rustServer) stop() {
	t := s.t
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	timer := time.NewTimer(exitTimeout)
	defer timer.Stop()
	select {
	case <-s.done:
	case <-timer.C:
		t.Fatalf("netipc serve did not exit within %v after SIGTERM; stderr:\n%s", exitTimeout, s.stderr.String())
	}
	if s.err != nil {
		t.Fatalf("netipc serve exited with %v; stderr:\n%s", s.err, s.stderr.String())
	}
	if fileExists(s.socket) {
		t.Errorf("socket %s still exists after the server stopped", s.socket)
	}
	if shm, _ := filepath.Glob(filepath.Join(s.dir, "*.ipcshm")); len(shm) != 0 {
		t.Errorf("SHM region files left after the server stopped: %v", shm)
	}
}

var stoppedLine = regexp.MustCompile(`netipc serve: stopped \((\d+) sessions, (\d+) requests`)

// requests returns the request count the stopped server logged.
func (s *rustServer) requests() int {
	s.t.Helper()
	m := stoppedLine.FindStringSubmatch(s.stderr.String())
	if m == nil {
		s.t.Fatalf("no `stopped` line in the server log:\n%s", s.stderr.String())
	}
	n, _ := strconv.Atoi(m[2])
	return n
}

// cliResult is the outcome of one client subcommand.
type cliResult struct {
	code   int
	stdout []byte
	stderr string
}

// runCLI runs `netipc ARGS...` to completion (under a deadline).
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	bin := netipcBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := cliResult{stdout: stdout.Bytes(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("netipc %s: %v (stderr: %s)", strings.Join(args, " "), err, r.stderr)
	}
	return r
}

// runCLIOK runs a client subcommand that must succeed.
func runCLIOK(t *testing.T, args ...string) []byte {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("netipc %s: exit %d, stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// decodeStrict decodes one JSON document, rejecting unknown fields.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decoding %T from %q: %v", v, truncate(data), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// writeJSON writes v to dir/name and returns the path.
func writeJSON(t testing.TB, dir, name string, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ---------------------------------------------------------------------------
// The dataset shapes of docs/dataset.md, shared by both directions: the
// tests serve them (Rust: `--data FILE.json`; Go: handlers) and compare
// every answer with them.

// orch is an orchestrator: its name in JSON when known, else its number.
type orch uint16

func (o orch) MarshalJSON() ([]byte, error) {
	if codec.Orchestrator(o).Known() {
		return json.Marshal(codec.Orchestrator(o).String())
	}
	return json.Marshal(uint16(o))
}

func (o *orch) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, ok := codec.ParseOrchestrator(s)
		if !ok {
			return fmt.Errorf("unknown orchestrator %q", s)
		}
		*o = orch(v)
		return nil
	}
	var n uint16
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*o = orch(n)
	return nil
}

// uid is a uid: "NIPC_UID_UNSET" in JSON when unset.
type uid uint32

const uidUnsetName = "NIPC_UID_UNSET"

func (u uid) MarshalJSON() ([]byte, error) {
	if uint32(u) == codec.UIDUnset {
		return json.Marshal(uidUnsetName)
	}
	return json.Marshal(uint32(u))
}

func (u *uid) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != uidUnsetName {
			return fmt.Errorf("bad uid %q", s)
		}
		*u = uid(codec.UIDUnset)
		return nil
	}
	var n uint32
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*u = uid(n)
	return nil
}

type snapItem struct {
	Hash    uint32 `json:"hash"`
	Options uint32 `json:"options"`
	Enabled uint32 `json:"enabled"`
	Name    string `json:"name"`
	Path    string `json:"path"`
}

type snapshotDS struct {
	Generation     uint64     `json:"generation"`
	SystemdEnabled uint32     `json:"systemd_enabled"`
	Items          []snapItem `json:"items"`
}

type cgItem struct {
	Path         string      `json:"path"`
	Status       string      `json:"status"`
	Orchestrator orch        `json:"orchestrator"`
	Name         string      `json:"name"`
	Labels       [][2]string `json:"labels"`
}

type cgroupsDS struct {
	Generation uint64   `json:"generation"`
	Items      []cgItem `json:"items"`
}

type appItem struct {
	Pid          uint32      `json:"pid"`
	Status       string      `json:"status"`
	CgroupStatus string      `json:"cgroup_status"`
	Orchestrator orch        `json:"orchestrator"`
	Ppid         uint32      `json:"ppid"`
	UID          uid         `json:"uid"`
	Starttime    uint64      `json:"starttime"`
	Comm         string      `json:"comm"`
	CgroupPath   string      `json:"cgroup_path"`
	CgroupName   string      `json:"cgroup_name"`
	Labels       [][2]string `json:"labels"`
}

type appsDS struct {
	Generation uint64    `json:"generation"`
	Items      []appItem `json:"items"`
}

func labelsOf(n int, get func(i int) codec.LabelView) [][2]string {
	out := make([][2]string, 0, n)
	for i := 0; i < n; i++ {
		l := get(i)
		out = append(out, [2]string{string(l.Key), string(l.Value)})
	}
	return out
}

func toLabels(ls [][2]string) []codec.Label {
	out := make([]codec.Label, 0, len(ls))
	for _, l := range ls {
		out = append(out, codec.Label{Key: []byte(l[0]), Value: []byte(l[1])})
	}
	return out
}

func cgItemOf(v codec.CgroupsLookupItemView) cgItem {
	return cgItem{
		Path: string(v.Path()), Status: v.Status().String(), Orchestrator: orch(v.Orchestrator()),
		Name: string(v.Name()), Labels: labelsOf(v.LabelCount(), v.Label),
	}
}

func appItemOf(v codec.AppsLookupItemView) appItem {
	return appItem{
		Pid: v.Pid(), Status: v.Status().String(), CgroupStatus: v.CgroupStatus().String(),
		Orchestrator: orch(v.Orchestrator()), Ppid: v.Ppid(), UID: uid(v.UID()), Starttime: v.Starttime(),
		Comm: string(v.Comm()), CgroupPath: string(v.CgroupPath()), CgroupName: string(v.CgroupName()),
		Labels: labelsOf(v.LabelCount(), v.Label),
	}
}

// expectCgroups is what a provider serving ds answers for paths: the
// file's item, or UNKNOWN_PERMANENT.
func expectCgroups(ds *cgroupsDS, paths []string) []cgItem {
	idx := make(map[string]cgItem, len(ds.Items))
	for _, it := range ds.Items {
		idx[it.Path] = it
	}
	out := make([]cgItem, 0, len(paths))
	for _, p := range paths {
		it, ok := idx[p]
		if !ok {
			it = cgItem{Path: p, Status: "UNKNOWN_PERMANENT", Labels: [][2]string{}}
		}
		out = append(out, it)
	}
	return out
}

// expectApps is what a provider serving ds answers for pids: the file's
// item, or UNKNOWN.
func expectApps(ds *appsDS, pids []uint32) []appItem {
	idx := make(map[uint32]appItem, len(ds.Items))
	for _, it := range ds.Items {
		idx[it.Pid] = it
	}
	out := make([]appItem, 0, len(pids))
	for _, p := range pids {
		it, ok := idx[p]
		if !ok {
			it = appItem{Pid: p, Status: "UNKNOWN", CgroupStatus: "KNOWN", UID: uid(codec.UIDUnset), Labels: [][2]string{}}
		}
		out = append(out, it)
	}
	return out
}

// sameItems compares two item lists field by field, reporting the first
// few differences.
func sameItems[T any](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d items, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			if bad < 5 {
				t.Errorf("%s: item %d:\n got %+v\nwant %+v", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d items differ", what, bad, len(want))
	}
}
