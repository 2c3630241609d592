package codec_test

import (
	"fmt"

	"netipc.local/netipc/codec"
)

// Build a snapshot response with the builder and decode it without
// copying: the view aliases the payload.
func ExampleCgroupsSnapshotBuilder() {
	var b codec.CgroupsSnapshotBuilder
	b.Reset(1, 42) // systemd_enabled, generation
	name := []byte("init.scope")
	if err := b.AddItem(codec.SimpleHash(name), 0, 1, name, []byte("/sys/fs/cgroup/init.scope")); err != nil {
		panic(err)
	}
	payload := b.Finish()

	view, err := codec.DecodeSnapshot(payload)
	if err != nil {
		panic(err)
	}
	fmt.Println(view.Generation(), view.Len(), string(view.Item(0).Name))
	// Output: 42 1 init.scope
}

// A server answers a CGROUPS_LOOKUP request item by item; the builder
// enforces the response budget with PAYLOAD_EXCEEDED / OVERSIZED_ITEM.
func ExampleCgroupsLookupBuilder() {
	reqBytes, _ := codec.AppendCgroupsLookupRequest(nil, [][]byte{[]byte("/docker/abc"), []byte("/not/yet")})
	req, err := codec.DecodeCgroupsLookupRequest(reqBytes)
	if err != nil {
		panic(err)
	}
	var b codec.CgroupsLookupBuilder
	b.SetBudget(65536, 65536)
	b.Reset(7, req)
	_, _ = b.AddRequestItem(req, 0, codec.LookupKnown, codec.OrchestratorDocker, []byte("web"),
		[]codec.Label{{Key: []byte("image"), Value: []byte("nginx")}})
	_, _ = b.AddRequestUnknown(req, 1, codec.LookupUnknownRetryLater)
	payload, err := b.Finish()
	if err != nil {
		panic(err)
	}

	resp, _ := codec.DecodeCgroupsLookupResponse(payload)
	for _, it := range resp.Items() {
		fmt.Println(it.Status(), string(it.Path()), string(it.Name()), it.LabelCount())
	}
	// Output:
	// KNOWN /docker/abc web 1
	// UNKNOWN_RETRY_LATER /not/yet  0
}

func ExampleDecodeAppsLookupResponse() {
	var b codec.AppsLookupBuilder
	b.ResetForCount(9, 1)
	e := codec.AppsLookupEntry{Status: codec.PidKnown, Ppid: 1, UID: 1000, Comm: []byte("nginx"),
		CgroupStatus: codec.CgroupHostRoot}
	_, _ = b.Add(1234, &e, nil)
	payload, _ := b.Finish()

	resp, err := codec.DecodeAppsLookupResponse(payload)
	if err != nil {
		panic(err)
	}
	it := resp.Item(0)
	fmt.Println(it.Pid(), string(it.Comm()), it.CgroupStatus())
	// Output: 1234 nginx HOST_ROOT
}

// Labels shared by many items (a handler's constant labels) are validated
// and laid out once in a LabelSet; every item then copies them as one
// block.
func ExampleNewLabelSet() {
	labels, err := codec.NewLabelSet([]codec.Label{
		{Key: []byte("namespace"), Value: []byte("web")},
		{Key: []byte("image"), Value: []byte("nginx:1")},
	})
	if err != nil {
		panic(err)
	}
	reqBytes, _ := codec.AppendCgroupsLookupRequest(nil, [][]byte{[]byte("/kubepods/a"), []byte("/kubepods/b")})
	req, _ := codec.DecodeCgroupsLookupRequest(reqBytes)
	var b codec.CgroupsLookupBuilder
	b.Reset(1, req)
	for i := range req.Len() {
		if _, err := b.AddRequestItemWithLabelSet(req, i, codec.LookupKnown, codec.OrchestratorK8s, []byte("pod"), labels); err != nil {
			panic(err)
		}
	}
	payload, _ := b.Finish()

	resp, _ := codec.DecodeCgroupsLookupResponse(payload)
	for _, it := range resp.Items() {
		for _, l := range it.Labels() {
			fmt.Printf("%s %s=%s\n", it.Path(), l.Key, l.Value)
		}
	}
	_, err = codec.NewLabelSet([]codec.Label{{Key: nil, Value: []byte("v")}})
	fmt.Println(err)
	// Output:
	// /kubepods/a namespace=web
	// /kubepods/a image=nginx:1
	// /kubepods/b namespace=web
	// /kubepods/b image=nginx:1
	// netipc: invalid argument: label key must not be empty
}
