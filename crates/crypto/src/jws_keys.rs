//! JWS signing keys for OpenID Connect tokens: RS256 (RSA-2048, RSASSA-PKCS1-v1_5 SHA-256) and
//! ES256 (P-256, fixed-size `r || s`), stored only as master-key-wrapped secrets.
//!
//! Like [`crate::SigningKeyPair`], the private key exists unwrapped only inside a [`JwsKeyPair`]
//! (ring's parsed key pair, kept for fast repeated signing, plus its PKCS#8 document in a
//! zeroizing buffer for re-wrapping). Signing and verification are ring's; the `rsa` crate is
//! used only to generate RSA keys, which ring cannot do. Callers get signatures and the public
//! key as JWK members (RFC 7518 section 6), never the private key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
};
use rsa::pkcs8::EncodePrivateKey as _;
use zeroize::Zeroizing;

use crate::wrapped_secret::{self, WrappedSecret};
use crate::{Aad, CryptoError, sha256};

/// Modulus size of generated RSA keys (RS256); ring signs with 2048 to 4096-bit keys.
pub const RSA_KEY_BITS: usize = 2048;
/// Length of a P-256 coordinate (ES256 JWK `x` and `y`).
pub const P256_COORDINATE_LEN: usize = 32;
/// Length of an ES256 signature: `r || s`, as JWS requires (RFC 7518 section 3.4).
pub const ES256_SIGNATURE_LEN: usize = 64;

/// A JWS signing algorithm the platform signs tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 on RSA-2048; mandatory in OpenID Connect.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl JwsAlgorithm {
    /// Every algorithm, in the order keys are created and listed.
    pub const ALL: [JwsAlgorithm; 2] = [JwsAlgorithm::Rs256, JwsAlgorithm::Es256];

    /// The JOSE name (`alg`), e.g. `RS256`.
    pub const fn name(self) -> &'static str {
        match self {
            JwsAlgorithm::Rs256 => "RS256",
            JwsAlgorithm::Es256 => "ES256",
        }
    }

    /// The algorithm with this exact JOSE name; `None` for anything else (`none`, `HS256`, ...).
    pub fn from_name(name: &str) -> Option<JwsAlgorithm> {
        JwsAlgorithm::ALL.into_iter().find(|alg| alg.name() == name)
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The public half of a JWS key as JWK members, base64url without padding (RFC 7518 section 6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PublicJwk {
    /// `kty: RSA`: big-endian modulus `n` and exponent `e`, without leading zeros.
    Rsa {
        /// Modulus.
        n: String,
        /// Public exponent.
        e: String,
    },
    /// `kty: EC`, `crv: P-256`: the point's coordinates, 32 bytes each.
    P256 {
        /// X coordinate.
        x: String,
        /// Y coordinate.
        y: String,
    },
}

impl PublicJwk {
    /// The JWK `kty`.
    pub fn kty(&self) -> &'static str {
        match self {
            PublicJwk::Rsa { .. } => "RSA",
            PublicJwk::P256 { .. } => "EC",
        }
    }

    /// The required members (`kty` and the key's own), sorted by name, as RFC 7638 orders them.
    pub fn members(&self) -> Vec<(&'static str, String)> {
        match self {
            PublicJwk::Rsa { n, e } => vec![("e", e.clone()), ("kty", "RSA".to_owned()), ("n", n.clone())],
            PublicJwk::P256 { x, y } => {
                vec![("crv", "P-256".to_owned()), ("kty", "EC".to_owned()), ("x", x.clone()), ("y", y.clone())]
            }
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable key id derived from the key.
    pub fn thumbprint(&self) -> String {
        // Every value is base64url or a fixed name, so no JSON escaping is ever needed.
        let body = self.members().iter().map(|(name, value)| format!("\"{name}\":\"{value}\"")).collect::<Vec<_>>();
        URL_SAFE_NO_PAD.encode(sha256(format!("{{{}}}", body.join(",")).as_bytes()))
    }

    /// The algorithm this kind of key signs with.
    pub fn algorithm(&self) -> JwsAlgorithm {
        match self {
            PublicJwk::Rsa { .. } => JwsAlgorithm::Rs256,
            PublicJwk::P256 { .. } => JwsAlgorithm::Es256,
        }
    }
}

/// A JWS key pair whose private half never leaves this crate unwrapped; parsed once, so
/// signing never re-reads the key.
pub struct JwsKeyPair {
    key_pair: ParsedKeyPair,
    public: PublicJwk,
    /// The same key in the form the JWT encoder takes.
    jwt: crate::jwt::JwtSigningKey,
    /// The PKCS#8 document, only for re-wrapping; wiped on drop.
    pkcs8: Zeroizing<Vec<u8>>,
}

enum ParsedKeyPair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

impl JwsKeyPair {
    /// A fresh key pair for `algorithm` that lives only in memory until wrapped.
    ///
    /// RSA-2048 generation takes a noticeable fraction of a second; run it off the async runtime.
    pub fn generate(algorithm: JwsAlgorithm) -> Result<JwsKeyPair, CryptoError> {
        let pkcs8 = match algorithm {
            JwsAlgorithm::Rs256 => {
                let key = rsa::PrivateKey::new(&mut RingRng, RSA_KEY_BITS).map_err(|_| CryptoError::Random)?;
                // `SecretDocument` zeroizes itself; ours is the only copy kept.
                let document = key.to_pkcs8_der().map_err(|_| CryptoError::JwsKeyFormat { algorithm: "RS256" })?;
                Zeroizing::new(document.as_bytes().to_vec())
            }
            JwsAlgorithm::Es256 => {
                let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| CryptoError::Random)?;
                // ring's `Document` is not zeroized; copy it out at once so ours is the only kept copy.
                Zeroizing::new(document.as_ref().to_vec())
            }
        };
        JwsKeyPair::from_pkcs8(algorithm, pkcs8)
    }

    /// A fresh key pair and its master-key-wrapped form, the only form to persist.
    pub fn generate_wrapped(
        algorithm: JwsAlgorithm,
        master: &crate::MasterKey,
        context: &Aad,
    ) -> Result<(JwsKeyPair, WrappedSecret), CryptoError> {
        let pair = JwsKeyPair::generate(algorithm)?;
        let wrapped = pair.wrap(master, context)?;
        Ok((pair, wrapped))
    }

    /// Wraps the private key under `master`, bound to `context` (e.g. the key id and algorithm).
    pub fn wrap(&self, master: &crate::MasterKey, context: &Aad) -> Result<WrappedSecret, CryptoError> {
        wrapped_secret::wrap_with(master.secret(), &self.pkcs8, context)
    }

    /// Unwraps a key pair of `algorithm` wrapped by `master` under the same `context`.
    pub fn unwrap(
        algorithm: JwsAlgorithm,
        master: &crate::MasterKey,
        wrapped: &WrappedSecret,
        context: &Aad,
    ) -> Result<JwsKeyPair, CryptoError> {
        let pkcs8 = wrapped_secret::unwrap_with(master.secret(), wrapped, context)?;
        JwsKeyPair::from_pkcs8(algorithm, pkcs8)
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.public.algorithm()
    }

    /// The public key as JWK members.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// The JWS signature of `message` (the `header.payload` signing input): 256 bytes for
    /// RS256, 64 bytes `r || s` for ES256.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = SystemRandom::new();
        match &self.key_pair {
            ParsedKeyPair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| CryptoError::JwsKeyFormat { algorithm: "RS256" })?;
                Ok(signature)
            }
            ParsedKeyPair::Ecdsa(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(|_| CryptoError::JwsKeyFormat { algorithm: "ES256" })?
                .as_ref()
                .to_vec()),
        }
    }

    /// `claims` as a compact JWT signed by this key, with `kid` and `typ` (e.g. `at+jwt`, RFC
    /// 9068) in the header. Encoding is the `jsonwebtoken` crate's; the signature ring's.
    pub fn encode_jwt<T: serde::Serialize>(
        &self,
        kid: &str,
        typ: &str,
        claims: &T,
    ) -> Result<String, crate::jwt::JwtError> {
        self.jwt.encode(kid, typ, claims)
    }

    fn from_pkcs8(algorithm: JwsAlgorithm, pkcs8: Zeroizing<Vec<u8>>) -> Result<JwsKeyPair, CryptoError> {
        let (key_pair, public) = match algorithm {
            JwsAlgorithm::Rs256 => {
                let pair =
                    RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| CryptoError::JwsKeyFormat { algorithm: "RS256" })?;
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                let public =
                    PublicJwk::Rsa { n: URL_SAFE_NO_PAD.encode(components.n), e: URL_SAFE_NO_PAD.encode(components.e) };
                (ParsedKeyPair::Rsa(pair), public)
            }
            JwsAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &SystemRandom::new())
                    .map_err(|_| CryptoError::JwsKeyFormat { algorithm: "ES256" })?;
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                if point.len() != 1 + 2 * P256_COORDINATE_LEN || point[0] != 0x04 {
                    return Err(CryptoError::JwsKeyFormat { algorithm: "ES256" });
                }
                let public = PublicJwk::P256 {
                    x: URL_SAFE_NO_PAD.encode(&point[1..=P256_COORDINATE_LEN]),
                    y: URL_SAFE_NO_PAD.encode(&point[1 + P256_COORDINATE_LEN..]),
                };
                (ParsedKeyPair::Ecdsa(pair), public)
            }
        };
        let jwt = crate::jwt::JwtSigningKey::from_pkcs8(algorithm, &pkcs8);
        Ok(JwsKeyPair { key_pair, public, jwt, pkcs8 })
    }
}

impl fmt::Debug for JwsKeyPair {
    // The thumbprint is public and matches the key to its JWKS entry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwsKeyPair({}, thumbprint={}, <redacted>)", self.algorithm(), self.public.thumbprint())
    }
}

/// Whether `signature` is a valid `alg` signature of `message` by the key `public`; false when
/// the key does not match the algorithm or its members do not decode.
pub fn verify_jws_signature(alg: JwsAlgorithm, public: &PublicJwk, message: &[u8], signature: &[u8]) -> bool {
    match (alg, public) {
        (JwsAlgorithm::Rs256, PublicJwk::Rsa { n, e }) => {
            let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
                return false;
            };
            RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
        }
        (JwsAlgorithm::Es256, PublicJwk::P256 { x, y }) => {
            let (Ok(x), Ok(y)) = (URL_SAFE_NO_PAD.decode(x), URL_SAFE_NO_PAD.decode(y)) else {
                return false;
            };
            if x.len() != P256_COORDINATE_LEN || y.len() != P256_COORDINATE_LEN {
                return false;
            }
            let point = [&[0x04][..], &x, &y].concat();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
        }
        _ => false,
    }
}

/// ring's system RNG as the `rand_core` RNG the `rsa` crate asks for during key generation,
/// so every random byte still comes from one source.
struct RingRng;

/// The system RNG failed.
#[derive(Debug)]
struct RngFailure;

impl fmt::Display for RngFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the system random number generator failed")
    }
}

impl std::error::Error for RngFailure {}

impl rsa::rand_core::TryRng for RingRng {
    type Error = RngFailure;

    fn try_next_u32(&mut self) -> Result<u32, RngFailure> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailure> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailure> {
        SystemRandom::new().fill(dst).map_err(|_| RngFailure)
    }
}

impl rsa::rand_core::TryCryptoRng for RingRng {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::OnceLock;

    use super::*;
    use crate::MasterKey;

    // RSA generation is slow in debug builds; the tests share two keys of each kind.
    fn keys(alg: JwsAlgorithm) -> &'static [JwsKeyPair; 2] {
        static RSA: OnceLock<[JwsKeyPair; 2]> = OnceLock::new();
        static EC: OnceLock<[JwsKeyPair; 2]> = OnceLock::new();
        let cell = match alg {
            JwsAlgorithm::Rs256 => &RSA,
            JwsAlgorithm::Es256 => &EC,
        };
        cell.get_or_init(|| [JwsKeyPair::generate(alg).unwrap(), JwsKeyPair::generate(alg).unwrap()])
    }

    fn context(kid: &str) -> Aad {
        Aad::new("listone.oidc_signing_key").with("kid", kid)
    }

    #[test]
    fn algorithm_names_are_the_jose_ones_and_nothing_else_parses() {
        assert_eq!(JwsAlgorithm::from_name("RS256"), Some(JwsAlgorithm::Rs256));
        assert_eq!(JwsAlgorithm::from_name("ES256"), Some(JwsAlgorithm::Es256));
        for other in ["none", "HS256", "rs256", "RS384", ""] {
            assert_eq!(JwsAlgorithm::from_name(other), None, "{other}");
        }
        assert_eq!(JwsAlgorithm::Es256.to_string(), "ES256");
    }

    #[test]
    fn signatures_verify_with_the_public_jwk_and_nothing_else() {
        for alg in JwsAlgorithm::ALL {
            let [pair, other] = keys(alg);
            assert_eq!(pair.algorithm(), alg);
            let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0";
            let signature = pair.sign(message).unwrap();
            assert!(verify_jws_signature(alg, pair.public_jwk(), message, &signature), "{alg}");
            assert!(!verify_jws_signature(alg, pair.public_jwk(), b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIyIn0", &signature));
            assert!(!verify_jws_signature(alg, other.public_jwk(), message, &signature), "{alg} other key");
            let mut altered = signature.clone();
            altered[5] ^= 1;
            assert!(!verify_jws_signature(alg, pair.public_jwk(), message, &altered));
            assert!(!verify_jws_signature(alg, pair.public_jwk(), message, &signature[..signature.len() - 1]));
        }
    }

    #[test]
    fn signature_sizes_are_the_jws_ones() {
        assert_eq!(keys(JwsAlgorithm::Rs256)[0].sign(b"m").unwrap().len(), RSA_KEY_BITS / 8);
        assert_eq!(keys(JwsAlgorithm::Es256)[0].sign(b"m").unwrap().len(), ES256_SIGNATURE_LEN);
    }

    #[test]
    fn a_key_never_verifies_under_the_other_algorithm() {
        let rsa = &keys(JwsAlgorithm::Rs256)[0];
        let ec = &keys(JwsAlgorithm::Es256)[0];
        let rsa_signature = rsa.sign(b"m").unwrap();
        let ec_signature = ec.sign(b"m").unwrap();
        assert!(!verify_jws_signature(JwsAlgorithm::Es256, rsa.public_jwk(), b"m", &rsa_signature));
        assert!(!verify_jws_signature(JwsAlgorithm::Rs256, ec.public_jwk(), b"m", &ec_signature));
        assert!(!verify_jws_signature(JwsAlgorithm::Es256, ec.public_jwk(), b"m", &rsa_signature));
        assert!(!verify_jws_signature(JwsAlgorithm::Rs256, rsa.public_jwk(), b"m", &ec_signature));
    }

    #[test]
    fn jwk_members_decode_to_the_right_lengths() {
        let PublicJwk::Rsa { n, e } = keys(JwsAlgorithm::Rs256)[0].public_jwk().clone() else {
            panic!("RS256 key is not RSA");
        };
        let n = URL_SAFE_NO_PAD.decode(n).unwrap();
        assert_eq!(n.len(), 256);
        assert!(n[0] & 0x80 != 0, "a 2048-bit modulus has its top bit set");
        assert_eq!(URL_SAFE_NO_PAD.decode(e).unwrap(), [1, 0, 1]);
        let PublicJwk::P256 { x, y } = keys(JwsAlgorithm::Es256)[0].public_jwk().clone() else {
            panic!("ES256 key is not P-256");
        };
        assert_eq!(URL_SAFE_NO_PAD.decode(x).unwrap().len(), P256_COORDINATE_LEN);
        assert_eq!(URL_SAFE_NO_PAD.decode(y).unwrap().len(), P256_COORDINATE_LEN);
    }

    #[test]
    fn malformed_jwk_members_do_not_verify() {
        let pair = &keys(JwsAlgorithm::Es256)[0];
        let signature = pair.sign(b"m").unwrap();
        let PublicJwk::P256 { x, y } = pair.public_jwk().clone() else { panic!("not P-256") };
        let short = PublicJwk::P256 { x: x[..10].to_owned(), y: y.clone() };
        assert!(!verify_jws_signature(JwsAlgorithm::Es256, &short, b"m", &signature));
        let not_base64 = PublicJwk::P256 { x: "!!".into(), y };
        assert!(!verify_jws_signature(JwsAlgorithm::Es256, &not_base64, b"m", &signature));
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 section 3.1.
        let jwk = PublicJwk::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(jwk.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn wrapped_key_round_trips_to_the_same_key() {
        let master = MasterKey::generate().unwrap();
        for alg in JwsAlgorithm::ALL {
            let pair = &keys(alg)[0];
            let wrapped = pair.wrap(&master, &context("k1")).unwrap();
            let stored = WrappedSecret::from_bytes(&wrapped.to_bytes()).unwrap();
            let back = JwsKeyPair::unwrap(alg, &master, &stored, &context("k1")).unwrap();
            assert_eq!(back.public_jwk(), pair.public_jwk());
            assert!(verify_jws_signature(alg, pair.public_jwk(), b"m", &back.sign(b"m").unwrap()));
        }
    }

    #[test]
    fn wrapped_key_cannot_be_unwrapped_with_another_master_key_context_or_algorithm() {
        let master = MasterKey::generate().unwrap();
        let pair = &keys(JwsAlgorithm::Es256)[0];
        let wrapped = pair.wrap(&master, &context("k1")).unwrap();
        let other = MasterKey::generate().unwrap();
        let result = JwsKeyPair::unwrap(JwsAlgorithm::Es256, &other, &wrapped, &context("k1"));
        assert!(matches!(result, Err(CryptoError::KeyWrap)));
        let result = JwsKeyPair::unwrap(JwsAlgorithm::Es256, &master, &wrapped, &context("k2"));
        assert!(matches!(result, Err(CryptoError::KeyWrap)));
        let result = JwsKeyPair::unwrap(JwsAlgorithm::Rs256, &master, &wrapped, &context("k1"));
        assert!(matches!(result, Err(CryptoError::JwsKeyFormat { algorithm: "RS256" })));
    }

    #[test]
    fn generate_wrapped_stores_what_it_returns() {
        let master = MasterKey::generate().unwrap();
        let (pair, wrapped) = JwsKeyPair::generate_wrapped(JwsAlgorithm::Es256, &master, &context("k")).unwrap();
        let back = JwsKeyPair::unwrap(JwsAlgorithm::Es256, &master, &wrapped, &context("k")).unwrap();
        assert_eq!(back.public_jwk(), pair.public_jwk());
    }

    #[test]
    fn wrapped_form_and_debug_do_not_contain_the_private_key() {
        let master = MasterKey::generate().unwrap();
        for alg in JwsAlgorithm::ALL {
            let pair = &keys(alg)[0];
            let bytes = pair.wrap(&master, &context("k1")).unwrap().to_bytes();
            // No 16-byte piece of the private document survives wrapping in the clear.
            for piece in pair.pkcs8.chunks_exact(16) {
                assert!(!bytes.windows(16).any(|w| w == piece), "{alg}");
            }
            let debug = format!("{pair:?}");
            assert!(debug.contains(&pair.public_jwk().thumbprint()));
            assert!(debug.contains("<redacted>"));
            assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(&pair.pkcs8[..])));
        }
    }
}
