//go:build linux || windows

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
)

// shortRun is the measured time of the test runs; drive always completes
// at least one operation, however loaded the machine.
const shortRun = 10 * time.Millisecond

var runDirs atomic.Uint64

// testRunDir is a run directory for one test: t.TempDir on Linux; on
// Windows a name unique to this process and call, never created (Named
// Pipe and kernel object names only hash it, and t.TempDir's cleanup
// does not work under Wine).
func testRunDir(t *testing.T) string {
	if runtime.GOOS != "windows" {
		return t.TempDir()
	}
	return fmt.Sprintf(`C:\netipc-bench-test\%d-%d-%d`, os.Getpid(), time.Now().UnixNano(), runDirs.Add(1))
}

// checkLine checks a client's CSV line: the scenario, `go` for both
// implementations, numeric fields and a non-zero throughput.
func checkLine(t *testing.T, line, scenario string) {
	t.Helper()
	f := strings.Split(line, ",")
	if len(f) != 10 || f[0] != scenario || f[1] != "go" || f[2] != "go" || f[8] != "0.0" {
		t.Fatalf("CSV line %q: want scenario,go,go,... with 10 fields and server cpu 0.0", line)
	}
	for _, v := range f[3:] {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("CSV line %q: field %q is not a number", line, v)
		}
	}
	if tp, _ := strconv.ParseFloat(f[3], 64); tp <= 0 {
		t.Fatalf("CSV line %q: no throughput", line)
	}
}

// Every scenario, briefly: server scenarios against the Go bench server
// (served by serve, stopped through its channel), in-process ones alone.
func TestEveryScenario(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			side, ok := sc.side()
			if !ok {
				line, err := runClient(sc, "", "", runOpts{duration: shortRun})
				if err != nil {
					t.Fatal(err)
				}
				checkLine(t, line, sc.name)
				return
			}
			dir := testRunDir(t)
			srv, err := startServer(side, serverConfig(side, dir, "x"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			stop := make(chan struct{})
			done := make(chan serverReport)
			go func() { done <- serve(srv, &out, stop) }()
			line, err := runClient(sc, dir, "x", runOpts{duration: shortRun})
			close(stop)
			r := <-done
			if err != nil {
				t.Fatal(err)
			}
			checkLine(t, line, sc.name)
			if out.String() != "READY\n" || r.sessions != 1 || r.requests == 0 {
				t.Fatalf("server: printed %q, %d sessions, %d requests", out.String(), r.sessions, r.requests)
			}
		})
	}
}

// A server answering value + 2 fails every INCREMENT client's checks.
func TestWrongAnswersFail(t *testing.T) {
	for _, name := range []string{"uds-ping-pong", "shm-batch-ping-pong", "uds-pipeline", "uds-pipeline-batch"} {
		t.Run(name, func(t *testing.T) {
			sc, _ := findScenario(name)
			side, _ := sc.side()
			dir := testRunDir(t)
			srv, err := service.NewIncrementServer(serverConfig(side, dir, "x"), func(v uint64) (uint64, error) { return v + 2, nil })
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			_, err = runClient(sc, dir, "x", runOpts{duration: shortRun})
			if err == nil || !strings.Contains(err.Error(), "wrong answer") || exitCode(err) != 1 {
				t.Fatalf("err %v, want a wrong answer (exit 1)", err)
			}
		})
	}
}

func TestNoServerIsNotFound(t *testing.T) {
	sc, _ := findScenario("uds-pipeline")
	_, err := runClient(sc, testRunDir(t), "x", runOpts{duration: shortRun})
	if exitCode(err) != 3 {
		t.Fatalf("err %v (exit %d), want NOT_FOUND (exit 3)", err, exitCode(err))
	}
	sc, _ = findScenario("snapshot-shm")
	if _, err = runClient(sc, testRunDir(t), "x", runOpts{duration: shortRun}); exitCode(err) != 3 {
		t.Fatalf("err %v (exit %d), want NOT_FOUND (exit 3)", err, exitCode(err))
	}
}

func TestScenarioTable(t *testing.T) {
	if len(scenarios) != 9+30 {
		t.Fatalf("%d scenarios, want 39", len(scenarios))
	}
	lines := strings.Split(strings.TrimSuffix(listing(), "\n"), "\n")
	if lines[0] != "uds-ping-pong server" || lines[8] != "lookup in-process" ||
		lines[len(lines)-1] != "apps-lookup-mixed-32768 in-process" {
		t.Fatalf("listing:\n%s", listing())
	}
	for _, sc := range scenarios {
		if got, ok := findScenario(sc.name); !ok || got != sc {
			t.Fatalf("findScenario(%q) = %+v, %v", sc.name, got, ok)
		}
	}
	if _, ok := findScenario("apps-lookup-mixed-7"); ok {
		t.Fatal("apps-lookup-mixed-7 found")
	}
	pl, _ := findScenario("uds-pipeline-batch")
	b, _ := pl.side()
	if b.batchItems != 1000 || b.requestPayload != 52096 || b.responsePayload != 52096 || b.shm || pl.unit() != "items" {
		t.Fatalf("uds-pipeline-batch: %+v, unit %s", b, pl.unit())
	}
	p, _ := findScenario("uds-pipeline")
	pp, _ := findScenario("uds-ping-pong")
	ps, _ := p.side()
	pps, _ := pp.side()
	if ps != pps || p.unit() != "calls" {
		t.Fatalf("uds-pipeline's server is not uds-ping-pong's: %+v %+v", ps, pps)
	}
	if localBuffer(1) != 65536 || localBuffer(8192) != 8192*256+4096 {
		t.Fatal("localBuffer")
	}
	if string(cgroupsKey(7)) != "/sys/fs/cgroup/bench/cg-007" || string(cgroupsKey(8191)) != "/sys/fs/cgroup/bench/cg-8191" {
		t.Fatal("cgroupsKey")
	}
}

func TestXorshift(t *testing.T) {
	x := uint32(12345)
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	g := newXorshift32()
	if got := g.next(); got != x {
		t.Fatalf("first value %d, want %d", got, x)
	}
	g = newXorshift32()
	for range 10000 {
		if n := g.batchSize(); n < 2 || n > 1000 {
			t.Fatalf("batch size %d", n)
		}
	}
}

// The in-process answers follow BENCHMARKS.md.
func TestLocalAnswers(t *testing.T) {
	w := newCgroupsLookupLocal(knownMixed, 2)
	req, _ := codec.AppendCgroupsLookupRequest(nil, [][]byte{cgroupsKey(0), cgroupsKey(1)})
	resp, err := w.dispatch(req)
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.DecodeCgroupsLookupResponse(resp)
	if err != nil || v.Len() != 2 || v.Generation() != lookupGeneration {
		t.Fatalf("cgroups response: %v, %d items", err, v.Len())
	}
	k, u := v.Item(0), v.Item(1)
	if k.Status() != codec.LookupKnown || k.Orchestrator() != codec.OrchestratorK8s || string(k.Name()) != "bench-pod" ||
		string(k.Path()) != "/sys/fs/cgroup/bench/cg-000" || k.LabelCount() != 2 {
		t.Fatalf("known cgroups item %+v", k.ToOwned())
	}
	if u.Status() != codec.LookupUnknownRetryLater || u.Orchestrator() != 0 || len(u.Name()) != 0 || u.LabelCount() != 0 {
		t.Fatalf("unknown cgroups item %+v", u.ToOwned())
	}

	wa := newAppsLookupLocal(knownMixed, 2)
	req, _ = codec.AppendAppsLookupRequest(nil, []uint32{1000, 1001})
	if resp, err = wa.dispatch(req); err != nil {
		t.Fatal(err)
	}
	a, err := codec.DecodeAppsLookupResponse(resp)
	if err != nil || a.Len() != 2 {
		t.Fatalf("apps response: %v", err)
	}
	ak, au := a.Item(0), a.Item(1)
	if ak.Pid() != 1000 || ak.Ppid() != 1 || ak.UID() != 1000 || ak.Starttime() != 42 || string(ak.Comm()) != "bench" ||
		ak.Orchestrator() != codec.OrchestratorDocker || string(ak.CgroupName()) != "bench-container" ||
		string(ak.CgroupPath()) != "/sys/fs/cgroup/bench" || ak.LabelCount() != 1 {
		t.Fatalf("known apps item %+v", ak.ToOwned())
	}
	if au.Status() != codec.PidUnknown || au.CgroupStatus() != codec.CgroupKnown || au.UID() != codec.UIDUnset ||
		len(au.Comm()) != 0 {
		t.Fatalf("unknown apps item %+v", au.ToOwned())
	}

	// A malformed request is BAD_ENVELOPE, like a session answers it.
	_, err = w.dispatch([]byte{1, 2, 3})
	var se *netipc.StatusError
	if !errors.As(err, &se) || se.Status != netipc.StatusBadEnvelope {
		t.Fatalf("malformed request: %v", err)
	}
}

func TestSampler(t *testing.T) {
	s := newSampler(8)
	for i := 1; i <= 100; i++ {
		if _, ok := s.begin(); ok {
			s.record(time.Duration(i) * time.Microsecond)
		}
	}
	if len(s.buf) > 8 || len(s.buf) < 4 {
		t.Fatalf("%d samples", len(s.buf))
	}
	p50, p95, p99 := s.percentilesUs()
	if p50 <= 20 || p50 >= 80 || p95 < p50 || p99 < p95 {
		t.Fatalf("percentiles %v %v %v", p50, p95, p99)
	}
	if a, b, c := newSampler(4).percentilesUs(); a != 0 || b != 0 || c != 0 {
		t.Fatal("empty sampler")
	}
}
