//go:build linux

package service

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

// allocsDuring runs f n times and returns the heap allocations made
// meanwhile anywhere in the process (client and the in-process managed
// server's session goroutine alike), split into those whose stack has a
// frame of this module (ours) and the rest (the Go runtime's own: a new
// OS thread when a goroutine blocks, timer heaps, GC workers), which no
// library code can avoid. Every allocation is sampled (MemProfileRate 1).
func allocsDuring(t *testing.T, n int, f func()) (ours []string, runtimeOnly int64) {
	t.Helper()
	before := heapProfile()
	prevRate := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	for range n {
		f()
	}
	runtime.MemProfileRate = prevRate
	after := heapProfile()
	for stack, count := range after {
		count -= before[stack]
		if count <= 0 {
			continue
		}
		frames := runtime.CallersFrames(stack[:])
		var names []string
		mine, helper := false, false
		for {
			fr, more := frames.Next()
			if fr.Function != "" {
				names = append(names, fr.Function)
				mine = mine || strings.HasPrefix(fr.Function, "netipc.local/netipc/")
				helper = helper || strings.HasSuffix(fr.Function, ".heapProfile")
			}
			if !more {
				break
			}
		}
		switch {
		case helper: // this measurement's own bookkeeping
		case mine:
			ours = append(ours, fmt.Sprintf("%d x %s", count, strings.Join(names, " <- ")))
		default:
			runtimeOnly += count
		}
	}
	return ours, runtimeOnly
}

// heapProfile returns the cumulative allocation counts per stack, flushed
// up to now (the runtime publishes a cycle's samples after two GCs).
func heapProfile() map[[32]uintptr]int64 {
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			break
		}
	}
	m := make(map[[32]uintptr]int64, n)
	for _, r := range recs[:n] {
		m[r.Stack0] += r.AllocObjects
	}
	return m
}

// checkNoAllocs fails the test when code of this module allocated while f
// ran 1000 times; the runtime's own allocations are logged.
func checkNoAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	ours, rt := allocsDuring(t, 1000, f)
	if len(ours) > 0 {
		t.Errorf("%s: heap allocations in netipc code during 1000 warm calls:\n%s", what, strings.Join(ours, "\n"))
	}
	t.Logf("%s: %d runtime-internal allocations in 1000 calls", what, rt)
}

// allocProfiles: the warm call paths the zero-allocation target covers.
var allocProfiles = []struct {
	name     string
	profiles uint32
}{{"uds", netipc.ProfileBaseline}, {"shm", netipc.ProfileBaseline | netipc.ProfileShmHybrid}}

// A warm INCREMENT call allocates nothing anywhere in the process: not in
// the client, not in the server session that answers it.
func TestWarmIncrementCallDoesNotAllocate(t *testing.T) {
	for _, tc := range allocProfiles {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srvCfg(t, "alloc-incr")
			cfg.SupportedProfiles = tc.profiles
			started(t)(NewIncrementServer(cfg, incr))
			c, err := NewIncrementClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, BatchItems: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			refreshReady(t, c)
			if c.Status().ShmAttached != (tc.name == "shm") {
				t.Fatalf("profile %#x", c.Status().SelectedProfile)
			}
			v := uint64(0)
			var failed error
			call := func() {
				got, err := c.Call(v)
				if err != nil || got != v+1 {
					failed = err
				}
				v = got
			}
			for range 100 { // warm: buffers sized, spin learned
				call()
			}
			checkNoAllocs(t, "INCREMENT", call)
			if failed != nil || v != 1100 {
				t.Fatal(failed, v)
			}
		})
	}
}

// A warm 16-item snapshot call allocates nothing anywhere in the process
// (the server's builder and the client's view are reused).
func TestWarmSnapshotCallDoesNotAllocate(t *testing.T) {
	for _, tc := range allocProfiles {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srvCfg(t, "alloc-snap")
			cfg.SupportedProfiles = tc.profiles
			snap := codec.BenchSnapshot(1)
			started(t)(NewCgroupsSnapshotServer(cfg, func(sb *codec.CgroupsSnapshotBuilder) error {
				sb.SetSystemdEnabled(1)
				for i := range snap.Items {
					if err := sb.Add(&snap.Items[i]); err != nil {
						return err
					}
				}
				return nil
			}))
			c, err := NewCgroupsSnapshotClient(cfg.RunDir, cfg.Service, cliCfg())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			refreshReady(t, c)
			if c.Status().ShmAttached != (tc.name == "shm") {
				t.Fatalf("profile %#x", c.Status().SelectedProfile)
			}
			bad := 0
			call := func() {
				v, err := c.CallSnapshot()
				if err != nil || v.Len() != len(snap.Items) {
					bad++
				}
			}
			for range 100 {
				call()
			}
			checkNoAllocs(t, "snapshot", call)
			if bad != 0 {
				t.Fatalf("%d failed calls", bad)
			}
		})
	}
}
