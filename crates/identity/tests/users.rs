//! Users on a real database: provisioning, invitations (expired, reused, unknown), deactivation,
//! deletion, app assignment within seats, and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use listone_audit::{ActorKind, AuditActor, AuditRecorder, RequestContext};
use listone_core::{App, Clock, Error, Secret, SharedClock, TestClock, UserId};
use listone_crypto::{KeyRing, MasterKey};
use listone_identity::org::{Org, OrgRegistration, OrgStatus, OrgStore, SubscriptionRequest};
use listone_identity::user::{NewUser, UserStatus, UserStore};
use listone_identity::{HashCost, PasswordHasher, PasswordPolicy};
use listone_testdb::TestDatabase;
use sea_orm::ConnectionTrait;

struct Fixture {
    db: TestDatabase,
    clock: TestClock,
    orgs: OrgStore,
    users: UserStore,
}

fn admin() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("admin-1".into()) }
}

async fn fixture() -> Fixture {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let audit = AuditRecorder::new(Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap()))), shared.clone());
    // Cheap Argon2 parameters keep the suite fast; production uses HashCost::OWASP.
    let hasher = Arc::new(PasswordHasher::new(HashCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap());
    Fixture {
        orgs: OrgStore::new(db.database().clone(), shared.clone(), audit.clone()),
        users: UserStore::new(db.database().clone(), shared, audit, hasher, PasswordPolicy::default()),
        db,
        clock,
    }
}

async fn org(f: &Fixture, slug: &str, crm_seats: u32) -> Org {
    let reg = OrgRegistration {
        name: "Acme".into(),
        slug: slug.into(),
        country: "DE".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: crm_seats,
            starts_at: f.clock.now(),
            ends_at: None,
        }],
    };
    f.orgs.register(&reg, admin(), RequestContext::default()).await.unwrap()
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        user_name: Secret::new(format!("{name}@acme.example")),
        email: Secret::new(format!("{name}@acme.example")),
        given_name: Some(Secret::new(name.into())),
        family_name: None,
        external_id: None,
    }
}

async fn count(f: &Fixture, sql: &str) -> i64 {
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(conn.get_database_backend(), sql, []);
    conn.query_one_raw(stmt).await.unwrap().unwrap().try_get("", "n").unwrap()
}

const GOOD_PASSWORD: &str = "correct horse battery staple 1987";

#[tokio::test]
async fn an_invitation_activates_once_and_expires() {
    let f = fixture().await;
    let acme = org(&f, "acme", 5).await;
    let (user, invite) =
        f.users.invite(acme.id, &new_user("alice"), Duration::days(7), admin(), Default::default()).await.unwrap();
    assert_eq!(user.status, UserStatus::Invited);
    let active = f
        .users
        .accept_invite(acme.id, &invite.token, &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap();
    assert_eq!(active.status, UserStatus::Active);
    assert!(active.has_password);
    let reused = f
        .users
        .accept_invite(acme.id, &invite.token, &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(reused, Error::FailedPrecondition { reason: "INVITE_USED", .. }));

    let (_, late) =
        f.users.invite(acme.id, &new_user("bob"), Duration::days(1), admin(), Default::default()).await.unwrap();
    f.clock.advance(Duration::days(1));
    let expired = f
        .users
        .accept_invite(acme.id, &late.token, &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(expired, Error::FailedPrecondition { reason: "INVITE_EXPIRED", .. }));
    let unknown = f
        .users
        .accept_invite(acme.id, &Secret::new("guess".into()), &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::FailedPrecondition { reason: "INVITE_UNKNOWN", .. }));
    // The refusals are audited; the stored token is only a hash.
    assert!(count(&f, "SELECT COUNT(*) AS n FROM outbox_event").await >= 7);
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(conn.get_database_backend(), "SELECT * FROM user_invite", []);
    let rows = format!("{:?}", conn.query_all_raw(stmt).await.unwrap());
    assert!(!rows.contains(invite.token.expose().as_str()));
}

#[tokio::test]
async fn a_weak_password_is_refused_and_the_invitation_stays_usable() {
    let f = fixture().await;
    let acme = org(&f, "acme", 5).await;
    let (_, invite) =
        f.users.invite(acme.id, &new_user("alice"), Duration::days(7), admin(), Default::default()).await.unwrap();
    for weak in ["password123456", "alice@acme.example2024"] {
        let err = f
            .users
            .accept_invite(acme.id, &invite.token, &Secret::new(weak.into()), Default::default())
            .await
            .unwrap_err();
        let Error::InvalidArgument { violations } = err else { panic!("{weak}") };
        assert!(violations.iter().all(|v| v.field == "password" && !v.description.contains(weak)));
    }
    f.users
        .accept_invite(acme.id, &invite.token, &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn duplicate_user_names_are_refused_case_insensitively() {
    let f = fixture().await;
    let acme = org(&f, "acme", 5).await;
    f.users.provision(acme.id, &new_user("alice"), admin(), Default::default()).await.unwrap();
    let mut again = new_user("alice");
    again.user_name = Secret::new("ALICE@acme.example".into());
    let err = f.users.provision(acme.id, &again, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }));
    assert_eq!(count(&f, "SELECT COUNT(*) AS n FROM app_user").await, 1);
    // Another organization may use the same name.
    let other = org(&f, "other", 5).await;
    f.users.provision(other.id, &new_user("alice"), admin(), Default::default()).await.unwrap();
}

#[tokio::test]
async fn apps_need_a_subscription_and_a_free_seat() {
    let f = fixture().await;
    let acme = org(&f, "acme", 1).await;
    let alice = f.users.provision(acme.id, &new_user("alice"), admin(), Default::default()).await.unwrap();
    let bob = f.users.provision(acme.id, &new_user("bob"), admin(), Default::default()).await.unwrap();
    assert!(!f.users.can_use_app(acme.id, alice.id, App::Crm).await.unwrap(), "not assigned yet");
    f.users.assign_app(acme.id, alice.id, App::Crm, admin(), Default::default()).await.unwrap();
    assert!(f.users.can_use_app(acme.id, alice.id, App::Crm).await.unwrap());
    let full = f.users.assign_app(acme.id, bob.id, App::Crm, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(full, Error::ResourceExhausted { limit: "SEATS" }));
    let unsubscribed = f.users.assign_app(acme.id, bob.id, App::Hrms, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(unsubscribed, Error::FailedPrecondition { reason: "NOT_SUBSCRIBED", .. }));
    // Deactivation and suspension cut access at once.
    f.users.deactivate(acme.id, alice.id, admin(), Default::default()).await.unwrap();
    assert!(!f.users.can_use_app(acme.id, alice.id, App::Crm).await.unwrap());
    f.users.assign_app(acme.id, bob.id, App::Crm, admin(), Default::default()).await.unwrap_err();
    f.users.delete(acme.id, alice.id, admin(), Default::default()).await.unwrap();
    f.users.assign_app(acme.id, bob.id, App::Crm, admin(), Default::default()).await.unwrap();
    assert!(f.users.can_use_app(acme.id, bob.id, App::Crm).await.unwrap());
    f.orgs.set_status(acme.id, OrgStatus::Suspended, admin(), Default::default()).await.unwrap();
    assert!(!f.users.can_use_app(acme.id, bob.id, App::Crm).await.unwrap(), "suspended org");
    let err = f.users.provision(acme.id, &new_user("carol"), admin(), Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition { reason: "ORG_SUSPENDED", .. }));
}

#[tokio::test]
async fn another_organizations_users_are_not_found() {
    let f = fixture().await;
    let acme = org(&f, "acme", 5).await;
    let other = org(&f, "other", 5).await;
    let alice = f.users.provision(acme.id, &new_user("alice"), admin(), Default::default()).await.unwrap();
    assert!(matches!(f.users.get(other.id, alice.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        f.users.deactivate(other.id, alice.id, admin(), Default::default()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.users.delete(other.id, alice.id, admin(), Default::default()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.users.assign_app(other.id, alice.id, App::Crm, admin(), Default::default()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(!f.users.can_use_app(other.id, alice.id, App::Crm).await.unwrap());
    assert_eq!(f.users.get(acme.id, alice.id).await.unwrap().status, UserStatus::Active);
    assert!(matches!(f.users.get(acme.id, UserId::new()).await, Err(Error::NotFound { .. })));
}
