//! Org and subject keys: AES-256-GCM keys that seal data and wrap other keys.
//!
//! Hierarchy: the master key wraps org keys, org keys wrap subject keys, and
//! subject keys seal personal data, so erasing one subject key crypto-shreds
//! that subject's data.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::blind_index::{self, BlindIndexKey};
use crate::envelope::{self, KEY_LEN};
use crate::random::random_bytes;
use crate::wrapped_key::{self, WrappedKey};
use crate::{Aad, CryptoError};

/// A 256-bit AES-256-GCM key (org or subject key), zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey {
    bytes: [u8; KEY_LEN],
}

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Result<DataKey, CryptoError> {
        Ok(DataKey { bytes: random_bytes::<KEY_LEN>()? })
    }

    /// Encrypts to a self-describing envelope: version || nonce || ciphertext || tag.
    pub fn seal(&self, plaintext: &[u8], aad: &Aad) -> Result<Vec<u8>, CryptoError> {
        envelope::seal(&self.bytes, plaintext, aad.as_bytes())
    }

    /// Decrypts an envelope sealed with this key and the same `aad`.
    ///
    /// Any wrong key, wrong AAD, truncation or alteration is the same
    /// `CryptoError::Decrypt`, so callers cannot be used as an oracle.
    pub fn open(&self, sealed: &[u8], aad: &Aad) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        envelope::open(&self.bytes, sealed, aad.as_bytes())
    }

    /// Wraps another key (an org key wrapping a subject key), bound to `context`.
    pub fn wrap(&self, key: &DataKey, context: &Aad) -> Result<WrappedKey, CryptoError> {
        wrapped_key::wrap_with(&self.bytes, key, context)
    }

    /// Unwraps a key wrapped by this key under the same `context`.
    pub fn unwrap(&self, wrapped: &WrappedKey, context: &Aad) -> Result<DataKey, CryptoError> {
        wrapped_key::unwrap_with(&self.bytes, wrapped, context)
    }

    /// Derives a separate HMAC key for blind indexes of one purpose (e.g. `"contact.email"`).
    pub fn blind_index_key(&self, purpose: &str) -> BlindIndexKey {
        blind_index::derive(&self.bytes, blind_index::DATA_KEY_SALT, purpose)
    }

    /// Raw key bytes, for wrapping only; never leaves the crate.
    pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// Rebuilds a key from unwrapped bytes; `None` if the length is wrong.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<DataKey> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(DataKey { bytes })
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn field(record: &str) -> Aad {
        Aad::new("listone/field/v1")
            .with("org", "org-1")
            .with("module", "contacts")
            .with("field", "email")
            .with("record", record)
    }

    #[test]
    fn seal_then_open_round_trips() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"ada@example.com", &field("r1")).unwrap();
        assert_eq!(key.open(&sealed, &field("r1")).unwrap().as_slice(), b"ada@example.com");
        let empty = key.seal(b"", &field("r1")).unwrap();
        assert!(key.open(&empty, &field("r1")).unwrap().is_empty());
    }

    #[test]
    fn sealed_bytes_do_not_contain_plaintext() {
        let key = DataKey::generate().unwrap();
        let plaintext = b"very identifiable personal data";
        let sealed = key.seal(plaintext, &field("r1")).unwrap();
        assert_eq!(sealed[0], 0x01);
        assert_eq!(sealed.len(), 1 + 12 + plaintext.len() + 16);
        assert!(!sealed.windows(8).any(|w| plaintext.windows(8).any(|p| p == w)));
    }

    #[test]
    fn open_fails_when_ciphertext_moved_to_another_record() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"secret", &field("r1")).unwrap();
        assert!(matches!(key.open(&sealed, &field("r2")), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn open_fails_with_another_key() {
        let sealed = DataKey::generate().unwrap().seal(b"secret", &field("r1")).unwrap();
        let other = DataKey::generate().unwrap();
        assert!(matches!(other.open(&sealed, &field("r1")), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn flipping_any_byte_of_envelope_fails_open() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"secret", &field("r1")).unwrap();
        for i in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            let result = key.open(&altered, &field("r1"));
            if i == 0 {
                assert!(matches!(result, Err(CryptoError::UnsupportedEnvelopeVersion(0x00))));
            } else {
                assert!(matches!(result, Err(CryptoError::Decrypt)), "byte {i}");
            }
        }
    }

    #[test]
    fn open_fails_on_truncated_or_extended_input() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"secret", &field("r1")).unwrap();
        assert!(matches!(key.open(&sealed[..sealed.len() - 1], &field("r1")), Err(CryptoError::Decrypt)));
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(matches!(key.open(&longer, &field("r1")), Err(CryptoError::Decrypt)));
    }

    #[test]
    fn org_key_wraps_and_unwraps_subject_key() {
        let org_key = DataKey::generate().unwrap();
        let subject_key = DataKey::generate().unwrap();
        let ctx = Aad::new("listone/subject-key/v1").with("subject", "s1");
        let wrapped = org_key.wrap(&subject_key, &ctx).unwrap();
        let unwrapped = org_key.unwrap(&wrapped, &ctx).unwrap();
        let sealed = subject_key.seal(b"data", &field("r1")).unwrap();
        assert_eq!(unwrapped.open(&sealed, &field("r1")).unwrap().as_slice(), b"data");
    }

    #[test]
    fn debug_output_is_redacted() {
        let key = DataKey::from_slice(&[0x41; KEY_LEN]).unwrap();
        assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
    }

    #[test]
    fn errors_do_not_mention_plaintext() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"hunter2", &field("r1")).unwrap();
        let err = key.open(&sealed, &field("r2")).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(!format!("{err:?}").contains("hunter2"));
    }
}
