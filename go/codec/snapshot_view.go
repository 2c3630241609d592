package codec

import (
	"iter"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

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
	if uint(i) >= uint(v.itemCount) { // i < 0 too
		panic("codec: snapshot item index out of range")
	}
	snapItemAt(dst, v.payload, v.itemCount, i)
}

// snapItemAt fills *it with the view of item i of a validated snapshot
// payload of count items (every bound was checked by DecodeSnapshot; the
// language still checks them). It fills through a pointer: returning the
// nine-word view by value measured about three times slower on the item
// walk. Small enough to inline: offsets into the payload, full slice
// expressions (no pointer adjustment for an empty tail).
func snapItemAt(it *CgroupItemView, payload []byte, count uint32, i int) {
	at := SnapshotRespHdrSize + i*netipc.DirEntrySize
	e := payload[at : at+netipc.DirEntrySize : at+netipc.DirEntrySize]
	off := SnapshotRespHdrSize + uint64(count)*netipc.DirEntrySize + uint64(hostEndian.Uint32(e[0:4]))
	end := off + uint64(hostEndian.Uint32(e[4:8]))
	item := payload[off:end:end]
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
	return func(yield func(int, CgroupItemView) bool) {
		var it CgroupItemView
		for i := 0; i < n; i++ {
			snapItemAt(&it, v.payload, v.itemCount, i)
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
