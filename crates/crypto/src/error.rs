//! The one error type of this crate.
//!
//! Messages say what went wrong and what to do about it, but never carry key
//! material, plaintext or file contents, so they are safe to log.

use std::path::PathBuf;

/// Everything that can go wrong in `listone-crypto`.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The master key text is not standard base64.
    #[error(
        "master key is not valid standard base64; expected 32 random bytes encoded as base64 (generate one with the key generation command)"
    )]
    MasterKeyEncoding,

    /// The master key decoded to the wrong number of bytes.
    #[error("master key must decode to exactly 32 bytes, found {found}; generate a new 256-bit key")]
    MasterKeyLength {
        /// How many bytes the base64 text decoded to.
        found: usize,
    },

    /// The master key file could not be read or created.
    #[error("cannot use master key file {}: {reason}; check that it exists and is readable/writable by this process", path.display())]
    MasterKeyFile {
        /// The file (or directory) that failed.
        path: PathBuf,
        /// The kind of I/O failure, never the file's contents.
        reason: String,
    },

    /// Authenticated decryption failed. Deliberately without detail so it is no oracle.
    #[error("decryption failed: wrong key, wrong context, or the data was truncated or altered")]
    Decrypt,

    /// Encryption failed (the input is larger than AES-GCM allows).
    #[error("encryption failed: input too large for AES-256-GCM")]
    Encrypt,

    /// The envelope starts with a version byte this build does not understand.
    #[error("unsupported envelope version {0}; this build reads version 1, upgrade to read newer data")]
    UnsupportedEnvelopeVersion(u8),

    /// The operating system random number generator failed.
    #[error("the system random number generator failed; check the OS entropy source")]
    Random,

    /// A wrapped key could not be unwrapped with this key and context.
    #[error(
        "key unwrap failed: wrong wrapping key (was the master key rotated?), wrong context, or the wrapped key is corrupted"
    )]
    KeyWrap,

    /// Stored wrapped-key bytes have the wrong length.
    #[error("wrapped key bytes are malformed (wrong length); the stored value is corrupted or not a wrapped key")]
    WrappedKeyFormat,

    /// Stored blind-index bytes have the wrong length.
    #[error("blind index must be 32 bytes, found {found}; the stored value is corrupted or not a blind index")]
    BlindIndexLength {
        /// How many bytes were given.
        found: usize,
    },

    /// Stored wrapped-secret bytes are shorter than an envelope.
    #[error("wrapped secret bytes are malformed (too short); the stored value is corrupted or not a wrapped secret")]
    WrappedSecretFormat,

    /// An unwrapped signing key is not an Ed25519 PKCS#8 v2 document.
    #[error("stored signing key is not a valid Ed25519 key; the wrapped value holds something else")]
    SigningKeyFormat,

    /// A JWS (RS256 / ES256) key could not be generated, encoded or loaded, or did not sign.
    #[error("JWS signing key is not a valid {algorithm} key, or signing with it failed")]
    JwsKeyFormat {
        /// `RS256` or `ES256`.
        algorithm: &'static str,
    },

    /// An org key was wrapped by a different master key than the one configured.
    #[error(
        "org key was wrapped by master key {stored}, but the configured master key is {current}; configure the original master key (or re-wrap org keys before rotating)"
    )]
    MasterKeyMismatch {
        /// Fingerprint recorded beside the org key.
        stored: String,
        /// Fingerprint of the configured master key.
        current: String,
    },

    /// The key ring's database read or write failed.
    #[error("key ring could not {operation}: {source}")]
    Storage {
        /// What the key ring was doing, e.g. `read org key`.
        operation: &'static str,
        /// The database error (its message carries no bound values, so no key material).
        #[source]
        source: sea_orm::DbErr,
    },
}

impl From<CryptoError> for listone_core::Error {
    /// Every crypto failure is the platform's fault, not the caller's: `Internal`, except an
    /// unreachable database, which is `Unavailable` as everywhere else on the platform.
    fn from(err: CryptoError) -> Self {
        let context = match err {
            CryptoError::Storage { source: sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_), .. } => {
                tracing::warn!(error = %err, "key ring database unavailable");
                return listone_core::Error::Unavailable { what: "database".to_owned() };
            }
            CryptoError::Decrypt => "decrypt failed".to_owned(),
            CryptoError::Encrypt => "encrypt failed".to_owned(),
            CryptoError::KeyWrap => "key unwrap failed".to_owned(),
            CryptoError::Random => "system random number generator failed".to_owned(),
            other => format!("crypto: {other}"),
        };
        listone_core::Error::internal(context)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn file_error_names_the_path_and_reason() {
        let err = CryptoError::MasterKeyFile {
            path: PathBuf::from("/etc/listone/master.key"),
            reason: "permission denied".into(),
        };
        let text = err.to_string();
        assert!(text.contains("/etc/listone/master.key"));
        assert!(text.contains("permission denied"));
    }

    #[test]
    fn length_error_reports_the_found_length() {
        let text = CryptoError::MasterKeyLength { found: 16 }.to_string();
        assert!(text.contains("found 16"));
    }

    #[test]
    fn decrypt_failure_becomes_an_internal_platform_error() {
        let err: listone_core::Error = CryptoError::Decrypt.into();
        assert!(matches!(&err, listone_core::Error::Internal { context } if context == "decrypt failed"));
        let err: listone_core::Error = CryptoError::KeyWrap.into();
        assert!(matches!(err, listone_core::Error::Internal { .. }));
    }

    #[test]
    fn key_ring_storage_errors_map_to_internal_or_unavailable() {
        let failed = CryptoError::Storage { operation: "read org key", source: sea_orm::DbErr::Custom("boom".into()) };
        match listone_core::Error::from(failed) {
            listone_core::Error::Internal { context } => assert!(context.contains("read org key"), "{context}"),
            other => panic!("expected Internal, got {other:?}"),
        }
        let unreachable = CryptoError::Storage {
            operation: "read org key",
            source: sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal("refused".into())),
        };
        assert!(matches!(listone_core::Error::from(unreachable), listone_core::Error::Unavailable { .. }));
    }

    #[test]
    fn master_key_mismatch_names_both_fingerprints() {
        let text = CryptoError::MasterKeyMismatch { stored: "aaaa".into(), current: "bbbb".into() }.to_string();
        assert!(text.contains("aaaa") && text.contains("bbbb"));
    }
}
