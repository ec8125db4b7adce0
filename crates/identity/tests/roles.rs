//! Roles per app: grants to users and groups, effective roles gated by app access, audit and
//! tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use listone_core::{App, Error, GroupId, UserId};
use listone_identity::role::RoleStore;
use support::{Fixture, admin};

fn roles(f: &Fixture) -> RoleStore {
    RoleStore::new(f.db.database().clone(), f.shared_clock.clone(), f.audit.clone(), f.users.clone())
}

fn set(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn events(f: &Fixture) -> i64 {
    f.count("SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry'").await
}

#[tokio::test]
async fn effective_roles_join_direct_and_group_grants_only_while_the_app_is_usable() {
    let f = Fixture::new().await;
    let store = roles(&f);
    let acme = f.org("acme").await;
    let ann = f.user(acme, "ann").await;

    // Direct grant, but not yet assigned to the CRM: no effective roles.
    let granted = store
        .set_user_roles(acme, ann, App::Crm, &set(&["sales", "admin", "sales"]), admin(), Default::default())
        .await
        .unwrap();
    assert_eq!(granted.iter().collect::<Vec<_>>(), ["admin", "sales"]);
    assert!(store.effective_roles(acme, ann, App::Crm).await.unwrap().is_empty(), "not assigned to the app");

    f.users.assign_app(acme, ann, App::Crm, admin(), Default::default()).await.unwrap();
    let group = f.groups.create(acme, "Support", None, admin(), Default::default()).await.unwrap();
    f.groups.add_member(acme, group.id, ann, admin(), Default::default()).await.unwrap();
    store
        .set_group_roles(acme, group.id, App::Crm, &set(&["support.agent", "sales"]), admin(), Default::default())
        .await
        .unwrap();
    let effective = store.effective_roles(acme, ann, App::Crm).await.unwrap();
    assert_eq!(effective.iter().collect::<Vec<_>>(), ["admin", "sales", "support.agent"]);
    // Roles are per app: nothing leaks into HRMS.
    assert!(store.effective_roles(acme, ann, App::Hrms).await.unwrap().is_empty());

    // Leaving the group takes its roles away at once.
    f.groups.remove_member(acme, group.id, ann, admin(), Default::default()).await.unwrap();
    assert_eq!(
        store.effective_roles(acme, ann, App::Crm).await.unwrap().iter().collect::<Vec<_>>(),
        ["admin", "sales"]
    );

    // Deactivation cuts every role at once.
    f.users.deactivate(acme, ann, admin(), Default::default()).await.unwrap();
    assert!(store.effective_roles(acme, ann, App::Crm).await.unwrap().is_empty());
}

#[tokio::test]
async fn identity_roles_need_only_an_active_user_in_an_active_org() {
    let f = Fixture::new().await;
    let store = roles(&f);
    let acme = f.org("acme").await;
    let ann = f.user(acme, "ann").await;
    store.set_user_roles(acme, ann, App::Identity, &set(&["admin"]), admin(), Default::default()).await.unwrap();
    assert!(store.effective_roles(acme, ann, App::Identity).await.unwrap().contains("admin"));
    f.orgs.set_status(acme, listone_identity::org::OrgStatus::Suspended, admin(), Default::default()).await.unwrap();
    assert!(store.effective_roles(acme, ann, App::Identity).await.unwrap().is_empty(), "suspended org");
}

#[tokio::test]
async fn setting_replaces_the_set_audits_changes_only_and_bad_keys_write_nothing() {
    let f = Fixture::new().await;
    let store = roles(&f);
    let acme = f.org("acme").await;
    let ann = f.user(acme, "ann").await;
    let before = events(&f).await;
    store.set_user_roles(acme, ann, App::Crm, &set(&["a", "b"]), admin(), Default::default()).await.unwrap();
    assert_eq!(events(&f).await, before + 1);
    // The same set again changes nothing and records nothing.
    store.set_user_roles(acme, ann, App::Crm, &set(&["b", "a"]), admin(), Default::default()).await.unwrap();
    assert_eq!(events(&f).await, before + 1);
    store.set_user_roles(acme, ann, App::Crm, &set(&["b", "c"]), admin(), Default::default()).await.unwrap();
    assert_eq!(store.user_roles(acme, ann, App::Crm).await.unwrap().iter().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(events(&f).await, before + 2);

    let err = store
        .set_user_roles(acme, ann, App::Crm, &set(&["ok", "Not OK"]), admin(), Default::default())
        .await
        .unwrap_err();
    let Error::InvalidArgument { violations } = err else { panic!("expected INVALID_ARGUMENT") };
    assert_eq!(violations[0].field, "roles[1]");
    assert_eq!(store.user_roles(acme, ann, App::Crm).await.unwrap().iter().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(events(&f).await, before + 2, "nothing written");

    // Clearing.
    store.set_user_roles(acme, ann, App::Crm, &[], admin(), Default::default()).await.unwrap();
    assert!(store.user_roles(acme, ann, App::Crm).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_orgs_users_and_groups_are_not_found_and_deletion_drops_grants() {
    let f = Fixture::new().await;
    let store = roles(&f);
    let acme = f.org("acme").await;
    let globex = f.org("globex").await;
    let ann = f.user(acme, "ann").await;
    let group = f.groups.create(acme, "Support", None, admin(), Default::default()).await.unwrap();
    store.set_group_roles(acme, group.id, App::Crm, &set(&["agent"]), admin(), Default::default()).await.unwrap();
    store.set_user_roles(acme, ann, App::Crm, &set(&["agent"]), admin(), Default::default()).await.unwrap();

    let not_found = |e: Error| matches!(e, Error::NotFound { .. });
    assert!(not_found(
        store.set_user_roles(globex, ann, App::Crm, &set(&["x"]), admin(), Default::default()).await.unwrap_err()
    ));
    assert!(not_found(
        store.set_group_roles(globex, group.id, App::Crm, &set(&["x"]), admin(), Default::default()).await.unwrap_err()
    ));
    assert!(not_found(store.user_roles(globex, ann, App::Crm).await.unwrap_err()));
    assert!(not_found(store.group_roles(globex, group.id, App::Crm).await.unwrap_err()));
    assert!(not_found(store.effective_roles(globex, ann, App::Crm).await.unwrap_err()));
    assert!(not_found(store.user_roles(acme, UserId::new(), App::Crm).await.unwrap_err()));
    assert!(not_found(store.group_roles(acme, GroupId::new(), App::Crm).await.unwrap_err()));

    f.groups.delete(acme, group.id, admin(), Default::default()).await.unwrap();
    f.users.delete(acme, ann, admin(), Default::default()).await.unwrap();
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM group_role").await, 0);
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM user_role").await, 0);
}
