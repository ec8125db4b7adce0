//! Password sign-in: throttling per account and per IP, constant-cost checks for unknown users,
//! a session on success, and an `identity.signin` audit entry for every attempt (the audit
//! detection rules count the failures).
//!
//! - [`counters`]: the stored [`crate::signin::FailureCounter`]s.
//! - [`password`]: the sign-in itself, [`PasswordSignIn`].

pub mod counters;
pub mod password;

pub use password::{PasswordSignIn, SignedIn};
