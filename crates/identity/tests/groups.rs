//! Groups on a real database: unique names, members from the same organization only,
//! idempotent membership changes, deletion, tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use listone_audit::{ActorKind, AuditActor, AuditRecorder};
use listone_core::{App, Clock, Error, GroupId, OrgId, Secret, SharedClock, TestClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_identity::group::GroupStore;
use listone_identity::org::{OrgRegistration, OrgStore, SubscriptionRequest};
use listone_identity::user::{NewUser, UserStore};
use listone_identity::{HashCost, PasswordHasher, PasswordPolicy};
use listone_testdb::TestDatabase;
use sea_orm::ConnectionTrait;

struct Fixture {
    db: TestDatabase,
    orgs: OrgStore,
    users: UserStore,
    groups: GroupStore,
    clock: TestClock,
}

fn admin() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("admin-1".into()) }
}

async fn fixture() -> Fixture {
    let db = TestDatabase::create().await;
    let clock = TestClock::at(Utc::now());
    let shared: SharedClock = Arc::new(clock.clone());
    let audit = AuditRecorder::new(Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap()))), shared.clone());
    let hasher = Arc::new(PasswordHasher::new(HashCost { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap());
    Fixture {
        orgs: OrgStore::new(db.database().clone(), shared.clone(), audit.clone()),
        users: UserStore::new(db.database().clone(), shared.clone(), audit.clone(), hasher, PasswordPolicy::default()),
        groups: GroupStore::new(db.database().clone(), shared, audit),
        db,
        clock,
    }
}

async fn org(f: &Fixture, slug: &str) -> OrgId {
    let reg = OrgRegistration {
        name: "Acme".into(),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest { app: App::Crm, seats: 5, starts_at: f.clock.now(), ends_at: None }],
    };
    f.orgs.register(&reg, admin(), Default::default()).await.unwrap().id
}

async fn user(f: &Fixture, org: OrgId, name: &str) -> listone_core::UserId {
    let new = NewUser {
        user_name: Secret::new(format!("{name}@acme.example")),
        email: Secret::new(format!("{name}@acme.example")),
        given_name: None,
        family_name: None,
        external_id: None,
    };
    f.users.provision(org, &new, admin(), Default::default()).await.unwrap().id
}

async fn count(f: &Fixture, sql: &str) -> i64 {
    let conn = f.db.conn();
    let stmt = listone_core::db::statement(conn.get_database_backend(), sql, []);
    conn.query_one_raw(stmt).await.unwrap().unwrap().try_get("", "n").unwrap()
}

#[tokio::test]
async fn group_names_are_unique_per_org_regardless_of_case() {
    let f = fixture().await;
    let acme = org(&f, "acme").await;
    let sales = f.groups.create(acme, "EMEA Sales", Some("ad-grp-1"), admin(), Default::default()).await.unwrap();
    assert_eq!(sales.display_name, "EMEA Sales");
    let dup = f.groups.create(acme, "emea sales", None, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(dup, Error::AlreadyExists { .. }));
    let other = org(&f, "other").await;
    f.groups.create(other, "EMEA Sales", None, admin(), Default::default()).await.unwrap();
    let support = f.groups.create(acme, "Support", None, admin(), Default::default()).await.unwrap();
    assert!(matches!(
        f.groups.rename(acme, support.id, "EMEA SALES", admin(), Default::default()).await,
        Err(Error::AlreadyExists { .. })
    ));
    let renamed = f.groups.rename(acme, support.id, "Customer Support", admin(), Default::default()).await.unwrap();
    assert_eq!((renamed.display_name.as_str(), renamed.version), ("Customer Support", 2));
    let Error::InvalidArgument { violations } =
        f.groups.create(acme, " ", Some(""), admin(), Default::default()).await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(violations.len(), 2);
}

#[tokio::test]
async fn members_come_from_the_same_org_and_changes_are_idempotent_and_audited() {
    let f = fixture().await;
    let acme = org(&f, "acme").await;
    let other = org(&f, "other").await;
    let alice = user(&f, acme, "alice").await;
    let mallory = user(&f, other, "mallory").await;
    let sales = f.groups.create(acme, "Sales", None, admin(), Default::default()).await.unwrap();
    let events_before = count(&f, "SELECT COUNT(*) AS n FROM outbox_event").await;
    f.groups.add_member(acme, sales.id, alice, admin(), Default::default()).await.unwrap();
    f.groups.add_member(acme, sales.id, alice, admin(), Default::default()).await.unwrap();
    assert_eq!(f.groups.members(acme, sales.id).await.unwrap(), vec![alice]);
    assert_eq!(f.groups.groups_of(acme, alice).await.unwrap(), vec![sales.id]);
    assert_eq!(count(&f, "SELECT COUNT(*) AS n FROM outbox_event").await, events_before + 1, "one audited change");
    let foreign = f.groups.add_member(acme, sales.id, mallory, admin(), Default::default()).await.unwrap_err();
    assert!(matches!(foreign, Error::NotFound { resource: "user" }), "another org's user is not found");
    f.groups.remove_member(acme, sales.id, alice, admin(), Default::default()).await.unwrap();
    f.groups.remove_member(acme, sales.id, alice, admin(), Default::default()).await.unwrap();
    assert!(f.groups.members(acme, sales.id).await.unwrap().is_empty());
    f.groups.add_member(acme, sales.id, alice, admin(), Default::default()).await.unwrap();
    f.groups.delete(acme, sales.id, admin(), Default::default()).await.unwrap();
    assert_eq!(count(&f, "SELECT COUNT(*) AS n FROM group_member").await, 0);
    assert!(f.groups.groups_of(acme, alice).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_organizations_groups_are_not_found() {
    let f = fixture().await;
    let acme = org(&f, "acme").await;
    let other = org(&f, "other").await;
    let bob = user(&f, other, "bob").await;
    let sales = f.groups.create(acme, "Sales", None, admin(), Default::default()).await.unwrap();
    let nf = |r: Result<(), Error>| assert!(matches!(r, Err(Error::NotFound { resource: "group" })), "{r:?}");
    assert!(matches!(f.groups.get(other, sales.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(
        f.groups.rename(other, sales.id, "Mine", admin(), Default::default()).await,
        Err(Error::NotFound { .. })
    ));
    nf(f.groups.add_member(other, sales.id, bob, admin(), Default::default()).await);
    nf(f.groups.remove_member(other, sales.id, bob, admin(), Default::default()).await);
    nf(f.groups.delete(other, sales.id, admin(), Default::default()).await);
    assert!(matches!(f.groups.members(other, sales.id).await, Err(Error::NotFound { .. })));
    assert!(matches!(f.groups.get(acme, GroupId::new()).await, Err(Error::NotFound { .. })));
    assert_eq!(f.groups.get(acme, sales.id).await.unwrap().display_name, "Sales");
}
