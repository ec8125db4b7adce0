//! Groups on a real database: unique names, members from the same organization only,
//! idempotent membership changes, deletion, tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use listone_core::{Error, GroupId, OrgId, UserId};
use support::{Fixture, admin};

async fn fixture() -> Fixture {
    Fixture::new().await
}

async fn org(f: &Fixture, slug: &str) -> OrgId {
    f.org(slug).await
}

async fn user(f: &Fixture, org: OrgId, name: &str) -> UserId {
    f.user(org, name).await
}

async fn count(f: &Fixture, sql: &str) -> i64 {
    f.count(sql).await
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
    // Another org's user cannot be "removed" from this org's group either: NOT_FOUND, not a no-op.
    let removed = f.groups.remove_member(acme, sales.id, bob, admin(), Default::default()).await;
    assert!(matches!(removed, Err(Error::NotFound { resource: "user" })), "{removed:?}");
}
