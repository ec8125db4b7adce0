//! The master key: root of the key hierarchy (master wraps org keys, which wrap subject keys).
//!
//! It only ever arrives as base64 text (environment, secret file, or a
//! development file), and leaves only as a `KeyId` fingerprint.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::digest;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::envelope::KEY_LEN;
use crate::key_file;
use crate::random::random_bytes;
use crate::wrapped_key::{self, WrappedKey};
use crate::{Aad, CryptoError, DataKey, hex};

/// File name of the development master key inside the data directory.
const DEVELOPMENT_KEY_FILE: &str = "master.key";
/// Domain label hashed before the key so the fingerprint is useless for anything else.
const KEY_ID_LABEL: &[u8] = b"listone-crypto/master-key-id/v1\0";

/// The 256-bit master key, zeroized on drop and never exposed as bytes.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    bytes: [u8; KEY_LEN],
}

/// Whether `load_or_create_development` made a new key file or reused one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevelopmentKeyStatus {
    /// A new key was generated and written to this path.
    Created(PathBuf),
    /// An existing key file at this path was loaded.
    Existing(PathBuf),
}

impl DevelopmentKeyStatus {
    /// The key file path, whichever way it came about.
    pub fn path(&self) -> &Path {
        match self {
            DevelopmentKeyStatus::Created(path) | DevelopmentKeyStatus::Existing(path) => path,
        }
    }
}

/// A short, stable, non-secret fingerprint of a master key, for tracking rotation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The fingerprint as 16 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl MasterKey {
    /// Parses standard base64 (surrounding whitespace allowed) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<MasterKey, CryptoError> {
        Self::from_base64_bytes(text.as_bytes())
    }

    /// Reads a file containing the base64 key (e.g. a mounted secret).
    pub fn from_file(path: &Path) -> Result<MasterKey, CryptoError> {
        Self::from_base64_bytes(&key_file::read(path)?)
    }

    /// Loads `<data_dir>/master.key`, creating it (mode 0600) with a fresh key when absent.
    ///
    /// For development only; the caller is responsible for warning loudly.
    pub fn load_or_create_development(data_dir: &Path) -> Result<(MasterKey, DevelopmentKeyStatus), CryptoError> {
        let path = data_dir.join(DEVELOPMENT_KEY_FILE);
        // Generate first so an RNG failure never leaves an empty key file behind.
        let key = MasterKey::generate()?;
        let text = Zeroizing::new(format!("{}\n", key.to_base64()));
        if key_file::create_new(&path, text.as_bytes())? {
            Ok((key, DevelopmentKeyStatus::Created(path)))
        } else {
            Ok((MasterKey::from_file(&path)?, DevelopmentKeyStatus::Existing(path)))
        }
    }

    /// A fresh random master key.
    pub fn generate() -> Result<MasterKey, CryptoError> {
        Ok(MasterKey { bytes: random_bytes::<KEY_LEN>()? })
    }

    /// A fresh random master key as base64, for an operator command to print once.
    pub fn generate_base64() -> Result<String, CryptoError> {
        Ok(MasterKey::generate()?.to_base64())
    }

    /// First 8 bytes of SHA-256(label || key) as hex: identifies the key without revealing it.
    pub fn key_id(&self) -> KeyId {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(KEY_ID_LABEL);
        ctx.update(&self.bytes);
        let digest = ctx.finish();
        KeyId(hex::encode(&digest.as_ref()[..8]))
    }

    /// Wraps an org key with AES-256-GCM, bound to `context`.
    pub fn wrap(&self, key: &DataKey, context: &Aad) -> Result<WrappedKey, CryptoError> {
        wrapped_key::wrap_with(&self.bytes, key, context)
    }

    /// Unwraps an org key wrapped by this master key under the same `context`.
    pub fn unwrap(&self, wrapped: &WrappedKey, context: &Aad) -> Result<DataKey, CryptoError> {
        wrapped_key::unwrap_with(&self.bytes, wrapped, context)
    }

    /// Raw key bytes for derivations inside this crate only.
    pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    fn from_base64_bytes(text: &[u8]) -> Result<MasterKey, CryptoError> {
        let text = text.trim_ascii();
        // Pre-size so decoding never reallocates and leaves an unzeroized copy behind.
        let mut decoded = Zeroizing::new(Vec::with_capacity(text.len() + 3));
        STANDARD.decode_vec(text, &mut decoded).map_err(|_| CryptoError::MasterKeyEncoding)?;
        let bytes: [u8; KEY_LEN] =
            decoded.as_slice().try_into().map_err(|_| CryptoError::MasterKeyLength { found: decoded.len() })?;
        Ok(MasterKey { bytes })
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id={}, <redacted>)", self.key_id())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::{fs, io};

    #[test]
    fn master_key_rejects_wrong_length_and_bad_base64() {
        assert!(matches!(MasterKey::from_base64("not base64!"), Err(CryptoError::MasterKeyEncoding)));
        let short = STANDARD.encode([1u8; 16]);
        assert!(matches!(MasterKey::from_base64(&short), Err(CryptoError::MasterKeyLength { found: 16 })));
        let long = STANDARD.encode([1u8; 33]);
        assert!(matches!(MasterKey::from_base64(&long), Err(CryptoError::MasterKeyLength { found: 33 })));
        assert!(matches!(MasterKey::from_base64(""), Err(CryptoError::MasterKeyLength { found: 0 })));
    }

    #[test]
    fn master_key_accepts_trailing_newline_and_keeps_its_id() {
        let text = MasterKey::generate_base64().unwrap();
        let a = MasterKey::from_base64(&text).unwrap();
        let b = MasterKey::from_base64(&format!("{text}\n")).unwrap();
        assert_eq!(a.key_id(), b.key_id());
    }

    #[test]
    fn key_id_is_short_stable_and_differs_between_keys() {
        let key = MasterKey::from_base64(&STANDARD.encode([0u8; 32])).unwrap();
        assert_eq!(key.key_id().as_str().len(), 16);
        assert_eq!(key.key_id(), key.key_id());
        assert_ne!(key.key_id(), MasterKey::generate().unwrap().key_id());
        // Not simply a hash of the key: the domain label is included.
        assert_ne!(key.key_id().as_str(), &hex::encode(&crate::sha256(&[0u8; 32]))[..16]);
    }

    #[test]
    fn debug_shows_key_id_but_not_key() {
        let text = MasterKey::generate_base64().unwrap();
        let key = MasterKey::from_base64(&text).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.key_id().as_str()));
        assert!(!debug.contains(text.trim_end_matches('=')));
    }

    #[test]
    fn from_file_reads_base64_and_reports_missing_file_without_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let text = MasterKey::generate_base64().unwrap();
        fs::write(&path, format!("{text}\n")).unwrap();
        let key = MasterKey::from_file(&path).unwrap();
        assert_eq!(key.key_id(), MasterKey::from_base64(&text).unwrap().key_id());

        let missing = dir.path().join("absent");
        match MasterKey::from_file(&missing) {
            Err(CryptoError::MasterKeyFile { path, reason }) => {
                assert_eq!(path, missing);
                assert_eq!(reason, io::ErrorKind::NotFound.to_string());
            }
            other => panic!("expected MasterKeyFile, got {other:?}"),
        }
    }

    #[test]
    fn development_key_is_created_once_and_reused_with_0600_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let (first, status) = MasterKey::load_or_create_development(dir.path()).unwrap();
        let path = dir.path().join("master.key");
        assert_eq!(status, DevelopmentKeyStatus::Created(path.clone()));
        let (second, status) = MasterKey::load_or_create_development(dir.path()).unwrap();
        assert_eq!(status, DevelopmentKeyStatus::Existing(path.clone()));
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn development_key_in_unusable_dir_is_a_file_error() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("file");
        fs::write(&not_a_dir, b"x").unwrap();
        assert!(matches!(MasterKey::load_or_create_development(&not_a_dir), Err(CryptoError::MasterKeyFile { .. })));
    }

    #[test]
    fn master_wraps_org_key_and_unwrap_with_wrong_context_fails() {
        let master = MasterKey::generate().unwrap();
        let org_key = DataKey::generate().unwrap();
        let ctx = Aad::new("listone/org-key/v1").with("org", "o1");
        let wrapped = master.wrap(&org_key, &ctx).unwrap();
        let back = master.unwrap(&wrapped, &ctx).unwrap();
        assert_eq!(back.secret(), org_key.secret());
        let other_ctx = Aad::new("listone/org-key/v1").with("org", "o2");
        assert!(matches!(master.unwrap(&wrapped, &other_ctx), Err(CryptoError::KeyWrap)));
        let rotated = MasterKey::generate().unwrap();
        assert!(matches!(rotated.unwrap(&wrapped, &ctx), Err(CryptoError::KeyWrap)));
    }
}
