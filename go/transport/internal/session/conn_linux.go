//go:build linux

package session

import (
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/spin"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/shm"
	"netipc.local/netipc/wire"
)

// Conn is the SEQPACKET socket under a session. Sending never copies a
// payload: each datagram is gathered from the encoded header and a slice
// of the caller's payload (sendmsg iovecs); a continuation is scattered
// straight into place (recvmsg iovecs).
//
// The first packet of each message is received with the adaptive
// pre-poll spin of sys.RecvPacketSpin, its budget learned per session;
// continuations follow their first packet and are received directly.
type Conn struct {
	fd   int
	spin spin.Tuner
}

// UDSMaxSpin bounds one pre-poll spin of a socket receive. It is longer
// than the SHM default: each try is a system call, and the peer's turn
// around includes its own send and receive calls.
const UDSMaxSpin = 50 * time.Microsecond

// udsSpinScale: a socket receive spins for 8 times its average wait (the
// SHM spin for 2 times). Ping-pong waits over a socket have a tail at
// about twice the usual round trip, and a spin that stops short of it
// costs a kernel wake-up of tens of microseconds; measured Go<->Go on 2
// cores, uds-ping-pong went from ~160k to ~210k calls/s (2 -> 8). An idle
// session still collapses to the minimum budget after a few long waits.
const udsSpinScale = 8

// SocketConn is the Conn of a connected SEQPACKET socket; the session
// owns fd from then on.
func SocketConn(fd int) Conn { return Conn{fd: fd, spin: spin.NewScaled(UDSMaxSpin, udsSpinScale)} }

// Region is the SHM data plane; the socket then only signals hang-up.
type Region = shm.Region

func (c *Conn) writePacket(hdr, payload []byte, deadline time.Time) error {
	return sys.SendPacket(c.fd, hdr, payload, deadline)
}

// writePacketOrReadable sends one packet, except that while the socket
// has no room and data waits to be read it returns false, nothing sent.
func (c *Conn) writePacketOrReadable(hdr, payload []byte, deadline time.Time) (bool, error) {
	return sys.SendPacketOrReadable(c.fd, hdr, payload, deadline)
}

// readPacket reads one packet into buf; more reports it was longer.
func (c *Conn) readPacket(buf []byte, deadline time.Time, abort *transport.Abort) (int, bool, error) {
	stored, real, err := sys.RecvPacketSpin(c.fd, buf, nil, deadline, abort, &c.spin)
	return stored, real > stored, err
}

// readChunk reads one continuation: its chunk header into hdr, the rest
// into rx[off:]. n counts the bytes stored; more reports a longer packet.
func (c *Conn) readChunk(hdr *[netipc.HeaderLen]byte, rx []byte, off int, deadline time.Time, abort *transport.Abort) (int, bool, error) {
	got, real, err := sys.RecvPacket(c.fd, hdr[:], rx[off:], deadline, abort)
	return got, real > got, err
}

func (c *Conn) close() error {
	if err := unix.Close(c.fd); err != nil {
		return sys.Wrap("close", err)
	}
	return nil
}

func (c *Channel) shmSendMessage(h *wire.Header, payload []byte) error {
	return c.shm.SendMessage(h, payload)
}

func (c *Channel) shmRecv(deadline *transport.Deadline, abort *transport.Abort) ([]byte, error) {
	return c.shm.RecvWithin(c.rx, deadline, abort, c.conn.fd)
}

// Fd returns the session socket, for caller-owned event loops. On an SHM
// session data arrives through the region, and the socket then only
// signals hang-up.
func (s *Info) Fd() int { return s.ch.conn.fd }

// handshakeBuf is a buffer of n bytes for one handshake message.
func (c *Conn) handshakeBuf(n int) []byte { return make([]byte, n) }

// readMsg reads one handshake message: the bytes stored and the real
// length of the datagram.
func (c *Conn) readMsg(buf []byte, deadline time.Time, abort *transport.Abort) (stored, real int, err error) {
	return sys.RecvPacket(c.fd, buf, nil, deadline, abort)
}
