//go:build linux

package uds

import (
	"time"

	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
)

// Message is a received message. It is borrowed and ephemeral: Payload
// (and every item) aliases the session's receive buffer and is valid only
// until the next receive on that session or its Close. Copy what you need.
// Fields: Header, Payload; methods: IsOK, IsBatch, ItemCount, Item (one
// type for every transport, documented in transport/internal/session).
type Message = session.Message

var errBroken = session.ErrBroken

// The session cores, embedded under unexported names: their methods are
// the sessions' API.
type (
	clientCore = session.Client
	serverCore = session.Server
)

// ClientSession is an established client session. Requests may be
// pipelined on UDS (up to ClientConfig.MaxInFlight in flight, answered in
// any order, matched by message id); SHM carries one request at a time. A
// ClientSession is not safe for concurrent use.
//
// Its methods come from the session core shared with the other
// transport (documented in transport/internal/session): Call, CallBatch,
// SendRequest, SendBatchRequest, SendMessage, RecvResponse,
// NextMessageID, InFlight, FailedMessageIDs, Endpoint, HelloAck,
// SessionID, SelectedProfile, IsShm, PacketSize, RequestLimits,
// ResponseLimits, IsBroken, SetSendTimeout, Fd and Close.
type ClientSession struct {
	clientCore
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
	fd, ack, region, err := clientHandshake(ep, &cfg, deadline, abort)
	if err != nil {
		return nil, err
	}
	s := new(ClientSession)
	session.InitClient(&s.clientCore, ep, cfg.MaxInFlight, ack, session.SocketConn(fd), region)
	return s, nil
}

// ServerSession is an established server session. It is not safe for
// concurrent use.
//
// Its methods come from the session core shared with the other
// transport (documented in transport/internal/session): RecvRequest,
// SendResponse, SendBatchResponse, SendError, SendMessage,
// LastRequestHeader, SendFinalError, HelloAck, SessionID,
// SelectedProfile, IsShm, PacketSize, RequestLimits, ResponseLimits,
// IsBroken, SetSendTimeout, Fd and Close.
type ServerSession struct {
	serverCore
}
