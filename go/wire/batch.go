package wire

import (
	"encoding/binary"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

var ne = binary.NativeEndian

// BatchBuilder appends one Level 1 batch payload (item directory followed
// by packed, 8-byte aligned items) to a caller-owned buffer. The item count
// is fixed up front so the directory is reserved in place and items are
// written right after it without copying. A finished batch is zero-padded
// to a multiple of 8.
//
// The zero value is not usable; call Reset. A builder may be reused with
// Reset to avoid allocations.
type BatchBuilder struct {
	buf   []byte
	base  int
	count uint32
	added uint32
}

// NewBatchBuilder starts a batch of exactly count items appended to buf.
func NewBatchBuilder(buf []byte, count uint32) *BatchBuilder {
	b := &BatchBuilder{}
	b.Reset(buf, count)
	return b
}

// Reset starts a batch of exactly count items appended to buf (whose
// existing contents are kept before the batch).
func (b *BatchBuilder) Reset(buf []byte, count uint32) {
	b.base = len(buf)
	b.count = count
	b.added = 0
	b.buf = bin.Zeros(buf, int(count)*netipc.DirEntrySize)
}

// Add appends one item by copying it.
func (b *BatchBuilder) Add(item []byte) error {
	if b.added >= b.count {
		return errBatchFull()
	}
	buf := b.buf
	if (len(buf)-b.base)%netipc.ItemAlign != 0 {
		buf = bin.Pad8From(buf, b.base)
	}
	start := len(buf)
	out := append(buf, item...)
	return b.record(out, start, len(out)-start)
}

// AddWith appends one item written in place by write, which receives the
// buffer and must return it with the item appended (and nothing else
// changed). If write fails the buffer is rolled back.
func (b *BatchBuilder) AddWith(write func(buf []byte) ([]byte, error)) error {
	if b.added >= b.count {
		return errBatchFull()
	}
	buf := b.buf
	if (len(buf)-b.base)%netipc.ItemAlign != 0 {
		buf = bin.Pad8From(buf, b.base)
	}
	start := len(buf)
	out, err := write(buf)
	if err != nil {
		b.buf = buf[:start]
		return err
	}
	return b.record(out, start, len(out)-start)
}

func errBatchFull() error {
	return &netipc.ArgError{Reason: "batch already holds its item count"}
}

// tooLarge rolls back an item whose length or offset does not fit the
// directory's 32-bit fields.
func (b *BatchBuilder) tooLarge(out []byte, start int) error {
	b.buf = out[:start]
	return &netipc.ArgError{Reason: "batch item too large"}
}

// record enters the item of n bytes appended to out at start in the
// directory (b.added < b.count was checked). Add and AddWith call it per
// item: keep it within the inliner's budget (cost 80 now).
func (b *BatchBuilder) record(out []byte, start, n int) error {
	off := start - b.base - int(b.count)*netipc.DirEntrySize
	if uint64(n)|uint64(off) > 0xFFFFFFFF {
		return b.tooLarge(out, start)
	}
	e := (*[netipc.DirEntrySize]byte)(out[b.base+int(b.added)*netipc.DirEntrySize:])
	ne.PutUint32(e[:4], uint32(off))
	ne.PutUint32(e[4:], uint32(n))
	b.buf = out
	b.added++
	return nil
}

// Finish pads the batch to a multiple of 8 and returns the whole buffer
// (the batch payload is its suffix from the length buf had at Reset). It
// fails if fewer items than announced were added.
func (b *BatchBuilder) Finish() ([]byte, error) {
	if b.added != b.count {
		return nil, &netipc.ArgError{Reason: "batch has fewer items than announced"}
	}
	b.buf = bin.Pad8From(b.buf, b.base)
	return b.buf, nil
}

// AppendUniformBatch appends to buf the payload of a batch of count items
// of itemSize bytes each, exactly as a BatchBuilder adding count items of
// that size lays it out: the directory, then the items one after the
// other, each starting at a multiple of 8, zero padded to a multiple of
// 8. The items are zeroed for the caller to fill in place: item i starts
// at area + i*Align8(itemSize) of the returned buffer.
func AppendUniformBatch(buf []byte, count uint32, itemSize int) (out []byte, area int, err error) {
	stride := uint64(itemSize+netipc.ItemAlign-1) &^ (netipc.ItemAlign - 1)
	if itemSize < 0 || uint64(itemSize) > 0xFFFFFFFF ||
		(count > 0 && stride*uint64(count-1) > 0xFFFFFFFF) {
		return buf, 0, &netipc.ArgError{Reason: "batch item too large"}
	}
	dirLen := int(count) * netipc.DirEntrySize
	area = len(buf) + dirLen
	out = bin.Zeros(buf, dirLen+int(stride)*int(count))
	dir := out[len(buf):area]
	off := uint32(0)
	for at := 0; at+netipc.DirEntrySize <= len(dir); at += netipc.DirEntrySize {
		e := dir[at : at+netipc.DirEntrySize : at+netipc.DirEntrySize]
		ne.PutUint32(e[:4], off)
		ne.PutUint32(e[4:], uint32(itemSize))
		off += uint32(stride)
	}
	return out, area, nil
}

// BatchView is a validated batch payload giving zero-copy access to its
// items.
//
// Borrowed and ephemeral: it aliases the payload buffer it was decoded
// from and is valid only while that buffer is alive and unchanged (for a
// transport receive buffer: until the next receive on that session). Copy
// items out if they are needed later.
type BatchView struct {
	payload []byte // count directory entries of 8 bytes, then the items
	count   uint32
}

// DecodeBatch validates the directory of a batch payload holding itemCount
// items: the directory fits, every offset is 8-byte aligned and every item
// lies inside the packed area (overflow-safe arithmetic).
func DecodeBatch(payload []byte, itemCount uint32) (BatchView, error) {
	dirLen := uint64(itemCount) * netipc.DirEntrySize
	if dirLen > uint64(len(payload)) {
		return BatchView{}, bin.Truncated("batch directory", int(min(dirLen, 1<<40)), len(payload))
	}
	for i := firstBadDirEntry(payload[:dirLen], uint64(len(payload))-dirLen); i < int(itemCount); i++ {
		// The precise error of the rule broken (the fast check found one).
		if err := dirEntryError(payload, itemCount, i); err != nil {
			return BatchView{}, err
		}
	}
	return BatchView{payload: payload, count: itemCount}, nil
}

// firstBadDirEntry returns the index of the first directory entry that
// breaks a rule of DecodeBatch (areaLen is the length of the packed item
// area), or the entry count if none does: no error built.
func firstBadDirEntry(dir []byte, areaLen uint64) int {
	if dirEntriesOK(dir, areaLen) {
		return len(dir) / netipc.DirEntrySize
	}
	// Indexed with full slice expressions: bounds checks the compiler can
	// drop, and no pointer adjustment of a resliced tail.
	for at := 0; at+netipc.DirEntrySize <= len(dir); at += netipc.DirEntrySize {
		e := dir[at : at+netipc.DirEntrySize : at+netipc.DirEntrySize]
		off, n := uint64(ne.Uint32(e[:4])), uint64(ne.Uint32(e[4:]))
		if off%netipc.ItemAlign != 0 || off+n > areaLen {
			return at / netipc.DirEntrySize
		}
	}
	return len(dir) / netipc.DirEntrySize // not reached
}

// dirEntriesOK reports whether every entry of dir keeps the rules of
// DecodeBatch. Directories are valid but for a hostile peer: the check
// has no branch per entry (the offsets ORed for their low bits, the
// largest end kept) and takes two entries per iteration (Go does not
// unroll loops).
func dirEntriesOK(dir []byte, areaLen uint64) bool {
	const pair = 2 * netipc.DirEntrySize
	var offBits, maxEnd uint64
	at := 0
	for ; at+pair <= len(dir); at += pair {
		e := dir[at : at+pair : at+pair]
		o0, n0 := uint64(ne.Uint32(e[0:4])), uint64(ne.Uint32(e[4:8]))
		o1, n1 := uint64(ne.Uint32(e[8:12])), uint64(ne.Uint32(e[12:16]))
		offBits |= o0 | o1
		maxEnd = max(maxEnd, o0+n0, o1+n1) // no overflow: all below 2^32
	}
	if at+netipc.DirEntrySize <= len(dir) {
		e := dir[at : at+netipc.DirEntrySize : at+netipc.DirEntrySize]
		off, n := uint64(ne.Uint32(e[:4])), uint64(ne.Uint32(e[4:]))
		offBits |= off
		maxEnd = max(maxEnd, off+n)
	}
	return offBits%netipc.ItemAlign == 0 && maxEnd <= areaLen
}

// dirEntryError checks directory entry i rule by rule, in order, and
// returns the precise error of the first rule it breaks (nil if none).
func dirEntryError(payload []byte, itemCount uint32, i int) error {
	areaLen := uint64(len(payload)) - uint64(itemCount)*netipc.DirEntrySize
	off := uint64(bin.U32(payload, i*8))
	n := uint64(bin.U32(payload, i*8+4))
	if off%netipc.ItemAlign != 0 {
		return bin.Rule(netipc.DecodeBadAlignment, "batch item offset")
	}
	if off+n > areaLen {
		return bin.Rule(netipc.DecodeOutOfBounds, "batch item")
	}
	return nil
}

// Len returns the number of items.
func (v BatchView) Len() int { return int(v.count) }

// DirEntry returns the directory entry of item index (offset relative to
// the packed item area, and length); ok is false if index is out of range.
func (v BatchView) DirEntry(index int) (offset, length uint32, ok bool) {
	if uint(index) >= uint(v.count) {
		return 0, 0, false
	}
	e := (*[netipc.DirEntrySize]byte)(v.payload[index*netipc.DirEntrySize:])
	return ne.Uint32(e[:4]), ne.Uint32(e[4:]), true
}

// Item returns the bytes of item index (aliasing the payload); ok is false
// if index is out of range.
func (v BatchView) Item(index int) (item []byte, ok bool) {
	if uint(index) >= uint(v.count) {
		return nil, false
	}
	e := (*[netipc.DirEntrySize]byte)(v.payload[index*netipc.DirEntrySize:])
	start := int(v.count)*netipc.DirEntrySize + int(ne.Uint32(e[:4]))
	n := int(ne.Uint32(e[4:]))
	return v.payload[start:][:n:n], true
}

// Parts returns the directory (Len() entries of 8 bytes: the item's
// offset in the area, then its length, host order) and the packed item
// area, both aliasing the payload. DecodeBatch validated every entry
// against the area, so loops over many items can read them directly.
func (v BatchView) Parts() (dir, area []byte) {
	n := int(v.count) * netipc.DirEntrySize
	return v.payload[:n:n], v.payload[n:]
}
