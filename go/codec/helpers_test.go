package codec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

func vec(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/conformance/vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantKind asserts err is a *netipc.DecodeError of the given kind that
// wraps ErrProtocol.
func wantKind(t *testing.T, err error, kind netipc.DecodeKind) {
	t.Helper()
	var de *netipc.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("want %v decode error, got %v", kind, err)
	}
	if de.Kind != kind {
		t.Fatalf("want %v, got %v (%v)", kind, de.Kind, err)
	}
	if !errors.Is(err, netipc.ErrProtocol) {
		t.Fatal("decode error does not wrap ErrProtocol")
	}
}

// mut returns a mutated copy of p.
func mut(p []byte, f func(b []byte)) []byte {
	b := append([]byte(nil), p...)
	f(b)
	return b
}

func put16(b []byte, off int, v uint16) { bin.Put16(b, off, v) }
func put32(b []byte, off int, v uint32) { bin.Put32(b, off, v) }
func put64(b []byte, off int, v uint64) { bin.Put64(b, off, v) }

func lbl(k, v string) Label { return Label{Key: []byte(k), Value: []byte(v)} }

// must panics on error (the test then fails with the error).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func normC(r CgroupsLookupResponse) string {
	s := fmt.Sprintf("gen=%d", r.Generation)
	for _, it := range r.Items {
		s += fmt.Sprintf(" [%v %v %q %q", it.Status, it.Orchestrator, it.Path, it.Name)
		for _, l := range it.Labels {
			s += fmt.Sprintf(" %q=%q", l.Key, l.Value)
		}
		s += "]"
	}
	return s
}

func normA(r AppsLookupResponse) string {
	s := fmt.Sprintf("gen=%d", r.Generation)
	for _, it := range r.Items {
		s += fmt.Sprintf(" [%d %v %v %v %d %d %d %q %q %q", it.Pid, it.Status, it.CgroupStatus, it.Orchestrator,
			it.Ppid, it.UID, it.Starttime, it.Comm, it.CgroupPath, it.CgroupName)
		for _, l := range it.Labels {
			s += fmt.Sprintf(" %q=%q", l.Key, l.Value)
		}
		s += "]"
	}
	return s
}
