package codec

// CGROUPS_LOOKUP sizes.
const (
	// CgroupsLookupItemHdrSize is the size of the fixed per-item response
	// header.
	CgroupsLookupItemHdrSize = 28
	// CgroupsLookupMinKeyLen is the smallest valid request key directory
	// length (one path byte + NUL).
	CgroupsLookupMinKeyLen = 2
)

// CGROUPS_LOOKUP item header field offsets.
const (
	clStatus    = 2
	clOrch      = 4
	clReserved0 = 6
	clPathOff   = 8
	clPathLen   = 12
	clNameOff   = 16
	clNameLen   = 20
	clLabels    = 24
	clReserved1 = 26
)

// CgroupsLookupItem is an owned CGROUPS_LOOKUP response item.
type CgroupsLookupItem struct {
	// Status is the item status.
	Status LookupStatus
	// Orchestrator is the raw orchestrator value (0 unless KNOWN).
	Orchestrator Orchestrator
	// Path is the echoed request path (non-empty, no NUL).
	Path []byte
	// Name is the cgroup name (may be empty; empty unless KNOWN).
	Name []byte
	// Labels are the labels (none unless KNOWN).
	Labels []Label
}

// CgroupsLookupResponse is an owned CGROUPS_LOOKUP response.
type CgroupsLookupResponse struct {
	// Generation is the advisory provider generation.
	Generation uint64
	// Items holds one item per request key, in request order.
	Items []CgroupsLookupItem
}

// AppendTo encodes the response with an unlimited budget, every item
// keeping its status, and appends it to out. It fails with
// ErrInvalidArgument if an item is invalid; out is then unchanged.
func (r *CgroupsLookupResponse) AppendTo(out []byte) ([]byte, error) {
	var b CgroupsLookupBuilder
	b.core.verbatim = true
	b.keyLens = b.keyLens[:0]
	for i := range r.Items {
		b.keyLens = append(b.keyLens, len(r.Items[i].Path))
	}
	b.resetForKeyLens(r.Generation)
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
