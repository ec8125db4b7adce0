//! Load drivers: run an operation until the time budget or the op count runs out, timing every
//! call with `Instant`, after an untimed warm-up of the same operation.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::BenchError;

/// Longest a single operation may take before the benchmark is declared failed.
pub const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long and how much to run.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Timed phase.
    pub duration: Duration,
    /// Untimed phase before it (connections opened, caches and pools warm).
    pub warmup: Duration,
    /// Upper bound on timed operations, whatever the duration.
    pub max_ops: u64,
}

/// What a timed phase produced.
#[derive(Debug)]
pub struct Sample {
    elapsed: Duration,
    /// Per-operation latency in nanoseconds, sorted.
    latencies_ns: Vec<u32>,
}

/// The figures reported for one benchmark.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Figures {
    /// Operations timed.
    pub ops: u64,
    /// Operations per second of wall-clock time, all tasks together.
    pub ops_per_sec: f64,
    /// Median latency of one operation.
    pub p50_us: f64,
    /// 99th percentile latency of one operation.
    pub p99_us: f64,
    /// Bytes processed per second / 10^6, for throughput benchmarks.
    pub mb_per_sec: Option<f64>,
}

impl Sample {
    fn new(elapsed: Duration, mut latencies_ns: Vec<u32>) -> Self {
        latencies_ns.sort_unstable();
        Self { elapsed, latencies_ns }
    }

    /// Throughput and latency percentiles.
    pub fn figures(&self) -> Figures {
        let ops = self.latencies_ns.len() as u64;
        let secs = self.elapsed.as_secs_f64();
        Figures {
            ops,
            ops_per_sec: if secs > 0.0 { ops as f64 / secs } else { 0.0 },
            p50_us: self.percentile_us(0.50),
            p99_us: self.percentile_us(0.99),
            mb_per_sec: None,
        }
    }

    /// Nearest-rank percentile, in microseconds.
    fn percentile_us(&self, p: f64) -> f64 {
        let n = self.latencies_ns.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        f64::from(self.latencies_ns[rank - 1]) / 1_000.0
    }
}

/// Runs `tasks` concurrent loops, each calling its own operation from `make_op(task_index)`.
///
/// Every loop stops at the deadline or at its share of `budget.max_ops`; the first failed or
/// timed-out operation fails the whole run (an error must never inflate a throughput figure).
pub async fn concurrent<Op, Fut>(
    tasks: usize,
    budget: &Budget,
    mut make_op: impl FnMut(usize) -> Op,
) -> Result<Sample, BenchError>
where
    Op: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), BenchError>> + Send + 'static,
{
    let tasks = tasks.max(1);
    let per_task = (budget.max_ops / tasks as u64).max(1);
    let warmup_ops = (0..tasks).map(&mut make_op).collect();
    timed_phase(warmup_ops, budget.warmup, per_task).await?;
    let ops = (0..tasks).map(&mut make_op).collect();
    timed_phase(ops, budget.duration, per_task).await
}

async fn timed_phase<Op, Fut>(ops: Vec<Op>, duration: Duration, per_task: u64) -> Result<Sample, BenchError>
where
    Op: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), BenchError>> + Send + 'static,
{
    let started = Instant::now();
    let deadline = started + duration;
    let handles: Vec<_> = ops
        .into_iter()
        .map(|mut op| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_task.min(1 << 16) as usize);
                while (latencies.len() as u64) < per_task && Instant::now() < deadline {
                    let call = Instant::now();
                    match tokio::time::timeout(OP_TIMEOUT, op()).await {
                        Ok(result) => result?,
                        Err(_) => return Err(BenchError(format!("an operation took longer than {OP_TIMEOUT:?}"))),
                    }
                    latencies.push(nanos(call.elapsed()));
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await??);
    }
    Ok(Sample::new(started.elapsed(), latencies))
}

/// Runs `op` in a loop on this thread: warm-up, then the timed phase.
pub fn sequential(budget: &Budget, mut op: impl FnMut()) -> Sample {
    let warmup_deadline = Instant::now() + budget.warmup;
    let mut warmup_ops = 0;
    while warmup_ops < budget.max_ops && Instant::now() < warmup_deadline {
        op();
        warmup_ops += 1;
    }
    let started = Instant::now();
    let deadline = started + budget.duration;
    let mut latencies = Vec::with_capacity(budget.max_ops.min(1 << 20) as usize);
    while (latencies.len() as u64) < budget.max_ops && Instant::now() < deadline {
        let call = Instant::now();
        op();
        latencies.push(nanos(call.elapsed()));
    }
    Sample::new(started.elapsed(), latencies)
}

/// Saturates at ~4.3 s, far beyond any latency worth a percentile here.
fn nanos(d: Duration) -> u32 {
    u32::try_from(d.as_nanos()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sample = Sample::new(Duration::from_secs(1), (1..=100).rev().map(|us| us * 1_000).collect());
        let figures = sample.figures();
        assert_eq!(figures.ops, 100);
        assert!((figures.ops_per_sec - 100.0).abs() < 1e-9);
        assert!((figures.p50_us - 50.0).abs() < 1e-9);
        assert!((figures.p99_us - 99.0).abs() < 1e-9);
    }

    #[test]
    fn an_empty_sample_reports_zeros() {
        let figures = Sample::new(Duration::ZERO, Vec::new()).figures();
        assert_eq!((figures.ops, figures.ops_per_sec, figures.p99_us), (0, 0.0, 0.0));
    }

    #[test]
    fn sequential_stops_at_the_op_count() {
        let budget = Budget { duration: Duration::from_secs(60), warmup: Duration::ZERO, max_ops: 10 };
        let mut calls = 0;
        let sample = sequential(&budget, || calls += 1);
        assert_eq!(sample.figures().ops, 10);
        assert_eq!(calls, 10);
    }

    #[tokio::test]
    async fn concurrent_stops_at_the_op_count_and_fails_on_an_error() {
        let budget = Budget { duration: Duration::from_secs(60), warmup: Duration::ZERO, max_ops: 40 };
        let sample = concurrent(4, &budget, |_| || async { Ok(()) }).await;
        assert_eq!(sample.map(|s| s.figures().ops).ok(), Some(40));
        let failing = concurrent(2, &budget, |_| || async { Err(BenchError("boom".to_owned())) }).await;
        assert!(failing.is_err());
    }
}
