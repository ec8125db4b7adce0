//! The stored access policy on a real database: versions, validation as a whole, audit, tenant
//! isolation, and principal resolution (effective CRM roles, groups, reports through the
//! policy's role hierarchy).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use listone_core::{App, Error, GroupId, OrgId, RecordId, UserId};
use listone_identity::access::{
    AccessPolicy, AccessPolicyStore, Condition, Criteria, ManualShare, ObjectRight, OrgDefault, RoleProfile,
    ShareAccess, ShareRecipient, ShareTarget, SharingRule, Test, Value, ValueKind,
};
use listone_identity::role::RoleStore;
use support::{Fixture, admin};

type Catalog = BTreeMap<String, BTreeMap<String, ValueKind>>;
/// Live records by module key.
type Records = BTreeMap<String, BTreeSet<RecordId>>;

fn catalog() -> Catalog {
    let contacts = [("region", ValueKind::Text), ("score", ValueKind::Number)];
    BTreeMap::from([("contacts".to_owned(), contacts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())])
}

fn no_records() -> Records {
    Records::new()
}

fn roles(f: &Fixture) -> RoleStore {
    RoleStore::new(f.db.database().clone(), f.shared_clock.clone(), f.audit.clone(), f.users.clone())
}

fn store(f: &Fixture) -> AccessPolicyStore {
    AccessPolicyStore::new(f.db.database().clone(), f.shared_clock.clone(), f.audit.clone(), roles(f), f.groups.clone())
}

fn sales_policy(org: OrgId) -> AccessPolicy {
    let mut policy = AccessPolicy::new(org);
    policy.roles.push(RoleProfile::new("sales.manager").grant("contacts", [ObjectRight::Read, ObjectRight::Update]));
    policy
        .roles
        .push(RoleProfile::new("sales.rep").reporting_to("sales.manager").grant("contacts", [ObjectRight::Read]));
    policy.roles.push(RoleProfile::new("sales.intern").reporting_to("sales.rep"));
    policy.defaults.insert("contacts".into(), OrgDefault::Private);
    policy
}

async fn audited(f: &Fixture) -> i64 {
    f.count(
        "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry' AND CAST(payload AS TEXT) LIKE '%access_policy.replace%'",
    )
    .await
}

#[tokio::test]
async fn a_policy_is_versioned_replaced_whole_and_audited() {
    let f = Fixture::new().await;
    let store = store(&f);
    let acme = f.org("acme").await;

    let empty = store.get(acme, App::Crm).await.unwrap();
    assert_eq!((empty.version, empty.policy), (0, AccessPolicy::starter(acme)), "never set: the starter policy");

    let first = store
        .replace(acme, App::Crm, sales_policy(acme), 0, &catalog(), &no_records(), admin(), Default::default())
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(store.get(acme, App::Crm).await.unwrap(), first);
    assert_eq!(audited(&f).await, 1);

    // Made against version 0 again: refused, nothing written.
    let (cat, records) = (catalog(), no_records());
    let stale = store.replace(acme, App::Crm, AccessPolicy::new(acme), 0, &cat, &records, admin(), Default::default());
    assert!(matches!(stale.await, Err(Error::Aborted { reason: "STALE_VERSION", .. })));
    assert_eq!(store.get(acme, App::Crm).await.unwrap().version, 1);

    let mut second = sales_policy(acme);
    second.defaults.insert("contacts".into(), OrgDefault::PublicRead);
    let second =
        store.replace(acme, App::Crm, second, 1, &catalog(), &no_records(), admin(), Default::default()).await.unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(audited(&f).await, 2);
    // Per app: the CRM policy is not HRMS's.
    assert_eq!(store.get(acme, App::Hrms).await.unwrap().version, 0);
}

#[tokio::test]
async fn a_bad_policy_reports_every_problem_and_writes_nothing() {
    let f = Fixture::new().await;
    let store = store(&f);
    let acme = f.org("acme").await;
    let mut bad = sales_policy(acme);
    bad.roles.push(RoleProfile::new("Bad Key").grant("tickets", [ObjectRight::Update]));
    bad.defaults.insert("nope".into(), OrgDefault::PublicRead);
    let err = store
        .replace(acme, App::Crm, bad, 0, &catalog(), &no_records(), admin(), Default::default())
        .await
        .unwrap_err();
    let Error::InvalidArgument { violations } = err else { panic!("expected INVALID_ARGUMENT") };
    let paths: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert!(paths.contains(&"roles[3].key"), "{paths:?}");
    assert!(paths.contains(&"roles[3].objects.tickets"), "{paths:?}");
    assert!(paths.contains(&"defaults.nope"), "{paths:?}");
    assert_eq!(store.get(acme, App::Crm).await.unwrap().version, 0);
    assert_eq!(audited(&f).await, 0);

    // Another organization's policy cannot be stored under this one.
    let other = OrgId::new();
    let err = store
        .replace(acme, App::Crm, sales_policy(other), 0, &catalog(), &no_records(), admin(), Default::default())
        .await;
    assert!(matches!(err, Err(Error::InvalidArgument { ref violations }) if violations[0].field == "policy.org"));
}

#[tokio::test]
async fn policies_are_per_organization() {
    let f = Fixture::new().await;
    let store = store(&f);
    let (acme, globex) = (f.org("acme").await, f.org("globex").await);
    store
        .replace(acme, App::Crm, sales_policy(acme), 0, &catalog(), &no_records(), admin(), Default::default())
        .await
        .unwrap();
    assert_eq!(store.get(globex, App::Crm).await.unwrap().version, 0, "globex sees nothing of acme's");
    // Globex's first policy is its own version 1, not a stale write over acme's.
    let (cat, records) = (catalog(), no_records());
    let own = store.replace(globex, App::Crm, sales_policy(globex), 0, &cat, &records, admin(), Default::default());
    assert_eq!(own.await.unwrap().version, 1);
}

/// `sales_policy` with a rule sharing EMEA contacts with `group` and `record` shared by hand
/// with `user`.
fn sharing_policy(org: OrgId, group: GroupId, record: RecordId, user: UserId) -> AccessPolicy {
    let mut policy = sales_policy(org);
    policy.rules.push(SharingRule {
        module: "contacts".into(),
        criteria: Criteria::Where(Condition::new("region", Test::Eq(Value::Text("EMEA".into())))),
        share_with: ShareTarget::Group(group),
        access: ShareAccess::Read,
    });
    policy.shares.push(ManualShare {
        module: "contacts".into(),
        record,
        with: ShareRecipient::User(user),
        access: ShareAccess::Read,
        expires_at: chrono::Utc::now() + chrono::Duration::days(1),
    });
    policy
}

#[tokio::test]
async fn sharing_with_another_orgs_group_user_or_record_is_refused_like_unknown_ids_and_writes_nothing() {
    let f = Fixture::new().await;
    let store = store(&f);
    let (acme, globex) = (f.org("acme").await, f.org("globex").await);
    let (mia, gus) = (f.user(acme, "mia").await, f.user(globex, "gus").await);
    let team = f.groups.create(acme, "EMEA", None, admin(), Default::default()).await.unwrap().id;
    let theirs = f.groups.create(globex, "EMEA", None, admin(), Default::default()).await.unwrap().id;
    let (contact, account) = (RecordId::new(), RecordId::new());
    let records = Records::from([("contacts".to_owned(), [contact].into()), ("accounts".to_owned(), [account].into())]);
    let catalog = catalog();
    let replace = |policy| store.replace(acme, App::Crm, policy, 0, &catalog, &records, admin(), Default::default());

    let foreign = replace(sharing_policy(acme, theirs, RecordId::new(), gus)).await.unwrap_err();
    let Error::InvalidArgument { violations } = &foreign else { panic!("expected INVALID_ARGUMENT: {foreign:?}") };
    let paths: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(paths, ["rules[0].share_with.group", "shares[0].record", "shares[0].with.user"]);
    for id in [theirs.to_string(), gus.to_string()] {
        assert!(!format!("{foreign:?}").contains(&id), "ids are never echoed");
    }
    let unknown = replace(sharing_policy(acme, GroupId::new(), RecordId::new(), UserId::new())).await.unwrap_err();
    assert_eq!(
        format!("{foreign:?}"),
        format!("{unknown:?}"),
        "another organization's ids are answered as ids that never existed"
    );
    // A live record of another module than the share names is no record of that module.
    let wrong_module = replace(sharing_policy(acme, team, account, mia)).await.unwrap_err();
    assert!(matches!(wrong_module, Error::InvalidArgument { ref violations } if violations.len() == 1
        && violations[0].field == "shares[0].record"));
    assert_eq!(store.get(acme, App::Crm).await.unwrap().version, 0, "nothing written");
    assert_eq!(audited(&f).await, 0);

    // Its own group, user and record: stored.
    assert_eq!(replace(sharing_policy(acme, team, contact, mia)).await.unwrap().version, 1);
}

#[tokio::test]
async fn a_principal_has_its_effective_roles_groups_and_the_holders_of_roles_below() {
    let f = Fixture::new().await;
    let (store, roles) = (store(&f), roles(&f));
    let acme = f.org("acme").await;
    let policy = sales_policy(acme);
    let (mia, rob, ida, zed) =
        (f.user(acme, "mia").await, f.user(acme, "rob").await, f.user(acme, "ida").await, f.user(acme, "zed").await);
    for user in [mia, rob, ida, zed] {
        f.users.assign_app(acme, user, App::Crm, admin(), Default::default()).await.unwrap();
    }
    let set = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    roles.set_user_roles(acme, mia, App::Crm, &set(&["sales.manager"]), admin(), Default::default()).await.unwrap();
    roles.set_user_roles(acme, rob, App::Crm, &set(&["sales.rep"]), admin(), Default::default()).await.unwrap();
    // Ida is an intern through a group; Zed holds a role outside the hierarchy.
    let interns = f.groups.create(acme, "Interns", None, admin(), Default::default()).await.unwrap();
    f.groups.add_member(acme, interns.id, ida, admin(), Default::default()).await.unwrap();
    roles
        .set_group_roles(acme, interns.id, App::Crm, &set(&["sales.intern"]), admin(), Default::default())
        .await
        .unwrap();
    roles.set_user_roles(acme, zed, App::Crm, &set(&["support"]), admin(), Default::default()).await.unwrap();

    let manager = store.principal(&policy, acme, mia, App::Crm).await.unwrap();
    assert_eq!(manager.roles.iter().collect::<Vec<_>>(), ["sales.manager"]);
    assert_eq!(manager.subordinates, [rob, ida].into_iter().collect(), "reps and interns, not support");

    let rep = store.principal(&policy, acme, rob, App::Crm).await.unwrap();
    assert_eq!(rep.subordinates, [ida].into_iter().collect());

    let intern = store.principal(&policy, acme, ida, App::Crm).await.unwrap();
    assert!(intern.subordinates.is_empty());
    assert_eq!(intern.groups, [interns.id].into_iter().collect());

    // Without the app, no roles and so nobody below either (fails closed).
    f.users.deactivate(acme, mia, admin(), Default::default()).await.unwrap();
    let gone = store.principal(&policy, acme, mia, App::Crm).await.unwrap();
    assert!(gone.roles.is_empty() && gone.subordinates.is_empty());

    // Another organization's user is not found.
    let globex = f.org("globex").await;
    assert!(matches!(store.principal(&policy, globex, rob, App::Crm).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn the_policy_in_force_follows_every_replace_and_is_parsed_once_per_version() {
    let f = Fixture::new().await;
    let store = store(&f);
    let (acme, globex) = (f.org("acme").await, f.org("globex").await);
    let starter = store.in_force(acme, App::Crm).await.unwrap();
    assert_eq!((starter.version, &*starter.policy), (0, &AccessPolicy::starter(acme)));

    store
        .replace(acme, App::Crm, sales_policy(acme), 0, &catalog(), &no_records(), admin(), Default::default())
        .await
        .unwrap();
    let first = store.in_force(acme, App::Crm).await.unwrap();
    assert_eq!((first.version, &*first.policy), (1, &sales_policy(acme)), "the next call sees the replace");
    let again = store.in_force(acme, App::Crm).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first.policy, &again.policy), "an unchanged version is not parsed again");

    // A replace made by another process (another store, its own memory) is seen too.
    let mut second = sales_policy(acme);
    second.defaults.insert("contacts".into(), OrgDefault::PublicRead);
    let other = self::store(&f);
    other
        .replace(acme, App::Crm, second.clone(), 1, &catalog(), &no_records(), admin(), Default::default())
        .await
        .unwrap();
    let seen = store.in_force(acme, App::Crm).await.unwrap();
    assert_eq!((seen.version, &*seen.policy), (2, &second));

    assert_eq!(store.in_force(globex, App::Crm).await.unwrap().version, 0, "per organization");
    assert_eq!(store.in_force(acme, App::Hrms).await.unwrap().version, 0, "per app");
}

#[tokio::test]
async fn a_principal_from_token_roles_reads_groups_and_reports_only_when_the_policy_uses_them() {
    let f = Fixture::new().await;
    let (store, roles) = (store(&f), roles(&f));
    let acme = f.org("acme").await;
    let (mia, rob) = (f.user(acme, "mia").await, f.user(acme, "rob").await);
    f.users.assign_app(acme, rob, App::Crm, admin(), Default::default()).await.unwrap();
    let set = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    roles.set_user_roles(acme, rob, App::Crm, &set(&["sales.rep"]), admin(), Default::default()).await.unwrap();
    let team = f.groups.create(acme, "EMEA", None, admin(), Default::default()).await.unwrap();
    f.groups.add_member(acme, team.id, mia, admin(), Default::default()).await.unwrap();
    let token_roles = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect();

    // No rule or share names a group: membership is not looked up.
    let policy = sales_policy(acme);
    let manager = store.principal_holding(&policy, acme, mia, App::Crm, token_roles(&["sales.manager"])).await.unwrap();
    assert_eq!(manager.roles, token_roles(&["sales.manager"]), "the token's roles, as carried");
    assert!(manager.groups.is_empty());
    assert_eq!(manager.subordinates, [rob].into_iter().collect(), "holders of roles below, from the database");

    // A share to a group: the groups are read.
    let mut shared = policy.clone();
    shared.shares.push(listone_identity::access::ManualShare {
        module: "contacts".into(),
        record: listone_core::RecordId::new(),
        with: listone_identity::access::ShareRecipient::Group(team.id),
        access: listone_identity::access::ShareAccess::Read,
        expires_at: f.shared_clock.now() + chrono::Duration::days(1),
    });
    let member = store.principal_holding(&shared, acme, mia, App::Crm, token_roles(&["sales.rep"])).await.unwrap();
    assert_eq!(member.groups, [team.id].into_iter().collect());
    assert!(member.subordinates.is_empty(), "nobody holds the intern role");

    // Without roles nothing is looked up and nothing is granted.
    let nobody = store.principal_holding(&shared, acme, mia, App::Crm, token_roles(&[])).await.unwrap();
    assert!(nobody.groups.is_empty() && nobody.subordinates.is_empty());
}
