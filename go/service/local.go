package service

import (
	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

// LocalDispatcher runs one typed handler on single request payloads in
// process, without a transport: Dispatch does what a managed server's
// session does with one non-batch request of the served method (decode
// the payload, call the handler, encode the answer into storage reused
// across calls, check it against the response budget). For benchmarks,
// tests, and programs that carry request payloads some other way. The
// budget plays both the session's agreed response budget and the server's
// largest one. Like a session, a dispatcher is used from one goroutine at
// a time.
//
// The handler runs on the caller's goroutine, and a panic of the handler
// propagates to the caller of Dispatch, as calling an http.Handler's
// ServeHTTP directly does: a managed server recovers it (the session ends
// with INTERNAL_ERROR), a direct caller decides for itself. The dispatcher
// stays usable after the caller recovers (every Dispatch starts from a
// reset builder).
type LocalDispatcher struct {
	kind   ServiceKind
	ic     *itemCtx
	handle func([]byte) ([]byte, fault)
}

func newLocal(svc service, responseBudget uint32) *LocalDispatcher {
	ic := &itemCtx{responseBudget: responseBudget, responseMax: responseBudget}
	return &LocalDispatcher{kind: svc.kind(), ic: ic, handle: svc.session(ic)}
}

// NewIncrementDispatcher is the in-process form of NewIncrementServer.
func NewIncrementDispatcher(handler func(value uint64) (uint64, error), responseBudget uint32) *LocalDispatcher {
	return newLocal(incrementService{handler}, responseBudget)
}

// NewStringReverseDispatcher is the in-process form of
// NewStringReverseServer.
func NewStringReverseDispatcher(handler func(text []byte) ([]byte, error), responseBudget uint32) *LocalDispatcher {
	return newLocal(stringReverseService{handler}, responseBudget)
}

// NewCgroupsSnapshotDispatcher is the in-process form of
// NewCgroupsSnapshotServer.
func NewCgroupsSnapshotDispatcher(handler func(b *codec.CgroupsSnapshotBuilder) error, responseBudget uint32) *LocalDispatcher {
	return newLocal(snapshotService{handler}, responseBudget)
}

// NewCgroupsLookupDispatcher is the in-process form of
// NewCgroupsLookupServer (the builder's budget and maximum are both
// responseBudget).
func NewCgroupsLookupDispatcher(handler func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error, responseBudget uint32) *LocalDispatcher {
	return newLocal(cgroupsLookupService{handler}, responseBudget)
}

// NewAppsLookupDispatcher is the in-process form of NewAppsLookupServer.
func NewAppsLookupDispatcher(handler func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error, responseBudget uint32) *LocalDispatcher {
	return newLocal(appsLookupService{handler}, responseBudget)
}

// Kind returns the service kind served.
func (d *LocalDispatcher) Kind() ServiceKind { return d.kind }

// Dispatch answers one request payload of the served method. It returns
// the response payload, valid until the next Dispatch, or a
// *netipc.StatusError carrying the transport status a session would send
// instead: StatusBadEnvelope for a malformed request, StatusInternalError
// for a handler failure, StatusLimitExceeded for an answer over the
// budget. A handler panic propagates (see LocalDispatcher).
func (d *LocalDispatcher) Dispatch(request []byte) ([]byte, error) {
	d.ic.learnResponse = false
	out, f := d.handle(request)
	if f.kind == faultNone && uint64(len(out)) > uint64(d.ic.responseBudget) {
		f = fault{kind: faultResponseTooLarge, needed: uint64(len(out))}
	}
	if f.kind != faultNone {
		return nil, &netipc.StatusError{Status: f.status()}
	}
	return out, nil
}
