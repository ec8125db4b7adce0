//! Cryptography for List One: master key loading, AES-256-GCM envelope
//! encryption, key wrapping and HMAC blind indexes, all built on `ring`.
//!
//! Key hierarchy: the [`MasterKey`] wraps per-org [`DataKey`]s, which wrap
//! per-subject [`DataKey`]s, which seal personal data bound to its place by an
//! [`Aad`]. Keys are zeroized on drop and never leave this crate as bytes.

mod aad;
mod blind_index;
mod data_key;
mod envelope;
mod error;
mod hex;
mod key_file;
mod master_key;
mod random;
mod wrapped_key;

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
/// An encrypted key in storable form (version || nonce || ciphertext || tag).
pub use wrapped_key::WrappedKey;
