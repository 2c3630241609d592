package codec

// The lookup response builders as they were before the fast paths
// (commit c85003a), kept as the reference the differential tests compare
// the current builders with, byte for byte and error for error.

import (
	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

func refKey(request CgroupsLookupRequestView, i int) []byte { return request.Key(i) }

func refRawEntry(request CgroupsLookupRequestView, i int) (off, n uint64) {
	e := request.dir.entries()[i*8:]
	return uint64(bin.U32(e, 0)), uint64(bin.U32(e, 4))
}

func refMeasureLabels(labels []Label) (bytes int, err error) {
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

func refItemLenWithLabels(stringsEnd, count, labelBytes int) int {
	if count == 0 {
		return stringsEnd
	}
	return satAdd(satAlign8(stringsEnd), labelBytes)
}

func refAppendLabels(out []byte, itemStart int, labels []Label) []byte {
	if len(labels) == 0 {
		return out
	}
	out = bin.Pad8From(out, itemStart)
	s := len(out) - itemStart + len(labels)*LookupLabelEntrySize
	for i := range labels {
		k, v := labels[i].Key, labels[i].Value
		out = bin.App32(out, uint32(s))
		out = bin.App32(out, uint32(len(k)))
		s += len(k) + 1
		out = bin.App32(out, uint32(s))
		out = bin.App32(out, uint32(len(v)))
		s += len(v) + 1
	}
	for i := range labels {
		out = append(out, labels[i].Key...)
		out = append(out, 0)
		out = append(out, labels[i].Value...)
		out = append(out, 0)
	}
	return out
}

func refAppendResponseHeader(out []byte, count uint32, generation uint64) []byte {
	out = bin.App16(out, netipc.LayoutVersion)
	out = bin.App16(out, 0)
	out = bin.App32(out, count)
	return bin.App64(out, generation)
}

type refPlacement uint8

const (
	refPlaceFull refPlacement = iota
	refPlaceMinimal
	refPlaceExceeded
	refPlaceOversized
)

type refCore struct {
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

func (c *refCore) budgets() (budget, maxBudget int) {
	if !c.configured {
		return MaxBudget, MaxBudget
	}
	return c.budget, c.maxBudget
}

func (c *refCore) setBudget(budget, maxBudget int) {
	c.budget = min(max(budget, 0), MaxBudget)
	c.maxBudget = max(min(max(maxBudget, 0), MaxBudget), c.budget)
	c.configured = true
}

func (c *refCore) begin(generation uint64, count uint32) {
	c.buf = refAppendResponseHeader(c.buf[:0], count, generation)
	c.count = int(count)
	c.next = 0
	c.restAligned = 0
	c.lastPad = 0
	c.areaStart = LookupRespHdrSize + c.count*LookupDirEntrySize
}

func (c *refCore) setGeneration(g uint64) {
	if c.buf == nil {
		c.begin(0, 0)
		c.start()
	}
	bin.Put64(c.buf, 8, g)
}

func (c *refCore) addMin(m int) {
	a := satAlign8(m)
	c.restAligned = satAdd(c.restAligned, a)
	c.lastPad = a - m
	if a == sat {
		c.lastPad = 0
	}
}

func (c *refCore) start() {
	budget, _ := c.budgets()
	allMin := satAdd(c.areaStart, c.restAligned-c.lastPad)
	c.overBudget = c.restAligned == sat || allMin > budget
	c.exceeded = c.overBudget
	c.buf = bin.Zeros(c.buf, c.areaStart-len(c.buf))
}

func (c *refCore) checkRoom() error {
	if c.next < c.count {
		return nil
	}
	return &netipc.StateError{Reason: "all response items were already added"}
}

func (c *refCore) place(minSize, full int, hasFull, exceeds bool) refPlacement {
	budget, maxBudget := c.budgets()
	last := c.next+1 == c.count
	restAfter := max(c.restAligned-satAlign8(minSize), 0)
	tailAfter := 0
	if !last {
		tailAfter = max(restAfter-c.lastPad, 0)
	}
	c.restAligned = restAfter
	if c.exceeded {
		return refPlaceExceeded
	}
	if !hasFull {
		c.exceeded = exceeds && !c.verbatim
		return refPlaceMinimal
	}
	if satAdd(full, LookupRespHdrSize+LookupDirEntrySize) > maxBudget {
		return refPlaceOversized
	}
	need := satAdd(bin.Align8(len(c.buf)), full)
	if !last {
		need = satAdd(satAlign8(need), tailAfter)
	}
	if need <= budget {
		return refPlaceFull
	}
	c.exceeded = true
	return refPlaceExceeded
}

func (c *refCore) beginItem() int {
	c.buf = bin.Pad8From(c.buf, 0)
	return len(c.buf)
}

func (c *refCore) endItem(start int) {
	e := LookupRespHdrSize + c.next*LookupDirEntrySize
	bin.Put32(c.buf, e, uint32(start-c.areaStart))
	bin.Put32(c.buf, e+4, uint32(len(c.buf)-start))
	c.next++
}

func (c *refCore) finish() ([]byte, error) {
	if c.buf == nil {
		c.begin(0, 0)
		c.start()
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

func refValidateCgroupPath(path []byte) error {
	if len(path) == 0 {
		return &netipc.ArgError{Reason: "cgroup path must not be empty"}
	}
	if bin.HasNul(path) {
		return &netipc.ArgError{Reason: "cgroup path contains a NUL byte"}
	}
	return nil
}

type refCgroupsBuilder struct {
	core    refCore
	keyLens []int
}

func (b *refCgroupsBuilder) SetBudget(budget, maxBudget int) { b.core.setBudget(budget, maxBudget) }

func (b *refCgroupsBuilder) Reset(generation uint64, request CgroupsLookupRequestView) {
	b.keyLens = b.keyLens[:0]
	for i := 0; i < request.Len(); i++ {
		_, n := refRawEntry(request, i)
		b.keyLens = append(b.keyLens, int(n)-1)
	}
	b.start(generation)
}

func (b *refCgroupsBuilder) ResetForPaths(generation uint64, paths [][]byte) error {
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

func (b *refCgroupsBuilder) start(generation uint64) {
	b.core.begin(generation, uint32(len(b.keyLens)))
	for _, l := range b.keyLens {
		b.core.addMin(satAdd(l, CgroupsLookupItemHdrSize+2))
	}
	b.core.start()
}

func (b *refCgroupsBuilder) SetGeneration(generation uint64) { b.core.setGeneration(generation) }

func (b *refCgroupsBuilder) IsExceeded() bool { return b.core.exceeded }

func (b *refCgroupsBuilder) IsOverBudget() bool { return b.core.overBudget }

func (b *refCgroupsBuilder) EncodedLen() int { return len(b.core.buf) }

func (b *refCgroupsBuilder) Add(path []byte, status LookupStatus, orchestrator Orchestrator, name []byte, labels []Label) (LookupStatus, error) {
	if err := refValidateCgroupPath(path); err != nil {
		return 0, err
	}
	return b.add(path, status, orchestrator, name, labels)
}

func (b *refCgroupsBuilder) AddRequestItem(request CgroupsLookupRequestView, index int, status LookupStatus, orchestrator Orchestrator, name []byte, labels []Label) (LookupStatus, error) {
	if index != b.core.next {
		return 0, &netipc.ArgError{Reason: "request items must be added in request order"}
	}
	if index < 0 || index >= request.Len() {
		return 0, &netipc.ArgError{Reason: "request item index out of range"}
	}
	return b.add(refKey(request, index), status, orchestrator, name, labels)
}

func (b *refCgroupsBuilder) AddUnknown(path []byte, status LookupStatus) (LookupStatus, error) {
	if status == LookupKnown {
		return 0, &netipc.ArgError{Reason: "a non-enriched item cannot have status KNOWN"}
	}
	return b.Add(path, status, 0, nil, nil)
}

func (b *refCgroupsBuilder) AddRequestUnknown(request CgroupsLookupRequestView, index int, status LookupStatus) (LookupStatus, error) {
	if status == LookupKnown {
		return 0, &netipc.ArgError{Reason: "a non-enriched item cannot have status KNOWN"}
	}
	return b.AddRequestItem(request, index, status, 0, nil, nil)
}

func (b *refCgroupsBuilder) Finish() ([]byte, error) { return b.core.finish() }

func (b *refCgroupsBuilder) add(path []byte, status LookupStatus, orch Orchestrator, name []byte, labels []Label) (LookupStatus, error) {
	if err := b.core.checkRoom(); err != nil {
		return 0, err
	}
	if !status.Valid() {
		return 0, &netipc.ArgError{Reason: "undefined lookup status"}
	}
	if b.keyLens[b.core.next] != len(path) {
		return 0, &netipc.ArgError{Reason: "path length differs from the request key it echoes"}
	}
	if bin.HasNul(name) {
		return 0, &netipc.ArgError{Reason: "cgroup name contains a NUL byte"}
	}
	labelBytes, err := refMeasureLabels(labels)
	if err != nil {
		return 0, err
	}
	if status != LookupKnown {
		switch {
		case orch != 0:
			return 0, &netipc.ArgError{Reason: "orchestrator must be 0 when status is not KNOWN"}
		case len(name) != 0:
			return 0, &netipc.ArgError{Reason: "name must be empty when status is not KNOWN"}
		case len(labels) != 0:
			return 0, &netipc.ArgError{Reason: "labels must be empty when status is not KNOWN"}
		}
	}
	minSize := satAdd(len(path), CgroupsLookupItemHdrSize+2)
	full := 0
	if status == LookupKnown {
		full = refItemLenWithLabels(satAdd(satAdd(len(path), len(name)), CgroupsLookupItemHdrSize+2), len(labels), labelBytes)
	}
	p := b.core.place(minSize, full, status == LookupKnown, status == LookupPayloadExceeded)
	start := b.core.beginItem()
	encoded := status
	switch p {
	case refPlaceFull:
		b.core.buf = refAppendCgroupsItem(b.core.buf, status, orch, path, name, len(labels))
		b.core.buf = refAppendLabels(b.core.buf, start, labels)
	case refPlaceMinimal:
		b.core.buf = refAppendCgroupsItem(b.core.buf, status, 0, path, nil, 0)
	case refPlaceExceeded:
		encoded = LookupPayloadExceeded
		b.core.buf = refAppendCgroupsItem(b.core.buf, encoded, 0, path, nil, 0)
	case refPlaceOversized:
		encoded = LookupOversizedItem
		b.core.buf = refAppendCgroupsItem(b.core.buf, encoded, 0, path, nil, 0)
	}
	b.core.endItem(start)
	return encoded, nil
}

func refAppendCgroupsItem(out []byte, status LookupStatus, orch Orchestrator, path, name []byte, labels int) []byte {
	nameOff := CgroupsLookupItemHdrSize + len(path) + 1
	out = bin.App16(out, netipc.LayoutVersion)
	out = bin.App16(out, uint16(status))
	out = bin.App16(out, uint16(orch))
	out = bin.App16(out, 0)
	out = bin.App32(out, CgroupsLookupItemHdrSize)
	out = bin.App32(out, uint32(len(path)))
	out = bin.App32(out, uint32(nameOff))
	out = bin.App32(out, uint32(len(name)))
	out = bin.App16(out, uint16(labels))
	out = bin.App16(out, 0)
	out = append(out, path...)
	out = append(out, 0)
	out = append(out, name...)
	return append(out, 0)
}

func refValidateEntry(e *AppsLookupEntry, labels int) error {
	bad := func(r string) error { return &netipc.ArgError{Reason: r} }
	switch {
	case !e.Status.Valid():
		return bad("undefined pid status")
	case !e.CgroupStatus.Valid():
		return bad("undefined cgroup status")
	case bin.HasNul(e.Comm):
		return bad("comm contains a NUL byte")
	case bin.HasNul(e.CgroupPath):
		return bad("cgroup path contains a NUL byte")
	case bin.HasNul(e.CgroupName):
		return bad("cgroup name contains a NUL byte")
	case len(e.Comm) > AppsLookupCommMaxLen:
		return bad("comm is longer than 15 bytes")
	}
	if e.Status != PidKnown {
		if e.CgroupStatus != CgroupKnown || e.Orchestrator != 0 || e.Ppid != 0 || e.UID != UIDUnset ||
			e.Starttime != 0 || len(e.Comm) != 0 || len(e.CgroupPath) != 0 || len(e.CgroupName) != 0 || labels != 0 {
			return bad("a non-KNOWN pid item must have zero fields, UID_UNSET, empty strings and no labels")
		}
		return nil
	}
	if len(e.Comm) == 0 {
		return bad("comm must not be empty for a KNOWN pid")
	}
	path := len(e.CgroupPath) != 0
	plain := e.Orchestrator == 0 && len(e.CgroupName) == 0 && labels == 0
	ok := false
	switch e.CgroupStatus {
	case CgroupKnown:
		ok = path
	case CgroupUnknownRetryLater:
		ok = plain
	case CgroupUnknownPermanent:
		ok = path && plain
	case CgroupHostRoot:
		ok = !path && plain
	}
	if !ok {
		return bad("cgroup fields violate the cgroup_status rules")
	}
	return nil
}

type refAppsBuilder struct {
	core refCore
}

func (b *refAppsBuilder) SetBudget(budget, maxBudget int) { b.core.setBudget(budget, maxBudget) }

func (b *refAppsBuilder) Reset(generation uint64, request AppsLookupRequestView) {
	b.ResetForCount(generation, uint32(request.Len()))
}

func (b *refAppsBuilder) ResetForCount(generation uint64, count uint32) {
	b.core.begin(generation, count)
	for i := uint32(0); i < count; i++ {
		b.core.addMin(AppsLookupMinItemSize)
	}
	b.core.start()
}

func (b *refAppsBuilder) SetGeneration(generation uint64) { b.core.setGeneration(generation) }

func (b *refAppsBuilder) IsExceeded() bool { return b.core.exceeded }

func (b *refAppsBuilder) IsOverBudget() bool { return b.core.overBudget }

func (b *refAppsBuilder) EncodedLen() int { return len(b.core.buf) }

func (b *refAppsBuilder) Add(pid uint32, e *AppsLookupEntry, labels []Label) (PidStatus, error) {
	return b.add(pid, e, labels)
}

func (b *refAppsBuilder) AddRequestItem(request AppsLookupRequestView, index int, e *AppsLookupEntry, labels []Label) (PidStatus, error) {
	if index != b.core.next {
		return 0, &netipc.ArgError{Reason: "request items must be added in request order"}
	}
	if index < 0 || index >= request.Len() {
		return 0, &netipc.ArgError{Reason: "request item index out of range"}
	}
	return b.add(request.Pid(index), e, labels)
}

func (b *refAppsBuilder) AddUnknown(pid uint32) (PidStatus, error) {
	e := refUnknownEntry
	return b.add(pid, &e, nil)
}

func (b *refAppsBuilder) AddRequestUnknown(request AppsLookupRequestView, index int) (PidStatus, error) {
	e := refUnknownEntry
	return b.AddRequestItem(request, index, &e, nil)
}

func (b *refAppsBuilder) Finish() ([]byte, error) { return b.core.finish() }

func (b *refAppsBuilder) add(pid uint32, e *AppsLookupEntry, labels []Label) (PidStatus, error) {
	if err := b.core.checkRoom(); err != nil {
		return 0, err
	}
	labelBytes, err := refMeasureLabels(labels)
	if err != nil {
		return 0, err
	}
	if err := refValidateEntry(e, len(labels)); err != nil {
		return 0, err
	}
	full := 0
	if e.Status == PidKnown {
		end := AppsLookupMinItemSize + len(e.Comm) + len(e.CgroupPath) + len(e.CgroupName)
		full = refItemLenWithLabels(end, len(labels), labelBytes)
	}
	p := b.core.place(AppsLookupMinItemSize, full, e.Status == PidKnown, e.Status == PidPayloadExceeded)
	start := b.core.beginItem()
	encoded := e.Status
	switch p {
	case refPlaceFull:
		b.core.buf = refAppendAppsItem(b.core.buf, pid, e.Status, e, len(labels))
		b.core.buf = refAppendLabels(b.core.buf, start, labels)
	case refPlaceMinimal:
		b.core.buf = refAppendAppsItem(b.core.buf, pid, e.Status, &refUnknownEntry, 0)
	case refPlaceExceeded:
		encoded = PidPayloadExceeded
		b.core.buf = refAppendAppsItem(b.core.buf, pid, encoded, &refUnknownEntry, 0)
	case refPlaceOversized:
		encoded = PidOversizedItem
		b.core.buf = refAppendAppsItem(b.core.buf, pid, encoded, &refUnknownEntry, 0)
	}
	b.core.endItem(start)
	return encoded, nil
}

var refUnknownEntry = AppsLookupUnknownEntry()

func refAppendAppsItem(out []byte, pid uint32, status PidStatus, e *AppsLookupEntry, labels int) []byte {
	commOff := AppsLookupItemHdrSize
	pathOff := commOff + len(e.Comm) + 1
	nameOff := pathOff + len(e.CgroupPath) + 1
	out = bin.App16(out, netipc.LayoutVersion)
	out = bin.App16(out, uint16(status))
	out = bin.App16(out, uint16(e.Orchestrator))
	out = bin.App16(out, uint16(e.CgroupStatus))
	out = bin.App32(out, pid)
	out = bin.App32(out, e.Ppid)
	out = bin.App32(out, e.UID)
	out = bin.App32(out, 0)
	out = bin.App64(out, e.Starttime)
	out = bin.App32(out, uint32(commOff))
	out = bin.App32(out, uint32(len(e.Comm)))
	out = bin.App32(out, uint32(pathOff))
	out = bin.App32(out, uint32(len(e.CgroupPath)))
	out = bin.App32(out, uint32(nameOff))
	out = bin.App32(out, uint32(len(e.CgroupName)))
	out = bin.App16(out, uint16(labels))
	out = bin.App16(out, 0)
	out = append(out, e.Comm...)
	out = append(out, 0)
	out = append(out, e.CgroupPath...)
	out = append(out, 0)
	out = append(out, e.CgroupName...)
	return append(out, 0)
}
