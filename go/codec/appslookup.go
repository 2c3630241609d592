package codec

import (
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
