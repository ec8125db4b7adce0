//! Wrapped (encrypted) `DataKey`s, as written by master and org keys.
//!
//! A wrapped key is an envelope whose plaintext is a 32-byte `DataKey`,
//! sealed by `key_wrap` under its own domain so it can never
//! be mistaken for a data envelope or a wrapped secret under the same AAD.

use std::fmt;

use crate::envelope::{KEY_LEN, OVERHEAD, VERSION};
use crate::{Aad, CryptoError, DataKey, key_wrap};

/// Total length of a version-1 wrapped key.
const WRAPPED_LEN: usize = OVERHEAD + KEY_LEN;
/// Domain that separates key wrapping from data sealing.
const WRAP_DOMAIN: &str = "listone-crypto/key-wrap/v1";

/// An encrypted `DataKey` (version || nonce || ciphertext || tag), safe to store and show.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    bytes: Vec<u8>,
}

impl WrappedKey {
    /// The bytes to store in a database column.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// Reads a wrapped key from storage, checking its version and length.
    pub fn from_bytes(bytes: &[u8]) -> Result<WrappedKey, CryptoError> {
        match bytes.first() {
            None => Err(CryptoError::WrappedKeyFormat),
            Some(&version) if version != VERSION => Err(CryptoError::UnsupportedEnvelopeVersion(version)),
            Some(_) if bytes.len() != WRAPPED_LEN => Err(CryptoError::WrappedKeyFormat),
            Some(_) => Ok(WrappedKey { bytes: bytes.to_vec() }),
        }
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedKey({} bytes)", self.bytes.len())
    }
}

/// Encrypts `key` under `wrapping_key`, bound to `context`.
pub(crate) fn wrap_with(wrapping_key: &[u8; KEY_LEN], key: &DataKey, context: &Aad) -> Result<WrappedKey, CryptoError> {
    let bytes = key_wrap::wrap(wrapping_key, WRAP_DOMAIN, key.secret(), context)?;
    Ok(WrappedKey { bytes })
}

/// Decrypts a wrapped key; any authentication failure becomes `KeyWrap`.
pub(crate) fn unwrap_with(
    wrapping_key: &[u8; KEY_LEN],
    wrapped: &WrappedKey,
    context: &Aad,
) -> Result<DataKey, CryptoError> {
    let plaintext = key_wrap::unwrap(wrapping_key, WRAP_DOMAIN, &wrapped.bytes, context)?;
    DataKey::from_slice(&plaintext).ok_or(CryptoError::KeyWrap)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn org_context(org: &str) -> Aad {
        Aad::new("listone/org-key/v1").with("org", org)
    }

    #[test]
    fn wrapped_key_round_trips_through_storage_bytes() {
        let kek = DataKey::generate().unwrap();
        let wrapped = kek.wrap(&DataKey::generate().unwrap(), &org_context("o1")).unwrap();
        let stored = wrapped.to_bytes();
        assert_eq!(stored.len(), WRAPPED_LEN);
        assert_eq!(WrappedKey::from_bytes(&stored).unwrap(), wrapped);
    }

    #[test]
    fn from_bytes_rejects_wrong_length_and_unknown_version() {
        assert!(matches!(WrappedKey::from_bytes(&[]), Err(CryptoError::WrappedKeyFormat)));
        let mut short = vec![VERSION; WRAPPED_LEN - 1];
        assert!(matches!(WrappedKey::from_bytes(&short), Err(CryptoError::WrappedKeyFormat)));
        short.extend([0, 0]);
        assert!(matches!(WrappedKey::from_bytes(&short), Err(CryptoError::WrappedKeyFormat)));
        let mut future = vec![0u8; WRAPPED_LEN];
        future[0] = 9;
        assert!(matches!(WrappedKey::from_bytes(&future), Err(CryptoError::UnsupportedEnvelopeVersion(9))));
    }

    #[test]
    fn unwrap_with_wrong_context_fails() {
        let kek = DataKey::generate().unwrap();
        let wrapped = kek.wrap(&DataKey::generate().unwrap(), &org_context("o1")).unwrap();
        assert!(matches!(kek.unwrap(&wrapped, &org_context("o2")), Err(CryptoError::KeyWrap)));
    }

    #[test]
    fn unwrap_with_wrong_key_or_tampered_bytes_fails() {
        let kek = DataKey::generate().unwrap();
        let ctx = org_context("o1");
        let wrapped = kek.wrap(&DataKey::generate().unwrap(), &ctx).unwrap();
        let other = DataKey::generate().unwrap();
        assert!(matches!(other.unwrap(&wrapped, &ctx), Err(CryptoError::KeyWrap)));
        let mut bytes = wrapped.to_bytes();
        bytes[20] ^= 1;
        let tampered = WrappedKey::from_bytes(&bytes).unwrap();
        assert!(matches!(kek.unwrap(&tampered, &ctx), Err(CryptoError::KeyWrap)));
    }

    #[test]
    fn wrapped_key_cannot_be_opened_as_a_data_envelope_with_the_same_aad() {
        let kek = DataKey::generate().unwrap();
        let ctx = org_context("o1");
        let wrapped = kek.wrap(&DataKey::generate().unwrap(), &ctx).unwrap();
        assert!(matches!(kek.open(&wrapped.to_bytes(), &ctx), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn wrapped_key_does_not_contain_the_key_bytes() {
        let kek = DataKey::generate().unwrap();
        let key = DataKey::generate().unwrap();
        let bytes = kek.wrap(&key, &org_context("o1")).unwrap().to_bytes();
        assert!(!bytes.windows(KEY_LEN).any(|w| w == key.secret()));
    }
}
