// Package transport holds what the Level 1 transports share: the service
// endpoint naming (socket and SHM region paths; on Windows the Named Pipe
// and kernel object names) and the abort handle.
//
// The transports themselves live in the subpackages uds (UDS
// SOCK_SEQPACKET sessions, handshake, chunking, batching, pipelining) and
// shm (the POSIX shared-memory data plane) on Linux, npipe (Named Pipe
// sessions) and winshm (the Windows shared-memory data plane) on Windows. Level 1 never retries or
// reconnects: that is Level 2's job (package service).
package transport

import (
	"fmt"
	"path/filepath"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
)

// SunPathMax is the size of sockaddr_un.sun_path on Linux.
const SunPathMax = 108

// SocketSuffix is the file suffix of a service socket.
const SocketSuffix = ".sock"

// ShmSuffix is the file suffix of a per-session SHM region.
const ShmSuffix = ".ipcshm"

// ValidateServiceName checks that a service name contains only
// [A-Za-z0-9._-] and is not empty, "." or "..".
func ValidateServiceName(service string) error {
	if service == "" || service == "." || service == ".." {
		return &netipc.ArgError{Reason: "service name is empty, . or .."}
	}
	for i := 0; i < len(service); i++ {
		c := service[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return &netipc.ArgError{Reason: "service name may contain only [A-Za-z0-9._-]"}
		}
	}
	return nil
}

// Endpoint names one service endpoint: a run directory and a service name.
type Endpoint struct {
	runDir  string
	service string
}

// NewEndpoint validates the service name and the socket path length.
func NewEndpoint(runDir, service string) (Endpoint, error) {
	if err := ValidateServiceName(service); err != nil {
		return Endpoint{}, err
	}
	ep := Endpoint{runDir: runDir, service: service}
	if err := ep.checkPlatform(); err != nil {
		return Endpoint{}, err
	}
	return ep, nil
}

// RunDir returns the run directory.
func (e Endpoint) RunDir() string { return e.runDir }

// Service returns the service name.
func (e Endpoint) Service() string { return e.service }

// SocketPath returns {run_dir}/{service}.sock.
func (e Endpoint) SocketPath() string { return filepath.Join(e.runDir, e.service+SocketSuffix) }

// ShmPath returns {run_dir}/{service}-{session_id:016x}.ipcshm.
func (e Endpoint) ShmPath(sessionID uint64) string {
	return filepath.Join(e.runDir, fmt.Sprintf("%s-%016x%s", e.service, sessionID, ShmSuffix))
}

// ShmPrefix returns "{service}-", the prefix of this service's region files.
func (e Endpoint) ShmPrefix() string { return e.service + "-" }

// String returns the socket path.
func (e Endpoint) String() string { return e.SocketPath() }

// Abort is a sticky abort signal that unblocks transport waits from
// another goroutine: Trigger fires it (and wakes every poll that watches
// it), Clear re-arms it, Close releases its eventfd. Blocked operations
// return netipc.ErrAborted.
type Abort = sys.Abort

// NewAbort creates an untriggered abort handle backed by an eventfd.
func NewAbort() (*Abort, error) { return sys.NewAbort() }
