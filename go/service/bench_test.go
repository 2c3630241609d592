//go:build linux

package service

import (
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

// Typed INCREMENT calls Go <-> Go over a managed server (Level 2 on top
// of the Level 1 round trip).
func BenchmarkIncrementCall(b *testing.B) {
	for _, tc := range []struct {
		name     string
		profiles uint32
	}{{"uds", netipc.ProfileBaseline}, {"shm", netipc.ProfileBaseline | netipc.ProfileShmHybrid}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := srvCfg(b, "bench")
			cfg.SupportedProfiles = tc.profiles
			started(b)(NewIncrementServer(cfg, incr))
			c, _ := NewIncrementClient(cfg.RunDir, cfg.Service, ClientConfig{AuthToken: token, BatchItems: 1})
			defer c.Close()
			refreshReady(b, c)
			v := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				got, err := c.Call(v)
				if err != nil || got != v+1 {
					b.Fatal(err)
				}
				v = got
			}
		})
	}
}

// The 16-item snapshot call (snapshot-baseline / snapshot-shm scenarios).
func BenchmarkSnapshotCall(b *testing.B) {
	for _, tc := range []struct {
		name     string
		profiles uint32
	}{{"uds", netipc.ProfileBaseline}, {"shm", netipc.ProfileBaseline | netipc.ProfileShmHybrid}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := srvCfg(b, "bench-snap")
			cfg.SupportedProfiles = tc.profiles
			snap := codec.BenchSnapshot(1)
			started(b)(NewCgroupsSnapshotServer(cfg, func(sb *codec.CgroupsSnapshotBuilder) error {
				sb.SetSystemdEnabled(1)
				for i := range snap.Items {
					if err := sb.Add(&snap.Items[i]); err != nil {
						return err
					}
				}
				return nil
			}))
			c, _ := NewCgroupsSnapshotClient(cfg.RunDir, cfg.Service, cliCfg())
			defer c.Close()
			refreshReady(b, c)
			b.ReportAllocs()
			for b.Loop() {
				v, err := c.CallSnapshot()
				if err != nil || v.Len() != 16 {
					b.Fatal(err)
				}
			}
		})
	}
}
