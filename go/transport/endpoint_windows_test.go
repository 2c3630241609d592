//go:build windows

package transport

import (
	"fmt"
	"testing"
)

func TestFNV1a64Vectors(t *testing.T) {
	for in, want := range map[string]uint64{"": 0xcbf29ce484222325, "a": 0xaf63dc4c8601ec8c, "foobar": 0x85944171f73967e8} {
		if got := FNV1a64([]byte(in)); got != want {
			t.Fatalf("%q: %#x", in, got)
		}
	}
}

func TestWindowsNames(t *testing.T) {
	ep, err := NewEndpoint("/run/netdata", "cgroups-snapshot")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`\\.\pipe\netipc-%016x-cgroups-snapshot`, FNV1a64([]byte("/run/netdata")))
	if ep.PipeName() != want {
		t.Fatal(ep.PipeName())
	}
	h := FNV1a64([]byte("/run/netdata\ncgroups-snapshot\n42"))
	want = fmt.Sprintf(`Local\netipc-%016x-cgroups-snapshot-p2-s000000000000002a`, h)
	if got := ep.ShmObjectPrefix(42, 2, 42); got != want {
		t.Fatal(got)
	}
	if _, err := NewEndpoint(`C:\run`, "a b"); err == nil {
		t.Fatal("bad service name accepted")
	}
}
