//! Figures beside their baselines: the table on stdout and `target/bench/results.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::measure::Figures;

/// Engine name of benchmarks that use neither server nor database.
pub const NO_ENGINE: &str = "none";

/// One benchmark's figures as measured (passed from the engine child processes as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Benchmark name.
    pub name: String,
    /// `sqlite`, `postgres` or `none`.
    pub engine: String,
    /// Baseline name; `None` for a baseline.
    pub baseline: Option<String>,
    /// What was measured.
    pub figures: Figures,
    /// Which round of a `--rounds` run (0 for the first); a figure is divided by its baseline of
    /// the same round.
    #[serde(default)]
    pub round: u32,
}

impl Measured {
    /// A measurement of `name` on `engine`, in the first round.
    pub fn new(name: &str, engine: &str, baseline: Option<&str>, figures: Figures) -> Self {
        Self {
            name: name.to_owned(),
            engine: engine.to_owned(),
            baseline: baseline.map(str::to_owned),
            figures,
            round: 0,
        }
    }

    /// The same measurement, as taken in round `round`.
    pub fn in_round(mut self, round: u32) -> Self {
        self.round = round;
        self
    }
}

/// A reported row: figures plus the ratio of its throughput to its baseline's, same engine.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    name: String,
    engine: String,
    ops_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    /// The baseline's name; a baseline names itself (ratio 1).
    baseline: String,
    /// `ops_per_sec / baseline ops_per_sec`; `null` if the baseline did not run.
    ratio: Option<f64>,
    /// Operations timed.
    ops: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    mb_per_sec: Option<f64>,
    /// Rounds measured; the figures above are the median round's (by ratio, or by ops/s for a
    /// baseline).
    rounds: usize,
    /// Lowest and highest ratio over the rounds, when there was more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio_range: Option<[f64; 2]>,
}

/// Pairs every measurement with its baseline from the same engine and round, then reports each
/// benchmark once per engine: its median round, with the range of its ratios.
pub fn compare(measured: &[Measured]) -> Vec<BenchResult> {
    let paired: Vec<BenchResult> = measured.iter().map(|m| paired_with_baseline(m, measured)).collect();
    let mut results: Vec<BenchResult> = Vec::new();
    for first in &paired {
        if results.iter().any(|r| r.name == first.name && r.engine == first.engine) {
            continue;
        }
        let mut rounds: Vec<&BenchResult> =
            paired.iter().filter(|r| r.name == first.name && r.engine == first.engine).collect();
        // Sorted by ratio; a baseline's ratio is 1 every round, so by its throughput instead.
        rounds.sort_by(|a, b| {
            let key = |r: &BenchResult| (r.ratio.unwrap_or(f64::NEG_INFINITY), r.ops_per_sec);
            key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal)
        });
        let ratios: Vec<f64> = rounds.iter().filter_map(|r| r.ratio).collect();
        let mut median = rounds[(rounds.len() - 1) / 2].clone();
        median.rounds = rounds.len();
        median.ratio_range = match (ratios.first(), ratios.last()) {
            (Some(low), Some(high)) if rounds.len() > 1 => Some([*low, *high]),
            _ => None,
        };
        results.push(median);
    }
    results
}

/// `m` beside the throughput of its baseline from the same engine and round.
fn paired_with_baseline(m: &Measured, measured: &[Measured]) -> BenchResult {
    let (baseline, ratio) = match &m.baseline {
        None => (m.name.clone(), Some(1.0)),
        Some(base) => {
            let base_ops = measured
                .iter()
                .find(|b| &b.name == base && b.engine == m.engine && b.round == m.round)
                .map(|b| b.figures.ops_per_sec)
                .filter(|ops| *ops > 0.0);
            (base.clone(), base_ops.map(|b| round(m.figures.ops_per_sec / b, 3)))
        }
    };
    BenchResult {
        name: m.name.clone(),
        engine: m.engine.clone(),
        ops_per_sec: round(m.figures.ops_per_sec, 1),
        p50_us: round(m.figures.p50_us, 3),
        p99_us: round(m.figures.p99_us, 3),
        baseline,
        ratio,
        ops: m.figures.ops,
        mb_per_sec: m.figures.mb_per_sec.map(|mb| round(mb, 1)),
        rounds: 1,
        ratio_range: None,
    }
}

/// One line on stderr as each benchmark finishes, so a long run shows progress.
pub fn progress(m: &Measured) {
    let f = &m.figures;
    eprintln!(
        "  {:<8} {:<18} {:>12.1} ops/s  p50 {:>9} µs  p99 {:>9} µs  ({} ops)",
        m.engine,
        m.name,
        f.ops_per_sec,
        micros(f.p50_us),
        micros(f.p99_us),
        f.ops
    );
}

/// Three decimals below 10 µs (in-memory operations), one above.
fn micros(us: f64) -> String {
    if us < 10.0 { format!("{us:.3}") } else { format!("{us:.1}") }
}

/// The results table on stdout.
pub fn print_table(results: &[BenchResult]) {
    println!(
        "\n{:<18} {:<8} {:>12} {:>10} {:>10}  {:<18} {:>7}  rounds",
        "name", "engine", "ops/s", "p50 µs", "p99 µs", "baseline", "ratio"
    );
    println!("{}", "-".repeat(104));
    for r in results {
        let baseline = if r.baseline == r.name { "(is baseline)" } else { r.baseline.as_str() };
        let ratio = r.ratio.map_or_else(|| "-".to_owned(), |x| format!("{x:.3}"));
        let rounds = match r.ratio_range {
            Some([low, high]) => format!("{} ({low:.3}-{high:.3})", r.rounds),
            None => r.rounds.to_string(),
        };
        println!(
            "{:<18} {:<8} {:>12.1} {:>10} {:>10}  {:<18} {:>7}  {}",
            r.name,
            r.engine,
            r.ops_per_sec,
            micros(r.p50_us),
            micros(r.p99_us),
            baseline,
            ratio,
            rounds
        );
    }
    for r in results {
        if let Some(mb) = r.mb_per_sec {
            println!("{} ({}): {mb:.1} MB/s", r.name, r.engine);
        }
    }
}

#[derive(Serialize)]
struct Machine {
    cores: usize,
    os: &'static str,
    arch: &'static str,
}

#[derive(Serialize)]
struct Settings {
    duration_secs: f64,
    concurrency: usize,
    rounds: u32,
}

#[derive(Serialize)]
struct Report<'a> {
    run_at: String,
    machine: Machine,
    settings: Settings,
    results: &'a [BenchResult],
}

/// Writes the report to `path`, creating its directory.
pub fn write_json(
    path: &Path,
    results: &[BenchResult],
    duration_secs: f64,
    concurrency: usize,
    rounds: u32,
) -> Result<(), BenchError> {
    let report = Report {
        run_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        machine: Machine { cores: cores(), os: std::env::consts::OS, arch: std::env::consts::ARCH },
        settings: Settings { duration_secs, concurrency, rounds },
        results,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
    Ok(())
}

/// Cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(ops_per_sec: f64) -> Figures {
        Figures { ops: 1, ops_per_sec, p50_us: 1.0, p99_us: 2.0, mb_per_sec: None }
    }

    #[test]
    fn ratios_divide_by_the_baseline_of_the_same_engine() {
        let measured = [
            Measured::new("raw_insert", "sqlite", None, figures(1000.0)),
            Measured::new("raw_insert", "postgres", None, figures(4000.0)),
            Measured::new("outbox_write", "sqlite", Some("raw_insert"), figures(500.0)),
            Measured::new("outbox_write", "postgres", Some("raw_insert"), figures(1000.0)),
            Measured::new("orphan", "sqlite", Some("missing"), figures(1.0)),
        ];
        let ratios: Vec<_> = compare(&measured).iter().map(|r| (r.baseline.clone(), r.ratio)).collect();
        assert_eq!(ratios[0], ("raw_insert".to_owned(), Some(1.0)));
        assert_eq!(ratios[2], ("raw_insert".to_owned(), Some(0.5)));
        assert_eq!(ratios[3], ("raw_insert".to_owned(), Some(0.25)));
        assert_eq!(ratios[4], ("missing".to_owned(), None));
        assert!(compare(&measured).iter().all(|r| r.rounds == 1 && r.ratio_range.is_none()));
    }

    #[test]
    fn rounds_divide_by_their_own_baseline_and_report_the_median_round() {
        let measured = [
            Measured::new("raw_select", "postgres", None, figures(10_000.0)),
            Measured::new("get", "postgres", Some("raw_select"), figures(4_000.0)),
            Measured::new("raw_select", "postgres", None, figures(20_000.0)).in_round(1),
            Measured::new("get", "postgres", Some("raw_select"), figures(9_000.0)).in_round(1),
            Measured::new("raw_select", "postgres", None, figures(8_000.0)).in_round(2),
            Measured::new("get", "postgres", Some("raw_select"), figures(4_800.0)).in_round(2),
        ];
        let results = compare(&measured);
        assert_eq!(results.len(), 2);
        // Rounds' ratios 0.4, 0.45 and 0.6: a ratio across rounds (9,000 / 10,000) is never used.
        let get = &results[1];
        assert_eq!((get.name.as_str(), get.ratio, get.ops_per_sec), ("get", Some(0.45), 9_000.0));
        assert_eq!((get.rounds, get.ratio_range), (3, Some([0.4, 0.6])));
        let baseline = &results[0];
        assert_eq!((baseline.ops_per_sec, baseline.rounds, baseline.ratio_range), (10_000.0, 3, Some([1.0, 1.0])));
    }
}
