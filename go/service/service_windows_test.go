//go:build windows

package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport/npipe"
)

var runDirs atomic.Uint64

// runDir is unique to this process and call: pipe and kernel object
// names only hash it, so it need not exist.
func runDir() string {
	return fmt.Sprintf(`C:\netipc-svc-test\%d-%d-%d`, os.Getpid(), time.Now().UnixNano(), runDirs.Add(1))
}

func testRunDir(testing.TB) string { return runDir() }

var testProfiles = []struct {
	name    string
	profile uint32
}{{"named-pipe", netipc.ProfileBaseline}, {"shm-hybrid", netipc.ProfileShmHybrid}, {"shm-busywait", npipe.ProfileBusyWait}}

// Every method, client to managed server, over each Windows profile.
func TestEveryMethodOverEachProfile(t *testing.T) {
	for _, p := range testProfiles {
		t.Run(p.name, func(t *testing.T) {
			dir := runDir()
			ccfg := cliCfgFor(p.profile)

			started(t)(NewIncrementServer(srvCfgFor(dir, "increment", p.profile), func(v uint64) (uint64, error) { return v + 1, nil }))
			ic, err := NewIncrementClient(dir, "increment", ccfg)
			if err != nil {
				t.Fatal(err)
			}
			defer ic.Close()
			refreshReady(t, ic)
			wantProfile(t, ic, p.profile)
			for v := uint64(0); v < 200; v++ {
				if got, err := ic.Call(v); err != nil || got != v+1 {
					t.Fatal(got, err)
				}
			}
			vals := make([]uint64, 100)
			for i := range vals {
				vals[i] = uint64(i) * 3
			}
			got, err := ic.CallBatch(vals)
			if err != nil || len(got) != len(vals) {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != vals[i]+1 {
					t.Fatal(i, got[i])
				}
			}

			started(t)(NewStringReverseServer(srvCfgFor(dir, "string-reverse", p.profile), func(s []byte) ([]byte, error) {
				r := make([]byte, len(s))
				for i, c := range s {
					r[len(s)-1-i] = c
				}
				return r, nil
			}))
			rc, err := NewStringReverseClient(dir, "string-reverse", ccfg)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			refreshReady(t, rc)
			wantProfile(t, rc, p.profile)
			v, err := rc.Call([]byte("hello, netipc"))
			if err != nil || string(v.Text) != "cpiten ,olleh" {
				t.Fatal(err, v.String())
			}
			// Larger than the learned budget: the overflow path grows it.
			big := bytes.Repeat([]byte("ab"), 300000)
			v, err = rc.Call(big)
			if err != nil || len(v.Text) != len(big) || v.Text[0] != 'b' {
				t.Fatal(err)
			}

			started(t)(NewCgroupsSnapshotServer(srvCfgFor(dir, "cgroups-snapshot", p.profile), func(b *codec.CgroupsSnapshotBuilder) error {
				b.Reset(1, 77)
				for i := range 300 {
					name := fmt.Appendf(nil, "unit-%03d.scope", i)
					if err := b.AddItem(codec.SimpleHash(name), 0, 1, name, fmt.Appendf(nil, "/sys/fs/cgroup/%s", name)); err != nil {
						return err
					}
				}
				return nil
			}))
			sc, err := NewCgroupsSnapshotClient(dir, "cgroups-snapshot", ccfg)
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			refreshReady(t, sc)
			wantProfile(t, sc, p.profile)
			snap, err := sc.CallSnapshot()
			if err != nil || snap.Len() != 300 || snap.Generation() != 77 || string(snap.Item(299).Name) != "unit-299.scope" {
				t.Fatal(err)
			}

			started(t)(NewCgroupsLookupServer(srvCfgFor(dir, "cgroups-lookup", p.profile), func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
				b.SetGeneration(5)
				for i := 0; i < req.Len(); i++ {
					var err error
					if bytes.HasPrefix(req.Key(i), []byte("/known")) {
						_, err = b.AddRequestItem(req, i, codec.LookupKnown, codec.OrchestratorK8s, []byte("pod"),
							[]codec.Label{{Key: []byte("namespace"), Value: []byte("default")}})
					} else {
						_, err = b.AddRequestUnknown(req, i, codec.LookupUnknownRetryLater)
					}
					if err != nil {
						return err
					}
				}
				return nil
			}))
			lc, err := NewCgroupsLookupClient(dir, "cgroups-lookup", ccfg)
			if err != nil {
				t.Fatal(err)
			}
			defer lc.Close()
			refreshReady(t, lc)
			wantProfile(t, lc, p.profile)
			var paths [][]byte
			for i := range 400 {
				if i%3 == 0 {
					paths = append(paths, fmt.Appendf(nil, "/other/%d", i))
				} else {
					paths = append(paths, fmt.Appendf(nil, "/known/%d", i))
				}
			}
			lv, err := lc.Lookup(paths)
			if err != nil || lv.Len() != len(paths) || lv.Generation() != 5 {
				t.Fatal(err)
			}
			for i := 0; i < lv.Len(); i++ {
				it := lv.Item(i)
				want := codec.LookupKnown
				if i%3 == 0 {
					want = codec.LookupUnknownRetryLater
				}
				if !bytes.Equal(it.Path(), paths[i]) || it.Status() != want {
					t.Fatal(i, it.Status())
				}
			}

			started(t)(NewAppsLookupServer(srvCfgFor(dir, "apps-lookup", p.profile), func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error {
				b.SetGeneration(9)
				e := codec.AppsLookupEntry{Status: codec.PidKnown, CgroupStatus: codec.CgroupKnown, Orchestrator: codec.OrchestratorDocker,
					Ppid: 1, UID: 1000, Starttime: 42, Comm: []byte("bench"), CgroupPath: []byte("/sys/fs/cgroup/x"), CgroupName: []byte("x")}
				for i := 0; i < req.Len(); i++ {
					var err error
					if req.Pid(i)%2 == 0 {
						_, err = b.AddRequestItem(req, i, &e, nil)
					} else {
						_, err = b.AddRequestUnknown(req, i)
					}
					if err != nil {
						return err
					}
				}
				return nil
			}))
			ac, err := NewAppsLookupClient(dir, "apps-lookup", ccfg)
			if err != nil {
				t.Fatal(err)
			}
			defer ac.Close()
			refreshReady(t, ac)
			wantProfile(t, ac, p.profile)
			pids := make([]uint32, 2000)
			for i := range pids {
				pids[i] = uint32(100 + i)
			}
			av, err := ac.Lookup(pids)
			if err != nil || av.Len() != len(pids) || av.Generation() != 9 {
				t.Fatal(err)
			}
			for i := 0; i < av.Len(); i++ {
				it := av.Item(i)
				if it.Pid() != pids[i] || (it.Status() == codec.PidKnown) != (pids[i]%2 == 0) {
					t.Fatal(i)
				}
			}
		})
	}
}

// Restart, Stop with idle and busy sessions, reconnect: the seam's
// session shutdown wakes pipe sessions blocked in a read.
func TestRestartStopAndReconnect(t *testing.T) {
	for _, p := range testProfiles {
		t.Run(p.name, func(t *testing.T) {
			dir := runDir()
			cfg := srvCfgFor(dir, "incr", p.profile)
			incr := func(v uint64) (uint64, error) { return v + 1, nil }
			srv := started(t)(NewIncrementServer(cfg, incr))
			c, _ := NewIncrementClient(dir, "incr", cliCfgFor(p.profile))
			defer c.Close()
			refreshReady(t, c)
			if got, err := c.Call(1); err != nil || got != 2 {
				t.Fatal(err)
			}
			if sum := srv.Stop(); !sum.Drained || sum.Abandoned != 0 {
				t.Fatalf("%+v", sum)
			}
			if c.Refresh(); c.State() == StateReady {
				t.Fatal("stopped server not noticed")
			}
			started(t)(NewIncrementServer(cfg, incr))
			refreshReady(t, c)
			if got, err := c.Call(5); err != nil || got != 6 {
				t.Fatal(err)
			}
			if st := c.Status(); st.Reconnects != 1 {
				t.Fatalf("%+v", st)
			}
			if _, err := NewIncrementServer(cfg, incr); !errors.Is(err, netipc.ErrAddressInUse) {
				t.Fatal("a second server on a live endpoint:", err)
			}
		})
	}
}

// A client that cannot attach Win SHM (the server offers it, the objects
// are gone) falls back to the Named Pipe: here the client asks for
// BUSYWAIT and the server only serves the baseline.
func TestProfileFallbackToNamedPipe(t *testing.T) {
	dir := runDir()
	cfg := ServerConfig{RunDir: dir, Service: "np-only", AuthToken: token, SupportedProfiles: netipc.ProfileBaseline}
	started(t)(NewIncrementServer(cfg, func(v uint64) (uint64, error) { return v + 1, nil }))
	c, _ := NewIncrementClient(dir, "np-only", cliCfgFor(npipe.ProfileBusyWait))
	defer c.Close()
	refreshReady(t, c)
	wantProfile(t, c, netipc.ProfileBaseline)
	if got, err := c.Call(41); err != nil || got != 42 {
		t.Fatal(err)
	}
}
