package codec

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// directory is a validated header + directory of a lookup payload: the
// payload and its item count (four words: views holding it are passed and
// copied in registers).
type directory struct {
	payload []byte
	count   int
}

// parts returns the directory entries and the packed area after them
// with one bounds check (none for the zero directory).
func (d directory) parts() (entries, area []byte) {
	end := LookupReqHdrSize + d.count*LookupDirEntrySize
	if d.count < 0 || end > len(d.payload) {
		return nil, nil
	}
	return d.payload[LookupReqHdrSize:end:end], d.payload[end:]
}

// entries returns the directory entries (none for the zero directory).
func (d directory) entries() []byte {
	entries, _ := d.parts()
	return entries
}

// area returns the packed area after the directory (none for the zero
// directory).
func (d directory) area() []byte {
	_, area := d.parts()
	return area
}

// generation returns a response's generation (0 for the zero directory).
func (d directory) generation() uint64 {
	if len(d.payload) < LookupRespHdrSize {
		return 0
	}
	return hostEndian.Uint64(d.payload[8:16])
}

// parseRequestDir parses a request header and locates its directory
// (the checks of the well-formed case inline; requestDirError names a
// broken rule).
func parseRequestDir(payload []byte, what string) (directory, error) {
	if len(payload) >= LookupReqHdrSize {
		h := (*[LookupReqHdrSize]byte)(payload)
		count := uint64(hostEndian.Uint32(h[4:]))
		// Layout version, zero flags, zero reserved words (the version
		// and the flags each in host order: one 32-bit read would match
		// on a little-endian host only).
		if hostEndian.Uint16(h[0:]) == netipc.LayoutVersion && hostEndian.Uint16(h[2:]) == 0 &&
			hostEndian.Uint64(h[8:]) == 0 &&
			LookupReqHdrSize+count*LookupDirEntrySize <= uint64(len(payload)) {
			return directory{payload: payload, count: int(count)}, nil
		}
	}
	return requestDirError(payload, what)
}

// requestDirError is parseRequestDir with the precise error of the rule
// broken.
func requestDirError(payload []byte, what string) (directory, error) {
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

// parseResponseDir parses a response header and locates its directory;
// it also returns the generation (the checks of the well-formed case
// inline; responseDirError names a broken rule).
func parseResponseDir(payload []byte, what string) (directory, uint64, error) {
	if len(payload) >= LookupRespHdrSize {
		h := (*[LookupRespHdrSize]byte)(payload)
		count := uint64(hostEndian.Uint32(h[4:]))
		if hostEndian.Uint16(h[0:]) == netipc.LayoutVersion && hostEndian.Uint16(h[2:]) == 0 &&
			LookupRespHdrSize+count*LookupDirEntrySize <= uint64(len(payload)) {
			return directory{payload: payload, count: int(count)}, hostEndian.Uint64(h[8:]), nil
		}
	}
	return responseDirError(payload, what)
}

// responseDirError is parseResponseDir with the precise error of the rule
// broken.
func responseDirError(payload []byte, what string) (directory, uint64, error) {
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
