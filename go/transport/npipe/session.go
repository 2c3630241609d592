//go:build windows

package npipe

import (
	"time"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// Message is a received message. It is borrowed and ephemeral: Payload
// (and every item) aliases the session's receive buffer and is valid only
// until the next receive on that session or its Close. Copy what you need.
type Message struct {
	// Header is the outer header.
	Header wire.Header
	// Payload is the whole payload (for a batch: directory + items).
	Payload []byte
	batch   wire.BatchView
	isBatch bool
}

func newMessage(h wire.Header, payload []byte) (Message, error) {
	m := Message{Header: h, Payload: payload}
	if h.HasBatchDirectory() && (h.Kind == netipc.KindRequest || h.TransportStatus == netipc.StatusOK) {
		b, err := wire.DecodeBatch(payload, h.ItemCount)
		if err != nil {
			return Message{}, err
		}
		m.batch, m.isBatch = b, true
	}
	return m, nil
}

// IsOK reports whether the transport status is OK.
func (m Message) IsOK() bool { return m.Header.TransportStatus == netipc.StatusOK }

// IsBatch reports whether the payload carries a batch directory.
func (m Message) IsBatch() bool { return m.isBatch }

// ItemCount is the number of items: the batch count, or 1.
func (m Message) ItemCount() int {
	if m.isBatch {
		return m.batch.Len()
	}
	return 1
}

// Item returns item index: a batch item, or the whole payload for index 0
// of a single message. ok is false out of range.
func (m Message) Item(index int) (item []byte, ok bool) {
	if m.isBatch {
		return m.batch.Item(index)
	}
	if index == 0 {
		return m.Payload, true
	}
	return nil, false
}

// sessionInfo holds the negotiated values both session kinds expose.
type sessionInfo struct {
	ch  channel
	ack wire.HelloAck
}

// HelloAck returns the negotiated session values.
func (s *sessionInfo) HelloAck() wire.HelloAck { return s.ack }

// SessionID returns the server-assigned session id.
func (s *sessionInfo) SessionID() uint64 { return s.ack.SessionID }

// SelectedProfile returns the negotiated profile bit.
func (s *sessionInfo) SelectedProfile() uint32 { return s.ack.SelectedProfile }

// IsShm reports whether the SHM data plane is active.
func (s *sessionInfo) IsShm() bool { return s.ch.shm != nil }

// PacketSize returns the agreed packet size.
func (s *sessionInfo) PacketSize() uint32 { return s.ack.AgreedPacketSize }

// RequestLimits returns the agreed request payload and item limits.
func (s *sessionInfo) RequestLimits() wire.Limits {
	return wire.Limits{MaxPayload: s.ack.AgreedMaxRequestPayloadBytes, MaxItems: s.ack.AgreedMaxRequestBatchItems}
}

// ResponseLimits returns the agreed response payload and item limits.
func (s *sessionInfo) ResponseLimits() wire.Limits {
	return wire.Limits{MaxPayload: s.ack.AgreedMaxResponsePayloadBytes, MaxItems: s.ack.AgreedMaxResponseBatchItems}
}

// IsBroken reports whether an earlier failure ended the session.
func (s *sessionInfo) IsBroken() bool { return s.ch.broken }

// SetSendTimeout bounds every later send (0 blocks).
func (s *sessionInfo) SetSendTimeout(d time.Duration) { s.ch.sendTimeout = d }

// Handle returns the pipe handle. On an SHM session data arrives through
// the region, and the pipe then only signals hang-up.
func (s *sessionInfo) Handle() windows.Handle { return s.ch.p.h }

// PeerGone reports, without blocking, whether the pipe broke, the session
// was shut down, or unsolicited data waits on the pipe of an idle client
// session (a server never sends unasked).
func (s *sessionInfo) PeerGone() bool { return s.ch.p.peerGone() }

// Shutdown makes the receive in progress and every later one fail with
// netipc.ErrPeerClosed (the Windows counterpart of shutdown(SHUT_RD));
// with writes, sends fail the same way (SHUT_RDWR). Unlike the other
// methods it is safe from any goroutine.
func (s *sessionInfo) Shutdown(writes bool) { s.ch.p.shutdown(writes) }

// Close closes the session (and its SHM region: unmapped, handles closed;
// the kernel objects vanish with the last handle).
func (s *sessionInfo) Close() error { return s.ch.close() }

// ClientSession is an established client session. Requests may be
// pipelined on the Named Pipe (up to ClientConfig.MaxInFlight in flight, answered in
// any order, matched by message id); SHM carries one request at a time. A
// ClientSession is not safe for concurrent use.
type ClientSession struct {
	sessionInfo
	ep       transport.Endpoint
	inFlight inFlight
	nextID   uint64
}

// Connect connects to ep, runs the handshake (until deadline; a zero
// deadline waits forever) and attaches SHM when negotiated.
//
// Failures: netipc.ErrNotFound when nobody serves the endpoint; a
// *netipc.StatusError wrapping ErrAuthFailed, ErrUnsupported,
// ErrIncompatible or ErrLimitExceeded when the server rejects the
// handshake; ErrShmAttach when the negotiated region cannot be attached
// (reconnect without SHM); ErrTimeout / ErrAborted.
func Connect(ep transport.Endpoint, cfg ClientConfig, deadline time.Time, abort *transport.Abort) (*ClientSession, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	p, ack, region, err := clientHandshake(ep, &cfg, deadline, abort)
	if err != nil {
		return nil, err
	}
	s := &ClientSession{ep: ep, inFlight: newInFlight(cfg.MaxInFlight), nextID: 1}
	s.ack = ack
	s.ch = channel{
		p: p, packetSize: int(ack.AgreedPacketSize), shm: region,
		sendKind: netipc.KindRequest, sendLimits: s.RequestLimits(),
		recvKind: netipc.KindResponse, recvLimits: s.ResponseLimits(),
	}
	s.ch.hangup = p.peerBroken
	return s, nil
}

// Endpoint returns the endpoint connected to.
func (s *ClientSession) Endpoint() transport.Endpoint { return s.ep }

// NextMessageID returns a message id not currently in flight (ids count
// up from 1).
func (s *ClientSession) NextMessageID() uint64 {
	for {
		id := s.nextID
		s.nextID++
		if !s.inFlight.contains(id) {
			return id
		}
	}
}

// InFlight returns the ids of requests sent and not yet answered (empty
// once the session broke; see FailedMessageIDs).
func (s *ClientSession) InFlight() []uint64 {
	if s.ch.broken {
		return nil
	}
	return s.inFlight.ids
}

// FailedMessageIDs returns, once the session broke, every request that
// was in flight: they all failed.
func (s *ClientSession) FailedMessageIDs() []uint64 {
	if !s.ch.broken {
		return nil
	}
	return s.inFlight.ids
}

func (s *ClientSession) admit(id uint64) error {
	if err := s.ch.usable(); err != nil {
		return err
	}
	if s.ch.shm != nil && len(s.inFlight.ids) > 0 {
		return netipc.ViolationShmBusy
	}
	return s.inFlight.checkInsert(id)
}

func (s *ClientSession) track(id uint64, err error) error {
	if err == nil || s.ch.broken {
		_ = s.inFlight.insert(id)
	}
	return err
}

// SendRequest sends one single request without waiting for its answer
// (pipelining). The id must not be in flight (ViolationDuplicateMessageID,
// the session stays usable).
func (s *ClientSession) SendRequest(code uint16, messageID uint64, payload []byte) error {
	if uint64(len(payload)) > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "payload longer than 4 GiB"}
	}
	return s.SendMessage(wire.RequestHeader(code, messageID, uint32(len(payload))), payload)
}

// SendBatchRequest sends one batch request of the given items (one item
// travels as a plain single request).
func (s *ClientSession) SendBatchRequest(code uint16, messageID uint64, items [][]byte) error {
	if err := s.admit(messageID); err != nil {
		return err
	}
	return s.track(messageID, s.ch.sendBatch(wire.RequestHeader(code, messageID, 0), items))
}

// SendMessage sends a request with a caller-built header.
func (s *ClientSession) SendMessage(h wire.Header, payload []byte) error {
	if err := s.admit(h.MessageID); err != nil {
		return err
	}
	return s.track(h.MessageID, s.ch.send(h, payload))
}

// RecvResponse receives the next response, whichever request it answers
// (check Header.MessageID). A response to an id not in flight is a
// protocol violation that ends the session. The Message is valid until the
// next receive.
func (s *ClientSession) RecvResponse(deadline time.Time, abort *transport.Abort) (Message, error) {
	h, p, err := s.ch.recv(deadline, abort)
	if err != nil {
		return Message{}, err
	}
	if !s.inFlight.remove(h.MessageID) {
		s.ch.broken = true
		return Message{}, netipc.ViolationUnknownMessageID
	}
	m, err := newMessage(h, p)
	if err != nil {
		s.ch.broken = true
	}
	return m, err
}

// Call sends one request and waits for its response (no other request may
// be in flight).
func (s *ClientSession) Call(code uint16, payload []byte, deadline time.Time, abort *transport.Abort) (Message, error) {
	if len(s.InFlight()) != 0 {
		return Message{}, &netipc.StateError{Reason: "Call with requests in flight"}
	}
	if err := s.SendRequest(code, s.NextMessageID(), payload); err != nil {
		return Message{}, err
	}
	return s.RecvResponse(deadline, abort)
}

// CallBatch sends one batch request and waits for its response.
func (s *ClientSession) CallBatch(code uint16, items [][]byte, deadline time.Time, abort *transport.Abort) (Message, error) {
	if len(s.InFlight()) != 0 {
		return Message{}, &netipc.StateError{Reason: "Call with requests in flight"}
	}
	if err := s.SendBatchRequest(code, s.NextMessageID(), items); err != nil {
		return Message{}, err
	}
	return s.RecvResponse(deadline, abort)
}

// ServerSession is an established server session. It is not safe for
// concurrent use.
type ServerSession struct {
	sessionInfo
}

// RecvRequest receives the next request. The Message is valid until the
// next receive. A timeout or abort leaves the session usable; any other
// failure ends it (see SendFinalError to answer the offending request).
func (s *ServerSession) RecvRequest(deadline time.Time, abort *transport.Abort) (Message, error) {
	h, p, err := s.ch.recv(deadline, abort)
	if err != nil {
		return Message{}, err
	}
	m, err := newMessage(h, p)
	if err != nil {
		s.ch.broken = true
	}
	return m, err
}

// SendResponse sends a single OK response.
func (s *ServerSession) SendResponse(code uint16, messageID uint64, payload []byte) error {
	if uint64(len(payload)) > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "payload longer than 4 GiB"}
	}
	return s.ch.send(wire.ResponseHeader(code, messageID, uint32(len(payload))), payload)
}

// SendBatchResponse sends an OK batch response of the given items.
func (s *ServerSession) SendBatchResponse(code uint16, messageID uint64, items [][]byte) error {
	return s.ch.sendBatch(wire.ResponseHeader(code, messageID, 0), items)
}

// SendError sends an error response: empty payload, flags 0, item_count 1.
func (s *ServerSession) SendError(code uint16, messageID uint64, status uint16) error {
	return s.ch.send(wire.ErrorResponseHeader(code, messageID, status), nil)
}

// SendMessage sends a response with a caller-built header.
func (s *ServerSession) SendMessage(h wire.Header, payload []byte) error {
	return s.ch.send(h, payload)
}

// LastRequestHeader returns the header of the last received message whose
// outer header decoded, even if the message was then rejected.
func (s *ServerSession) LastRequestHeader() (wire.Header, bool) {
	return s.ch.lastHeader, s.ch.haveLast
}

// SendFinalError answers the request that broke the session (over a
// limit, malformed) with an error status before the session is closed.
func (s *ServerSession) SendFinalError(status uint16) error {
	if !s.ch.broken {
		return &netipc.StateError{Reason: "the session has not failed"}
	}
	if !s.ch.haveLast || s.ch.lastHeader.Kind != netipc.KindRequest {
		return &netipc.StateError{Reason: "no request header to answer"}
	}
	h := s.ch.lastHeader
	return s.ch.sendFinal(wire.ErrorResponseHeader(h.Code, h.MessageID, status))
}

// inFlight is the fixed-capacity set of in-flight message ids; small
// enough that a linear scan beats hashing, and allocation-free after
// creation.
type inFlight struct {
	ids []uint64
}

func newInFlight(capacity int) inFlight { return inFlight{ids: make([]uint64, 0, max(capacity, 1))} }

func (f *inFlight) contains(id uint64) bool {
	for _, x := range f.ids {
		if x == id {
			return true
		}
	}
	return false
}

func (f *inFlight) checkInsert(id uint64) error {
	if f.contains(id) {
		return netipc.ViolationDuplicateMessageID
	}
	if len(f.ids) >= cap(f.ids) {
		return &netipc.LimitError{Limit: netipc.LimitLocal, Max: uint64(cap(f.ids)), Actual: uint64(len(f.ids) + 1)}
	}
	return nil
}

func (f *inFlight) insert(id uint64) error {
	if err := f.checkInsert(id); err != nil {
		return err
	}
	f.ids = append(f.ids, id)
	return nil
}

func (f *inFlight) remove(id uint64) bool {
	for i, x := range f.ids {
		if x == id {
			last := len(f.ids) - 1
			f.ids[i] = f.ids[last]
			f.ids = f.ids[:last]
			return true
		}
	}
	return false
}
