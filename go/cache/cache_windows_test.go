//go:build windows

package cache_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/cache"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
	"netipc.local/netipc/transport/npipe"
)

// The Level 3 cache over each Windows profile: populate, look up, follow
// a new generation.
func TestCacheOverWindowsProfiles(t *testing.T) {
	for _, profile := range []uint32{netipc.ProfileBaseline, netipc.ProfileShmHybrid, npipe.ProfileBusyWait} {
		t.Run(fmt.Sprint(profile), func(t *testing.T) {
			dir := fmt.Sprintf(`C:\netipc-cache-test\%d-%d`, os.Getpid(), time.Now().UnixNano())
			var gen atomic.Uint64
			gen.Store(1)
			srv, err := service.NewCgroupsSnapshotServer(service.ServerConfig{RunDir: dir, Service: "cgroups-snapshot",
				SupportedProfiles: netipc.ProfileBaseline | profile, PreferredProfiles: profile},
				func(b *codec.CgroupsSnapshotBuilder) error {
					g := gen.Load()
					b.Reset(1, g)
					for i := range int(100 * g) {
						name := fmt.Appendf(nil, "system.slice/unit-%d.service", i)
						if err := b.AddItem(codec.SimpleHash(name), 0, 1, name, fmt.Appendf(nil, "/sys/fs/cgroup/%s", name)); err != nil {
							return err
						}
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			c, err := cache.NewCgroupsCache(dir, "cgroups-snapshot", service.ClientConfig{
				SupportedProfiles: netipc.ProfileBaseline | profile, PreferredProfiles: profile})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for g := uint64(1); g <= 2; g++ {
				gen.Store(g)
				if _, err := c.Refresh(); err != nil {
					t.Fatal(err)
				}
				tab := c.Table()
				if !c.Ready() || tab.Generation() != g || tab.Len() != int(100*g) {
					t.Fatal(c.Status())
				}
				name := []byte("system.slice/unit-99.service")
				if e, ok := c.Lookup(codec.SimpleHash(name), name); !ok || string(e.Path) != "/sys/fs/cgroup/"+string(name) {
					t.Fatal("lookup", ok)
				}
			}
		})
	}
}
