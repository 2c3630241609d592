//go:build linux

package uds

import (
	"testing"

	"netipc.local/netipc"
)

func TestIncrementRoundTrip(t *testing.T) {
	ep := endpoint(t, "incr")
	startServer(t, ep, baseServerCfg(), incrementServe)
	c := connect(t, ep, baseClientCfg())
	if c.IsShm() || c.SelectedProfile() != netipc.ProfileBaseline || c.SessionID() != 1 {
		t.Fatal(c.HelloAck())
	}
	for v := uint64(0); v < 100; v++ {
		if got := callIncrement(t, c, v); got != v+1 {
			t.Fatal(got)
		}
	}
}
