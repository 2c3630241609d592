package netipc_test

import (
	"errors"
	"strings"
	"testing"

	"netipc.local/netipc"
)

func TestErrorValues(t *testing.T) {
	for k := netipc.DecodeTruncated; k <= netipc.DecodeInvalidField; k++ {
		e := &netipc.DecodeError{Kind: k, What: "field", Need: 4, Have: 2, Found: 9}
		if !errors.Is(e, netipc.ErrProtocol) || e.Error() == "" || strings.HasPrefix(k.String(), "decode kind") {
			t.Fatal(k)
		}
	}
	if netipc.DecodeKind(99).String() != "decode kind 99" {
		t.Fatal("unknown kind name")
	}
	for v := netipc.ViolationChunkMessageID; v <= netipc.ViolationUnexpectedResponse; v++ {
		if !errors.Is(v, netipc.ErrProtocol) || strings.HasSuffix(v.Error(), "violation 0") || !strings.Contains(v.Error(), "protocol violation: ") {
			t.Fatal(v)
		}
	}
	if !strings.Contains(netipc.Violation(99).Error(), "99") {
		t.Fatal("unknown violation")
	}
	for l := netipc.LimitRequestPayload; l <= netipc.LimitLocal; l++ {
		e := &netipc.LimitError{Limit: l, Max: 1, Actual: 2}
		if !errors.Is(e, netipc.ErrLimitExceeded) || !strings.Contains(e.Error(), l.String()) {
			t.Fatal(l)
		}
	}
	if netipc.Limit(99).String() != "limit 99" {
		t.Fatal("unknown limit")
	}
	want := map[uint16]error{
		netipc.StatusAuthFailed: netipc.ErrAuthFailed, netipc.StatusIncompatible: netipc.ErrIncompatible,
		netipc.StatusUnsupported: netipc.ErrUnsupported, netipc.StatusLimitExceeded: netipc.ErrLimitExceeded,
		netipc.StatusBadEnvelope: nil, netipc.StatusInternalError: nil, 77: nil,
	}
	for st, sentinel := range want {
		e := &netipc.StatusError{Status: st}
		if !errors.Is(e, netipc.ErrPeerStatus) || e.Error() == "" || netipc.StatusSentinel(st) != sentinel {
			t.Fatal(st)
		}
		if sentinel != nil && !errors.Is(e, sentinel) {
			t.Fatal(st)
		}
	}
	if !errors.Is(&netipc.ArgError{Reason: "x"}, netipc.ErrInvalidArgument) || (&netipc.ArgError{Reason: "x"}).Error() == "" {
		t.Fatal("ArgError")
	}
	if !errors.Is(&netipc.StateError{Reason: "x"}, netipc.ErrInvalidState) || (&netipc.StateError{Reason: "x"}).Error() == "" {
		t.Fatal("StateError")
	}
}

func TestNames(t *testing.T) {
	for st, n := range map[uint16]string{0: "OK", 1: "BAD_ENVELOPE", 2: "AUTH_FAILED", 3: "INCOMPATIBLE", 4: "UNSUPPORTED", 5: "LIMIT_EXCEEDED", 6: "INTERNAL_ERROR", 7: ""} {
		if netipc.StatusName(st) != n {
			t.Fatal(st)
		}
	}
	for c, n := range map[uint16]string{1: "INCREMENT", 2: "CGROUPS_SNAPSHOT", 3: "STRING_REVERSE", 4: "CGROUPS_LOOKUP", 5: "APPS_LOOKUP", 6: ""} {
		if netipc.MethodName(c) != n {
			t.Fatal(c)
		}
	}
	for k, n := range map[uint16]string{1: "REQUEST", 2: "RESPONSE", 3: "CONTROL", 0: ""} {
		if netipc.KindName(k) != n {
			t.Fatal(k)
		}
	}
}
