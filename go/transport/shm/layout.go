//go:build linux

package shm

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// Region v3 constants.
const (
	// RegionMagic is the region header magic, "NSHM".
	RegionMagic = netipc.MagicShm
	// RegionVersion is the region layout version.
	RegionVersion uint16 = 3
	// RegionHeaderLen is the size of the region header.
	RegionHeaderLen = 64
	// RegionAlignment is the alignment of every area offset and capacity.
	RegionAlignment = 64
)

// Byte offsets of the region header fields.
const (
	offMagic            = 0
	offVersion          = 4
	offHeaderLen        = 6
	offOwnerPid         = 8
	offOwnerGeneration  = 12
	offRequestOffset    = 16
	offRequestCapacity  = 20
	offResponseOffset   = 24
	offResponseCapacity = 28
	offReqSeq           = 32
	offRespSeq          = 40
	offReqLen           = 48
	offRespLen          = 52
	offReqSignal        = 56
	offRespSignal       = 60
)

// RegionInfo is a plain copy of every field of a region header.
type RegionInfo struct {
	Magic            uint32 // RegionMagic
	Version          uint16 // RegionVersion
	HeaderLen        uint16 // RegionHeaderLen
	OwnerPid         int32  // PID of the server process
	OwnerGeneration  uint32 // non-zero, changes across server restarts
	RequestOffset    uint32 // byte offset of the request area
	RequestCapacity  uint32 // size of the request area
	ResponseOffset   uint32 // byte offset of the response area
	ResponseCapacity uint32 // size of the response area
	ReqSeq           uint64 // request sequence word
	RespSeq          uint64 // response sequence word
	ReqLen           uint32 // published request length
	RespLen          uint32 // published response length
	ReqSignal        uint32 // request futex word
	RespSignal       uint32 // response futex word
}

// ParseRegionInfo reads the 64-byte header from buf (no validation beyond
// the length).
func ParseRegionInfo(buf []byte) (RegionInfo, error) {
	if len(buf) < RegionHeaderLen {
		return RegionInfo{}, bin.Truncated("SHM region header", RegionHeaderLen, len(buf))
	}
	return RegionInfo{
		Magic: bin.U32(buf, offMagic), Version: bin.U16(buf, offVersion), HeaderLen: bin.U16(buf, offHeaderLen),
		OwnerPid: int32(bin.U32(buf, offOwnerPid)), OwnerGeneration: bin.U32(buf, offOwnerGeneration),
		RequestOffset: bin.U32(buf, offRequestOffset), RequestCapacity: bin.U32(buf, offRequestCapacity),
		ResponseOffset: bin.U32(buf, offResponseOffset), ResponseCapacity: bin.U32(buf, offResponseCapacity),
		ReqSeq: bin.U64(buf, offReqSeq), RespSeq: bin.U64(buf, offRespSeq),
		ReqLen: bin.U32(buf, offReqLen), RespLen: bin.U32(buf, offRespLen),
		ReqSignal: bin.U32(buf, offReqSignal), RespSignal: bin.U32(buf, offRespSignal),
	}, nil
}

// Encode returns the 64 header bytes.
func (i RegionInfo) Encode() [RegionHeaderLen]byte {
	var b [RegionHeaderLen]byte
	bin.Put32(b[:], offMagic, i.Magic)
	bin.Put16(b[:], offVersion, i.Version)
	bin.Put16(b[:], offHeaderLen, i.HeaderLen)
	bin.Put32(b[:], offOwnerPid, uint32(i.OwnerPid))
	bin.Put32(b[:], offOwnerGeneration, i.OwnerGeneration)
	bin.Put32(b[:], offRequestOffset, i.RequestOffset)
	bin.Put32(b[:], offRequestCapacity, i.RequestCapacity)
	bin.Put32(b[:], offResponseOffset, i.ResponseOffset)
	bin.Put32(b[:], offResponseCapacity, i.ResponseCapacity)
	bin.Put64(b[:], offReqSeq, i.ReqSeq)
	bin.Put64(b[:], offRespSeq, i.RespSeq)
	bin.Put32(b[:], offReqLen, i.ReqLen)
	bin.Put32(b[:], offRespLen, i.RespLen)
	bin.Put32(b[:], offReqSignal, i.ReqSignal)
	bin.Put32(b[:], offRespSignal, i.RespSignal)
	return b
}

// Layout holds the area offsets and capacities of a region.
type Layout struct {
	RequestOffset    uint32 // byte offset of the request area
	RequestCapacity  uint32 // size of the request area
	ResponseOffset   uint32 // byte offset of the response area
	ResponseCapacity uint32 // size of the response area
}

func areaCapacity(maxPayload uint32) (uint32, bool) {
	n := uint64(bin.Align64(int(maxPayload) + netipc.HeaderLen))
	return uint32(n), n <= 0xFFFFFFFF
}

// LayoutForPayloads is the layout a server creates for the agreed payload
// budgets: each area align64(32 + payload), the request area at 64, the
// response area right after it.
func LayoutForPayloads(maxRequestPayload, maxResponsePayload uint32) (Layout, error) {
	rq, ok1 := areaCapacity(maxRequestPayload)
	rs, ok2 := areaCapacity(maxResponsePayload)
	l := Layout{RequestOffset: RegionHeaderLen, RequestCapacity: rq, ResponseOffset: RegionHeaderLen + rq, ResponseCapacity: rs}
	if !ok1 || !ok2 || l.ResponseEnd() > 0xFFFFFFFF {
		return Layout{}, &netipc.ArgError{Reason: "SHM payload budgets too large for a region"}
	}
	return l, nil
}

// RequestEnd is the end offset of the request area.
func (l Layout) RequestEnd() uint64 { return uint64(l.RequestOffset) + uint64(l.RequestCapacity) }

// ResponseEnd is the end offset of the response area.
func (l Layout) ResponseEnd() uint64 { return uint64(l.ResponseOffset) + uint64(l.ResponseCapacity) }

// MappedLen is the region size: the end of the last area.
func (l Layout) MappedLen() uint64 { return max(l.RequestEnd(), l.ResponseEnd(), RegionHeaderLen) }

// attachError is an attach-time rule failure; it wraps ErrShmAttach.
type attachError string

func (e attachError) Error() string { return "netipc: SHM attach failed: " + string(e) }
func (e attachError) Unwrap() error { return netipc.ErrShmAttach }

// ValidateLayout checks a header read from a peer at attach time, as
// deployed clients do: magic, version 3, header_len 64, offsets >= 64,
// non-zero capacities, offsets and capacities multiples of 64, the response
// area after the request area, both inside the file, and each area large
// enough for 32 + the agreed payload. It returns netipc.ErrShmNotReady
// while the file is undersized or the header not yet written.
func ValidateLayout(info RegionInfo, fileLen uint64, maxRequestPayload, maxResponsePayload uint32) (Layout, error) {
	switch {
	case fileLen < RegionHeaderLen || info.Magic == 0:
		return Layout{}, netipc.ErrShmNotReady
	case info.Magic != RegionMagic:
		return Layout{}, attachError("bad region magic")
	case info.Version != RegionVersion:
		return Layout{}, attachError("unsupported region version")
	case info.HeaderLen != RegionHeaderLen:
		return Layout{}, attachError("bad region header_len")
	case info.OwnerGeneration == 0:
		return Layout{}, netipc.ErrShmNotReady
	}
	l := Layout{info.RequestOffset, info.RequestCapacity, info.ResponseOffset, info.ResponseCapacity}
	switch {
	case l.RequestOffset < RegionHeaderLen || l.ResponseOffset < RegionHeaderLen:
		return Layout{}, attachError("area offset inside the region header")
	case l.RequestCapacity == 0 || l.ResponseCapacity == 0:
		return Layout{}, attachError("zero area capacity")
	case l.RequestOffset%RegionAlignment != 0 || l.ResponseOffset%RegionAlignment != 0:
		return Layout{}, attachError("area offset not 64-byte aligned")
	case l.RequestCapacity%RegionAlignment != 0 || l.ResponseCapacity%RegionAlignment != 0:
		return Layout{}, attachError("area capacity not a multiple of 64")
	case uint64(l.ResponseOffset) < l.RequestEnd():
		return Layout{}, attachError("response area overlaps the request area")
	case l.RequestEnd() > fileLen || l.ResponseEnd() > fileLen:
		return Layout{}, attachError("area outside the region file")
	case uint64(l.RequestCapacity) < uint64(maxRequestPayload)+netipc.HeaderLen:
		return Layout{}, attachError("request area smaller than the agreed payload")
	case uint64(l.ResponseCapacity) < uint64(maxResponsePayload)+netipc.HeaderLen:
		return Layout{}, attachError("response area smaller than the agreed payload")
	}
	return l, nil
}
