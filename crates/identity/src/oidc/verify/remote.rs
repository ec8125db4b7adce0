//! [`RemoteJwks`]: the issuer's JWK Set fetched over HTTP, for a service running in another
//! process. Keys are kept in memory; the document is fetched on first use, again on an unknown
//! `kid` (at most once per `min_refresh_interval`, concurrent misses sharing one fetch), and in
//! the background of a verification once older than `max_age`. A failed fetch keeps the keys
//! already known, so an issuer outage does not stop tokens signed by known keys.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use listone_core::{Error, SharedClock, Violations};
use listone_crypto::JwsAlgorithm;
use listone_crypto::jwt::JwtVerifyingKey;
use serde::Deserialize;

use super::gate::RefreshGate;
use super::{DEFAULT_MIN_REFRESH_INTERVAL, KeySource};
use crate::oidc::keys::public_jwk_from_json;

/// Default time allowed for one JWKS request, connection included.
pub const DEFAULT_JWKS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Default largest JWKS document read; a larger one is refused unread past this point.
pub const DEFAULT_JWKS_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default age after which the JWKS is refetched in the background (the issuer's `max-age`).
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::minutes(5);

/// How a [`RemoteJwks`] fetches and caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteJwksConfig {
    /// Time allowed for one request, connection included (default 5 s).
    pub timeout: std::time::Duration,
    /// Largest document read (default 64 KiB).
    pub max_body_bytes: usize,
    /// Least time between two fetches started by unknown kids, on the platform clock (default
    /// 30 s): a flood of tokens with random kids costs at most one fetch per interval.
    pub min_refresh_interval: Duration,
    /// Age after which the keys are refetched in the background of a verification (default 5 min).
    pub max_age: Duration,
}

impl Default for RemoteJwksConfig {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_JWKS_TIMEOUT,
            max_body_bytes: DEFAULT_JWKS_MAX_BODY_BYTES,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            max_age: DEFAULT_JWKS_MAX_AGE,
        }
    }
}

impl RemoteJwksConfig {
    /// INVALID_ARGUMENT naming every field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(self.timeout.is_zero(), "jwks.timeout", "must be positive");
        v.check(self.max_body_bytes == 0, "jwks.max_body_bytes", "must be positive");
        v.check(self.min_refresh_interval < Duration::zero(), "jwks.min_refresh_interval", "must not be negative");
        v.check(self.max_age <= Duration::zero(), "jwks.max_age", "must be positive");
        v.into_result()
    }
}

/// The issuer's signing keys, fetched from its `jwks_uri` and cached in memory.
#[derive(Debug, Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    url: reqwest::Url,
    config: RemoteJwksConfig,
    clock: SharedClock,
    http: reqwest::Client,
    cache: RwLock<Cache>,
    gate: RefreshGate,
    /// Whether a background refresh is under way (one at a time).
    background: AtomicBool,
}

#[derive(Debug, Default)]
struct Cache {
    keys: HashMap<String, JwtVerifyingKey>,
    /// When the keys were last fetched successfully; `None` before the first fetch.
    fetched_at: Option<DateTime<Utc>>,
}

impl RemoteJwks {
    /// Keys from `jwks_url` (the issuer's `/.well-known/jwks.json`), nothing fetched yet.
    /// INVALID_ARGUMENT for a URL that is not absolute http(s) or a config out of range.
    pub fn new(jwks_url: &str, config: RemoteJwksConfig, clock: SharedClock) -> Result<Self, Error> {
        config.validate()?;
        let url = reqwest::Url::parse(jwks_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.has_host())
            .ok_or_else(|| Error::invalid("jwks.url", "must be an absolute http(s) URL"))?;
        if url.scheme() == "http" && !is_loopback(&url) {
            tracing::warn!(url = %url, "the JWKS is fetched over plain HTTP; use HTTPS outside a trusted network");
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // The keys come from the configured URL only, never from wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("listone/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| Error::internal("the JWKS HTTP client could not be built"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                config,
                clock,
                http,
                cache: RwLock::new(Cache::default()),
                gate: RefreshGate::new(config.min_refresh_interval),
                background: AtomicBool::new(false),
            }),
        })
    }

    /// The kids currently known, sorted (for diagnostics and tests).
    pub fn known_kids(&self) -> Vec<String> {
        let cache = self.inner.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut kids: Vec<_> = cache.keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    /// Starts one background refresh unless one is under way or there is no runtime.
    fn refresh_in_background(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        runtime.spawn(async move {
            let _running = BackgroundFlag(&inner.background);
            // Failures are logged by `refresh`; the old keys stay.
            let _ = inner.refresh().await;
        });
    }
}

/// Clears the background flag however the task ends.
struct BackgroundFlag<'a>(&'a AtomicBool);

impl Drop for BackgroundFlag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[async_trait::async_trait]
impl KeySource for RemoteJwks {
    fn key(&self, kid: &str) -> Option<JwtVerifyingKey> {
        let now = self.inner.clock.now();
        let (key, stale) = {
            let cache = self.inner.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            let stale = cache.fetched_at.is_some_and(|at| now >= at + self.inner.config.max_age);
            (cache.keys.get(kid).cloned(), stale)
        };
        // Old keys still verify: keys leave the JWKS only after their tokens have expired.
        if stale {
            self.refresh_in_background();
        }
        key
    }

    async fn refresh(&self) -> Result<(), Error> {
        self.inner.refresh().await
    }
}

impl Inner {
    async fn refresh(&self) -> Result<(), Error> {
        let result = self.gate.run(self.clock.as_ref(), || self.fetch()).await;
        if let Err(error) = &result {
            tracing::warn!(url = %self.url, error = %error, "fetching the JWKS failed; the known keys stay");
        }
        result.map(|_| ())
    }

    async fn fetch(&self) -> Result<(), Error> {
        let body = self.download().await?;
        let keys = parse_jwks(&body).ok_or_else(|| unavailable("not a JWK Set"))?;
        let fetched_at = self.clock.now();
        tracing::debug!(url = %self.url, keys = keys.len(), "fetched the JWKS");
        *self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Cache { keys, fetched_at: Some(fetched_at) };
        Ok(())
    }

    /// The document's bytes, refused once past `max_body_bytes`.
    async fn download(&self) -> Result<Vec<u8>, Error> {
        let max = self.config.max_body_bytes;
        let mut response = self
            .http
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|_| unavailable("unreachable"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(&format!("answered HTTP {}", status.as_u16())));
        }
        if response.content_length().is_some_and(|length| length > max as u64) {
            return Err(unavailable("document too large"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| unavailable("unreadable"))? {
            if body.len() + chunk.len() > max {
                return Err(unavailable("document too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn unavailable(why: &str) -> Error {
    Error::Unavailable { what: format!("the issuer's JWKS ({why})") }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>();
    host == "localhost" || ip.is_ok_and(|ip| ip.is_loopback())
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

/// The signing keys of a JWK Set by kid; `None` when the document is not a JWK Set. Keys without
/// a kid, not for signatures, of another type or whose members do not decode are skipped.
fn parse_jwks(body: &[u8]) -> Option<HashMap<String, JwtVerifyingKey>> {
    let set: JwkSet = serde_json::from_slice(body).ok()?;
    let mut keys = HashMap::with_capacity(set.keys.len());
    let mut skipped = 0usize;
    for jwk in &set.keys {
        match verifying_key(jwk) {
            // The first key under a kid wins; a set repeating a kid is the issuer's mistake.
            Some((kid, key)) => {
                keys.entry(kid).or_insert(key);
            }
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::debug!(skipped, "JWKS keys skipped (no kid, not for signing, or unsupported)");
    }
    Some(keys)
}

fn verifying_key(jwk: &serde_json::Value) -> Option<(String, JwtVerifyingKey)> {
    let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
    let kid = member("kid").filter(|kid| !kid.is_empty())?;
    if member("use") != Some("sig") {
        return None;
    }
    let key = JwtVerifyingKey::from_public_jwk(&public_jwk_from_json(&jwk.to_string())?)?;
    // An `alg` member, when present, must be the key type's one algorithm.
    if let Some(alg) = jwk.get("alg")
        && alg.as_str().and_then(JwsAlgorithm::from_name) != Some(key.algorithm())
    {
        return None;
    }
    Some((kid.to_owned(), key))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rsa_jwk() -> serde_json::Value {
        // A 2048-bit modulus of the right shape; only its decoding matters here.
        let n = data_encoding::BASE64URL_NOPAD.encode(&[0xc5; 256]);
        serde_json::json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "rsa-1", "n": n, "e": "AQAB"})
    }

    #[test]
    fn signing_keys_are_kept_and_others_skipped() {
        let good = rsa_jwk();
        let mut no_kid = good.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut no_use = good.clone();
        no_use.as_object_mut().unwrap().remove("use");
        let mut encryption = good.clone();
        encryption["use"] = "enc".into();
        encryption["kid"] = "enc-1".into();
        let mut wrong_alg = good.clone();
        wrong_alg["alg"] = "ES256".into();
        wrong_alg["kid"] = "wrong-alg".into();
        let hmac = serde_json::json!({"kty": "oct", "use": "sig", "kid": "oct-1", "k": "c2VjcmV0"});
        let bad_curve =
            serde_json::json!({"kty": "EC", "crv": "P-256", "use": "sig", "kid": "ec-1", "x": "eA", "y": "eQ"});
        let set = serde_json::json!({"keys": [good, no_kid, no_use, encryption, wrong_alg, hmac, bad_curve]});
        let keys = parse_jwks(set.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["rsa-1"]);
        assert_eq!(keys["rsa-1"].algorithm(), JwsAlgorithm::Rs256);
    }

    #[test]
    fn documents_that_are_not_jwk_sets_are_refused() {
        for body in [&b"not json"[..], b"{}", b"{\"keys\": {}}", b"[]", b""] {
            assert!(parse_jwks(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
        assert!(parse_jwks(b"{\"keys\": []}").unwrap().is_empty());
    }

    #[test]
    fn config_and_url_are_validated() {
        let clock: SharedClock = Arc::new(listone_core::TestClock::starting_now());
        assert!(
            RemoteJwks::new(
                "https://id.example.test/.well-known/jwks.json",
                RemoteJwksConfig::default(),
                clock.clone()
            )
            .is_ok()
        );
        for url in ["ftp://id.example.test/jwks", "/.well-known/jwks.json", "not a url"] {
            assert!(matches!(
                RemoteJwks::new(url, RemoteJwksConfig::default(), clock.clone()),
                Err(Error::InvalidArgument { .. })
            ));
        }
        let bad = RemoteJwksConfig {
            timeout: std::time::Duration::ZERO,
            max_body_bytes: 0,
            min_refresh_interval: Duration::seconds(-1),
            max_age: Duration::zero(),
        };
        match bad.validate() {
            Err(Error::InvalidArgument { violations }) => assert_eq!(violations.len(), 4),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }
}
