//! AES-256-GCM envelopes shared by data sealing and key wrapping.
//!
//! Layout: version (0x01) || 12-byte random nonce || ciphertext || 16-byte tag.
//! Random 96-bit nonces are safe here because each key seals far fewer than
//! 2^32 messages (one key per org or subject).

use ring::aead::{AES_256_GCM, Aad as RingAad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use crate::CryptoError;
use crate::random::random_bytes;

/// Envelope format version written as the first byte.
pub(crate) const VERSION: u8 = 0x01;
/// AES-256 key length in bytes.
pub(crate) const KEY_LEN: usize = 32;
/// GCM tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;
/// Bytes before the ciphertext: version and nonce.
pub(crate) const HEADER_LEN: usize = 1 + NONCE_LEN;
/// Total bytes an envelope adds to the plaintext.
pub(crate) const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// Seals `plaintext` under `key` with a fresh random nonce.
pub(crate) fn seal(key: &[u8; KEY_LEN], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_with_nonce(key, random_bytes::<NONCE_LEN>()?, plaintext, aad)
}

/// Seals with a caller-chosen nonce. Only `seal` and known-answer tests use this:
/// reusing a nonce under one key breaks GCM.
pub(crate) fn seal_with_nonce(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = aead_key(key).map_err(|_| CryptoError::Encrypt)?;
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let sealed =
        key.seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), RingAad::from(aad), &mut out[HEADER_LEN..]);
    match sealed {
        Ok(tag) => {
            out.extend_from_slice(tag.as_ref());
            Ok(out)
        }
        Err(_) => {
            // The buffer still holds plaintext; wipe it before dropping.
            out.zeroize();
            Err(CryptoError::Encrypt)
        }
    }
}

/// Opens an envelope. Every authentication or framing failure is the same `Decrypt`.
pub(crate) fn open(key: &[u8; KEY_LEN], sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let Some((&version, rest)) = sealed.split_first() else {
        return Err(CryptoError::Decrypt);
    };
    if version != VERSION {
        return Err(CryptoError::UnsupportedEnvelopeVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, ciphertext_and_tag) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
    let key = aead_key(key).map_err(|_| CryptoError::Decrypt)?;
    let mut buffer = Zeroizing::new(ciphertext_and_tag.to_vec());
    let plaintext_len =
        key.open_in_place(nonce, RingAad::from(aad), buffer.as_mut_slice()).map_err(|_| CryptoError::Decrypt)?.len();
    buffer.truncate(plaintext_len);
    Ok(buffer)
}

/// Builds ring's key per call, so the only long-lived copy is our zeroized array.
fn aead_key(key: &[u8; KEY_LEN]) -> Result<LessSafeKey, ring::error::Unspecified> {
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::hex;

    /// Runs one GCM known-answer vector through `seal_with_nonce` and back through `open`.
    fn check_vector(key: &str, iv: &str, plaintext: &str, aad: &str, ciphertext: &str, tag: &str) {
        let key: [u8; KEY_LEN] = hex::decode(key).try_into().unwrap();
        let nonce: [u8; NONCE_LEN] = hex::decode(iv).try_into().unwrap();
        let (plaintext, aad) = (hex::decode(plaintext), hex::decode(aad));
        let sealed = seal_with_nonce(&key, nonce, &plaintext, &aad).unwrap();
        assert_eq!(sealed[0], VERSION);
        assert_eq!(&sealed[1..HEADER_LEN], nonce.as_slice());
        let body = &sealed[HEADER_LEN..];
        let (ct, t) = body.split_at(body.len() - TAG_LEN);
        assert_eq!(hex::encode(ct), ciphertext);
        assert_eq!(hex::encode(t), tag);
        assert_eq!(open(&key, &sealed, &aad).unwrap().as_slice(), plaintext.as_slice());
    }

    #[test]
    fn aes_256_gcm_known_answer_gcm_spec_test_case_13() {
        let zero_key = "00".repeat(32);
        check_vector(&zero_key, &"00".repeat(12), "", "", "", "530f8afbc74536b9a963b4f1c4cb738b");
    }

    #[test]
    fn aes_256_gcm_known_answer_gcm_spec_test_case_14() {
        check_vector(
            &"00".repeat(32),
            &"00".repeat(12),
            &"00".repeat(16),
            "",
            "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919",
        );
    }

    #[test]
    fn aes_256_gcm_known_answer_gcm_spec_test_case_16_with_aad() {
        check_vector(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b",
        );
    }

    #[test]
    fn seal_uses_a_fresh_nonce_each_time() {
        let key = [7u8; KEY_LEN];
        let a = seal(&key, b"same", b"").unwrap();
        let b = seal(&key, b"same", b"").unwrap();
        assert_ne!(a[1..HEADER_LEN], b[1..HEADER_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn open_rejects_truncated_and_unknown_version_envelopes() {
        let key = [7u8; KEY_LEN];
        let sealed = seal(&key, b"hello", b"").unwrap();
        for len in 0..sealed.len() {
            assert!(matches!(open(&key, &sealed[..len], b""), Err(CryptoError::Decrypt)));
        }
        let mut future = sealed.clone();
        future[0] = 0x02;
        assert!(matches!(open(&key, &future, b""), Err(CryptoError::UnsupportedEnvelopeVersion(0x02))));
    }
}
