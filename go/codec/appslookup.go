package codec

import (
	"bytes"
	"iter"
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// APPS_LOOKUP sizes and constants.
const (
	// AppsLookupItemHdrSize is the wire size of the per-item response
	// header (natural C alignment would pad a struct to 64; the wire uses
	// 60).
	AppsLookupItemHdrSize = 60
	// AppsLookupKeySize is the size of one request key (pid, reserved).
	AppsLookupKeySize = 8
	// UIDUnset is the uid value meaning "not set".
	UIDUnset uint32 = 0xFFFFFFFF
	// AppsLookupCommMaxLen is the longest comm (Linux TASK_COMM_LEN - 1).
	AppsLookupCommMaxLen = 15
	// AppsLookupMinItemSize is the minimal (non-enriched) item: the header
	// plus the NULs of three empty strings.
	AppsLookupMinItemSize = AppsLookupItemHdrSize + 3
)

// APPS_LOOKUP item header field offsets.
const (
	alStatus       = 2
	alOrch         = 4
	alCgroupStatus = 6
	alPid          = 8
	alPpid         = 12
	alUID          = 16
	alReserved0    = 20
	alStarttime    = 24
	alCommOff      = 32
	alCommLen      = 36
	alPathOff      = 40
	alPathLen      = 44
	alNameOff      = 48
	alNameLen      = 52
	alLabels       = 56
	alReserved1    = 58
)

// AppsLookupRequestLen returns the exact encoded size of a request for
// count PIDs; ok is false if it exceeds 4 GiB - 1.
func AppsLookupRequestLen(count int) (n int, ok bool) {
	n = satAdd(LookupReqHdrSize, count*(LookupDirEntrySize+AppsLookupKeySize))
	return n, count >= 0 && count <= MaxBudget && n <= MaxBudget
}

// AppsLookupRequestMaxItems returns the most PIDs one request may hold
// within a budget-byte payload.
func AppsLookupRequestMaxItems(budget int) int {
	return max(min(budget, MaxBudget)-LookupReqHdrSize, 0) / (LookupDirEntrySize + AppsLookupKeySize)
}

// AppendAppsLookupRequest appends the request payload for pids to out. It
// fails with ErrInvalidArgument (out unchanged) only if the request would
// exceed 4 GiB - 1.
func AppendAppsLookupRequest(out []byte, pids []uint32) ([]byte, error) {
	if _, ok := AppsLookupRequestLen(len(pids)); !ok {
		return out, &netipc.ArgError{Reason: "apps lookup request too large"}
	}
	out = appendRequestHeader(out, uint32(len(pids)))
	for i := range pids {
		out = bin.App32(out, uint32(i*AppsLookupKeySize))
		out = bin.App32(out, AppsLookupKeySize)
	}
	for _, pid := range pids {
		out = bin.App32(out, pid)
		out = bin.App32(out, 0)
	}
	return out, nil
}

// AppsLookupRequestView is a decoded APPS_LOOKUP request. It is borrowed
// and ephemeral: it aliases the payload buffer (in a Level 2 server
// handler, valid only for the handler call). Decoding validated every key.
type AppsLookupRequestView struct {
	dir directory
}

// DecodeAppsLookupRequest decodes and fully validates a request payload.
// It rejects a truncated header or directory (DecodeTruncated), layout
// other than 1 (DecodeBadLayoutVersion), non-zero flags, reserved words or
// key reserved fields (DecodeNonZeroReserved), keys out of bounds
// (DecodeOutOfBounds), key offsets not 8-byte aligned (DecodeBadAlignment)
// and directory lengths other than 8 (DecodeBadLength).
func DecodeAppsLookupRequest(payload []byte) (AppsLookupRequestView, error) {
	d, err := parseRequestDir(payload, "apps lookup request")
	if err != nil {
		return AppsLookupRequestView{}, err
	}
	for i := firstBadAppsKey(d.entries(), d.area()); i < d.count; i++ {
		// The precise error of the rule broken (the fast check found one).
		if err := checkAppsKey(d, i); err != nil {
			return AppsLookupRequestView{}, err
		}
	}
	return AppsLookupRequestView{dir: d}, nil
}

// checkAppsKey checks request key i with the precise error of the first
// rule it breaks.
func checkAppsKey(d directory, i int) error {
	off, end, err := d.entryRange(i, "apps lookup key")
	if err != nil {
		return err
	}
	if end-off != AppsLookupKeySize {
		return bin.Rule(netipc.DecodeBadLength, "apps lookup key length must be 8")
	}
	if bin.U32(d.area(), int(off)+4) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "key reserved")
	}
	return nil
}

// firstBadAppsKey is the fast form of checkAppsKey over a whole
// directory: the index of the first key that breaks a rule, or the key
// count if none does.
func firstBadAppsKey(entries, area []byte) int {
	for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
		e := (*[LookupDirEntrySize]byte)(entries[at : at+LookupDirEntrySize])
		off, size := uint64(hostEndian.Uint32(e[0:])), hostEndian.Uint32(e[4:])
		if off%netipc.ItemAlign != 0 || size != AppsLookupKeySize || off+AppsLookupKeySize > uint64(len(area)) ||
			hostEndian.Uint32(area[off+4:off+8]) != 0 {
			return at / LookupDirEntrySize
		}
	}
	return len(entries) / LookupDirEntrySize
}

// appsPidAt returns PID i of a validated directory.
func appsPidAt(entries, area []byte, i int) uint32 {
	e := (*[LookupDirEntrySize]byte)(entries[i*LookupDirEntrySize:])
	off := uint64(hostEndian.Uint32(e[0:]))
	return hostEndian.Uint32(area[off : off+4])
}

// Len returns the number of PIDs (0 is a valid no-op probe).
func (v AppsLookupRequestView) Len() int { return v.dir.count }

// Pid returns PID i (0 <= i < Len(); out of range panics).
func (v AppsLookupRequestView) Pid(i int) uint32 {
	if i < 0 || i >= v.dir.count {
		panic("codec: apps lookup key index out of range")
	}
	return appsPidAt(v.dir.entries(), v.dir.area(), i)
}

// Pids iterates over the PIDs in request order.
func (v AppsLookupRequestView) Pids() iter.Seq2[int, uint32] {
	entries, area := v.dir.entries(), v.dir.area()
	return func(yield func(int, uint32) bool) {
		for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
			off := uint64(hostEndian.Uint32(entries[at : at+4]))
			if !yield(at/LookupDirEntrySize, hostEndian.Uint32(area[off:off+4])) {
				return
			}
		}
	}
}

// ToOwned copies the PIDs.
func (v AppsLookupRequestView) ToOwned() []uint32 {
	out := make([]uint32, v.Len())
	for i := range out {
		out[i] = v.Pid(i)
	}
	return out
}

// AppsLookupEntry holds the fields of one response item other than its PID
// and labels, as borrowed application data for AppsLookupBuilder.
//
// Rules (checked by the builder): strings carry no NUL; Comm is at most 15
// bytes. For a KNOWN PID Comm is 1..15 bytes and the cgroup fields follow
// CgroupStatus (KNOWN: non-empty path; UNKNOWN_RETRY_LATER: orchestrator 0,
// empty name, no labels; UNKNOWN_PERMANENT: non-empty path, orchestrator 0,
// empty name, no labels; HOST_ROOT: orchestrator 0, empty path and name, no
// labels). Any other PID status requires AppsLookupUnknownEntry's values.
type AppsLookupEntry struct {
	// Status is the PID status.
	Status PidStatus
	// CgroupStatus is the cgroup status (KNOWN = 0 when the PID is not
	// known).
	CgroupStatus CgroupStatus
	// Orchestrator is the raw orchestrator value.
	Orchestrator Orchestrator
	// Ppid is the parent PID, or 0.
	Ppid uint32
	// UID is the process UID, or UIDUnset.
	UID uint32
	// Starttime is /proc/<pid>/stat field 22 (jiffies since boot), 0
	// elsewhere.
	Starttime uint64
	// Comm is the process name.
	Comm []byte
	// CgroupPath is the cgroup path.
	CgroupPath []byte
	// CgroupName is the cgroup name.
	CgroupName []byte
}

// AppsLookupUnknownEntry returns the entry of an unknown PID: status
// UNKNOWN, zeros, UIDUnset, empty strings.
func AppsLookupUnknownEntry() AppsLookupEntry {
	return AppsLookupEntry{Status: PidUnknown, UID: UIDUnset}
}

func (e *AppsLookupEntry) validate(labels int) error {
	if reason := e.check(labels, true); reason != "" {
		return &netipc.ArgError{Reason: reason}
	}
	return nil
}

// check returns the reason validate rejects e for, or "" if it does not;
// without nuls, the NUL rule of the strings is not checked.
func (e *AppsLookupEntry) check(labels int, nuls bool) string {
	switch {
	case !e.Status.Valid():
		return "undefined pid status"
	case !e.CgroupStatus.Valid():
		return "undefined cgroup status"
	case nuls && len(e.Comm) != 0 && bin.HasNul(e.Comm):
		return "comm contains a NUL byte"
	case nuls && len(e.CgroupPath) != 0 && bin.HasNul(e.CgroupPath):
		return "cgroup path contains a NUL byte"
	case nuls && len(e.CgroupName) != 0 && bin.HasNul(e.CgroupName):
		return "cgroup name contains a NUL byte"
	case len(e.Comm) > AppsLookupCommMaxLen:
		return "comm is longer than 15 bytes"
	case e.Status != PidKnown:
		if e.CgroupStatus != CgroupKnown || e.Orchestrator != 0 || e.Ppid != 0 || e.UID != UIDUnset ||
			e.Starttime != 0 || len(e.Comm) != 0 || len(e.CgroupPath) != 0 || len(e.CgroupName) != 0 || labels != 0 {
			return "a non-KNOWN pid item must have zero fields, UID_UNSET, empty strings and no labels"
		}
		return ""
	case len(e.Comm) == 0:
		return "comm must not be empty for a KNOWN pid"
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
		return "cgroup fields violate the cgroup_status rules"
	}
	return ""
}

// AppsLookupItem is an owned APPS_LOOKUP response item.
type AppsLookupItem struct {
	// Pid is the echoed request PID.
	Pid uint32
	// AppsLookupEntry holds the status and process/cgroup fields.
	AppsLookupEntry
	// Labels are the labels.
	Labels []Label
}

// AppsLookupResponse is an owned APPS_LOOKUP response.
type AppsLookupResponse struct {
	// Generation is the advisory provider generation.
	Generation uint64
	// Items holds one item per request PID, in request order.
	Items []AppsLookupItem
}

// AppendTo encodes the response with an unlimited budget, every item
// keeping its status, and appends it to out. It fails with
// ErrInvalidArgument if an item is invalid; out is then unchanged.
func (r *AppsLookupResponse) AppendTo(out []byte) ([]byte, error) {
	if uint64(len(r.Items)) > 0xFFFFFFFF {
		return out, &netipc.ArgError{Reason: "more than 4294967295 lookup items"}
	}
	var b AppsLookupBuilder
	b.core.verbatim = true
	b.ResetForCount(r.Generation, uint32(len(r.Items)))
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
	c := &b.core
	c.begin(generation, count)
	if count != 0 {
		// addMin(AppsLookupMinItemSize) count times.
		c.restAligned = int(count) * bin.Align8(AppsLookupMinItemSize)
		c.lastPad = bin.Align8(AppsLookupMinItemSize) - AppsLookupMinItemSize
	}
	c.start()
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
	return b.add(appsPidAt(request.dir.entries(), request.dir.area(), index), e, labels, nil)
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
	return b.add(appsPidAt(request.dir.entries(), request.dir.area(), index), e, nil, &labels)
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
	return b.addUnknown(appsPidAt(request.dir.entries(), request.dir.area(), index))
}

// addUnknown is add of AppsLookupUnknownEntry() without labels (valid by
// construction: nothing to check).
func (b *AppsLookupBuilder) addUnknown(pid uint32) (PidStatus, error) {
	c := &b.core
	if c.next >= c.count {
		return 0, c.checkRoom()
	}
	encoded := PidUnknown
	if c.place(AppsLookupMinItemSize, 0, false, false) == placeExceeded {
		encoded = PidPayloadExceeded
	}
	buf, start := growItem(c.buf, AppsLookupMinItemSize)
	putAppsMinimal(buf[start:], pid, encoded)
	c.commit(buf, start)
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
		restAfter := max(c.restAligned-bin.Align8(AppsLookupMinItemSize), 0)
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
		// growItem and commit by hand: every call spills what is live.
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
		stringsEnd, ok := putAppsItem(it, pid, status, e, count)
		if set != nil {
			if count != 0 {
				putLabelSet(it, stringsEnd, set)
			}
		} else if count != 0 {
			ok = putLabels(it, stringsEnd, labels) && ok
		}
		if !ok {
			c.restore(saved)
			return 0, checkApps(e, labels, count)
		}
		de := (*[LookupDirEntrySize]byte)(buf[LookupRespHdrSize+c.next*LookupDirEntrySize:])
		hostEndian.PutUint32(de[0:], uint32(start-c.areaStart))
		hostEndian.PutUint32(de[4:], uint32(full))
		c.buf = buf
		c.next++
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
	buf, start := growItem(c.buf, AppsLookupMinItemSize)
	putAppsMinimal(buf[start:], pid, encoded)
	c.commit(buf, start)
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

// AppsLookupResponseView is a decoded APPS_LOOKUP response. It is borrowed
// and ephemeral: it aliases the payload buffer (for a Level 2 client, valid
// until the next typed call on the same client; see the package
// documentation). Decoding validated everything, so access cannot fail.
type AppsLookupResponseView struct {
	dir directory
}

// DecodeAppsLookupResponse decodes and fully validates a response payload
// without allocating. It rejects: truncated header or directory, or items
// shorter than 60 bytes (DecodeTruncated); layout other than 1
// (DecodeBadLayoutVersion); non-zero flags or reserved fields
// (DecodeNonZeroReserved); item ranges out of bounds (DecodeOutOfBounds);
// overlapping or out-of-order item ranges (DecodeOverlap); unaligned item
// offsets (DecodeBadAlignment); unknown PID or cgroup statuses
// (DecodeUnknownStatus); comm_length > 15, or 0 for a known PID
// (DecodeBadLength); PID-status and cgroup-status field rules
// (DecodeInvalidField); string offsets before byte 60 or strings out of
// bounds (DecodeOutOfBounds); missing NULs (DecodeMissingNul); interior
// NULs (DecodeInteriorNul); overlapping strings including their NULs
// (DecodeOverlap); and every label-table rule.
func DecodeAppsLookupResponse(payload []byte) (AppsLookupResponseView, error) {
	d, _, err := parseResponseDir(payload, "apps lookup response")
	if err != nil {
		return AppsLookupResponseView{}, err
	}
	if firstBadAppsItem(d.entries(), d.area()) < d.count {
		// The precise error of the rule broken (the fast check found one).
		if err := d.validateItems(AppsLookupItemHdrSize, "apps lookup item", checkAppsItem); err != nil {
			return AppsLookupResponseView{}, err
		}
	}
	return AppsLookupResponseView{dir: d}, nil
}

// firstBadAppsItem is the fast form of validateItems with the item's precise
// checks (firstBadItem with appsItemOK).
func firstBadAppsItem(entries, area []byte) int {
	return firstBadItem(entries, area, AppsLookupItemHdrSize, appsItemOK)
}

// appsItemOK is the fast form of checkAppsItem (item holds at least the
// header).
func appsItemOK(item []byte) bool {
	h := (*[AppsLookupItemHdrSize]byte)(item)
	status, cgs := hostEndian.Uint16(h[alStatus:]), hostEndian.Uint16(h[alCgroupStatus:])
	orch, labels := hostEndian.Uint16(h[alOrch:]), hostEndian.Uint16(h[alLabels:])
	commOff, commLen := uint64(hostEndian.Uint32(h[alCommOff:])), uint64(hostEndian.Uint32(h[alCommLen:]))
	pathOff, pathLen := uint64(hostEndian.Uint32(h[alPathOff:])), uint64(hostEndian.Uint32(h[alPathLen:]))
	nameOff, nameLen := uint64(hostEndian.Uint32(h[alNameOff:])), uint64(hostEndian.Uint32(h[alNameLen:]))
	if hostEndian.Uint16(h[0:]) != netipc.LayoutVersion || status > uint16(PidOversizedItem) ||
		cgs > uint16(CgroupHostRoot) || hostEndian.Uint32(h[alReserved0:]) != 0 ||
		hostEndian.Uint16(h[alReserved1:]) != 0 || commLen > AppsLookupCommMaxLen {
		return false
	}
	if status == uint16(PidKnown) {
		plain := orch == 0 && nameLen == 0 && labels == 0
		switch CgroupStatus(cgs) {
		case CgroupKnown:
			plain = pathLen != 0
		case CgroupUnknownPermanent:
			plain = plain && pathLen != 0
		case CgroupHostRoot:
			plain = plain && pathLen == 0
		}
		if commLen == 0 || !plain {
			return false
		}
	} else if orch|cgs|labels != 0 || hostEndian.Uint32(h[alPpid:]) != 0 || hostEndian.Uint32(h[alUID:]) != UIDUnset ||
		hostEndian.Uint64(h[alStarttime:]) != 0 || commLen|pathLen|nameLen != 0 {
		return false
	}
	commEnd, pathEnd, nameEnd := commOff+commLen+1, pathOff+pathLen+1, nameOff+nameLen+1
	if commOff == AppsLookupItemHdrSize && pathOff == commEnd && nameOff == pathEnd {
		// Packed the way encoders write them: the three NULs must be the
		// only ones in the strings, and the label strings' NULs the only
		// ones in theirs (one count over both and the table between).
		if nameEnd > uint64(len(item)) || item[commEnd-1]|item[pathEnd-1]|item[nameEnd-1] != 0 {
			return false
		}
		if labels == 0 && nameEnd == AppsLookupMinItemSize {
			// Three empty strings are their three NULs.
			return true
		}
		end, zeros, ok := labelTable(item, nameEnd, int(labels))
		return ok && bytes.Count(item[AppsLookupItemHdrSize:end], nulByte) == 3+zeros
	} else if !stringOK(item, AppsLookupItemHdrSize, commOff, commLen) ||
		!stringOK(item, AppsLookupItemHdrSize, pathOff, pathLen) ||
		!stringOK(item, AppsLookupItemHdrSize, nameOff, nameLen) ||
		(commOff < pathEnd && pathOff < commEnd) || (commOff < nameEnd && nameOff < commEnd) ||
		(pathOff < nameEnd && nameOff < pathEnd) {
		return false
	}
	return labelsOK(item, max(commEnd, pathEnd, nameEnd), int(labels))
}

// checkAppsItem checks a response item (at least the header long) with
// the precise error of the first rule it breaks.
func checkAppsItem(item []byte) error {
	if lv := bin.U16(item, 0); lv != netipc.LayoutVersion {
		return bin.Found(netipc.DecodeBadLayoutVersion, "apps lookup item", uint64(lv))
	}
	status := PidStatus(bin.U16(item, alStatus))
	if !status.Valid() {
		return bin.Found(netipc.DecodeUnknownStatus, "apps lookup pid status", uint64(status))
	}
	cgs := CgroupStatus(bin.U16(item, alCgroupStatus))
	if !cgs.Valid() {
		return bin.Found(netipc.DecodeUnknownStatus, "apps lookup cgroup status", uint64(cgs))
	}
	if bin.U32(item, alReserved0) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "item reserved0")
	}
	if bin.U16(item, alReserved1) != 0 {
		return bin.Rule(netipc.DecodeNonZeroReserved, "item reserved1")
	}
	orch := bin.U16(item, alOrch)
	commLen, pathLen, nameLen := bin.U32(item, alCommLen), bin.U32(item, alPathLen), bin.U32(item, alNameLen)
	labels := int(bin.U16(item, alLabels))
	if commLen > AppsLookupCommMaxLen {
		return bin.Rule(netipc.DecodeBadLength, "comm_length must be <= 15")
	}
	if status == PidKnown {
		if commLen == 0 {
			return bin.Rule(netipc.DecodeBadLength, "comm_length must be 1..=15 for a KNOWN pid")
		}
		if err := checkCgroupRules(cgs, orch, pathLen, nameLen, labels); err != nil {
			return err
		}
	} else if err := checkUnknownPidRules(item, cgs, orch, commLen, pathLen, nameLen, labels); err != nil {
		return err
	}
	comm, err := checkString(item, AppsLookupItemHdrSize, bin.U32(item, alCommOff), commLen, "comm")
	if err != nil {
		return err
	}
	path, err := checkString(item, AppsLookupItemHdrSize, bin.U32(item, alPathOff), pathLen, "cgroup_path")
	if err != nil {
		return err
	}
	name, err := checkString(item, AppsLookupItemHdrSize, bin.U32(item, alNameOff), nameLen, "cgroup_name")
	if err != nil {
		return err
	}
	if overlaps(comm, path) || overlaps(comm, name) || overlaps(path, name) {
		return bin.Rule(netipc.DecodeOverlap, "comm, cgroup_path and cgroup_name strings")
	}
	_, err = checkLabels(item, max(comm.end, path.end, name.end), labels)
	return err
}

func checkCgroupRules(cgs CgroupStatus, orch uint16, pathLen, nameLen uint32, labels int) error {
	plain := func(rule string) error {
		if orch != 0 || nameLen != 0 || labels != 0 {
			return bin.Rule(netipc.DecodeInvalidField, rule)
		}
		return nil
	}
	switch cgs {
	case CgroupKnown:
		if pathLen == 0 {
			return bin.Rule(netipc.DecodeInvalidField, "cgroup_path must not be empty when cgroup_status is KNOWN")
		}
		return nil
	case CgroupUnknownRetryLater:
		return plain("cgroup_status UNKNOWN_RETRY_LATER requires orchestrator 0, an empty cgroup_name and no labels")
	case CgroupUnknownPermanent:
		if pathLen == 0 {
			return bin.Rule(netipc.DecodeInvalidField, "cgroup_path must not be empty when cgroup_status is UNKNOWN_PERMANENT")
		}
		return plain("cgroup_status UNKNOWN_PERMANENT requires orchestrator 0, an empty cgroup_name and no labels")
	default: // CgroupHostRoot
		if pathLen != 0 {
			return bin.Rule(netipc.DecodeInvalidField, "cgroup_path must be empty when cgroup_status is HOST_ROOT")
		}
		return plain("cgroup_status HOST_ROOT requires orchestrator 0, an empty cgroup_name and no labels")
	}
}

func checkUnknownPidRules(item []byte, cgs CgroupStatus, orch uint16, commLen, pathLen, nameLen uint32, labels int) error {
	switch {
	case orch != 0:
		return bin.Rule(netipc.DecodeInvalidField, "orchestrator must be 0 when pid status is not KNOWN")
	case cgs != CgroupKnown:
		return bin.Rule(netipc.DecodeInvalidField, "cgroup_status must be 0 when pid status is not KNOWN")
	case bin.U32(item, alPpid) != 0:
		return bin.Rule(netipc.DecodeInvalidField, "ppid must be 0 when pid status is not KNOWN")
	case bin.U32(item, alUID) != UIDUnset:
		return bin.Rule(netipc.DecodeInvalidField, "uid must be UID_UNSET when pid status is not KNOWN")
	case bin.U64(item, alStarttime) != 0:
		return bin.Rule(netipc.DecodeInvalidField, "starttime must be 0 when pid status is not KNOWN")
	case commLen != 0 || pathLen != 0 || nameLen != 0:
		return bin.Rule(netipc.DecodeInvalidField, "strings must be empty when pid status is not KNOWN")
	case labels != 0:
		return bin.Rule(netipc.DecodeInvalidField, "label_count must be 0 when pid status is not KNOWN")
	}
	return nil
}

// Generation returns the advisory provider generation (any value,
// including 0).
func (v AppsLookupResponseView) Generation() uint64 { return v.dir.generation() }

// Len returns the number of items.
func (v AppsLookupResponseView) Len() int { return v.dir.count }

// Item returns item i (0 <= i < Len(); out of range panics).
func (v AppsLookupResponseView) Item(i int) AppsLookupItemView {
	if i < 0 || i >= v.dir.count {
		panic("codec: apps lookup item index out of range")
	}
	return AppsLookupItemView{item: itemAt(v.dir.entries(), v.dir.area(), i)}
}

// Items iterates over the items in order.
func (v AppsLookupResponseView) Items() iter.Seq2[int, AppsLookupItemView] {
	entries, area := v.dir.entries(), v.dir.area()
	return func(yield func(int, AppsLookupItemView) bool) {
		for at := 0; at+LookupDirEntrySize <= len(entries); at += LookupDirEntrySize {
			item := entryBytes((*[LookupDirEntrySize]byte)(entries[at:at+LookupDirEntrySize]), area)
			if !yield(at/LookupDirEntrySize, AppsLookupItemView{item: item}) {
				return
			}
		}
	}
}

// ToOwned copies the response.
func (v AppsLookupResponseView) ToOwned() AppsLookupResponse {
	r := AppsLookupResponse{Generation: v.dir.generation(), Items: make([]AppsLookupItem, v.Len())}
	for i := range r.Items {
		r.Items[i] = v.Item(i).ToOwned()
	}
	return r
}

// AppsLookupItemView is one decoded APPS_LOOKUP response item. It is
// borrowed and ephemeral with the same lifetime as the response view: its
// strings alias the payload. Fields are read from the validated bytes on
// access.
type AppsLookupItemView struct {
	item []byte
}

// hdr returns the item header.
func (v AppsLookupItemView) hdr() *[AppsLookupItemHdrSize]byte {
	return (*[AppsLookupItemHdrSize]byte)(v.item)
}

// Status returns the PID status.
func (v AppsLookupItemView) Status() PidStatus {
	return PidStatus(hostEndian.Uint16(v.hdr()[alStatus:]))
}

// CgroupStatus returns the cgroup status (KNOWN = 0 when the PID is not
// known).
func (v AppsLookupItemView) CgroupStatus() CgroupStatus {
	return CgroupStatus(hostEndian.Uint16(v.hdr()[alCgroupStatus:]))
}

// Orchestrator returns the raw orchestrator value.
func (v AppsLookupItemView) Orchestrator() Orchestrator {
	return Orchestrator(hostEndian.Uint16(v.hdr()[alOrch:]))
}

// Pid returns the echoed request PID.
func (v AppsLookupItemView) Pid() uint32 { return hostEndian.Uint32(v.hdr()[alPid:]) }

// Ppid returns the parent PID, or 0.
func (v AppsLookupItemView) Ppid() uint32 { return hostEndian.Uint32(v.hdr()[alPpid:]) }

// UID returns the raw UID (UIDUnset when not set).
func (v AppsLookupItemView) UID() uint32 { return hostEndian.Uint32(v.hdr()[alUID:]) }

// Starttime returns the start time in jiffies since boot (0 when unknown).
func (v AppsLookupItemView) Starttime() uint64 { return hostEndian.Uint64(v.hdr()[alStarttime:]) }

// Comm returns the process name (no NUL; aliases the payload).
func (v AppsLookupItemView) Comm() []byte { return itemString(v.item, v.hdr()[alCommOff:]) }

// CgroupPath returns the cgroup path (no NUL, may be empty; aliases the
// payload).
func (v AppsLookupItemView) CgroupPath() []byte { return itemString(v.item, v.hdr()[alPathOff:]) }

// CgroupName returns the cgroup name (no NUL, may be empty; aliases the
// payload).
func (v AppsLookupItemView) CgroupName() []byte { return itemString(v.item, v.hdr()[alNameOff:]) }

// LabelCount returns the number of labels.
func (v AppsLookupItemView) LabelCount() int { return int(hostEndian.Uint16(v.hdr()[alLabels:])) }

// table returns the label table offset: the first aligned offset after
// the three strings' NULs.
func (v AppsLookupItemView) table() int {
	h := v.hdr()
	ce := hostEndian.Uint32(h[alCommOff:]) + hostEndian.Uint32(h[alCommLen:])
	pe := hostEndian.Uint32(h[alPathOff:]) + hostEndian.Uint32(h[alPathLen:])
	ne := hostEndian.Uint32(h[alNameOff:]) + hostEndian.Uint32(h[alNameLen:])
	return bin.Align8(int(max(ce, pe, ne)) + 1)
}

// Label returns label i (0 <= i < LabelCount(); out of range panics).
func (v AppsLookupItemView) Label(i int) LabelView {
	if i < 0 || i >= v.LabelCount() {
		panic("codec: label index out of range")
	}
	return labelAt(v.item, v.table(), i)
}

// Labels iterates over the labels in table order.
func (v AppsLookupItemView) Labels() iter.Seq2[int, LabelView] {
	item := v.item
	return func(yield func(int, LabelView) bool) {
		v := AppsLookupItemView{item: item}
		t, n := v.table(), v.LabelCount()
		for i := range n {
			if !yield(i, labelAt(item, t, i)) {
				return
			}
		}
	}
}

// Bytes returns the raw item bytes (aliasing the payload).
func (v AppsLookupItemView) Bytes() []byte { return v.item }

// ToOwned copies the item.
func (v AppsLookupItemView) ToOwned() AppsLookupItem {
	it := AppsLookupItem{Pid: v.Pid(), AppsLookupEntry: AppsLookupEntry{
		Status: v.Status(), CgroupStatus: v.CgroupStatus(), Orchestrator: v.Orchestrator(),
		Ppid: v.Ppid(), UID: v.UID(), Starttime: v.Starttime(),
		Comm:       append([]byte(nil), v.Comm()...),
		CgroupPath: append([]byte(nil), v.CgroupPath()...),
		CgroupName: append([]byte(nil), v.CgroupName()...),
	}}
	if n := v.LabelCount(); n > 0 {
		it.Labels = make([]Label, n)
		t := v.table()
		for i := range it.Labels {
			it.Labels[i] = labelAt(v.item, t, i).ToOwned()
		}
	}
	return it
}

// TrustedAppsLookupItem re-reads one item that DecodeAppsLookupResponse
// already validated (for callers that keep validated item bytes, like the
// Level 2 stitched results). Passing bytes that were not validated may
// panic.
func TrustedAppsLookupItem(item []byte) AppsLookupItemView { return AppsLookupItemView{item: item} }
