package codec

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// IncrementPayloadSize is the size of an INCREMENT request or response
// payload: exactly one uint64 in host byte order, no header, no padding.
// The conventional handler answers value + 1.
const IncrementPayloadSize = 8

// AppendIncrement appends the INCREMENT payload for value to out.
func AppendIncrement(out []byte, value uint64) []byte { return bin.App64(out, value) }

// EncodeIncrement returns the INCREMENT payload for value as an array.
func EncodeIncrement(value uint64) [IncrementPayloadSize]byte {
	var b [IncrementPayloadSize]byte
	bin.Put64(b[:], 0, value)
	return b
}

// DecodeIncrement decodes an INCREMENT request or response payload, which
// must be exactly 8 bytes (DecodeTruncated if shorter, DecodeBadLength if
// longer).
func DecodeIncrement(payload []byte) (uint64, error) {
	if len(payload) < IncrementPayloadSize {
		return 0, bin.Truncated("INCREMENT payload", IncrementPayloadSize, len(payload))
	}
	if len(payload) != IncrementPayloadSize {
		return 0, bin.Rule(netipc.DecodeBadLength, "INCREMENT payload must be exactly 8 bytes")
	}
	return bin.U64(payload, 0), nil
}
