//go:build linux

package service

import (
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/shm"
	"netipc.local/netipc/transport/uds"
)

// The one platform seam of Level 2: on Linux sessions run over UDS
// SOCK_SEQPACKET with the POSIX SHM data plane (platform_windows.go maps
// the same names to Named Pipes and Win SHM).
type (
	l1Listener      = uds.Listener
	l1PendingConn   = uds.PendingConn
	l1ClientSession = uds.ClientSession
	l1ServerSession = uds.ServerSession
	l1Message       = uds.Message
	l1ClientConfig  = uds.ClientConfig
	l1ServerConfig  = uds.ServerConfig
	shmConfig       = shm.Config
)

const (
	implementedProfiles = uds.ImplementedProfiles
	shmProfiles         = uds.ShmProfiles
)

func l1Listen(ep transport.Endpoint) (*l1Listener, error) { return uds.Listen(ep) }

func l1Connect(ep transport.Endpoint, cfg l1ClientConfig, deadline time.Time, abort *transport.Abort) (*l1ClientSession, error) {
	return uds.Connect(ep, cfg, deadline, abort)
}

// peerGone polls an idle session socket with a zero timeout: hang-up,
// error or unsolicited data means the session is unusable.
func peerGone(s *l1ClientSession) bool {
	fds := [1]unix.PollFd{{Fd: int32(s.Fd()), Events: unix.POLLIN | unix.POLLRDHUP}}
	n, err := unix.Poll(fds[:], 0)
	if err == unix.EINTR {
		return false
	}
	return err != nil || n > 0
}

func transportSleep(d time.Duration, a *transport.Abort) error {
	fds := [1]unix.PollFd{{Fd: int32(a.Fd()), Events: unix.POLLIN}}
	_, err := unix.Poll(fds[:], int(d/time.Millisecond))
	return err
}

// sessionConn is what Stop keeps of a running session to wake it: the
// socket.
type sessionConn int

func connOf(s *l1ServerSession) sessionConn { return sessionConn(s.Fd()) }

// shutdownRead makes the session's blocked and later receives see EOF.
func (c sessionConn) shutdownRead() { _ = unix.Shutdown(int(c), unix.SHUT_RD) }

// shutdownAll also fails its sends.
func (c sessionConn) shutdownAll() { _ = unix.Shutdown(int(c), unix.SHUT_RDWR) }
