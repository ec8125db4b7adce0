//! `cargo xtask bench`: the benchmark binary, always in release mode.

use crate::step::{Failure, Step};

/// `bench [flags]`: every flag (`--quick`, `--postgres-url URL`, ...) goes to `listone-bench`.
pub fn bench(flags: &[String]) -> Result<(), Failure> {
    Step::cargo("benchmarks", &["run", "--release", "-p", "listone-bench", "--"]).args(flags).run()
}
