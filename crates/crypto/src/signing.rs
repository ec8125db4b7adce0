//! Ed25519 signing keys (audit checkpoints), stored only as master-key-wrapped secrets.
//!
//! The private key exists unwrapped only inside a [`SigningKeyPair`] (ring's
//! key pair plus its PKCS#8 document in a zeroizing buffer, kept so the pair can
//! be re-wrapped when the master key rotates). It leaves this crate only as a
//! [`WrappedSecret`]; callers get signatures and the public key, never the seed.
//! Note formats (C2SP signed notes) are built by the caller from `sign` and `public_key`.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::wrapped_secret::{self, WrappedSecret};
use crate::{Aad, CryptoError, MasterKey, hex};

/// Length of an Ed25519 public key.
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// An Ed25519 key pair whose private half never leaves this crate unwrapped.
pub struct SigningKeyPair {
    key_pair: Ed25519KeyPair,
    public_key: [u8; ED25519_PUBLIC_KEY_LEN],
    /// The PKCS#8 v2 document, only for re-wrapping; wiped on drop.
    pkcs8: Zeroizing<Vec<u8>>,
}

impl SigningKeyPair {
    /// A fresh key pair that lives only in memory until [`SigningKeyPair::wrap`] stores it.
    pub fn generate() -> Result<SigningKeyPair, CryptoError> {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| CryptoError::Random)?;
        // ring's `Document` is not zeroized; copy it out at once so ours is the only kept copy.
        SigningKeyPair::from_pkcs8(Zeroizing::new(document.as_ref().to_vec()))
    }

    /// A fresh key pair and its master-key-wrapped form, the only form to persist.
    pub fn generate_wrapped(master: &MasterKey, context: &Aad) -> Result<(SigningKeyPair, WrappedSecret), CryptoError> {
        let pair = SigningKeyPair::generate()?;
        let wrapped = pair.wrap(master, context)?;
        Ok((pair, wrapped))
    }

    /// Wraps the private key under `master`, bound to `context` (e.g. which log the key signs).
    pub fn wrap(&self, master: &MasterKey, context: &Aad) -> Result<WrappedSecret, CryptoError> {
        wrapped_secret::wrap_with(master.secret(), &self.pkcs8, context)
    }

    /// Unwraps a key pair wrapped by `master` under the same `context`.
    pub fn unwrap(master: &MasterKey, wrapped: &WrappedSecret, context: &Aad) -> Result<SigningKeyPair, CryptoError> {
        let pkcs8 = wrapped_secret::unwrap_with(master.secret(), wrapped, context)?;
        SigningKeyPair::from_pkcs8(pkcs8)
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; ED25519_PUBLIC_KEY_LEN] {
        self.public_key
    }

    /// A 64-byte Ed25519 signature over `message` (deterministic, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> [u8; ED25519_SIGNATURE_LEN] {
        let mut out = [0u8; ED25519_SIGNATURE_LEN];
        out.copy_from_slice(self.key_pair.sign(message).as_ref());
        out
    }

    fn from_pkcs8(pkcs8: Zeroizing<Vec<u8>>) -> Result<SigningKeyPair, CryptoError> {
        let key_pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| CryptoError::SigningKeyFormat)?;
        let public_key = key_pair.public_key().as_ref().try_into().map_err(|_| CryptoError::SigningKeyFormat)?;
        Ok(SigningKeyPair { key_pair, public_key, pkcs8 })
    }
}

impl fmt::Debug for SigningKeyPair {
    // The public key is public; showing it helps match a pair to a published verifier key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKeyPair(public={}, <redacted>)", hex::encode(&self.public_key))
    }
}

/// Whether `signature` is a valid Ed25519 signature of `message` by `public_key`.
pub fn verify_ed25519(public_key: &[u8; ED25519_PUBLIC_KEY_LEN], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key).verify(message, signature).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn checkpoint_context(log: &str) -> Aad {
        Aad::new("listone.audit_signing_key").with("log", log)
    }

    #[test]
    fn signature_verifies_with_the_public_key_and_nothing_else() {
        let pair = SigningKeyPair::generate().unwrap();
        let message = b"listone.dev/audit/org-1\n42\nAAAA\n";
        let signature = pair.sign(message);
        assert!(verify_ed25519(&pair.public_key(), message, &signature));
        assert!(!verify_ed25519(&pair.public_key(), b"listone.dev/audit/org-1\n43\nAAAA\n", &signature));
        let mut altered = signature;
        altered[10] ^= 1;
        assert!(!verify_ed25519(&pair.public_key(), message, &altered));
        assert!(!verify_ed25519(&pair.public_key(), message, &signature[..63]));
        let other = SigningKeyPair::generate().unwrap();
        assert!(!verify_ed25519(&other.public_key(), message, &signature));
    }

    #[test]
    fn verify_accepts_rfc_8032_test_vector_1() {
        let public_key: [u8; 32] =
            hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").try_into().unwrap();
        let signature = hex::decode(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        );
        assert!(verify_ed25519(&public_key, b"", &signature));
        assert!(!verify_ed25519(&public_key, b"x", &signature));
    }

    #[test]
    fn wrapped_signing_key_round_trips_to_the_same_key() {
        let master = MasterKey::generate().unwrap();
        let (pair, wrapped) = SigningKeyPair::generate_wrapped(&master, &checkpoint_context("org-1")).unwrap();
        let stored = WrappedSecret::from_bytes(&wrapped.to_bytes()).unwrap();
        let back = SigningKeyPair::unwrap(&master, &stored, &checkpoint_context("org-1")).unwrap();
        assert_eq!(back.public_key(), pair.public_key());
        // Ed25519 is deterministic, so the same key gives the same signature.
        assert_eq!(back.sign(b"checkpoint"), pair.sign(b"checkpoint"));
    }

    #[test]
    fn wrapped_signing_key_cannot_be_unwrapped_with_another_master_key_or_context() {
        let master = MasterKey::generate().unwrap();
        let (_, wrapped) = SigningKeyPair::generate_wrapped(&master, &checkpoint_context("org-1")).unwrap();
        let other_master = MasterKey::generate().unwrap();
        let result = SigningKeyPair::unwrap(&other_master, &wrapped, &checkpoint_context("org-1"));
        assert!(matches!(result, Err(CryptoError::KeyWrap)));
        let result = SigningKeyPair::unwrap(&master, &wrapped, &checkpoint_context("org-2"));
        assert!(matches!(result, Err(CryptoError::KeyWrap)));
    }

    #[test]
    fn rewrapping_under_a_new_master_key_keeps_the_key() {
        let old = MasterKey::generate().unwrap();
        let new = MasterKey::generate().unwrap();
        let ctx = checkpoint_context("org-1");
        let (pair, _) = SigningKeyPair::generate_wrapped(&old, &ctx).unwrap();
        let rewrapped = pair.wrap(&new, &ctx).unwrap();
        assert_eq!(SigningKeyPair::unwrap(&new, &rewrapped, &ctx).unwrap().public_key(), pair.public_key());
    }

    #[test]
    fn wrapped_form_and_debug_do_not_contain_the_private_key() {
        let master = MasterKey::generate().unwrap();
        let (pair, wrapped) = SigningKeyPair::generate_wrapped(&master, &checkpoint_context("org-1")).unwrap();
        // ring's PKCS#8 v2 document: 16-byte header, 32-byte seed, then the framed public key.
        assert_eq!(pair.pkcs8.len(), 83);
        assert_eq!(pair.pkcs8[48..51], [0x81, 0x21, 0x00]);
        assert_eq!(pair.pkcs8[51..], pair.public_key());
        let seed = &pair.pkcs8[16..48];
        let bytes = wrapped.to_bytes();
        assert!(!bytes.windows(seed.len()).any(|w| w == seed));
        let debug = format!("{pair:?}");
        assert!(debug.contains(&hex::encode(&pair.public_key())));
        assert!(!debug.contains(&hex::encode(seed)));
    }

    #[test]
    fn unwrapped_bytes_that_are_not_pkcs8_are_rejected() {
        let master = MasterKey::generate().unwrap();
        let ctx = checkpoint_context("org-1");
        let wrapped = wrapped_secret::wrap_with(master.secret(), b"not a key", &ctx).unwrap();
        assert!(matches!(SigningKeyPair::unwrap(&master, &wrapped, &ctx), Err(CryptoError::SigningKeyFormat)));
    }
}
