package codec

import (
	"bytes"
	"encoding/binary"
	"iter"
	"math"
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// Lookup payload sizes shared by CGROUPS_LOOKUP and APPS_LOOKUP.
const (
	// LookupReqHdrSize is the size of the fixed lookup request header.
	LookupReqHdrSize = 16
	// LookupRespHdrSize is the size of the fixed lookup response header.
	LookupRespHdrSize = 16
	// LookupDirEntrySize is the size of one lookup directory entry.
	LookupDirEntrySize = netipc.DirEntrySize
	// LookupLabelEntrySize is the size of one label table entry.
	LookupLabelEntrySize = 16
	// MaxLabels is the most labels one item can carry (label_count is a
	// uint16).
	MaxLabels = math.MaxUint16
	// MaxBudget is the largest payload budget (payload_len is a uint32).
	MaxBudget = maxPayload
)

// Label is an owned label (Key = Value), bytes without NUL terminators.
// Keys are never empty; values may be.
type Label struct {
	// Key is the label key (non-empty, no NUL).
	Key []byte
	// Value is the label value (may be empty, no NUL).
	Value []byte
}

// LabelView is a label inside a decoded response item. It is borrowed and
// ephemeral: Key and Value alias the payload buffer (see the package
// documentation); copy with ToOwned if needed later.
type LabelView struct {
	// Key is the label key (aliases the payload; never empty).
	Key []byte
	// Value is the label value (aliases the payload; may be empty).
	Value []byte
}

// ToOwned copies the label.
func (l LabelView) ToOwned() Label {
	return Label{Key: append([]byte(nil), l.Key...), Value: append([]byte(nil), l.Value...)}
}

const sat = math.MaxInt

// satAdd adds non-negative ints, saturating at MaxInt.
func satAdd(a, b int) int {
	if a > sat-b {
		return sat
	}
	return a + b
}

func satAlign8(n int) int {
	if n > sat-7 {
		return sat
	}
	return bin.Align8(n)
}

// directory is a validated header + directory of a lookup payload: the
// payload and its item count (four words: views holding it are passed and
// copied in registers).
type directory struct {
	payload []byte
	count   int
}

// entries returns the directory entries (none for the zero directory).
func (d directory) entries() []byte {
	if len(d.payload) < LookupReqHdrSize {
		return nil
	}
	end := LookupReqHdrSize + d.count*LookupDirEntrySize
	return d.payload[LookupReqHdrSize:end:end]
}

// area returns the packed area after the directory (none for the zero
// directory).
func (d directory) area() []byte {
	if len(d.payload) < LookupReqHdrSize {
		return nil
	}
	return d.payload[LookupReqHdrSize+d.count*LookupDirEntrySize:]
}

// generation returns a response's generation (0 for the zero directory).
func (d directory) generation() uint64 {
	if len(d.payload) < LookupRespHdrSize {
		return 0
	}
	return hostEndian.Uint64(d.payload[8:16])
}

func parseRequestDir(payload []byte, what string) (directory, error) {
	if len(payload) < LookupReqHdrSize {
		return directory{}, bin.Truncated(what, LookupReqHdrSize, len(payload))
	}
	if lv := bin.U16(payload, 0); lv != netipc.LayoutVersion {
		return directory{}, bin.Found(netipc.DecodeBadLayoutVersion, what, uint64(lv))
	}
	if bin.U16(payload, 2) != 0 {
		return directory{}, bin.Rule(netipc.DecodeNonZeroReserved, "flags")
	}
	count := bin.U32(payload, 4)
	if bin.U32(payload, 8) != 0 {
		return directory{}, bin.Rule(netipc.DecodeNonZeroReserved, "reserved0")
	}
	if bin.U32(payload, 12) != 0 {
		return directory{}, bin.Rule(netipc.DecodeNonZeroReserved, "reserved1")
	}
	return locateDir(payload, LookupReqHdrSize, count)
}

func parseResponseDir(payload []byte, what string) (directory, uint64, error) {
	if len(payload) < LookupRespHdrSize {
		return directory{}, 0, bin.Truncated(what, LookupRespHdrSize, len(payload))
	}
	if lv := bin.U16(payload, 0); lv != netipc.LayoutVersion {
		return directory{}, 0, bin.Found(netipc.DecodeBadLayoutVersion, what, uint64(lv))
	}
	if bin.U16(payload, 2) != 0 {
		return directory{}, 0, bin.Rule(netipc.DecodeNonZeroReserved, "flags")
	}
	d, err := locateDir(payload, LookupRespHdrSize, bin.U32(payload, 4))
	return d, bin.U64(payload, 8), err
}

// locateDir checks that the directory of count entries after a hdr-byte
// header (LookupReqHdrSize: both headers have that size) fits payload.
func locateDir(payload []byte, hdr int, count uint32) (directory, error) {
	areaStart := uint64(hdr) + uint64(count)*LookupDirEntrySize
	if areaStart > uint64(len(payload)) {
		return directory{}, bin.Truncated("lookup directory", int(min(areaStart, 1<<40)), len(payload))
	}
	return directory{payload: payload, count: int(count)}, nil
}

func (d directory) rawEntry(i int) (off, n uint64) {
	return uint64(bin.U32(d.entries(), i*8)), uint64(bin.U32(d.entries(), i*8+4))
}

// entryRange checks entry i: 8-byte aligned offset and a range inside the
// packed area.
func (d directory) entryRange(i int, what string) (off, end uint64, err error) {
	off, n := d.rawEntry(i)
	if off%netipc.ItemAlign != 0 {
		return 0, 0, bin.Rule(netipc.DecodeBadAlignment, what)
	}
	end = off + n
	if end > uint64(len(d.area())) {
		return 0, 0, bin.Rule(netipc.DecodeOutOfBounds, what)
	}
	return off, end, nil
}

// firstBadItem is the fast form of validateItems: the same directory rules
// and ok for each item's own bytes (the fast form of its precise check),
// as one bool per item and no error built. It returns the index of the
// first item that breaks a rule, or the item count if none does.
func firstBadItem(entries, area []byte, minLen uint64, ok func(item []byte) bool) int {
	prevEnd := uint64(0)
	for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
		e := (*[LookupDirEntrySize]byte)(entries[at : at+LookupDirEntrySize])
		off, size := uint64(hostEndian.Uint32(e[0:])), uint64(hostEndian.Uint32(e[4:]))
		end := off + size
		if off%netipc.ItemAlign != 0 || end > uint64(len(area)) || off < prevEnd || size < minLen ||
			!ok(area[off:end]) {
			return at / LookupDirEntrySize
		}
		prevEnd = end
	}
	return len(entries) / LookupDirEntrySize
}

// validateItems checks every entry as a response item: aligned, in bounds,
// in increasing order without overlap, at least minLen bytes; check then
// validates each item's own bytes.
func (d directory) validateItems(minLen int, what string, check func([]byte) error) error {
	prevEnd := uint64(0)
	for i := 0; i < d.count; i++ {
		off, end, err := d.entryRange(i, "lookup item range")
		if err != nil {
			return err
		}
		if off < prevEnd {
			return bin.Rule(netipc.DecodeOverlap, "lookup item ranges")
		}
		if end-off < uint64(minLen) {
			return bin.Truncated(what, minLen, int(end-off))
		}
		if err := check(d.area()[off:end:end]); err != nil {
			return err
		}
		prevEnd = end
	}
	return nil
}

// putRequestHeader writes a request header for count keys.
func putRequestHeader(h *[LookupReqHdrSize]byte, count uint32) {
	hostEndian.PutUint16(h[0:], netipc.LayoutVersion)
	hostEndian.PutUint16(h[2:], 0)
	hostEndian.PutUint32(h[4:], count)
	hostEndian.PutUint64(h[8:], 0)
}

func appendRequestHeader(out []byte, count uint32) []byte {
	out = bin.App16(out, netipc.LayoutVersion)
	out = bin.App16(out, 0)
	out = bin.App32(out, count)
	out = bin.App32(out, 0)
	return bin.App32(out, 0)
}

func appendResponseHeader(out []byte, count uint32, generation uint64) []byte {
	out = bin.App16(out, netipc.LayoutVersion)
	out = bin.App16(out, 0)
	out = bin.App32(out, count)
	return bin.App64(out, generation)
}

// span is a validated item string [start, end), its NUL included.
type span struct{ start, end int }

func (s span) bytes(item []byte) []byte { return item[s.start : s.end-1 : s.end-1] }

// checkString validates one item string: offset at or after the item
// header, in bounds with its NUL, no interior NUL.
func checkString(item []byte, hdr int, off, n uint32, what string) (span, error) {
	if int(off) < hdr {
		return span{}, bin.Rule(netipc.DecodeOutOfBounds, what)
	}
	s, err := bin.CStr(item, uint64(off), uint64(n), what)
	if err != nil {
		return span{}, err
	}
	if bin.HasNul(s) {
		return span{}, bin.Rule(netipc.DecodeInteriorNul, what)
	}
	return span{int(off), int(off) + int(n) + 1}, nil
}

func overlaps(a, b span) bool { return a.start < b.end && b.start < a.end }

// measureLabels validates application labels and returns the table plus
// packed strings size (NULs included).
func measureLabels(labels []Label) (bytes int, err error) {
	if len(labels) > MaxLabels {
		return 0, &netipc.ArgError{Reason: "more than 65535 labels"}
	}
	for i := range labels {
		k, v := labels[i].Key, labels[i].Value
		if len(k) == 0 {
			return 0, &netipc.ArgError{Reason: "label key must not be empty"}
		}
		if bin.HasNul(k) {
			return 0, &netipc.ArgError{Reason: "label key contains a NUL byte"}
		}
		if bin.HasNul(v) {
			return 0, &netipc.ArgError{Reason: "label value contains a NUL byte"}
		}
		bytes += len(k) + len(v) + 2 + LookupLabelEntrySize
		if bytes > maxPayload {
			return 0, &netipc.ArgError{Reason: "labels too large"}
		}
	}
	return bytes, nil
}

// measureLabelsNoNul is measureLabels without the NUL rule, and without
// naming the rule broken: ok is false if one is.
func measureLabelsNoNul(labels []Label) (bytes int, ok bool) {
	if len(labels) > MaxLabels {
		return 0, false
	}
	for i := range labels {
		k := len(labels[i].Key)
		bytes += k + len(labels[i].Value) + 2 + LookupLabelEntrySize
		if k == 0 || bytes > maxPayload {
			return 0, false
		}
	}
	return bytes, true
}

// copyNoNul copies src to the start of dst (at least as long) and reports
// whether src holds no NUL byte: the bytes are checked as they are copied,
// a word at a time (a copy and a scan are two calls, and a scan of bytes
// just written stalls on the stores).
func copyNoNul(dst, src []byte) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	n := len(src)
	switch {
	case n > 64:
		copy(dst, src)
		return bytes.IndexByte(src, 0) < 0
	case n > 32:
		dst = dst[:n]
		var acc uint64
		for i := 0; i+8 <= n; i += 8 {
			w := byteOrder.Uint64(src[i:])
			acc |= (w - lo) &^ w
			byteOrder.PutUint64(dst[i:], w)
		}
		// The last word, overlapping bytes already copied.
		w := byteOrder.Uint64(src[n-8:])
		byteOrder.PutUint64(dst[n-8:], w)
		// Non-zero iff some byte of a word is zero (exact as a boolean).
		return ((w-lo)&^w|acc)&hi == 0
	case n > 16:
		// Four words, the last two overlapping the first two.
		a, b := byteOrder.Uint64(src), byteOrder.Uint64(src[8:])
		c, d := byteOrder.Uint64(src[n-16:]), byteOrder.Uint64(src[n-8:])
		byteOrder.PutUint64(dst, a)
		byteOrder.PutUint64(dst[8:], b)
		byteOrder.PutUint64(dst[n-16:], c)
		byteOrder.PutUint64(dst[n-8:], d)
		return ((a-lo)&^a|(b-lo)&^b|(c-lo)&^c|(d-lo)&^d)&hi == 0
	case n >= 8:
		a, b := byteOrder.Uint64(src), byteOrder.Uint64(src[n-8:])
		byteOrder.PutUint64(dst, a)
		byteOrder.PutUint64(dst[n-8:], b)
		return ((a-lo)&^a|(b-lo)&^b)&hi == 0
	case n >= 4:
		a, b := byteOrder.Uint32(src), byteOrder.Uint32(src[n-4:])
		byteOrder.PutUint32(dst, a)
		byteOrder.PutUint32(dst[n-4:], b)
		return ((a-lo&0xFFFFFFFF)&^a|(b-lo&0xFFFFFFFF)&^b)&(hi&0xFFFFFFFF) == 0
	case n >= 2:
		a, b := byteOrder.Uint16(src), byteOrder.Uint16(src[n-2:])
		byteOrder.PutUint16(dst, a)
		byteOrder.PutUint16(dst[n-2:], b)
		return ((a-lo&0xFFFF)&^a|(b-lo&0xFFFF)&^b)&(hi&0xFFFF) == 0
	case n == 1:
		dst[0] = src[0]
		return src[0] != 0
	}
	return true
}

// byteOrder reads and writes words for byte copies and scans (their order
// does not matter).
var byteOrder = binary.LittleEndian

// itemLenWithLabels is the size of an item whose strings end at stringsEnd
// followed by labelBytes of labels (count labels).
func itemLenWithLabels(stringsEnd, count, labelBytes int) int {
	if count == 0 {
		return stringsEnd
	}
	return satAdd(satAlign8(stringsEnd), labelBytes)
}

// putLabels writes the padding, table and packed strings of labels into
// an item (it) whose other strings end at stringsEnd; it holds exactly the
// room. Table entry i and label i's strings are written in one pass, and
// the strings checked for NULs as they are copied: it reports whether
// there was none.
func putLabels(it []byte, stringsEnd int, labels []Label) bool {
	// The padding as one word store (the table overwrites what lies past
	// it; the table and strings are longer than a word).
	hostEndian.PutUint64(it[stringsEnd:], 0)
	table := bin.Align8(stringsEnd)
	s := table + len(labels)*LookupLabelEntrySize
	ok := true
	for i := range labels {
		k, v := labels[i].Key, labels[i].Value
		e := (*[LookupLabelEntrySize]byte)(it[table+i*LookupLabelEntrySize:])
		hostEndian.PutUint32(e[0:], uint32(s))
		hostEndian.PutUint32(e[4:], uint32(len(k)))
		hostEndian.PutUint32(e[8:], uint32(s+len(k)+1))
		hostEndian.PutUint32(e[12:], uint32(len(v)))
		ok = copyNoNul(it[s:], k) && ok
		s += len(k)
		it[s] = 0
		ok = copyNoNul(it[s+1:], v) && ok
		s += len(v) + 1
		it[s] = 0
		s++
	}
	return ok
}

// LabelSet is a label list validated and laid out once, for items that
// all carry the same labels (a handler's constant labels, a container's
// labels shared by its processes).
//
// The builders take a LabelSet wherever they take []Label (the
// ...WithLabelSet methods). Adding an item with it neither validates nor
// measures the labels again: their table and packed strings are copied as
// one block and only the offsets are moved to the item. Building one
// allocates; build it once and reuse it across items and calls. A
// LabelSet is immutable and safe for concurrent use. The zero value holds
// no labels.
type LabelSet struct {
	// block is the label table (string offsets relative to its start)
	// followed by the packed strings, exactly as they follow an item's
	// table offset.
	block []byte
	count int
}

// NewLabelSet validates and lays out labels (copied: the set does not
// alias them). It fails with ErrInvalidArgument on an empty key, a NUL
// inside a key or value, more than MaxLabels labels, or labels whose
// encoded size does not fit 4 GiB - 1, as the builders' []Label methods
// do.
func NewLabelSet(labels []Label) (LabelSet, error) {
	n, err := measureLabels(labels)
	if err != nil || len(labels) == 0 {
		return LabelSet{}, err
	}
	block := make([]byte, n) // n >= 18: room for putLabels' word store
	putLabels(block, 0, labels)
	return LabelSet{block: block, count: len(labels)}, nil
}

// Len returns the number of labels.
func (s LabelSet) Len() int { return s.count }

// Label returns label i (0 <= i < Len(); out of range panics). Key and
// Value alias the set: do not modify them.
func (s LabelSet) Label(i int) LabelView {
	if i < 0 || i >= s.count {
		panic("codec: label index out of range")
	}
	return labelAt(s.block, 0, i)
}

// Labels iterates over the labels in order (aliasing the set, as Label).
func (s LabelSet) Labels() iter.Seq2[int, LabelView] {
	block, n := s.block, s.count
	return func(yield func(int, LabelView) bool) {
		for i := range n {
			if !yield(i, labelAt(block, 0, i)) {
				return
			}
		}
	}
}

// ToLabels copies the labels.
func (s LabelSet) ToLabels() []Label {
	if s.count == 0 {
		return nil
	}
	out := make([]Label, s.count)
	for i := range out {
		out[i] = labelAt(s.block, 0, i).ToOwned()
	}
	return out
}

// putLabelSet writes the padding, table and packed strings of set into an
// item (it) whose other strings end at stringsEnd; it holds exactly the
// room.
func putLabelSet(it []byte, stringsEnd int, set *LabelSet) {
	hostEndian.PutUint64(it[stringsEnd:], 0)
	table := bin.Align8(stringsEnd)
	copy(it[table:], set.block)
	// The offsets moved by table, read from the set (not from the bytes
	// just copied).
	src := set.block[:set.count*LookupLabelEntrySize]
	dst := it[table : table+len(src)]
	for e := 0; e+LookupLabelEntrySize <= len(src); e += LookupLabelEntrySize {
		s := (*[LookupLabelEntrySize]byte)(src[e : e+LookupLabelEntrySize])
		d := (*[LookupLabelEntrySize]byte)(dst[e : e+LookupLabelEntrySize])
		hostEndian.PutUint32(d[0:], hostEndian.Uint32(s[0:])+uint32(table))
		hostEndian.PutUint32(d[8:], hostEndian.Uint32(s[8:])+uint32(table))
	}
}

// growItem pads buf with zeros to the next item boundary and extends it by
// size bytes for the item the caller then writes (size >= 8); it returns
// the item start.
func growItem(buf []byte, size int) ([]byte, int) {
	n := len(buf)
	start := bin.Align8(n)
	end := start + size
	if end > cap(buf) {
		buf = slices.Grow(buf, end-n)
	}
	buf = buf[:end]
	// The padding as one word store; the item overwrites what lies past
	// it.
	hostEndian.PutUint64(buf[n:], 0)
	return buf, start
}

// checkLabels validates the label table of an item whose other strings end
// at stringsEnd and returns the table offset.
func checkLabels(item []byte, stringsEnd, count int) (int, error) {
	table := bin.Align8(stringsEnd)
	if count == 0 {
		return table, nil
	}
	tableEnd := table + count*LookupLabelEntrySize
	if tableEnd > len(item) {
		return 0, bin.Rule(netipc.DecodeOutOfBounds, "label table")
	}
	for _, c := range item[stringsEnd:table] {
		if c != 0 {
			return 0, bin.Rule(netipc.DecodeNonZeroReserved, "label table padding")
		}
	}
	expect := tableEnd
	for i := 0; i < count; i++ {
		e := table + i*LookupLabelEntrySize
		keyOff, keyLen := bin.U32(item, e), bin.U32(item, e+4)
		valOff, valLen := bin.U32(item, e+8), bin.U32(item, e+12)
		if uint64(keyOff) != uint64(expect) {
			if i == 0 {
				return 0, bin.Rule(netipc.DecodeInvalidField, "non-canonical label table offset (first label key must follow the table at the canonical offset)")
			}
			return 0, bin.Rule(netipc.DecodeInvalidField, "label strings must be packed after the table in table order")
		}
		if keyLen == 0 {
			return 0, bin.Rule(netipc.DecodeBadLength, "label key_length must be >= 1")
		}
		key, err := checkString(item, tableEnd, keyOff, keyLen, "label key")
		if err != nil {
			return 0, err
		}
		if uint64(valOff) != uint64(key.end) {
			return 0, bin.Rule(netipc.DecodeInvalidField, "label strings must be packed after the table in table order")
		}
		val, err := checkString(item, tableEnd, valOff, valLen, "label value")
		if err != nil {
			return 0, err
		}
		expect = val.end
	}
	return table, nil
}

// itemAt returns the bytes of entry i of a validated directory.
func itemAt(entries, area []byte, i int) []byte {
	return entryBytes((*[LookupDirEntrySize]byte)(entries[i*LookupDirEntrySize:]), area)
}

// entryBytes returns the bytes of a validated directory entry.
func entryBytes(e *[LookupDirEntrySize]byte, area []byte) []byte {
	off := uint64(hostEndian.Uint32(e[0:]))
	end := off + uint64(hostEndian.Uint32(e[4:]))
	return area[off:end:end]
}

// itemString returns the string of a validated item whose (offset,
// length) header fields start f.
func itemString(item []byte, f []byte) []byte {
	ol := (*[8]byte)(f)
	off := uint64(hostEndian.Uint32(ol[0:]))
	end := off + uint64(hostEndian.Uint32(ol[4:]))
	return item[off:end:end]
}

// stringOK is the fast form of checkString.
func stringOK(item []byte, hdr int, off, n uint64) bool {
	end := off + n
	return off >= uint64(hdr) && end < uint64(len(item)) && item[end] == 0 && !bin.HasNul(item[off:end])
}

// labelsOK is the fast form of checkLabels (see labelTable).
func labelsOK(item []byte, stringsEnd uint64, count int) bool {
	if count == 0 {
		return true
	}
	end, zeros, ok := labelTable(item, stringsEnd, count)
	return ok && bytes.Count(item[stringsEnd:end], nulByte) == zeros
}

// labelTable checks the label table of an item whose other strings end at
// stringsEnd, with its strings packed right after the table in table
// order: offsets, non-empty keys, zero padding and each string's NUL. It
// returns where the label strings end and how many zero bytes
// item[stringsEnd:end] holds if the label strings hold no other NUL (the
// padding, the table's zero bytes and the strings' NULs): the caller
// checks that with one vectorized count, over these bytes alone or
// together with the strings before them.
func labelTable(item []byte, stringsEnd uint64, count int) (end uint64, zeros int, ok bool) {
	if count == 0 {
		return stringsEnd, 0, true
	}
	table := (stringsEnd + 7) &^ 7
	tableEnd := table + uint64(count)*LookupLabelEntrySize
	if tableEnd > uint64(len(item)) {
		return 0, 0, false
	}
	// The padding: the high (last) bytes of the little-endian word that
	// ends at the table (stringsEnd > 8: the strings follow a header).
	pad := table - stringsEnd
	if pad != 0 && binary.LittleEndian.Uint64(item[table-8:table])>>(64-8*pad) != 0 {
		return 0, 0, false
	}
	// The table's zero bytes are summed in the byte lanes of lanes (one
	// bit per zero byte, in the byte's low bit), at most 2 per entry:
	// flushed every 64 entries, before a lane could carry.
	var lanes uint64
	zeros = int(pad) + 2*count
	at := tableEnd
	for e, n := table, 0; e < tableEnd; e += LookupLabelEntrySize {
		l := (*[LookupLabelEntrySize]byte)(item[e : e+LookupLabelEntrySize])
		keyOff, keyLen := uint64(hostEndian.Uint32(l[0:])), uint64(hostEndian.Uint32(l[4:]))
		valOff, valLen := uint64(hostEndian.Uint32(l[8:])), uint64(hostEndian.Uint32(l[12:]))
		keyNul := at + keyLen
		valNul := keyNul + 1 + valLen
		if keyOff != at || keyLen == 0 || valOff != keyNul+1 || valNul >= uint64(len(item)) || item[keyNul]|item[valNul] != 0 {
			return 0, 0, false
		}
		// The entry's bytes as two words (their byte order does not
		// change which are zero).
		lanes += zeroLanes(keyOff|keyLen<<32) + zeroLanes(valOff|valLen<<32)
		if n++; n == 64 {
			zeros, lanes, n = zeros+sumLanes(lanes), 0, 0
		}
		at = valNul + 1
	}
	return at, zeros + sumLanes(lanes), true
}

// zeroLanes returns w with a 1 in the low bit of each of its zero bytes
// and 0 elsewhere.
func zeroLanes(w uint64) uint64 {
	const lo7 = 0x7f7f_7f7f_7f7f_7f7f
	// The high bit of each zero byte (no carries cross bytes: each byte
	// sum is at most 0x7f + 0x7f), moved to the byte's low bit.
	return ^((w&lo7 + lo7) | w | lo7) >> 7
}

// sumLanes returns the sum of the byte lanes of w (at most 255 in all):
// one multiply gathers them in the top byte.
func sumLanes(w uint64) int { return int((w * 0x0101_0101_0101_0101) >> 56) }

// labelAt returns label i of a validated table.
func labelAt(item []byte, table, i int) LabelView {
	l := (*[LookupLabelEntrySize]byte)(item[table+i*LookupLabelEntrySize:])
	ko, ke := uint64(hostEndian.Uint32(l[0:])), uint64(hostEndian.Uint32(l[4:]))
	vo, ve := uint64(hostEndian.Uint32(l[8:])), uint64(hostEndian.Uint32(l[12:]))
	ke += ko
	ve += vo
	return LabelView{Key: item[ko:ke:ke], Value: item[vo:ve:ve]}
}

// placement says how the next response item must be encoded.
type placement uint8

const (
	placeFull placement = iota
	placeMinimal
	placeExceeded
	placeOversized
)

// responseCore is the buffer, directory and budget state shared by the
// lookup response builders.
//
// Budget rules: the builder is reset for exactly N items and knows the size
// of each item's minimal (non-KNOWN, key-echo-only) shape. It keeps this
// invariant after every added item:
//
//	current payload end (aligned) + minimal shapes of items not yet added <= budget
//
// so the PAYLOAD_EXCEEDED tail always fits. When an item with a full shape
// of s bytes is added:
//
//  1. in exceeded mode it is encoded as PAYLOAD_EXCEEDED;
//  2. else if a response holding only this item would exceed the maximum
//     budget (16 + 8 + s > maxBudget), it is encoded as OVERSIZED_ITEM and
//     later items are still tried;
//  3. else if the full shape plus the reserved minimal shapes of the later
//     items fits the budget, it is encoded in full;
//  4. else it is encoded as PAYLOAD_EXCEEDED and the builder enters
//     exceeded mode: every later item becomes PAYLOAD_EXCEEDED too.
//
// Items added with a non-KNOWN status use their minimal shape. An item
// added as PAYLOAD_EXCEEDED by the caller also enters exceeded mode
// (unless verbatim). If even the all-minimal response exceeds the budget,
// the builder starts in exceeded mode and finish reports ErrLimitExceeded.
type responseCore struct {
	buf         []byte
	budget      int
	maxBudget   int
	configured  bool
	count       int
	next        int
	areaStart   int
	restAligned int
	lastPad     int
	exceeded    bool
	overBudget  bool
	verbatim    bool
}

func (c *responseCore) budgets() (budget, maxBudget int) {
	if !c.configured {
		return MaxBudget, MaxBudget
	}
	return c.budget, c.maxBudget
}

func (c *responseCore) setBudget(budget, maxBudget int) {
	c.budget = min(max(budget, 0), MaxBudget)
	c.maxBudget = max(min(max(maxBudget, 0), MaxBudget), c.budget)
	c.configured = true
}

// begin starts a response of count items; the caller then sets
// restAligned (the sum of the 8-aligned minimal shapes of the items) and
// lastPad (the alignment padding of the last one), and completes the
// reset with start.
func (c *responseCore) begin(generation uint64, count uint32) {
	c.buf = appendResponseHeader(c.buf[:0], count, generation)
	c.count = int(count)
	c.next = 0
	c.restAligned = 0
	c.lastPad = 0
	c.areaStart = LookupRespHdrSize + c.count*LookupDirEntrySize
}

func (c *responseCore) setGeneration(g uint64) {
	if len(c.buf) < LookupRespHdrSize {
		c.startEmpty()
	}
	hostEndian.PutUint64(c.buf[8:16], g)
}

// startEmpty starts a response of no items (a builder used before any
// reset).
func (c *responseCore) startEmpty() {
	c.begin(0, 0)
	c.start()
}

func (c *responseCore) start() {
	budget, _ := c.budgets()
	allMin := satAdd(c.areaStart, c.restAligned-c.lastPad)
	c.overBudget = c.restAligned == sat || allMin > budget
	c.exceeded = c.overBudget
	c.buf = bin.Zeros(c.buf, c.areaStart-len(c.buf))
}

func (c *responseCore) checkRoom() error {
	if c.next < c.count {
		return nil
	}
	return &netipc.StateError{Reason: "all response items were already added"}
}

// place decides how the next item is encoded. minSize is its minimal shape,
// full its full shape (hasFull false for a non-KNOWN request); exceeds says
// the caller asked for PAYLOAD_EXCEEDED.
func (c *responseCore) place(minSize, full int, hasFull, exceeds bool) placement {
	budget, maxBudget := c.budgets()
	last := c.next+1 == c.count
	restAfter := max(c.restAligned-satAlign8(minSize), 0)
	tailAfter := 0
	if !last {
		tailAfter = max(restAfter-c.lastPad, 0)
	}
	c.restAligned = restAfter
	if c.exceeded {
		return placeExceeded
	}
	if !hasFull {
		c.exceeded = exceeds && !c.verbatim
		return placeMinimal
	}
	if satAdd(full, LookupRespHdrSize+LookupDirEntrySize) > maxBudget {
		return placeOversized
	}
	need := satAdd(bin.Align8(len(c.buf)), full)
	if !last {
		need = satAdd(satAlign8(need), tailAfter)
	}
	if need <= budget {
		return placeFull
	}
	c.exceeded = true
	return placeExceeded
}

// placeState is the part of the builder state place changes.
type placeState struct {
	restAligned int
	exceeded    bool
}

// saved returns what place changes, for restore.
func (c *responseCore) saved() placeState { return placeState{c.restAligned, c.exceeded} }

// restore undoes place (an item rejected after it was placed).
func (c *responseCore) restore(s placeState) { c.restAligned, c.exceeded = s.restAligned, s.exceeded }

// commit stores buf, which now ends with the item written at start, and
// records the item in the directory.
func (c *responseCore) commit(buf []byte, start int) {
	e := (*[LookupDirEntrySize]byte)(buf[LookupRespHdrSize+c.next*LookupDirEntrySize:])
	hostEndian.PutUint32(e[0:], uint32(start-c.areaStart))
	hostEndian.PutUint32(e[4:], uint32(len(buf)-start))
	c.buf = buf
	c.next++
}

func (c *responseCore) finish() ([]byte, error) {
	if c.buf == nil {
		c.startEmpty()
	}
	if c.next != c.count {
		return nil, &netipc.StateError{Reason: "fewer response items were added than the request holds"}
	}
	budget, _ := c.budgets()
	if c.overBudget || len(c.buf) > budget {
		return nil, &netipc.LimitError{Limit: netipc.LimitResponsePayload, Max: uint64(budget), Actual: uint64(len(c.buf))}
	}
	return c.buf, nil
}
