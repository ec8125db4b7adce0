//! Sessions on a real database: token hashes only, idle and absolute timeouts on the clock,
//! per-user cap, revocation by user/admin, and deactivation or suspension cutting access at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use listone_audit::{ActorKind, AuditActor, AuditRecorder, RequestContext};
use listone_core::{App, Clock, Error, OrgId, Secret, SharedClock, TestClock, UserId};
use listone_crypto::{KeyRing, MasterKey};
use listone_identity::org::{OrgRegistration, OrgStatus, OrgStore, SubscriptionRequest};
use listone_identity::session::SessionStore;
use listone_identity::signin::{SessionPolicy, SessionState};
use listone_identity::user::{NewUser, UserStore};
use listone_identity::{HashCost, PasswordHasher, PasswordPolicy};
use listone_testdb::TestDatabase;
use sea_orm::ConnectionTrait;

struct Fixture {
    db: TestDatabase,
    clock: TestClock,
    orgs: OrgStore,
    users: UserStore,
    sessions: SessionStore,
}

fn admin() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("admin-1".into()) }
}

async fn fixture(policy: SessionPolicy) -> Fixture {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let audit = AuditRecorder::new(Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap()))), shared.clone());
    let hasher = Arc::new(PasswordHasher::new(HashCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap());
    Fixture {
        orgs: OrgStore::new(db.database().clone(), shared.clone(), audit.clone()),
        users: UserStore::new(db.database().clone(), shared.clone(), audit.clone(), hasher, PasswordPolicy::default()),
        sessions: SessionStore::new(db.database().clone(), shared, audit, policy).unwrap(),
        db,
        clock,
    }
}

async fn org_and_user(f: &Fixture, slug: &str) -> (OrgId, UserId) {
    let reg = OrgRegistration {
        name: "Acme".into(),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest { app: App::Crm, seats: 5, starts_at: f.clock.now(), ends_at: None }],
    };
    let org = f.orgs.register(&reg, admin(), Default::default()).await.unwrap().id;
    let new = NewUser {
        user_name: Secret::new("alice@acme.example".into()),
        email: Secret::new("alice@acme.example".into()),
        given_name: None,
        family_name: None,
        external_id: None,
    };
    (org, f.users.provision(org, &new, admin(), Default::default()).await.unwrap().id)
}

fn ctx() -> RequestContext {
    RequestContext { request_id: None, source_ip: Some("192.0.2.4".into()), user_agent: Some("browser".into()) }
}

#[tokio::test]
async fn a_session_expires_when_idle_and_at_its_absolute_limit() {
    let policy = SessionPolicy {
        idle_timeout: Duration::minutes(30),
        absolute_timeout: Duration::hours(2),
        ..Default::default()
    };
    let f = fixture(policy).await;
    let (org, alice) = org_and_user(&f, "acme").await;
    let (session, token) = f.sessions.create(org, alice, ctx()).await.unwrap();
    assert_eq!(session.source_ip.as_deref(), Some("192.0.2.4"));
    assert_eq!(f.sessions.authenticate(&token).await.unwrap().id, session.id);
    // Used every 20 minutes it stays alive, until the absolute limit.
    for _ in 0..5 {
        f.clock.advance(Duration::minutes(20));
        f.sessions.authenticate(&token).await.unwrap();
    }
    f.clock.advance(Duration::minutes(20));
    assert!(matches!(f.sessions.authenticate(&token).await, Err(Error::Unauthenticated { .. })), "2 h absolute limit");

    let (_, idle) = f.sessions.create(org, alice, ctx()).await.unwrap();
    f.clock.advance(Duration::minutes(30));
    assert!(matches!(f.sessions.authenticate(&idle).await, Err(Error::Unauthenticated { .. })), "idle 30 min");
    assert!(matches!(f.sessions.authenticate(&Secret::new("forged".into())).await, Err(Error::Unauthenticated { .. })));
    // Tokens are stored only as hashes.
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(conn.get_database_backend(), "SELECT * FROM user_session", []);
    assert!(!format!("{:?}", conn.query_all_raw(stmt).await.unwrap()).contains(token.expose().as_str()));
}

#[tokio::test]
async fn revocation_deactivation_and_suspension_cut_access_immediately() {
    let f = fixture(SessionPolicy::default()).await;
    let (org, alice) = org_and_user(&f, "acme").await;
    let (one, t1) = f.sessions.create(org, alice, ctx()).await.unwrap();
    let (_, t2) = f.sessions.create(org, alice, ctx()).await.unwrap();
    let (_, t3) = f.sessions.create(org, alice, ctx()).await.unwrap();
    f.sessions.revoke(org, one.id, admin(), Default::default()).await.unwrap();
    assert!(f.sessions.authenticate(&t1).await.is_err());
    f.sessions.authenticate(&t2).await.unwrap();
    let listed = f.sessions.list(org, alice).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|s| s.state == SessionState::Revoked).count(), 1);

    f.orgs.set_status(org, OrgStatus::Suspended, admin(), Default::default()).await.unwrap();
    assert!(f.sessions.authenticate(&t2).await.is_err(), "suspended org");
    f.orgs.set_status(org, OrgStatus::Active, admin(), Default::default()).await.unwrap();
    f.sessions.authenticate(&t2).await.unwrap();

    f.users.deactivate(org, alice, admin(), Default::default()).await.unwrap();
    assert!(f.sessions.authenticate(&t2).await.is_err());
    assert!(f.sessions.authenticate(&t3).await.is_err());
    assert!(f.sessions.list(org, alice).await.unwrap().iter().all(|s| s.state == SessionState::Revoked));
}

#[tokio::test]
async fn the_least_recently_used_session_is_evicted_beyond_the_cap() {
    let f = fixture(SessionPolicy { max_sessions_per_user: 2, ..Default::default() }).await;
    let (org, alice) = org_and_user(&f, "acme").await;
    let (_, oldest) = f.sessions.create(org, alice, ctx()).await.unwrap();
    f.clock.advance(Duration::minutes(1));
    let (_, newer) = f.sessions.create(org, alice, ctx()).await.unwrap();
    f.clock.advance(Duration::minutes(1));
    let (_, newest) = f.sessions.create(org, alice, ctx()).await.unwrap();
    assert!(f.sessions.authenticate(&oldest).await.is_err(), "evicted");
    f.sessions.authenticate(&newer).await.unwrap();
    f.sessions.authenticate(&newest).await.unwrap();
}

#[tokio::test]
async fn another_organizations_sessions_are_not_found() {
    let f = fixture(SessionPolicy::default()).await;
    let (org, alice) = org_and_user(&f, "acme").await;
    let (other, _) = org_and_user(&f, "other").await;
    let (session, token) = f.sessions.create(org, alice, ctx()).await.unwrap();
    let err = f.sessions.revoke(other, session.id, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "session" }));
    assert!(f.sessions.list(other, alice).await.unwrap().is_empty());
    f.sessions.authenticate(&token).await.unwrap();
}
