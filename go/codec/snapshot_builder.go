package codec

import (
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// CgroupsSnapshotBuilder builds a CGROUPS_SNAPSHOT response payload in
// reused buffers. Handlers supply semantic fields only; the builder places
// items, writes the directory, the NULs and the padding, producing exactly
// the bytes AppendSnapshot produces for the same items. A failed AddItem
// leaves the builder unchanged. The zero value is ready to use (systemd 0,
// generation 0, payload limit 4 GiB - 1).
type CgroupsSnapshotBuilder struct {
	// buf is the payload being built: the 24-byte header, slots
	// directory entries (count of them used), then the packed area. Items
	// go straight into place; the directory grows by moving the packed
	// area, and Finish closes a gap of unused slots, so a builder reused
	// for snapshots of a steady size never copies the payload.
	buf            []byte
	slots          int
	lastCount      int // slots reserved by Reset: the previous Finish's count
	systemdEnabled uint32
	generation     uint64
	count          uint32
	maxPayload     int
	limited        bool
}

// Reset starts a new snapshot: drops all items and sets the header fields.
// It keeps the buffers and the payload limit.
func (b *CgroupsSnapshotBuilder) Reset(systemdEnabled uint32, generation uint64) {
	b.slots = b.lastCount
	b.buf = slices.Grow(b.buf[:0], SnapshotRespHdrSize+b.slots*netipc.DirEntrySize)[:SnapshotRespHdrSize+b.slots*netipc.DirEntrySize]
	b.systemdEnabled = systemdEnabled
	b.generation = generation
	b.count = 0
}

// SetSystemdEnabled sets systemd_enabled.
func (b *CgroupsSnapshotBuilder) SetSystemdEnabled(v uint32) { b.systemdEnabled = v }

// SetGeneration sets the generation.
func (b *CgroupsSnapshotBuilder) SetGeneration(g uint64) { b.generation = g }

// SetMaxPayload caps the finished payload at max bytes (clamped to 4 GiB -
// 1); AddItem then fails with ErrLimitExceeded for an item that would not
// fit. Use the agreed response payload budget here.
func (b *CgroupsSnapshotBuilder) SetMaxPayload(max int) {
	b.maxPayload = min(max, maxPayload)
	b.limited = true
}

// MaxPayload returns the payload limit in force.
func (b *CgroupsSnapshotBuilder) MaxPayload() int {
	if !b.limited {
		return maxPayload
	}
	return b.maxPayload
}

// ReserveItems grows the buffers for n more items of minimal size, so that
// a correct hint avoids reallocation while adding.
func (b *CgroupsSnapshotBuilder) ReserveItems(n int) {
	n = min(n, b.MaxPayload()/(netipc.DirEntrySize+SnapshotItemMinSize))
	b.buf = growCap(b.buf, n*(netipc.DirEntrySize+SnapshotItemMinSize+8))
}

func growCap(s []byte, extra int) []byte {
	if cap(s)-len(s) >= extra {
		return s
	}
	g := make([]byte, len(s), len(s)+extra)
	copy(g, s)
	return g
}

// ItemCount returns the number of items added so far.
func (b *CgroupsSnapshotBuilder) ItemCount() uint32 { return b.count }

// packedStart is where the packed area begins in buf.
func (b *CgroupsSnapshotBuilder) packedStart() int {
	return SnapshotRespHdrSize + b.slots*netipc.DirEntrySize
}

// PayloadLen returns the size Finish would return now.
func (b *CgroupsSnapshotBuilder) PayloadLen() int {
	if len(b.buf) == 0 { // zero value, before any Reset
		return SnapshotRespHdrSize
	}
	return SnapshotRespHdrSize + int(b.count)*netipc.DirEntrySize + len(b.buf) - b.packedStart()
}

// setSlots moves the packed area so that the directory has n slots
// (n >= count).
func (b *CgroupsSnapshotBuilder) setSlots(n int) {
	if len(b.buf) < SnapshotRespHdrSize {
		b.buf = slices.Grow(b.buf[:0], SnapshotRespHdrSize)[:SnapshotRespHdrSize]
		b.slots = 0
	}
	from := b.packedStart()
	packedLen := len(b.buf) - from
	to := SnapshotRespHdrSize + n*netipc.DirEntrySize
	if to > from {
		b.buf = slices.Grow(b.buf, to-from)[:to+packedLen]
	}
	copy(b.buf[to:to+packedLen], b.buf[from:from+packedLen])
	b.buf = b.buf[:to+packedLen]
	b.slots = n
}

// AddItem adds one cgroup item; name and path are copied with their NULs
// appended (hash should be SimpleHash(name)). It fails with
// ErrLimitExceeded (a *netipc.LimitError) if the finished payload would
// exceed MaxPayload; nothing is added then.
func (b *CgroupsSnapshotBuilder) AddItem(hash, options, enabled uint32, name, path []byte) error {
	packedLen := 0
	if len(b.buf) != 0 {
		packedLen = len(b.buf) - b.packedStart()
	}
	off := bin.Align8(packedLen)
	size := snapItemSize(len(name), len(path))
	total := SnapshotRespHdrSize + (int(b.count)+1)*netipc.DirEntrySize + off + size
	if total > b.MaxPayload() {
		return &netipc.LimitError{Limit: netipc.LimitResponsePayload, Max: uint64(b.MaxPayload()), Actual: uint64(total)}
	}
	if int(b.count) >= b.slots || len(b.buf) == 0 {
		b.setSlots(max(2*b.slots, 16, int(b.count)+1))
	}
	// One capacity check for the padding and the item; the buffer is
	// resliced in place (the compiler stores the length alone, no
	// pointer store) unless it has to grow.
	n := len(b.buf)
	start := n + off - packedLen
	end := start + size
	if end > cap(b.buf) {
		b.buf = slices.Grow(b.buf, end-n)
	}
	b.buf = b.buf[:end]
	buf := b.buf
	// The padding as one word store (an item is longer than 8 bytes);
	// the item overwrites what lies past it.
	hostEndian.PutUint64(buf[n:], 0)
	putSnapItem(buf[start:end], hash, options, enabled, name, path)
	e := (*[netipc.DirEntrySize]byte)(buf[SnapshotRespHdrSize+int(b.count)*netipc.DirEntrySize:])
	hostEndian.PutUint32(e[0:], uint32(off))
	hostEndian.PutUint32(e[4:], uint32(size))
	b.count++
	return nil
}

// Add adds an owned item; see AddItem.
func (b *CgroupsSnapshotBuilder) Add(it *CgroupItem) error {
	return b.AddItem(it.Hash, it.Options, it.Enabled, it.Name, it.Path)
}

// Finish returns the complete payload. The returned slice is owned by the
// builder and valid until its next method call; the builder stays usable
// (more items may be added and Finish called again, or Reset starts over).
func (b *CgroupsSnapshotBuilder) Finish() []byte {
	if len(b.buf) == 0 || b.slots != int(b.count) {
		b.setSlots(int(b.count))
	}
	b.lastCount = int(b.count)
	out := b.buf
	bin.Put16(out, 0, netipc.LayoutVersion)
	bin.Put16(out, 2, 0)
	bin.Put32(out, snapHdrItemCount, b.count)
	bin.Put32(out, snapHdrSystemd, b.systemdEnabled)
	bin.Put32(out, snapHdrReserved, 0)
	bin.Put64(out, snapHdrGeneration, b.generation)
	return out
}
