package codec

import (
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

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

// reset starts a response of count items whose minimal shapes, each
// 8-aligned, sum to restAligned (sat if the sum saturates), the last one
// padded by lastPad bytes. It writes the header and sizes the directory
// without clearing it: each entry is written as its item is added, and
// finish fails unless every item was.
func (c *responseCore) reset(generation uint64, count uint32, restAligned, lastPad int) {
	n := int(count)
	areaStart := LookupRespHdrSize + n*LookupDirEntrySize
	if cap(c.buf) < areaStart {
		c.buf = slices.Grow(c.buf[:0], areaStart)
	}
	// Resliced in place: the compiler stores the length alone (no
	// pointer store, no write barrier check).
	c.buf = c.buf[:areaStart]
	putResponseHeader((*[LookupRespHdrSize]byte)(c.buf), count, generation)
	c.count, c.next, c.areaStart = n, 0, areaStart
	c.restAligned, c.lastPad = restAligned, lastPad
	budget, _ := c.budgets()
	c.overBudget = restAligned == sat || satAdd(areaStart, restAligned-lastPad) > budget
	c.exceeded = c.overBudget
}

func (c *responseCore) setGeneration(g uint64) {
	if len(c.buf) < LookupRespHdrSize {
		c.startEmpty()
	}
	hostEndian.PutUint64(c.buf[8:16], g)
}

// startEmpty starts a response of no items (a builder used before any
// reset).
func (c *responseCore) startEmpty() { c.reset(0, 0, 0, 0) }

func (c *responseCore) checkRoom() error {
	if c.next < c.count {
		return nil
	}
	return &netipc.StateError{Reason: "all response items were already added"}
}

// restAfter is restAligned once the next item has taken the reservation
// of its minimal shape, minSize bytes (a size bounded by a request key:
// place, which also sees caller-given sizes, saturates instead).
func (c *responseCore) restAfter(minSize int) int {
	return max(c.restAligned-bin.Align8(minSize), 0)
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

// grow pads the payload with zeros to the next item boundary and extends
// it by size bytes (size >= 8) for the item the caller then writes; it
// returns the item's bytes and where it starts. The buffer is resliced in
// place (no pointer store) unless it has to grow.
func (c *responseCore) grow(size int) (item []byte, start int) {
	n := len(c.buf)
	start = bin.Align8(n)
	end := start + size
	if end > cap(c.buf) {
		c.buf = slices.Grow(c.buf, end-n)
	}
	c.buf = c.buf[:end]
	// The padding as one word store; the item overwrites what lies past
	// it.
	hostEndian.PutUint64(c.buf[n:], 0)
	return c.buf[start:end], start
}

// record enters the item that grow placed at start, now written, in the
// directory.
func (c *responseCore) record(start int) {
	e := (*[LookupDirEntrySize]byte)(c.buf[LookupRespHdrSize+c.next*LookupDirEntrySize:])
	hostEndian.PutUint32(e[0:], uint32(start-c.areaStart))
	hostEndian.PutUint32(e[4:], uint32(len(c.buf)-start))
	c.next++
}

func (c *responseCore) finish() ([]byte, error) {
	budget, _ := c.budgets()
	if c.buf != nil && c.next == c.count && !c.overBudget && len(c.buf) <= budget {
		return c.buf, nil
	}
	return c.finishError()
}

// finishError is finish for a response that is not complete or over its
// budget (and for a builder never reset).
func (c *responseCore) finishError() ([]byte, error) {
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
