package codec

import (
	"bytes"
	"encoding/binary"
	"iter"
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// CGROUPS_LOOKUP sizes.
const (
	// CgroupsLookupItemHdrSize is the size of the fixed per-item response
	// header.
	CgroupsLookupItemHdrSize = 28
	// CgroupsLookupMinKeyLen is the smallest valid request key directory
	// length (one path byte + NUL).
	CgroupsLookupMinKeyLen = 2
)

// CGROUPS_LOOKUP item header field offsets.
const (
	clStatus    = 2
	clOrch      = 4
	clReserved0 = 6
	clPathOff   = 8
	clPathLen   = 12
	clNameOff   = 16
	clNameLen   = 20
	clLabels    = 24
	clReserved1 = 26
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
	// The size, and whether every path is non-empty; the NUL rule is
	// checked on the written bytes (one vectorized count instead of a
	// scan per path). Any doubt: the exact checks name the error.
	keys, text := 0, 0
	for _, p := range paths {
		if len(p) == 0 || keys > MaxBudget {
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
	base := len(out)
	grown := out
	if cap(grown)-base < total {
		grown = slices.Grow(grown, total)
	}
	grown = grown[:base+total]
	p := grown[base:]
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
	if bytes.Count(area, nulByte) != len(area)-text {
		return out, cgroupsRequestLenErr(paths)
	}
	return grown, nil
}

var nulByte = []byte{0}

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
	for i := firstBadCgroupsKey(d.entries(), d.area()); i < d.count; i++ {
		// The precise error of the rule broken (the fast check found one).
		if err := checkCgroupsKey(d, i); err != nil {
			return CgroupsLookupRequestView{}, err
		}
	}
	return CgroupsLookupRequestView{dir: d}, nil
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
// first key that breaks one. If the keys before it are packed the way
// encoders write them (each at the first aligned offset after the
// previous key, zero padding between), one vectorized NUL count over
// their bytes replaces a scan per path: the terminators and the padding
// are NULs, so any further NUL lies inside a path. Otherwise each path is
// scanned.
func firstBadCgroupsKey(entries, area []byte) int {
	bad := len(entries) / LookupDirEntrySize
	packed := true
	prevEnd, text := uint64(0), uint64(0)
	for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
		e := (*[LookupDirEntrySize]byte)(entries[at : at+LookupDirEntrySize])
		off, size := uint64(hostEndian.Uint32(e[0:])), uint64(hostEndian.Uint32(e[4:]))
		end := off + size
		if off%netipc.ItemAlign != 0 || end > uint64(len(area)) || size < CgroupsLookupMinKeyLen || area[end-1] != 0 {
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
	if packed && uint64(bytes.Count(area[:prevEnd], nulByte)) == prevEnd-text {
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

// cgroupsKeyAt returns key i (without its NUL) of a validated directory.
func cgroupsKeyAt(entries, area []byte, i int) []byte {
	e := (*[LookupDirEntrySize]byte)(entries[i*LookupDirEntrySize:])
	off := uint64(hostEndian.Uint32(e[0:]))
	end := off + uint64(hostEndian.Uint32(e[4:])) - 1
	return area[off:end:end]
}

// Len returns the number of keys (0 is a valid no-op probe).
func (v CgroupsLookupRequestView) Len() int { return v.dir.count }

// Key returns path i without its NUL, aliasing the payload (0 <= i <
// Len(); out of range panics).
func (v CgroupsLookupRequestView) Key(i int) []byte {
	if i < 0 || i >= v.dir.count {
		panic("codec: cgroups lookup key index out of range")
	}
	return cgroupsKeyAt(v.dir.entries(), v.dir.area(), i)
}

// Keys iterates over the paths in request order.
func (v CgroupsLookupRequestView) Keys() iter.Seq2[int, []byte] {
	entries, area := v.dir.entries(), v.dir.area()
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

// CgroupsLookupItem is an owned CGROUPS_LOOKUP response item.
type CgroupsLookupItem struct {
	// Status is the item status.
	Status LookupStatus
	// Orchestrator is the raw orchestrator value (0 unless KNOWN).
	Orchestrator Orchestrator
	// Path is the echoed request path (non-empty, no NUL).
	Path []byte
	// Name is the cgroup name (may be empty; empty unless KNOWN).
	Name []byte
	// Labels are the labels (none unless KNOWN).
	Labels []Label
}

// CgroupsLookupResponse is an owned CGROUPS_LOOKUP response.
type CgroupsLookupResponse struct {
	// Generation is the advisory provider generation.
	Generation uint64
	// Items holds one item per request key, in request order.
	Items []CgroupsLookupItem
}

// AppendTo encodes the response with an unlimited budget, every item
// keeping its status, and appends it to out. It fails with
// ErrInvalidArgument if an item is invalid; out is then unchanged.
func (r *CgroupsLookupResponse) AppendTo(out []byte) ([]byte, error) {
	var b CgroupsLookupBuilder
	b.core.verbatim = true
	b.keyLens = b.keyLens[:0]
	for i := range r.Items {
		b.keyLens = append(b.keyLens, len(r.Items[i].Path))
	}
	b.start(r.Generation)
	for i := range r.Items {
		if _, err := b.AddItem(&r.Items[i]); err != nil {
			return out, err
		}
	}
	p, err := b.Finish()
	if err != nil {
		return out, err
	}
	return append(out, p...), nil
}

// CgroupsLookupBuilder is the reusable server-side CGROUPS_LOOKUP response
// builder with payload budget handling.
//
// Use: Reset with the decoded request, then one AddRequestItem (or Add)
// per request key, in request order, then Finish.
//
// Budget semantics. SetBudget(budget, maxBudget) sets the current response
// payload budget (the session's agreed maximum response payload) and the
// configured maximum budget; both default to 4 GiB - 1. At reset the
// builder reserves room for the minimal non-KNOWN shape of every item
// (28-byte header, echoed path + NUL, empty name NUL), so the response
// always holds exactly one item per key and never exceeds the budget:
//
//   - a KNOWN item whose full shape plus the reserved minimal shapes of the
//     later items fits the budget is encoded in full;
//   - a KNOWN item that would not fit even alone at the maximum budget
//     (16 + 8 + item > maxBudget) becomes OVERSIZED_ITEM; later items are
//     still tried;
//   - otherwise a KNOWN item that does not fit becomes PAYLOAD_EXCEEDED,
//     and so does every later item, whatever status it is added with;
//   - items added with a non-KNOWN status always fit (they become
//     PAYLOAD_EXCEEDED once the builder is in exceeded mode); adding an
//     item as PAYLOAD_EXCEEDED yourself also enters exceeded mode.
//
// Every Add returns the status actually encoded. If even the all-minimal
// response exceeds the budget, every item is encoded as PAYLOAD_EXCEEDED
// and Finish fails with ErrLimitExceeded (the server must answer
// LIMIT_EXCEEDED). Application bytes (name, labels and, for Add, the path)
// are validated; an invalid item is rejected with ErrInvalidArgument
// before anything is written, and the builder state is unchanged.
//
// The zero value is ready for an empty response with unlimited budgets.
type CgroupsLookupBuilder struct {
	core    responseCore
	keyLens []int
}

// SetBudget sets the current response budget and the configured maximum
// budget in bytes (clamped to 4 GiB - 1; maxBudget is raised to budget if
// lower). It takes effect at the next reset.
func (b *CgroupsLookupBuilder) SetBudget(budget, maxBudget int) { b.core.setBudget(budget, maxBudget) }

// Budget returns the current response budget.
func (b *CgroupsLookupBuilder) Budget() int { n, _ := b.core.budgets(); return n }

// MaxBudget returns the maximum budget used for the OVERSIZED_ITEM
// decision.
func (b *CgroupsLookupBuilder) MaxBudget() int { _, n := b.core.budgets(); return n }

// Reset starts a response to request with the given generation.
func (b *CgroupsLookupBuilder) Reset(generation uint64, request CgroupsLookupRequestView) {
	entries := request.dir.entries()
	n := len(entries) / LookupDirEntrySize
	lens := b.keyLens[:0]
	if cap(lens) < n {
		lens = make([]int, 0, n)
	}
	lens = lens[:n]
	for i := range lens {
		// Decoding validated every key (at least 2 bytes with its NUL).
		e := (*[LookupDirEntrySize]byte)(entries[i*LookupDirEntrySize:])
		lens[i] = int(hostEndian.Uint32(e[4:])) - 1
	}
	b.keyLens = lens
	b.start(generation)
}

// ResetForPaths starts a response for keys with these paths (validated
// later by Add).
func (b *CgroupsLookupBuilder) ResetForPaths(generation uint64, paths [][]byte) error {
	if uint64(len(paths)) > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "more than 4294967295 lookup items"}
	}
	b.keyLens = b.keyLens[:0]
	for _, p := range paths {
		if uint64(len(p)) > 0xFFFFFFFF {
			return &netipc.ArgError{Reason: "cgroup path too long"}
		}
		b.keyLens = append(b.keyLens, len(p))
	}
	b.start(generation)
	return nil
}

func (b *CgroupsLookupBuilder) start(generation uint64) {
	c := &b.core
	c.begin(generation, uint32(len(b.keyLens)))
	// The sum of the keys' 8-aligned minimal shapes and the padding of the
	// last one (see begin; a key length is at most 4 GiB - 1: only the sum
	// may saturate).
	rest, lastPad := 0, 0
	for _, l := range b.keyLens {
		m := l + CgroupsLookupItemHdrSize + 2
		a := bin.Align8(m)
		rest = satAdd(rest, a)
		lastPad = a - m
	}
	c.restAligned, c.lastPad = rest, lastPad
	c.start()
}

// SetGeneration sets the generation of the response being built (a reset
// starts at the generation it was given).
func (b *CgroupsLookupBuilder) SetGeneration(generation uint64) { b.core.setGeneration(generation) }

// ItemCount returns the number of items the response must hold.
func (b *CgroupsLookupBuilder) ItemCount() int { return b.core.count }

// Added returns the number of items added so far.
func (b *CgroupsLookupBuilder) Added() int { return b.core.next }

// IsExceeded reports whether the budget was reached: every further item is
// encoded as PAYLOAD_EXCEEDED.
func (b *CgroupsLookupBuilder) IsExceeded() bool { return b.core.exceeded }

// IsOverBudget reports whether even the all-PAYLOAD_EXCEEDED response
// exceeds the budget (Finish then fails with ErrLimitExceeded).
func (b *CgroupsLookupBuilder) IsOverBudget() bool { return b.core.overBudget }

// EncodedLen returns the current payload length.
func (b *CgroupsLookupBuilder) EncodedLen() int { return len(b.core.buf) }

// Add adds the next item with a raw path (validated: non-empty, no NUL,
// and as long as the request key it echoes). name and labels must be empty
// and orchestrator 0 unless status is KNOWN. It returns the status
// actually encoded.
func (b *CgroupsLookupBuilder) Add(path []byte, status LookupStatus, orchestrator Orchestrator, name []byte, labels []Label) (LookupStatus, error) {
	if err := validateCgroupPath(path); err != nil {
		return 0, err
	}
	return b.add(path, status, orchestrator, name, labels, nil)
}

// AddRequestItem adds item index (which must be the next one) echoing the
// path of the decoded request, which is not scanned again. name and labels
// are validated as in Add.
func (b *CgroupsLookupBuilder) AddRequestItem(request CgroupsLookupRequestView, index int, status LookupStatus, orchestrator Orchestrator, name []byte, labels []Label) (LookupStatus, error) {
	if index != b.core.next {
		return 0, &netipc.ArgError{Reason: "request items must be added in request order"}
	}
	if index < 0 || index >= request.dir.count {
		return 0, &netipc.ArgError{Reason: "request item index out of range"}
	}
	return b.add(cgroupsKeyAt(request.dir.entries(), request.dir.area(), index), status, orchestrator, name, labels, nil)
}

// AddWithLabelSet is Add with labels validated and laid out beforehand
// (see LabelSet): they are copied into the item as one block.
func (b *CgroupsLookupBuilder) AddWithLabelSet(path []byte, status LookupStatus, orchestrator Orchestrator, name []byte, labels LabelSet) (LookupStatus, error) {
	if err := validateCgroupPath(path); err != nil {
		return 0, err
	}
	return b.add(path, status, orchestrator, name, nil, &labels)
}

// AddRequestItemWithLabelSet is AddRequestItem with labels validated and
// laid out beforehand (see LabelSet): they are copied into the item as one
// block. This is the cheapest way to add an enriched item.
func (b *CgroupsLookupBuilder) AddRequestItemWithLabelSet(request CgroupsLookupRequestView, index int, status LookupStatus, orchestrator Orchestrator, name []byte, labels LabelSet) (LookupStatus, error) {
	if index != b.core.next {
		return 0, &netipc.ArgError{Reason: "request items must be added in request order"}
	}
	if index < 0 || index >= request.dir.count {
		return 0, &netipc.ArgError{Reason: "request item index out of range"}
	}
	return b.add(cgroupsKeyAt(request.dir.entries(), request.dir.area(), index), status, orchestrator, name, nil, &labels)
}

// AddUnknown adds the next item as non-enriched (status must not be
// KNOWN).
func (b *CgroupsLookupBuilder) AddUnknown(path []byte, status LookupStatus) (LookupStatus, error) {
	if status == LookupKnown {
		return 0, &netipc.ArgError{Reason: "a non-enriched item cannot have status KNOWN"}
	}
	return b.Add(path, status, 0, nil, nil)
}

// AddRequestUnknown adds request item index as non-enriched (status must
// not be KNOWN).
func (b *CgroupsLookupBuilder) AddRequestUnknown(request CgroupsLookupRequestView, index int, status LookupStatus) (LookupStatus, error) {
	if status == LookupKnown {
		return 0, &netipc.ArgError{Reason: "a non-enriched item cannot have status KNOWN"}
	}
	return b.AddRequestItem(request, index, status, 0, nil, nil)
}

// AddItem adds an owned item (validated like Add).
func (b *CgroupsLookupBuilder) AddItem(it *CgroupsLookupItem) (LookupStatus, error) {
	return b.Add(it.Path, it.Status, it.Orchestrator, it.Name, it.Labels)
}

// Finish returns the finished payload (owned by the builder, valid until
// its next method call). It fails with ErrInvalidState if fewer items than
// the request holds were added, and with ErrLimitExceeded if even the
// all-minimal response exceeds the budget.
func (b *CgroupsLookupBuilder) Finish() ([]byte, error) { return b.core.finish() }

// add validates and adds the next item; its labels are labels, or set
// when not nil.
//
// The rules are checked the cheap way first and the NUL rule of the name
// and of []Label labels, for an item encoded in full, as the strings are
// copied. Whenever one fails, the builder state is restored (nothing
// written counts) and check names the error.
func (b *CgroupsLookupBuilder) add(path []byte, status LookupStatus, orch Orchestrator, name []byte, labels []Label, set *LabelSet) (LookupStatus, error) {
	c := &b.core
	if c.next >= c.count {
		return 0, c.checkRoom()
	}
	count, labelBytes := len(labels), 0
	if set != nil {
		count, labelBytes = set.count, len(set.block)
	} else if count != 0 {
		n, ok := measureLabelsNoNul(labels)
		if !ok {
			return 0, b.check(path, status, orch, name, labels, count)
		}
		labelBytes = n
	}
	if !status.Valid() || b.keyLens[c.next] != len(path) ||
		(status != LookupKnown && (orch != 0 || len(name) != 0 || count != 0)) {
		return 0, b.check(path, status, orch, name, labels, count)
	}
	// Slice lengths are far from overflowing an int, and labelBytes is
	// at most 4 GiB - 1: these sums are exact.
	minSize := len(path) + CgroupsLookupItemHdrSize + 2
	full := 0
	if status == LookupKnown {
		full = itemLenWithLabels(len(path)+len(name)+CgroupsLookupItemHdrSize+2, count, labelBytes)
	}
	encoded := status
	saved := c.saved()
	var p placement
	if status == LookupKnown && !c.exceeded && full <= MaxBudget {
		// place's common case by hand (it is too large to inline): an
		// item that fits in full. Not in exceeded mode, the reserved
		// minimal shapes are within the budget (start): no sum here can
		// overflow.
		budget, maxBudget := c.budgets()
		restAfter := max(c.restAligned-bin.Align8(minSize), 0)
		need := bin.Align8(len(c.buf)) + full
		if c.next+1 < c.count {
			// Room for the minimal shapes of the items after this one.
			need = bin.Align8(need) + max(restAfter-c.lastPad, 0)
		}
		if full+LookupRespHdrSize+LookupDirEntrySize <= maxBudget && need <= budget {
			c.restAligned = restAfter
			p = placeFull
		} else {
			p = c.place(minSize, full, true, false)
		}
	} else {
		p = c.place(minSize, full, status == LookupKnown, status == LookupPayloadExceeded)
	}
	switch p {
	case placeFull:
		// growItem, putCgroupsItem and commit by hand: every call spills
		// what is live.
		buf := c.buf
		n := len(buf)
		start := bin.Align8(n)
		end := start + full
		if end > cap(buf) {
			buf = slices.Grow(buf, end-n)
		}
		buf = buf[:end]
		hostEndian.PutUint64(buf[n:], 0)
		it := buf[start:end]
		nameOff := CgroupsLookupItemHdrSize + len(path) + 1
		putCgroupsItemHeader((*[CgroupsLookupItemHdrSize]byte)(it), status, orch, len(path), len(name), count)
		copy(it[CgroupsLookupItemHdrSize:], path)
		it[nameOff-1] = 0
		ok := copyNoNul(it[nameOff:], name)
		stringsEnd := nameOff + len(name)
		it[stringsEnd] = 0
		stringsEnd++
		if set != nil {
			if count != 0 {
				putLabelSet(it, stringsEnd, set)
			}
		} else if count != 0 {
			ok = putLabels(it, stringsEnd, labels) && ok
		}
		if !ok {
			c.restore(saved)
			return 0, b.check(path, status, orch, name, labels, count)
		}
		de := (*[LookupDirEntrySize]byte)(buf[LookupRespHdrSize+c.next*LookupDirEntrySize:])
		hostEndian.PutUint32(de[0:], uint32(start-c.areaStart))
		hostEndian.PutUint32(de[4:], uint32(full))
		c.buf = buf
		c.next++
		return encoded, nil
	case placeExceeded:
		encoded = LookupPayloadExceeded
	case placeOversized:
		encoded = LookupOversizedItem
	}
	if len(name) != 0 || (set == nil && count != 0) {
		// The NUL rule, not checked yet.
		if err := b.check(path, status, orch, name, labels, count); err != nil {
			c.restore(saved)
			return 0, err
		}
	}
	buf, start := growItem(c.buf, minSize)
	putCgroupsItem(buf[start:], encoded, 0, path, nil, 0)
	c.commit(buf, start)
	return encoded, nil
}

// check returns the error add fails with for an item that breaks a rule
// (nil if none): the first rule broken, in order. count is the number of
// labels (len(labels), or that of a LabelSet).
func (b *CgroupsLookupBuilder) check(path []byte, status LookupStatus, orch Orchestrator, name []byte, labels []Label, count int) error {
	if !status.Valid() {
		return &netipc.ArgError{Reason: "undefined lookup status"}
	}
	if b.keyLens[b.core.next] != len(path) {
		return &netipc.ArgError{Reason: "path length differs from the request key it echoes"}
	}
	if bin.HasNul(name) {
		return &netipc.ArgError{Reason: "cgroup name contains a NUL byte"}
	}
	if _, err := measureLabels(labels); err != nil {
		return err
	}
	if status != LookupKnown {
		switch {
		case orch != 0:
			return &netipc.ArgError{Reason: "orchestrator must be 0 when status is not KNOWN"}
		case len(name) != 0:
			return &netipc.ArgError{Reason: "name must be empty when status is not KNOWN"}
		case count != 0:
			return &netipc.ArgError{Reason: "labels must be empty when status is not KNOWN"}
		}
	}
	return nil
}

// putCgroupsItemHeader writes the header of an item whose path follows
// the header and whose name follows the path's NUL.
func putCgroupsItemHeader(h *[CgroupsLookupItemHdrSize]byte, status LookupStatus, orch Orchestrator, pathLen, nameLen, labels int) {
	hostEndian.PutUint16(h[0:], netipc.LayoutVersion)
	hostEndian.PutUint16(h[clStatus:], uint16(status))
	hostEndian.PutUint16(h[clOrch:], uint16(orch))
	hostEndian.PutUint16(h[clReserved0:], 0)
	hostEndian.PutUint32(h[clPathOff:], CgroupsLookupItemHdrSize)
	hostEndian.PutUint32(h[clPathLen:], uint32(pathLen))
	hostEndian.PutUint32(h[clNameOff:], uint32(CgroupsLookupItemHdrSize+pathLen+1))
	hostEndian.PutUint32(h[clNameLen:], uint32(nameLen))
	hostEndian.PutUint16(h[clLabels:], uint16(labels))
	hostEndian.PutUint16(h[clReserved1:], 0)
}

// putCgroupsItem writes an item header and its path and name strings
// (labels follow separately) into it, which holds at least their room:
// path right after the header, name right after the path's NUL. It
// returns where the strings end.
func putCgroupsItem(it []byte, status LookupStatus, orch Orchestrator, path, name []byte, labels int) int {
	nameOff := CgroupsLookupItemHdrSize + len(path) + 1
	putCgroupsItemHeader((*[CgroupsLookupItemHdrSize]byte)(it), status, orch, len(path), len(name), labels)
	copy(it[CgroupsLookupItemHdrSize:], path)
	it[nameOff-1] = 0
	end := nameOff + copy(it[nameOff:], name)
	it[end] = 0
	return end + 1
}

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
	if firstBadCgroupsItem(d.entries(), d.area()) < d.count {
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
	return CgroupsLookupItemView{item: itemAt(v.dir.entries(), v.dir.area(), i)}
}

// Items iterates over the items in order.
func (v CgroupsLookupResponseView) Items() iter.Seq2[int, CgroupsLookupItemView] {
	entries, area := v.dir.entries(), v.dir.area()
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
