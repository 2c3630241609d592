//go:build linux

package shm

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
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

// The CPU an idle receiver burns: each iteration waits 1 s for a
// message that never comes (a fresh session, then one right after a burst
// of fast round trips, whose spin budget is at its maximum). Reported as
// CPU microseconds per idle second of the waiting thread.
func BenchmarkIdleRecvCPU(b *testing.B) {
	for _, warm := range []bool{false, true} {
		name := "fresh"
		if warm {
			name = "after-burst"
		}
		b.Run(name, func(b *testing.B) {
			s, c, sfd, cfd := pair(b, 64, 64)
			req := msg(1, 1, nil)
			resp := msg(2, 1, nil)
			buf := make([]byte, 0, 128)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cpu, wall time.Duration
			for b.Loop() {
				if warm {
					for range 20000 {
						_ = c.Send(req)
						buf, _ = s.Recv(buf, time.Time{}, nil, sfd)
						_ = s.Send(resp)
						buf, _ = c.Recv(buf, time.Time{}, nil, cfd)
					}
				}
				t0, c0 := time.Now(), threadCPU()
				_, err := s.Recv(buf, time.Now().Add(time.Second), nil, sfd)
				cpu += threadCPU() - c0
				wall += time.Since(t0)
				wantIs(b, err, netipc.ErrTimeout)
			}
			b.ReportMetric(float64(cpu.Microseconds())/wall.Seconds(), "cpu-us/idle-s")
		})
	}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}
