//! Cryptography for List One: master key loading, AES-256-GCM envelope
//! encryption, key wrapping, the key ring, HMAC blind indexes and Ed25519
//! signing keys, all built on `ring`.
//!
//! Key hierarchy: the [`MasterKey`] wraps per-org [`DataKey`]s, which wrap
//! per-subject [`DataKey`]s, which seal personal data bound to its place by an
//! [`Aad`]. The [`KeyRing`] stores that hierarchy in the database and
//! crypto-shreds a subject by deleting its key. Audit checkpoints are signed by
//! a [`SigningKeyPair`] stored only as a master-key-wrapped [`WrappedSecret`]; OpenID Connect
//! tokens by a [`JwsKeyPair`] (RS256 or ES256), stored the same way.
//! Keys are zeroized on drop and never leave this crate as bytes.

mod aad;
mod blind_index;
mod data_key;
mod envelope;
mod error;
mod hex;
pub mod jws_keys;
pub mod jwt;
mod key_file;
mod key_wrap;
mod keyring;
mod master_key;
mod random;
mod signing;
mod wrapped_key;
mod wrapped_secret;

/// Canonical, unambiguous associated data binding a ciphertext to its org, module, field and record.
pub use aad::Aad;
/// HMAC-SHA256 blind index of a normalized value, compared in constant time.
pub use blind_index::BlindIndex;
/// HKDF-derived HMAC key that produces blind indexes for one purpose.
pub use blind_index::BlindIndexKey;
/// AES-256-GCM org or subject key that seals data and wraps other keys.
pub use data_key::DataKey;
/// The single error type; messages never contain key material or plaintext.
pub use error::CryptoError;
/// Lowercase hex of public values (digests, key ids, hashes); not constant time.
pub use hex::encode as hex;
/// The JWS algorithms tokens are signed with (`RS256`, `ES256`).
pub use jws_keys::JwsAlgorithm;
/// RS256 / ES256 key pair for OpenID Connect tokens; its private key leaves only master-key-wrapped.
pub use jws_keys::JwsKeyPair;
/// The public half of a JWS key as JWK members, with its RFC 7638 thumbprint.
pub use jws_keys::PublicJwk;
/// Checks an RS256 or ES256 signature against a public JWK.
pub use jws_keys::verify_jws_signature;
/// Master, org and subject keys stored wrapped in the database; creates, caches and destroys them.
pub use keyring::{KeyRing, MintedSubjectKey};
/// Whether the development master key file was created or reused.
pub use master_key::DevelopmentKeyStatus;
/// Non-secret fingerprint of a master key, for tracking rotation.
pub use master_key::KeyId;
/// Root 256-bit key that wraps org keys.
pub use master_key::MasterKey;
/// Constant-time equality for secrets (false when lengths differ).
pub use random::constant_time_eq;
/// Fixed-size random bytes from the OS CSPRNG.
pub use random::random_bytes;
/// Random URL-safe base64 token (no padding).
pub use random::random_token;
/// SHA-256 digest.
pub use random::sha256;
/// Ed25519 key pair for audit checkpoints; its private key leaves only master-key-wrapped.
pub use signing::SigningKeyPair;
/// Checks an Ed25519 signature against a 32-byte public key.
pub use signing::verify_ed25519;
/// Length of an Ed25519 public key (32) and signature (64).
pub use signing::{ED25519_PUBLIC_KEY_LEN, ED25519_SIGNATURE_LEN};
/// An encrypted key in storable form (version || nonce || ciphertext || tag).
pub use wrapped_key::WrappedKey;
/// An encrypted secret of any length (a signing key) in storable form.
pub use wrapped_secret::WrappedSecret;
