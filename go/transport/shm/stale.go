//go:build linux

package shm

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"netipc.local/netipc/transport"
)

// probeResult is what is found at a region path.
type probeResult uint8

const (
	probeAbsent  probeResult = iota // no file
	probeLive                       // a live server's region: never remove
	probeUnknown                    // liveness could not be evaluated (fd exhaustion): keep
	probeStale                      // dead owner, uninitialised or junk: remove
)

func pidAlive(pid int32) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(int(pid), 0)
	return err == nil || err == unix.EPERM
}

// probeRegion applies the stale detection rules to one path. The header is
// read with pread, never mapped, so a concurrent truncation cannot fault.
func probeRegion(path string) probeResult {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	switch err {
	case nil:
	case unix.ENOENT:
		return probeAbsent
	case unix.EMFILE, unix.ENFILE:
		return probeUnknown
	default:
		return probeStale
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size < RegionHeaderLen {
		return probeStale
	}
	var buf [RegionHeaderLen]byte
	if n, err := unix.Pread(fd, buf[:], 0); err != nil || n != RegionHeaderLen {
		return probeStale
	}
	info, _ := ParseRegionInfo(buf[:])
	if info.Magic != RegionMagic || info.OwnerGeneration == 0 {
		return probeStale
	}
	if int(info.OwnerPid) == os.Getpid() {
		if info.OwnerGeneration == ProcessGeneration() {
			return probeLive
		}
		return probeStale
	}
	if pidAlive(info.OwnerPid) {
		return probeLive
	}
	return probeStale
}

func isRegionName(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, transport.ShmSuffix)
	if !ok || len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CleanupStale removes the region files of dead servers of this endpoint
// ({service}-{16 hex}.ipcshm in the run directory; live regions and files
// whose liveness cannot be evaluated are kept). It returns how many files
// it removed.
func CleanupStale(ep transport.Endpoint) (int, error) {
	entries, err := os.ReadDir(ep.RunDir())
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		if !isRegionName(e.Name(), ep.ShmPrefix()) {
			continue
		}
		p := filepath.Join(ep.RunDir(), e.Name())
		if probeRegion(p) == probeStale && removeFile(p) {
			removed++
		}
	}
	return removed, nil
}

func removeFile(path string) bool {
	err := unix.Unlink(path)
	return err == nil || err == unix.ENOENT
}
