//! `listone-bench`: every figure beside a baseline measured in the same run, as a ratio.
//!
//! The server and database benchmarks ([`catalog::ENGINE_BENCHES`]) run against the in-process
//! server over a fresh migrated database, once on SQLite and once on PostgreSQL, each pass in a
//! child process of this binary ([`engines`]). Machine-only baselines ([`catalog::CPU_BENCHES`])
//! run here. The table goes to stdout, progress to stderr, everything to
//! `target/bench/results.json`. Run it with `cargo xtask bench`; see `docs/benchmarks.md`.

mod access;
mod audit;
mod catalog;
mod engines;
mod error;
mod grpc;
mod identity;
mod measure;
mod oidc;
mod options;
mod records;
mod report;
mod sha256;
mod storage;

use std::process::ExitCode;

use catalog::CPU_BENCHES;
use error::BenchError;
use listone_core::Engine;
use options::{DEFAULT_POSTGRES_URL, Options, PostgresTarget, USAGE, UsageError};
use report::{Measured, NO_ENGINE};

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(UsageError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(UsageError::Invalid(reason)) => {
            eprintln!("listone-bench: {reason}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = match options.engine_pass {
        Some(engine) => engine_pass(engine, &options),
        None => run(&options),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("listone-bench: {e}");
            ExitCode::from(1)
        }
    }
}

/// The parent: machine baselines, the SQLite pass, the PostgreSQL pass, then the report.
fn run(options: &Options) -> Result<(), BenchError> {
    let budget = options.budget();
    eprintln!(
        "listone-bench: {} cores; each benchmark {:.1} s after {:.1} s warm-up; {} concurrent clients; {} round(s)",
        report::cores(),
        budget.duration.as_secs_f64(),
        budget.warmup.as_secs_f64(),
        options.concurrency,
        options.rounds
    );
    if let Some(unknown) = options.only.iter().find(|name| !catalog::exists(name)) {
        return Err(BenchError(format!("--only: no benchmark is called `{unknown}`")));
    }
    let mut measured = Vec::new();
    for round in 0..options.rounds {
        for bench in CPU_BENCHES.iter().filter(|b| catalog::selected(&options.only, b.name)) {
            let figures = (bench.run)(&budget)?;
            let result = Measured::new(bench.name, NO_ENGINE, bench.baseline, figures).in_round(round);
            report::progress(&result);
            measured.push(result);
        }
    }
    measured.extend(engines::run_in_child(Engine::Sqlite, None, options)?);
    match &options.postgres {
        PostgresTarget::Off => eprintln!("PostgreSQL pass skipped (--no-postgres)"),
        PostgresTarget::Url(url) => measured.extend(engines::run_in_child(Engine::Postgres, Some(url), options)?),
        PostgresTarget::Auto if engines::local_postgres_answers() => {
            match engines::run_in_child(Engine::Postgres, Some(DEFAULT_POSTGRES_URL), options) {
                Ok(pass) => measured.extend(pass),
                Err(e) => eprintln!("warning: {e}; reporting without PostgreSQL (name one with --postgres-url)"),
            }
        }
        PostgresTarget::Auto => {
            eprintln!("PostgreSQL pass skipped: nothing answers on 127.0.0.1:5432 (name one with --postgres-url)")
        }
    }
    let results = report::compare(&measured);
    report::print_table(&results);
    report::write_json(&options.out, &results, options.duration.as_secs_f64(), options.concurrency, options.rounds)?;
    println!("\nresults written to {}", options.out.display());
    Ok(())
}

/// A child: one engine's pass, its measurements as JSON on stdout.
fn engine_pass(engine: Engine, options: &Options) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let measured = runtime.block_on(engines::run_pass(engine, options))?;
    serde_json::to_writer(std::io::stdout().lock(), &measured)?;
    Ok(())
}
