//go:build windows

package npipe

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

func shmServerCfg() ServerConfig {
	c := baseServerCfg()
	c.SupportedProfiles = netipc.ProfileBaseline | netipc.ProfileShmHybrid
	c.PreferredProfiles = netipc.ProfileShmHybrid
	return c
}

func shmClientCfg() ClientConfig {
	c := baseClientCfg()
	c.SupportedProfiles = netipc.ProfileBaseline | netipc.ProfileShmHybrid
	c.PreferredProfiles = netipc.ProfileShmHybrid
	return c
}

func TestShmIncrementRoundTrip(t *testing.T) {
	ep := endpoint(t, "incr-shm")
	startServer(t, ep, shmServerCfg(), incrementServe)
	c := connect(t, ep, shmClientCfg())
	if !c.IsShm() || c.SelectedProfile() != netipc.ProfileShmHybrid {
		t.Fatal(c.HelloAck())
	}
	for v := uint64(0); v < 1000; v++ {
		if got := callIncrement(t, c, v); got != v+1 {
			t.Fatal(got)
		}
	}
}

func busyServerCfg() ServerConfig {
	c := baseServerCfg()
	c.SupportedProfiles = netipc.ProfileBaseline | ProfileBusyWait
	c.PreferredProfiles = ProfileBusyWait
	return c
}

func busyClientCfg() ClientConfig {
	c := baseClientCfg()
	c.SupportedProfiles = netipc.ProfileBaseline | ProfileBusyWait
	c.PreferredProfiles = ProfileBusyWait
	return c
}

func TestBusyWaitIncrementRoundTrip(t *testing.T) {
	ep := endpoint(t, "incr-busy")
	startServer(t, ep, busyServerCfg(), incrementServe)
	c := connect(t, ep, busyClientCfg())
	if !c.IsShm() || c.SelectedProfile() != ProfileBusyWait {
		t.Fatal(c.HelloAck())
	}
	for v := uint64(0); v < 1000; v++ {
		if got := callIncrement(t, c, v); got != v+1 {
			t.Fatal(got)
		}
	}
}
