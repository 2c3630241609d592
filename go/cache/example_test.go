//go:build linux

package cache_test

import (
	"fmt"
	"os"

	"netipc.local/netipc/cache"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
)

// A cgroups-snapshot provider and a Level 3 cache consumer.
func Example() {
	dir, _ := os.MkdirTemp("", "netipc-example")
	defer os.RemoveAll(dir)

	srv, err := service.NewCgroupsSnapshotServer(service.ServerConfig{RunDir: dir, Service: "cgroups-snapshot"},
		func(b *codec.CgroupsSnapshotBuilder) error {
			b.SetSystemdEnabled(1)
			b.SetGeneration(1)
			name := []byte("system.slice/nginx.service")
			return b.AddItem(codec.SimpleHash(name), 0, 1, name, []byte("/sys/fs/cgroup/system.slice/nginx.service"))
		})
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	c, _ := cache.NewCgroupsCache(dir, "cgroups-snapshot", service.ClientConfig{})
	defer c.Close()
	if _, err := c.Refresh(); err != nil { // from the caller's own loop
		panic(err)
	}
	name := []byte("system.slice/nginx.service")
	if e, ok := c.Lookup(codec.SimpleHash(name), name); ok {
		fmt.Println(string(e.Path))
	}
	// Output: /sys/fs/cgroup/system.slice/nginx.service
}
