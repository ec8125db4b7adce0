//! HMAC-SHA256 blind indexes: look up encrypted values by equality without decrypting.
//!
//! Index keys are derived with HKDF, never reused encryption keys, so a leaked
//! index key does not decrypt anything and indexes for different purposes do
//! not correlate.

use std::fmt;
use std::hash::{Hash, Hasher};

use ring::{hkdf, hmac};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::random::constant_time_eq;
use crate::{CryptoError, MasterKey, hex};

/// HKDF salt for index keys derived from an org or subject `DataKey`.
pub(crate) const DATA_KEY_SALT: &str = "listone-crypto/blind-index/data-key/v1";
/// HKDF salt for platform-level index keys derived from the `MasterKey`.
const MASTER_KEY_SALT: &str = "listone-crypto/blind-index/master-key/v1";

/// An HMAC-SHA256 key for blind indexes, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BlindIndexKey {
    bytes: [u8; 32],
}

impl BlindIndexKey {
    /// Derives a platform-level index key (e.g. for looking up users by email across orgs).
    pub fn from_master(master: &MasterKey, purpose: &str) -> BlindIndexKey {
        derive(master.secret(), MASTER_KEY_SALT, purpose)
    }

    /// The blind index of an already-normalized value (trimmed, lowercased, ... by the caller).
    pub fn index(&self, normalized_value: &[u8]) -> BlindIndex {
        BlindIndex(hmac_sha256(&self.bytes, normalized_value))
    }
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexKey(<redacted>)")
    }
}

/// HKDF-SHA256(salt = label, ikm = key, info = purpose) to a 32-byte index key.
pub(crate) fn derive(ikm: &[u8; 32], salt_label: &str, purpose: &str) -> BlindIndexKey {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt_label.as_bytes()).extract(ikm);
    let info = [purpose.as_bytes()];
    let mut bytes = [0u8; 32];
    // HKDF only fails when asked for more than 255 * 32 bytes; we ask for 32.
    let filled = prk.expand(&info, hkdf::HKDF_SHA256).and_then(|okm| okm.fill(&mut bytes));
    if filled.is_err() {
        unreachable!("HKDF-SHA256 always yields 32 bytes");
    }
    BlindIndexKey { bytes }
}

/// HMAC-SHA256 over `data` with raw key bytes.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// A 32-byte blind index as stored in a database column; compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct BlindIndex([u8; 32]);

impl BlindIndex {
    /// Lowercase hex, for text columns and logs (an index reveals nothing by itself).
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// The raw 32 bytes, for binary columns.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads an index back from a binary column; it must be exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<BlindIndex, CryptoError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BlindIndexLength { found: bytes.len() })?;
        Ok(BlindIndex(array))
    }
}

impl PartialEq for BlindIndex {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl Hash for BlindIndex {
    // Consistent with `eq`: equal indexes have equal bytes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::DataKey;

    #[test]
    fn hmac_sha256_known_answer_rfc_4231_test_case_2() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(&tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn blind_index_is_deterministic_per_key_and_differs_across_keys() {
        let org_a = DataKey::generate().unwrap().blind_index_key("email");
        let org_b = DataKey::generate().unwrap().blind_index_key("email");
        let value = b"ada@example.com";
        assert_eq!(org_a.index(value), org_a.index(value));
        assert_ne!(org_a.index(value), org_b.index(value));
        assert_ne!(org_a.index(value), org_a.index(b"grace@example.com"));
    }

    #[test]
    fn purposes_derive_unrelated_index_keys() {
        let key = DataKey::generate().unwrap();
        let email = key.blind_index_key("email");
        let phone = key.blind_index_key("phone");
        assert_ne!(email.index(b"x"), phone.index(b"x"));
        assert_eq!(email.index(b"x"), key.blind_index_key("email").index(b"x"));
    }

    #[test]
    fn index_key_differs_from_the_encryption_key() {
        let raw = [9u8; 32];
        let derived = derive(&raw, DATA_KEY_SALT, "email");
        assert_ne!(derived.bytes, raw);
        assert_ne!(derived.index(b"v").0, hmac_sha256(&raw, b"v"));
    }

    #[test]
    fn master_derived_index_is_stable_for_the_same_master_key() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64().unwrap()).unwrap();
        let a = BlindIndexKey::from_master(&master, "user-email");
        let b = BlindIndexKey::from_master(&master, "user-email");
        assert_eq!(a.index(b"ada@example.com"), b.index(b"ada@example.com"));
        let other = BlindIndexKey::from_master(&master, "other");
        assert_ne!(a.index(b"ada@example.com"), other.index(b"ada@example.com"));
    }

    #[test]
    fn blind_index_round_trips_through_bytes_and_hex() {
        let index = DataKey::generate().unwrap().blind_index_key("p").index(b"v");
        assert_eq!(BlindIndex::from_bytes(index.as_bytes()).unwrap(), index);
        assert_eq!(index.to_hex().len(), 64);
        assert!(matches!(BlindIndex::from_bytes(&[0u8; 31]), Err(CryptoError::BlindIndexLength { found: 31 })));
    }

    #[test]
    fn debug_never_shows_index_key_bytes() {
        let key = derive(&[0xab; 32], DATA_KEY_SALT, "p");
        let text = format!("{key:?}");
        assert_eq!(text, "BlindIndexKey(<redacted>)");
    }
}
