//go:build linux || windows

package session

import (
	"errors"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// Channel is one side of an established session: the connection, the
// negotiated framing parameters, the reusable buffers and, when
// negotiated, the SHM region.
//
// Send hands each packet to the Conn as the encoded (chunk) header and a
// slice of the caller's payload; the Conn of each platform gathers or
// assembles them. Conn and the SHM region are concrete types per platform
// (conn_linux.go, conn_windows.go), so the calls are direct and the
// caller's payload does not escape. Receive reads the first packet into
// a reusable buffer, validates the outer header and the receiver's
// directional limits before growing that buffer, then reads every
// continuation straight into place, validating each chunk header against
// the message in progress.
type Channel struct {
	conn        Conn
	packetSize  int
	sendKind    uint16
	sendLimits  wire.Limits
	recvKind    uint16
	recvLimits  wire.Limits
	rx          []byte
	lastHeader  wire.Header
	haveLast    bool
	tx          []byte
	hdr         [netipc.HeaderLen]byte
	shm         *Region
	sendTimeout time.Duration
	broken      bool
	closed      bool
	// drained holds messages received while a send waited for room
	// (oldest first), handed out by the next receives; drainAllow is how
	// many a waiting send may take ahead (see AllowDrain).
	drained    []drainedMsg
	drainAllow int
	// sendHdr keeps the packet header of a send that receives ahead
	// (receiving reuses hdr for chunk headers).
	sendHdr [netipc.HeaderLen]byte
}

// drainedMsg is a message received ahead, while a send waited.
type drainedMsg struct {
	h       wire.Header
	buf     []byte
	payload []byte
}

// ErrBroken is returned by every operation on a session an earlier
// failure ended.
var ErrBroken = &netipc.StateError{Reason: "session ended by an earlier failure; reconnect"}

// isWaitError reports whether err leaves the byte stream in a known state.
func isWaitError(err error) bool {
	return errors.Is(err, netipc.ErrTimeout) || errors.Is(err, netipc.ErrAborted)
}

// init sets the channel up for one side of a session; region is nil
// without SHM.
func (c *Channel) init(conn Conn, region *Region, ack *wire.HelloAck, client bool) {
	reqLimits := wire.Limits{MaxPayload: ack.AgreedMaxRequestPayloadBytes, MaxItems: ack.AgreedMaxRequestBatchItems}
	respLimits := wire.Limits{MaxPayload: ack.AgreedMaxResponsePayloadBytes, MaxItems: ack.AgreedMaxResponseBatchItems}
	*c = Channel{conn: conn, packetSize: int(ack.AgreedPacketSize), shm: region}
	if client {
		c.sendKind, c.sendLimits = netipc.KindRequest, reqLimits
		c.recvKind, c.recvLimits = netipc.KindResponse, respLimits
	} else {
		c.sendKind, c.sendLimits = netipc.KindResponse, respLimits
		c.recvKind, c.recvLimits = netipc.KindRequest, reqLimits
	}
}

func (c *Channel) usable() error {
	if c.closed {
		return netipc.ErrClosed
	}
	if c.broken {
		return ErrBroken
	}
	return nil
}

func (c *Channel) sendDeadline() time.Time {
	if c.sendTimeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(c.sendTimeout)
}

// checkOutgoing runs local checks; failures leave the session intact.
func (c *Channel) checkOutgoing(h *wire.Header, payloadLen int) error {
	if h.Kind != c.sendKind {
		return &netipc.ArgError{Reason: "message kind does not match this side"}
	}
	if int(h.PayloadLen) != payloadLen {
		return &netipc.ArgError{Reason: "header payload_len does not match the payload"}
	}
	// Fields, not wire.Header's value methods: through a pointer those
	// copy the header first.
	if h.Flags&netipc.FlagBatch != 0 && h.ItemCount == 0 {
		return &netipc.ArgError{Reason: "BATCH with item_count 0"}
	}
	// Admits first: CheckLimits (a value method) would copy the header.
	if !c.sendLimits.Admits(h) {
		return h.CheckLimits(c.sendLimits, c.sendKind == netipc.KindRequest)
	}
	if uint64(payloadLen)+netipc.HeaderLen > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "message longer than 4 GiB"}
	}
	return nil
}

// send sends one message (header + payload). The header travels by
// pointer through the send path: a header passed by value is spilled
// field by field and then copied as a block by the next layer, and the
// block load of bytes just stored narrower stalls on every such copy.
func (c *Channel) send(h *wire.Header, payload []byte) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.checkOutgoing(h, len(payload)); err != nil {
		return err
	}
	if c.shm != nil {
		return c.shmSent(c.shmSendMessage(h, payload))
	}
	return c.sendPackets(h, payload)
}

// sendBatch builds a batch payload from items and sends it. base supplies
// kind, code, status and message id. One item travels as a plain single
// message (peers treat BATCH with one item as single anyway).
func (c *Channel) sendBatch(base wire.Header, items [][]byte) error {
	if err := c.usable(); err != nil {
		return err
	}
	switch len(items) {
	case 0:
		return &netipc.ArgError{Reason: "a batch needs at least one item"}
	case 1:
		base.Flags &^= netipc.FlagBatch
		base.ItemCount = 1
		if uint64(len(items[0])) > 0xFFFFFFFF {
			return &netipc.ArgError{Reason: "payload longer than 4 GiB"}
		}
		base.PayloadLen = uint32(len(items[0]))
		return c.send(&base, items[0])
	}
	size := uint64(len(items)) * netipc.DirEntrySize
	for _, it := range items {
		size = (size+7)&^7 + uint64(len(it))
	}
	size = (size + 7) &^ 7
	if size > 0xFFFFFFFF || uint64(len(items)) > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "batch longer than 4 GiB"}
	}
	base.Flags |= netipc.FlagBatch
	base.ItemCount = uint32(len(items))
	base.PayloadLen = uint32(size)
	if err := c.checkOutgoing(&base, int(size)); err != nil {
		return err
	}
	start := 0
	tx := c.tx[:0]
	if c.shm != nil {
		tx = bin.Zeros(tx, netipc.HeaderLen)
		start = netipc.HeaderLen
	}
	var b wire.BatchBuilder
	b.Reset(tx, uint32(len(items)))
	for _, it := range items {
		if err := b.Add(it); err != nil {
			return err
		}
	}
	tx, err := b.Finish()
	c.tx = tx
	if err != nil {
		return err
	}
	if c.shm != nil {
		base.EncodeTo(tx)
		return c.sendShm(tx)
	}
	return c.sendPackets(&base, tx[start:])
}

func (c *Channel) sendShm(msg []byte) error {
	return c.shmSent(c.shm.Send(msg))
}

// shmSent marks the session broken after a failed publication, except
// for caller misuse, which leaves the region unchanged.
func (c *Channel) shmSent(err error) error {
	if err == nil {
		return nil
	}
	var se *netipc.StateError
	if errors.Is(err, netipc.ViolationShmBusy) || errors.As(err, &se) {
		return err
	}
	c.broken = true
	return err
}

func (c *Channel) sendPackets(h *wire.Header, payload []byte) error {
	n := len(payload)
	plan, ok := wire.NewChunkPlan(n, c.packetSize)
	if !ok {
		return &netipc.StateError{Reason: "packet size too small or too many chunks"}
	}
	deadline := c.sendDeadline()
	h.EncodeTo(c.hdr[:])
	s, e := plan.Range(n, 0)
	if err := c.writePacket(c.hdr[:], payload[s:e], deadline); err != nil {
		if !isWaitError(err) {
			c.broken = true
		}
		return err
	}
	for i := uint32(1); i < plan.ChunkCount; i++ {
		s, e := plan.Range(n, i)
		wire.ChunkHeader{MessageID: h.MessageID, TotalMessageLen: uint32(netipc.HeaderLen + n),
			ChunkIndex: i, ChunkCount: plan.ChunkCount, ChunkPayloadLen: uint32(e - s)}.EncodeTo(c.hdr[:])
		if err := c.writePacket(c.hdr[:], payload[s:e], deadline); err != nil {
			// Part of the message is on the wire: the stream is unusable.
			c.broken = true
			return err
		}
	}
	return nil
}

// SetSendTimeout bounds each blocking send (0: none).
func (c *Channel) SetSendTimeout(d time.Duration) { c.sendTimeout = d }

// AllowDrain lets the next sends receive up to answers messages ahead
// while they wait for room (a client passes its number of requests in
// flight: each has exactly one answer coming). A pipelining client that
// sends more than the socket buffers hold, against a server that answers
// in order and blocks sending answers nobody reads, would otherwise wait
// forever. The messages received ahead are handed out in order by the
// next receives; their memory is bounded by answers times the agreed
// response size. On UDS a send waits for room or data; on Named Pipes the
// write stays pending while the messages are read.
func (c *Channel) AllowDrain(answers int) { c.drainAllow = answers }

// writePacket sends one packet (hdr is c.hdr); while the connection has
// no room it receives the messages AllowDrain lets it take ahead.
func (c *Channel) writePacket(hdr, payload []byte, deadline time.Time) error {
	for len(c.drained) < c.drainAllow {
		sent, err := c.conn.writePacketOrReadable(hdr, payload, deadline)
		if err != nil || sent {
			return err
		}
		// Receiving reuses c.hdr for chunk headers: keep ours apart.
		if &hdr[0] != &c.sendHdr[0] {
			copy(c.sendHdr[:], hdr)
			hdr = c.sendHdr[:len(hdr)]
		}
		if err := c.drainOne(deadline); err != nil {
			return err
		}
	}
	return c.conn.writePacket(hdr, payload, deadline)
}

// drainOne receives one whole message ahead, while a send waits.
func (c *Channel) drainOne(deadline time.Time) error {
	consumed := false
	h, p, err := c.recvPackets(deadline, nil, &consumed)
	if err != nil {
		// Any failure here ends the session: part of an incoming message
		// may have been read, and the send it interrupted is unfinished.
		c.broken = true
		return err
	}
	n := netipc.HeaderLen + len(p)
	buf := c.rx[:n:n]
	c.rx = nil
	c.drained = append(c.drained, drainedMsg{h: *h, buf: buf, payload: buf[netipc.HeaderLen:]})
	return nil
}

// sendFinal sends one header-only message even though the session failed:
// the final error reply to the request that ended it.
func (c *Channel) sendFinal(h wire.Header) error {
	if c.closed {
		return netipc.ErrClosed
	}
	if h.PayloadLen != 0 || h.Kind != c.sendKind {
		return &netipc.ArgError{Reason: "final reply must be an empty response"}
	}
	h.EncodeTo(c.hdr[:])
	if c.shm != nil {
		return c.shm.Send(c.hdr[:])
	}
	return c.conn.writePacket(c.hdr[:], nil, c.sendDeadline())
}

// recv receives one message; the payload aliases the receive buffer and
// the header (nil when none was decoded) is the channel's last header,
// both until the next recv. A timeout or abort before any byte of the
// message was consumed leaves the session usable; every other failure
// ends it.
func (c *Channel) recv(deadline *transport.Deadline, abort *transport.Abort) (*wire.Header, []byte, error) {
	if err := c.usable(); err != nil {
		return nil, nil, err
	}
	if len(c.drained) > 0 {
		d := c.drained[0]
		c.drained[0] = drainedMsg{}
		c.drained = c.drained[1:]
		c.rx = d.buf[:cap(d.buf)]
		c.lastHeader, c.haveLast = d.h, true
		return &c.lastHeader, d.payload, nil
	}
	consumed := false
	var h *wire.Header
	var p []byte
	var err error
	if c.shm != nil {
		h, p, err = c.recvShm(deadline, abort, &consumed)
	} else {
		h, p, err = c.recvPackets(deadline.Time(), abort, &consumed)
	}
	if err != nil {
		var se *netipc.StateError
		misuse := c.shm != nil && errors.As(err, &se)
		if consumed || !(isWaitError(err) || misuse) {
			c.broken = true
		}
	}
	return h, p, err
}

func (c *Channel) checkIncoming(h *wire.Header) error {
	if !c.recvLimits.Admits(h) {
		return h.CheckLimits(c.recvLimits, c.recvKind == netipc.KindRequest)
	}
	if h.Kind != c.recvKind {
		return netipc.ViolationUnexpectedKind
	}
	if h.Flags&netipc.FlagBatch != 0 && h.ItemCount == 0 {
		return netipc.ViolationEmptyBatch
	}
	return nil
}

func (c *Channel) recvShm(deadline *transport.Deadline, abort *transport.Abort, consumed *bool) (*wire.Header, []byte, error) {
	rx, err := c.shmRecv(deadline, abort)
	c.rx = rx
	if err != nil {
		return nil, nil, err
	}
	*consumed = true
	h, err := c.decodeHeader(rx)
	if err != nil {
		return nil, nil, err
	}
	if err := c.checkIncoming(h); err != nil {
		return h, nil, err
	}
	if len(rx) != netipc.HeaderLen+int(h.PayloadLen) {
		return h, nil, netipc.ViolationPacketLength
	}
	return h, rx[netipc.HeaderLen:], nil
}

// decodeHeader decodes the header of a received message into the
// channel's last header (stored field by field, read field by field: no
// block copy of bytes just stored) and returns it.
func (c *Channel) decodeHeader(b []byte) (*wire.Header, error) {
	if err := wire.DecodeHeaderInto(&c.lastHeader, b); err != nil {
		return nil, err
	}
	c.haveLast = true
	return &c.lastHeader, nil
}

func (c *Channel) recvPackets(deadline time.Time, abort *transport.Abort, consumed *bool) (*wire.Header, []byte, error) {
	// The first packet can never legitimately exceed the packet size, nor
	// the header plus the largest payload we accept.
	firstCap := min(c.packetSize, netipc.HeaderLen+int(c.recvLimits.MaxPayload))
	if len(c.rx) < firstCap {
		c.rx = make([]byte, firstCap)
	}
	stored, more, err := c.conn.readPacket(c.rx[:firstCap], deadline, abort)
	if err != nil {
		return nil, nil, err
	}
	*consumed = true
	h, err := c.decodeHeader(c.rx[:stored])
	if err != nil {
		return nil, nil, err
	}
	if err := c.checkIncoming(h); err != nil {
		return h, nil, err
	}
	if more {
		return h, nil, netipc.ViolationPacketLength
	}
	n := int(h.PayloadLen)
	total := netipc.HeaderLen + n
	plan, _ := wire.NewChunkPlan(n, c.packetSize)
	if !plan.IsChunked() {
		if stored != total {
			return h, nil, netipc.ViolationPacketLength
		}
		return h, c.rx[netipc.HeaderLen:total:total], nil
	}
	// A chunked message fills its first packet completely.
	if stored != c.packetSize {
		return h, nil, netipc.ViolationPacketLength
	}
	// Limits were checked above: this allocation is bounded by the
	// negotiated payload ceiling.
	if len(c.rx) < total {
		grown := make([]byte, total)
		copy(grown, c.rx[:stored])
		c.rx = grown
	}
	for i := uint32(1); i < plan.ChunkCount; i++ {
		s, e := plan.Range(n, i)
		got, more, err := c.conn.readChunk(&c.hdr, c.rx[:netipc.HeaderLen+e], netipc.HeaderLen+s, deadline, abort)
		if err != nil {
			return h, nil, err
		}
		if got < netipc.HeaderLen {
			return h, nil, bin.Truncated("chunk header", netipc.HeaderLen, got)
		}
		ch, err := wire.DecodeChunkHeader(c.hdr[:])
		switch {
		case err != nil:
			return h, nil, err
		case ch.MessageID != h.MessageID:
			return h, nil, netipc.ViolationChunkMessageID
		case ch.ChunkIndex != i:
			return h, nil, netipc.ViolationChunkIndex
		case ch.ChunkCount != plan.ChunkCount:
			return h, nil, netipc.ViolationChunkCount
		case ch.TotalMessageLen != uint32(total):
			return h, nil, netipc.ViolationChunkTotalLen
		case int(ch.ChunkPayloadLen) != e-s:
			return h, nil, netipc.ViolationChunkPayloadLen
		case more || got != netipc.HeaderLen+e-s:
			return h, nil, netipc.ViolationPacketLength
		}
	}
	return h, c.rx[netipc.HeaderLen:total:total], nil
}

func (c *Channel) close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.shm != nil {
		err = c.shm.Close()
	}
	if e := c.conn.close(); e != nil && err == nil {
		err = e
	}
	return err
}

// NewChannel returns a channel over conn for one side of a session with
// the negotiated ack, without SHM (transport tests drive it with raw
// packets).
func NewChannel(conn Conn, ack wire.HelloAck, client bool) *Channel {
	c := new(Channel)
	c.init(conn, nil, &ack, client)
	return c
}

// Send sends one message (header + payload).
func (c *Channel) Send(h wire.Header, payload []byte) error { return c.send(&h, payload) }

// Recv receives one message; the payload aliases the receive buffer.
func (c *Channel) Recv(deadline time.Time, abort *transport.Abort) (wire.Header, []byte, error) {
	d := transport.DeadlineAt(deadline)
	h, p, err := c.recv(&d, abort)
	if h == nil {
		return wire.Header{}, p, err
	}
	return *h, p, err
}

// IsBroken reports whether an earlier failure ended the channel.
func (c *Channel) IsBroken() bool { return c.broken }
