package codec

import (
	"encoding/binary"

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

// appendSnapItem appends one item (one capacity check for the whole
// item).
func appendSnapItem(out []byte, hash, options, enabled uint32, name, path []byte) []byte {
	out, it := bin.Extend(out, snapItemSize(len(name), len(path)))
	putSnapItem(it, hash, options, enabled, name, path)
	return out
}

// putSnapItem writes one item into it (at least snapItemSize(len(name),
// len(path)) bytes): the 32-byte item header through a fixed-size array
// (no per-field bounds checks), then name NUL path NUL.
func putSnapItem(it []byte, hash, options, enabled uint32, name, path []byte) {
	pathOff := SnapshotItemHdrSize + len(name) + 1
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
