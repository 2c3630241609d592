//go:build linux || windows

// Command netipc-bench is the Go side of the shared benchmark suite
// (/work/shared/spec/BENCHMARKS.md): every scenario of `netipc bench` of
// the Rust CLI, with the same settings (auth token 0xBE4C400000C0FFEE,
// profiles, payload and batch-item budgets, the xorshift32 batch sizes,
// pipelining depth 16, the same answer checks), so bench/run.sh can pair
// a Go client with a Rust server and a Rust client with a Go server.
//
//	netipc-bench server SCENARIO --run-dir DIR [--service NAME] [--duration SECS]
//	netipc-bench client SCENARIO [--run-dir DIR] [--service NAME] [--duration SECS] [--target-rps N]
//	netipc-bench list
//
// Server scenarios (`list` says `server`): uds-ping-pong, shm-ping-pong,
// uds-batch-ping-pong, shm-batch-ping-pong, snapshot-baseline,
// snapshot-shm, uds-pipeline and uds-pipeline-batch. The server prints
// `READY` once it accepts connections and, when stopped (SIGINT/SIGTERM,
// on Windows Ctrl-C/Ctrl-Break, or after --duration seconds; 0 = no
// limit, the default), prints `SERVER_CPU_PCT=<pct>`: its CPU time over
// the time sessions were active. The service name defaults to the
// scenario name.
//
// It runs on Linux (UDS SOCK_SEQPACKET, POSIX SHM) and on Windows (Named
// Pipes, Win SHM): the uds-* and snapshot-baseline scenarios run over the
// platform's baseline transport, the shm-* and snapshot-shm ones over its
// SHM_HYBRID data plane, like the Rust tool on each platform.
//
// In-process scenarios (`list` says `in-process`) run with `client` alone,
// no server and no run directory: `lookup` (a Level 3 cgroups cache seeded
// with the 16 benchmark items; one pass = 16 lookups) and
// `{cgroups,apps}-lookup-{known,unknown,mixed}-{1,16,256,8192,32768}`
// (encode the request, run the server dispatch, decode the response).
//
// The client runs for --duration seconds (default 5) at --target-rps
// operations per second (0 = as fast as possible), checks every answer (a
// wrong one exits 1) and prints one CSV line
// `scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct`
// with client and server named `go`, server CPU 0.0 and total = client
// CPU (a driver relabels foreign peers and merges the server CPU).
// Throughput is calls/s, items/s for the batch scenarios, lookups/s for
// `lookup`; latency is per operation (a call, a batch, a pipelined round
// of 16, a pass of lookups). Exit codes are those of the Rust CLI: 1
// failure or wrong answer, 2 usage, 3 no service, 4 auth failed, 5
// incompatible, 6 timeout, 7 protocol error.
//
// NETIPC_BENCH_CPUPROFILE=PREFIX writes a pprof CPU profile of the run to
// PREFIX.ROLE.pprof (for `go tool pprof`).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"netipc.local/netipc"
)

const usageText = `usage: netipc-bench server SCENARIO --run-dir DIR [--service NAME] [--duration SECS]
       netipc-bench client SCENARIO [--run-dir DIR] [--service NAME] [--duration SECS] [--target-rps N]
       netipc-bench list`

func usage() {
	fmt.Fprintln(os.Stderr, usageText)
	os.Exit(2)
}

// usageError reports a wrong command line (exit 2).
func usageError(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "netipc-bench: "+format+"\n", args...)
	os.Exit(2)
}

// fail reports a failure and exits with code.
func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "netipc-bench: "+format+"\n", args...)
	os.Exit(code)
}

// failErr reports err after a context and exits with its exitCode.
func failErr(err error, format string, args ...any) {
	fail(exitCode(err), "%s: %v", fmt.Sprintf(format, args...), err)
}

// exitCode is the Rust CLI's exit code for a library error.
func exitCode(err error) int {
	switch {
	case errors.Is(err, netipc.ErrNotFound):
		return 3
	case errors.Is(err, netipc.ErrAuthFailed):
		return 4
	case errors.Is(err, netipc.ErrIncompatible), errors.Is(err, netipc.ErrUnsupported):
		return 5
	case errors.Is(err, netipc.ErrTimeout):
		return 6
	case errors.Is(err, netipc.ErrProtocol):
		return 7
	}
	return 1
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "list" {
		fmt.Print(listing())
		return
	}
	if len(os.Args) < 3 {
		usage()
	}
	role := os.Args[1]
	sc, ok := findScenario(os.Args[2])
	if !ok {
		fmt.Fprintf(os.Stderr, "netipc-bench: unknown scenario %q (see `netipc-bench list`)\n", os.Args[2])
		usage()
	}
	fs := flag.NewFlagSet("netipc-bench", flag.ExitOnError)
	runDir := fs.String("run-dir", "", "run directory (required for server scenarios)")
	svc := fs.String("service", sc.name, "service name")
	duration := fs.Float64("duration", -1, "seconds (server: 0 = until SIGTERM, the default; client: default 5)")
	targetRPS := fs.Uint64("target-rps", 0, "client operations per second (0 = as fast as possible)")
	_ = fs.Parse(os.Args[3:])
	if fs.NArg() != 0 || (*runDir == "" && !sc.inProcess()) {
		usage()
	}
	if *duration < 0 { // the Rust defaults: servers run until stopped
		*duration = 5
		if role == "server" {
			*duration = 0
		}
	}
	d := time.Duration(*duration * float64(time.Second))
	if prefix := os.Getenv("NETIPC_BENCH_CPUPROFILE"); prefix != "" {
		stop := startProfile(prefix + "." + role + ".pprof")
		defer stop()
	}
	switch role {
	case "server":
		runServer(sc, *runDir, *svc, d)
	case "client":
		if d <= 0 {
			usageError("--duration must be more than 0")
		}
		line, err := runClient(sc, *runDir, *svc, runOpts{duration: d, targetRPS: *targetRPS})
		if err != nil {
			if sc.inProcess() {
				failErr(err, "%s", sc.name)
			}
			failErr(err, "%s", serviceAddress(*runDir, *svc))
		}
		fmt.Println(line)
	default:
		usage()
	}
}

// runClient is `netipc-bench client SCENARIO`: it prepares the workload
// (connects, or sets up an in-process scenario), drives it and returns
// the CSV line.
func runClient(sc scenario, runDir, svc string, opts runOpts) (string, error) {
	var w workload
	var err error
	if side, ok := sc.side(); ok {
		w, err = connectServer(sc, side, runDir, svc)
	} else {
		w, err = newInProcess(sc)
	}
	if err != nil {
		return "", err
	}
	m, err := drive(w, opts)
	w.close()
	if err != nil {
		return "", err
	}
	return csvLine(sc.name, m), nil
}

// startProfile starts a CPU profile into path; the returned function
// stops it.
func startProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		fail(1, "cpu profile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fail(1, "cpu profile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
