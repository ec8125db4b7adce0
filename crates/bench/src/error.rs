//! The benchmark binary's one error: a message saying what failed, for the operator.

use std::fmt;

/// A benchmark could not run or produced no figures.
#[derive(Debug)]
pub struct BenchError(pub String);

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

macro_rules! from_error {
    ($($source:ty => $what:literal),* $(,)?) => {
        $(impl From<$source> for BenchError {
            fn from(e: $source) -> Self {
                BenchError(format!(concat!($what, ": {}"), e))
            }
        })*
    };
}

from_error! {
    tonic::Status => "gRPC call failed",
    tonic::transport::Error => "gRPC transport",
    sea_orm::DbErr => "database",
    listone_core::Error => "platform",
    std::io::Error => "i/o",
    serde_json::Error => "JSON",
    tokio::task::JoinError => "benchmark task",
}
