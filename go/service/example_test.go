//go:build linux

package service_test

import (
	"fmt"
	"os"

	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
)

// A managed INCREMENT server and a typed client.
func Example() {
	dir, _ := os.MkdirTemp("", "netipc-example")
	defer os.RemoveAll(dir)

	srv, err := service.NewIncrementServer(service.ServerConfig{RunDir: dir, Service: "increment", AuthToken: 42},
		func(v uint64) (uint64, error) { return v + 1, nil })
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	c, err := service.NewIncrementClient(dir, "increment", service.ClientConfig{AuthToken: 42})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Refresh() // from the caller's own loop; no background goroutines
	if c.Ready() {
		v, err := c.Call(41)
		fmt.Println(v, err)
	}
	// Output: 42 <nil>
}

// A cgroups-lookup provider and a consumer: the client splits, re-asks
// and stitches transparently.
func ExampleNewCgroupsLookupServer() {
	dir, _ := os.MkdirTemp("", "netipc-example")
	defer os.RemoveAll(dir)

	srv, err := service.NewCgroupsLookupServer(service.ServerConfig{RunDir: dir, Service: "cgroups-lookup"},
		func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
			b.SetGeneration(7)
			for i := 0; i < req.Len(); i++ {
				if string(req.Key(i)) == "/docker/abc" {
					if _, err := b.AddRequestItem(req, i, codec.LookupKnown, codec.OrchestratorDocker, []byte("web"), nil); err != nil {
						return err
					}
				} else if _, err := b.AddRequestUnknown(req, i, codec.LookupUnknownRetryLater); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	c, _ := service.NewCgroupsLookupClient(dir, "cgroups-lookup", service.ClientConfig{})
	defer c.Close()
	c.Refresh()
	res, err := c.Lookup([][]byte{[]byte("/docker/abc"), []byte("/not/yet")})
	if err != nil {
		panic(err)
	}
	for i := 0; i < res.Len(); i++ {
		it := res.Item(i)
		fmt.Println(res.Generation(), it.Status(), string(it.Path()), string(it.Name()))
	}
	// Output:
	// 7 KNOWN /docker/abc web
	// 7 UNKNOWN_RETRY_LATER /not/yet
}

// A CGROUPS_LOOKUP handler driven in process: the request payload goes
// through the same decode, handler, encode and budget path as on a
// server session.
func ExampleNewCgroupsLookupDispatcher() {
	d := service.NewCgroupsLookupDispatcher(func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
		for i := range req.Len() {
			if _, err := b.AddRequestItem(req, i, codec.LookupKnown, codec.OrchestratorK8s, []byte("web-1"), nil); err != nil {
				return err
			}
		}
		return nil
	}, 65536)
	req, _ := codec.AppendCgroupsLookupRequest(nil, [][]byte{[]byte("/sys/fs/cgroup/kubepods/web-1")})
	resp, err := d.Dispatch(req)
	if err != nil {
		panic(err)
	}
	v, _ := codec.DecodeCgroupsLookupResponse(resp)
	fmt.Println(v.Len(), string(v.Item(0).Name()))
	// Output: 1 web-1
}

// An INCREMENT server whose handler answers a whole batch in one call.
func ExampleNewIncrementBatchServer() {
	dir, _ := os.MkdirTemp("", "netipc-example")
	defer os.RemoveAll(dir)

	srv, err := service.NewIncrementBatchServer(service.ServerConfig{RunDir: dir, Service: "increment", MaxBatchItems: 100},
		func(values []uint64) error {
			for i := range values {
				values[i]++
			}
			return nil
		})
	if err != nil {
		panic(err)
	}
	defer srv.Stop()

	c, _ := service.NewIncrementClient(dir, "increment", service.ClientConfig{BatchItems: 100})
	defer c.Close()
	c.Refresh()
	fmt.Println(c.CallBatch([]uint64{1, 10, 100}))
	// Output: [2 11 101] <nil>
}
