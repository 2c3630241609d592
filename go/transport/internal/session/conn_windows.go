//go:build windows

package session

import (
	"time"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/winpipe"
	"netipc.local/netipc/transport/winshm"
	"netipc.local/netipc/wire"
)

// Conn is the message-mode Named Pipe under a session.
//
// A pipe write has no gather form, and overlapped I/O needs heap buffers:
// each pipe message is assembled in the reusable pkt buffer (header or
// chunk header, then the payload slice). A continuation is read straight
// into place: the 32 payload bytes its chunk header lands on are saved
// and restored around the read.
type Conn struct {
	p      *winpipe.Pipe
	hangup func() bool
	pkt    []byte
}

// PipeConn is the Conn of a connected pipe; the session owns p from then
// on.
func PipeConn(p *winpipe.Pipe) Conn { return Conn{p: p, hangup: p.PeerBroken} }

// Region is the Win SHM data plane; the pipe then only signals hang-up.
type Region = winshm.Region

func (c *Conn) writePacket(hdr, payload []byte, deadline time.Time) error {
	if c.p.WritePending() {
		// The same packet, started by writePacketOrReadable.
		return c.finishWrite(deadline)
	}
	c.pkt = append(append(c.pkt[:0], hdr...), payload...)
	return c.p.Write(c.pkt, deadline)
}

// pendingWritePollMs: how often a write left pending looks for messages
// to take ahead.
const pendingWritePollMs = 2

// writePacketOrReadable starts the write once and leaves it pending while
// messages wait to be read (false: the caller reads, then calls again for
// the same packet, which goes on waiting for that write).
func (c *Conn) writePacketOrReadable(hdr, payload []byte, deadline time.Time) (bool, error) {
	if !c.p.WritePending() {
		if _, err := sys.Remaining(deadline); err != nil {
			return false, err
		}
		c.pkt = append(append(c.pkt[:0], hdr...), payload...)
		if err := c.p.StartWrite(c.pkt); err != nil {
			return false, err
		}
	}
	for {
		left, err := sys.Remaining(deadline)
		if err != nil {
			c.p.CancelWrite()
			return false, err
		}
		done, err := c.p.PollWrite(min(sys.WaitMs(left), pendingWritePollMs))
		if err != nil || done {
			return done, err
		}
		if c.p.Readable() {
			return false, nil
		}
	}
}

// finishWrite waits for the pending write until deadline (cancelled and
// collected on time-out).
func (c *Conn) finishWrite(deadline time.Time) error {
	for {
		left, err := sys.Remaining(deadline)
		if err != nil {
			c.p.CancelWrite()
			return err
		}
		done, err := c.p.PollWrite(sys.WaitMs(left))
		if err != nil || done {
			return err
		}
	}
}

// readPacket reads one packet into buf; more reports it was longer.
func (c *Conn) readPacket(buf []byte, deadline time.Time, abort *transport.Abort) (int, bool, error) {
	return c.p.Read(buf, deadline, abort)
}

// readChunk reads one continuation: its chunk header into hdr, the rest
// into rx[off:]. n counts the bytes stored; more reports a longer packet.
func (c *Conn) readChunk(hdr *[netipc.HeaderLen]byte, rx []byte, off int, deadline time.Time, abort *transport.Abort) (int, bool, error) {
	at := off - netipc.HeaderLen
	var saved [netipc.HeaderLen]byte
	copy(saved[:], rx[at:off])
	got, more, err := c.p.Read(rx[at:], deadline, abort)
	copy(hdr[:], rx[at:at+max(0, min(got, netipc.HeaderLen))])
	copy(rx[at:off], saved[:])
	return got, more, err
}

func (c *Conn) close() error { return c.p.Close() }

func (c *Channel) shmSendMessage(h *wire.Header, payload []byte) error {
	c.tx = h.AppendTo(c.tx[:0])
	c.tx = append(c.tx, payload...)
	return c.shm.Send(c.tx)
}

func (c *Channel) shmRecv(deadline *transport.Deadline, abort *transport.Abort) ([]byte, error) {
	return c.shm.Recv(c.rx, deadline.Time(), abort, c.conn.hangup)
}

// Handle returns the pipe handle. On an SHM session data arrives through
// the region, and the pipe then only signals hang-up.
func (s *Info) Handle() windows.Handle { return s.ch.conn.p.Handle() }

// PeerGone reports, without blocking, whether the pipe broke, the session
// was shut down, or unsolicited data waits on the pipe of an idle client
// session (a server never sends unasked).
func (s *Info) PeerGone() bool { return s.ch.conn.p.PeerGone() }

// Shutdown makes the receive in progress and every later one fail with
// netipc.ErrPeerClosed (the Windows counterpart of shutdown(SHUT_RD));
// with writes, sends fail the same way (SHUT_RDWR). Unlike the other
// methods it is safe from any goroutine.
func (s *Info) Shutdown(writes bool) { s.ch.conn.p.Shutdown(writes) }

// handshakeBuf is a heap buffer of n bytes for one handshake message (n
// is at most the pipe's scratch size).
func (c *Conn) handshakeBuf(n int) []byte { return c.p.Scratch()[:n] }

// readMsg reads one handshake message: the bytes stored and the length
// of the message, len(buf) when it was longer than buf.
func (c *Conn) readMsg(buf []byte, deadline time.Time, abort *transport.Abort) (stored, real int, err error) {
	n, more, err := c.p.Read(buf, deadline, abort)
	real = n
	if more {
		real = len(buf)
	}
	return n, real, err
}
