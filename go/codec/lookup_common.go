package codec

import (
	"bytes"
	"encoding/binary"
	"math"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// Lookup payload sizes shared by CGROUPS_LOOKUP and APPS_LOOKUP.
const (
	// LookupReqHdrSize is the size of the fixed lookup request header.
	LookupReqHdrSize = 16
	// LookupRespHdrSize is the size of the fixed lookup response header.
	LookupRespHdrSize = 16
	// LookupDirEntrySize is the size of one lookup directory entry.
	LookupDirEntrySize = netipc.DirEntrySize
	// LookupLabelEntrySize is the size of one label table entry.
	LookupLabelEntrySize = 16
	// MaxLabels is the most labels one item can carry (label_count is a
	// uint16).
	MaxLabels = math.MaxUint16
	// MaxBudget is the largest payload budget (payload_len is a uint32).
	MaxBudget = maxPayload
)

const sat = math.MaxInt

// satAdd adds non-negative ints, saturating at MaxInt.
func satAdd(a, b int) int {
	if a > sat-b {
		return sat
	}
	return a + b
}

func satAlign8(n int) int {
	if n > sat-7 {
		return sat
	}
	return bin.Align8(n)
}

// putRequestHeader writes a request header for count keys.
func putRequestHeader(h *[LookupReqHdrSize]byte, count uint32) {
	hostEndian.PutUint16(h[0:], netipc.LayoutVersion)
	hostEndian.PutUint16(h[2:], 0)
	hostEndian.PutUint32(h[4:], count)
	hostEndian.PutUint64(h[8:], 0)
}

// appendRequestHeader appends a request header for count keys.
func appendRequestHeader(out []byte, count uint32) []byte {
	out, h := bin.Extend(out, LookupReqHdrSize)
	putRequestHeader((*[LookupReqHdrSize]byte)(h), count)
	return out
}

// putResponseHeader writes a response header for count items.
func putResponseHeader(h *[LookupRespHdrSize]byte, count uint32, generation uint64) {
	hostEndian.PutUint16(h[0:], netipc.LayoutVersion)
	hostEndian.PutUint16(h[2:], 0)
	hostEndian.PutUint32(h[4:], count)
	hostEndian.PutUint64(h[8:], generation)
}

// span is a validated item string [start, end), its NUL included.
type span struct{ start, end int }

func (s span) bytes(item []byte) []byte { return item[s.start : s.end-1 : s.end-1] }

// checkString validates one item string: offset at or after the item
// header, in bounds with its NUL, no interior NUL.
func checkString(item []byte, hdr int, off, n uint32, what string) (span, error) {
	if int(off) < hdr {
		return span{}, bin.Rule(netipc.DecodeOutOfBounds, what)
	}
	s, err := bin.CStr(item, uint64(off), uint64(n), what)
	if err != nil {
		return span{}, err
	}
	if bin.HasNul(s) {
		return span{}, bin.Rule(netipc.DecodeInteriorNul, what)
	}
	return span{int(off), int(off) + int(n) + 1}, nil
}

func overlaps(a, b span) bool { return a.start < b.end && b.start < a.end }

// copyNoNul copies src to the start of dst (at least as long) and reports
// whether src holds no NUL byte: the bytes are checked as they are copied,
// a word at a time (a copy and a scan are two calls, and a scan of bytes
// just written stalls on the stores).
func copyNoNul(dst, src []byte) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	n := len(src)
	switch {
	case n > 64:
		copy(dst, src)
		return bytes.IndexByte(src, 0) < 0
	case n > 32:
		dst = dst[:n]
		var acc uint64
		for i := 0; i+8 <= n; i += 8 {
			w := byteOrder.Uint64(src[i:])
			acc |= (w - lo) &^ w
			byteOrder.PutUint64(dst[i:], w)
		}
		// The last word, overlapping bytes already copied.
		w := byteOrder.Uint64(src[n-8:])
		byteOrder.PutUint64(dst[n-8:], w)
		// Non-zero iff some byte of a word is zero (exact as a boolean).
		return ((w-lo)&^w|acc)&hi == 0
	case n > 16:
		// Four words, the last two overlapping the first two.
		a, b := byteOrder.Uint64(src), byteOrder.Uint64(src[8:])
		c, d := byteOrder.Uint64(src[n-16:]), byteOrder.Uint64(src[n-8:])
		byteOrder.PutUint64(dst, a)
		byteOrder.PutUint64(dst[8:], b)
		byteOrder.PutUint64(dst[n-16:], c)
		byteOrder.PutUint64(dst[n-8:], d)
		return ((a-lo)&^a|(b-lo)&^b|(c-lo)&^c|(d-lo)&^d)&hi == 0
	case n >= 8:
		a, b := byteOrder.Uint64(src), byteOrder.Uint64(src[n-8:])
		byteOrder.PutUint64(dst, a)
		byteOrder.PutUint64(dst[n-8:], b)
		return ((a-lo)&^a|(b-lo)&^b)&hi == 0
	case n >= 4:
		a, b := byteOrder.Uint32(src), byteOrder.Uint32(src[n-4:])
		byteOrder.PutUint32(dst, a)
		byteOrder.PutUint32(dst[n-4:], b)
		return ((a-lo&0xFFFFFFFF)&^a|(b-lo&0xFFFFFFFF)&^b)&(hi&0xFFFFFFFF) == 0
	case n >= 2:
		a, b := byteOrder.Uint16(src), byteOrder.Uint16(src[n-2:])
		byteOrder.PutUint16(dst, a)
		byteOrder.PutUint16(dst[n-2:], b)
		return ((a-lo&0xFFFF)&^a|(b-lo&0xFFFF)&^b)&(hi&0xFFFF) == 0
	case n == 1:
		dst[0] = src[0]
		return src[0] != 0
	}
	return true
}

// byteOrder reads and writes words for byte copies and scans (their order
// does not matter).
var byteOrder = binary.LittleEndian

// itemString returns the string of a validated item whose (offset,
// length) header fields start f.
func itemString(item []byte, f []byte) []byte {
	ol := (*[8]byte)(f)
	off := uint64(hostEndian.Uint32(ol[0:]))
	end := off + uint64(hostEndian.Uint32(ol[4:]))
	return item[off:end:end]
}

// stringOK is the fast form of checkString.
func stringOK(item []byte, hdr int, off, n uint64) bool {
	end := off + n
	return off >= uint64(hdr) && end < uint64(len(item)) && item[end] == 0 && !bin.HasNul(item[off:end])
}
