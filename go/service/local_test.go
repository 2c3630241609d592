package service

import (
	"errors"
	"fmt"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

// wantStatus checks that err is a *netipc.StatusError with status st.
func wantStatus(t *testing.T, err error, st uint16) {
	t.Helper()
	var se *netipc.StatusError
	if !errors.As(err, &se) || se.Status != st {
		t.Fatalf("got %v, want status %d", err, st)
	}
}

func TestLocalDispatcherIncrement(t *testing.T) {
	d := NewIncrementDispatcher(func(v uint64) (uint64, error) {
		switch v {
		case 7:
			return 0, errors.New("handler refuses 7")
		case 8:
			panic("handler panics on 8")
		}
		return v + 1, nil
	}, 4096)
	if d.Kind() != KindIncrement {
		t.Fatal(d.Kind())
	}
	req := codec.EncodeIncrement(41)
	out, err := d.Dispatch(req[:])
	if err != nil {
		t.Fatal(err)
	}
	if v, err := codec.DecodeIncrement(out); err != nil || v != 42 {
		t.Fatal(v, err)
	}
	_, err = d.Dispatch([]byte{1, 2, 3})
	wantStatus(t, err, netipc.StatusBadEnvelope)
	req = codec.EncodeIncrement(7)
	_, err = d.Dispatch(req[:])
	wantStatus(t, err, netipc.StatusInternalError)
	req = codec.EncodeIncrement(8)
	if got := dispatchPanic(d, req[:]); got != "handler panics on 8" {
		t.Fatalf("panic value %v", got)
	}
	// The dispatcher stays usable after failures and panics.
	req = codec.EncodeIncrement(1)
	if out, err = d.Dispatch(req[:]); err != nil {
		t.Fatal(err)
	}
	if v, _ := codec.DecodeIncrement(out); v != 2 {
		t.Fatal(v)
	}
}

func TestLocalDispatcherSnapshotBudget(t *testing.T) {
	items := 1
	d := NewCgroupsSnapshotDispatcher(func(b *codec.CgroupsSnapshotBuilder) error {
		b.SetGeneration(9)
		for i := range items {
			name := fmt.Appendf(nil, "cg-%d", i)
			if err := b.AddItem(codec.SimpleHash(name), 0, 1, name, []byte("/sys/fs/cgroup/x")); err != nil {
				return err
			}
		}
		return nil
	}, 1024)
	req := codec.DefaultSnapshotRequest.Bytes()
	out, err := d.Dispatch(req[:])
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.DecodeSnapshot(out)
	if err != nil || v.Len() != 1 || v.Generation() != 9 || string(v.Item(0).Name) != "cg-0" {
		t.Fatal(v.Len(), err)
	}
	// Over the budget: the builder refuses the item past 1024 bytes and
	// the handler returns that error, answered LIMIT_EXCEEDED.
	items = 100
	_, err = d.Dispatch(req[:])
	wantStatus(t, err, netipc.StatusLimitExceeded)
	_, err = d.Dispatch([]byte{2, 0, 0, 0})
	wantStatus(t, err, netipc.StatusBadEnvelope)
}

func TestLocalDispatcherLookups(t *testing.T) {
	cg := NewCgroupsLookupDispatcher(func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
		b.SetGeneration(3)
		for i := range req.Len() {
			if _, err := b.AddRequestItem(req, i, codec.LookupKnown, codec.OrchestratorK8s, []byte("pod"), nil); err != nil {
				return err
			}
		}
		return nil
	}, 65536)
	req, err := codec.AppendCgroupsLookupRequest(nil, [][]byte{[]byte("/a"), []byte("/b")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cg.Dispatch(req)
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.DecodeCgroupsLookupResponse(out)
	if err != nil || v.Len() != 2 || string(v.Item(1).Path()) != "/b" || string(v.Item(1).Name()) != "pod" {
		t.Fatal(v.Len(), err)
	}
	apps := NewAppsLookupDispatcher(func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error {
		return nil // leaves the keys unanswered: a handler failure
	}, 65536)
	if apps.Kind() != KindAppsLookup {
		t.Fatal(apps.Kind())
	}
	areq, err := codec.AppendAppsLookupRequest(nil, []uint32{10, 11})
	if err != nil {
		t.Fatal(err)
	}
	_, err = apps.Dispatch(areq)
	wantStatus(t, err, netipc.StatusInternalError)
	sr := NewStringReverseDispatcher(func(text []byte) ([]byte, error) {
		out := make([]byte, len(text))
		for i, c := range text {
			out[len(text)-1-i] = c
		}
		return out, nil
	}, 4096)
	sreq, err := codec.AppendStringReverse(nil, []byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	out, err = sr.Dispatch(sreq)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := codec.DecodeStringReverse(out); err != nil || string(s.Text) != "cba" {
		t.Fatal(err)
	}
}

// For every service kind, a panic of the typed handler reaches the caller
// of Dispatch with its own value, and the dispatcher answers the next
// request after the caller recovered.
func TestLocalDispatcherPanicEveryKind(t *testing.T) {
	var boom bool
	maybePanic := func() {
		if boom {
			panic("handler panics")
		}
	}
	inc := codec.EncodeIncrement(1)
	rev, _ := codec.AppendStringReverse(nil, []byte("abc"))
	snap := codec.AppendSnapshotRequest(nil)
	cg, _ := codec.AppendCgroupsLookupRequest(nil, [][]byte{[]byte("/a")})
	apps, _ := codec.AppendAppsLookupRequest(nil, []uint32{1})
	cases := []struct {
		d   *LocalDispatcher
		req []byte
	}{
		{NewIncrementDispatcher(func(v uint64) (uint64, error) { maybePanic(); return v + 1, nil }, 4096), inc[:]},
		{NewStringReverseDispatcher(func(s []byte) ([]byte, error) { maybePanic(); return s, nil }, 4096), rev},
		{NewCgroupsSnapshotDispatcher(func(b *codec.CgroupsSnapshotBuilder) error { maybePanic(); return nil }, 4096), snap},
		{NewCgroupsLookupDispatcher(func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error {
			maybePanic()
			_, err := b.AddRequestUnknown(req, 0, codec.LookupUnknownRetryLater)
			return err
		}, 4096), cg},
		{NewAppsLookupDispatcher(func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error {
			maybePanic()
			_, err := b.AddRequestUnknown(req, 0)
			return err
		}, 4096), apps},
	}
	for _, c := range cases {
		boom = true
		if got := dispatchPanic(c.d, c.req); got != "handler panics" {
			t.Fatalf("%v: panic value %v", c.d.Kind(), got)
		}
		boom = false
		if _, err := c.d.Dispatch(c.req); err != nil {
			t.Fatalf("%v after a panic: %v", c.d.Kind(), err)
		}
	}
}

// dispatchPanic calls d.Dispatch(req) and returns what it panicked with
// (nil if it returned).
func dispatchPanic(d *LocalDispatcher, req []byte) (got any) {
	defer func() { got = recover() }()
	_, _ = d.Dispatch(req)
	return nil
}
