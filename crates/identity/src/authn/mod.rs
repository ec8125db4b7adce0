//! Sign-in: a password check throttled per account and per IP with constant-cost checks for
//! unknown users, then, when a second factor is due, an MFA step; a session once both pass. Every
//! attempt is audited (`identity.signin`, `identity.signin.mfa`; the audit detection rules count
//! the failures).
//!
//! - [`password`]: [`PasswordSignIn`] and its `sign_in`, which answers a [`SignInOutcome`].
//! - [`mfa_step`]: `complete_mfa` with a TOTP or recovery code, and enrolment during sign-in
//!   when the org requires MFA.
//! - [`challenge`]: the pending MFA steps ([`MfaPending`]): single-use, short-lived, few attempts.
//! - [`outcome`]: [`SignedIn`], [`SignInOutcome`], [`EnrolledSignIn`].
//! - [`counters`]: the stored [`crate::signin::FailureCounter`]s.

pub mod challenge;
pub mod counters;
pub mod mfa_step;
pub mod outcome;
pub mod password;

pub use challenge::{MAX_MFA_ATTEMPTS, MFA_CHALLENGE_TTL, MfaPending};
pub use mfa_step::MFA_STEP_ACTION;
pub use outcome::{EnrolledSignIn, SignInOutcome, SignedIn};
pub use password::{LOCKOUT_ACTION, PasswordSignIn, SIGNIN_ACTION};
