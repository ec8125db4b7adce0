//! JSON Web Tokens (RFC 7519) for access tokens: encoded and validated by the `jsonwebtoken`
//! crate, whose signatures are ring's through the [`CryptoProvider`] this module installs (the
//! crate is built without its own backends). Only RS256 and ES256 exist here: `none`, HMAC and
//! every other algorithm are refused before any key is looked at, so an HS256 token "signed"
//! with a public key can never verify.
//!
//! Expiry and not-before are checked against the caller's clock (the `now` in [`JwtRules`]),
//! not the system time, so token lifetimes run on the platform's `Clock` like every deadline.

use std::cell::RefCell;
use std::sync::{Arc, Once};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::jws_keys::{JwsAlgorithm, P256_COORDINATE_LEN, PublicJwk};

/// Longest token looked at; longer ones are refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was refused. Messages name the rule, never the token's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON, over [`MAX_TOKEN_BYTES`], or claims of the wrong shape.
    #[error("the token is malformed")]
    Malformed,
    /// `alg` is not RS256 or ES256 (`none`, HS256, ...), or not the algorithm of the key.
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    /// The header names no key, or a key this verifier does not know.
    #[error("the token's key is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    Signature,
    /// The header's `typ` is not the expected one.
    #[error("the token's type is not accepted")]
    Type,
    /// `iss` is missing or not the expected issuer.
    #[error("the token's issuer is not accepted")]
    Issuer,
    /// `aud` is missing or does not contain the expected audience.
    #[error("the token's audience is not accepted")]
    Audience,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` (or `iat`) is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The signing key could not sign.
    #[error("the token could not be signed")]
    Signing,
}

/// Time claims every validated token must expose, so they are checked on the caller's clock.
pub trait JwtTimes {
    /// `exp`, seconds since the epoch.
    fn expires_at(&self) -> i64;
    /// `nbf`, if present.
    fn not_before(&self) -> Option<i64>;
    /// `iat`, if present.
    fn issued_at(&self) -> Option<i64>;
}

/// What a token must satisfy besides its signature.
#[derive(Debug, Clone)]
pub struct JwtRules<'a> {
    /// Exact `iss`.
    pub issuer: &'a str,
    /// One `aud` value the token must contain.
    pub audience: &'a str,
    /// The header `typ` required (compared case-insensitively, `application/` prefix allowed as
    /// RFC 8725 §3.11 says), or `None` to accept any.
    pub typ: Option<&'a str>,
    /// The current time, seconds since the epoch, from the platform clock.
    pub now: i64,
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: i64,
}

/// The parts of a header needed to pick a key, read before any signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtHeader {
    /// RS256 or ES256 (anything else is refused while reading).
    pub alg: JwsAlgorithm,
    /// Key id.
    pub kid: Option<String>,
    /// Token type.
    pub typ: Option<String>,
}

/// A public key that verifies tokens, built from a JWK.
#[derive(Clone)]
pub struct JwtVerifyingKey {
    alg: JwsAlgorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for JwtVerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwtVerifyingKey({})", self.alg)
    }
}

impl JwtVerifyingKey {
    /// The verifying key for a public JWK; `None` when its members do not decode.
    pub fn from_public_jwk(jwk: &PublicJwk) -> Option<JwtVerifyingKey> {
        let key = match jwk {
            PublicJwk::Rsa { n, e } => DecodingKey::from_rsa_components(n, e).ok()?,
            PublicJwk::P256 { x, y } => {
                let (xb, yb) = (URL_SAFE_NO_PAD.decode(x).ok()?, URL_SAFE_NO_PAD.decode(y).ok()?);
                if xb.len() != P256_COORDINATE_LEN || yb.len() != P256_COORDINATE_LEN {
                    return None;
                }
                DecodingKey::from_ec_components(x, y).ok()?
            }
        };
        Some(JwtVerifyingKey { alg: jwk.algorithm(), key })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> JwsAlgorithm {
        self.alg
    }
}

/// A private signing key in the form the JWT encoder takes. Built by [`crate::JwsKeyPair`] only.
pub(crate) struct JwtSigningKey {
    alg: JwsAlgorithm,
    key: EncodingKey,
    /// The same key parsed by ring once. jsonwebtoken hands the signer factory only the PKCS#8
    /// bytes, and parsing them for every token (an ECDSA key derives its public point) doubled
    /// the cost of an ES256 signature; [`JwtSigningKey::encode`] lends this one instead. `None`
    /// when ring refuses the document; the factory then refuses it too.
    parsed: Option<Arc<RingSigner>>,
}

impl JwtSigningKey {
    /// From a PKCS#8 document (RS256 and ES256 alike; our provider reads PKCS#8).
    pub(crate) fn from_pkcs8(alg: JwsAlgorithm, pkcs8: &[u8]) -> JwtSigningKey {
        let key = match alg {
            JwsAlgorithm::Rs256 => EncodingKey::from_rsa_der(pkcs8),
            JwsAlgorithm::Es256 => EncodingKey::from_ec_der(pkcs8),
        };
        let parsed = RingSigner::from_pkcs8(to_algorithm(alg), pkcs8).ok().map(Arc::new);
        JwtSigningKey { alg, key, parsed }
    }

    /// `claims` as a signed compact JWT with `kid` and `typ` in its header.
    pub(crate) fn encode<T: Serialize>(&self, kid: &str, typ: &str, claims: &T) -> Result<String, JwtError> {
        install_provider();
        let mut header = Header::new(to_algorithm(self.alg));
        header.kid = Some(kid.to_owned());
        header.typ = Some(typ.to_owned());
        let _lent = self.parsed.as_ref().map(|parsed| LentSigner::lend(&self.key, parsed));
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|_| JwtError::Signing)
    }
}

thread_local! {
    /// The parsed key of the [`JwtSigningKey`] encoding on this thread right now, beside the
    /// address of its PKCS#8 bytes: the signer factory takes it rather than parse those bytes.
    static LENT: RefCell<Option<(usize, Arc<RingSigner>)>> = const { RefCell::new(None) };
}

/// A parsed key lent to the signer factory for one synchronous `jsonwebtoken::encode` call on
/// this thread; taken back when dropped, so it never outlives the call or its key.
struct LentSigner;

impl LentSigner {
    fn lend(key: &EncodingKey, parsed: &Arc<RingSigner>) -> LentSigner {
        LENT.set(Some((key.inner().as_ptr() as usize, Arc::clone(parsed))));
        LentSigner
    }

    /// The lent signer, if it was lent for exactly `key` and signs with `alg`.
    fn take_for(alg: &Algorithm, key: &EncodingKey) -> Option<Arc<RingSigner>> {
        LENT.with_borrow(|lent| {
            lent.as_ref()
                .filter(|(address, parsed)| *address == key.inner().as_ptr() as usize && parsed.alg() == *alg)
                .map(|(_, parsed)| Arc::clone(parsed))
        })
    }
}

impl Drop for LentSigner {
    fn drop(&mut self) {
        LENT.set(None);
    }
}

/// Reads the header of `token` without trusting it: only to choose the verifying key. Refuses
/// over-long tokens and every algorithm but RS256 and ES256.
pub fn read_header(token: &str) -> Result<JwtHeader, JwtError> {
    if token.len() > MAX_TOKEN_BYTES || token.bytes().filter(|b| *b == b'.').count() != 2 {
        return Err(JwtError::Malformed);
    }
    // jsonwebtoken knows no `none`; an unknown alg fails to parse, which is a refusal too.
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => JwtError::Algorithm,
        _ => JwtError::Malformed,
    })?;
    let alg = match header.alg {
        Algorithm::RS256 => JwsAlgorithm::Rs256,
        Algorithm::ES256 => JwsAlgorithm::Es256,
        _ => return Err(JwtError::Algorithm),
    };
    Ok(JwtHeader { alg, kid: header.kid, typ: header.typ })
}

/// Verifies `token` with `key` and checks it against `rules`; the claims when all hold.
pub fn decode<T: DeserializeOwned + JwtTimes>(
    token: &str,
    key: &JwtVerifyingKey,
    rules: &JwtRules<'_>,
) -> Result<T, JwtError> {
    let header = read_header(token)?;
    if header.alg != key.alg {
        return Err(JwtError::Algorithm);
    }
    if let Some(expected) = rules.typ {
        let typ = header.typ.as_deref().unwrap_or_default();
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case(expected) {
            return Err(JwtError::Type);
        }
    }
    install_provider();
    let mut validation = Validation::new(to_algorithm(key.alg));
    // Times are checked below on the platform clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims = ["exp", "iss", "aud"].into_iter().map(str::to_owned).collect();
    validation.set_issuer(&[rules.issuer]);
    validation.set_audience(&[rules.audience]);
    let data = jsonwebtoken::decode::<T>(token, &key.key, &validation).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => JwtError::Signature,
        ErrorKind::InvalidIssuer => JwtError::Issuer,
        ErrorKind::InvalidAudience => JwtError::Audience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => JwtError::Issuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => JwtError::Audience,
        ErrorKind::InvalidAlgorithm => JwtError::Algorithm,
        _ => JwtError::Malformed,
    })?;
    let claims = data.claims;
    if claims.expires_at() + rules.leeway <= rules.now {
        return Err(JwtError::Expired);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t - rules.leeway > rules.now);
    if future(claims.not_before()) || future(claims.issued_at()) {
        return Err(JwtError::NotYetValid);
    }
    Ok(claims)
}

/// Verifies the signature and issuer of `token` and nothing else: for an `id_token_hint` at
/// logout, which names its relying party even after it expired (OpenID Connect RP-Initiated
/// Logout §2). Never use it to authorize anything.
pub fn decode_hint<T: DeserializeOwned>(token: &str, key: &JwtVerifyingKey, issuer: &str) -> Result<T, JwtError> {
    let header = read_header(token)?;
    if header.alg != key.alg {
        return Err(JwtError::Algorithm);
    }
    install_provider();
    let mut validation = Validation::new(to_algorithm(key.alg));
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = ["iss"].into_iter().map(str::to_owned).collect();
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<T>(token, &key.key, &validation).map(|data| data.claims).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => JwtError::Signature,
        ErrorKind::InvalidIssuer | ErrorKind::MissingRequiredClaim(_) => JwtError::Issuer,
        _ => JwtError::Malformed,
    })
}

fn to_algorithm(alg: JwsAlgorithm) -> Algorithm {
    match alg {
        JwsAlgorithm::Rs256 => Algorithm::RS256,
        JwsAlgorithm::Es256 => Algorithm::ES256,
    }
}

/// Makes ring the process's JWT crypto provider (idempotent). Another provider installed first by
/// someone else would still refuse every algorithm but those its own keys support; ours is
/// installed before any token is encoded or decoded here.
fn install_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An Err means a provider is already installed; nothing more to do.
        let _ = RING_PROVIDER.install_default();
    });
}

static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

fn invalid_key() -> jsonwebtoken::errors::Error {
    jsonwebtoken::errors::Error::from(ErrorKind::InvalidKeyFormat)
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    let parsed = match LentSigner::take_for(alg, key) {
        Some(parsed) => parsed,
        None => Arc::new(RingSigner::from_pkcs8(*alg, key.inner())?),
    };
    Ok(Box::new(SharedSigner(parsed)))
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    use jsonwebtoken::DecodingKeyKind;
    match (alg, key.kind()) {
        (Algorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Ok(Box::new(RingVerifier::Rsa { n: n.clone(), e: e.clone() }))
        }
        (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) if point.len() == 1 + 2 * P256_COORDINATE_LEN => {
            Ok(Box::new(RingVerifier::Ecdsa(point.clone())))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

enum RingSigner {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

impl RingSigner {
    /// Parses a PKCS#8 document for `alg` (RS256 or ES256 only).
    fn from_pkcs8(alg: Algorithm, pkcs8: &[u8]) -> jsonwebtoken::errors::Result<RingSigner> {
        match alg {
            Algorithm::RS256 => Ok(RingSigner::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| invalid_key())?)),
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
                    .map_err(|_| invalid_key())?;
                Ok(RingSigner::Ecdsa(pair))
            }
            _ => Err(ErrorKind::InvalidAlgorithm.into()),
        }
    }

    fn alg(&self) -> Algorithm {
        match self {
            RingSigner::Rsa(_) => Algorithm::RS256,
            RingSigner::Ecdsa(_) => Algorithm::ES256,
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let rng = SystemRandom::new();
        match self {
            RingSigner::Rsa(pair) => {
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut out).map_err(|_| signature::Error::new())?;
                Ok(out)
            }
            RingSigner::Ecdsa(pair) => {
                Ok(pair.sign(&rng, message).map_err(|_| signature::Error::new())?.as_ref().to_vec())
            }
        }
    }
}

/// A parsed key as jsonwebtoken's signer: shared, so a lent key is not parsed again.
struct SharedSigner(Arc<RingSigner>);

impl signature::Signer<Vec<u8>> for SharedSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        self.0.sign(message)
    }
}

impl JwtSigner for SharedSigner {
    fn algorithm(&self) -> Algorithm {
        self.0.alg()
    }
}

enum RingVerifier {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ecdsa(Vec<u8>),
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let ok = match self {
            RingVerifier::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
            }
            RingVerifier::Ecdsa(point) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
            }
        };
        if ok { Ok(()) } else { Err(signature::Error::new()) }
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        match self {
            RingVerifier::Rsa { .. } => Algorithm::RS256,
            RingVerifier::Ecdsa(_) => Algorithm::ES256,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(Serialize)]
    struct Claims {
        sub: &'static str,
    }

    fn es256_key() -> JwtSigningKey {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        JwtSigningKey::from_pkcs8(JwsAlgorithm::Es256, pkcs8.as_ref())
    }

    #[test]
    fn the_parsed_key_is_lent_for_one_encoding_and_taken_back() {
        let key = es256_key();
        let token = key.encode("kid-1", "at+jwt", &Claims { sub: "s" }).unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert!(LENT.with_borrow(Option::is_none), "nothing stays lent after the call");
        // The factory's own parsing still serves a call without a lent key.
        install_provider();
        let header = Header::new(Algorithm::ES256);
        let direct = jsonwebtoken::encode(&header, &Claims { sub: "s" }, &key.key).unwrap();
        assert_eq!(direct.split('.').count(), 3);
    }

    #[test]
    fn a_lent_key_serves_only_the_key_it_was_lent_for() {
        let (lent, other) = (es256_key(), es256_key());
        let parsed = lent.parsed.clone().unwrap();
        let _lent = LentSigner::lend(&lent.key, &parsed);
        assert!(LentSigner::take_for(&Algorithm::ES256, &lent.key).is_some());
        assert!(LentSigner::take_for(&Algorithm::ES256, &other.key).is_none());
        assert!(LentSigner::take_for(&Algorithm::RS256, &lent.key).is_none());
    }
}
