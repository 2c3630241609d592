//go:build linux || windows

package session

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// HelloMsgLen is the length of a HELLO message (header + payload).
const HelloMsgLen = netipc.HeaderLen + wire.HelloLen

// HelloAckMsgLen is the length of a HELLO_ACK message (header + payload).
const HelloAckMsgLen = netipc.HeaderLen + wire.HelloAckLen

// HandshakeStatusError maps a non-OK handshake transport_status to the
// error a client returns: a *netipc.StatusError, which wraps
// ErrAuthFailed, ErrUnsupported, ErrIncompatible or ErrLimitExceeded.
func HandshakeStatusError(status uint16) error { return &netipc.StatusError{Status: status} }

// EncodeHelloMsg encodes a whole HELLO message.
func EncodeHelloMsg(h wire.Hello) [HelloMsgLen]byte {
	var m [HelloMsgLen]byte
	wire.ControlHeader(netipc.CodeHello, netipc.StatusOK, wire.HelloLen).EncodeTo(m[:])
	p := h.Encode()
	copy(m[netipc.HeaderLen:], p[:])
	return m
}

// EncodeHelloAckMsg encodes a whole HELLO_ACK message with status.
func EncodeHelloAckMsg(status uint16, a wire.HelloAck) [HelloAckMsgLen]byte {
	var m [HelloAckMsgLen]byte
	wire.ControlHeader(netipc.CodeHelloAck, status, wire.HelloAckLen).EncodeTo(m[:])
	p := a.Encode()
	copy(m[netipc.HeaderLen:], p[:])
	return m
}

// CheckAck validates a received HELLO_ACK message (stored bytes and real
// packet length) against the HELLO we sent and our response ceiling. The status
// is read first: a rejection is accepted with or without its payload.
func CheckAck(b []byte, real int, hello wire.Hello, responseCap uint32) (wire.HelloAck, error) {
	h, err := wire.DecodeHeader(b)
	if err != nil {
		var de *netipc.DecodeError
		if errors.As(err, &de) && de.Kind == netipc.DecodeBadVersion {
			return wire.HelloAck{}, fmt.Errorf("%w: HELLO_ACK header version %d", netipc.ErrIncompatible, de.Found)
		}
		return wire.HelloAck{}, err
	}
	if h.Kind != netipc.KindControl || h.Code != netipc.CodeHelloAck {
		return wire.HelloAck{}, netipc.ViolationHandshake
	}
	if h.TransportStatus != netipc.StatusOK {
		return wire.HelloAck{}, HandshakeStatusError(h.TransportStatus)
	}
	if h.PayloadLen != wire.HelloAckLen || real != HelloAckMsgLen {
		return wire.HelloAck{}, netipc.ViolationHandshake
	}
	a, err := wire.DecodeHelloAck(b[netipc.HeaderLen:])
	if err != nil {
		return wire.HelloAck{}, err
	}
	switch {
	case a.AgreedPacketSize <= netipc.HeaderLen || a.AgreedPacketSize > hello.PacketSize,
		bits.OnesCount32(a.SelectedProfile) != 1 || a.SelectedProfile&hello.SupportedProfiles == 0,
		a.AgreedMaxRequestBatchItems != a.AgreedMaxResponseBatchItems,
		a.AgreedMaxRequestPayloadBytes > hello.MaxRequestPayloadBytes:
		return wire.HelloAck{}, netipc.ViolationHandshake
	case a.AgreedMaxResponsePayloadBytes > responseCap:
		return wire.HelloAck{}, &netipc.LimitError{Limit: netipc.LimitResponsePayload,
			Max: uint64(responseCap), Actual: uint64(a.AgreedMaxResponsePayloadBytes)}
	}
	return a, nil
}

// ClientHello sends hello over c and returns the server's validated
// HELLO_ACK; responseCap is the largest response budget accepted. The
// caller closes c on failure.
func ClientHello(c *Conn, hello wire.Hello, responseCap uint32, deadline time.Time, abort *transport.Abort) (wire.HelloAck, error) {
	msg := EncodeHelloMsg(hello)
	if err := c.writePacket(msg[:], nil, deadline); err != nil {
		return wire.HelloAck{}, err
	}
	// One spare byte detects an over-long reply.
	buf := c.handshakeBuf(HelloAckMsgLen + 1)
	stored, real, err := c.readMsg(buf, deadline, abort)
	if err != nil {
		return wire.HelloAck{}, err
	}
	return CheckAck(buf[:stored], real, hello, responseCap)
}

// ServerSide is what the server side of a handshake decides with.
type ServerSide struct {
	// Offer is the server's offer (budgets, the packet size of this
	// connection).
	Offer wire.ServerOffer
	// SessionID is the id reserved for the connection.
	SessionID uint64
	// ShmProfiles are the profile bits that select the SHM data plane.
	ShmProfiles uint32
	// CreateRegion provisions the SHM region of a negotiated ack.
	CreateRegion func(ack *wire.HelloAck) (*Region, error)
	// OnReject, when set, sees the status and the HELLO before a
	// negotiation rejection is sent.
	OnReject func(status uint16, hello wire.Hello)
}

// ServerHandshake runs the server side on an accepted connection:
// malformed HELLOs are closed without an answer, a wrong header version
// is rejected with INCOMPATIBLE, negotiation rejections are answered, and
// SHM is provisioned before a successful HELLO_ACK (falling back to the
// baseline when the region cannot be created and the client supports it).
// The caller closes c on failure.
func ServerHandshake(c *Conn, srv *ServerSide, deadline time.Time, abort *transport.Abort) (wire.HelloAck, *Region, error) {
	// One spare byte detects an over-long HELLO.
	buf := c.handshakeBuf(HelloMsgLen + 1)
	stored, real, err := c.readMsg(buf, deadline, abort)
	if err != nil {
		return wire.HelloAck{}, nil, err
	}
	b := buf[:stored]
	h, err := wire.DecodeHeader(b)
	if err != nil {
		var de *netipc.DecodeError
		if errors.As(err, &de) && de.Kind == netipc.DecodeBadVersion {
			sendRejection(c, netipc.StatusIncompatible, deadline)
			return wire.HelloAck{}, nil, HandshakeStatusError(netipc.StatusIncompatible)
		}
		return wire.HelloAck{}, nil, err
	}
	switch {
	case h.Kind != netipc.KindControl:
		return wire.HelloAck{}, nil, netipc.ViolationUnexpectedKind
	case h.Code != netipc.CodeHello:
		return wire.HelloAck{}, nil, netipc.ViolationUnexpectedCode
	case h.PayloadLen != wire.HelloLen || real < HelloMsgLen:
		return wire.HelloAck{}, nil, &netipc.DecodeError{Kind: netipc.DecodeTruncated, What: "hello", Need: HelloMsgLen, Have: min(real, netipc.HeaderLen+int(h.PayloadLen))}
	case real != HelloMsgLen:
		return wire.HelloAck{}, nil, netipc.ViolationPacketLength
	}
	n := wire.Negotiate(b[netipc.HeaderLen:HelloMsgLen], srv.Offer, srv.SessionID)
	switch n.Decision {
	case wire.Reject:
		if srv.OnReject != nil {
			if hello, err := wire.DecodeHello(b[netipc.HeaderLen:HelloMsgLen]); err == nil {
				srv.OnReject(n.Status, hello)
			}
		}
		sendRejection(c, n.Status, deadline)
		return wire.HelloAck{}, nil, HandshakeStatusError(n.Status)
	case wire.Drop:
		return wire.HelloAck{}, nil, netipc.ViolationHandshake
	}
	ack := n.Ack
	var region *Region
	if ack.SelectedProfile&srv.ShmProfiles != 0 {
		// The region must exist before a successful HELLO_ACK names it.
		region, err = srv.CreateRegion(&ack)
		if err != nil {
			if ack.IntersectionProfiles&netipc.ProfileBaseline == 0 {
				sendRejection(c, netipc.StatusUnsupported, deadline)
				return wire.HelloAck{}, nil, err
			}
			ack.SelectedProfile = netipc.ProfileBaseline
			region = nil
		}
	}
	m := EncodeHelloAckMsg(netipc.StatusOK, ack)
	if err := c.writePacket(m[:], nil, deadline); err != nil {
		if region != nil {
			_ = region.Close()
		}
		return wire.HelloAck{}, nil, err
	}
	return ack, region, nil
}

// sendRejection sends a rejection HELLO_ACK (full 48-byte payload, layout
// 1, zeros); failures are ignored since the connection closes right after.
func sendRejection(c *Conn, status uint16, deadline time.Time) {
	m := EncodeHelloAckMsg(status, wire.HelloAck{})
	_ = c.writePacket(m[:], nil, deadline)
}
