//go:build windows

package main

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/windows"

	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/npipe"
)

// The platform seam of the bench program on Windows (platform_linux.go
// has the Linux side): process CPU time, the stop signals, the service's
// address in messages and the Level 1 session of the pipeline scenarios
// (a Named Pipe). The uds-* and snapshot-baseline scenarios run over the
// Named Pipe baseline, the shm-* and snapshot-shm ones over Win SHM
// (SHM_HYBRID), as the Rust `netipc bench` maps them on Windows.

// cpuTime is this process's CPU time (user + kernel, every thread), from
// GetProcessTimes.
func cpuTime() time.Duration {
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user); err != nil {
		return 0
	}
	return time.Duration((filetimeTicks(kernel) + filetimeTicks(user)) * 100)
}

// filetimeTicks is a FILETIME duration in 100 ns ticks.
func filetimeTicks(f windows.Filetime) int64 {
	return int64(f.HighDateTime)<<32 | int64(f.LowDateTime)
}

// stopSignals stop a bench server: Ctrl-C and Ctrl-Break (os.Interrupt),
// the console closing, logoff and shutdown (SIGTERM), like the Rust
// tool's console control handler.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// serviceAddress is where clients reach svc in runDir, for messages: the
// pipe name.
func serviceAddress(runDir, svc string) string {
	ep, err := transport.NewEndpoint(runDir, svc)
	if err != nil {
		return runDir + `\` + svc
	}
	return ep.PipeName()
}

// implementedProfiles are the profiles the Level 1 transport runs.
const implementedProfiles = npipe.ImplementedProfiles

// The Level 1 client session of the pipeline scenarios.
type (
	l1Session = npipe.ClientSession
	l1Config  = npipe.ClientConfig
)

func l1Connect(ep transport.Endpoint, cfg l1Config, deadline time.Time) (*l1Session, error) {
	return npipe.Connect(ep, cfg, deadline, nil)
}
