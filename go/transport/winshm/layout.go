//go:build windows

package winshm

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// Region constants of the Windows SHM layout.
const (
	// RegionMagic is the region header magic, "NSWH".
	RegionMagic uint32 = 0x4e535748
	// RegionVersion is the region layout version.
	RegionVersion uint32 = 3
	// RegionHeaderLen is the size of the region header.
	RegionHeaderLen = 128
	// CacheLine is the alignment of both data areas.
	CacheLine = 64
	// DefaultSpinTries is the SHM_HYBRID spin budget before a kernel wait.
	DefaultSpinTries = 1024
	// MaxSpinTries bounds the spin budget a client accepts from a header.
	MaxSpinTries = 1 << 20
	// BusyWaitPollMask: a busy-waiter checks deadline, abort and peer
	// state (and yields) every BusyWaitPollMask+1 iterations.
	BusyWaitPollMask = 1023
	// MaxRegionSize bounds a region (both areas and the header).
	MaxRegionSize = 1 << 31
)

// Byte offsets of the region header fields.
const (
	offMagic             = 0
	offVersion           = 4
	offHeaderLen         = 8
	offProfile           = 12
	offRequestOffset     = 16
	offRequestCapacity   = 20
	offResponseOffset    = 24
	offResponseCapacity  = 28
	offSpinTries         = 32
	offReqLen            = 36
	offRespLen           = 40
	offReqClientClosed   = 44
	offReqServerWaiting  = 48
	offRespServerClosed  = 52
	offRespClientWaiting = 56
	offReqSeq            = 64
	offRespSeq           = 72
)

// Layout is the static part of a region header.
type Layout struct {
	Profile          uint32
	RequestOffset    uint32
	RequestCapacity  uint32
	ResponseOffset   uint32
	ResponseCapacity uint32
	SpinTries        uint32
}

// Size is the byte size of the whole region.
func (l Layout) Size() uint64 {
	return max(uint64(l.RequestOffset)+uint64(l.RequestCapacity), uint64(l.ResponseOffset)+uint64(l.ResponseCapacity))
}

func align64(n uint64) uint64 { return (n + CacheLine - 1) &^ (CacheLine - 1) }

// NewLayout lays out a region whose areas each hold one whole message
// (32-byte header + the agreed payload), cache-line aligned.
func NewLayout(profile, maxRequestPayload, maxResponsePayload, spinTries uint32) (Layout, error) {
	reqCap := align64(netipc.HeaderLen + uint64(maxRequestPayload))
	respCap := align64(netipc.HeaderLen + uint64(maxResponsePayload))
	if RegionHeaderLen+reqCap+respCap > MaxRegionSize {
		return Layout{}, &netipc.LimitError{Limit: netipc.LimitLocal, Max: MaxRegionSize, Actual: RegionHeaderLen + reqCap + respCap}
	}
	return Layout{
		Profile:       profile,
		RequestOffset: RegionHeaderLen, RequestCapacity: uint32(reqCap),
		ResponseOffset: uint32(RegionHeaderLen + reqCap), ResponseCapacity: uint32(respCap),
		SpinTries: spinTries,
	}, nil
}

// Encode writes the static header fields (every volatile field zero).
func (l Layout) Encode() [RegionHeaderLen]byte {
	var b [RegionHeaderLen]byte
	bin.Put32(b[:], offMagic, RegionMagic)
	bin.Put32(b[:], offVersion, RegionVersion)
	bin.Put32(b[:], offHeaderLen, RegionHeaderLen)
	bin.Put32(b[:], offProfile, l.Profile)
	bin.Put32(b[:], offRequestOffset, l.RequestOffset)
	bin.Put32(b[:], offRequestCapacity, l.RequestCapacity)
	bin.Put32(b[:], offResponseOffset, l.ResponseOffset)
	bin.Put32(b[:], offResponseCapacity, l.ResponseCapacity)
	bin.Put32(b[:], offSpinTries, l.SpinTries)
	return b
}

// ParseLayout validates a region header read from a peer: magic, version,
// header length and profile, then offsets and capacities (aligned, after
// the header, non-overlapping, inside a region of size bytes, and large
// enough for the agreed payloads) and the spin budget.
func ParseLayout(b []byte, size uint64, profile, maxRequestPayload, maxResponsePayload uint32) (Layout, error) {
	if len(b) < RegionHeaderLen || size < RegionHeaderLen {
		return Layout{}, bin.Truncated("Win SHM region header", RegionHeaderLen, min(len(b), int(min(size, RegionHeaderLen))))
	}
	bad := func(what string) (Layout, error) {
		return Layout{}, &netipc.ArgError{Reason: "Win SHM region header: bad " + what}
	}
	switch {
	case bin.U32(b, offMagic) != RegionMagic:
		return bad("magic")
	case bin.U32(b, offVersion) != RegionVersion:
		return bad("version")
	case bin.U32(b, offHeaderLen) != RegionHeaderLen:
		return bad("header_len")
	case bin.U32(b, offProfile) != profile:
		return bad("profile")
	}
	l := Layout{
		Profile:       profile,
		RequestOffset: bin.U32(b, offRequestOffset), RequestCapacity: bin.U32(b, offRequestCapacity),
		ResponseOffset: bin.U32(b, offResponseOffset), ResponseCapacity: bin.U32(b, offResponseCapacity),
		SpinTries: bin.U32(b, offSpinTries),
	}
	reqEnd := uint64(l.RequestOffset) + uint64(l.RequestCapacity)
	respEnd := uint64(l.ResponseOffset) + uint64(l.ResponseCapacity)
	switch {
	case l.RequestOffset%CacheLine != 0 || l.ResponseOffset%CacheLine != 0:
		return bad("area alignment")
	case l.RequestOffset < RegionHeaderLen || l.ResponseOffset < RegionHeaderLen:
		return bad("area offset")
	case reqEnd > size || respEnd > size:
		return bad("area bounds")
	case reqEnd > uint64(l.ResponseOffset) && respEnd > uint64(l.RequestOffset):
		return bad("area overlap")
	case uint64(l.RequestCapacity) < netipc.HeaderLen+uint64(maxRequestPayload),
		uint64(l.ResponseCapacity) < netipc.HeaderLen+uint64(maxResponsePayload):
		return bad("area capacity")
	case l.SpinTries > MaxSpinTries:
		return bad("spin_tries")
	}
	return l, nil
}
