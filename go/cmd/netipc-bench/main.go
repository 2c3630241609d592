//go:build linux

// Command netipc-bench is the Go side of the shared benchmark suite
// (BENCHMARKS.md) for the scenarios uds-ping-pong, shm-ping-pong,
// snapshot-baseline and snapshot-shm. It speaks the same protocol settings
// as `netipc bench` of the Rust CLI, so bench/run.sh can pair a Go client
// with a Rust server and a Rust client with a Go server.
//
//	netipc-bench server SCENARIO --run-dir DIR [--service NAME] [--duration SECS]
//	netipc-bench client SCENARIO --run-dir DIR [--service NAME] [--duration SECS]
//	netipc-bench list
//
// The server prints `READY` once it accepts connections and, when stopped
// (SIGINT/SIGTERM or --duration), `SERVER_CPU_PCT=<pct>`: its CPU time over
// the time sessions were active. The client checks every answer (a wrong
// one exits 1) and prints one CSV line
// `scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct`
// with client and server named `go` (a driver relabels foreign peers and
// merges the server CPU).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/service"
)

// The scenario settings of BENCHMARKS.md (crates/netipc-cli/src/cmd/bench/scenario.rs).
const (
	benchToken           uint64 = 0xBE4C400000C0FFEE
	singleItems          uint32 = 1
	singleRequestBudget  uint32 = 4096
	singleResponseBudget uint32 = 65536
	sampleCapacity              = 1 << 18
	implementation              = "go"
)

type scenario struct {
	name     string
	shm      bool
	snapshot bool
}

var scenarios = []scenario{
	{"uds-ping-pong", false, false},
	{"shm-ping-pong", true, false},
	{"snapshot-baseline", false, true},
	{"snapshot-shm", true, true},
}

func findScenario(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

func (s scenario) profiles() (supported, preferred uint32) {
	if s.shm {
		return netipc.ProfileBaseline | netipc.ProfileShmHybrid, netipc.ProfileShmHybrid
	}
	return netipc.ProfileBaseline, netipc.ProfileBaseline
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: netipc-bench server|client SCENARIO --run-dir DIR [--service NAME] [--duration SECS]\n       netipc-bench list")
	os.Exit(2)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "netipc-bench: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "list" {
		for _, s := range scenarios {
			fmt.Println(s.name, "server")
		}
		return
	}
	if len(os.Args) < 3 {
		usage()
	}
	role := os.Args[1]
	sc, ok := findScenario(os.Args[2])
	if !ok {
		fmt.Fprintf(os.Stderr, "netipc-bench: unknown scenario %q\n", os.Args[2])
		usage()
	}
	fs := flag.NewFlagSet("netipc-bench", flag.ExitOnError)
	runDir := fs.String("run-dir", "", "run directory (required)")
	svc := fs.String("service", sc.name, "service name")
	duration := fs.Float64("duration", 5, "seconds (server: 0 = until SIGTERM)")
	_ = fs.Parse(os.Args[3:])
	if *runDir == "" || fs.NArg() != 0 {
		usage()
	}
	d := time.Duration(*duration * float64(time.Second))
	// NETIPC_BENCH_CPUPROFILE=PREFIX writes a pprof CPU profile of this
	// run to PREFIX.ROLE.pprof (for `go tool pprof`).
	if prefix := os.Getenv("NETIPC_BENCH_CPUPROFILE"); prefix != "" {
		f, err := os.Create(prefix + "." + role + ".pprof")
		if err != nil {
			fail("cpu profile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail("cpu profile: %v", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	switch role {
	case "server":
		runServer(sc, *runDir, *svc, d)
	case "client":
		if d <= 0 {
			fail("--duration must be more than 0")
		}
		runClient(sc, *runDir, *svc, d)
	default:
		usage()
	}
}

// cpuTime is this process's CPU time (user + system, every thread).
func cpuTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func cpuPct(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return cpu.Seconds() * 100 / wall.Seconds()
}

// ---------------------------------------------------------------------------
// Server.

func runServer(sc scenario, runDir, svc string, duration time.Duration) {
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		fail("run dir %s: %v", runDir, err)
	}
	sup, pref := sc.profiles()
	cfg := service.ServerConfig{
		RunDir: runDir, Service: svc, AuthToken: benchToken,
		SupportedProfiles: sup, PreferredProfiles: pref,
		MaxRequestPayloadBytes: singleRequestBudget, MaxResponsePayloadBytes: singleResponseBudget,
		MaxBatchItems: singleItems,
	}
	var srv *service.Server
	var err error
	if sc.snapshot {
		items := codec.BenchSnapshot(0).Items
		var generation atomic.Uint64
		srv, err = service.NewCgroupsSnapshotServer(cfg, func(b *codec.CgroupsSnapshotBuilder) error {
			b.SetSystemdEnabled(1)
			b.SetGeneration(generation.Add(1))
			for i := range items {
				if err := b.Add(&items[i]); err != nil {
					return err
				}
			}
			return nil
		})
	} else {
		srv, err = service.NewIncrementServer(cfg, func(v uint64) (uint64, error) { return v + 1, nil })
	}
	if err != nil {
		fail("%s/%s.sock: %v", runDir, svc, err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	fmt.Println("READY")
	// Busy time: from the first session until sessions last dropped to
	// zero (like the Rust bench server), polled every 10 ms.
	t0, cpu0 := time.Now(), cpuTime()
	var w0, w1 time.Time
	var c0, c1 time.Duration
	started, ended := false, false
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var deadline <-chan time.Time
	if duration > 0 {
		deadline = time.After(duration)
	}
loop:
	for {
		select {
		case <-sig:
			break loop
		case <-deadline:
			break loop
		case now := <-tick.C:
			if !started && srv.Stats().SessionsStarted > 0 {
				started, w0, c0 = true, now, cpuTime()
			}
			if started {
				if srv.ActiveSessions() == 0 {
					if !ended {
						ended, w1, c1 = true, now, cpuTime()
					}
				} else {
					ended = false
				}
			}
		}
	}
	if !started {
		w0, c0 = t0, cpu0
	}
	if !ended {
		w1, c1 = time.Now(), cpuTime()
	}
	srv.Stop()
	st := srv.Stats()
	fmt.Fprintf(os.Stderr, "netipc-bench server: %s: %d requests in %d sessions, cpu %.3f s over %.3f s busy\n",
		sc.name, st.Requests, st.SessionsStarted, (c1 - c0).Seconds(), w1.Sub(w0).Seconds())
	fmt.Printf("SERVER_CPU_PCT=%.1f\n", cpuPct(c1-c0, w1.Sub(w0)))
}

// ---------------------------------------------------------------------------
// Client.

// sampler keeps per-call latencies in a buffer allocated once: when full,
// every other sample is dropped and only every second call is timed from
// then on, so the samples stay spread over the whole run.
type sampler struct {
	buf    []uint32
	stride uint64
	calls  uint64
}

func (s *sampler) begin() (time.Duration, bool) {
	s.calls++
	if s.calls%s.stride == 0 {
		return sys.Mono(), true
	}
	return 0, false
}

func (s *sampler) end(t time.Duration, ok bool) {
	if !ok {
		return
	}
	if len(s.buf) == cap(s.buf) {
		keep := 0
		for i := 1; i < len(s.buf); i += 2 {
			s.buf[keep] = s.buf[i]
			keep++
		}
		s.buf = s.buf[:keep]
		s.stride *= 2
	}
	ns := (sys.Mono() - t).Nanoseconds()
	if ns > int64(^uint32(0)) {
		ns = int64(^uint32(0))
	}
	s.buf = append(s.buf, uint32(ns))
}

func (s *sampler) percentilesUs() (p50, p95, p99 float64) {
	if len(s.buf) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s.buf)
	at := func(p float64) float64 {
		n := len(s.buf)
		idx := int(p*float64(n) + 0.999999999)
		idx = min(max(idx, 1), n) - 1
		return float64(s.buf[idx]) / 1000
	}
	return at(0.50), at(0.95), at(0.99)
}

func runClient(sc scenario, runDir, svc string, duration time.Duration) {
	sup, pref := sc.profiles()
	cfg := service.ClientConfig{
		AuthToken: benchToken, SupportedProfiles: sup, PreferredProfiles: pref,
		RequestPayloadBytes: singleRequestBudget, ResponsePayloadBytes: singleResponseBudget,
		BatchItems: singleItems,
	}
	var step func() error
	var closer func() error
	if sc.snapshot {
		c, err := service.NewCgroupsSnapshotClient(runDir, svc, cfg)
		if err != nil {
			fail("%v", err)
		}
		closer = c.Close
		connect(c.Refresh, c.State, runDir, svc)
		want := codec.BenchSnapshot(0).Items
		var it codec.CgroupItemView
		step = func() error {
			v, err := c.CallSnapshot()
			if err != nil {
				return fmt.Errorf("snapshot call: %w", err)
			}
			if v.Len() != len(want) {
				return fmt.Errorf("wrong answer: snapshot of %d items, expected %d", v.Len(), len(want))
			}
			for i := range v.Len() {
				v.ItemInto(i, &it)
				w := &want[i]
				if it.Hash != w.Hash || it.Enabled != w.Enabled || !bytes.Equal(it.Name, w.Name) || !bytes.Equal(it.Path, w.Path) {
					return fmt.Errorf("wrong answer: snapshot item %d", i)
				}
			}
			return nil
		}
	} else {
		c, err := service.NewIncrementClient(runDir, svc, cfg)
		if err != nil {
			fail("%v", err)
		}
		closer = c.Close
		connect(c.Refresh, c.State, runDir, svc)
		var counter uint64
		step = func() error {
			got, err := c.Call(counter)
			if err != nil {
				return fmt.Errorf("increment call: %w", err)
			}
			if got != counter+1 {
				return fmt.Errorf("wrong answer: increment(%d) = %d", counter, got)
			}
			counter = got
			return nil
		}
	}
	s := sampler{buf: make([]uint32, 0, sampleCapacity), stride: 1}
	cpu0 := cpuTime()
	t0 := time.Now()
	deadline := t0.Add(duration)
	var ops uint64
	sinceCheck, checkEvery, lastCheck := 0, 1, t0
	for {
		start, timed := s.begin()
		if err := step(); err != nil {
			fail("%s/%s.sock: %v", runDir, svc, err)
		}
		s.end(start, timed)
		ops++
		sinceCheck++
		if sinceCheck >= checkEvery {
			sinceCheck = 0
			now := time.Now()
			if !now.Before(deadline) {
				break
			}
			if now.Sub(lastCheck) < time.Millisecond {
				checkEvery = min(checkEvery*2, 4096)
			}
			lastCheck = now
		}
	}
	wall := time.Since(t0)
	cpu := cpuTime() - cpu0
	_ = closer()
	p50, p95, p99 := s.percentilesUs()
	c := cpuPct(cpu, wall)
	fmt.Printf("%s,%s,%s,%.0f,%.3f,%.3f,%.3f,%.1f,0.0,%.1f\n", sc.name, implementation, implementation,
		float64(ops)/wall.Seconds(), p50, p95, p99, c, c)
}

// connect refreshes once and exits with the Rust CLI's codes when the
// service is not ready (3 not found, 4 auth, 5 incompatible, else 1).
func connect(refresh func() bool, state func() service.ClientState, runDir, svc string) {
	refresh()
	st := state()
	if st == service.StateReady {
		return
	}
	code := 1
	switch st {
	case service.StateNotFound:
		code = 3
	case service.StateAuthFailed:
		code = 4
	case service.StateIncompatible:
		code = 5
	}
	fmt.Fprintf(os.Stderr, "netipc-bench: %s/%s.sock: %v\n", runDir, svc, errors.New(st.String()))
	os.Exit(code)
}
