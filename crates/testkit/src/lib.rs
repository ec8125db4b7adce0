//! Test harness: a fresh database per test and the in-process server on an ephemeral port.
//!
//! - [`TestDatabase`]: a migrated temp SQLite file, or, when `LISTONE_TEST_DATABASE_URL` is set,
//!   a fresh PostgreSQL database created beside the one that URL names (dropped afterwards).
//! - [`TestServer`]: `listone` serving on `127.0.0.1:0` over that database with a [`TestClock`],
//!   with typed gRPC clients ready to use.
//!
//! A harness failure panics with a message: it is test infrastructure, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server;
mod tokens;

pub use listone_core::TestClock;
pub use listone_testdb::{TEST_DATABASE_URL_ENV, TestDatabase};
pub use server::{TestServer, TestServerOptions};
pub use tokens::{StaticTokens, authed};
