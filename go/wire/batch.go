package wire

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

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

func (b *BatchBuilder) areaStart() int { return b.base + int(b.count)*netipc.DirEntrySize }

// Add appends one item by copying it.
func (b *BatchBuilder) Add(item []byte) error {
	return b.AddWith(func(buf []byte) ([]byte, error) { return append(buf, item...), nil })
}

// AddWith appends one item written in place by write, which receives the
// buffer and must return it with the item appended (and nothing else
// changed). If write fails the buffer is rolled back.
func (b *BatchBuilder) AddWith(write func(buf []byte) ([]byte, error)) error {
	if b.added >= b.count {
		return &netipc.ArgError{Reason: "batch already holds its item count"}
	}
	b.buf = bin.Pad8From(b.buf, b.base)
	start := len(b.buf)
	out, err := write(b.buf)
	if err != nil {
		b.buf = b.buf[:start]
		return err
	}
	b.buf = out
	n := len(out) - start
	off := start - b.areaStart()
	if uint64(n) > 0xFFFFFFFF || uint64(off) > 0xFFFFFFFF {
		b.buf = b.buf[:start]
		return &netipc.ArgError{Reason: "batch item too large"}
	}
	e := b.base + int(b.added)*netipc.DirEntrySize
	bin.Put32(b.buf, e, uint32(off))
	bin.Put32(b.buf, e+4, uint32(n))
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

// BatchView is a validated batch payload giving zero-copy access to its
// items.
//
// Borrowed and ephemeral: it aliases the payload buffer it was decoded
// from and is valid only while that buffer is alive and unchanged (for a
// transport receive buffer: until the next receive on that session). Copy
// items out if they are needed later.
type BatchView struct {
	payload []byte
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
	areaLen := uint64(len(payload)) - dirLen
	for i := uint64(0); i < uint64(itemCount); i++ {
		off := uint64(bin.U32(payload, int(i*8)))
		n := uint64(bin.U32(payload, int(i*8+4)))
		if off%netipc.ItemAlign != 0 {
			return BatchView{}, bin.Rule(netipc.DecodeBadAlignment, "batch item offset")
		}
		if off+n > areaLen {
			return BatchView{}, bin.Rule(netipc.DecodeOutOfBounds, "batch item")
		}
	}
	return BatchView{payload: payload, count: itemCount}, nil
}

// Len returns the number of items.
func (v BatchView) Len() int { return int(v.count) }

// DirEntry returns the directory entry of item index (offset relative to
// the packed item area, and length); ok is false if index is out of range.
func (v BatchView) DirEntry(index int) (offset, length uint32, ok bool) {
	if index < 0 || index >= v.Len() {
		return 0, 0, false
	}
	return bin.U32(v.payload, index*8), bin.U32(v.payload, index*8+4), true
}

// Item returns the bytes of item index (aliasing the payload); ok is false
// if index is out of range.
func (v BatchView) Item(index int) (item []byte, ok bool) {
	off, n, ok := v.DirEntry(index)
	if !ok {
		return nil, false
	}
	start := v.Len()*netipc.DirEntrySize + int(off)
	end := start + int(n)
	return v.payload[start:end:end], true
}
