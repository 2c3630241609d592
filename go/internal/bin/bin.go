// Package bin holds the host-order byte helpers and decode-error
// constructors shared by the wire and codec packages.
//
// Readers here do not bounds-check beyond what Go's slice indexing does:
// callers validate lengths first (and return a *netipc.DecodeError), so a
// read past the end would be a bug in this module, never a reaction to
// input.
package bin

import (
	"bytes"
	"encoding/binary"
	"slices"

	"netipc.local/netipc"
)

var ne = binary.NativeEndian

// U16 reads a host-order uint16 at off.
func U16(b []byte, off int) uint16 { return ne.Uint16(b[off:]) }

// U32 reads a host-order uint32 at off.
func U32(b []byte, off int) uint32 { return ne.Uint32(b[off:]) }

// U64 reads a host-order uint64 at off.
func U64(b []byte, off int) uint64 { return ne.Uint64(b[off:]) }

// Put16 writes a host-order uint16 at off.
func Put16(b []byte, off int, v uint16) { ne.PutUint16(b[off:], v) }

// Put32 writes a host-order uint32 at off.
func Put32(b []byte, off int, v uint32) { ne.PutUint32(b[off:], v) }

// Put64 writes a host-order uint64 at off.
func Put64(b []byte, off int, v uint64) { ne.PutUint64(b[off:], v) }

// App16 appends a host-order uint16.
func App16(b []byte, v uint16) []byte { return ne.AppendUint16(b, v) }

// App32 appends a host-order uint32.
func App32(b []byte, v uint32) []byte { return ne.AppendUint32(b, v) }

// App64 appends a host-order uint64.
func App64(b []byte, v uint64) []byte { return ne.AppendUint64(b, v) }

// Zeros appends n zero bytes (none for n <= 0).
func Zeros(b []byte, n int) []byte {
	if n <= 0 {
		return b
	}
	b, tail := Extend(b, n)
	clear(tail)
	return b
}

// Extend lengthens b by n bytes whose contents are left as they are (the
// caller overwrites all of them) and returns the lengthened slice and its
// last n bytes; one capacity check.
func Extend(b []byte, n int) (grown, tail []byte) {
	start := len(b)
	if cap(b)-start < n {
		b = slices.Grow(b, n)
	}
	b = b[:start+n]
	return b, b[start:]
}

// Pad8From appends zeros until len(b)-base is a multiple of 8.
func Pad8From(b []byte, base int) []byte {
	return Zeros(b, Align8(len(b)-base)-(len(b)-base))
}

// Align8 rounds n up to a multiple of 8.
func Align8(n int) int { return (n + 7) &^ 7 }

// Align64 rounds n up to a multiple of 64.
func Align64(n int) int { return (n + 63) &^ 63 }

// Truncated reports a buffer shorter than needed.
func Truncated(what string, need, have int) error {
	return &netipc.DecodeError{Kind: netipc.DecodeTruncated, What: what, Need: need, Have: have}
}

// Found reports a rule of class kind broken by value found.
func Found(kind netipc.DecodeKind, what string, found uint64) error {
	return &netipc.DecodeError{Kind: kind, What: what, Found: found}
}

// Rule reports a rule of class kind broken by what.
func Rule(kind netipc.DecodeKind, what string) error {
	return &netipc.DecodeError{Kind: kind, What: what}
}

// CStr returns the len bytes at off of b, requiring a NUL at off+len; the
// range arithmetic is overflow-safe. what names the string in errors.
func CStr(b []byte, off, n uint64, what string) ([]byte, error) {
	end := off + n + 1
	if n > uint64(len(b)) || off > uint64(len(b)) || end > uint64(len(b)) {
		return nil, Rule(netipc.DecodeOutOfBounds, what)
	}
	if b[off+n] != 0 {
		return nil, Rule(netipc.DecodeMissingNul, what)
	}
	return b[off : off+n : off+n], nil
}

// HasNul reports whether s contains a NUL byte.
func HasNul(s []byte) bool { return bytes.IndexByte(s, 0) >= 0 }
