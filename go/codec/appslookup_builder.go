package codec

import (
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// AppsLookupBuilder is the reusable server-side APPS_LOOKUP response
// builder with payload budget handling; the budget semantics are those of
// CgroupsLookupBuilder, the minimal shape being the 60-byte header and
// three empty strings (63 bytes). Non-enriched outcomes echo the PID with
// zero fields, UIDUnset and empty strings. Every Add returns the PID status
// actually encoded. The zero value is ready for an empty response with
// unlimited budgets.
type AppsLookupBuilder struct {
	core responseCore
}

// SetBudget sets the current response budget and the configured maximum
// budget in bytes (clamped to 4 GiB - 1; maxBudget is raised to budget if
// lower). It takes effect at the next reset.
func (b *AppsLookupBuilder) SetBudget(budget, maxBudget int) { b.core.setBudget(budget, maxBudget) }

// Budget returns the current response budget.
func (b *AppsLookupBuilder) Budget() int { n, _ := b.core.budgets(); return n }

// MaxBudget returns the maximum budget used for the OVERSIZED_ITEM
// decision.
func (b *AppsLookupBuilder) MaxBudget() int { _, n := b.core.budgets(); return n }

// Reset starts a response to request with the given generation.
func (b *AppsLookupBuilder) Reset(generation uint64, request AppsLookupRequestView) {
	b.ResetForCount(generation, uint32(request.dir.count))
}

// ResetForCount starts a response of count items.
func (b *AppsLookupBuilder) ResetForCount(generation uint64, count uint32) {
	rest, lastPad := 0, 0
	if count != 0 {
		rest = int(count) * bin.Align8(AppsLookupMinItemSize)
		lastPad = bin.Align8(AppsLookupMinItemSize) - AppsLookupMinItemSize
	}
	b.core.reset(generation, count, rest, lastPad)
}

// SetGeneration sets the generation of the response being built (a reset
// starts at the generation it was given).
func (b *AppsLookupBuilder) SetGeneration(generation uint64) { b.core.setGeneration(generation) }

// ItemCount returns the number of items the response must hold.
func (b *AppsLookupBuilder) ItemCount() int { return b.core.count }

// Added returns the number of items added so far.
func (b *AppsLookupBuilder) Added() int { return b.core.next }

// IsExceeded reports whether every further item is encoded as
// PAYLOAD_EXCEEDED.
func (b *AppsLookupBuilder) IsExceeded() bool { return b.core.exceeded }

// IsOverBudget reports whether even the all-PAYLOAD_EXCEEDED response
// exceeds the budget.
func (b *AppsLookupBuilder) IsOverBudget() bool { return b.core.overBudget }

// EncodedLen returns the current payload length.
func (b *AppsLookupBuilder) EncodedLen() int { return len(b.core.buf) }

// Add adds the next item for pid (which should echo the request PID).
func (b *AppsLookupBuilder) Add(pid uint32, e *AppsLookupEntry, labels []Label) (PidStatus, error) {
	return b.add(pid, e, labels, nil)
}

// AddRequestItem adds item index (which must be the next one) echoing the
// PID of the decoded request.
func (b *AppsLookupBuilder) AddRequestItem(request AppsLookupRequestView, index int, e *AppsLookupEntry, labels []Label) (PidStatus, error) {
	if index != b.core.next {
		return 0, &netipc.ArgError{Reason: "request items must be added in request order"}
	}
	if index < 0 || index >= request.dir.count {
		return 0, &netipc.ArgError{Reason: "request item index out of range"}
	}
	return b.add(request.dir.appsPid(index), e, labels, nil)
}

// AddWithLabelSet is Add with labels validated and laid out beforehand
// (see LabelSet): they are copied into the item as one block.
func (b *AppsLookupBuilder) AddWithLabelSet(pid uint32, e *AppsLookupEntry, labels LabelSet) (PidStatus, error) {
	return b.add(pid, e, nil, &labels)
}

// AddRequestItemWithLabelSet is AddRequestItem with labels validated and
// laid out beforehand (see LabelSet): they are copied into the item as one
// block. This is the cheapest way to add an enriched item.
func (b *AppsLookupBuilder) AddRequestItemWithLabelSet(request AppsLookupRequestView, index int, e *AppsLookupEntry, labels LabelSet) (PidStatus, error) {
	if index != b.core.next {
		return 0, &netipc.ArgError{Reason: "request items must be added in request order"}
	}
	if index < 0 || index >= request.dir.count {
		return 0, &netipc.ArgError{Reason: "request item index out of range"}
	}
	return b.add(request.dir.appsPid(index), e, nil, &labels)
}

var unknownEntry = AppsLookupUnknownEntry()

// AddUnknown adds the next item as an unknown PID.
func (b *AppsLookupBuilder) AddUnknown(pid uint32) (PidStatus, error) { return b.addUnknown(pid) }

// AddRequestUnknown adds request item index as an unknown PID.
func (b *AppsLookupBuilder) AddRequestUnknown(request AppsLookupRequestView, index int) (PidStatus, error) {
	if index != b.core.next {
		return 0, &netipc.ArgError{Reason: "request items must be added in request order"}
	}
	if index < 0 || index >= request.dir.count {
		return 0, &netipc.ArgError{Reason: "request item index out of range"}
	}
	return b.addUnknown(request.dir.appsPid(index))
}

// addUnknown is add of AppsLookupUnknownEntry() without labels (valid by
// construction: nothing to check).
func (b *AppsLookupBuilder) addUnknown(pid uint32) (PidStatus, error) {
	c := &b.core
	if c.next >= c.count {
		return 0, c.checkRoom()
	}
	// place, grow and record for a minimal item, written out with the
	// builder's state in locals (through grow and record it is reloaded
	// after every store: 111 instructions per item against 85, and a
	// fused helper does not inline): it takes its reservation (always
	// there), and exceeded mode makes it PAYLOAD_EXCEEDED.
	next := c.next
	encoded := PidUnknown
	if c.exceeded {
		encoded = PidPayloadExceeded
	}
	c.restAligned = c.restAfter(AppsLookupMinItemSize)
	buf := c.buf
	n := len(buf)
	start := bin.Align8(n)
	end := start + AppsLookupMinItemSize
	if end > cap(buf) {
		buf = slices.Grow(buf, end-n)
		c.buf = buf
	}
	buf = buf[:end]
	hostEndian.PutUint64(buf[n:], 0) // the padding; the item overwrites the rest
	putAppsMinimal(buf[start:end:end], pid, encoded)
	at := LookupRespHdrSize + next*LookupDirEntrySize
	e := buf[at : at+LookupDirEntrySize : at+LookupDirEntrySize]
	hostEndian.PutUint32(e[0:4], uint32(start-c.areaStart))
	hostEndian.PutUint32(e[4:8], AppsLookupMinItemSize)
	c.buf = c.buf[:end] // in place: the length stored alone
	c.next = next + 1
	return encoded, nil
}

// appsMinimalItem is the item of an unknown PID 0 (the minimal shape).
var appsMinimalItem = func() (it [AppsLookupMinItemSize]byte) {
	putAppsItem(it[:], 0, PidUnknown, &unknownEntry, 0)
	return it
}()

// putAppsMinimal writes the minimal item of pid with status into it.
func putAppsMinimal(it []byte, pid uint32, status PidStatus) {
	h := (*[AppsLookupMinItemSize]byte)(it)
	*h = appsMinimalItem
	hostEndian.PutUint16(h[alStatus:], uint16(status))
	hostEndian.PutUint32(h[alPid:], pid)
}

// AddItem adds an owned item (validated like Add).
func (b *AppsLookupBuilder) AddItem(it *AppsLookupItem) (PidStatus, error) {
	return b.add(it.Pid, &it.AppsLookupEntry, it.Labels, nil)
}

// Finish returns the finished payload (owned by the builder, valid until
// its next method call). It fails with ErrInvalidState if fewer items than
// announced were added, and with ErrLimitExceeded if even the all-minimal
// response exceeds the budget.
func (b *AppsLookupBuilder) Finish() ([]byte, error) { return b.core.finish() }

// add validates and adds the next item; its labels are labels, or set
// when not nil.
//
// The rules are checked the cheap way first and the NUL rule of the
// strings and of []Label labels, for an item encoded in full, as the
// strings are copied. Whenever one fails, the builder state is restored
// (nothing written counts) and check names the error.
func (b *AppsLookupBuilder) add(pid uint32, e *AppsLookupEntry, labels []Label, set *LabelSet) (PidStatus, error) {
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
			return 0, checkApps(e, labels, count)
		}
		labelBytes = n
	}
	if e.check(count, false) != "" {
		return 0, checkApps(e, labels, count)
	}
	status := e.Status
	full := 0
	if status == PidKnown {
		end := AppsLookupMinItemSize + len(e.Comm) + len(e.CgroupPath) + len(e.CgroupName)
		full = itemLenWithLabels(end, count, labelBytes)
	}
	encoded := status
	saved := c.saved()
	var p placement
	if status == PidKnown && !c.exceeded && full <= MaxBudget {
		// place's common case by hand (it is too large to inline): an
		// item that fits in full. Not in exceeded mode, the reserved
		// minimal shapes are within the budget (start): no sum here can
		// overflow.
		budget, maxBudget := c.budgets()
		restAfter := c.restAfter(AppsLookupMinItemSize)
		need := bin.Align8(len(c.buf)) + full
		if c.next+1 < c.count {
			// Room for the minimal shapes of the items after this one.
			need = bin.Align8(need) + max(restAfter-c.lastPad, 0)
		}
		if full+LookupRespHdrSize+LookupDirEntrySize <= maxBudget && need <= budget {
			c.restAligned = restAfter
			p = placeFull
		} else {
			p = c.place(AppsLookupMinItemSize, full, true, false)
		}
	} else {
		p = c.place(AppsLookupMinItemSize, full, status == PidKnown, status == PidPayloadExceeded)
	}
	switch p {
	case placeFull:
		// grow and record by hand: every call spills what is live.
		n := len(c.buf)
		start := bin.Align8(n)
		end := start + full
		if end > cap(c.buf) {
			c.buf = slices.Grow(c.buf, end-n)
		}
		buf := c.buf[:end]
		hostEndian.PutUint64(buf[n:], 0)
		it := buf[start:end]
		stringsEnd, ok := putAppsItem(it, pid, status, e, count)
		if set == nil && count != 0 {
			ok = putLabels(it, stringsEnd, labels) && ok
		}
		if !ok {
			c.restore(saved)
			return 0, checkApps(e, labels, count)
		}
		// Nothing can fail from here: the item is recorded first, so
		// that little is live across the label set call.
		de := (*[LookupDirEntrySize]byte)(buf[LookupRespHdrSize+c.next*LookupDirEntrySize:])
		hostEndian.PutUint32(de[0:], uint32(start-c.areaStart))
		hostEndian.PutUint32(de[4:], uint32(full))
		c.buf = c.buf[:end] // in place: no pointer store
		c.next++
		if set != nil && count != 0 {
			putLabelSet(it, stringsEnd, set)
		}
		return encoded, nil
	case placeExceeded:
		encoded = PidPayloadExceeded
	case placeOversized:
		encoded = PidOversizedItem
	}
	if len(e.Comm)|len(e.CgroupPath)|len(e.CgroupName) != 0 || (set == nil && count != 0) {
		// The NUL rule, not checked yet.
		if err := checkApps(e, labels, count); err != nil {
			c.restore(saved)
			return 0, err
		}
	}
	it, start := c.grow(AppsLookupMinItemSize)
	putAppsMinimal(it, pid, encoded)
	c.record(start)
	return encoded, nil
}

// checkApps returns the error add fails with for an item that breaks a
// rule (nil if none): the first rule broken, in order. count is the
// number of labels (len(labels), or that of a LabelSet).
func checkApps(e *AppsLookupEntry, labels []Label, count int) error {
	if _, err := measureLabels(labels); err != nil {
		return err
	}
	return e.validate(count)
}

// putAppsItem writes an item header and its three strings into it, which
// holds at least their room: comm right after the header, then
// cgroup_path, then cgroup_name, each with its NUL. It returns where the
// strings end and whether they held no NUL (checked as they are copied).
func putAppsItem(it []byte, pid uint32, status PidStatus, e *AppsLookupEntry, labels int) (int, bool) {
	pathOff := AppsLookupItemHdrSize + len(e.Comm) + 1
	nameOff := pathOff + len(e.CgroupPath) + 1
	h := (*[AppsLookupItemHdrSize]byte)(it)
	hostEndian.PutUint16(h[0:], netipc.LayoutVersion)
	hostEndian.PutUint16(h[alStatus:], uint16(status))
	hostEndian.PutUint16(h[alOrch:], uint16(e.Orchestrator))
	hostEndian.PutUint16(h[alCgroupStatus:], uint16(e.CgroupStatus))
	hostEndian.PutUint32(h[alPid:], pid)
	hostEndian.PutUint32(h[alPpid:], e.Ppid)
	hostEndian.PutUint32(h[alUID:], e.UID)
	hostEndian.PutUint32(h[alReserved0:], 0)
	hostEndian.PutUint64(h[alStarttime:], e.Starttime)
	hostEndian.PutUint32(h[alCommOff:], AppsLookupItemHdrSize)
	hostEndian.PutUint32(h[alCommLen:], uint32(len(e.Comm)))
	hostEndian.PutUint32(h[alPathOff:], uint32(pathOff))
	hostEndian.PutUint32(h[alPathLen:], uint32(len(e.CgroupPath)))
	hostEndian.PutUint32(h[alNameOff:], uint32(nameOff))
	hostEndian.PutUint32(h[alNameLen:], uint32(len(e.CgroupName)))
	hostEndian.PutUint16(h[alLabels:], uint16(labels))
	hostEndian.PutUint16(h[alReserved1:], 0)
	ok := copyNoNul(it[AppsLookupItemHdrSize:], e.Comm)
	it[pathOff-1] = 0
	ok = copyNoNul(it[pathOff:], e.CgroupPath) && ok
	it[nameOff-1] = 0
	ok = copyNoNul(it[nameOff:], e.CgroupName) && ok
	end := nameOff + len(e.CgroupName)
	it[end] = 0
	return end + 1, ok
}
