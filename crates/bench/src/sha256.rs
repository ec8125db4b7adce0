//! SHA-256 (`ring`) over 1 KiB buffers on one thread: the floor every audit-log benchmark
//! (leaf and node hashing) will be compared against.

use ring::digest::{SHA256, digest};

use crate::error::BenchError;
use crate::measure::{self, Budget, Figures};

/// Bytes hashed per operation.
pub const BUFFER_BYTES: usize = 1024;

/// One `digest(SHA256, 1 KiB)` per operation.
pub fn raw_sha256(budget: &Budget) -> Result<Figures, BenchError> {
    let buffer: Vec<u8> = (0..BUFFER_BYTES).map(|i| (i % 251) as u8).collect();
    let sample = measure::sequential(budget, || {
        std::hint::black_box(digest(&SHA256, std::hint::black_box(&buffer)));
    });
    let mut figures = sample.figures();
    figures.mb_per_sec = Some(figures.ops_per_sec * BUFFER_BYTES as f64 / 1e6);
    Ok(figures)
}
