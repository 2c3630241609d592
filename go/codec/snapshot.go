package codec

import (
	"encoding/binary"
	"iter"
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// CGROUPS_SNAPSHOT sizes.
const (
	// SnapshotReqSize is the size of the CGROUPS_SNAPSHOT request payload.
	SnapshotReqSize = 4
	// SnapshotRespHdrSize is the size of the fixed snapshot response header.
	SnapshotRespHdrSize = 24
	// SnapshotItemHdrSize is the size of the fixed item header; also the
	// first valid string offset.
	SnapshotItemHdrSize = 32
	// SnapshotItemMinSize is the smallest encoded item: the header plus the
	// NULs of two empty strings.
	SnapshotItemMinSize = SnapshotItemHdrSize + 2
)

// maxPayload is the largest payload an encoder produces: payload_len is a
// uint32.
const maxPayload = 0xFFFFFFFF

// Snapshot header and item field offsets.
const (
	snapHdrItemCount  = 4
	snapHdrSystemd    = 8
	snapHdrReserved   = 12
	snapHdrGeneration = 16

	snapItemHash    = 4
	snapItemOptions = 8
	snapItemEnabled = 12
	snapItemNameOff = 16
	snapItemNameLen = 20
	snapItemPathOff = 24
	snapItemPathLen = 28
)

// SimpleHash is Netdata's simple_hash: 32-bit FNV-1 over the bytes of name
// (start at 0x811c9dc5; for each byte multiply by 16777619, wrapping, then
// XOR the byte). Producers put it in each item's hash; consumers compare it
// opaquely and never recompute it.
func SimpleHash(name []byte) uint32 {
	h := uint32(0x811c9dc5)
	for _, c := range name {
		h = h*16777619 ^ uint32(c)
	}
	return h
}

// CgroupsSnapshotRequest is the 4-byte CGROUPS_SNAPSHOT request. The only
// valid request is {LayoutVersion: 1, Flags: 0}; see
// DefaultSnapshotRequest.
type CgroupsSnapshotRequest struct {
	// LayoutVersion is the payload schema version (1).
	LayoutVersion uint16
	// Flags is reserved and must be 0.
	Flags uint16
}

// DefaultSnapshotRequest is the standard request: layout 1, flags 0.
var DefaultSnapshotRequest = CgroupsSnapshotRequest{LayoutVersion: netipc.LayoutVersion}

// Bytes returns the 4 request bytes.
func (r CgroupsSnapshotRequest) Bytes() [SnapshotReqSize]byte {
	var b [SnapshotReqSize]byte
	bin.Put16(b[:], 0, r.LayoutVersion)
	bin.Put16(b[:], 2, r.Flags)
	return b
}

// AppendSnapshotRequest appends the standard request (layout 1, flags 0).
func AppendSnapshotRequest(out []byte) []byte {
	b := DefaultSnapshotRequest.Bytes()
	return append(out, b[:]...)
}

// DecodeSnapshotRequest decodes a request payload: at least 4 bytes
// (DecodeTruncated), layout 1 (DecodeBadLayoutVersion), flags 0
// (DecodeNonZeroReserved). Bytes after the first 4 are ignored.
func DecodeSnapshotRequest(payload []byte) (CgroupsSnapshotRequest, error) {
	if len(payload) < SnapshotReqSize {
		return CgroupsSnapshotRequest{}, bin.Truncated("CGROUPS_SNAPSHOT request", SnapshotReqSize, len(payload))
	}
	if lv := bin.U16(payload, 0); lv != netipc.LayoutVersion {
		return CgroupsSnapshotRequest{}, bin.Found(netipc.DecodeBadLayoutVersion, "CGROUPS_SNAPSHOT request", uint64(lv))
	}
	if bin.U16(payload, 2) != 0 {
		return CgroupsSnapshotRequest{}, bin.Rule(netipc.DecodeNonZeroReserved, "CGROUPS_SNAPSHOT request flags")
	}
	return DefaultSnapshotRequest, nil
}

// CgroupItem is one cgroup of a snapshot, owned.
type CgroupItem struct {
	// Hash is the identity hash; producers set SimpleHash(Name).
	Hash uint32
	// Options holds the cgroup option flags (Netdata CGROUP_OPTIONS_*).
	Options uint32
	// Enabled says whether the cgroup is enabled (0 or 1 in practice).
	Enabled uint32
	// Name is the cgroup name, without NUL.
	Name []byte
	// Path is the cgroup filesystem path, without NUL.
	Path []byte
}

// CgroupsSnapshot is a full cgroups snapshot, owned.
type CgroupsSnapshot struct {
	// SystemdEnabled says whether systemd cgroup integration is active.
	SystemdEnabled uint32
	// Generation is the snapshot generation / version number.
	Generation uint64
	// Items are the snapshot items in wire order.
	Items []CgroupItem
}

// hostEndian reads fixed-size item headers (host byte order, like bin).
var hostEndian = binary.NativeEndian

func snapItemSize(nameLen, pathLen int) int { return SnapshotItemMinSize + nameLen + pathLen }

// EncodedLen returns the exact size of the snapshot's response payload; ok
// is false if it would exceed the uint32 payload limit.
func (s *CgroupsSnapshot) EncodedLen() (n int, ok bool) {
	packed := 0
	for i := range s.Items {
		packed = bin.Align8(packed) + snapItemSize(len(s.Items[i].Name), len(s.Items[i].Path))
		if packed > maxPayload {
			return 0, false
		}
	}
	total := SnapshotRespHdrSize + len(s.Items)*netipc.DirEntrySize + packed
	return total, total <= maxPayload
}

// appendSnapItem appends one item: the 32-byte item header written in
// place through a fixed-size array (no per-field bounds checks), then name
// NUL path NUL (one capacity check for the whole item).
func appendSnapItem(out []byte, hash, options, enabled uint32, name, path []byte) []byte {
	pathOff := SnapshotItemHdrSize + len(name) + 1
	size := pathOff + len(path) + 1
	start := len(out)
	if cap(out)-start < size {
		out = slices.Grow(out, size)
	}
	out = out[:start+size]
	it := out[start:]
	h := (*[SnapshotItemHdrSize]byte)(it)
	hostEndian.PutUint16(h[0:], netipc.LayoutVersion)
	hostEndian.PutUint16(h[2:], 0)
	hostEndian.PutUint32(h[snapItemHash:], hash)
	hostEndian.PutUint32(h[snapItemOptions:], options)
	hostEndian.PutUint32(h[snapItemEnabled:], enabled)
	hostEndian.PutUint32(h[snapItemNameOff:], SnapshotItemHdrSize)
	hostEndian.PutUint32(h[snapItemNameLen:], uint32(len(name)))
	hostEndian.PutUint32(h[snapItemPathOff:], uint32(pathOff))
	hostEndian.PutUint32(h[snapItemPathLen:], uint32(len(path)))
	strs := it[SnapshotItemHdrSize:]
	copy(strs, name)
	strs[len(name)] = 0
	strs = strs[len(name)+1:]
	copy(strs, path)
	strs[len(path)] = 0
	return out
}

// AppendSnapshot appends the CGROUPS_SNAPSHOT response payload for s to
// out. It produces exactly the bytes CgroupsSnapshotBuilder produces for
// the same items: header, directory, items at 8-byte aligned offsets of the
// packed area, zero padding only between items (the payload ends right
// after the last item's path NUL). It fails with ErrLimitExceeded, leaving
// out unchanged, if the payload would exceed 4 GiB - 1.
func AppendSnapshot(out []byte, s *CgroupsSnapshot) ([]byte, error) {
	total, ok := s.EncodedLen()
	if !ok {
		return out, &netipc.LimitError{Limit: netipc.LimitResponsePayload, Max: maxPayload, Actual: uint64(total)}
	}
	base := len(out)
	if cap(out)-len(out) < total {
		grown := make([]byte, len(out), len(out)+total)
		copy(grown, out)
		out = grown
	}
	out = bin.App16(out, netipc.LayoutVersion)
	out = bin.App16(out, 0)
	out = bin.App32(out, uint32(len(s.Items)))
	out = bin.App32(out, s.SystemdEnabled)
	out = bin.App32(out, 0)
	out = bin.App64(out, s.Generation)
	packed := 0
	for i := range s.Items {
		off := bin.Align8(packed)
		n := snapItemSize(len(s.Items[i].Name), len(s.Items[i].Path))
		out = bin.App32(out, uint32(off))
		out = bin.App32(out, uint32(n))
		packed = off + n
	}
	for i := range s.Items {
		it := &s.Items[i]
		out = bin.Pad8From(out, base)
		out = appendSnapItem(out, it.Hash, it.Options, it.Enabled, it.Name, it.Path)
	}
	return out, nil
}

// CgroupItemView is one decoded snapshot item. It is borrowed and
// ephemeral: Name and Path alias the response payload buffer (see the
// package documentation); copy with ToOwned if the data is needed later.
type CgroupItemView struct {
	// Hash is the identity hash (opaque: compare, never recompute).
	Hash uint32
	// Options holds the cgroup option flags.
	Options uint32
	// Enabled says whether the cgroup is enabled.
	Enabled uint32
	// Name is the cgroup name without its NUL (aliases the payload).
	Name []byte
	// Path is the cgroup path without its NUL (aliases the payload).
	Path []byte
}

// ToOwned copies the item into an owned CgroupItem.
func (v CgroupItemView) ToOwned() CgroupItem {
	return CgroupItem{
		Hash: v.Hash, Options: v.Options, Enabled: v.Enabled,
		Name: append([]byte(nil), v.Name...), Path: append([]byte(nil), v.Path...),
	}
}

// CopyInto copies the item into dst, reusing dst's string storage.
func (v CgroupItemView) CopyInto(dst *CgroupItem) {
	dst.Hash, dst.Options, dst.Enabled = v.Hash, v.Options, v.Enabled
	dst.Name = append(dst.Name[:0], v.Name...)
	dst.Path = append(dst.Path[:0], v.Path...)
}

// parseSnapItem validates one item; item is exactly its directory range.
func parseSnapItem(item []byte) (CgroupItemView, error) {
	if err := checkSnapItem(item); err != nil {
		return CgroupItemView{}, err
	}
	return snapItemView(item), nil
}

// checkSnapItem validates one item (exactly its directory range) without
// building its view.
func checkSnapItem(item []byte) error {
	if len(item) < SnapshotItemHdrSize {
		return bin.Truncated("snapshot item header", SnapshotItemHdrSize, len(item))
	}
	if lv := bin.U16(item, 0); lv != netipc.LayoutVersion {
		return bin.Found(netipc.DecodeBadLayoutVersion, "snapshot item", uint64(lv))
	}
	if bin.U16(item, 2) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "snapshot item flags")
	}
	nameOff, nameLen := uint64(bin.U32(item, snapItemNameOff)), uint64(bin.U32(item, snapItemNameLen))
	pathOff, pathLen := uint64(bin.U32(item, snapItemPathOff)), uint64(bin.U32(item, snapItemPathLen))
	if nameOff < SnapshotItemHdrSize {
		return bin.Rule(netipc.DecodeOutOfBounds, "snapshot item name")
	}
	if _, err := bin.CStr(item, nameOff, nameLen, "snapshot item name"); err != nil {
		return err
	}
	if pathOff < SnapshotItemHdrSize {
		return bin.Rule(netipc.DecodeOutOfBounds, "snapshot item path")
	}
	if _, err := bin.CStr(item, pathOff, pathLen, "snapshot item path"); err != nil {
		return err
	}
	if nameOff < pathOff+pathLen+1 && pathOff < nameOff+nameLen+1 {
		return bin.Rule(netipc.DecodeOverlap, "snapshot item name and path")
	}
	return nil
}

// snapItemView builds the view of an item checkSnapItem accepted (slice
// bounds are still checked by the language, so a bug cannot read outside
// the item).
func snapItemView(item []byte) CgroupItemView {
	nameOff, nameLen := bin.U32(item, snapItemNameOff), bin.U32(item, snapItemNameLen)
	pathOff, pathLen := bin.U32(item, snapItemPathOff), bin.U32(item, snapItemPathLen)
	return CgroupItemView{
		Hash: bin.U32(item, snapItemHash), Options: bin.U32(item, snapItemOptions),
		Enabled: bin.U32(item, snapItemEnabled),
		Name:    item[nameOff : nameOff+nameLen : nameOff+nameLen],
		Path:    item[pathOff : pathOff+pathLen : pathOff+pathLen],
	}
}

// CgroupsSnapshotView is a decoded CGROUPS_SNAPSHOT response. It is borrowed
// and ephemeral: it aliases the payload buffer (see the package
// documentation for the lifetime rules); copy with ToOwned or CopyInto if
// the data is needed later. DecodeSnapshot validated the header, the
// directory and every item, so item access cannot fail.
type CgroupsSnapshotView struct {
	// payload is the whole validated payload (empty for the zero view);
	// the header fields, the directory and the packed area are read from
	// it on demand, which keeps the view four words small (passed in
	// registers on the hot item paths).
	payload   []byte
	itemCount uint32
}

// DecodeSnapshot decodes and fully validates a response payload without
// copying or allocating. It rejects: a payload shorter than 24 bytes or an
// item shorter than 32 (DecodeTruncated); layout other than 1 in the
// header or an item (DecodeBadLayoutVersion); non-zero flags/reserved
// (DecodeNonZeroReserved); a directory that does not fit
// (DecodeBadItemCount); unaligned item offsets (DecodeBadAlignment); items
// past the packed area, strings starting inside the item header or running
// (with the NUL) past the item (DecodeOutOfBounds); missing NULs
// (DecodeMissingNul); overlapping name and path (DecodeOverlap). Bytes
// after the last item are tolerated.
func DecodeSnapshot(payload []byte) (CgroupsSnapshotView, error) {
	if len(payload) < SnapshotRespHdrSize {
		return CgroupsSnapshotView{}, bin.Truncated("CGROUPS_SNAPSHOT response header", SnapshotRespHdrSize, len(payload))
	}
	if lv := bin.U16(payload, 0); lv != netipc.LayoutVersion {
		return CgroupsSnapshotView{}, bin.Found(netipc.DecodeBadLayoutVersion, "CGROUPS_SNAPSHOT response", uint64(lv))
	}
	if bin.U16(payload, 2) != 0 {
		return CgroupsSnapshotView{}, bin.Rule(netipc.DecodeNonZeroReserved, "CGROUPS_SNAPSHOT response flags")
	}
	if bin.U32(payload, snapHdrReserved) != 0 {
		return CgroupsSnapshotView{}, bin.Rule(netipc.DecodeNonZeroReserved, "CGROUPS_SNAPSHOT response reserved")
	}
	count := bin.U32(payload, snapHdrItemCount)
	dirLen := uint64(count) * netipc.DirEntrySize
	rest := payload[SnapshotRespHdrSize:]
	if dirLen > uint64(len(rest)) {
		return CgroupsSnapshotView{}, bin.Rule(netipc.DecodeBadItemCount, "item directory exceeds the payload")
	}
	v := CgroupsSnapshotView{payload: payload, itemCount: count}
	dir, packed := snapAreas(payload, count)
	for i := firstBadSnapItem(dir, packed); i < int(count); i++ {
		// The precise error of the rule broken (the fast check found one).
		item, err := v.itemBytes(i)
		if err == nil {
			err = checkSnapItem(item)
		}
		if err != nil {
			return CgroupsSnapshotView{}, err
		}
	}
	return v, nil
}

// firstBadSnapItem is the fast form of itemBytes + checkSnapItem over a
// whole directory: the same rules as one bool per item, in one loop that
// keeps its state in registers, and no error built. It returns the index
// of the first item that breaks a rule, or the item count if none does
// (DecodeSnapshot then asks the slow pair for the precise error).
func firstBadSnapItem(dir, packed []byte) int {
	n := len(dir) / netipc.DirEntrySize
	for i := 0; i < n; i++ {
		e := (*[netipc.DirEntrySize]byte)(dir[i*netipc.DirEntrySize:])
		off, size := uint64(hostEndian.Uint32(e[0:])), uint64(hostEndian.Uint32(e[4:]))
		if off%netipc.ItemAlign != 0 || off+size > uint64(len(packed)) || size < SnapshotItemHdrSize {
			return i
		}
		item := packed[off : off+size]
		h := (*[SnapshotItemHdrSize]byte)(item)
		if hostEndian.Uint16(h[0:]) != netipc.LayoutVersion || hostEndian.Uint16(h[2:]) != 0 {
			return i
		}
		nameOff, nameEnd := uint64(hostEndian.Uint32(h[snapItemNameOff:])), uint64(hostEndian.Uint32(h[snapItemNameLen:]))
		pathOff, pathEnd := uint64(hostEndian.Uint32(h[snapItemPathOff:])), uint64(hostEndian.Uint32(h[snapItemPathLen:]))
		nameEnd += nameOff
		pathEnd += pathOff
		// Each string and its NUL inside the item, after the item header,
		// and the two not overlapping.
		if !(nameOff >= SnapshotItemHdrSize && pathOff >= SnapshotItemHdrSize &&
			nameEnd < size && pathEnd < size && item[nameEnd] == 0 && item[pathEnd] == 0 &&
			(nameOff > pathEnd || pathOff > nameEnd)) {
			return i
		}
	}
	return n
}

// itemBytes returns item i's directory range after checking its
// alignment and bounds.
func (v CgroupsSnapshotView) itemBytes(i int) ([]byte, error) {
	dir, packed := snapAreas(v.payload, v.itemCount)
	off := uint64(bin.U32(dir, i*8))
	n := uint64(bin.U32(dir, i*8+4))
	if off%netipc.ItemAlign != 0 {
		return nil, bin.Rule(netipc.DecodeBadAlignment, "snapshot item offset")
	}
	if off+n > uint64(len(packed)) {
		return nil, bin.Rule(netipc.DecodeOutOfBounds, "snapshot item directory entry")
	}
	return packed[off : off+n : off+n], nil
}

// snapAreas splits a payload whose directory of count entries fits (as
// DecodeSnapshot checked) into the directory and the packed area.
func snapAreas(payload []byte, count uint32) (dir, packed []byte) {
	end := SnapshotRespHdrSize + int(count)*netipc.DirEntrySize
	return payload[SnapshotRespHdrSize:end:end], payload[end:]
}

// Len returns the number of items (the header's item_count).
func (v CgroupsSnapshotView) Len() int { return int(v.itemCount) }

// SystemdEnabled says whether systemd cgroup integration is active.
func (v CgroupsSnapshotView) SystemdEnabled() uint32 {
	if len(v.payload) < SnapshotRespHdrSize {
		return 0
	}
	return bin.U32(v.payload, snapHdrSystemd)
}

// Generation returns the snapshot generation.
func (v CgroupsSnapshotView) Generation() uint64 {
	if len(v.payload) < SnapshotRespHdrSize {
		return 0
	}
	return bin.U64(v.payload, snapHdrGeneration)
}

// Item returns item i (0 <= i < Len(); an out-of-range index panics like
// slice indexing).
func (v CgroupsSnapshotView) Item(i int) CgroupItemView {
	var it CgroupItemView
	v.ItemInto(i, &it)
	return it
}

// ItemInto stores the view of item i in *dst (0 <= i < Len(); an
// out-of-range index panics like slice indexing). A loop that reuses one
// dst is the cheapest walk over a snapshot: nothing is copied per item
// but the view's own fields.
func (v CgroupsSnapshotView) ItemInto(i int, dst *CgroupItemView) {
	if i < 0 || i >= v.Len() {
		panic("codec: snapshot item index out of range")
	}
	dir, packed := snapAreas(v.payload, v.itemCount)
	snapItemAt(dst, dir, packed, i)
}

// snapItemAt fills *it with the view of item i of a validated snapshot
// (every bound was checked by DecodeSnapshot; the language still checks
// them). It takes the slices, not the view, and fills through a pointer:
// returning the nine-word view by value measured about three times
// slower on the item walk.
func snapItemAt(it *CgroupItemView, dir, packed []byte, i int) {
	e := (*[netipc.DirEntrySize]byte)(dir[i*netipc.DirEntrySize:])
	off := uint64(hostEndian.Uint32(e[0:]))
	item := packed[off : off+uint64(hostEndian.Uint32(e[4:]))]
	h := (*[SnapshotItemHdrSize]byte)(item)
	nameOff := uint64(hostEndian.Uint32(h[snapItemNameOff:]))
	nameEnd := nameOff + uint64(hostEndian.Uint32(h[snapItemNameLen:]))
	pathOff := uint64(hostEndian.Uint32(h[snapItemPathOff:]))
	pathEnd := pathOff + uint64(hostEndian.Uint32(h[snapItemPathLen:]))
	it.Hash = hostEndian.Uint32(h[snapItemHash:])
	it.Options = hostEndian.Uint32(h[snapItemOptions:])
	it.Enabled = hostEndian.Uint32(h[snapItemEnabled:])
	it.Name = item[nameOff:nameEnd:nameEnd]
	it.Path = item[pathOff:pathEnd:pathEnd]
}

// Items iterates over the items in wire order.
func (v CgroupsSnapshotView) Items() iter.Seq2[int, CgroupItemView] {
	n := v.Len()
	var dir, packed []byte
	if n > 0 {
		dir, packed = snapAreas(v.payload, v.itemCount)
	}
	return func(yield func(int, CgroupItemView) bool) {
		var it CgroupItemView
		for i := 0; i < n; i++ {
			snapItemAt(&it, dir, packed, i)
			if !yield(i, it) {
				return
			}
		}
	}
}

// ToOwned copies the whole snapshot into an owned CgroupsSnapshot.
func (v CgroupsSnapshotView) ToOwned() CgroupsSnapshot {
	s := CgroupsSnapshot{SystemdEnabled: v.SystemdEnabled(), Generation: v.Generation()}
	s.Items = make([]CgroupItem, v.Len())
	for i := range s.Items {
		s.Items[i] = v.Item(i).ToOwned()
	}
	return s
}

// CopyInto copies the snapshot into dst, reusing its item and string
// storage (no allocation once dst is large enough).
func (v CgroupsSnapshotView) CopyInto(dst *CgroupsSnapshot) {
	dst.SystemdEnabled, dst.Generation = v.SystemdEnabled(), v.Generation()
	n := v.Len()
	if cap(dst.Items) < n {
		grown := make([]CgroupItem, n)
		copy(grown, dst.Items[:cap(dst.Items)])
		dst.Items = grown
	}
	dst.Items = dst.Items[:n]
	for i := 0; i < n; i++ {
		v.Item(i).CopyInto(&dst.Items[i])
	}
}

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
	// buf stays in a register until the end (b.buf written once).
	buf := b.buf
	if pad := off - packedLen; pad > 0 {
		var zeros [netipc.ItemAlign]byte
		buf = append(buf, zeros[:pad]...)
	}
	buf = appendSnapItem(buf, hash, options, enabled, name, path)
	e := (*[netipc.DirEntrySize]byte)(buf[SnapshotRespHdrSize+int(b.count)*netipc.DirEntrySize:])
	hostEndian.PutUint32(e[0:], uint32(off))
	hostEndian.PutUint32(e[4:], uint32(size))
	b.buf = buf
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
