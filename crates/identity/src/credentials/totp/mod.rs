//! RFC 6238 time-based one-time passwords: RFC 4226 HOTP over a time step, HMAC from `ring`.

use std::num::NonZeroU64;

use listone_core::{Error, Secret};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ring::hmac;

mod secret;

pub use secret::TotpSecret;

/// RFC 3986 unreserved characters stay as they are in an `otpauth://` URI; all else is escaped.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Largest drift window [`Totp::verify`] honours, in steps either side of now.
pub const MAX_WINDOW_STEPS: u64 = 10;
/// Steps either side of now accepted by default: one (±30 s) for clock drift and typing time.
pub const DEFAULT_WINDOW_STEPS: u64 = 1;

/// Longest input worth normalising; anything longer is malformed without further work.
const MAX_CODE_INPUT_BYTES: usize = 32;

/// Why a one-time code or TOTP secret was refused. Messages carry neither codes nor secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The input is not exactly the configured number of ASCII digits.
    #[error("one-time code must be {digits} digits")]
    Malformed {
        /// Digits expected (6 or 8).
        digits: u32,
    },
    /// The code matches no step in the window.
    #[error("one-time code does not match")]
    Mismatch,
    /// The code matches a step at or before the last one used: a replay.
    #[error("one-time code was already used")]
    Replayed,
    /// The secret is malformed or too short.
    #[error("TOTP secret is invalid: {reason}")]
    InvalidSecret {
        /// The rule that failed.
        reason: &'static str,
    },
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Random,
}

/// The one answer to a wrong or replayed one-time code (TOTP or recovery code).
pub const WRONG_CODE_MESSAGE: &str = "invalid one-time code";

/// Whether `error` says a one-time code was wrong (the step itself is still usable), as opposed
/// to an expired or spent sign-in step, which means signing in again.
pub fn is_wrong_code(error: &Error) -> bool {
    matches!(error, Error::Unauthenticated { message } if message == WRONG_CODE_MESSAGE)
        || matches!(error, Error::InvalidArgument { violations } if violations.iter().any(|v| v.field == "code"))
}

impl From<TotpError> for Error {
    fn from(err: TotpError) -> Self {
        match err {
            TotpError::Malformed { .. } => Error::invalid("code", err.to_string()),
            // Same answer for both: the difference goes to the audit log, not the client.
            TotpError::Mismatch | TotpError::Replayed => {
                Error::Unauthenticated { message: WRONG_CODE_MESSAGE.to_owned() }
            }
            TotpError::InvalidSecret { reason } => Error::invalid("totp_secret", reason),
            TotpError::Random => Error::internal("random number generator failed"),
        }
    }
}

/// The HMAC behind the codes. SHA-1 is the default every authenticator app supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TotpAlgorithm {
    /// HMAC-SHA1 (RFC 6238 default; HMAC-SHA1 remains sound for this use).
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl TotpAlgorithm {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            TotpAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            TotpAlgorithm::Sha256 => hmac::HMAC_SHA256,
            TotpAlgorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }

    /// The name used in `otpauth://` URIs.
    pub fn uri_name(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }
}

/// Code length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TotpDigits {
    /// Six digits (the default).
    #[default]
    Six,
    /// Eight digits.
    Eight,
}

impl TotpDigits {
    /// Number of digits.
    pub fn count(self) -> u32 {
        match self {
            TotpDigits::Six => 6,
            TotpDigits::Eight => 8,
        }
    }
}

/// One user's TOTP authenticator: a secret plus algorithm, digits and step.
#[derive(Debug, Clone)]
pub struct Totp {
    secret: TotpSecret,
    algorithm: TotpAlgorithm,
    digits: TotpDigits,
    step_secs: NonZeroU64,
}

impl Totp {
    /// RFC 6238 default time step: 30 seconds.
    pub const DEFAULT_STEP_SECS: NonZeroU64 = match NonZeroU64::new(30) {
        Some(step) => step,
        None => panic!("30 is not zero"),
    };

    /// HMAC-SHA1, 6 digits, 30-second steps: what every authenticator app understands.
    pub fn new(secret: TotpSecret) -> Self {
        Self {
            secret,
            algorithm: TotpAlgorithm::default(),
            digits: TotpDigits::default(),
            step_secs: Self::DEFAULT_STEP_SECS,
        }
    }

    /// Uses another HMAC.
    pub fn with_algorithm(mut self, algorithm: TotpAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Uses another code length.
    pub fn with_digits(mut self, digits: TotpDigits) -> Self {
        self.digits = digits;
        self
    }

    /// Uses another time step.
    pub fn with_step_secs(mut self, step_secs: NonZeroU64) -> Self {
        self.step_secs = step_secs;
        self
    }

    /// The secret.
    pub fn secret(&self) -> &TotpSecret {
        &self.secret
    }

    /// The time step counter at `unix_secs` (RFC 6238 `T`, with `T0` = 0).
    pub fn step_at(&self, unix_secs: u64) -> u64 {
        unix_secs / self.step_secs.get()
    }

    /// The code valid at `unix_secs`, zero-padded to the configured digits.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.code_for_step(self.step_at(unix_secs))
    }

    /// RFC 4226 HOTP with dynamic truncation for counter `step`.
    fn code_for_step(&self, step: u64) -> String {
        let key = hmac::Key::new(self.algorithm.hmac(), self.secret.expose_bytes());
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        // Every supported HMAC is at least 20 bytes, so the offset (at most 15) + 4 stays in range.
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        let mut word = [0u8; 4];
        if let Some(chunk) = mac.get(offset..offset + 4) {
            word.copy_from_slice(chunk);
        }
        let binary = u32::from_be_bytes(word) & 0x7fff_ffff;
        let digits = self.digits.count();
        let code = binary % 10u32.pow(digits);
        format!("{code:0width$}", width = digits as usize)
    }

    /// Checks `code` against the steps within `window_steps` of `now_unix_secs` (at most
    /// [`MAX_WINDOW_STEPS`]) and returns the matched step, which the caller stores as the new
    /// `last_used_step`. A code for a step at or before `last_used_step` is a replay.
    pub fn verify(
        &self,
        code: &str,
        now_unix_secs: u64,
        window_steps: u64,
        last_used_step: Option<u64>,
    ) -> Result<u64, TotpError> {
        let digits = self.digits.count();
        if code.len() > MAX_CODE_INPUT_BYTES {
            return Err(TotpError::Malformed { digits });
        }
        let code: String = code.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if code.len() != digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed { digits });
        }
        let now = self.step_at(now_unix_secs);
        let window = window_steps.min(MAX_WINDOW_STEPS);
        let mut accepted: Option<u64> = None;
        let mut replayed = false;
        // Every step in the window is computed and compared, so timing does not say which matched.
        for step in now.saturating_sub(window)..=now.saturating_add(window) {
            let candidate = self.code_for_step(step);
            if listone_crypto::constant_time_eq(candidate.as_bytes(), code.as_bytes()) {
                if last_used_step.is_some_and(|last| step <= last) {
                    replayed = true;
                } else {
                    accepted = Some(accepted.map_or(step, |a| a.max(step)));
                }
            }
        }
        match (accepted, replayed) {
            (Some(step), _) => Ok(step),
            (None, true) => Err(TotpError::Replayed),
            (None, false) => Err(TotpError::Mismatch),
        }
    }

    /// The `otpauth://totp/` enrolment URI (Key URI Format) for a QR code. It holds the secret and
    /// the account label, so it is a [`Secret`]: show it once, never log it.
    pub fn otpauth_uri(&self, issuer: &str, account: &Secret<String>) -> Secret<String> {
        let issuer = utf8_percent_encode(issuer, URI_COMPONENT).to_string();
        let account = utf8_percent_encode(account.expose(), URI_COMPONENT);
        Secret::new(format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm={algorithm}&digits={digits}&period={period}",
            secret = self.secret.to_base32().expose(),
            algorithm = self.algorithm.uri_name(),
            digits = self.digits.count(),
            period = self.step_secs,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The RFC 6238 Appendix B SHA-1 key.
    fn rfc_totp() -> Totp {
        Totp::new(TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap())
    }

    const NOW: u64 = 1_111_111_111;

    #[test]
    fn six_digit_codes_are_the_rfc_codes_truncated_and_zero_padded() {
        // RFC 6238: 07081804 at 1111111109 (8 digits); 6 digits keep the low six.
        assert_eq!(rfc_totp().code_at(1_111_111_109), "081804");
        assert_eq!(rfc_totp().code_at(59), "287082");
    }

    #[test]
    fn code_in_current_previous_and_next_step_is_accepted() {
        let totp = rfc_totp();
        let step = totp.step_at(NOW);
        assert_eq!(totp.verify(&totp.code_at(NOW), NOW, 1, None), Ok(step));
        assert_eq!(totp.verify(&totp.code_at(NOW - 30), NOW, 1, None), Ok(step - 1));
        assert_eq!(totp.verify(&totp.code_at(NOW + 30), NOW, 1, None), Ok(step + 1));
    }

    #[test]
    fn code_outside_the_window_is_refused() {
        let totp = rfc_totp();
        assert_eq!(totp.verify(&totp.code_at(NOW - 60), NOW, 1, None), Err(TotpError::Mismatch));
        assert_eq!(totp.verify(&totp.code_at(NOW - 60), NOW, 0, None), Err(TotpError::Mismatch));
        assert!(totp.verify(&totp.code_at(NOW - 60), NOW, 2, None).is_ok());
    }

    #[test]
    fn window_is_capped() {
        let totp = rfc_totp();
        let far = NOW - 30 * (MAX_WINDOW_STEPS + 1);
        assert_eq!(totp.verify(&totp.code_at(far), NOW, u64::MAX, None), Err(TotpError::Mismatch));
    }

    #[test]
    fn reusing_a_step_at_or_before_the_last_used_one_is_a_replay() {
        let totp = rfc_totp();
        let code = totp.code_at(NOW);
        let step = totp.verify(&code, NOW, 1, None).unwrap();
        assert_eq!(totp.verify(&code, NOW, 1, Some(step)), Err(TotpError::Replayed));
        assert_eq!(totp.verify(&totp.code_at(NOW - 30), NOW, 1, Some(step)), Err(TotpError::Replayed));
        assert_eq!(totp.verify(&totp.code_at(NOW + 30), NOW, 1, Some(step)), Ok(step + 1));
    }

    #[test]
    fn wrong_code_is_a_mismatch() {
        let totp = rfc_totp();
        let wrong = if totp.code_at(NOW) == "000000" { "111111" } else { "000000" };
        assert_eq!(totp.verify(wrong, NOW, 1, None), Err(TotpError::Mismatch));
    }

    #[test]
    fn input_that_is_not_exactly_the_configured_digits_is_malformed() {
        let totp = rfc_totp();
        let eight = totp.clone().with_digits(TotpDigits::Eight);
        for bad in ["", "12345", "1234567", "12345678", "12a456", "１２３４５６", "-12345"] {
            assert_eq!(totp.verify(bad, NOW, 1, None), Err(TotpError::Malformed { digits: 6 }), "{bad}");
        }
        assert_eq!(eight.verify("123456", NOW, 1, None), Err(TotpError::Malformed { digits: 8 }));
        let spaced = format!(" {} {} ", &totp.code_at(NOW)[..3], &totp.code_at(NOW)[3..]);
        assert!(totp.verify(&spaced, NOW, 1, None).is_ok());
    }

    #[test]
    fn otpauth_uri_carries_parameters_and_escapes_the_label() {
        let totp = rfc_totp().with_algorithm(TotpAlgorithm::Sha256).with_digits(TotpDigits::Eight);
        let uri = totp.otpauth_uri("List One", &Secret::new("alice+crm@example.com".to_owned()));
        assert_eq!(
            uri.expose(),
            "otpauth://totp/List%20One:alice%2Bcrm%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=List%20One&algorithm=SHA256&digits=8&period=30"
        );
        assert_eq!(format!("{uri:?}"), "Secret(***)");
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let totp = rfc_totp();
        let debug = format!("{totp:?}");
        assert!(debug.contains("TotpSecret(***)") && !debug.contains("49, 50"), "{debug}");
    }

    #[test]
    fn mismatch_and_replay_look_the_same_to_the_client() {
        let mismatch: Error = TotpError::Mismatch.into();
        let replay: Error = TotpError::Replayed.into();
        assert_eq!(mismatch.to_string(), replay.to_string());
        assert!(matches!(mismatch, Error::Unauthenticated { .. }));
        let malformed: Error = TotpError::Malformed { digits: 6 }.into();
        assert!(matches!(malformed, Error::InvalidArgument { .. }));
    }
}
