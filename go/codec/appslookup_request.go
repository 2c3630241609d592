package codec

import (
	"iter"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// AppsLookupRequestLen returns the exact encoded size of a request for
// count PIDs; ok is false if it exceeds 4 GiB - 1.
func AppsLookupRequestLen(count int) (n int, ok bool) {
	n = satAdd(LookupReqHdrSize, count*(LookupDirEntrySize+AppsLookupKeySize))
	return n, count >= 0 && count <= MaxBudget && n <= MaxBudget
}

// AppsLookupRequestMaxItems returns the most PIDs one request may hold
// within a budget-byte payload.
func AppsLookupRequestMaxItems(budget int) int {
	return max(min(budget, MaxBudget)-LookupReqHdrSize, 0) / (LookupDirEntrySize + AppsLookupKeySize)
}

// AppendAppsLookupRequest appends the request payload for pids to out. It
// fails with ErrInvalidArgument (out unchanged) only if the request would
// exceed 4 GiB - 1.
func AppendAppsLookupRequest(out []byte, pids []uint32) ([]byte, error) {
	n, ok := AppsLookupRequestLen(len(pids))
	if !ok {
		return out, &netipc.ArgError{Reason: "apps lookup request too large"}
	}
	// Lengthened once, then written in place.
	out, p := bin.Extend(out, n)
	putRequestHeader((*[LookupReqHdrSize]byte)(p), uint32(len(pids)))
	dirEnd := LookupReqHdrSize + len(pids)*LookupDirEntrySize
	dir, keys := p[LookupReqHdrSize:dirEnd:dirEnd], p[dirEnd:]
	for i, pid := range pids {
		at := i * AppsLookupKeySize
		if at+AppsLookupKeySize > len(dir) || at+AppsLookupKeySize > len(keys) {
			break // cannot happen: both hold len(pids) entries
		}
		e, k := dir[at:at+LookupDirEntrySize:at+LookupDirEntrySize], keys[at:at+AppsLookupKeySize:at+AppsLookupKeySize]
		hostEndian.PutUint32(e[:4], uint32(at))
		hostEndian.PutUint32(e[4:], AppsLookupKeySize)
		hostEndian.PutUint32(k[:4], pid)
		hostEndian.PutUint32(k[4:], 0)
	}
	return out, nil
}

// AppsLookupRequestView is a decoded APPS_LOOKUP request. It is borrowed
// and ephemeral: it aliases the payload buffer (in a Level 2 server
// handler, valid only for the handler call). Decoding validated every key.
type AppsLookupRequestView struct {
	dir directory
}

// DecodeAppsLookupRequest decodes and fully validates a request payload.
// It rejects a truncated header or directory (DecodeTruncated), layout
// other than 1 (DecodeBadLayoutVersion), non-zero flags, reserved words or
// key reserved fields (DecodeNonZeroReserved), keys out of bounds
// (DecodeOutOfBounds), key offsets not 8-byte aligned (DecodeBadAlignment)
// and directory lengths other than 8 (DecodeBadLength).
func DecodeAppsLookupRequest(payload []byte) (AppsLookupRequestView, error) {
	d, err := parseRequestDir(payload, "apps lookup request")
	if err != nil {
		return AppsLookupRequestView{}, err
	}
	for i := firstBadAppsKey(d.parts()); i < d.count; i++ {
		// The precise error of the rule broken (the fast check found one).
		if err := checkAppsKey(d, i); err != nil {
			return AppsLookupRequestView{}, err
		}
	}
	return AppsLookupRequestView{dir: d}, nil
}

// checkAppsKey checks request key i with the precise error of the first
// rule it breaks.
func checkAppsKey(d directory, i int) error {
	off, end, err := d.entryRange(i, "apps lookup key")
	if err != nil {
		return err
	}
	if end-off != AppsLookupKeySize {
		return bin.Rule(netipc.DecodeBadLength, "apps lookup key length must be 8")
	}
	if bin.U32(d.area(), int(off)+4) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "key reserved")
	}
	return nil
}

// firstBadAppsKey is the fast form of checkAppsKey over a whole
// directory: the index of the first key that breaks a rule, or the key
// count if none does.
func firstBadAppsKey(entries, area []byte) int {
	for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
		e := (*[LookupDirEntrySize]byte)(entries[at : at+LookupDirEntrySize])
		off, size := uint64(hostEndian.Uint32(e[0:])), hostEndian.Uint32(e[4:])
		if off%netipc.ItemAlign != 0 || size != AppsLookupKeySize || off+AppsLookupKeySize > uint64(len(area)) ||
			hostEndian.Uint32(area[off+4:off+8]) != 0 {
			return at / LookupDirEntrySize
		}
	}
	return len(entries) / LookupDirEntrySize
}

// appsPid returns PID i (0 <= i < count) of a validated request
// directory: two reads of the payload (directory entry, key), no
// directory or area slices.
func (d directory) appsPid(i int) uint32 {
	at := LookupReqHdrSize + i*LookupDirEntrySize
	key := uint64(LookupReqHdrSize+d.count*LookupDirEntrySize) + uint64(hostEndian.Uint32(d.payload[at:at+4:at+4]))
	return hostEndian.Uint32(d.payload[key : key+4 : key+4])
}

// Len returns the number of PIDs (0 is a valid no-op probe).
func (v AppsLookupRequestView) Len() int { return v.dir.count }

// Pid returns PID i (0 <= i < Len(); out of range panics).
func (v AppsLookupRequestView) Pid(i int) uint32 {
	if i < 0 || i >= v.dir.count {
		panic("codec: apps lookup key index out of range")
	}
	return v.dir.appsPid(i)
}

// Pids iterates over the PIDs in request order.
func (v AppsLookupRequestView) Pids() iter.Seq2[int, uint32] {
	entries, area := v.dir.parts()
	return func(yield func(int, uint32) bool) {
		for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
			off := uint64(hostEndian.Uint32(entries[at : at+4]))
			if !yield(at/LookupDirEntrySize, hostEndian.Uint32(area[off:off+4])) {
				return
			}
		}
	}
}

// ToOwned copies the PIDs.
func (v AppsLookupRequestView) ToOwned() []uint32 {
	out := make([]uint32, v.Len())
	for i := range out {
		out[i] = v.Pid(i)
	}
	return out
}
