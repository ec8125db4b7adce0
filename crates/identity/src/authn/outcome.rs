//! What a sign-in step hands back: a session, or the MFA step still due.

use listone_core::Secret;

use super::challenge::MfaPending;
use crate::session::Session;

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The new session.
    pub session: Session,
    /// Its token, shown once.
    pub token: Secret<String>,
}

/// The result of a correct password.
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    /// No second factor is due: a session is open.
    SignedIn(SignedIn),
    /// The user has a confirmed authenticator: present a code with
    /// [`super::PasswordSignIn::complete_mfa`] before the step expires.
    MfaRequired(MfaPending),
    /// The org requires MFA and the user has none: enrol with
    /// [`super::PasswordSignIn::begin_enrolment_with_challenge`], then confirm with
    /// [`super::PasswordSignIn::complete_enrolment_with_challenge`], which opens the session.
    MfaEnrolmentRequired(MfaPending),
}

impl SignInOutcome {
    /// The session, when no MFA step is due.
    pub fn signed_in(self) -> Option<SignedIn> {
        match self {
            SignInOutcome::SignedIn(signed_in) => Some(signed_in),
            SignInOutcome::MfaRequired(_) | SignInOutcome::MfaEnrolmentRequired(_) => None,
        }
    }

    /// The pending MFA step, when one is due.
    pub fn mfa_pending(&self) -> Option<&MfaPending> {
        match self {
            SignInOutcome::SignedIn(_) => None,
            SignInOutcome::MfaRequired(pending) | SignInOutcome::MfaEnrolmentRequired(pending) => Some(pending),
        }
    }
}

/// A sign-in that enrolled MFA on the way: the session, and the recovery codes to show once.
#[derive(Debug, Clone)]
pub struct EnrolledSignIn {
    /// The new session.
    pub signed_in: SignedIn,
    /// Ten single-use recovery codes, shown once.
    pub recovery_codes: Vec<Secret<String>>,
}
