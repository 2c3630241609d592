package interop_test

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"netipc.local/netipc/service"
)

// goBench builds go/cmd/netipc-bench (the Go side of the bench/run.sh
// pairs) into a temporary directory.
func goBench(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH: cannot build go/cmd/netipc-bench")
	}
	out := filepath.Join(t.TempDir(), "netipc-bench")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, "netipc.local/netipc/cmd/netipc-bench")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build netipc-bench: %v\n%s", err, b)
	}
	return out
}

// benchServer starts a bench server command, waits for READY and returns
// a function that stops it and returns its SERVER_CPU_PCT line.
func benchServer(t *testing.T, bin string, args ...string) func() string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s %v: exited before %s; stderr:\n%s", bin, args, what, stderr.String())
			}
			return l
		case <-time.After(readyTimeout):
			t.Fatalf("%s %v: no %s within %v; stderr:\n%s", bin, args, what, readyTimeout, stderr.String())
		}
		return ""
	}
	if l := next("READY"); l != "READY" {
		t.Fatalf("%s %v: first line %q, want READY", bin, args, l)
	}
	return func() string {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		l := next("SERVER_CPU_PCT")
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s %v: %v; stderr:\n%s", bin, args, err, stderr.String())
			}
		case <-time.After(exitTimeout):
			t.Fatalf("%s %v: no exit after SIGTERM", bin, args)
		}
		return l
	}
}

// checkCSV checks a bench client's CSV line.
func checkCSV(t *testing.T, line, scenario, impl string) {
	t.Helper()
	f := strings.Split(strings.TrimSpace(line), ",")
	if len(f) != 10 || f[0] != scenario || f[1] != impl || f[2] != impl {
		t.Fatalf("CSV line %q: want 10 fields starting %s,%s,%s", line, scenario, impl, impl)
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

func checkCPULine(t *testing.T, line string) {
	t.Helper()
	v, ok := strings.CutPrefix(line, "SERVER_CPU_PCT=")
	if _, err := strconv.ParseFloat(v, 64); !ok || err != nil {
		t.Fatalf("server report %q, want SERVER_CPU_PCT=<pct>", line)
	}
}

// The bench/run.sh Go pairs, briefly: the Go bench client against the Rust
// bench server and the Rust bench client against the Go bench server, for
// every scenario the Go program implements (both check every answer).
func TestBenchPairs(t *testing.T) {
	rust := netipcBin(t)
	gob := goBench(t)
	for _, s := range []string{"uds-ping-pong", "shm-ping-pong", "uds-batch-ping-pong", "shm-batch-ping-pong",
		"snapshot-baseline", "snapshot-shm", "uds-pipeline", "uds-pipeline-batch"} {
		t.Run(s, func(t *testing.T) {
			dir := runDir(t)
			common := []string{"--run-dir", dir, "--service", s}
			stop := benchServer(t, rust, append([]string{"bench", "server", s, "--duration", "0"}, common...)...)
			out, err := exec.Command(gob, append([]string{"client", s, "--duration", "0.2"}, common...)...).Output()
			if err != nil {
				t.Fatalf("Go bench client against the Rust server: %v (%s)", err, out)
			}
			checkCSV(t, string(out), s, "go")
			checkCPULine(t, stop())

			stop = benchServer(t, gob, append([]string{"server", s, "--duration", "0"}, common...)...)
			out = runCLIOK(t, append([]string{"bench", "client", s, "--duration", "0.2"}, common...)...)
			checkCSV(t, string(out), s, "netipc")
			checkCPULine(t, stop())
		})
	}
}

// BenchmarkGoClientRustServer: warm round trips of the Go typed clients
// against the Rust `netipc serve`, over UDS and SHM (the testing.B side of
// the go -> netipc pairs of bench/run.sh). The Rust side is the debug
// build unless NETIPC_BIN names another, e.g.
//
//	NETIPC_BIN=$PWD/../target/release/netipc go test -run - -bench GoClientRustServer ./interop
func BenchmarkGoClientRustServer(b *testing.B) {
	for _, profile := range []string{"uds", "shm"} {
		b.Run("increment/"+profile, func(b *testing.B) {
			c := conn{dir: runDir(b), service: "inc", token: token, profile: profile}
			srv := startRustServer(b, "increment", c)
			cl, err := service.NewIncrementClient(c.dir, c.service, clientConfig(profile, token))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			mustConnect(b, cl, profile)
			b.ReportAllocs()
			var v uint64
			for b.Loop() {
				if v, err = cl.Call(v); err != nil {
					b.Fatal(err)
				}
			}
			cl.Close()
			srv.stop()
		})
		b.Run("snapshot/"+profile, func(b *testing.B) {
			c := conn{dir: runDir(b), service: "snap", token: token, profile: profile}
			file := writeJSON(b, b.TempDir(), "snapshot.json", snapshotData())
			srv := startRustServer(b, "cgroups-snapshot", c, "--data", file)
			cl, err := service.NewCgroupsSnapshotClient(c.dir, c.service, clientConfig(profile, token))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			mustConnect(b, cl, profile)
			b.ReportAllocs()
			for b.Loop() {
				v, err := cl.CallSnapshot()
				if err != nil || v.Len() == 0 {
					b.Fatal(err)
				}
			}
			cl.Close()
			srv.stop()
		})
	}
}
