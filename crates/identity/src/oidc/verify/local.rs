//! [`LocalKeys`]: verification keys straight from the issuer's own [`SigningKeys`], for a
//! process that also issues tokens (the all-in-one server). No HTTP, and no database on the hot
//! path: a kid's key is converted once and kept until the key leaves the JWKS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use listone_core::{Error, SharedClock};
use listone_crypto::jwt::JwtVerifyingKey;

use super::gate::RefreshGate;
use super::{DEFAULT_MIN_REFRESH_INTERVAL, KeySource};
use crate::oidc::keys::SigningKeys;

/// The published keys of a [`SigningKeys`] in this process, as verifying keys.
#[derive(Debug, Clone)]
pub struct LocalKeys {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: SigningKeys,
    clock: SharedClock,
    /// Converted keys by kid. A kid is the thumbprint of its key, so an entry never goes stale;
    /// it only stops counting once the key leaves the JWKS.
    cache: RwLock<HashMap<String, CachedKey>>,
    gate: RefreshGate,
}

#[derive(Debug, Clone)]
struct CachedKey {
    key: JwtVerifyingKey,
    publish_at: DateTime<Utc>,
    expire_at: DateTime<Utc>,
}

impl CachedKey {
    fn is_published(&self, now: DateTime<Utc>) -> bool {
        self.publish_at <= now && now < self.expire_at
    }
}

impl LocalKeys {
    /// Over `keys`; a database reload on an unknown kid runs at most once per
    /// [`DEFAULT_MIN_REFRESH_INTERVAL`].
    pub fn new(keys: SigningKeys, clock: SharedClock) -> Self {
        Self::with_min_refresh_interval(keys, clock, DEFAULT_MIN_REFRESH_INTERVAL)
    }

    /// Over `keys`, reloading from the database at most once per `min_refresh_interval`.
    pub fn with_min_refresh_interval(keys: SigningKeys, clock: SharedClock, min_refresh_interval: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                keys,
                clock,
                cache: RwLock::new(HashMap::new()),
                gate: RefreshGate::new(min_refresh_interval),
            }),
        }
    }
}

#[async_trait::async_trait]
impl KeySource for LocalKeys {
    fn key(&self, kid: &str) -> Option<JwtVerifyingKey> {
        let inner = &self.inner;
        let now = inner.clock.now();
        {
            let cache = inner.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(cached) = cache.get(kid) {
                return cached.is_published(now).then(|| cached.key.clone());
            }
        }
        // Not converted yet: the signing keys' own memory, still no I/O.
        let info = inner.keys.published(now).into_iter().find(|info| info.kid == kid)?;
        let cached = CachedKey {
            key: JwtVerifyingKey::from_public_jwk(&info.public)?,
            publish_at: info.publish_at,
            expire_at: info.expire_at,
        };
        let key = cached.key.clone();
        let mut cache = inner.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.retain(|_, cached| cached.expire_at > now);
        cache.insert(info.kid, cached);
        Some(key)
    }

    async fn refresh(&self) -> Result<(), Error> {
        let inner = &self.inner;
        inner.gate.run(inner.clock.as_ref(), || inner.keys.reload_now()).await.map(|_| ())
    }
}
