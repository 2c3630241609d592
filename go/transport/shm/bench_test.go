//go:build linux

package shm

import (
	"testing"
	"time"
)

// The per-message cost of the region alone, without waiting: one
// goroutine publishes a request, receives it as the server, answers and
// receives the answer (two Send/Recv pairs, two FUTEX_WAKE calls).
func BenchmarkSerialRoundTrip(b *testing.B) {
	s, c, sfd, cfd := pair(b, 1024, 1024)
	req := msg(1, 1, make([]byte, 8))
	resp := msg(2, 1, make([]byte, 8))
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(req); err != nil {
			b.Fatal(err)
		}
		var err error
		if buf, err = s.Recv(buf, time.Time{}, nil, sfd); err != nil {
			b.Fatal(err)
		}
		if err := s.Send(resp); err != nil {
			b.Fatal(err)
		}
		if buf, err = c.Recv(buf, time.Time{}, nil, cfd); err != nil {
			b.Fatal(err)
		}
	}
}
