package wire

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// Byte offsets of the chunk header fields.
const (
	offChunkMagic   = 0
	offChunkVersion = 4
	offChunkFlags   = 6
	offChunkMsgID   = 8
	offChunkTotal   = 16
	offChunkIndex   = 20
	offChunkCount   = 24
	offChunkPayload = 28
)

// ChunkHeader is a chunk continuation header. Magic, version and flags are
// implied: Encode writes MagicChunk, 1 and 0; DecodeChunkHeader checks them.
type ChunkHeader struct {
	// MessageID is the id of the message being continued.
	MessageID uint64
	// TotalMessageLen is the whole message size: 32-byte header + payload.
	TotalMessageLen uint32
	// ChunkIndex is the chunk sequence number; continuations start at 1.
	ChunkIndex uint32
	// ChunkCount is the number of packets, the first included.
	ChunkCount uint32
	// ChunkPayloadLen is the number of payload bytes in this chunk.
	ChunkPayloadLen uint32
}

// Encode returns the 32 chunk header bytes.
func (c ChunkHeader) Encode() [netipc.HeaderLen]byte {
	var b [netipc.HeaderLen]byte
	c.EncodeTo(b[:])
	return b
}

// EncodeTo writes the chunk header into the first 32 bytes of out (which
// must hold at least 32 bytes).
func (c ChunkHeader) EncodeTo(out []byte) {
	b := out[:netipc.HeaderLen]
	bin.Put32(b, offChunkMagic, netipc.MagicChunk)
	bin.Put16(b, offChunkVersion, netipc.Version)
	bin.Put16(b, offChunkFlags, 0)
	bin.Put64(b, offChunkMsgID, c.MessageID)
	bin.Put32(b, offChunkTotal, c.TotalMessageLen)
	bin.Put32(b, offChunkIndex, c.ChunkIndex)
	bin.Put32(b, offChunkCount, c.ChunkCount)
	bin.Put32(b, offChunkPayload, c.ChunkPayloadLen)
}

// DecodeChunkHeader decodes a chunk header and checks its standalone
// rules: magic, version, zero flags, chunk_count > 0, chunk_index <
// chunk_count, chunk_payload_len > 0 and total_message_len > 0.
// Consistency with the message in progress is the receiver's job.
func DecodeChunkHeader(buf []byte) (ChunkHeader, error) {
	if len(buf) < netipc.HeaderLen {
		return ChunkHeader{}, bin.Truncated("chunk header", netipc.HeaderLen, len(buf))
	}
	if m := bin.U32(buf, offChunkMagic); m != netipc.MagicChunk {
		return ChunkHeader{}, bin.Found(netipc.DecodeBadMagic, "chunk header", uint64(m))
	}
	if v := bin.U16(buf, offChunkVersion); v != netipc.Version {
		return ChunkHeader{}, bin.Found(netipc.DecodeBadVersion, "chunk header", uint64(v))
	}
	if bin.U16(buf, offChunkFlags) != 0 {
		return ChunkHeader{}, bin.Rule(netipc.DecodeNonZeroReserved, "chunk flags")
	}
	c := ChunkHeader{
		MessageID:       bin.U64(buf, offChunkMsgID),
		TotalMessageLen: bin.U32(buf, offChunkTotal),
		ChunkIndex:      bin.U32(buf, offChunkIndex),
		ChunkCount:      bin.U32(buf, offChunkCount),
		ChunkPayloadLen: bin.U32(buf, offChunkPayload),
	}
	switch {
	case c.ChunkCount == 0:
		return ChunkHeader{}, bin.Rule(netipc.DecodeInvalidField, "chunk_count must be > 0")
	case c.ChunkIndex >= c.ChunkCount:
		return ChunkHeader{}, bin.Rule(netipc.DecodeInvalidField, "chunk_index must be < chunk_count")
	case c.ChunkPayloadLen == 0:
		return ChunkHeader{}, bin.Rule(netipc.DecodeBadLength, "chunk_payload_len must be > 0")
	case c.TotalMessageLen == 0:
		return ChunkHeader{}, bin.Rule(netipc.DecodeBadLength, "total_message_len must be > 0")
	}
	return c, nil
}

// ChunkPlan says how a message of a given payload length is split at a
// packet size: every chunk but the last carries exactly PerChunk =
// packet_size - 32 payload bytes, the last one the rest.
type ChunkPlan struct {
	// PerChunk is the payload bytes per chunk (packet_size - 32).
	PerChunk int
	// ChunkCount is the number of packets, the first included (1 = the
	// message is not chunked).
	ChunkCount uint32
}

// NewChunkPlan plans a message. ok is false if packetSize <= 32 or the
// chunk count does not fit a uint32.
func NewChunkPlan(payloadLen, packetSize int) (plan ChunkPlan, ok bool) {
	per := packetSize - netipc.HeaderLen
	if per <= 0 || payloadLen < 0 {
		return ChunkPlan{}, false
	}
	if payloadLen <= per {
		return ChunkPlan{PerChunk: per, ChunkCount: 1}, true
	}
	rest := payloadLen - per
	count := 1 + (rest+per-1)/per
	if uint64(count) > 0xFFFFFFFF {
		return ChunkPlan{}, false
	}
	return ChunkPlan{PerChunk: per, ChunkCount: uint32(count)}, true
}

// IsChunked reports whether the message needs more than one packet.
func (p ChunkPlan) IsChunked() bool { return p.ChunkCount > 1 }

// Range returns the payload byte range [start, end) carried by packet
// index (0 = the first packet).
func (p ChunkPlan) Range(payloadLen int, index uint32) (start, end int) {
	start = min(int(index)*p.PerChunk, payloadLen)
	end = min(start+p.PerChunk, payloadLen)
	return start, end
}
