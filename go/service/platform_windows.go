//go:build windows

package service

import (
	"time"

	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/npipe"
	"netipc.local/netipc/transport/winshm"
)

// The one platform seam of Level 2: on Windows sessions run over Named
// Pipes with the Win SHM data plane (SHM_HYBRID, SHM_BUSYWAIT).
type (
	l1Listener      = npipe.Listener
	l1PendingConn   = npipe.PendingConn
	l1ClientSession = npipe.ClientSession
	l1ServerSession = npipe.ServerSession
	l1Message       = npipe.Message
	l1ClientConfig  = npipe.ClientConfig
	l1ServerConfig  = npipe.ServerConfig
	shmConfig       = winshm.Config
)

const (
	implementedProfiles = npipe.ImplementedProfiles
	shmProfiles         = npipe.ShmProfiles
)

func l1Listen(ep transport.Endpoint) (*l1Listener, error) { return npipe.Listen(ep) }

func l1Connect(ep transport.Endpoint, cfg l1ClientConfig, deadline time.Time, abort *transport.Abort) (*l1ClientSession, error) {
	return npipe.Connect(ep, cfg, deadline, abort)
}

// peerGone peeks at an idle session pipe: broken, or holding unsolicited
// data, means the session is unusable.
func peerGone(s *l1ClientSession) bool { return s.PeerGone() }

func transportSleep(d time.Duration, a *transport.Abort) error {
	return sys.Sleep(d, time.Time{}, a)
}

// sessionConn is what Stop keeps of a running session to wake it.
type sessionConn struct{ s *l1ServerSession }

func connOf(s *l1ServerSession) sessionConn { return sessionConn{s} }

// shutdownRead makes the session's blocked and later receives fail as if
// the peer closed.
func (c sessionConn) shutdownRead() { c.s.Shutdown(false) }

// shutdownAll also fails its blocked and later sends.
func (c sessionConn) shutdownAll() { c.s.Shutdown(true) }
