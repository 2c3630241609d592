//go:build linux

package uds

import (
	"netipc.local/netipc"
	"netipc.local/netipc/transport/internal/sessiontest"
)

func shmServerCfg() ServerConfig {
	s, _ := sessiontest.ProfileCfgs(netipc.ProfileShmHybrid)
	return serverCfg(s)
}

func shmClientCfg() ClientConfig {
	_, c := sessiontest.ProfileCfgs(netipc.ProfileShmHybrid)
	return clientCfg(c)
}
