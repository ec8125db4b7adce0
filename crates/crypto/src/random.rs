//! Randomness, constant-time comparison and hashing, all from `ring`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use zeroize::Zeroizing;

use crate::CryptoError;

/// `N` bytes from the operating system CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    SystemRandom::new().fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// `bytes` random bytes as URL-safe base64 without padding (session ids, invite tokens).
pub fn random_token(bytes: usize) -> Result<String, CryptoError> {
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    SystemRandom::new().fill(&mut raw).map_err(|_| CryptoError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(raw.as_slice()))
}

/// Compares secrets without leaking where they differ; lengths are not secret.
///
/// ring's public constant-time module is deprecated, so this compares
/// HMACs under a fresh random key with `ring::hmac::verify`, whose tag check
/// is constant time. Fails closed (returns `false`) if the RNG fails.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let Ok(key) = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()) else {
        return false;
    };
    let tag = hmac::sign(&key, a);
    hmac::verify(&key, b, tag.as_ref()).is_ok()
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::hex;

    #[test]
    fn random_bytes_differ_between_calls() {
        let a = random_bytes::<32>().unwrap();
        let b = random_bytes::<32>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn random_token_is_url_safe_unpadded_base64_of_requested_length() {
        let token = random_token(32).unwrap();
        assert_eq!(token.len(), 43);
        assert!(token.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_ne!(token, random_token(32).unwrap());
    }

    #[test]
    fn constant_time_eq_matches_equality_and_rejects_different_lengths() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn sha256_matches_known_answer_for_abc() {
        assert_eq!(hex::encode(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
