//go:build linux || windows

package session

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
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
	// batch is the validated directory of a batch message (count >= 2);
	// the zero view for a single message.
	batch wire.BatchView
}

// NewMessage wraps a received message, decoding its batch directory.
func NewMessage(h wire.Header, payload []byte) (Message, error) {
	var m Message
	err := m.set(&h, payload)
	return m, err
}

// set makes m the received message h + payload, decoding its batch
// directory (m is left zero on error). The header is copied field by
// field: h was just stored that way, and a block copy would load it
// back wider than it was stored, which stalls.
func (m *Message) set(h *wire.Header, payload []byte) error {
	m.batch = wire.BatchView{}
	// h.HasBatchDirectory() spelled out (the value method would copy *h).
	if h.Flags&netipc.FlagBatch != 0 && h.ItemCount > 1 && (h.Kind == netipc.KindRequest || h.TransportStatus == netipc.StatusOK) {
		b, err := wire.DecodeBatch(payload, h.ItemCount)
		if err != nil {
			*m = Message{}
			return err
		}
		m.batch = b
	}
	m.Header.Kind, m.Header.Flags, m.Header.Code = h.Kind, h.Flags, h.Code
	m.Header.TransportStatus, m.Header.PayloadLen = h.TransportStatus, h.PayloadLen
	m.Header.ItemCount, m.Header.MessageID = h.ItemCount, h.MessageID
	m.Payload = payload
	return nil
}

// IsOK reports whether the transport status is OK.
func (m Message) IsOK() bool { return m.Header.TransportStatus == netipc.StatusOK }

// IsBatch reports whether the payload carries a batch directory.
func (m Message) IsBatch() bool { return m.batch.Len() != 0 }

// ItemCount is the number of items: the batch count, or 1.
func (m Message) ItemCount() int {
	if n := m.batch.Len(); n != 0 {
		return n
	}
	return 1
}

// Item returns item index: a batch item, or the whole payload for index 0
// of a single message. ok is false out of range.
func (m Message) Item(index int) (item []byte, ok bool) {
	if m.batch.Len() == 0 {
		if index != 0 {
			return nil, false
		}
		return m.Payload, true
	}
	// The batch's directory was validated against Payload on receipt
	// (Header.ItemCount entries); read from the fields in place: a copy of
	// the batch view costs more than the lookup in calls that are not
	// inlined.
	count := uint(m.Header.ItemCount)
	if uint(index) >= count {
		return nil, false
	}
	e := (*[netipc.DirEntrySize]byte)(m.Payload[index*netipc.DirEntrySize:])
	start := int(count)*netipc.DirEntrySize + int(bin.U32(e[:], 0))
	n := int(bin.U32(e[:], 4))
	return m.Payload[start:][:n:n], true
}

// Batch returns the validated batch of a batch message (its directory
// checked against its item area once, when received), for loops over many
// items (see wire.BatchView.Parts); the zero BatchView otherwise.
func (m *Message) Batch() wire.BatchView { return m.batch }
