//! Password sign-in on a real database: sessions on success, one answer for every failure,
//! backoff and lockout per account and per IP on the clock, every attempt audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use listone_audit::{ActorKind, AuditActor, AuditRecorder, RequestContext};
use listone_core::{App, Clock, Error, OrgId, Secret, SharedClock, TestClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_identity::authn::PasswordSignIn;
use listone_identity::org::{OrgRegistration, OrgStore, SubscriptionRequest};
use listone_identity::session::SessionStore;
use listone_identity::signin::{SessionPolicy, ThrottlePolicy};
use listone_identity::user::{NewUser, UserStore};
use listone_identity::{HashCost, PasswordHasher, PasswordPolicy};
use listone_testdb::TestDatabase;
use sea_orm::ConnectionTrait;

const PASSWORD: &str = "correct horse battery staple 1987";

struct Fixture {
    db: TestDatabase,
    clock: TestClock,
    users: UserStore,
    sessions: SessionStore,
    signin: PasswordSignIn,
    org: OrgId,
}

fn admin() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("admin-1".into()) }
}

fn from(ip: &str) -> RequestContext {
    RequestContext { request_id: None, source_ip: Some(ip.into()), user_agent: None }
}

async fn fixture() -> Fixture {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let audit = AuditRecorder::new(Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap()))), shared.clone());
    let hasher = Arc::new(PasswordHasher::new(HashCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap());
    let orgs = OrgStore::new(db.database().clone(), shared.clone(), audit.clone());
    let users =
        UserStore::new(db.database().clone(), shared.clone(), audit.clone(), hasher.clone(), PasswordPolicy::default());
    let sessions =
        SessionStore::new(db.database().clone(), shared.clone(), audit.clone(), SessionPolicy::default()).unwrap();
    let throttle = ThrottlePolicy {
        account_free_attempts: 2,
        account_lockout_after: 3,
        ip_free_attempts: 4,
        ip_lockout_after: 5,
        base_backoff: Duration::seconds(1),
        ..Default::default()
    };
    let signin = PasswordSignIn::new(db.database().clone(), shared, audit, hasher, throttle, sessions.clone()).unwrap();
    let reg = OrgRegistration {
        name: "Acme".into(),
        slug: "acme".into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest { app: App::Crm, seats: 5, starts_at: clock.now(), ends_at: None }],
    };
    let org = orgs.register(&reg, admin(), Default::default()).await.unwrap().id;
    let f = Fixture { db, clock, users, sessions, signin, org };
    for name in ["alice", "bob", "carol"] {
        let new = NewUser {
            user_name: Secret::new(format!("{name}@acme.example")),
            email: Secret::new(format!("{name}@acme.example")),
            given_name: None,
            family_name: None,
            external_id: None,
        };
        let (_, invite) = f.users.invite(f.org, &new, Duration::days(1), admin(), Default::default()).await.unwrap();
        f.users.accept_invite(f.org, &invite.token, &Secret::new(PASSWORD.into()), Default::default()).await.unwrap();
    }
    f
}

async fn attempt(f: &Fixture, name: &str, password: &str, ip: &str) -> Result<(), Error> {
    f.signin
        .sign_in(f.org, &Secret::new(format!("{name}@acme.example")), &Secret::new(password.into()), from(ip))
        .await
        .map(|_| ())
}

async fn signin_entries(f: &Fixture) -> i64 {
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry' AND request_id IS NULL",
        [],
    );
    conn.query_one_raw(stmt).await.unwrap().unwrap().try_get("", "n").unwrap()
}

#[tokio::test]
async fn the_right_password_opens_a_session_and_every_failure_gets_one_answer() {
    let f = fixture().await;
    let before = signin_entries(&f).await;
    let signed = f
        .signin
        .sign_in(f.org, &Secret::new("ALICE@acme.example".into()), &Secret::new(PASSWORD.into()), from("192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(f.sessions.authenticate(&signed.token).await.unwrap().id, signed.session.id);
    let wrong = attempt(&f, "alice", "wrong password here", "192.0.2.1").await.unwrap_err();
    let unknown = attempt(&f, "nobody", PASSWORD, "192.0.2.1").await.unwrap_err();
    assert_eq!(wrong.to_string(), unknown.to_string(), "no account enumeration");
    assert!(matches!(wrong, Error::Unauthenticated { .. }));
    // Each attempt is audited (success: sign-in + session; failures: one each).
    assert_eq!(signin_entries(&f).await, before + 4);
}

#[tokio::test]
async fn repeated_failures_back_off_then_lock_the_account_until_the_lock_expires() {
    let f = fixture().await;
    attempt(&f, "alice", "bad", "192.0.2.1").await.unwrap_err();
    attempt(&f, "alice", "bad", "192.0.2.1").await.unwrap_err();
    let backoff = attempt(&f, "alice", PASSWORD, "192.0.2.1").await.unwrap_err();
    assert!(matches!(backoff, Error::ResourceExhausted { limit: "SIGNIN_BACKOFF" }), "{backoff:?}");
    f.clock.advance(Duration::seconds(2));
    attempt(&f, "alice", "bad", "192.0.2.1").await.unwrap_err();
    let locked = attempt(&f, "alice", PASSWORD, "192.0.2.1").await.unwrap_err();
    assert!(matches!(locked, Error::ResourceExhausted { limit: "SIGNIN_LOCKED" }), "even the right password");
    // Another account from another address is unaffected.
    attempt(&f, "bob", PASSWORD, "198.51.100.2").await.unwrap();
    f.clock.advance(Duration::minutes(15));
    attempt(&f, "alice", PASSWORD, "192.0.2.1").await.unwrap();
}

#[tokio::test]
async fn one_address_guessing_across_accounts_is_locked_out() {
    let f = fixture().await;
    for (i, name) in ["alice", "bob", "carol", "dave", "erin"].iter().enumerate() {
        f.clock.advance(Duration::seconds(10 * (i as i64 + 1)));
        attempt(&f, name, "guess", "203.0.113.9").await.unwrap_err();
    }
    f.clock.advance(Duration::seconds(60));
    let locked = attempt(&f, "carol", PASSWORD, "203.0.113.9").await.unwrap_err();
    assert!(matches!(locked, Error::ResourceExhausted { limit: "SIGNIN_LOCKED" }), "{locked:?}");
    attempt(&f, "carol", PASSWORD, "198.51.100.7").await.unwrap();
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in() {
    let f = fixture().await;
    let signed = f
        .signin
        .sign_in(f.org, &Secret::new("bob@acme.example".into()), &Secret::new(PASSWORD.into()), from("192.0.2.1"))
        .await
        .unwrap();
    f.users.deactivate(f.org, signed.session.user_id, admin(), Default::default()).await.unwrap();
    assert!(f.sessions.authenticate(&signed.token).await.is_err());
    assert!(matches!(attempt(&f, "bob", PASSWORD, "192.0.2.1").await, Err(Error::Unauthenticated { .. })));
}
