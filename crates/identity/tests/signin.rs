//! Password sign-in on a real database: sessions on success, one answer for every failure,
//! backoff and lockout per account and per IP on the clock, every attempt audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use listone_audit::RequestContext;
use listone_core::{Error, OrgId, Secret};
use listone_identity::authn::PasswordSignIn;
use listone_identity::session::SessionStore;
use listone_identity::signin::ThrottlePolicy;
use listone_identity::user::UserStore;
use sea_orm::ConnectionTrait;
use support::{PASSWORD, admin, new_user};

struct Fixture {
    db: listone_testdb::TestDatabase,
    clock: listone_core::TestClock,
    users: UserStore,
    sessions: SessionStore,
    signin: PasswordSignIn,
    org: OrgId,
}

fn from(ip: &str) -> RequestContext {
    RequestContext { request_id: None, source_ip: Some(ip.into()), user_agent: None }
}

/// The shared fixture plus a sign-in with small thresholds and three users with passwords.
async fn fixture() -> Fixture {
    let base = support::Fixture::new().await;
    let throttle = ThrottlePolicy {
        account_free_attempts: 2,
        account_lockout_after: 3,
        ip_free_attempts: 4,
        ip_lockout_after: 5,
        base_backoff: Duration::seconds(1),
        ..Default::default()
    };
    let signin = base.signin(throttle);
    let org = base.org("acme").await;
    for name in ["alice", "bob", "carol"] {
        let (_, invite) =
            base.users.invite(org, &new_user(name), Duration::days(1), admin(), Default::default()).await.unwrap();
        base.users.accept_invite(org, &invite.token, &Secret::new(PASSWORD.into()), Default::default()).await.unwrap();
    }
    Fixture { db: base.db, clock: base.clock, users: base.users, sessions: base.sessions, signin, org }
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
        .unwrap()
        .signed_in()
        .expect("no MFA due");
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
        .unwrap()
        .signed_in()
        .expect("no MFA due");
    f.users.deactivate(f.org, signed.session.user_id, admin(), Default::default()).await.unwrap();
    assert!(f.sessions.authenticate(&signed.token).await.is_err());
    assert!(matches!(attempt(&f, "bob", PASSWORD, "192.0.2.1").await, Err(Error::Unauthenticated { .. })));
}
