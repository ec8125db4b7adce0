//! OIDC token-signing keys on a real database (SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL): first keys, JWKS, rotation published ahead, retirement and expiry,
//! restart, and a wrong master key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use listone_core::{Error, SharedClock, TestClock};
use listone_crypto::{JwsAlgorithm, MasterKey, PublicJwk, verify_jws_signature};
use listone_identity::oidc::keys::{RotationPolicy, SigningKeys, public_jwk_from_json};
use listone_testdb::TestDatabase;

const MESSAGE: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ";

struct Setup {
    db: TestDatabase,
    clock: TestClock,
    shared_clock: SharedClock,
    master: Arc<MasterKey>,
}

impl Setup {
    async fn new() -> Self {
        let clock = TestClock::at(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        Self {
            db: TestDatabase::create().await,
            shared_clock: Arc::new(clock.clone()),
            clock,
            master: Arc::new(MasterKey::generate().unwrap()),
        }
    }

    async fn keys(&self) -> SigningKeys {
        SigningKeys::load_or_create(
            self.db.database().clone(),
            self.master.clone(),
            self.shared_clock.clone(),
            RotationPolicy::default(),
        )
        .await
        .unwrap()
    }

    fn now(&self) -> DateTime<Utc> {
        listone_core::Clock::now(&self.clock)
    }

    async fn stored_rows(&self) -> i64 {
        listone_core::db::count(self.db.conn(), "SELECT COUNT(*) AS n FROM oidc_signing_key", []).await.unwrap()
    }
}

/// The `(alg, kid)` pairs of a JWKS document, in order.
fn jwks_kids(jwks: &serde_json::Value) -> Vec<(String, String)> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| (key["alg"].as_str().unwrap().to_owned(), key["kid"].as_str().unwrap().to_owned()))
        .collect()
}

/// The public key a JWKS publishes under `kid`.
fn jwks_key(jwks: &serde_json::Value, kid: &str) -> PublicJwk {
    let key = jwks["keys"].as_array().unwrap().iter().find(|key| key["kid"] == kid).expect("kid in JWKS");
    public_jwk_from_json(&key.to_string()).unwrap()
}

fn kid(keys: &SigningKeys, alg: JwsAlgorithm, now: DateTime<Utc>) -> String {
    keys.signing_key(alg, now).unwrap().0.to_string()
}

#[tokio::test]
async fn first_start_creates_an_rs256_and_an_es256_key_published_in_the_jwks() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    assert_eq!(setup.stored_rows().await, 2);
    let rs = kid(&keys, JwsAlgorithm::Rs256, now);
    let es = kid(&keys, JwsAlgorithm::Es256, now);
    let jwks = keys.jwks(now);
    assert_eq!(jwks_kids(&jwks), [("RS256".to_owned(), rs.clone()), ("ES256".to_owned(), es.clone())]);
    let rsa = &jwks["keys"][0];
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["use"], "sig");
    assert_eq!(rsa["e"], "AQAB");
    let ec = &jwks["keys"][1];
    assert_eq!((ec["kty"].as_str(), ec["crv"].as_str(), ec["use"].as_str()), (Some("EC"), Some("P-256"), Some("sig")));
    assert!(ec.get("d").is_none() && rsa.get("d").is_none(), "no private members in the JWKS");
    // The kid is the RFC 7638 thumbprint of the published key.
    assert_eq!(jwks_key(&jwks, &rs).thumbprint(), rs);
    assert_eq!(jwks_key(&jwks, &es).thumbprint(), es);
    // Running rotation again at once creates nothing.
    assert!(keys.rotate_if_due(now).await.unwrap().is_empty());
    assert_eq!(setup.stored_rows().await, 2);
}

#[tokio::test]
async fn signatures_verify_with_the_public_key_from_the_jwks() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let now = setup.now();
    let jwks = keys.jwks(now);
    for alg in JwsAlgorithm::ALL {
        let (kid, pair) = keys.signing_key(alg, now).unwrap();
        let signature = pair.sign(MESSAGE).unwrap();
        let public = jwks_key(&jwks, &kid);
        assert!(verify_jws_signature(alg, &public, MESSAGE, &signature), "{alg}");
        assert!(!verify_jws_signature(alg, &public, b"eyJhbGciOiJFUzI1NiJ9.e30", &signature), "{alg}");
    }
    let (es_kid, _) = keys.signing_key(JwsAlgorithm::Es256, now).unwrap();
    let (_, rs_pair) = keys.signing_key(JwsAlgorithm::Rs256, now).unwrap();
    let rs_signature = rs_pair.sign(MESSAGE).unwrap();
    assert!(!verify_jws_signature(JwsAlgorithm::Rs256, &jwks_key(&jwks, &es_kid), MESSAGE, &rs_signature));
}

#[tokio::test]
async fn rotation_publishes_the_next_key_ahead_then_switches_and_expires_the_old_one() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let policy = RotationPolicy::default();
    let start = setup.now();
    let old = kid(&keys, JwsAlgorithm::Es256, start);
    let old_rs = kid(&keys, JwsAlgorithm::Rs256, start);

    // Just before the publish window: nothing due.
    setup.clock.set(start + policy.rotate_every - policy.publish_ahead - Duration::seconds(1));
    assert!(keys.rotate_if_due(setup.now()).await.unwrap().is_empty());
    assert_eq!(keys.jwks(setup.now())["keys"].as_array().unwrap().len(), 2);

    // In the window: the successors are published while the old keys still sign.
    setup.clock.set(start + policy.rotate_every - policy.publish_ahead);
    let now = setup.now();
    let created = keys.rotate_if_due(now).await.unwrap();
    assert_eq!(created.len(), 2);
    let new = created.iter().find(|key| key.alg == JwsAlgorithm::Es256).unwrap().kid.clone();
    let new_rs = created.iter().find(|key| key.alg == JwsAlgorithm::Rs256).unwrap().kid.clone();
    assert!(created.iter().all(|key| key.publish_at == now && key.activate_at == start + policy.rotate_every));
    assert_eq!(setup.stored_rows().await, 4);
    let kids: Vec<String> = jwks_kids(&keys.jwks(now)).into_iter().map(|(_, kid)| kid).collect();
    assert_eq!(kids, [old_rs.clone(), new_rs.clone(), old.clone(), new.clone()]);
    assert_eq!(kid(&keys, JwsAlgorithm::Es256, now), old);
    assert_eq!(kid(&keys, JwsAlgorithm::Rs256, now), old_rs);
    // Idempotent within the window.
    setup.clock.advance(Duration::hours(1));
    assert!(keys.rotate_if_due(setup.now()).await.unwrap().is_empty());
    assert_eq!(setup.stored_rows().await, 4);

    // At the old key's retirement the new key signs; the old one stays for verification.
    setup.clock.set(start + policy.rotate_every);
    let now = setup.now();
    assert_eq!(kid(&keys, JwsAlgorithm::Es256, now), new);
    assert_eq!(kid(&keys, JwsAlgorithm::Rs256, now), new_rs);
    let (_, pair) = keys.signing_key(JwsAlgorithm::Es256, now).unwrap();
    let signature = pair.sign(MESSAGE).unwrap();
    assert!(verify_jws_signature(JwsAlgorithm::Es256, &jwks_key(&keys.jwks(now), &new), MESSAGE, &signature));
    assert!(keys.rotate_if_due(now).await.unwrap().is_empty());
    setup.clock.set(start + policy.rotate_every + policy.max_token_lifetime - Duration::seconds(1));
    let kids: Vec<String> = jwks_kids(&keys.jwks(setup.now())).into_iter().map(|(_, kid)| kid).collect();
    assert_eq!(kids, [old_rs.clone(), new_rs.clone(), old.clone(), new.clone()]);

    // Once every token the old key signed has expired, it leaves the JWKS and the database.
    setup.clock.set(start + policy.rotate_every + policy.max_token_lifetime);
    let now = setup.now();
    let kids: Vec<String> = jwks_kids(&keys.jwks(now)).into_iter().map(|(_, kid)| kid).collect();
    assert_eq!(kids, [new_rs.clone(), new.clone()]);
    assert!(keys.rotate_if_due(now).await.unwrap().is_empty());
    assert_eq!(setup.stored_rows().await, 2);
    let expired = listone_core::db::count(
        setup.db.conn(),
        "SELECT COUNT(*) AS n FROM oidc_signing_key WHERE kid = $1 OR kid = $2",
        [old.into(), old_rs.into()],
    )
    .await
    .unwrap();
    assert_eq!(expired, 0);
}

#[tokio::test]
async fn rotation_that_ran_too_late_starts_a_key_signing_at_once() {
    let setup = Setup::new().await;
    let keys = setup.keys().await;
    let policy = RotationPolicy::default();
    let start = setup.now();
    setup.clock.set(start + policy.rotate_every + Duration::hours(2));
    let now = setup.now();
    match keys.signing_key(JwsAlgorithm::Rs256, now) {
        Err(Error::FailedPrecondition { reason, .. }) => assert_eq!(reason, "NO_ACTIVE_SIGNING_KEY"),
        other => panic!("expected FailedPrecondition, got {other:?}"),
    }
    let created = keys.rotate_if_due(now).await.unwrap();
    assert_eq!(created.len(), 2);
    assert!(created.iter().all(|key| key.activate_at == now && key.publish_at == now));
    assert_eq!(kid(&keys, JwsAlgorithm::Rs256, now), created[0].kid);
}

#[tokio::test]
async fn a_restarted_process_signs_with_the_same_keys() {
    let setup = Setup::new().await;
    let first = setup.keys().await;
    let now = setup.now();
    let restarted = setup.keys().await;
    assert_eq!(setup.stored_rows().await, 2);
    for alg in JwsAlgorithm::ALL {
        assert_eq!(kid(&restarted, alg, now), kid(&first, alg, now));
        let (kid, pair) = restarted.signing_key(alg, now).unwrap();
        let signature = pair.sign(MESSAGE).unwrap();
        assert!(verify_jws_signature(alg, &jwks_key(&first.jwks(now), &kid), MESSAGE, &signature));
    }
    assert_eq!(restarted.jwks(now), first.jwks(now));
}

#[tokio::test]
async fn a_successor_created_by_another_process_is_seen_and_not_duplicated() {
    let setup = Setup::new().await;
    let a = setup.keys().await;
    let b = setup.keys().await;
    let policy = RotationPolicy::default();
    setup.clock.advance(policy.rotate_every - policy.publish_ahead);
    let now = setup.now();
    let (from_a, from_b) = tokio::join!(a.rotate_if_due(now), b.rotate_if_due(now));
    assert_eq!(from_a.unwrap().len() + from_b.unwrap().len(), 2, "each successor is created once");
    assert_eq!(setup.stored_rows().await, 4);
    assert_eq!(a.jwks(now), b.jwks(now));
    let later = now + policy.publish_ahead;
    for alg in JwsAlgorithm::ALL {
        assert_eq!(kid(&a, alg, later), kid(&b, alg, later));
    }
}

#[tokio::test]
async fn another_master_key_cannot_unwrap_the_keys() {
    let setup = Setup::new().await;
    setup.keys().await;
    let result = SigningKeys::load_or_create(
        setup.db.database().clone(),
        Arc::new(MasterKey::generate().unwrap()),
        setup.shared_clock.clone(),
        RotationPolicy::default(),
    )
    .await;
    match result {
        Err(Error::FailedPrecondition { reason, message }) => {
            assert_eq!(reason, "SIGNING_KEY_MASTER_KEY_MISMATCH");
            assert!(message.contains("master key"), "{message}");
        }
        other => panic!("expected FailedPrecondition, got {other:?}"),
    }
    // Nothing was created by the refused start.
    assert_eq!(setup.stored_rows().await, 2);
}

#[tokio::test]
async fn an_invalid_policy_is_refused_before_anything_is_written() {
    let setup = Setup::new().await;
    let policy = RotationPolicy { publish_ahead: Duration::days(31), ..RotationPolicy::default() };
    let result = SigningKeys::load_or_create(
        setup.db.database().clone(),
        setup.master.clone(),
        setup.shared_clock.clone(),
        policy,
    )
    .await;
    match result {
        Err(Error::InvalidArgument { violations }) => {
            assert_eq!(violations.len(), 1);
            assert_eq!(violations[0].field, "rotation_policy.publish_ahead");
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert_eq!(setup.stored_rows().await, 0);
}
