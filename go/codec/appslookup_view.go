package codec

import (
	"bytes"
	"iter"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// AppsLookupResponseView is a decoded APPS_LOOKUP response. It is borrowed
// and ephemeral: it aliases the payload buffer (for a Level 2 client, valid
// until the next typed call on the same client; see the package
// documentation). Decoding validated everything, so access cannot fail.
type AppsLookupResponseView struct {
	dir directory
}

// DecodeAppsLookupResponse decodes and fully validates a response payload
// without allocating. It rejects: truncated header or directory, or items
// shorter than 60 bytes (DecodeTruncated); layout other than 1
// (DecodeBadLayoutVersion); non-zero flags or reserved fields
// (DecodeNonZeroReserved); item ranges out of bounds (DecodeOutOfBounds);
// overlapping or out-of-order item ranges (DecodeOverlap); unaligned item
// offsets (DecodeBadAlignment); unknown PID or cgroup statuses
// (DecodeUnknownStatus); comm_length > 15, or 0 for a known PID
// (DecodeBadLength); PID-status and cgroup-status field rules
// (DecodeInvalidField); string offsets before byte 60 or strings out of
// bounds (DecodeOutOfBounds); missing NULs (DecodeMissingNul); interior
// NULs (DecodeInteriorNul); overlapping strings including their NULs
// (DecodeOverlap); and every label-table rule.
func DecodeAppsLookupResponse(payload []byte) (AppsLookupResponseView, error) {
	d, _, err := parseResponseDir(payload, "apps lookup response")
	if err != nil {
		return AppsLookupResponseView{}, err
	}
	if firstBadAppsItem(d.parts()) < d.count {
		// The precise error of the rule broken (the fast check found one).
		if err := d.validateItems(AppsLookupItemHdrSize, "apps lookup item", checkAppsItem); err != nil {
			return AppsLookupResponseView{}, err
		}
	}
	return AppsLookupResponseView{dir: d}, nil
}

// firstBadAppsItem is the fast form of validateItems with the item's precise
// checks (firstBadItem with appsItemOK).
func firstBadAppsItem(entries, area []byte) int {
	return firstBadItem(entries, area, AppsLookupItemHdrSize, appsItemOK)
}

// appsMinimalWords holds the minimal item as eight native-endian words
// (at offsets 0, 8, ..., 48 and 55, the last one overlapping), the first
// two masked by appsMinimalMasks, which clear the status bytes (in the word
// at 0) and the PID bytes (in the word at 8).
var appsMinimalWords, appsMinimalMasks = func() (w [8]uint64, m [2]uint64) {
	var mask [AppsLookupMinItemSize]byte
	for i := range mask {
		mask[i] = 0xff
	}
	clear(mask[alStatus : alStatus+2])
	clear(mask[alPid : alPid+4])
	m = [2]uint64{hostEndian.Uint64(mask[0:]), hostEndian.Uint64(mask[8:])}
	for i := range w {
		w[i] = hostEndian.Uint64(appsMinimalItem[min(8*i, AppsLookupMinItemSize-8):])
	}
	w[0], w[1] = w[0]&m[0], w[1]&m[1]
	return w, m
}()

// appsMinimal reports whether item is the minimal shape encoders write for
// a non-KNOWN PID (any PID, status UNKNOWN, PAYLOAD_EXCEEDED or
// OVERSIZED_ITEM): eight word compares instead of the field checks, which
// accept every such item.
func appsMinimal(item []byte) bool {
	if len(item) != AppsLookupMinItemSize {
		return false
	}
	it := (*[AppsLookupMinItemSize]byte)(item)
	w, m := &appsMinimalWords, &appsMinimalMasks
	// (| and ^ bind alike in Go: every xor in parentheses.)
	diff := (hostEndian.Uint64(it[0:])^w[0])&m[0] | (hostEndian.Uint64(it[8:])^w[1])&m[1] |
		(hostEndian.Uint64(it[16:]) ^ w[2]) | (hostEndian.Uint64(it[24:]) ^ w[3]) |
		(hostEndian.Uint64(it[32:]) ^ w[4]) | (hostEndian.Uint64(it[40:]) ^ w[5]) |
		(hostEndian.Uint64(it[48:]) ^ w[6]) | (hostEndian.Uint64(it[55:]) ^ w[7])
	status := hostEndian.Uint16(it[alStatus:])
	return diff == 0 && status != uint16(PidKnown) && status <= uint16(PidOversizedItem)
}

// appsItemOK is the fast form of checkAppsItem (item holds at least the
// header).
func appsItemOK(item []byte) bool {
	if appsMinimal(item) {
		return true
	}
	h := (*[AppsLookupItemHdrSize]byte)(item)
	status, cgs := hostEndian.Uint16(h[alStatus:]), hostEndian.Uint16(h[alCgroupStatus:])
	orch, labels := hostEndian.Uint16(h[alOrch:]), hostEndian.Uint16(h[alLabels:])
	commOff, commLen := uint64(hostEndian.Uint32(h[alCommOff:])), uint64(hostEndian.Uint32(h[alCommLen:]))
	pathOff, pathLen := uint64(hostEndian.Uint32(h[alPathOff:])), uint64(hostEndian.Uint32(h[alPathLen:]))
	nameOff, nameLen := uint64(hostEndian.Uint32(h[alNameOff:])), uint64(hostEndian.Uint32(h[alNameLen:]))
	if hostEndian.Uint16(h[0:]) != netipc.LayoutVersion || status > uint16(PidOversizedItem) ||
		cgs > uint16(CgroupHostRoot) || hostEndian.Uint32(h[alReserved0:]) != 0 ||
		hostEndian.Uint16(h[alReserved1:]) != 0 || commLen > AppsLookupCommMaxLen {
		return false
	}
	if status == uint16(PidKnown) {
		plain := orch == 0 && nameLen == 0 && labels == 0
		switch CgroupStatus(cgs) {
		case CgroupKnown:
			plain = pathLen != 0
		case CgroupUnknownPermanent:
			plain = plain && pathLen != 0
		case CgroupHostRoot:
			plain = plain && pathLen == 0
		}
		if commLen == 0 || !plain {
			return false
		}
	} else if orch|cgs|labels != 0 || hostEndian.Uint32(h[alPpid:]) != 0 || hostEndian.Uint32(h[alUID:]) != UIDUnset ||
		hostEndian.Uint64(h[alStarttime:]) != 0 || commLen|pathLen|nameLen != 0 {
		return false
	}
	commEnd, pathEnd, nameEnd := commOff+commLen+1, pathOff+pathLen+1, nameOff+nameLen+1
	if commOff == AppsLookupItemHdrSize && pathOff == commEnd && nameOff == pathEnd {
		// Packed the way encoders write them: the three NULs must be the
		// only ones in the strings, and the label strings' NULs the only
		// ones in theirs (one count over both and the table between).
		if nameEnd > uint64(len(item)) || item[commEnd-1]|item[pathEnd-1]|item[nameEnd-1] != 0 {
			return false
		}
		if labels == 0 && nameEnd == AppsLookupMinItemSize {
			// Three empty strings are their three NULs.
			return true
		}
		end, zeros, ok := labelTable(item, nameEnd, int(labels))
		return ok && bytes.Count(item[AppsLookupItemHdrSize:end], nulByte) == 3+zeros
	} else if !stringOK(item, AppsLookupItemHdrSize, commOff, commLen) ||
		!stringOK(item, AppsLookupItemHdrSize, pathOff, pathLen) ||
		!stringOK(item, AppsLookupItemHdrSize, nameOff, nameLen) ||
		(commOff < pathEnd && pathOff < commEnd) || (commOff < nameEnd && nameOff < commEnd) ||
		(pathOff < nameEnd && nameOff < pathEnd) {
		return false
	}
	return labelsOK(item, max(commEnd, pathEnd, nameEnd), int(labels))
}

// checkAppsItem checks a response item (at least the header long) with
// the precise error of the first rule it breaks.
func checkAppsItem(item []byte) error {
	if lv := bin.U16(item, 0); lv != netipc.LayoutVersion {
		return bin.Found(netipc.DecodeBadLayoutVersion, "apps lookup item", uint64(lv))
	}
	status := PidStatus(bin.U16(item, alStatus))
	if !status.Valid() {
		return bin.Found(netipc.DecodeUnknownStatus, "apps lookup pid status", uint64(status))
	}
	cgs := CgroupStatus(bin.U16(item, alCgroupStatus))
	if !cgs.Valid() {
		return bin.Found(netipc.DecodeUnknownStatus, "apps lookup cgroup status", uint64(cgs))
	}
	if bin.U32(item, alReserved0) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "item reserved0")
	}
	if bin.U16(item, alReserved1) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "item reserved1")
	}
	orch := bin.U16(item, alOrch)
	commLen, pathLen, nameLen := bin.U32(item, alCommLen), bin.U32(item, alPathLen), bin.U32(item, alNameLen)
	labels := int(bin.U16(item, alLabels))
	if commLen > AppsLookupCommMaxLen {
		return bin.Rule(netipc.DecodeBadLength, "comm_length must be <= 15")
	}
	if status == PidKnown {
		if commLen == 0 {
			return bin.Rule(netipc.DecodeBadLength, "comm_length must be 1..=15 for a KNOWN pid")
		}
		if err := checkCgroupRules(cgs, orch, pathLen, nameLen, labels); err != nil {
			return err
		}
	} else if err := checkUnknownPidRules(item, cgs, orch, commLen, pathLen, nameLen, labels); err != nil {
		return err
	}
	comm, err := checkString(item, AppsLookupItemHdrSize, bin.U32(item, alCommOff), commLen, "comm")
	if err != nil {
		return err
	}
	path, err := checkString(item, AppsLookupItemHdrSize, bin.U32(item, alPathOff), pathLen, "cgroup_path")
	if err != nil {
		return err
	}
	name, err := checkString(item, AppsLookupItemHdrSize, bin.U32(item, alNameOff), nameLen, "cgroup_name")
	if err != nil {
		return err
	}
	if overlaps(comm, path) || overlaps(comm, name) || overlaps(path, name) {
		return bin.Rule(netipc.DecodeOverlap, "comm, cgroup_path and cgroup_name strings")
	}
	_, err = checkLabels(item, max(comm.end, path.end, name.end), labels)
	return err
}

func checkCgroupRules(cgs CgroupStatus, orch uint16, pathLen, nameLen uint32, labels int) error {
	plain := func(rule string) error {
		if orch != 0 || nameLen != 0 || labels != 0 {
			return bin.Rule(netipc.DecodeInvalidField, rule)
		}
		return nil
	}
	switch cgs {
	case CgroupKnown:
		if pathLen == 0 {
			return bin.Rule(netipc.DecodeInvalidField, "cgroup_path must not be empty when cgroup_status is KNOWN")
		}
		return nil
	case CgroupUnknownRetryLater:
		return plain("cgroup_status UNKNOWN_RETRY_LATER requires orchestrator 0, an empty cgroup_name and no labels")
	case CgroupUnknownPermanent:
		if pathLen == 0 {
			return bin.Rule(netipc.DecodeInvalidField, "cgroup_path must not be empty when cgroup_status is UNKNOWN_PERMANENT")
		}
		return plain("cgroup_status UNKNOWN_PERMANENT requires orchestrator 0, an empty cgroup_name and no labels")
	default: // CgroupHostRoot
		if pathLen != 0 {
			return bin.Rule(netipc.DecodeInvalidField, "cgroup_path must be empty when cgroup_status is HOST_ROOT")
		}
		return plain("cgroup_status HOST_ROOT requires orchestrator 0, an empty cgroup_name and no labels")
	}
}

func checkUnknownPidRules(item []byte, cgs CgroupStatus, orch uint16, commLen, pathLen, nameLen uint32, labels int) error {
	switch {
	case orch != 0:
		return bin.Rule(netipc.DecodeInvalidField, "orchestrator must be 0 when pid status is not KNOWN")
	case cgs != CgroupKnown:
		return bin.Rule(netipc.DecodeInvalidField, "cgroup_status must be 0 when pid status is not KNOWN")
	case bin.U32(item, alPpid) != 0:
		return bin.Rule(netipc.DecodeInvalidField, "ppid must be 0 when pid status is not KNOWN")
	case bin.U32(item, alUID) != UIDUnset:
		return bin.Rule(netipc.DecodeInvalidField, "uid must be UID_UNSET when pid status is not KNOWN")
	case bin.U64(item, alStarttime) != 0:
		return bin.Rule(netipc.DecodeInvalidField, "starttime must be 0 when pid status is not KNOWN")
	case commLen != 0 || pathLen != 0 || nameLen != 0:
		return bin.Rule(netipc.DecodeInvalidField, "strings must be empty when pid status is not KNOWN")
	case labels != 0:
		return bin.Rule(netipc.DecodeInvalidField, "label_count must be 0 when pid status is not KNOWN")
	}
	return nil
}

// Generation returns the advisory provider generation (any value,
// including 0).
func (v AppsLookupResponseView) Generation() uint64 { return v.dir.generation() }

// Len returns the number of items.
func (v AppsLookupResponseView) Len() int { return v.dir.count }

// Item returns item i (0 <= i < Len(); out of range panics).
func (v AppsLookupResponseView) Item(i int) AppsLookupItemView {
	if i < 0 || i >= v.dir.count {
		panic("codec: apps lookup item index out of range")
	}
	entries, area := v.dir.parts()
	return AppsLookupItemView{item: itemAt(entries, area, i)}
}

// Items iterates over the items in order.
func (v AppsLookupResponseView) Items() iter.Seq2[int, AppsLookupItemView] {
	entries, area := v.dir.parts()
	return func(yield func(int, AppsLookupItemView) bool) {
		for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
			item := entryBytes((*[LookupDirEntrySize]byte)(entries[at:at+LookupDirEntrySize]), area)
			if !yield(at/LookupDirEntrySize, AppsLookupItemView{item: item}) {
				return
			}
		}
	}
}

// ToOwned copies the response.
func (v AppsLookupResponseView) ToOwned() AppsLookupResponse {
	r := AppsLookupResponse{Generation: v.dir.generation(), Items: make([]AppsLookupItem, v.Len())}
	for i := range r.Items {
		r.Items[i] = v.Item(i).ToOwned()
	}
	return r
}

// AppsLookupItemView is one decoded APPS_LOOKUP response item. It is
// borrowed and ephemeral with the same lifetime as the response view: its
// strings alias the payload. Fields are read from the validated bytes on
// access.
type AppsLookupItemView struct {
	item []byte
}

// hdr returns the item header.
func (v AppsLookupItemView) hdr() *[AppsLookupItemHdrSize]byte {
	return (*[AppsLookupItemHdrSize]byte)(v.item)
}

// Status returns the PID status.
func (v AppsLookupItemView) Status() PidStatus {
	return PidStatus(hostEndian.Uint16(v.hdr()[alStatus:]))
}

// CgroupStatus returns the cgroup status (KNOWN = 0 when the PID is not
// known).
func (v AppsLookupItemView) CgroupStatus() CgroupStatus {
	return CgroupStatus(hostEndian.Uint16(v.hdr()[alCgroupStatus:]))
}

// Orchestrator returns the raw orchestrator value.
func (v AppsLookupItemView) Orchestrator() Orchestrator {
	return Orchestrator(hostEndian.Uint16(v.hdr()[alOrch:]))
}

// Pid returns the echoed request PID.
func (v AppsLookupItemView) Pid() uint32 { return hostEndian.Uint32(v.hdr()[alPid:]) }

// Ppid returns the parent PID, or 0.
func (v AppsLookupItemView) Ppid() uint32 { return hostEndian.Uint32(v.hdr()[alPpid:]) }

// UID returns the raw UID (UIDUnset when not set).
func (v AppsLookupItemView) UID() uint32 { return hostEndian.Uint32(v.hdr()[alUID:]) }

// Starttime returns the start time in jiffies since boot (0 when unknown).
func (v AppsLookupItemView) Starttime() uint64 { return hostEndian.Uint64(v.hdr()[alStarttime:]) }

// Comm returns the process name (no NUL; aliases the payload).
func (v AppsLookupItemView) Comm() []byte { return itemString(v.item, v.hdr()[alCommOff:]) }

// CgroupPath returns the cgroup path (no NUL, may be empty; aliases the
// payload).
func (v AppsLookupItemView) CgroupPath() []byte { return itemString(v.item, v.hdr()[alPathOff:]) }

// CgroupName returns the cgroup name (no NUL, may be empty; aliases the
// payload).
func (v AppsLookupItemView) CgroupName() []byte { return itemString(v.item, v.hdr()[alNameOff:]) }

// LabelCount returns the number of labels.
func (v AppsLookupItemView) LabelCount() int { return int(hostEndian.Uint16(v.hdr()[alLabels:])) }

// table returns the label table offset: the first aligned offset after
// the three strings' NULs.
func (v AppsLookupItemView) table() int {
	h := v.hdr()
	ce := hostEndian.Uint32(h[alCommOff:]) + hostEndian.Uint32(h[alCommLen:])
	pe := hostEndian.Uint32(h[alPathOff:]) + hostEndian.Uint32(h[alPathLen:])
	ne := hostEndian.Uint32(h[alNameOff:]) + hostEndian.Uint32(h[alNameLen:])
	return bin.Align8(int(max(ce, pe, ne)) + 1)
}

// Label returns label i (0 <= i < LabelCount(); out of range panics).
func (v AppsLookupItemView) Label(i int) LabelView {
	if i < 0 || i >= v.LabelCount() {
		panic("codec: label index out of range")
	}
	return labelAt(v.item, v.table(), i)
}

// Labels iterates over the labels in table order.
func (v AppsLookupItemView) Labels() iter.Seq2[int, LabelView] {
	item := v.item
	return func(yield func(int, LabelView) bool) {
		v := AppsLookupItemView{item: item}
		t, n := v.table(), v.LabelCount()
		for i := range n {
			if !yield(i, labelAt(item, t, i)) {
				return
			}
		}
	}
}

// Bytes returns the raw item bytes (aliasing the payload).
func (v AppsLookupItemView) Bytes() []byte { return v.item }

// ToOwned copies the item.
func (v AppsLookupItemView) ToOwned() AppsLookupItem {
	it := AppsLookupItem{Pid: v.Pid(), AppsLookupEntry: AppsLookupEntry{
		Status: v.Status(), CgroupStatus: v.CgroupStatus(), Orchestrator: v.Orchestrator(),
		Ppid: v.Ppid(), UID: v.UID(), Starttime: v.Starttime(),
		Comm:       append([]byte(nil), v.Comm()...),
		CgroupPath: append([]byte(nil), v.CgroupPath()...),
		CgroupName: append([]byte(nil), v.CgroupName()...),
	}}
	if n := v.LabelCount(); n > 0 {
		it.Labels = make([]Label, n)
		t := v.table()
		for i := range it.Labels {
			it.Labels[i] = labelAt(v.item, t, i).ToOwned()
		}
	}
	return it
}

// TrustedAppsLookupItem re-reads one item that DecodeAppsLookupResponse
// already validated (for callers that keep validated item bytes, like the
// Level 2 stitched results). Passing bytes that were not validated may
// panic.
func TrustedAppsLookupItem(item []byte) AppsLookupItemView { return AppsLookupItemView{item: item} }
