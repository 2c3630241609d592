package codec

import (
	"bytes"
	"encoding/binary"
	"iter"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
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
