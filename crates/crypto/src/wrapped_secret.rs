//! Wrapped secrets of any length (signing keys), sealed like `WrappedKey` under their own domain.

use std::fmt;

use zeroize::Zeroizing;

use crate::envelope::{KEY_LEN, OVERHEAD, VERSION};
use crate::{Aad, CryptoError, key_wrap};

/// Domain that separates wrapped secrets from wrapped data keys and data envelopes.
const SECRET_WRAP_DOMAIN: &str = "listone-crypto/secret-wrap/v1";

/// An encrypted secret (version || nonce || ciphertext || tag), safe to store and show.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedSecret {
    bytes: Vec<u8>,
}

impl WrappedSecret {
    /// The bytes to store in a database column or file.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// Reads a wrapped secret from storage, checking its version and minimum length.
    pub fn from_bytes(bytes: &[u8]) -> Result<WrappedSecret, CryptoError> {
        match bytes.first() {
            None => Err(CryptoError::WrappedSecretFormat),
            Some(&version) if version != VERSION => Err(CryptoError::UnsupportedEnvelopeVersion(version)),
            Some(_) if bytes.len() < OVERHEAD => Err(CryptoError::WrappedSecretFormat),
            Some(_) => Ok(WrappedSecret { bytes: bytes.to_vec() }),
        }
    }
}

impl fmt::Debug for WrappedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedSecret({} bytes)", self.bytes.len())
    }
}

/// Encrypts `secret` under `wrapping_key`, bound to `context`.
pub(crate) fn wrap_with(
    wrapping_key: &[u8; KEY_LEN],
    secret: &[u8],
    context: &Aad,
) -> Result<WrappedSecret, CryptoError> {
    Ok(WrappedSecret { bytes: key_wrap::wrap(wrapping_key, SECRET_WRAP_DOMAIN, secret, context)? })
}

/// Decrypts a wrapped secret; any authentication failure becomes `KeyWrap`.
pub(crate) fn unwrap_with(
    wrapping_key: &[u8; KEY_LEN],
    wrapped: &WrappedSecret,
    context: &Aad,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    key_wrap::unwrap(wrapping_key, SECRET_WRAP_DOMAIN, &wrapped.bytes, context)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::DataKey;

    fn context(name: &str) -> Aad {
        Aad::new("listone.test_secret").with("name", name)
    }

    #[test]
    fn secret_of_any_length_round_trips_through_storage_bytes() {
        let kek = [3u8; KEY_LEN];
        for len in [0usize, 1, 32, 85, 1000] {
            let secret = vec![0x5a; len];
            let wrapped = wrap_with(&kek, &secret, &context("a")).unwrap();
            let stored = wrapped.to_bytes();
            assert_eq!(stored.len(), OVERHEAD + len);
            let back = WrappedSecret::from_bytes(&stored).unwrap();
            assert_eq!(unwrap_with(&kek, &back, &context("a")).unwrap().as_slice(), secret.as_slice());
        }
    }

    #[test]
    fn unwrap_fails_with_wrong_key_context_or_altered_bytes() {
        let kek = [3u8; KEY_LEN];
        let wrapped = wrap_with(&kek, b"signing key", &context("a")).unwrap();
        assert!(matches!(unwrap_with(&[4u8; KEY_LEN], &wrapped, &context("a")), Err(CryptoError::KeyWrap)));
        assert!(matches!(unwrap_with(&kek, &wrapped, &context("b")), Err(CryptoError::KeyWrap)));
        let mut bytes = wrapped.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = WrappedSecret::from_bytes(&bytes).unwrap();
        assert!(matches!(unwrap_with(&kek, &altered, &context("a")), Err(CryptoError::KeyWrap)));
    }

    #[test]
    fn from_bytes_rejects_short_input_and_unknown_version() {
        assert!(matches!(WrappedSecret::from_bytes(&[]), Err(CryptoError::WrappedSecretFormat)));
        assert!(matches!(WrappedSecret::from_bytes(&[VERSION; OVERHEAD - 1]), Err(CryptoError::WrappedSecretFormat)));
        let mut future = vec![0u8; OVERHEAD + 4];
        future[0] = 7;
        assert!(matches!(WrappedSecret::from_bytes(&future), Err(CryptoError::UnsupportedEnvelopeVersion(7))));
    }

    #[test]
    fn wrapped_secret_and_wrapped_key_domains_do_not_cross() {
        let kek = DataKey::generate().unwrap();
        let key = DataKey::generate().unwrap();
        let as_key = kek.wrap(&key, &context("a")).unwrap();
        let as_secret = WrappedSecret::from_bytes(&as_key.to_bytes()).unwrap();
        assert!(matches!(unwrap_with(kek.secret(), &as_secret, &context("a")), Err(CryptoError::KeyWrap)));
        let secret = wrap_with(kek.secret(), key.secret(), &context("a")).unwrap();
        let as_key = crate::WrappedKey::from_bytes(&secret.to_bytes()).unwrap();
        assert!(matches!(kek.unwrap(&as_key, &context("a")), Err(CryptoError::KeyWrap)));
    }

    #[test]
    fn debug_shows_only_the_length() {
        let wrapped = wrap_with(&[3u8; KEY_LEN], b"abc", &context("a")).unwrap();
        assert_eq!(format!("{wrapped:?}"), format!("WrappedSecret({} bytes)", OVERHEAD + 3));
    }
}
