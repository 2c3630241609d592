package codec

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// StringReverseHdrSize is the size of the fixed STRING_REVERSE header
// (str_offset, str_length).
const StringReverseHdrSize = 8

// StringReverseStrOffset is the only valid str_offset: the string follows
// the header.
const StringReverseStrOffset = 8

// StringReversePayloadLen returns the payload size for a string of n bytes:
// 8 + n + 1 (the payload is not padded).
func StringReversePayloadLen(n int) int { return n + StringReverseHdrSize + 1 }

// AppendStringReverse appends the STRING_REVERSE payload carrying text
// (request and response share the shape): str_offset 8, str_length, the
// bytes and a NUL. The bytes are opaque (not required to be UTF-8;
// interior NULs survive). It fails with ErrInvalidArgument, leaving out
// unchanged, if the payload would not fit a uint32 length.
func AppendStringReverse(out []byte, text []byte) ([]byte, error) {
	if uint64(len(text))+StringReverseHdrSize+1 > 0xFFFFFFFF {
		return out, &netipc.ArgError{Reason: "STRING_REVERSE text too long"}
	}
	out = bin.App32(out, StringReverseStrOffset)
	out = bin.App32(out, uint32(len(text)))
	out = append(out, text...)
	return append(out, 0), nil
}

// StringReverseView is a decoded STRING_REVERSE payload. It is borrowed and
// ephemeral: Text aliases the payload buffer (see the package
// documentation for the lifetime rules); copy it if it is needed later.
type StringReverseView struct {
	// Text is the string bytes without the trailing NUL.
	Text []byte
}

// String returns a copy of the text as a Go string.
func (v StringReverseView) String() string { return string(v.Text) }

// ToOwned returns a copy of the text.
func (v StringReverseView) ToOwned() []byte { return append([]byte(nil), v.Text...) }

// DecodeStringReverse decodes a STRING_REVERSE payload without copying.
// It rejects a payload shorter than 8 bytes (DecodeTruncated), str_offset
// != 8 (DecodeInvalidField), a string plus NUL past the payload
// (DecodeOutOfBounds) and a missing NUL (DecodeMissingNul). Bytes after
// the NUL are ignored.
func DecodeStringReverse(payload []byte) (StringReverseView, error) {
	if len(payload) < StringReverseHdrSize {
		return StringReverseView{}, bin.Truncated("STRING_REVERSE header", StringReverseHdrSize, len(payload))
	}
	if bin.U32(payload, 0) != StringReverseStrOffset {
		return StringReverseView{}, bin.Rule(netipc.DecodeInvalidField, "STRING_REVERSE str_offset must be 8")
	}
	s, err := bin.CStr(payload, StringReverseHdrSize, uint64(bin.U32(payload, 4)), "STRING_REVERSE string")
	if err != nil {
		return StringReverseView{}, err
	}
	return StringReverseView{Text: s}, nil
}
