package codec

import (
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

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
