//go:build linux || windows

package session

import (
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// Info holds the negotiated values both session kinds expose.
type Info struct {
	ch  Channel
	ack wire.HelloAck
}

// HelloAck returns the negotiated session values.
func (s *Info) HelloAck() wire.HelloAck { return s.ack }

// SessionID returns the server-assigned session id.
func (s *Info) SessionID() uint64 { return s.ack.SessionID }

// SelectedProfile returns the negotiated profile bit.
func (s *Info) SelectedProfile() uint32 { return s.ack.SelectedProfile }

// IsShm reports whether the SHM data plane is active.
func (s *Info) IsShm() bool { return s.ch.shm != nil }

// PacketSize returns the agreed packet size.
func (s *Info) PacketSize() uint32 { return s.ack.AgreedPacketSize }

// RequestLimits returns the agreed request payload and item limits.
func (s *Info) RequestLimits() wire.Limits {
	return wire.Limits{MaxPayload: s.ack.AgreedMaxRequestPayloadBytes, MaxItems: s.ack.AgreedMaxRequestBatchItems}
}

// ResponseLimits returns the agreed response payload and item limits.
func (s *Info) ResponseLimits() wire.Limits {
	return wire.Limits{MaxPayload: s.ack.AgreedMaxResponsePayloadBytes, MaxItems: s.ack.AgreedMaxResponseBatchItems}
}

// IsBroken reports whether an earlier failure ended the session.
func (s *Info) IsBroken() bool { return s.ch.broken }

// SetSendTimeout bounds every later send (0 blocks).
func (s *Info) SetSendTimeout(d time.Duration) { s.ch.SetSendTimeout(d) }

// Close closes the session and its SHM region.
func (s *Info) Close() error { return s.ch.close() }

// Client is the core of an established client session. Requests may be
// pipelined on the packet connection (up to the configured in-flight
// depth, answered in any order, matched by message id); SHM carries one
// request at a time. A Client is not safe for concurrent use.
type Client struct {
	Info
	ep       transport.Endpoint
	inFlight inFlight
	nextID   uint64
}

// InitClient sets up an established client session over conn (and region,
// nil without SHM) with the negotiated ack.
func InitClient(s *Client, ep transport.Endpoint, maxInFlight int, ack wire.HelloAck, conn Conn, region *Region) {
	*s = Client{ep: ep, inFlight: newInFlight(maxInFlight), nextID: 1}
	s.ack = ack
	s.ch.init(conn, region, &s.ack, true)
}

// Endpoint returns the endpoint connected to.
func (s *Client) Endpoint() transport.Endpoint { return s.ep }

// NextMessageID returns a message id not currently in flight (ids count
// up from 1).
func (s *Client) NextMessageID() uint64 {
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
func (s *Client) InFlight() []uint64 {
	if s.ch.broken {
		return nil
	}
	return s.inFlight.ids
}

// FailedMessageIDs returns, once the session broke, every request that
// was in flight: they all failed.
func (s *Client) FailedMessageIDs() []uint64 {
	if !s.ch.broken {
		return nil
	}
	return s.inFlight.ids
}

func (s *Client) admit(id uint64) error {
	if err := s.ch.usable(); err != nil {
		return err
	}
	if s.ch.shm != nil && len(s.inFlight.ids) > 0 {
		return netipc.ViolationShmBusy
	}
	return s.inFlight.checkInsert(id)
}

func (s *Client) track(id uint64, err error) error {
	if err == nil || s.ch.broken {
		_ = s.inFlight.insert(id)
	}
	return err
}

// SendRequest sends one single request without waiting for its answer
// (pipelining). The id must not be in flight (ViolationDuplicateMessageID,
// the session stays usable).
func (s *Client) SendRequest(code uint16, messageID uint64, payload []byte) error {
	if uint64(len(payload)) > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "payload longer than 4 GiB"}
	}
	// Built in place (see Channel.send).
	var h wire.Header
	wire.RequestHeaderInto(&h, code, messageID, uint32(len(payload)))
	return s.sendMessage(&h, payload)
}

// SendBatchRequest sends one batch request of the given items (one item
// travels as a plain single request).
func (s *Client) SendBatchRequest(code uint16, messageID uint64, items [][]byte) error {
	if err := s.admit(messageID); err != nil {
		return err
	}
	s.ch.AllowDrain(len(s.inFlight.ids))
	return s.track(messageID, s.ch.sendBatch(wire.RequestHeader(code, messageID, 0), items))
}

// SendMessage sends a request with a caller-built header.
func (s *Client) SendMessage(h wire.Header, payload []byte) error { return s.sendMessage(&h, payload) }

func (s *Client) sendMessage(h *wire.Header, payload []byte) error {
	if err := s.admit(h.MessageID); err != nil {
		return err
	}
	s.ch.AllowDrain(len(s.inFlight.ids))
	return s.track(h.MessageID, s.ch.send(h, payload))
}

// RecvResponse receives the next response, whichever request it answers
// (check Header.MessageID). A response to an id not in flight is a
// protocol violation that ends the session. The Message is valid until the
// next receive.
func (s *Client) RecvResponse(deadline time.Time, abort *transport.Abort) (Message, error) {
	d := transport.DeadlineAt(deadline)
	return s.RecvResponseWithin(&d, abort)
}

// RecvResponseWithin is RecvResponse with a transport.Deadline (a pending
// one is fixed only when the receive has to wait).
func (s *Client) RecvResponseWithin(deadline *transport.Deadline, abort *transport.Abort) (Message, error) {
	var m Message
	err := s.RecvResponseInto(&m, deadline, abort)
	return m, err
}

// RecvResponseInto is RecvResponseWithin into a caller's Message (the
// zero Message on error), which spares copying it: for hot loops.
func (s *Client) RecvResponseInto(m *Message, deadline *transport.Deadline, abort *transport.Abort) error {
	h, p, err := s.ch.recv(deadline, abort)
	if err != nil {
		*m = Message{}
		return err
	}
	if !s.inFlight.remove(h.MessageID) {
		s.ch.broken = true
		*m = Message{}
		return netipc.ViolationUnknownMessageID
	}
	if err := m.set(h, p); err != nil {
		s.ch.broken = true
		return err
	}
	return nil
}

// Call sends one request and waits for its response (no other request may
// be in flight).
func (s *Client) Call(code uint16, payload []byte, deadline time.Time, abort *transport.Abort) (Message, error) {
	if len(s.InFlight()) != 0 {
		return Message{}, &netipc.StateError{Reason: "Call with requests in flight"}
	}
	if err := s.SendRequest(code, s.NextMessageID(), payload); err != nil {
		return Message{}, err
	}
	return s.RecvResponse(deadline, abort)
}

// CallBatch sends one batch request and waits for its response.
func (s *Client) CallBatch(code uint16, items [][]byte, deadline time.Time, abort *transport.Abort) (Message, error) {
	if len(s.InFlight()) != 0 {
		return Message{}, &netipc.StateError{Reason: "Call with requests in flight"}
	}
	if err := s.SendBatchRequest(code, s.NextMessageID(), items); err != nil {
		return Message{}, err
	}
	return s.RecvResponse(deadline, abort)
}

// Server is the core of an established server session. It is not safe
// for concurrent use.
type Server struct {
	Info
}

// InitServer sets up an established server session over conn (and region,
// nil without SHM) with the negotiated ack.
func InitServer(s *Server, ack wire.HelloAck, conn Conn, region *Region) {
	*s = Server{}
	s.ack = ack
	s.ch.init(conn, region, &s.ack, false)
}

// RecvRequest receives the next request. The Message is valid until the
// next receive. A timeout or abort leaves the session usable; any other
// failure ends it (see SendFinalError to answer the offending request).
func (s *Server) RecvRequest(deadline time.Time, abort *transport.Abort) (Message, error) {
	var m Message
	err := s.RecvRequestInto(&m, deadline, abort)
	return m, err
}

// RecvRequestInto is RecvRequest into a caller's Message (the zero
// Message on error), which spares copying it: for hot loops.
func (s *Server) RecvRequestInto(m *Message, deadline time.Time, abort *transport.Abort) error {
	d := transport.DeadlineAt(deadline)
	h, p, err := s.ch.recv(&d, abort)
	if err != nil {
		*m = Message{}
		return err
	}
	if err := m.set(h, p); err != nil {
		s.ch.broken = true
		return err
	}
	return nil
}

// SendResponse sends a single OK response.
func (s *Server) SendResponse(code uint16, messageID uint64, payload []byte) error {
	if uint64(len(payload)) > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "payload longer than 4 GiB"}
	}
	// Built in place (see Channel.send).
	var h wire.Header
	wire.ResponseHeaderInto(&h, code, messageID, uint32(len(payload)))
	return s.ch.send(&h, payload)
}

// SendBatchResponse sends an OK batch response of the given items.
func (s *Server) SendBatchResponse(code uint16, messageID uint64, items [][]byte) error {
	return s.ch.sendBatch(wire.ResponseHeader(code, messageID, 0), items)
}

// SendError sends an error response: empty payload, flags 0, item_count 1.
func (s *Server) SendError(code uint16, messageID uint64, status uint16) error {
	h := wire.ErrorResponseHeader(code, messageID, status)
	return s.ch.send(&h, nil)
}

// SendMessage sends a response with a caller-built header.
func (s *Server) SendMessage(h wire.Header, payload []byte) error {
	return s.ch.send(&h, payload)
}

// LastRequestHeader returns the header of the last received message whose
// outer header decoded, even if the message was then rejected.
func (s *Server) LastRequestHeader() (wire.Header, bool) {
	return s.ch.lastHeader, s.ch.haveLast
}

// SendFinalError answers the request that broke the session (over a
// limit, malformed) with an error status before the session is closed.
func (s *Server) SendFinalError(status uint16) error {
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

// OverrideSendLimits replaces the limits a session checks its outgoing
// messages against, so a test can play a peer that breaks them.
func OverrideSendLimits(s *Info, l wire.Limits) { s.ch.sendLimits = l }
