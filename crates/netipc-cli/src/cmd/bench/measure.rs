//! Measuring a benchmark run: the timed loop (duration, target rate),
//! latency sampling into a preallocated buffer, process CPU time, and the
//! result line.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cmd::CliResult;

/// Latency samples kept at most (4 bytes each).
pub const SAMPLE_CAPACITY: usize = 1 << 18;

/// The process's CPU time (user + system, every thread): the
/// `CLOCK_PROCESS_CPUTIME_ID` clock, which counts what `getrusage(SELF)`
/// reports as `ru_utime + ru_stime`.
/// Not measured (zero) where the platform lacks that clock (Windows).
pub fn cpu_time() -> Duration {
    crate::platform::cpu_time()
}

/// CPU time as a percentage of wall time (100 = one core busy).
pub fn cpu_pct(cpu: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        0.0
    } else {
        cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
    }
}

/// Per-call latency samples in a buffer allocated once.
///
/// Every call is sampled until the buffer is full; then every other
/// sample is dropped and only every second call is sampled from then on
/// (and so on), so the samples stay spread evenly over the whole run and
/// unsampled calls are not even timed.
#[derive(Debug)]
pub struct Sampler {
    buf: Vec<u32>,
    stride: u64,
    calls: u64,
}

impl Sampler {
    /// A sampler keeping at most `capacity` samples (at least 2).
    pub fn new(capacity: usize) -> Self {
        Sampler {
            buf: Vec::with_capacity(capacity.max(2)),
            stride: 1,
            calls: 0,
        }
    }

    /// Call before an operation: the start time when this one is sampled.
    #[inline]
    pub fn begin(&mut self) -> Option<Instant> {
        self.calls += 1;
        // The stride is a power of two: a mask, not a division.
        if self.calls & (self.stride - 1) == 0 {
            Some(Instant::now())
        } else {
            None
        }
    }

    /// Call after the operation with what [`Sampler::begin`] returned.
    #[inline]
    pub fn end(&mut self, start: Option<Instant>) {
        if let Some(t) = start {
            self.record(t.elapsed());
        }
    }

    /// Adds one sample.
    pub fn record(&mut self, d: Duration) {
        if self.buf.len() == self.buf.capacity() {
            let mut keep = 0;
            for i in (1..self.buf.len()).step_by(2) {
                self.buf[keep] = self.buf[i];
                keep += 1;
            }
            self.buf.truncate(keep);
            if self.stride < 1 << 63 {
                self.stride *= 2;
            }
        }
        let ns = u32::try_from(d.as_nanos()).unwrap_or(u32::MAX);
        self.buf.push(ns);
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no sample was taken.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// `(p50, p95, p99)` in microseconds (zeros without samples). Sorts
    /// the samples in place.
    pub fn percentiles_us(&mut self) -> (f64, f64, f64) {
        if self.buf.is_empty() {
            return (0.0, 0.0, 0.0);
        }
        self.buf.sort_unstable();
        let at = |p: f64| {
            let n = self.buf.len();
            let idx = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            f64::from(self.buf[idx]) / 1000.0
        };
        (at(0.50), at(0.95), at(0.99))
    }
}

/// One benchmark operation: a call, a batch, a pipelined round, a pass of
/// lookups.
pub trait Workload {
    /// Performs one operation, checking every answer. Returns how many
    /// units it counts for throughput (calls or items).
    fn step(&mut self) -> CliResult<u64>;
}

/// A closure as a [`Workload`].
pub struct FnWorkload<F>(pub F);

impl<F: FnMut() -> CliResult<u64>> Workload for FnWorkload<F> {
    fn step(&mut self) -> CliResult<u64> {
        (self.0)()
    }
}

/// How long and how fast to run.
#[derive(Debug, Clone, Copy)]
pub struct RunOpts {
    /// Measured duration.
    pub duration: Duration,
    /// Operations per second; 0 = as fast as possible.
    pub target_rps: u64,
    /// Print a progress indicator (stdout is a terminal).
    pub progress: bool,
}

/// What a run measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Operations done.
    pub ops: u64,
    /// Units counted (calls or items).
    pub units: u64,
    /// Wall time of the measured loop.
    pub wall: Duration,
    /// CPU time of this process during the loop.
    pub cpu: Duration,
    /// Latency percentiles of one operation, microseconds.
    pub p50_us: f64,
    /// 95th percentile.
    pub p95_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
}

impl Measured {
    /// Units per second.
    pub fn throughput(&self) -> f64 {
        let s = self.wall.as_secs_f64();
        if s > 0.0 { self.units as f64 / s } else { 0.0 }
    }
}

/// Runs `w` for `opts.duration`, timing sampled operations.
pub fn drive(w: &mut dyn Workload, opts: &RunOpts) -> CliResult<Measured> {
    let mut sampler = Sampler::new(SAMPLE_CAPACITY);
    let interval =
        (opts.target_rps > 0).then(|| Duration::from_secs_f64(1.0 / opts.target_rps as f64));
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let deadline = t0 + opts.duration;
    let mut next_due = t0;
    let mut next_progress = t0 + Duration::from_millis(250);
    let (mut ops, mut units) = (0u64, 0u64);
    // The clock is read every `check_every` operations: more rarely for
    // fast operations.
    let (mut since_check, mut check_every, mut last_check) = (0u32, 1u32, t0);
    loop {
        if let Some(iv) = interval {
            let now = Instant::now();
            if now < next_due {
                std::thread::sleep(next_due - now);
            } else if now - next_due > Duration::from_secs(1) {
                // Far behind: do not burst to catch up.
                next_due = now;
            }
            next_due += iv;
        }
        let start = sampler.begin();
        units += w.step()?;
        sampler.end(start);
        ops += 1;
        since_check += 1;
        if since_check >= check_every {
            since_check = 0;
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if interval.is_none() && now - last_check < Duration::from_millis(1) {
                check_every = (check_every * 2).min(4096);
            }
            last_check = now;
            if opts.progress && now >= next_progress {
                next_progress = now + Duration::from_millis(250);
                let done = (now - t0).as_secs_f64();
                let mut out = std::io::stdout().lock();
                let _ = write!(
                    out,
                    "\r  {:>5.1}/{:.1} s  {:>12.0}/s",
                    done,
                    opts.duration.as_secs_f64(),
                    units as f64 / done.max(1e-9)
                );
                let _ = out.flush();
            }
        }
    }
    let wall = t0.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    if opts.progress {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r\x1b[K");
        let _ = out.flush();
    }
    let (p50_us, p95_us, p99_us) = sampler.percentiles_us();
    Ok(Measured {
        ops,
        units,
        wall,
        cpu,
        p50_us,
        p95_us,
        p99_us,
    })
}

/// Whether stdout is a terminal (progress and table output).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// The implementation name in result lines.
pub const IMPLEMENTATION: &str = "netipc";

/// The CSV header of result lines.
pub const CSV_HEADER: &str = "scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct";

/// One result line.
#[derive(Debug, Clone)]
pub struct BenchResult {
    /// Scenario name.
    pub scenario: String,
    /// Unit of throughput (`calls`, `items`, `lookups`).
    pub unit: &'static str,
    /// What was measured.
    pub measured: Measured,
}

impl BenchResult {
    /// Client CPU percentage.
    pub fn client_cpu_pct(&self) -> f64 {
        cpu_pct(self.measured.cpu, self.measured.wall)
    }

    /// The CSV line (server CPU `0.0`, total = client CPU).
    pub fn csv(&self) -> String {
        let m = &self.measured;
        let cpu = self.client_cpu_pct();
        format!(
            "{},{IMPLEMENTATION},{IMPLEMENTATION},{:.0},{:.3},{:.3},{:.3},{:.1},0.0,{:.1}",
            self.scenario,
            m.throughput(),
            m.p50_us,
            m.p95_us,
            m.p99_us,
            cpu,
            cpu
        )
    }

    /// One JSON object with the CSV fields and the raw counts.
    pub fn json(&self) -> serde_json::Value {
        let m = &self.measured;
        let r = |v: f64, d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
        json!({
            "scenario": self.scenario,
            "client": IMPLEMENTATION,
            "server": IMPLEMENTATION,
            "throughput": r(m.throughput(), 0),
            "unit": format!("{}/s", self.unit),
            "p50_us": r(m.p50_us, 3),
            "p95_us": r(m.p95_us, 3),
            "p99_us": r(m.p99_us, 3),
            "client_cpu_pct": r(self.client_cpu_pct(), 1),
            "server_cpu_pct": 0.0,
            "total_cpu_pct": r(self.client_cpu_pct(), 1),
            "operations": m.ops,
            "units": m.units,
            "duration_s": r(m.wall.as_secs_f64(), 3),
        })
    }

    /// A readable table (for a terminal).
    pub fn table(&self) -> String {
        let m = &self.measured;
        format!(
            "scenario     {}\nthroughput   {:.0} {}/s ({} operations in {:.2} s)\nlatency      p50 {:.3} us  p95 {:.3} us  p99 {:.3} us (per operation)\nclient cpu   {:.1} %\n",
            self.scenario,
            m.throughput(),
            self.unit,
            m.ops,
            m.wall.as_secs_f64(),
            m.p50_us,
            m.p95_us,
            m.p99_us,
            self.client_cpu_pct()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampler_decimates_and_percentiles() {
        let mut s = Sampler::new(8);
        for i in 1..=100u64 {
            let t = s.begin();
            if t.is_some() {
                s.record(Duration::from_micros(i));
            }
        }
        assert!(s.len() <= 8 && s.len() >= 4, "{}", s.len());
        let (p50, p95, p99) = s.percentiles_us();
        assert!(p50 > 20.0 && p50 < 80.0, "{p50}");
        assert!(p95 >= p50 && p99 >= p95);
        let mut e = Sampler::new(4);
        assert!(e.is_empty());
        assert_eq!(e.percentiles_us(), (0.0, 0.0, 0.0));
        let mut one = Sampler::new(4);
        one.record(Duration::from_micros(3));
        assert_eq!(one.percentiles_us(), (3.0, 3.0, 3.0));
    }

    struct Count(u64);
    impl Workload for Count {
        fn step(&mut self) -> CliResult<u64> {
            self.0 += 1;
            Ok(2)
        }
    }

    #[test]
    fn drive_runs_for_the_duration_and_paces() {
        let opts = RunOpts {
            duration: Duration::from_millis(100),
            target_rps: 0,
            progress: false,
        };
        let mut w = Count(0);
        let m = drive(&mut w, &opts).unwrap();
        assert_eq!(m.ops, w.0);
        assert_eq!(m.units, 2 * m.ops);
        assert!(m.wall >= Duration::from_millis(100));
        let paced = RunOpts {
            target_rps: 100,
            ..opts
        };
        let m = drive(&mut Count(0), &paced).unwrap();
        assert!(m.ops <= 15, "{}", m.ops);
        let r = BenchResult {
            scenario: "x".into(),
            unit: "calls",
            measured: m,
        };
        let csv = r.csv();
        assert_eq!(csv.split(',').count(), 10, "{csv}");
        assert!(csv.starts_with("x,netipc,netipc,"));
        assert_eq!(CSV_HEADER.split(',').count(), 10);
        assert!(r.json()["p99_us"].is_number());
        assert!(r.table().contains("throughput"));
    }
}
