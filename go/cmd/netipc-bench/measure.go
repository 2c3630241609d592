//go:build linux || windows

package main

import (
	"fmt"
	"slices"
	"time"

	"netipc.local/netipc/internal/sys"
)

// sampleCapacity is the most latency samples kept (4 bytes each).
const sampleCapacity = 1 << 18

// cpuPct is CPU time as a percentage of wall time (100 = one core busy).
func cpuPct(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return cpu.Seconds() * 100 / wall.Seconds()
}

// sampler keeps per-operation latencies in a buffer allocated once: when
// full, every other sample is dropped and only every second operation is
// timed from then on, so the samples stay spread over the whole run and
// unsampled operations are not even timed.
type sampler struct {
	buf    []uint32
	stride uint64
	calls  uint64
}

func newSampler(capacity int) *sampler {
	return &sampler{buf: make([]uint32, 0, max(capacity, 2)), stride: 1}
}

// begin is called before an operation: its start time when sampled.
func (s *sampler) begin() (time.Duration, bool) {
	s.calls++
	// The stride is a power of two: a mask, not a division.
	if s.calls&(s.stride-1) == 0 {
		return sys.Mono(), true
	}
	return 0, false
}

// end is called after the operation with what begin returned.
func (s *sampler) end(t time.Duration, ok bool) {
	if ok {
		s.record(sys.Mono() - t)
	}
}

func (s *sampler) record(d time.Duration) {
	if len(s.buf) == cap(s.buf) {
		keep := 0
		for i := 1; i < len(s.buf); i += 2 {
			s.buf[keep] = s.buf[i]
			keep++
		}
		s.buf = s.buf[:keep]
		if s.stride < 1<<63 {
			s.stride *= 2
		}
	}
	s.buf = append(s.buf, uint32(min(max(d.Nanoseconds(), 0), int64(^uint32(0)))))
}

// percentilesUs returns p50, p95 and p99 in microseconds (zeros without
// samples); it sorts the samples in place.
func (s *sampler) percentilesUs() (p50, p95, p99 float64) {
	if len(s.buf) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s.buf)
	at := func(p float64) float64 {
		n := len(s.buf)
		idx := int(p*float64(n) + 0.999999999) // ceil
		idx = min(max(idx, 1), n) - 1
		return float64(s.buf[idx]) / 1000
	}
	return at(0.50), at(0.95), at(0.99)
}

// workload is one scenario's client: step performs one operation (a call,
// a batch, a pipelined round of 16, a pass of lookups), checks every
// answer and returns the units it counts for throughput (calls or items).
type workload interface {
	step() (uint64, error)
	close()
}

// runOpts says how long and how fast to run.
type runOpts struct {
	duration  time.Duration
	targetRPS uint64 // operations per second; 0 = as fast as possible
}

// measured is what a run measured.
type measured struct {
	ops, units    uint64
	wall, cpu     time.Duration
	p50, p95, p99 float64 // microseconds per operation
}

func (m measured) throughput() float64 {
	if m.wall <= 0 {
		return 0
	}
	return float64(m.units) / m.wall.Seconds()
}

// drive runs w for opts.duration (at least one operation), timing sampled
// operations, like the Rust bench's measure::drive.
func drive(w workload, opts runOpts) (measured, error) {
	s := newSampler(sampleCapacity)
	var interval time.Duration
	if opts.targetRPS > 0 {
		interval = time.Duration(float64(time.Second) / float64(opts.targetRPS))
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	deadline := t0.Add(opts.duration)
	nextDue := t0
	var m measured
	// The clock is read every checkEvery operations: more rarely for fast
	// operations.
	sinceCheck, checkEvery, lastCheck := 0, 1, t0
	for {
		if interval > 0 {
			now := time.Now()
			if now.Before(nextDue) {
				time.Sleep(nextDue.Sub(now))
			} else if now.Sub(nextDue) > time.Second {
				nextDue = now // far behind: do not burst to catch up
			}
			nextDue = nextDue.Add(interval)
		}
		start, timed := s.begin()
		units, err := w.step()
		if err != nil {
			return m, err
		}
		s.end(start, timed)
		m.units += units
		m.ops++
		sinceCheck++
		if sinceCheck >= checkEvery {
			sinceCheck = 0
			now := time.Now()
			if !now.Before(deadline) {
				break
			}
			if interval == 0 && now.Sub(lastCheck) < time.Millisecond {
				checkEvery = min(checkEvery*2, 4096)
			}
			lastCheck = now
		}
	}
	m.wall = time.Since(t0)
	m.cpu = cpuTime() - cpu0
	m.p50, m.p95, m.p99 = s.percentilesUs()
	return m, nil
}

// csvLine is the result line
// scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct
// with client and server `go`, server CPU 0.0 and total = client CPU.
func csvLine(scenario string, m measured) string {
	c := cpuPct(m.cpu, m.wall)
	return fmt.Sprintf("%s,%s,%s,%.0f,%.3f,%.3f,%.3f,%.1f,0.0,%.1f", scenario, implementation, implementation,
		m.throughput(), m.p50, m.p95, m.p99, c, c)
}
