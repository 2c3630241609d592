package wire

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// Byte offsets of the outer header fields.
const (
	offMagic      = 0
	offVersion    = 4
	offHeaderLen  = 6
	offKind       = 8
	offFlags      = 10
	offCode       = 12
	offStatus     = 14
	offPayloadLen = 16
	offItemCount  = 20
	offMessageID  = 24
)

// Header is the 32-byte outer message header. Magic, version and
// header_len are implied: Encode always writes MagicMsg, 1 and 32, and
// DecodeHeader checks them.
type Header struct {
	// Kind is KindRequest, KindResponse or KindControl.
	Kind uint16
	// Flags holds bit flags (FlagBatch).
	Flags uint16
	// Code is the method code or control opcode.
	Code uint16
	// TransportStatus is the envelope-level status.
	TransportStatus uint16
	// PayloadLen is the number of payload bytes after the header.
	PayloadLen uint32
	// ItemCount is 1 for a single message, N for a batch.
	ItemCount uint32
	// MessageID correlates requests and responses.
	MessageID uint64
}

// Limits are the directional limits a receiver accepts, as negotiated for a
// session.
type Limits struct {
	// MaxPayload is the largest payload of one message (batch directory
	// included).
	MaxPayload uint32
	// MaxItems is the largest batch item count of one message.
	MaxItems uint32
}

// Admits reports whether h is within l (CheckLimits names the limit it
// passes). It takes h by pointer: hot paths holding a *Header check it
// without copying it (see DecodeHeaderInto).
func (l Limits) Admits(h *Header) bool {
	return h.PayloadLen <= l.MaxPayload && h.ItemCount <= l.MaxItems
}

// RequestHeader returns the header of a single (non-batch) request.
func RequestHeader(code uint16, messageID uint64, payloadLen uint32) Header {
	var h Header
	RequestHeaderInto(&h, code, messageID, payloadLen)
	return h
}

// RequestHeaderInto is RequestHeader into *h, field by field (see
// DecodeHeaderInto).
func RequestHeaderInto(h *Header, code uint16, messageID uint64, payloadLen uint32) {
	h.Kind, h.Flags, h.Code, h.TransportStatus = netipc.KindRequest, 0, code, 0
	h.PayloadLen, h.ItemCount, h.MessageID = payloadLen, 1, messageID
}

// ResponseHeader returns the header of a single (non-batch) OK response.
func ResponseHeader(code uint16, messageID uint64, payloadLen uint32) Header {
	var h Header
	ResponseHeaderInto(&h, code, messageID, payloadLen)
	return h
}

// ResponseHeaderInto is ResponseHeader into *h, field by field (see
// DecodeHeaderInto).
func ResponseHeaderInto(h *Header, code uint16, messageID uint64, payloadLen uint32) {
	h.Kind, h.Flags, h.Code, h.TransportStatus = netipc.KindResponse, 0, code, 0
	h.PayloadLen, h.ItemCount, h.MessageID = payloadLen, 1, messageID
}

// ErrorResponseHeader returns an error response header: empty payload,
// flags 0, item_count 1, the request's code and message id.
func ErrorResponseHeader(code uint16, messageID uint64, status uint16) Header {
	h := ResponseHeader(code, messageID, 0)
	h.TransportStatus = status
	return h
}

// ControlHeader returns a control message header (HELLO / HELLO_ACK):
// message_id 0, one item.
func ControlHeader(code, status uint16, payloadLen uint32) Header {
	return Header{Kind: netipc.KindControl, Code: code, TransportStatus: status, PayloadLen: payloadLen, ItemCount: 1}
}

// HasBatchDirectory reports whether the payload carries a batch directory:
// the BATCH flag is set and item_count > 1. BATCH with 0 or 1 items is a
// plain payload.
func (h Header) HasBatchDirectory() bool {
	return h.Flags&netipc.FlagBatch != 0 && h.ItemCount > 1
}

// IsBatchFlagged reports whether the BATCH flag is set, whatever the count.
func (h Header) IsBatchFlagged() bool { return h.Flags&netipc.FlagBatch != 0 }

// TotalLen is the message length: header plus payload.
func (h Header) TotalLen() int { return netipc.HeaderLen + int(h.PayloadLen) }

// Encode returns the 32 header bytes.
func (h Header) Encode() [netipc.HeaderLen]byte {
	var b [netipc.HeaderLen]byte
	h.EncodeTo(b[:])
	return b
}

// EncodeTo writes the header into the first 32 bytes of out, which must
// hold at least 32 bytes (a shorter buffer is a caller bug and panics).
func (h Header) EncodeTo(out []byte) {
	b := out[:netipc.HeaderLen]
	bin.Put32(b, offMagic, netipc.MagicMsg)
	bin.Put16(b, offVersion, netipc.Version)
	bin.Put16(b, offHeaderLen, netipc.HeaderLen)
	bin.Put16(b, offKind, h.Kind)
	bin.Put16(b, offFlags, h.Flags)
	bin.Put16(b, offCode, h.Code)
	bin.Put16(b, offStatus, h.TransportStatus)
	bin.Put32(b, offPayloadLen, h.PayloadLen)
	bin.Put32(b, offItemCount, h.ItemCount)
	bin.Put64(b, offMessageID, h.MessageID)
}

// AppendTo appends the 32 header bytes to out.
func (h Header) AppendTo(out []byte) []byte {
	b := h.Encode()
	return append(out, b[:]...)
}

// DecodeHeader decodes and validates a header from the first 32 bytes of
// buf: magic, version, header_len and kind. Limits are checked separately
// with CheckLimits. Bytes after the first 32 are ignored.
func DecodeHeader(buf []byte) (Header, error) {
	var h Header
	err := DecodeHeaderInto(&h, buf)
	return h, err
}

// DecodeHeaderInto is DecodeHeader into *h, which is left unchanged on
// error. Hot receive paths use it: the fields are stored in place, where a
// returned Header is stored field by field and then copied as a block,
// and loading bytes wider than they were just stored stalls.
func DecodeHeaderInto(h *Header, buf []byte) error {
	if len(buf) < netipc.HeaderLen {
		return bin.Truncated("message header", netipc.HeaderLen, len(buf))
	}
	if m := bin.U32(buf, offMagic); m != netipc.MagicMsg {
		return bin.Found(netipc.DecodeBadMagic, "message header", uint64(m))
	}
	if v := bin.U16(buf, offVersion); v != netipc.Version {
		return bin.Found(netipc.DecodeBadVersion, "message header", uint64(v))
	}
	if l := bin.U16(buf, offHeaderLen); l != netipc.HeaderLen {
		return bin.Found(netipc.DecodeBadHeaderLen, "message header", uint64(l))
	}
	kind := bin.U16(buf, offKind)
	if kind != netipc.KindRequest && kind != netipc.KindResponse && kind != netipc.KindControl {
		return bin.Found(netipc.DecodeBadKind, "message header", uint64(kind))
	}
	h.Kind = kind
	h.Flags = bin.U16(buf, offFlags)
	h.Code = bin.U16(buf, offCode)
	h.TransportStatus = bin.U16(buf, offStatus)
	h.PayloadLen = bin.U32(buf, offPayloadLen)
	h.ItemCount = bin.U32(buf, offItemCount)
	h.MessageID = bin.U64(buf, offMessageID)
	return nil
}

// CheckLimits applies a receiver's negotiated directional limits. request
// selects the direction the limits belong to, so the *netipc.LimitError
// names the right limit. A BATCH message with item_count 0 is rejected by
// the caller, not here. Hot paths test Limits.Admits first.
func (h Header) CheckLimits(l Limits, request bool) error {
	if h.PayloadLen > l.MaxPayload {
		lim := netipc.LimitResponsePayload
		if request {
			lim = netipc.LimitRequestPayload
		}
		return &netipc.LimitError{Limit: lim, Max: uint64(l.MaxPayload), Actual: uint64(h.PayloadLen)}
	}
	if h.ItemCount > l.MaxItems {
		lim := netipc.LimitResponseItems
		if request {
			lim = netipc.LimitRequestItems
		}
		return &netipc.LimitError{Limit: lim, Max: uint64(l.MaxItems), Actual: uint64(h.ItemCount)}
	}
	return nil
}
