//! The one key-wrapping routine: AES-256-GCM envelopes under a wrapping-key domain.
//!
//! The caller's context is nested inside a fixed domain label, so a wrapped
//! key, a wrapped secret and an ordinary data envelope never open as each
//! other even under the same wrapping key and context.

use zeroize::Zeroizing;

use crate::envelope::{self, KEY_LEN};
use crate::{Aad, CryptoError};

/// Seals `secret` under `wrapping_key`, bound to `domain` and `context`.
pub(crate) fn wrap(
    wrapping_key: &[u8; KEY_LEN],
    domain: &str,
    secret: &[u8],
    context: &Aad,
) -> Result<Vec<u8>, CryptoError> {
    envelope::seal(wrapping_key, secret, wrap_aad(domain, context).as_bytes())
}

/// Opens a wrapped secret; any authentication failure becomes `KeyWrap`.
pub(crate) fn unwrap(
    wrapping_key: &[u8; KEY_LEN],
    domain: &str,
    wrapped: &[u8],
    context: &Aad,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    envelope::open(wrapping_key, wrapped, wrap_aad(domain, context).as_bytes()).map_err(|err| match err {
        CryptoError::Decrypt => CryptoError::KeyWrap,
        other => other,
    })
}

fn wrap_aad(domain: &str, context: &Aad) -> Aad {
    Aad::new(domain).with("context", context.as_bytes())
}
