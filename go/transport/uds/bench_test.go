//go:build linux

package uds

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
	"netipc.local/netipc/wire"
)

// INCREMENT round trips Go <-> Go, one request in flight (the
// uds-ping-pong and shm-ping-pong scenarios of the shared benchmark
// definitions).
func BenchmarkIncrementRoundTrip(b *testing.B) { sessiontest.BenchmarkIncrementRoundTrip(b, harness) }

// CPU an idle receiver burns while it waits for a message that does not
// come (1 s per iteration), on a fresh session and right after a burst of
// round trips taught its tuner to spin. The pre-poll spin must not turn
// waiting into busy waiting: expect a few µs of CPU per idle second.
func BenchmarkIdleRecvCPU(b *testing.B) {
	for _, warm := range []bool{false, true} {
		name := "fresh"
		if warm {
			name = "after-burst"
		}
		b.Run(name, func(b *testing.B) {
			a, s := socketpair(b)
			// The test cleanup closes the sockets; the channels are only
			// dropped.
			client := session.NewChannel(session.SocketConn(a), sessiontest.RawAck, true)
			server := session.NewChannel(session.SocketConn(s), sessiontest.RawAck, false)
			req := wire.Header{Kind: netipc.KindRequest, Code: netipc.MethodIncrement, ItemCount: 1, MessageID: 1}
			resp := req
			resp.Kind = netipc.KindResponse
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cpu, wall time.Duration
			for b.Loop() {
				if warm {
					const n = 20000
					done := make(chan error, 1)
					go func() {
						for range n {
							if _, _, err := server.Recv(time.Time{}, nil); err != nil {
								done <- err
								return
							}
							if err := server.Send(resp, nil); err != nil {
								done <- err
								return
							}
						}
						done <- nil
					}()
					for range n {
						if err := client.Send(req, nil); err != nil {
							b.Fatal(err)
						}
						if _, _, err := client.Recv(time.Time{}, nil); err != nil {
							b.Fatal(err)
						}
					}
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
				t0, c0 := time.Now(), threadCPU()
				_, _, err := client.Recv(time.Now().Add(time.Second), nil)
				cpu += threadCPU() - c0
				wall += time.Since(t0)
				if !errors.Is(err, netipc.ErrTimeout) {
					b.Fatal(err)
				}
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
