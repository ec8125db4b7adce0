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
}
