//! Proof Key for Code Exchange (RFC 7636), S256 only: the syntax of challenges and verifiers
//! and the check a code redemption makes. Pure functions.

use data_encoding::BASE64URL_NOPAD;

/// Length of an S256 challenge: base64url of 32 bytes, unpadded.
pub const CHALLENGE_CHARS: usize = 43;
/// Shortest code verifier (RFC 7636 §4.1).
pub const MIN_VERIFIER_CHARS: usize = 43;
/// Longest code verifier (RFC 7636 §4.1).
pub const MAX_VERIFIER_CHARS: usize = 128;

/// Why a redemption fails PKCE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceFailure {
    /// The authorization had a challenge and no verifier came.
    Missing,
    /// The verifier is not 43..=128 characters of `[A-Za-z0-9-._~]`.
    Malformed,
    /// The verifier does not hash to the challenge.
    Mismatch,
    /// A verifier came but the authorization had no challenge (a downgrade attempt).
    Unexpected,
}

/// Whether `challenge` is an S256 challenge: 43 characters of unpadded base64url.
pub fn is_valid_challenge(challenge: &str) -> bool {
    challenge.len() == CHALLENGE_CHARS && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` has the syntax RFC 7636 §4.1 requires.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (MIN_VERIFIER_CHARS..=MAX_VERIFIER_CHARS).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of `verifier`: BASE64URL(SHA256(verifier)).
pub fn s256_challenge(verifier: &str) -> String {
    BASE64URL_NOPAD.encode(&listone_crypto::sha256(verifier.as_bytes()))
}

/// Checks a redemption's `verifier` against the authorization's `challenge`.
pub fn check(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), PkceFailure> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(PkceFailure::Unexpected),
        (Some(_), None) => Err(PkceFailure::Missing),
        (Some(_), Some(verifier)) if !is_valid_verifier(verifier) => Err(PkceFailure::Malformed),
        (Some(challenge), Some(verifier)) => {
            if listone_crypto::constant_time_eq(s256_challenge(verifier).as_bytes(), challenge.as_bytes()) {
                Ok(())
            } else {
                Err(PkceFailure::Mismatch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        assert!(is_valid_challenge(CHALLENGE));
        assert_eq!(check(Some(CHALLENGE), Some(VERIFIER)), Ok(()));
    }

    #[test]
    fn a_wrong_missing_malformed_or_unexpected_verifier_fails() {
        let other = "x".repeat(43);
        assert_eq!(check(Some(CHALLENGE), Some(&other)), Err(PkceFailure::Mismatch));
        assert_eq!(check(Some(CHALLENGE), None), Err(PkceFailure::Missing));
        assert_eq!(check(Some(CHALLENGE), Some("short")), Err(PkceFailure::Malformed));
        assert_eq!(check(Some(CHALLENGE), Some(&"a".repeat(129))), Err(PkceFailure::Malformed));
        assert_eq!(check(Some(CHALLENGE), Some(&format!("{}+", "a".repeat(42)))), Err(PkceFailure::Malformed));
        assert_eq!(check(None, Some(VERIFIER)), Err(PkceFailure::Unexpected));
        assert_eq!(check(None, None), Ok(()));
    }

    #[test]
    fn verifier_syntax_follows_rfc_7636() {
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&format!("{}-._~", "Z9".repeat(20))));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(!is_valid_verifier(&format!("{} ", "a".repeat(43))));
        assert!(!is_valid_challenge(&format!("{}=", &CHALLENGE[..42])));
        assert!(!is_valid_challenge(VERIFIER.trim_end_matches('k')));
    }
}
