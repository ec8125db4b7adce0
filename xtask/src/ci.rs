//! `cargo xtask ci` and `cargo xtask test`: lint, then the test suite on each database engine.

use crate::step::{self, Failure, Step};

/// Names the PostgreSQL server the tests create their databases beside (read by `listone-testkit`).
pub const TEST_DATABASE_URL_ENV: &str = "LISTONE_TEST_DATABASE_URL";
/// Used when `LISTONE_TEST_DATABASE_URL` is not set: the local server CI starts.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// `ci [--skip-lint] [--skip-postgres]`.
pub fn ci(flags: &[String]) -> Result<(), Failure> {
    let (mut skip_lint, mut skip_postgres) = (false, false);
    for flag in flags {
        match flag.as_str() {
            "--skip-lint" => skip_lint = true,
            "--skip-postgres" => skip_postgres = true,
            other => return Err(Failure::Usage(format!("unknown flag `{other}` for `ci`"))),
        }
    }
    let mut steps = Vec::new();
    if !skip_lint {
        steps.push(Step::cargo("format check", &["fmt", "--all", "--", "--check"]));
        steps.push(Step::cargo("clippy", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]));
    }
    steps.extend(test_steps(!skip_postgres));
    step::run_all(&steps)
}

/// `test [--postgres]`.
pub fn test(flags: &[String]) -> Result<(), Failure> {
    let mut postgres = false;
    for flag in flags {
        match flag.as_str() {
            "--postgres" => postgres = true,
            other => return Err(Failure::Usage(format!("unknown flag `{other}` for `test`"))),
        }
    }
    step::run_all(&test_steps(postgres))
}

/// The workspace tests on SQLite, then (if asked) on PostgreSQL.
fn test_steps(postgres: bool) -> Vec<Step> {
    let test = ["test", "--workspace"];
    let mut steps =
        vec![Step::cargo("tests on SQLite", &test).env_remove(TEST_DATABASE_URL_ENV).env("RUST_BACKTRACE", "1")];
    if postgres {
        let url = std::env::var(TEST_DATABASE_URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
        steps.push(
            Step::cargo("tests on PostgreSQL", &test).env(TEST_DATABASE_URL_ENV, &url).env("RUST_BACKTRACE", "1"),
        );
    }
    steps
}
