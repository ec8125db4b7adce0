//! The OpenID Connect token-signing keys of the platform (one issuer, not per org): one RS256 and
//! one ES256 key signing at any instant, rotated on a schedule, published in the JWKS before
//! they sign and kept there after they retire until every token they signed has expired.
//!
//! Each key's whole life is written as instants when it is created: `publish_at` (enters the
//! JWKS), `activate_at` (starts signing; the predecessor's `retire_at`), `retire_at` (stops
//! signing) and `expire_at` (leaves the JWKS and is deleted). So which key signs is a pure
//! function of the clock, the same in every process; [`SigningKeys::rotate_if_due`] only has
//! to create each successor a `publish_ahead` early. Private keys are stored wrapped under the
//! master key; each process unwraps them once into an in-memory cache, so signing never
//! touches the database or re-parses a key.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use listone_core::db::Engine;
use listone_core::{Database, Error, SharedClock, Violations};
use listone_crypto::{Aad, CryptoError, JwsAlgorithm, JwsKeyPair, MasterKey, PublicJwk, WrappedSecret};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult, Value};

/// Shortest rotation period a policy may set.
pub const MIN_ROTATE_EVERY: Duration = Duration::hours(1);
/// Longest rotation period (and longest token lifetime) a policy may set.
pub const MAX_ROTATE_EVERY: Duration = Duration::days(365);
/// Domain of the associated data binding a wrapped key to its kid and algorithm.
const KEY_WRAP_DOMAIN: &str = "listone.oidc_signing_key";
/// PostgreSQL advisory lock serializing rotations across processes (SQLite: `BEGIN IMMEDIATE`).
const ROTATION_LOCK_ID: i64 = 0x4f49_4443_4b45_5953; // "OIDCKEYS"

/// When keys rotate and how long they are published around their signing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long each key signs (default 30 days).
    pub rotate_every: Duration,
    /// How long a new key is in the JWKS before it signs, so verifiers' caches know it (default 1 day).
    pub publish_ahead: Duration,
    /// The longest lifetime of a token signed by these keys: a retired key stays in the JWKS this
    /// long (default 1 day).
    pub max_token_lifetime: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            rotate_every: Duration::days(30),
            publish_ahead: Duration::days(1),
            max_token_lifetime: Duration::days(1),
        }
    }
}

impl RotationPolicy {
    /// INVALID_ARGUMENT naming every field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(
            self.rotate_every < MIN_ROTATE_EVERY || self.rotate_every > MAX_ROTATE_EVERY,
            "rotation_policy.rotate_every",
            "must be between 1 hour and 365 days",
        );
        v.check(
            self.publish_ahead <= Duration::zero() || self.publish_ahead >= self.rotate_every,
            "rotation_policy.publish_ahead",
            "must be positive and shorter than rotate_every",
        );
        v.check(
            self.max_token_lifetime <= Duration::zero() || self.max_token_lifetime > MAX_ROTATE_EVERY,
            "rotation_policy.max_token_lifetime",
            "must be between 1 microsecond and 365 days",
        );
        v.into_result()
    }
}

/// A signing key's public half and schedule, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    /// Key id: the RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// The algorithm it signs with.
    pub alg: JwsAlgorithm,
    /// The public key.
    pub public: PublicJwk,
    /// When it was generated.
    pub created_at: DateTime<Utc>,
    /// When it enters the JWKS.
    pub publish_at: DateTime<Utc>,
    /// When it starts signing.
    pub activate_at: DateTime<Utc>,
    /// When it stops signing.
    pub retire_at: DateTime<Utc>,
    /// When it leaves the JWKS (no token it signed is still valid).
    pub expire_at: DateTime<Utc>,
}

impl SigningKeyInfo {
    /// Whether the key is in the JWKS at `now`.
    pub fn is_published(&self, now: DateTime<Utc>) -> bool {
        self.publish_at <= now && now < self.expire_at
    }

    /// Whether the key signs at `now`.
    pub fn signs_at(&self, now: DateTime<Utc>) -> bool {
        self.activate_at <= now && now < self.retire_at
    }

    /// The RFC 7517 JWK: `kty`, `use`, `alg`, `kid` and the public key members.
    pub fn jwk(&self) -> serde_json::Value {
        let mut jwk = serde_json::Map::new();
        jwk.insert("use".to_owned(), "sig".into());
        jwk.insert("alg".to_owned(), self.alg.name().into());
        jwk.insert("kid".to_owned(), self.kid.clone().into());
        for (name, value) in self.public.members() {
            jwk.insert(name.to_owned(), value.into());
        }
        serde_json::Value::Object(jwk)
    }
}

/// The instants of a key about to be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Schedule {
    publish_at: DateTime<Utc>,
    activate_at: DateTime<Utc>,
    retire_at: DateTime<Utc>,
    expire_at: DateTime<Utc>,
}

/// The key `alg` needs created at `now`, if any: the first one (signing at once); a successor
/// once the newest key is within `publish_ahead` of retiring (signing when it retires); or, when
/// rotation did not run in time and nothing signs, one signing at once.
fn next_key_schedule<'a>(
    existing: impl IntoIterator<Item = &'a SigningKeyInfo>,
    now: DateTime<Utc>,
    policy: &RotationPolicy,
) -> Option<Schedule> {
    let newest = existing.into_iter().max_by_key(|key| key.activate_at);
    let (publish_at, activate_at) = match newest {
        None => (now, now),
        Some(key) if key.retire_at <= now => (now, now),
        Some(key) if now >= key.retire_at - policy.publish_ahead => (now, key.retire_at),
        Some(_) => return None,
    };
    let retire_at = activate_at + policy.rotate_every;
    Some(Schedule { publish_at, activate_at, retire_at, expire_at: retire_at + policy.max_token_lifetime })
}

/// A key as cached: its public half and the unwrapped pair.
#[derive(Debug)]
struct CachedKey {
    info: SigningKeyInfo,
    kid: Arc<str>,
    pair: Arc<JwsKeyPair>,
}

/// The platform's token-signing keys: rotation in the database, unwrapped keys in memory.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    db: Database,
    master: Arc<MasterKey>,
    clock: SharedClock,
    policy: RotationPolicy,
    cache: Arc<RwLock<Vec<CachedKey>>>,
}

impl SigningKeys {
    /// Loads the keys, creating the first RS256 and ES256 keys (or any rotation due) now.
    /// INVALID_ARGUMENT for a bad policy; FAILED_PRECONDITION when a stored key cannot be
    /// unwrapped with `master` (another master key is configured).
    pub async fn load_or_create(
        db: Database,
        master: Arc<MasterKey>,
        clock: SharedClock,
        policy: RotationPolicy,
    ) -> Result<Self, Error> {
        policy.validate()?;
        let keys = Self { db, master, clock, policy, cache: Arc::new(RwLock::new(Vec::new())) };
        let now = keys.clock.now();
        keys.rotate_if_due(now).await?;
        Ok(keys)
    }

    /// The rotation policy in force.
    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// Creates every key due at `now` (a successor `publish_ahead` before its predecessor
    /// retires), deletes keys whose tokens have all expired, and reloads the cache with what
    /// other processes created. Idempotent and safe to run from several processes at once;
    /// run it periodically, well within `publish_ahead`. Returns the keys it created.
    pub async fn rotate_if_due(&self, now: DateTime<Utc>) -> Result<Vec<SigningKeyInfo>, Error> {
        // Generate outside the write lock (RSA takes a while); another process may win the race,
        // in which case the spare key is dropped unused.
        let stored = load_infos(self.db.conn()).await?;
        let mut generated = HashMap::new();
        for alg in JwsAlgorithm::ALL {
            if next_key_schedule(stored.iter().filter(|key| key.alg == alg), now, &self.policy).is_some() {
                generated.insert(alg, generate(alg).await?);
            }
        }
        let mut created = Vec::new();
        if !generated.is_empty() || stored.iter().any(|key| key.expire_at <= now) {
            let txn = self.db.begin().await?;
            lock_rotation(&txn, self.db.engine()).await?;
            let stored = load_infos(&txn).await?;
            for alg in JwsAlgorithm::ALL {
                let Some(schedule) = next_key_schedule(stored.iter().filter(|key| key.alg == alg), now, &self.policy)
                else {
                    continue;
                };
                let pair = match generated.remove(&alg) {
                    Some(pair) => pair,
                    None => generate(alg).await?,
                };
                created.push(self.insert(&txn, &pair, schedule, now).await?);
            }
            listone_core::db::execute(
                &txn,
                "DELETE FROM oidc_signing_key WHERE expire_at_us <= $1",
                [Value::from(now.timestamp_micros())],
            )
            .await?;
            txn.commit().await?;
        }
        for key in &created {
            tracing::info!(kid = %key.kid, alg = %key.alg, activate_at = %key.activate_at, "created OIDC signing key");
        }
        self.reload(now).await?;
        Ok(created)
    }

    /// The key that signs `alg` tokens at `now`, from memory: its kid and the key pair.
    /// FAILED_PRECONDITION when none is active (rotation has not run since the last retired).
    pub fn signing_key(&self, alg: JwsAlgorithm, now: DateTime<Utc>) -> Result<(Arc<str>, Arc<JwsKeyPair>), Error> {
        let cache = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .iter()
            .filter(|key| key.info.alg == alg && key.info.signs_at(now))
            .max_by_key(|key| key.info.activate_at)
            .map(|key| (key.kid.clone(), key.pair.clone()))
            .ok_or_else(|| Error::FailedPrecondition {
                reason: "NO_ACTIVE_SIGNING_KEY",
                message: format!("no {alg} signing key is active; key rotation has not run in time"),
            })
    }

    /// Every key in the JWKS at `now`, by algorithm then activation.
    pub fn published(&self, now: DateTime<Utc>) -> Vec<SigningKeyInfo> {
        let cache = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut keys: Vec<_> =
            cache.iter().filter(|key| key.info.is_published(now)).map(|key| key.info.clone()).collect();
        keys.sort_by_key(|key| (JwsAlgorithm::ALL.iter().position(|alg| *alg == key.alg), key.activate_at));
        keys
    }

    /// The JWK Set (RFC 7517) at `now`: every published, unexpired key.
    pub fn jwks(&self, now: DateTime<Utc>) -> serde_json::Value {
        let keys: Vec<_> = self.published(now).iter().map(SigningKeyInfo::jwk).collect();
        serde_json::json!({ "keys": keys })
    }

    async fn insert(
        &self,
        txn: &DatabaseTransaction,
        pair: &JwsKeyPair,
        schedule: Schedule,
        now: DateTime<Utc>,
    ) -> Result<SigningKeyInfo, Error> {
        let alg = pair.algorithm();
        let kid = pair.public_jwk().thumbprint();
        let wrapped = pair.wrap(&self.master, &wrap_context(&kid, alg))?;
        let public: serde_json::Map<String, serde_json::Value> =
            pair.public_jwk().members().into_iter().map(|(name, value)| (name.to_owned(), value.into())).collect();
        listone_core::db::execute(
            txn,
            "INSERT INTO oidc_signing_key (kid, alg, public_jwk, private_wrapped, created_at_us, publish_at_us, \
             activate_at_us, retire_at_us, expire_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                Value::from(kid.clone()),
                Value::from(alg.name().to_owned()),
                Value::from(serde_json::Value::Object(public).to_string()),
                Value::from(wrapped.to_bytes()),
                Value::from(now.timestamp_micros()),
                Value::from(schedule.publish_at.timestamp_micros()),
                Value::from(schedule.activate_at.timestamp_micros()),
                Value::from(schedule.retire_at.timestamp_micros()),
                Value::from(schedule.expire_at.timestamp_micros()),
            ],
        )
        .await?;
        Ok(SigningKeyInfo {
            kid,
            alg,
            public: pair.public_jwk().clone(),
            created_at: now,
            publish_at: schedule.publish_at,
            activate_at: schedule.activate_at,
            retire_at: schedule.retire_at,
            expire_at: schedule.expire_at,
        })
    }

    /// Reloads the cache from the database at the clock's now, picking up keys other processes
    /// created (a verifier's refresh on an unknown `kid`).
    pub async fn reload_now(&self) -> Result<(), Error> {
        self.reload(self.clock.now()).await
    }

    /// Replaces the cache with the unexpired stored keys, unwrapping only keys not cached yet.
    async fn reload(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {KEY_COLUMNS}, private_wrapped FROM oidc_signing_key WHERE expire_at_us > $1"),
            [Value::from(now.timestamp_micros())],
        );
        let rows = conn.query_all_raw(stmt).await?;
        let mut known: HashMap<String, Arc<JwsKeyPair>> = {
            let cache = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            cache.iter().map(|key| (key.info.kid.clone(), key.pair.clone())).collect()
        };
        let mut fresh = Vec::with_capacity(rows.len());
        for row in &rows {
            let info = info_from_row(row)?;
            let pair = match known.remove(&info.kid) {
                Some(pair) => pair,
                None => Arc::new(self.unwrap(&info, &row.try_get::<Vec<u8>>("", "private_wrapped")?)?),
            };
            fresh.push(CachedKey { kid: Arc::from(info.kid.as_str()), info, pair });
        }
        *self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        Ok(())
    }

    fn unwrap(&self, info: &SigningKeyInfo, wrapped: &[u8]) -> Result<JwsKeyPair, Error> {
        let wrapped = WrappedSecret::from_bytes(wrapped)?;
        let pair = match JwsKeyPair::unwrap(info.alg, &self.master, &wrapped, &wrap_context(&info.kid, info.alg)) {
            Ok(pair) => pair,
            Err(CryptoError::KeyWrap) => {
                tracing::error!(kid = %info.kid, "OIDC signing key cannot be unwrapped with the configured master key");
                return Err(Error::FailedPrecondition {
                    reason: "SIGNING_KEY_MASTER_KEY_MISMATCH",
                    message: "an OIDC signing key cannot be unwrapped with the configured master key; configure \
                              the master key the keys were created with"
                        .to_owned(),
                });
            }
            Err(other) => return Err(other.into()),
        };
        if pair.public_jwk() != &info.public {
            return Err(Error::internal("OIDC signing key does not match its stored public key"));
        }
        Ok(pair)
    }
}

/// Columns of a key's public half and schedule.
const KEY_COLUMNS: &str =
    "kid, alg, public_jwk, created_at_us, publish_at_us, activate_at_us, retire_at_us, expire_at_us";

fn wrap_context(kid: &str, alg: JwsAlgorithm) -> Aad {
    Aad::new(KEY_WRAP_DOMAIN).with("kid", kid).with("alg", alg.name())
}

async fn generate(alg: JwsAlgorithm) -> Result<JwsKeyPair, Error> {
    // RSA generation is CPU-heavy; keep it off the async workers.
    tokio::task::spawn_blocking(move || JwsKeyPair::generate(alg))
        .await
        .map_err(|_| Error::internal("signing key generation task failed"))?
        .map_err(Error::from)
}

async fn lock_rotation(txn: &DatabaseTransaction, engine: Engine) -> Result<(), Error> {
    if engine == Engine::Postgres {
        let stmt = listone_core::db::statement(
            txn.get_database_backend(),
            "SELECT pg_advisory_xact_lock($1)",
            [Value::from(ROTATION_LOCK_ID)],
        );
        txn.query_one_raw(stmt).await?;
    }
    Ok(())
}

async fn load_infos<C: ConnectionTrait>(conn: &C) -> Result<Vec<SigningKeyInfo>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        &format!("SELECT {KEY_COLUMNS} FROM oidc_signing_key"),
        Vec::new(),
    );
    conn.query_all_raw(stmt).await?.iter().map(info_from_row).collect()
}

fn info_from_row(row: &QueryResult) -> Result<SigningKeyInfo, Error> {
    let at = |column: &str| -> Result<DateTime<Utc>, Error> {
        DateTime::from_timestamp_micros(row.try_get::<i64>("", column)?)
            .ok_or_else(|| Error::internal("OIDC signing key timestamp out of range"))
    };
    let alg = JwsAlgorithm::from_name(&row.try_get::<String>("", "alg")?)
        .ok_or_else(|| Error::internal("OIDC signing key has an unknown alg"))?;
    let public = public_jwk_from_json(&row.try_get::<String>("", "public_jwk")?)
        .ok_or_else(|| Error::internal("OIDC signing key has a malformed public JWK"))?;
    if public.algorithm() != alg {
        return Err(Error::internal("OIDC signing key type does not match its alg"));
    }
    Ok(SigningKeyInfo {
        kid: row.try_get("", "kid")?,
        alg,
        public,
        created_at: at("created_at_us")?,
        publish_at: at("publish_at_us")?,
        activate_at: at("activate_at_us")?,
        retire_at: at("retire_at_us")?,
        expire_at: at("expire_at_us")?,
    })
}

/// Reads the stored public members (`kty` and the key's own) back into a [`PublicJwk`].
pub fn public_jwk_from_json(text: &str) -> Option<PublicJwk> {
    let jwk: serde_json::Value = serde_json::from_str(text).ok()?;
    let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    match member("kty")?.as_str() {
        "RSA" => Some(PublicJwk::Rsa { n: member("n")?, e: member("e")? }),
        "EC" if member("crv")? == "P-256" => Some(PublicJwk::P256 { x: member("x")?, y: member("y")? }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::days(days)
    }

    fn key(activate: i64, policy: &RotationPolicy) -> SigningKeyInfo {
        let activate_at = t(activate);
        let retire_at = activate_at + policy.rotate_every;
        SigningKeyInfo {
            kid: format!("k{activate}"),
            alg: JwsAlgorithm::Es256,
            public: PublicJwk::P256 { x: String::new(), y: String::new() },
            created_at: activate_at,
            publish_at: activate_at,
            activate_at,
            retire_at,
            expire_at: retire_at + policy.max_token_lifetime,
        }
    }

    #[test]
    fn default_policy_is_valid_and_bad_fields_are_all_named() {
        RotationPolicy::default().validate().unwrap();
        let bad = RotationPolicy {
            rotate_every: Duration::minutes(5),
            publish_ahead: Duration::zero(),
            max_token_lifetime: Duration::days(400),
        };
        match bad.validate() {
            Err(Error::InvalidArgument { violations }) => {
                let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(
                    fields,
                    [
                        "rotation_policy.rotate_every",
                        "rotation_policy.publish_ahead",
                        "rotation_policy.max_token_lifetime"
                    ]
                );
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
        let ahead_too_long = RotationPolicy { publish_ahead: Duration::days(30), ..RotationPolicy::default() };
        assert!(ahead_too_long.validate().is_err());
    }

    #[test]
    fn first_key_signs_at_once() {
        let policy = RotationPolicy::default();
        let schedule = next_key_schedule([], t(0), &policy).unwrap();
        assert_eq!(schedule, Schedule { publish_at: t(0), activate_at: t(0), retire_at: t(30), expire_at: t(31) });
    }

    #[test]
    fn successor_is_published_ahead_and_signs_when_the_current_key_retires() {
        let policy = RotationPolicy::default();
        let current = key(0, &policy);
        assert_eq!(next_key_schedule([&current], t(28), &policy), None);
        assert_eq!(next_key_schedule([&current], t(29) - Duration::seconds(1), &policy), None);
        let schedule = next_key_schedule([&current], t(29), &policy).unwrap();
        assert_eq!(schedule, Schedule { publish_at: t(29), activate_at: t(30), retire_at: t(60), expire_at: t(61) });
        // Once the successor exists nothing more is due.
        let successor = key(30, &policy);
        assert_eq!(next_key_schedule([&current, &successor], t(29), &policy), None);
        assert_eq!(next_key_schedule([&successor, &current], t(45), &policy), None);
    }

    #[test]
    fn late_rotation_creates_a_key_that_signs_at_once() {
        let policy = RotationPolicy::default();
        let current = key(0, &policy);
        let schedule = next_key_schedule([&current], t(40), &policy).unwrap();
        assert_eq!(schedule.publish_at, t(40));
        assert_eq!(schedule.activate_at, t(40));
    }

    #[test]
    fn jwk_carries_use_alg_kid_and_members() {
        let info = SigningKeyInfo {
            public: PublicJwk::Rsa { n: "AQAB".into(), e: "AQAB".into() },
            alg: JwsAlgorithm::Rs256,
            ..key(0, &RotationPolicy::default())
        };
        assert_eq!(
            info.jwk(),
            serde_json::json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k0", "n": "AQAB", "e": "AQAB" })
        );
    }

    #[test]
    fn stored_public_jwk_parses_back_and_rejects_other_curves() {
        let rsa = PublicJwk::Rsa { n: "bg".into(), e: "AQAB".into() };
        assert_eq!(public_jwk_from_json(r#"{"e":"AQAB","kty":"RSA","n":"bg"}"#), Some(rsa));
        let ec = PublicJwk::P256 { x: "eA".into(), y: "eQ".into() };
        assert_eq!(public_jwk_from_json(r#"{"crv":"P-256","kty":"EC","x":"eA","y":"eQ"}"#), Some(ec));
        assert_eq!(public_jwk_from_json(r#"{"crv":"P-384","kty":"EC","x":"eA","y":"eQ"}"#), None);
        assert_eq!(public_jwk_from_json(r#"{"kty":"oct","k":"eA"}"#), None);
        assert_eq!(public_jwk_from_json("not json"), None);
    }
}
