package codec

import (
	"bytes"
	"iter"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// CgroupsLookupResponseView is a decoded CGROUPS_LOOKUP response. It is
// borrowed and ephemeral: it aliases the payload buffer (for a Level 2
// client, valid until the next typed call on the same client; see the
// package documentation). Copy what you need (or ToOwned) if it is needed
// later. Decoding validated everything, so item and label access cannot
// fail.
type CgroupsLookupResponseView struct {
	dir directory
}

// DecodeCgroupsLookupResponse decodes and fully validates a response
// payload without allocating. It rejects: truncated header or directory,
// or items shorter than 28 bytes (DecodeTruncated); layout other than 1 in
// the header or an item (DecodeBadLayoutVersion); non-zero flags or
// reserved fields (DecodeNonZeroReserved); item ranges out of bounds
// (DecodeOutOfBounds); overlapping or out-of-order item ranges
// (DecodeOverlap); unaligned item offsets (DecodeBadAlignment); unknown
// statuses (DecodeUnknownStatus); an empty path (DecodeBadLength); a
// non-KNOWN item with a non-zero orchestrator, a name or labels
// (DecodeInvalidField); string offsets before byte 28 or strings out of
// bounds (DecodeOutOfBounds); missing NULs (DecodeMissingNul); interior
// NULs (DecodeInteriorNul); overlapping strings including their NULs
// (DecodeOverlap); and every label-table rule (non-canonical table offset,
// non-zero padding, empty keys, strings not packed in table order).
func DecodeCgroupsLookupResponse(payload []byte) (CgroupsLookupResponseView, error) {
	d, _, err := parseResponseDir(payload, "cgroups lookup response")
	if err != nil {
		return CgroupsLookupResponseView{}, err
	}
	if firstBadCgroupsItem(d.parts()) < d.count {
		// The precise error of the rule broken (the fast check found one).
		if err := d.validateItems(CgroupsLookupItemHdrSize, "cgroups lookup item", checkCgroupsItem); err != nil {
			return CgroupsLookupResponseView{}, err
		}
	}
	return CgroupsLookupResponseView{dir: d}, nil
}

// firstBadCgroupsItem is the fast form of validateItems with the item's precise
// checks (firstBadItem with cgroupsItemOK).
func firstBadCgroupsItem(entries, area []byte) int {
	return firstBadItem(entries, area, CgroupsLookupItemHdrSize, cgroupsItemOK)
}

// cgroupsItemOK is the fast form of checkCgroupsItem (item holds at least
// the header).
func cgroupsItemOK(item []byte) bool {
	h := (*[CgroupsLookupItemHdrSize]byte)(item)
	status, orch := hostEndian.Uint16(h[clStatus:]), hostEndian.Uint16(h[clOrch:])
	pathOff, pathLen := uint64(hostEndian.Uint32(h[clPathOff:])), uint64(hostEndian.Uint32(h[clPathLen:]))
	nameOff, nameLen := uint64(hostEndian.Uint32(h[clNameOff:])), uint64(hostEndian.Uint32(h[clNameLen:]))
	labels := hostEndian.Uint16(h[clLabels:])
	if hostEndian.Uint16(h[0:]) != netipc.LayoutVersion || status > uint16(LookupOversizedItem) ||
		hostEndian.Uint16(h[clReserved0:])|hostEndian.Uint16(h[clReserved1:]) != 0 || pathLen == 0 ||
		(status != uint16(LookupKnown) && (orch|labels != 0 || nameLen != 0)) {
		return false
	}
	pathEnd, nameEnd := pathOff+pathLen+1, nameOff+nameLen+1
	if pathOff == CgroupsLookupItemHdrSize && nameOff == pathEnd {
		// Packed the way encoders write them: the two NULs must be the
		// only ones in the strings, and the label strings' NULs the only
		// ones in theirs (one count over both and the table between).
		if nameEnd > uint64(len(item)) || item[pathEnd-1]|item[nameEnd-1] != 0 {
			return false
		}
		end, zeros, ok := labelTable(item, nameEnd, int(labels))
		return ok && bytes.Count(item[CgroupsLookupItemHdrSize:end], nulByte) == 2+zeros
	} else if !stringOK(item, CgroupsLookupItemHdrSize, pathOff, pathLen) ||
		!stringOK(item, CgroupsLookupItemHdrSize, nameOff, nameLen) || (pathOff < nameEnd && nameOff < pathEnd) {
		return false
	}
	return labelsOK(item, max(pathEnd, nameEnd), int(labels))
}

// checkCgroupsItem checks a response item (at least the header long) with
// the precise error of the first rule it breaks.
func checkCgroupsItem(item []byte) error {
	if lv := bin.U16(item, 0); lv != netipc.LayoutVersion {
		return bin.Found(netipc.DecodeBadLayoutVersion, "cgroups lookup item", uint64(lv))
	}
	status := LookupStatus(bin.U16(item, clStatus))
	if !status.Valid() {
		return bin.Found(netipc.DecodeUnknownStatus, "cgroups lookup item status", uint64(status))
	}
	orch := Orchestrator(bin.U16(item, clOrch))
	if bin.U16(item, clReserved0) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "item reserved0")
	}
	if bin.U16(item, clReserved1) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "item reserved1")
	}
	pathLen, nameLen := bin.U32(item, clPathLen), bin.U32(item, clNameLen)
	labels := int(bin.U16(item, clLabels))
	if pathLen == 0 {
		return bin.Rule(netipc.DecodeBadLength, "cgroups lookup path_length must be >= 1")
	}
	if status != LookupKnown {
		switch {
		case orch != 0:
			return bin.Rule(netipc.DecodeInvalidField, "orchestrator must be 0 when status is not KNOWN")
		case nameLen != 0:
			return bin.Rule(netipc.DecodeInvalidField, "name must be empty when status is not KNOWN")
		case labels != 0:
			return bin.Rule(netipc.DecodeInvalidField, "label_count must be 0 when status is not KNOWN")
		}
	}
	path, err := checkString(item, CgroupsLookupItemHdrSize, bin.U32(item, clPathOff), pathLen, "path")
	if err != nil {
		return err
	}
	name, err := checkString(item, CgroupsLookupItemHdrSize, bin.U32(item, clNameOff), nameLen, "name")
	if err != nil {
		return err
	}
	if overlaps(path, name) {
		return bin.Rule(netipc.DecodeOverlap, "path and name strings")
	}
	_, err = checkLabels(item, max(path.end, name.end), labels)
	return err
}

// trustedCgroupsItem views an item that checkCgroupsItem accepted.
func trustedCgroupsItem(item []byte) CgroupsLookupItemView { return CgroupsLookupItemView{item: item} }

// Generation returns the advisory provider generation (any value,
// including 0).
func (v CgroupsLookupResponseView) Generation() uint64 { return v.dir.generation() }

// Len returns the number of items.
func (v CgroupsLookupResponseView) Len() int { return v.dir.count }

// Item returns item i (0 <= i < Len(); out of range panics).
func (v CgroupsLookupResponseView) Item(i int) CgroupsLookupItemView {
	if i < 0 || i >= v.dir.count {
		panic("codec: cgroups lookup item index out of range")
	}
	entries, area := v.dir.parts()
	return CgroupsLookupItemView{item: itemAt(entries, area, i)}
}

// Items iterates over the items in order.
func (v CgroupsLookupResponseView) Items() iter.Seq2[int, CgroupsLookupItemView] {
	entries, area := v.dir.parts()
	return func(yield func(int, CgroupsLookupItemView) bool) {
		for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
			item := entryBytes((*[LookupDirEntrySize]byte)(entries[at:at+LookupDirEntrySize]), area)
			if !yield(at/LookupDirEntrySize, CgroupsLookupItemView{item: item}) {
				return
			}
		}
	}
}

// ToOwned copies the response.
func (v CgroupsLookupResponseView) ToOwned() CgroupsLookupResponse {
	r := CgroupsLookupResponse{Generation: v.dir.generation(), Items: make([]CgroupsLookupItem, v.Len())}
	for i := range r.Items {
		r.Items[i] = v.Item(i).ToOwned()
	}
	return r
}

// CgroupsLookupItemView is one decoded CGROUPS_LOOKUP response item. It is
// borrowed and ephemeral with the same lifetime as the response view: its
// strings alias the payload. Fields are read from the validated bytes on
// access (a view of three words is passed and copied in registers).
type CgroupsLookupItemView struct {
	item []byte
}

// hdr returns the item header.
func (v CgroupsLookupItemView) hdr() *[CgroupsLookupItemHdrSize]byte {
	return (*[CgroupsLookupItemHdrSize]byte)(v.item)
}

// Status returns the item status.
func (v CgroupsLookupItemView) Status() LookupStatus {
	return LookupStatus(hostEndian.Uint16(v.hdr()[clStatus:]))
}

// Orchestrator returns the raw orchestrator value (unknown values pass
// through).
func (v CgroupsLookupItemView) Orchestrator() Orchestrator {
	return Orchestrator(hostEndian.Uint16(v.hdr()[clOrch:]))
}

// Path returns the echoed path (no NUL, never empty; aliases the payload).
func (v CgroupsLookupItemView) Path() []byte { return itemString(v.item, v.hdr()[clPathOff:]) }

// Name returns the cgroup name (no NUL, may be empty; aliases the payload).
func (v CgroupsLookupItemView) Name() []byte { return itemString(v.item, v.hdr()[clNameOff:]) }

// LabelCount returns the number of labels.
func (v CgroupsLookupItemView) LabelCount() int { return int(hostEndian.Uint16(v.hdr()[clLabels:])) }

// table returns the label table offset: the first aligned offset after
// the path's and the name's NULs.
func (v CgroupsLookupItemView) table() int {
	h := v.hdr()
	pe := hostEndian.Uint32(h[clPathOff:]) + hostEndian.Uint32(h[clPathLen:])
	ne := hostEndian.Uint32(h[clNameOff:]) + hostEndian.Uint32(h[clNameLen:])
	return bin.Align8(int(max(pe, ne)) + 1)
}

// Label returns label i (0 <= i < LabelCount(); out of range panics).
func (v CgroupsLookupItemView) Label(i int) LabelView {
	if i < 0 || i >= v.LabelCount() {
		panic("codec: label index out of range")
	}
	return labelAt(v.item, v.table(), i)
}

// Labels iterates over the labels in table order.
func (v CgroupsLookupItemView) Labels() iter.Seq2[int, LabelView] {
	item := v.item
	return func(yield func(int, LabelView) bool) {
		v := CgroupsLookupItemView{item: item}
		t, n := v.table(), v.LabelCount()
		for i := range n {
			if !yield(i, labelAt(item, t, i)) {
				return
			}
		}
	}
}

// Bytes returns the raw item bytes (aliasing the payload).
func (v CgroupsLookupItemView) Bytes() []byte { return v.item }

// ToOwned copies the item.
func (v CgroupsLookupItemView) ToOwned() CgroupsLookupItem {
	it := CgroupsLookupItem{
		Status: v.Status(), Orchestrator: v.Orchestrator(),
		Path: append([]byte(nil), v.Path()...), Name: append([]byte(nil), v.Name()...),
	}
	if n := v.LabelCount(); n > 0 {
		it.Labels = make([]Label, n)
		t := v.table()
		for i := range it.Labels {
			it.Labels[i] = labelAt(v.item, t, i).ToOwned()
		}
	}
	return it
}

// TrustedCgroupsLookupItem re-reads one item that
// DecodeCgroupsLookupResponse already validated (for callers that keep
// validated item bytes, like the Level 2 stitched results). Passing bytes
// that were not validated may panic.
func TrustedCgroupsLookupItem(item []byte) CgroupsLookupItemView { return trustedCgroupsItem(item) }
