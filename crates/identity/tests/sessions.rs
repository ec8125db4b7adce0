//! Sessions on a real database: token hashes only, idle and absolute timeouts on the clock,
//! per-user cap, revocation by user/admin, and deactivation or suspension cutting access at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use listone_audit::RequestContext;
use listone_core::{Error, OrgId, Secret, UserId};
use listone_identity::org::OrgStatus;
use listone_identity::signin::{SessionPolicy, SessionState};
use sea_orm::ConnectionTrait;
use support::{Fixture, admin};

async fn fixture(policy: SessionPolicy) -> Fixture {
    Fixture::with_sessions(policy).await
}

async fn org_and_user(f: &Fixture, slug: &str) -> (OrgId, UserId) {
    let org = f.org(slug).await;
    (org, f.user(org, "alice").await)
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
    assert!(matches!(f.sessions.list(other, alice).await, Err(Error::NotFound { resource: "user" })));
    f.sessions.authenticate(&token).await.unwrap();
}
