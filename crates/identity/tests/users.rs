//! Users on a real database: provisioning, invitations (expired, reused, unknown), deactivation,
//! deletion, app assignment within seats, and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use listone_core::{App, Error, OrgId, Secret, UserId};
use listone_identity::org::OrgStatus;
use listone_identity::user::UserStatus;
use sea_orm::ConnectionTrait;
use support::{Fixture, PASSWORD as GOOD_PASSWORD, admin, new_user};

async fn fixture() -> Fixture {
    Fixture::new().await
}

async fn org(f: &Fixture, slug: &str, crm_seats: u32) -> OrgId {
    f.org_in(slug, "DE", crm_seats).await
}

async fn count(f: &Fixture, sql: &str) -> i64 {
    f.count(sql).await
}

#[tokio::test]
async fn an_invitation_activates_once_and_expires() {
    let f = fixture().await;
    let acme = org(&f, "acme", 5).await;
    let (user, invite) =
        f.users.invite(acme, &new_user("alice"), Duration::days(7), admin(), Default::default()).await.unwrap();
    assert_eq!(user.status, UserStatus::Invited);
    let active = f
        .users
        .accept_invite(acme, &invite.token, &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap();
    assert_eq!(active.status, UserStatus::Active);
    assert!(active.has_password);
    let reused = f
        .users
        .accept_invite(acme, &invite.token, &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(reused, Error::FailedPrecondition { reason: "INVITE_USED", .. }));

    let (_, late) =
        f.users.invite(acme, &new_user("bob"), Duration::days(1), admin(), Default::default()).await.unwrap();
    f.clock.advance(Duration::days(1));
    let expired = f
        .users
        .accept_invite(acme, &late.token, &Secret::new(GOOD_PASSWORD.into()), Default::default())
        .await
        .unwrap_err();
    assert!(matches!(expired, Error::FailedPrecondition { reason: "INVITE_EXPIRED", .. }));
    let unknown = f
        .users
        .accept_invite(acme, &Secret::new("guess".into()), &Secret::new(GOOD_PASSWORD.into()), Default::default())
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
        f.users.invite(acme, &new_user("alice"), Duration::days(7), admin(), Default::default()).await.unwrap();
    for weak in ["password123456", "alice@acme.example2024"] {
        let err = f
            .users
            .accept_invite(acme, &invite.token, &Secret::new(weak.into()), Default::default())
            .await
            .unwrap_err();
        let Error::InvalidArgument { violations } = err else { panic!("{weak}") };
        assert!(violations.iter().all(|v| v.field == "password" && !v.description.contains(weak)));
    }
    f.users.accept_invite(acme, &invite.token, &Secret::new(GOOD_PASSWORD.into()), Default::default()).await.unwrap();
}

#[tokio::test]
async fn duplicate_user_names_are_refused_case_insensitively() {
    let f = fixture().await;
    let acme = org(&f, "acme", 5).await;
    f.users.provision(acme, &new_user("alice"), admin(), Default::default()).await.unwrap();
    let mut again = new_user("alice");
    again.user_name = Secret::new("ALICE@acme.example".into());
    let err = f.users.provision(acme, &again, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }));
    assert_eq!(count(&f, "SELECT COUNT(*) AS n FROM app_user").await, 1);
    // Another organization may use the same name.
    let other = org(&f, "other", 5).await;
    f.users.provision(other, &new_user("alice"), admin(), Default::default()).await.unwrap();
}

#[tokio::test]
async fn apps_need_a_subscription_and_a_free_seat() {
    let f = fixture().await;
    let acme = org(&f, "acme", 1).await;
    let alice = f.users.provision(acme, &new_user("alice"), admin(), Default::default()).await.unwrap();
    let bob = f.users.provision(acme, &new_user("bob"), admin(), Default::default()).await.unwrap();
    assert!(!f.users.can_use_app(acme, alice.id, App::Crm).await.unwrap(), "not assigned yet");
    f.users.assign_app(acme, alice.id, App::Crm, admin(), Default::default()).await.unwrap();
    assert!(f.users.can_use_app(acme, alice.id, App::Crm).await.unwrap());
    let full = f.users.assign_app(acme, bob.id, App::Crm, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(full, Error::ResourceExhausted { limit: "SEATS" }));
    let unsubscribed = f.users.assign_app(acme, bob.id, App::Hrms, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(unsubscribed, Error::FailedPrecondition { reason: "NOT_SUBSCRIBED", .. }));
    // Deactivation and suspension cut access at once.
    f.users.deactivate(acme, alice.id, admin(), Default::default()).await.unwrap();
    assert!(!f.users.can_use_app(acme, alice.id, App::Crm).await.unwrap());
    f.users.assign_app(acme, bob.id, App::Crm, admin(), Default::default()).await.unwrap_err();
    f.users.delete(acme, alice.id, admin(), Default::default()).await.unwrap();
    f.users.assign_app(acme, bob.id, App::Crm, admin(), Default::default()).await.unwrap();
    assert!(f.users.can_use_app(acme, bob.id, App::Crm).await.unwrap());
    f.orgs.set_status(acme, OrgStatus::Suspended, admin(), Default::default()).await.unwrap();
    assert!(!f.users.can_use_app(acme, bob.id, App::Crm).await.unwrap(), "suspended org");
    let err = f.users.provision(acme, &new_user("carol"), admin(), Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition { reason: "ORG_SUSPENDED", .. }));
}

#[tokio::test]
async fn another_organizations_users_are_not_found() {
    let f = fixture().await;
    let acme = org(&f, "acme", 5).await;
    let other = org(&f, "other", 5).await;
    let alice = f.users.provision(acme, &new_user("alice"), admin(), Default::default()).await.unwrap();
    assert!(matches!(f.users.get(other, alice.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        f.users.deactivate(other, alice.id, admin(), Default::default()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(f.users.delete(other, alice.id, admin(), Default::default()).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        f.users.assign_app(other, alice.id, App::Crm, admin(), Default::default()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(!f.users.can_use_app(other, alice.id, App::Crm).await.unwrap());
    assert_eq!(f.users.get(acme, alice.id).await.unwrap().status, UserStatus::Active);
    assert!(matches!(f.users.get(acme, UserId::new()).await, Err(Error::NotFound { .. })));
}
