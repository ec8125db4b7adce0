//! Credentials: what a user knows (password, recovery codes) and has (a TOTP authenticator).
//!
//! Pure functions over data: storage, lockout and audit live with the stores that call them;
//! [`blocking`] runs the Argon2id work off the async runtime for them.

pub mod blocking;
pub mod password;
pub mod recovery;
pub mod totp;
