//! Credentials: what a user knows (password, recovery codes) and has (a TOTP authenticator).
//!
//! Pure functions over data: storage, lockout and audit live with the stores that call them.

pub mod password;
pub mod recovery;
pub mod totp;
