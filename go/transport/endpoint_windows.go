//go:build windows

package transport

import (
	"fmt"
	"strconv"
)

// PipePrefix starts every Named Pipe name of this protocol.
const PipePrefix = `\\.\pipe\netipc-`

// FNV1a64 is the 64-bit FNV-1a hash (offset basis 0xcbf29ce484222325,
// prime 0x100000001b3) the Windows pipe and kernel object names use.
func FNV1a64(b []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, c := range b {
		h ^= uint64(c)
		h *= 0x00000100000001B3
	}
	return h
}

// checkPlatform has nothing to check on Windows: pipe names have no
// practical length limit at these sizes.
func (e Endpoint) checkPlatform() error { return nil }

// PipeName returns \\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service}; the
// run directory is hashed exactly as written (no normalization).
func (e Endpoint) PipeName() string {
	return fmt.Sprintf("%s%016x-%s", PipePrefix, FNV1a64([]byte(e.runDir)), e.service)
}

// ShmObjectPrefix returns the common part of a Win SHM session's kernel
// object names: Local\netipc-{hash:016x}-{service}-p{profile}-s{session:016x},
// where hash is FNV-1a over run_dir "\n" service "\n" auth_token (decimal).
// Append "-mapping", "-req_event" or "-resp_event".
func (e Endpoint) ShmObjectPrefix(authToken uint64, profile uint32, sessionID uint64) string {
	in := make([]byte, 0, len(e.runDir)+len(e.service)+22)
	in = append(in, e.runDir...)
	in = append(in, '\n')
	in = append(in, e.service...)
	in = append(in, '\n')
	in = strconv.AppendUint(in, authToken, 10)
	return fmt.Sprintf(`Local\netipc-%016x-%s-p%d-s%016x`, FNV1a64(in), e.service, profile, sessionID)
}
