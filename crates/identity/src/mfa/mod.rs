//! Multi-factor authentication: TOTP authenticators (RFC 6238) and single-use recovery codes.
//!
//! A user begins an enrolment (a fresh secret, sealed under the org key, shown once as an
//! `otpauth://` URI), confirms it with a first code and receives ten recovery codes (stored as
//! Argon2id hashes only). Sign-in then asks for a code: see [`crate::authn`].
//!
//! - [`store`]: [`MfaStore`]: begin, confirm, disable, regenerate recovery codes, status; audited.
//! - `enrolment`: the sealed `user_mfa` row and its replay guard (`last_step`).
//! - `recovery_codes`: the `user_recovery_code` rows.

pub(crate) mod enrolment;
pub(crate) mod recovery_codes;
pub mod store;

pub use store::{MfaCode, MfaStatus, MfaStore, TOTP_ISSUER, TotpEnrolment};
