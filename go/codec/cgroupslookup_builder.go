package codec

import (
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

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
	if cap(b.keyLens) < n {
		b.keyLens = make([]int, n)
	}
	b.keyLens = b.keyLens[:n] // in place: no pointer store
	lens := b.keyLens
	// The sum of the keys' 8-aligned minimal shapes and the padding of
	// the last one, in the same pass. The keys lie in the request
	// payload, a slice in memory: the sum cannot overflow.
	rest, lastPad := 0, 0
	for i := range lens {
		// Decoding validated every key (at least 2 bytes with its NUL).
		e := (*[LookupDirEntrySize]byte)(entries[i*LookupDirEntrySize:])
		l := int(hostEndian.Uint32(e[4:])) - 1
		lens[i] = l
		m := l + CgroupsLookupItemHdrSize + 2
		a := bin.Align8(m)
		rest += a
		lastPad = a - m
	}
	b.core.reset(generation, uint32(n), rest, lastPad)
}

// ResetForPaths starts a response for keys with these paths (validated
// later by Add).
func (b *CgroupsLookupBuilder) ResetForPaths(generation uint64, paths [][]byte) error {
	if uint64(len(paths)) > 0xFFFFFFFF {
		return &netipc.ArgError{Reason: "more than 4294967295 lookup items"}
	}
	// Every path checked before the builder changes: on error it is left
	// as it was.
	for _, p := range paths {
		if uint64(len(p)) > 0xFFFFFFFF {
			return &netipc.ArgError{Reason: "cgroup path too long"}
		}
	}
	b.keyLens = b.keyLens[:0]
	for _, p := range paths {
		b.keyLens = append(b.keyLens, len(p))
	}
	b.resetForKeyLens(generation)
	return nil
}

// resetForKeyLens starts a response for keys of the lengths in keyLens.
func (b *CgroupsLookupBuilder) resetForKeyLens(generation uint64) {
	// A key length is at most 4 GiB - 1: only the sum may saturate.
	rest, lastPad := 0, 0
	for _, l := range b.keyLens {
		m := l + CgroupsLookupItemHdrSize + 2
		a := bin.Align8(m)
		rest = satAdd(rest, a)
		lastPad = a - m
	}
	b.core.reset(generation, uint32(len(b.keyLens)), rest, lastPad)
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
	return b.add(request.dir.cgroupsKey(index), status, orchestrator, name, labels, nil)
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
	path := request.dir.cgroupsKey(index)
	// add's most common case written out here (add is large: each of its
	// calls spills): a KNOWN item that fits in full. Anything else, or a
	// name with a NUL (nothing written then counts), goes to add, which
	// decides and names any error.
	c := &b.core
	if status == LookupKnown && !c.exceeded && c.next < c.count && c.next < len(b.keyLens) && b.keyLens[c.next] == len(path) {
		// Slice lengths are far from overflowing an int and a set's
		// block is at most 4 GiB - 1 long: these sums are exact. Not in
		// exceeded mode, the reserved minimal shapes are within the
		// budget (start).
		minSize := len(path) + CgroupsLookupItemHdrSize + 2
		stringsEnd := minSize + len(name)
		full := stringsEnd
		if labels.count != 0 {
			full = bin.Align8(stringsEnd) + len(labels.block)
		}
		budget, maxBudget := c.budgets()
		restAfter := c.restAfter(minSize)
		n := len(c.buf)
		start := bin.Align8(n)
		need := start + full
		if c.next+1 < c.count {
			// Room for the minimal shapes of the items after this one.
			need = bin.Align8(need) + max(restAfter-c.lastPad, 0)
		}
		if full <= MaxBudget && full+LookupRespHdrSize+LookupDirEntrySize <= maxBudget && need <= budget {
			end := start + full
			if end > cap(c.buf) {
				c.buf = slices.Grow(c.buf, end-n)
			}
			buf := c.buf[:end]
			hostEndian.PutUint64(buf[n:], 0)
			it := buf[start:end]
			nameOff := CgroupsLookupItemHdrSize + len(path) + 1
			putCgroupsItemHeader((*[CgroupsLookupItemHdrSize]byte)(it), LookupKnown, orchestrator, len(path), len(name), labels.count)
			copy(it[CgroupsLookupItemHdrSize:], path)
			it[nameOff-1] = 0
			if copyNoNul(it[nameOff:], name) {
				// Nothing can fail from here: the item is recorded
				// first, so that little is live across the label
				// call.
				it[stringsEnd-1] = 0
				de := (*[LookupDirEntrySize]byte)(buf[LookupRespHdrSize+c.next*LookupDirEntrySize:])
				hostEndian.PutUint32(de[0:], uint32(start-c.areaStart))
				hostEndian.PutUint32(de[4:], uint32(full))
				c.restAligned = restAfter
				c.buf = c.buf[:end] // in place: no pointer store
				c.next++
				if labels.count != 0 {
					putLabelSet(it, stringsEnd, &labels)
				}
				return LookupKnown, nil
			}
		}
	}
	return b.add(path, status, orchestrator, name, nil, &labels)
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
	// add's case for this call written out (add is large: each of its
	// calls spills): a minimal item (header, path, empty name) outside
	// exceeded mode, which the reservation made at Reset always has room
	// for. PAYLOAD_EXCEEDED (it starts exceeded mode), exceeded mode, and
	// anything add would reject go to add.
	c := &b.core
	if index == c.next && index < request.dir.count && c.next < c.count && c.next < len(b.keyLens) &&
		status.Valid() && status != LookupPayloadExceeded && !c.exceeded {
		path := request.dir.cgroupsKey(index)
		if b.keyLens[c.next] == len(path) {
			minSize := len(path) + CgroupsLookupItemHdrSize + 2
			c.restAligned = c.restAfter(minSize)
			it, start := c.grow(minSize)
			putCgroupsItem(it, status, 0, path, nil, 0)
			c.record(start)
			return status, nil
		}
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
		restAfter := c.restAfter(minSize)
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
		// grow, putCgroupsItem and record by hand: every call spills
		// what is live.
		n := len(c.buf)
		start := bin.Align8(n)
		end := start + full
		if end > cap(c.buf) {
			c.buf = slices.Grow(c.buf, end-n)
		}
		buf := c.buf[:end]
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
		c.buf = c.buf[:end] // in place: no pointer store
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
	it, start := c.grow(minSize)
	putCgroupsItem(it, encoded, 0, path, nil, 0)
	c.record(start)
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
