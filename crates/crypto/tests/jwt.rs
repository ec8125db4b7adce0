//! JWT encoding and validation: round trips for RS256 and ES256, and every refusal the OIDC
//! issue lists (alg none, HS256 signed with the public key, expired, not yet valid, wrong
//! audience or issuer, wrong type, malformed, over-long, tampered).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use listone_crypto::jwt::{self, JwtError, JwtRules, JwtTimes, JwtVerifyingKey, MAX_TOKEN_BYTES};
use listone_crypto::{JwsAlgorithm, JwsKeyPair};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: Vec<String>,
    sub: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    iat: i64,
    scope: String,
}

impl JwtTimes for Claims {
    fn expires_at(&self) -> i64 {
        self.exp
    }
    fn not_before(&self) -> Option<i64> {
        self.nbf
    }
    fn issued_at(&self) -> Option<i64> {
        Some(self.iat)
    }
}

const NOW: i64 = 1_800_000_000;
const ISS: &str = "https://id.example.test";
const AUD: &str = "listone";

fn claims() -> Claims {
    Claims {
        iss: ISS.to_owned(),
        aud: vec![AUD.to_owned()],
        sub: "user-1".to_owned(),
        exp: NOW + 300,
        nbf: None,
        iat: NOW,
        scope: "openid crm.read".to_owned(),
    }
}

fn rules(now: i64) -> JwtRules<'static> {
    JwtRules { issuer: ISS, audience: AUD, typ: Some("at+jwt"), now, leeway: 60 }
}

fn key(alg: JwsAlgorithm) -> &'static JwsKeyPair {
    static RSA: OnceLock<JwsKeyPair> = OnceLock::new();
    static EC: OnceLock<JwsKeyPair> = OnceLock::new();
    let cell = match alg {
        JwsAlgorithm::Rs256 => &RSA,
        JwsAlgorithm::Es256 => &EC,
    };
    cell.get_or_init(|| JwsKeyPair::generate(alg).unwrap())
}

fn verifier(alg: JwsAlgorithm) -> JwtVerifyingKey {
    JwtVerifyingKey::from_public_jwk(key(alg).public_jwk()).unwrap()
}

fn token(alg: JwsAlgorithm, claims: &Claims) -> String {
    key(alg).encode_jwt("kid-1", "at+jwt", claims).unwrap()
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn tokens_round_trip_for_both_algorithms_with_kid_and_type() {
    for alg in JwsAlgorithm::ALL {
        let t = token(alg, &claims());
        let header = jwt::read_header(&t).unwrap();
        assert_eq!((header.alg, header.kid.as_deref(), header.typ.as_deref()), (alg, Some("kid-1"), Some("at+jwt")));
        assert_eq!(jwt::decode::<Claims>(&t, &verifier(alg), &rules(NOW)).unwrap(), claims());
    }
}

#[test]
fn a_token_verifies_only_with_its_own_key_and_algorithm() {
    let es = token(JwsAlgorithm::Es256, &claims());
    assert_eq!(jwt::decode::<Claims>(&es, &verifier(JwsAlgorithm::Rs256), &rules(NOW)), Err(JwtError::Algorithm));
    let other = JwsKeyPair::generate(JwsAlgorithm::Es256).unwrap();
    let other = JwtVerifyingKey::from_public_jwk(other.public_jwk()).unwrap();
    assert_eq!(jwt::decode::<Claims>(&es, &other, &rules(NOW)), Err(JwtError::Signature));
}

#[test]
fn alg_none_is_refused() {
    let header = serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": "kid-1"});
    let body = serde_json::to_value(claims()).unwrap();
    for t in [format!("{}.{}.", b64(&header), b64(&body)), format!("{}.{}.c2ln", b64(&header), b64(&body))] {
        assert!(matches!(jwt::read_header(&t), Err(JwtError::Algorithm | JwtError::Malformed)));
        for alg in JwsAlgorithm::ALL {
            assert!(jwt::decode::<Claims>(&t, &verifier(alg), &rules(NOW)).is_err());
        }
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    use listone_crypto::PublicJwk;
    let header = serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": "kid-1"});
    let body = serde_json::to_value(claims()).unwrap();
    let input = format!("{}.{}", b64(&header), b64(&body));
    // The classic confusion attack: HMAC keyed with the public key's bytes in every form.
    let PublicJwk::Rsa { n, e } = key(JwsAlgorithm::Rs256).public_jwk().clone() else { panic!() };
    for secret in [n.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(&n).unwrap(), format!("{n}{e}").into_bytes()] {
        let mac = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret), input.as_bytes());
        let t = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_eq!(jwt::read_header(&t), Err(JwtError::Algorithm));
        assert_eq!(jwt::decode::<Claims>(&t, &verifier(JwsAlgorithm::Rs256), &rules(NOW)), Err(JwtError::Algorithm));
    }
}

#[test]
fn expiry_and_not_before_run_on_the_callers_clock_with_leeway() {
    let t = token(JwsAlgorithm::Es256, &claims());
    let v = verifier(JwsAlgorithm::Es256);
    assert!(jwt::decode::<Claims>(&t, &v, &rules(NOW + 300 + 59)).is_ok());
    assert_eq!(jwt::decode::<Claims>(&t, &v, &rules(NOW + 300 + 60)), Err(JwtError::Expired));
    let future = Claims { nbf: Some(NOW + 600), exp: NOW + 900, ..claims() };
    let t = token(JwsAlgorithm::Es256, &future);
    assert_eq!(jwt::decode::<Claims>(&t, &v, &rules(NOW)), Err(JwtError::NotYetValid));
    assert!(jwt::decode::<Claims>(&t, &v, &rules(NOW + 600)).is_ok());
    let issued_later = Claims { iat: NOW + 3600, exp: NOW + 7200, ..claims() };
    let t = token(JwsAlgorithm::Es256, &issued_later);
    assert_eq!(jwt::decode::<Claims>(&t, &v, &rules(NOW)), Err(JwtError::NotYetValid));
}

#[test]
fn issuer_audience_and_type_are_checked() {
    let v = verifier(JwsAlgorithm::Es256);
    let wrong_aud = token(JwsAlgorithm::Es256, &Claims { aud: vec!["other".to_owned()], ..claims() });
    assert_eq!(jwt::decode::<Claims>(&wrong_aud, &v, &rules(NOW)), Err(JwtError::Audience));
    let wrong_iss = token(JwsAlgorithm::Es256, &Claims { iss: "https://evil.test".to_owned(), ..claims() });
    assert_eq!(jwt::decode::<Claims>(&wrong_iss, &v, &rules(NOW)), Err(JwtError::Issuer));
    let id_token = key(JwsAlgorithm::Es256).encode_jwt("kid-1", "JWT", &claims()).unwrap();
    assert_eq!(jwt::decode::<Claims>(&id_token, &v, &rules(NOW)), Err(JwtError::Type));
    let media_type = key(JwsAlgorithm::Es256).encode_jwt("kid-1", "application/at+jwt", &claims()).unwrap();
    assert!(jwt::decode::<Claims>(&media_type, &v, &rules(NOW)).is_ok());
}

#[test]
fn malformed_tampered_and_oversized_tokens_are_refused() {
    let v = verifier(JwsAlgorithm::Es256);
    let t = token(JwsAlgorithm::Es256, &claims());
    let (input, _) = t.rsplit_once('.').unwrap();
    let (header, _) = input.split_once('.').unwrap();
    let forged_body = b64(&serde_json::to_value(Claims { scope: "admin".to_owned(), ..claims() }).unwrap());
    let tampered = format!("{header}.{forged_body}.{}", t.rsplit_once('.').unwrap().1);
    assert_eq!(jwt::decode::<Claims>(&tampered, &v, &rules(NOW)), Err(JwtError::Signature));
    for bad in ["", "abc", "a.b", "a.b.c.d", "!!.??.##", &format!("{header}.bm90IGpzb24.AAAA")] {
        assert!(jwt::decode::<Claims>(bad, &v, &rules(NOW)).is_err(), "{bad}");
    }
    let huge = format!("{t}{}", "A".repeat(MAX_TOKEN_BYTES));
    assert_eq!(jwt::read_header(&huge), Err(JwtError::Malformed));
    // Claims missing `exp` do not validate.
    let no_exp = serde_json::json!({"iss": ISS, "aud": [AUD], "sub": "x", "iat": NOW, "scope": ""});
    let t = key(JwsAlgorithm::Es256).encode_jwt("kid-1", "at+jwt", &no_exp).unwrap();
    assert!(jwt::decode::<Claims>(&t, &v, &rules(NOW)).is_err());
}
