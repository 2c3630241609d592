//go:build linux || windows

package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"time"

	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
)

// serverPoll is how often the busy window and the stop conditions are
// checked.
const serverPoll = 10 * time.Millisecond

// serverConfig is the managed-server configuration of a server side: the
// bench token, its profiles, budgets and batch items.
func serverConfig(side serverSide, runDir, svc string) service.ServerConfig {
	sup, pref := side.profiles()
	return service.ServerConfig{
		RunDir: runDir, Service: svc, AuthToken: benchToken,
		SupportedProfiles: sup, PreferredProfiles: pref,
		MaxRequestPayloadBytes: side.requestPayload, MaxResponsePayloadBytes: side.responsePayload,
		MaxBatchItems: side.batchItems,
	}
}

// startServer starts the benchmark server of side with cfg: INCREMENT
// (value + 1, answered a request at a time: the batch handler), or
// CGROUPS_SNAPSHOT answering the 16-item benchmark snapshot with
// systemd_enabled 1 and a generation growing by one per call.
// NETIPC_BENCH_GO_ITEM_HANDLER=1 serves INCREMENT with the per-value
// handler instead (NewIncrementServer), to compare the two.
func startServer(side serverSide, cfg service.ServerConfig) (*service.Server, error) {
	if !side.snapshot {
		if os.Getenv("NETIPC_BENCH_GO_ITEM_HANDLER") == "1" {
			return service.NewIncrementServer(cfg, func(v uint64) (uint64, error) { return v + 1, nil })
		}
		return service.NewIncrementBatchServer(cfg, func(values []uint64) error {
			for i := range values {
				values[i]++
			}
			return nil
		})
	}
	items := codec.BenchSnapshot(0).Items
	var generation atomic.Uint64
	return service.NewCgroupsSnapshotServer(cfg, func(b *codec.CgroupsSnapshotBuilder) error {
		b.SetSystemdEnabled(1)
		b.SetGeneration(generation.Add(1))
		for i := range items {
			if err := b.Add(&items[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// serverReport is what a bench server reports when it stops: its CPU
// time over the busy window, from the first session to the moment the
// last session ended (the whole run when no client came).
type serverReport struct {
	cpu, wall          time.Duration
	requests, sessions uint64
}

// serve prints READY on out, serves until stop delivers, polling the busy
// window every 10 ms like the Rust bench server, then stops srv.
func serve(srv *service.Server, out io.Writer, stop <-chan struct{}) serverReport {
	fmt.Fprintln(out, "READY")
	t0, cpu0 := time.Now(), cpuTime()
	var w0, w1 time.Time
	var c0, c1 time.Duration
	started, ended := false, false
	tick := time.NewTicker(serverPoll)
	defer tick.Stop()
loop:
	for {
		select {
		case <-stop:
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
	return serverReport{cpu: c1 - c0, wall: w1.Sub(w0), requests: st.Requests, sessions: st.SessionsStarted}
}

// runServer is `netipc-bench server SCENARIO`: it serves until a stop
// signal (SIGINT, SIGTERM; Windows: Ctrl-C, Ctrl-Break, the console
// closing) or duration (0 = no limit) and prints SERVER_CPU_PCT=<pct>.
func runServer(sc scenario, runDir, svc string, duration time.Duration) {
	side, ok := sc.side()
	if !ok {
		usageError("%s runs in process: it has no server (run `netipc-bench client %s`)", sc.name, sc.name)
	}
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		fail(1, "run dir %s: %v", runDir, err)
	}
	srv, err := startServer(side, serverConfig(side, runDir, svc))
	if err != nil {
		failErr(err, "%s", serviceAddress(runDir, svc))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, stopSignals...)
	stop := make(chan struct{})
	go func() {
		var deadline <-chan time.Time
		if duration > 0 {
			deadline = time.After(duration)
		}
		select {
		case <-sig:
		case <-deadline:
		}
		// Handled: back to the default handling (on Windows this also
		// takes the console control handler out of the exit path).
		signal.Stop(sig)
		close(stop)
	}()
	r := serve(srv, os.Stdout, stop)
	fmt.Fprintf(os.Stderr, "netipc-bench server: %s: %d requests in %d sessions, cpu %.3f s over %.3f s busy\n",
		sc.name, r.requests, r.sessions, r.cpu.Seconds(), r.wall.Seconds())
	fmt.Printf("SERVER_CPU_PCT=%.1f\n", cpuPct(r.cpu, r.wall))
}
