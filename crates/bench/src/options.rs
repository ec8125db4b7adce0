//! The command line of `listone-bench`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use listone_core::Engine;
use listone_testkit::TEST_DATABASE_URL_ENV;

use crate::measure::Budget;

/// PostgreSQL used when nothing else is named and it answers.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Timed phase of each benchmark.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
/// Timed phase with `--quick`.
pub const QUICK_DURATION: Duration = Duration::from_secs(1);
/// Concurrent client tasks in the server and database benchmarks.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Most rounds `--rounds` accepts.
pub const MAX_ROUNDS: u32 = 20;
/// Upper bound on timed operations per benchmark, whatever the duration.
pub const MAX_OPS: u64 = 8_000_000;

/// Usage text.
pub const USAGE: &str = "\
usage: listone-bench [--quick] [--duration SECS] [--concurrency N] [--rounds N]
                     [--only NAME,...] [--postgres-url URL | --no-postgres] [--out PATH]

  --quick            1 s per benchmark instead of 5 s
  --duration SECS    timed phase per benchmark (after a warm-up of a fifth of it)
  --concurrency N    concurrent client tasks (default 16)
  --rounds N         run the selection N times over (default 1), each figure beside its
                     baseline of the same round; reports the median round's ratio and the range
  --only NAME,...    only these benchmarks (and the baselines they are divided by)
  --postgres-url URL run the PostgreSQL pass there (default: LISTONE_TEST_DATABASE_URL, else
                     postgres://postgres@127.0.0.1:5432/postgres if it answers)
  --no-postgres      SQLite only
  --out PATH         JSON results (default target/bench/results.json in the workspace)";

/// Whether and where to run the PostgreSQL pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresTarget {
    /// The default URL, if something answers on 127.0.0.1:5432; skipped with a note otherwise.
    Auto,
    /// Named explicitly: a failure is an error.
    Url(String),
    /// Skipped.
    Off,
}

/// Why the command line was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum UsageError {
    /// `--help`.
    Help,
    /// Something wrong, said in a line.
    Invalid(String),
}

/// Parsed options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timed phase per benchmark.
    pub duration: Duration,
    /// Concurrent client tasks.
    pub concurrency: usize,
    /// Times the selection runs over (baseline and figure again each round).
    pub rounds: u32,
    /// The PostgreSQL pass.
    pub postgres: PostgresTarget,
    /// Where the JSON goes.
    pub out: PathBuf,
    /// Benchmarks to run (with their baselines); empty runs every one.
    pub only: Vec<String>,
    /// Set in the child processes this binary starts: run one engine's pass, print JSON.
    pub engine_pass: Option<Engine>,
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, UsageError> {
        let mut options = Options {
            duration: DEFAULT_DURATION,
            concurrency: DEFAULT_CONCURRENCY,
            rounds: 1,
            postgres: std::env::var(TEST_DATABASE_URL_ENV)
                .ok()
                .filter(|u| !u.trim().is_empty())
                .map_or(PostgresTarget::Auto, PostgresTarget::Url),
            out: workspace_root().join("target/bench/results.json"),
            only: Vec::new(),
            engine_pass: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value =
                |flag: &str| args.next().ok_or_else(|| UsageError::Invalid(format!("{flag} needs a value")));
            match arg.as_str() {
                "--quick" => options.duration = QUICK_DURATION,
                "--duration" => options.duration = parse_duration(&value("--duration")?)?,
                "--concurrency" => {
                    options.concurrency = value("--concurrency")?
                        .parse()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| UsageError::Invalid("--concurrency must be 1 to 1024".to_owned()))?;
                }
                "--rounds" => {
                    options.rounds = value("--rounds")?
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_ROUNDS).contains(n))
                        .ok_or_else(|| UsageError::Invalid(format!("--rounds must be 1 to {MAX_ROUNDS}")))?;
                }
                "--only" => {
                    options.only = value("--only")?
                        .split(',')
                        .map(str::trim)
                        .filter(|name| !name.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                "--postgres-url" => options.postgres = PostgresTarget::Url(value("--postgres-url")?),
                "--no-postgres" => options.postgres = PostgresTarget::Off,
                "--out" => options.out = PathBuf::from(value("--out")?),
                "--engine-pass" => {
                    options.engine_pass = Some(match value("--engine-pass")?.as_str() {
                        "sqlite" => Engine::Sqlite,
                        "postgres" => Engine::Postgres,
                        other => return Err(UsageError::Invalid(format!("unknown engine `{other}`"))),
                    });
                }
                "-h" | "--help" => return Err(UsageError::Help),
                other => return Err(UsageError::Invalid(format!("unknown argument `{other}`"))),
            }
        }
        Ok(options)
    }

    /// Duration, warm-up (a fifth of the duration) and op cap of every benchmark.
    pub fn budget(&self) -> Budget {
        Budget { duration: self.duration, warmup: self.duration / 5, max_ops: MAX_OPS }
    }

    /// The arguments that make a child process run `engine`'s pass with these settings.
    pub fn engine_pass_args(&self, engine: Engine) -> Vec<String> {
        let mut args = vec![
            "--engine-pass".to_owned(),
            engine.name().to_owned(),
            "--duration".to_owned(),
            self.duration.as_secs_f64().to_string(),
            "--concurrency".to_owned(),
            self.concurrency.to_string(),
            "--rounds".to_owned(),
            self.rounds.to_string(),
        ];
        if !self.only.is_empty() {
            args.extend(["--only".to_owned(), self.only.join(",")]);
        }
        args
    }
}

fn parse_duration(text: &str) -> Result<Duration, UsageError> {
    text.parse::<f64>()
        .ok()
        .filter(|s| (0.01..=3600.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| UsageError::Invalid("--duration must be 0.01 to 3600 seconds".to_owned()))
}

/// The workspace root (two levels above this crate), wherever the binary is run from.
pub fn workspace_root() -> &'static Path {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.ancestors().nth(2).unwrap_or(manifest_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, UsageError> {
        Options::parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn quick_shortens_the_duration_and_engine_pass_args_round_trip() {
        let options = parse(&["--quick", "--concurrency", "8", "--no-postgres"]).ok();
        let options = options.as_ref();
        assert_eq!(options.map(|o| o.duration), Some(QUICK_DURATION));
        assert_eq!(options.map(|o| o.postgres.clone()), Some(PostgresTarget::Off));
        let child_args = options.map(|o| o.engine_pass_args(Engine::Postgres)).unwrap_or_default();
        let child = Options::parse(child_args).ok();
        assert_eq!(child.as_ref().and_then(|c| c.engine_pass), Some(Engine::Postgres));
        assert_eq!(child.as_ref().map(|c| (c.duration, c.concurrency, c.rounds)), Some((QUICK_DURATION, 8, 1)));
    }

    #[test]
    fn only_names_are_split_and_passed_to_the_engine_passes() {
        let options = parse(&["--only", "oidc_jwt_verify_es256, grpc_empty_call,"]).ok();
        let only = options.as_ref().map(|o| o.only.clone()).unwrap_or_default();
        assert_eq!(only, ["oidc_jwt_verify_es256", "grpc_empty_call"]);
        let child_args = options.map(|o| o.engine_pass_args(Engine::Sqlite)).unwrap_or_default();
        assert_eq!(Options::parse(child_args).ok().map(|c| c.only), Some(only));
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(parse(&["--fast"]).err(), Some(UsageError::Invalid("unknown argument `--fast`".to_owned())));
        assert!(matches!(parse(&["--duration"]), Err(UsageError::Invalid(_))));
        assert!(matches!(parse(&["--concurrency", "0"]), Err(UsageError::Invalid(_))));
        assert!(matches!(parse(&["--rounds", "0"]), Err(UsageError::Invalid(_))));
        assert!(matches!(parse(&["--rounds", "21"]), Err(UsageError::Invalid(_))));
        let rounds = parse(&["--rounds", "3"]).ok().map(|o| Options::parse(o.engine_pass_args(Engine::Sqlite)));
        assert_eq!(rounds.and_then(Result::ok).map(|c| c.rounds), Some(3));
        assert_eq!(parse(&["--help"]).err(), Some(UsageError::Help));
    }
}
