//go:build linux

package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/uds"
)

// The platform seam of the bench program (platform_windows.go has the
// Windows side): process CPU time, the stop signals, the service's
// address in messages and the Level 1 session of the pipeline scenarios
// (UDS SOCK_SEQPACKET here).

// cpuTime is this process's CPU time (user + system, every thread): the
// CLOCK_PROCESS_CPUTIME_ID clock.
func cpuTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// stopSignals stop a bench server: SIGINT and SIGTERM.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// serviceAddress is where clients reach svc in runDir, for messages: the
// socket path.
func serviceAddress(runDir, svc string) string { return fmt.Sprintf("%s/%s.sock", runDir, svc) }

// implementedProfiles are the profiles the Level 1 transport runs.
const implementedProfiles = uds.ImplementedProfiles

// The Level 1 client session of the pipeline scenarios.
type (
	l1Session = uds.ClientSession
	l1Config  = uds.ClientConfig
)

func l1Connect(ep transport.Endpoint, cfg l1Config, deadline time.Time) (*l1Session, error) {
	return uds.Connect(ep, cfg, deadline, nil)
}
