//! `cargo xtask`: project tasks that run the same way on a laptop and in CI.
//!
//! - `ci`: format check, clippy, then the tests on SQLite and on PostgreSQL.
//! - `test`: only the test runs.
//! - `bench`: the benchmark binary in release mode (see `docs/benchmarks.md`).
//!
//! Deliberately dependency-free: every task is a sequence of [`step::Step`]s run with
//! `std::process::Command`, stopping at the first failure.

mod bench;
mod ci;
mod step;

use std::process::ExitCode;

use step::Failure;

const USAGE: &str = "\
usage: cargo xtask <command> [flags]

commands:
  ci [--skip-lint] [--skip-postgres]
        cargo fmt --check, cargo clippy -D warnings, cargo test on SQLite,
        then cargo test on PostgreSQL (LISTONE_TEST_DATABASE_URL, default
        postgres://postgres@127.0.0.1:5432/postgres)
  test [--postgres]
        cargo test on SQLite; with --postgres also on PostgreSQL
  bench [--quick] [other listone-bench flags]
        cargo run --release -p listone-bench -- <flags>; results in
        target/bench/results.json
  help
        this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, flags)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let outcome = match command.as_str() {
        "ci" => ci::ci(flags),
        "test" => ci::test(flags),
        "bench" => bench::bench(flags),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Failure::Usage(format!("unknown command `{other}`"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(reason)) => {
            eprintln!("xtask: {reason}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(failure) => {
            eprintln!("\nxtask: {failure}");
            ExitCode::from(1)
        }
    }
}
