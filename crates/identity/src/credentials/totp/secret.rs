//! The TOTP shared secret: random bytes, zeroized on drop, exchanged as RFC 4648 base32.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use listone_core::Secret;
use zeroize::Zeroizing;

use super::TotpError;

/// The shared key between us and the user's authenticator; zeroized on drop, never printed.
/// No `PartialEq`: secrets are compared only through [`listone_crypto::constant_time_eq`].
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// Bytes in a generated secret: 160 bits, the RFC 4226 recommendation.
    pub const GENERATED_LEN: usize = 20;
    /// Fewest bytes accepted: 128 bits, the RFC 4226 minimum.
    pub const MIN_LEN: usize = 16;
    /// Most bytes accepted (an HMAC-SHA512 block's worth).
    pub const MAX_LEN: usize = 128;

    /// A fresh random secret of [`Self::GENERATED_LEN`] bytes.
    pub fn generate() -> Result<Self, TotpError> {
        let bytes =
            Zeroizing::new(listone_crypto::random_bytes::<{ Self::GENERATED_LEN }>().map_err(|_| TotpError::Random)?);
        Self::from_bytes(bytes.to_vec())
    }

    /// A secret from raw bytes (as unsealed from storage).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < Self::MIN_LEN {
            return Err(TotpError::InvalidSecret { reason: "must be at least 16 bytes" });
        }
        if bytes.len() > Self::MAX_LEN {
            return Err(TotpError::InvalidSecret { reason: "must be at most 128 bytes" });
        }
        Ok(Self(bytes))
    }

    /// A secret from RFC 4648 base32, ignoring case, spaces and `=` padding.
    pub fn from_base32(encoded: &str) -> Result<Self, TotpError> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            encoded.chars().filter(|c| !c.is_whitespace() && *c != '=').map(|c| c.to_ascii_uppercase()).collect(),
        );
        let bytes = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| TotpError::InvalidSecret { reason: "must be RFC 4648 base32" })?;
        Self::from_bytes(bytes)
    }

    /// RFC 4648 base32 without padding, as authenticator apps expect.
    pub fn to_base32(&self) -> Secret<String> {
        Secret::new(BASE32_NOPAD.encode(&self.0))
    }

    /// The raw bytes, for sealing into storage; every call site is a deliberate disclosure.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn generated_secret_is_20_random_bytes_and_round_trips_through_base32() {
        let secret = TotpSecret::generate().unwrap();
        assert_eq!(secret.expose_bytes().len(), 20);
        assert_ne!(secret.expose_bytes(), TotpSecret::generate().unwrap().expose_bytes());
        let encoded = secret.to_base32();
        assert_eq!(encoded.expose().len(), 32);
        assert_eq!(TotpSecret::from_base32(encoded.expose()).unwrap().expose_bytes(), secret.expose_bytes());
        assert_eq!(
            TotpSecret::from_base32(&encoded.expose().to_lowercase()).unwrap().expose_bytes(),
            secret.expose_bytes()
        );
    }

    #[test]
    fn base32_matches_rfc_4648_and_ignores_spaces_and_padding() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(secret.to_base32().expose(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap().expose_bytes(),
            secret.expose_bytes()
        );
        let short = TotpSecret::from_bytes(b"1234567890123456x".to_vec()).unwrap();
        let padded = format!("{}===", short.to_base32().expose());
        assert_eq!(TotpSecret::from_base32(&padded).unwrap().expose_bytes(), short.expose_bytes());
    }

    #[test]
    fn short_or_non_base32_secrets_are_refused() {
        assert!(matches!(TotpSecret::from_bytes(vec![7; 15]), Err(TotpError::InvalidSecret { .. })));
        assert!(matches!(TotpSecret::from_bytes(vec![7; 129]), Err(TotpError::InvalidSecret { .. })));
        assert!(matches!(TotpSecret::from_base32("not base32 at all!"), Err(TotpError::InvalidSecret { .. })));
    }

    #[test]
    fn debug_never_prints_the_bytes() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(format!("{secret:?}"), "TotpSecret(***)");
    }
}
