package codec

import (
	"bytes"
	"encoding/binary"
	"iter"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

func validateCgroupPath(path []byte) error {
	if len(path) == 0 {
		return &netipc.ArgError{Reason: "cgroup path must not be empty"}
	}
	if bin.HasNul(path) {
		return &netipc.ArgError{Reason: "cgroup path contains a NUL byte"}
	}
	return nil
}

// CgroupsLookupSingleRequestLen returns the size of a request holding
// exactly one key of pathLen bytes (without its NUL). A key whose
// single-key request exceeds the maximum request budget is an
// OVERSIZED_ITEM for Level 2.
func CgroupsLookupSingleRequestLen(pathLen int) int {
	return satAdd(pathLen, 1+LookupReqHdrSize+LookupDirEntrySize)
}

// CgroupsLookupRequestLen validates paths (non-empty, no NUL) and returns
// the exact encoded request size; it fails with ErrInvalidArgument also if
// the request would exceed 4 GiB - 1.
func CgroupsLookupRequestLen(paths [][]byte) (int, error) {
	keys := 0
	for _, p := range paths {
		if len(p) == 0 || bin.HasNul(p) {
			return 0, validateCgroupPath(p)
		}
		// Saturating: keys <= sat, so keys + 8 + len(p) + 1 only
		// overflows for absurd totals, which are clamped.
		keys = satAdd(satAlign8(keys), len(p)+1)
	}
	n := satAdd(LookupReqHdrSize+len(paths)*LookupDirEntrySize, keys)
	if n > MaxBudget {
		return 0, &netipc.ArgError{Reason: "cgroups lookup request too large"}
	}
	return n, nil
}

// AppendCgroupsLookupRequest appends the request payload for paths to out.
// Every path is validated (non-empty, no NUL) before out grows; on error
// out is returned unchanged (its spare capacity may have been written).
func AppendCgroupsLookupRequest(out []byte, paths [][]byte) ([]byte, error) {
	if len(paths) == 1 {
		return appendOneCgroupsKey(out, paths[0])
	}
	// The size, and whether every path is non-empty; the NUL rule is
	// checked here for up to fewKeys paths (a scan each, in the caller's
	// bytes: reading back the bytes just written would stall on their
	// pending stores), else on the written bytes (one vectorized count
	// instead of a scan per path). Any doubt: the exact checks name the
	// error.
	few := len(paths) <= fewKeys
	keys, text := 0, 0
	for _, p := range paths {
		if len(p) == 0 || keys > MaxBudget || few && bytes.IndexByte(p, 0) >= 0 {
			return out, cgroupsRequestLenErr(paths)
		}
		keys = bin.Align8(keys) + len(p) + 1
		text += len(p)
	}
	dirEnd := LookupReqHdrSize + len(paths)*LookupDirEntrySize
	total := dirEnd + keys
	if keys > MaxBudget || total > MaxBudget {
		return out, cgroupsRequestLenErr(paths)
	}
	grown, p := bin.Extend(out, total)
	putRequestHeader((*[LookupReqHdrSize]byte)(p), uint32(len(paths)))
	dir, area := p[LookupReqHdrSize:dirEnd], p[dirEnd:]
	at := 0
	for i, path := range paths {
		off := bin.Align8(at)
		if at+8 <= len(area) {
			// The padding (if any) as one word store; the path then
			// overwrites what lies past it.
			hostEndian.PutUint64(area[at:], 0)
		} else {
			clear(area[at:off])
		}
		end := off + len(path)
		copy(area[off:end], path)
		area[end] = 0
		e := (*[LookupDirEntrySize]byte)(dir[i*LookupDirEntrySize:])
		hostEndian.PutUint32(e[0:], uint32(off))
		hostEndian.PutUint32(e[4:], uint32(len(path)+1))
		at = end + 1
	}
	// Every byte of the area but the path bytes is a NUL or padding.
	if !few && bytes.Count(area, nulByte) != len(area)-text {
		return out, cgroupsRequestLenErr(paths)
	}
	return grown, nil
}

// appendOneCgroupsKey is AppendCgroupsLookupRequest for one path (a
// single lookup, the common request): a fixed header and directory, the
// key right after them, no padding, and little live across the copy.
func appendOneCgroupsKey(out, path []byte) ([]byte, error) {
	const keyAt = LookupReqHdrSize + LookupDirEntrySize
	total := keyAt + len(path) + 1
	if len(path) == 0 || total > MaxBudget || bytes.IndexByte(path, 0) >= 0 {
		return out, cgroupsRequestLenErr([][]byte{path})
	}
	grown, p := bin.Extend(out, total)
	h := (*[keyAt]byte)(p)
	putRequestHeader((*[LookupReqHdrSize]byte)(h[:LookupReqHdrSize]), 1)
	hostEndian.PutUint32(h[LookupReqHdrSize:], 0)
	hostEndian.PutUint32(h[LookupReqHdrSize+4:], uint32(len(path)+1))
	key := p[keyAt:]
	copy(key, path)
	key[len(path)] = 0
	return grown, nil
}

var nulByte = []byte{0}

// fewKeys is the most keys whose strings are scanned one by one
// (bytes.IndexByte, cheaper than bytes.Count on short strings) rather
// than with one count over the packed area.
const fewKeys = 2

// cgroupsRequestLenErr is the error CgroupsLookupRequestLen reports for
// paths.
func cgroupsRequestLenErr(paths [][]byte) error {
	_, err := CgroupsLookupRequestLen(paths)
	if err == nil {
		panic("codec: cgroups lookup request checks disagree")
	}
	return err
}

// CgroupsLookupRequestBuilder is an incremental, budget-aware request
// encoder. Level 2 uses it to split a logical lookup into requests that fit
// the request payload budget: Push adds the next key only if the request
// still fits afterwards. It keeps its buffers across Clear. The zero value
// has an unlimited (4 GiB - 1) budget.
type CgroupsLookupRequestBuilder struct {
	keys    []byte
	entries []uint32
	budget  int
	set     bool
}

// SetBudget changes the budget in bytes (clamped to 4 GiB - 1); keys
// already pushed stay.
func (b *CgroupsLookupRequestBuilder) SetBudget(budget int) {
	b.budget = min(max(budget, 0), MaxBudget)
	b.set = true
}

// Budget returns the request budget in bytes.
func (b *CgroupsLookupRequestBuilder) Budget() int {
	if !b.set {
		return MaxBudget
	}
	return b.budget
}

// Clear removes every key, keeping the buffers and the budget.
func (b *CgroupsLookupRequestBuilder) Clear() {
	b.keys = b.keys[:0]
	b.entries = b.entries[:0]
}

// Len returns the number of keys pushed.
func (b *CgroupsLookupRequestBuilder) Len() int { return len(b.entries) / 2 }

// EncodedLen returns the size of the request encoded now.
func (b *CgroupsLookupRequestBuilder) EncodedLen() int {
	return LookupReqHdrSize + b.Len()*LookupDirEntrySize + len(b.keys)
}

// EncodedLenWith returns the size the request would have with one more key
// of pathLen bytes (without NUL).
func (b *CgroupsLookupRequestBuilder) EncodedLenWith(pathLen int) int {
	return satAdd(LookupReqHdrSize+(b.Len()+1)*LookupDirEntrySize+bin.Align8(len(b.keys)), satAdd(pathLen, 1))
}

// Fits reports whether one more key of pathLen bytes would still fit the
// budget.
func (b *CgroupsLookupRequestBuilder) Fits(pathLen int) bool {
	return b.EncodedLenWith(pathLen) <= b.Budget()
}

// Push validates path and appends it if the request still fits the
// budget. It returns true if added, false if it does not fit (nothing
// changes: finish this request and start the next one with this key), and
// ErrInvalidArgument if the path is empty or contains NUL.
func (b *CgroupsLookupRequestBuilder) Push(path []byte) (bool, error) {
	if err := validateCgroupPath(path); err != nil {
		return false, err
	}
	if !b.Fits(len(path)) {
		return false, nil
	}
	b.keys = bin.Pad8From(b.keys, 0)
	off := len(b.keys)
	b.keys = append(b.keys, path...)
	b.keys = append(b.keys, 0)
	b.entries = append(b.entries, uint32(off), uint32(len(path)+1))
	return true, nil
}

// AppendTo appends the encoded request to out.
func (b *CgroupsLookupRequestBuilder) AppendTo(out []byte) []byte {
	out = appendRequestHeader(out, uint32(b.Len()))
	for _, v := range b.entries {
		out = bin.App32(out, v)
	}
	return append(out, b.keys...)
}

// CgroupsLookupRequestView is a decoded CGROUPS_LOOKUP request. It is
// borrowed and ephemeral: it aliases the payload buffer (in a Level 2
// server handler, valid only for the handler call; see the package
// documentation). Copy the keys (or ToOwned) if they are needed later.
// Decoding validated every key, so access cannot fail.
type CgroupsLookupRequestView struct {
	dir directory
}

// DecodeCgroupsLookupRequest decodes and fully validates a request
// payload. It rejects a truncated header or directory (DecodeTruncated),
// layout other than 1 (DecodeBadLayoutVersion), non-zero flags or reserved
// words (DecodeNonZeroReserved), keys out of bounds (DecodeOutOfBounds),
// key offsets not 8-byte aligned (DecodeBadAlignment), key lengths below 2
// (DecodeBadLength), a key not ending in NUL (DecodeMissingNul) and a NUL
// inside a path (DecodeInteriorNul).
func DecodeCgroupsLookupRequest(payload []byte) (CgroupsLookupRequestView, error) {
	d, err := parseRequestDir(payload, "cgroups lookup request")
	if err != nil {
		return CgroupsLookupRequestView{}, err
	}
	if d.count == 1 && singleCgroupsKeyOK(payload) {
		return CgroupsLookupRequestView{dir: d}, nil
	}
	for i := firstBadCgroupsKey(d.parts()); i < d.count; i++ {
		// The precise error of the rule broken (the fast check found one).
		if err := checkCgroupsKey(d, i); err != nil {
			return CgroupsLookupRequestView{}, err
		}
	}
	return CgroupsLookupRequestView{dir: d}, nil
}

// singleCgroupsKeyOK is firstBadCgroupsKey's verdict on the payload of a
// request whose header (checked) counts one key, without the loop (the
// most common request: a single lookup). False sends the request through
// the general check, which names the rule broken.
func singleCgroupsKeyOK(payload []byte) bool {
	const areaAt = LookupReqHdrSize + LookupDirEntrySize
	if len(payload) < areaAt {
		return false
	}
	e := (*[LookupDirEntrySize]byte)(payload[LookupReqHdrSize:areaAt])
	area := payload[areaAt:]
	off, size := uint64(hostEndian.Uint32(e[0:])), uint64(hostEndian.Uint32(e[4:]))
	return cgroupsKeyShapeOK(off, size, area) && !bin.HasNul(area[off:off+size-1])
}

// cgroupsKeyShapeOK checks every key rule but "no NUL inside a path" for
// the key at off of size bytes (32-bit values: off+size cannot overflow):
// aligned, within area, at least the minimal length, NUL-terminated.
func cgroupsKeyShapeOK(off, size uint64, area []byte) bool {
	end := off + size
	return off%netipc.ItemAlign == 0 && end <= uint64(len(area)) && size >= CgroupsLookupMinKeyLen && area[end-1] == 0
}

// checkCgroupsKey checks request key i with the precise error of the
// first rule it breaks.
func checkCgroupsKey(d directory, i int) error {
	off, end, err := d.entryRange(i, "cgroups lookup key")
	if err != nil {
		return err
	}
	if end-off < CgroupsLookupMinKeyLen {
		return bin.Rule(netipc.DecodeBadLength, "cgroups lookup key length must be >= 2")
	}
	k := d.area()[off:end]
	if k[len(k)-1] != 0 {
		return bin.Rule(netipc.DecodeMissingNul, "cgroups lookup key")
	}
	if bin.HasNul(k[:len(k)-1]) {
		return bin.Rule(netipc.DecodeInteriorNul, "cgroups lookup key")
	}
	return nil
}

// firstBadCgroupsKey is the fast form of checkCgroupsKey over a whole
// directory: the same rules as one bool per key and no error built. It
// returns the index of the first key that breaks a rule, or the key count
// if none does.
//
// A first pass checks every rule but "no NUL inside a path" up to the
// first key that breaks one (for up to fewKeys keys, that rule too: each
// path is scanned in the same pass). If the keys before it are packed the
// way encoders write them (each at the first aligned offset after the
// previous key, zero padding between), one vectorized NUL count over
// their bytes replaces a scan per path: the terminators and the padding
// are NULs, so any further NUL lies inside a path. Otherwise each path is
// scanned.
func firstBadCgroupsKey(entries, area []byte) int {
	bad := len(entries) / LookupDirEntrySize
	few := bad <= fewKeys
	packed := !few
	prevEnd, text := uint64(0), uint64(0)
	for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
		e := (*[LookupDirEntrySize]byte)(entries[at : at+LookupDirEntrySize])
		off, size := uint64(hostEndian.Uint32(e[0:])), uint64(hostEndian.Uint32(e[4:]))
		end := off + size
		if !cgroupsKeyShapeOK(off, size, area) || few && bin.HasNul(area[off:end-1]) {
			bad = at / LookupDirEntrySize
			break
		}
		if packed {
			// The padding before an aligned off > prevEnd is the high
			// (last) bytes of the little-endian word that ends at off.
			gap := off - prevEnd
			packed = off == uint64(bin.Align8(int(prevEnd))) &&
				(gap == 0 || binary.LittleEndian.Uint64(area[off-8:off])>>(64-8*gap) == 0)
		}
		prevEnd, text = end, text+size-1
	}
	if few || packed && uint64(bytes.Count(area[:prevEnd], nulByte)) == prevEnd-text {
		return bad
	}
	for i := range bad {
		e := (*[LookupDirEntrySize]byte)(entries[i*LookupDirEntrySize:])
		off, size := uint64(hostEndian.Uint32(e[0:])), uint64(hostEndian.Uint32(e[4:]))
		if bin.HasNul(area[off : off+size-1]) {
			return i
		}
	}
	return bad
}

// cgroupsKey returns key i (0 <= i < count, without its NUL) of a
// validated request directory, addressed in the payload directly (fewer
// slice bounds than through entries and area).
func (d directory) cgroupsKey(i int) []byte {
	e := (*[LookupDirEntrySize]byte)(d.payload[LookupReqHdrSize+i*LookupDirEntrySize:])
	off := LookupReqHdrSize + uint64(d.count)*LookupDirEntrySize + uint64(hostEndian.Uint32(e[0:]))
	end := off + uint64(hostEndian.Uint32(e[4:])) - 1
	return d.payload[off:end:end]
}

// Len returns the number of keys (0 is a valid no-op probe).
func (v CgroupsLookupRequestView) Len() int { return v.dir.count }

// Key returns path i without its NUL, aliasing the payload (0 <= i <
// Len(); out of range panics).
func (v CgroupsLookupRequestView) Key(i int) []byte {
	if i < 0 || i >= v.dir.count {
		panic("codec: cgroups lookup key index out of range")
	}
	return v.dir.cgroupsKey(i)
}

// Keys iterates over the paths in request order.
func (v CgroupsLookupRequestView) Keys() iter.Seq2[int, []byte] {
	entries, area := v.dir.parts()
	return func(yield func(int, []byte) bool) {
		for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
			e := (*[LookupDirEntrySize]byte)(entries[at : at+LookupDirEntrySize])
			off := uint64(hostEndian.Uint32(e[0:]))
			end := off + uint64(hostEndian.Uint32(e[4:])) - 1
			if !yield(at/LookupDirEntrySize, area[off:end:end]) {
				return
			}
		}
	}
}

// ToOwned copies the paths.
func (v CgroupsLookupRequestView) ToOwned() [][]byte {
	out := make([][]byte, v.Len())
	for i := range out {
		out[i] = append([]byte(nil), v.Key(i)...)
	}
	return out
}
