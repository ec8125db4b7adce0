//! Issue 7 at the record store's edge (SQLite, or PostgreSQL with LISTONE_TEST_DATABASE_URL): a
//! store acting for a user through its [`AccessGuard`] refuses each operation without its object
//! right, reaches a record only through ownership, a report, a sharing rule, a manual share or
//! the org-wide default, keeps fields the user may not read inside the store and refuses writes
//! of fields the user may not write, naming them. The agreement property over random policies is
//! in `access_guard_agreement.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "access_guard_support.rs"]
mod scene;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::TimeDelta;
use listone_core::{Clock, Error, RecordId};
use listone_identity::access::{
    ANY, AccessPolicy, Criteria, ManualShare, ObjectRight, OrgDefault, RoleProfile, ShareAccess, ShareRecipient,
    ShareTarget, SharingRule, Test, Value,
};
use listone_records::access::AccessGuard;
use listone_records::query::{FieldRef, Filter, Op, QueryValue, RecordQuery, SortKey};
use listone_records::{BulkUpdate, ChangeSource, RecordStore, StoredRecord};
use serde_json::{Value as Json, json};
use support::{ALL_HISTORY, json_of, object};

use scene::*;

// ---------------------------------------------------------------------------------------------
// Object rights
// ---------------------------------------------------------------------------------------------

/// The record operations the guard checks, by the object right each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Get,
    List,
    ListRelated,
    Count,
    History,
    Create,
    Update,
    Delete,
    BulkCreate,
    BulkUpdate,
}

impl Operation {
    const ALL: [Operation; 10] = [
        Operation::Get,
        Operation::List,
        Operation::ListRelated,
        Operation::Count,
        Operation::History,
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::BulkCreate,
        Operation::BulkUpdate,
    ];

    fn right(self) -> ObjectRight {
        match self {
            Operation::Get | Operation::List | Operation::ListRelated | Operation::Count | Operation::History => {
                ObjectRight::Read
            }
            Operation::Create | Operation::BulkCreate => ObjectRight::Create,
            Operation::Update | Operation::BulkUpdate => ObjectRight::Update,
            Operation::Delete => ObjectRight::Delete,
        }
    }
}

impl Caller<'_> {
    /// Runs `op` on `target` (a record the caller owns) with input the caller may write.
    async fn run(&self, op: Operation, target: &StoredRecord) -> Result<(), Error> {
        match op {
            Operation::Get => self.get(target.id).await.map(drop),
            Operation::List => self.list(None, Vec::new()).await.map(drop),
            Operation::ListRelated => self.related(None, Vec::new()).await.map(drop),
            Operation::Count => self.count(None).await.map(drop),
            Operation::History => self.history(target.id).await.map(drop),
            Operation::Create => self.create(json!({"name": "New"})).await.map(drop),
            Operation::Update => self.update(target, json!({"name": "Renamed"}), &[]).await.map(drop),
            Operation::Delete => self.delete(target.id, Some(target.version)).await,
            Operation::BulkCreate => {
                self.bulk_create(vec![json!({"name": "B1"}), json!({"name": "B2"})]).await.map(drop)
            }
            Operation::BulkUpdate => self.bulk_update(vec![(target, json!({"name": "Bulk"}))]).await.map(drop),
        }
    }
}

#[tokio::test]
async fn each_operation_is_refused_without_its_object_right_and_runs_with_it() {
    let s = Scene::new().await;
    for op in Operation::ALL {
        let right = op.right();
        let target = s.seed(REP, json!({"name": "Mine", "region": "EMEA"})).await;
        // `lacking` holds every other right (without read, none of them counts); `holding` read
        // and the one right; `blind` the right without read.
        let role = |key: &str, rights: Vec<ObjectRight>| {
            RoleProfile::new(key).grant(MODULE, rights).allow_fields(MODULE, [], [ANY])
        };
        let mut policy = AccessPolicy::new(s.f.org);
        policy.roles = vec![
            role("lacking", CRUD.into_iter().filter(|r| *r != right).collect()),
            role("holding", vec![ObjectRight::Read, right]),
            role("blind", vec![right]),
        ];
        let before = s.f.rows().await;
        let lacking = s.caller(&policy, s.principal(REP, &["lacking"]));
        assert_eq!(denial(lacking.run(op, &target).await), no_object_right(), "{op:?} without {right:?}");
        if right != ObjectRight::Read {
            let blind = s.caller(&policy, s.principal(REP, &["blind"]));
            assert_eq!(denial(blind.run(op, &target).await), no_object_right(), "{op:?} without read");
        }
        assert_eq!(s.f.rows().await, before, "{op:?} refused but wrote");
        let holding = s.caller(&policy, s.principal(REP, &["holding"]));
        holding.run(op, &target).await.unwrap_or_else(|e| panic!("{op:?} with {right:?}: {e:?}"));
    }
}

#[tokio::test]
async fn object_rights_come_from_every_role_held_and_from_the_wildcard_module() {
    let s = Scene::new().await;
    let mine = s.seed(REP, json!({"name": "Mine"})).await;
    let mut policy = AccessPolicy::new(s.f.org);
    policy.roles = vec![
        RoleProfile::new("reader").grant(ANY, [ObjectRight::Read]).allow_fields(ANY, [ANY], []),
        RoleProfile::new("editor").grant(MODULE, [ObjectRight::Update]).allow_fields(MODULE, [], ["name"]),
    ];
    let reader = s.caller(&policy, s.principal(REP, &["reader"]));
    reader.get(mine.id).await.unwrap();
    assert_eq!(denial(reader.update(&mine, json!({"name": "X"}), &[]).await), no_object_right());
    let both = s.caller(&policy, s.principal(REP, &["reader", "editor"]));
    let updated = both.update(&mine, json!({"name": "X"}), &[]).await.unwrap();
    assert_eq!(json_of(&updated, "name"), json!("X"));
    // A policy of another organization grants nothing, whatever its roles say.
    let mut foreign = policy.clone();
    foreign.org = s.f.other_org;
    let stranger = s.caller(&foreign, s.principal(REP, &["reader", "editor"]));
    assert_eq!(denial(stranger.get(mine.id).await), no_object_right());
    assert_eq!(denial(stranger.list(None, Vec::new()).await), no_object_right());
}

/// The answers among `answers` that are not PERMISSION_DENIED `NO_OBJECT_RIGHT`, described.
fn other_than_no_object_right(answers: Vec<(String, Result<(), Error>)>) -> Vec<String> {
    answers
        .into_iter()
        .filter(|(_, answer)| !matches!(answer, Err(Error::PermissionDenied { reason: "NO_OBJECT_RIGHT", .. })))
        .map(|(what, answer)| format!("{what}: {answer:?}"))
        .collect()
}

/// Object rights come first: without the read right, a record id that exists and one that does
/// not get the same answer, so the refusal tells nothing about which ids exist.
#[tokio::test]
async fn without_the_read_right_a_missing_record_answers_like_an_existing_one() {
    let s = Scene::new().await;
    let existing = s.seed(REP, json!({"name": "Mine"})).await;
    let mut missing = existing.clone();
    missing.id = RecordId::new();
    let outsider = s.caller(&staff(s.f.org), s.principal(OUTSIDER, &["outsider"]));
    let mut answers = Vec::new();
    for op in [Operation::Get, Operation::History, Operation::Update, Operation::Delete, Operation::BulkUpdate] {
        for (which, target) in [("existing", &existing), ("missing", &missing)] {
            answers.push((format!("{op:?} of the {which} record"), outsider.run(op, target).await));
        }
    }
    assert_eq!(other_than_no_object_right(answers), Vec::<String>::new());
}

/// The guard's contract: a module the caller may not read (create, update, delete) is
/// PERMISSION_DENIED `NO_OBJECT_RIGHT` whether or not the module exists.
#[tokio::test]
async fn without_rights_a_missing_module_answers_like_an_existing_one() {
    let s = Scene::new().await;
    let outsider = s.caller(&staff(s.f.org), s.principal(OUTSIDER, &["outsider"]));
    // An existing record, so only the module decides the answer.
    let id = s.seed(REP, json!({"name": "Mine"})).await.id;
    let (org, query, store) = (s.f.org, RecordQuery::default(), &outsider.store);
    let (actor, ctx, source) = (|| s.f.actor.clone(), || s.f.ctx.clone(), ChangeSource::Api);
    let mut answers = Vec::new();
    for module in [MODULE, "no_such_module"] {
        let reader = || s.f.reader();
        let values = || object(json!({"name": "N"}));
        let update = || BulkUpdate { id, changes: values(), field_mask: Vec::new(), expected_version: 1 };
        let owner = user(OUTSIDER).as_uuid();
        let on_module = [
            ("get", store.get(org, module, id, None, reader()).await.map(drop)),
            ("list", store.list(org, module, &query, None, reader()).await.map(drop)),
            ("list_related", store.list_related(org, module, "account", id, &query, None, reader()).await.map(drop)),
            ("count", store.count(org, module, None, COUNT_CAP).await.map(drop)),
            ("history", store.history(org, module, id, ALL_HISTORY, reader()).await.map(drop)),
            ("create", store.create(org, module, values(), owner, actor(), ctx(), source).await.map(drop)),
            ("update", store.update(org, module, id, values(), &[], 1, actor(), ctx(), source).await.map(drop)),
            ("delete", store.delete(org, module, id, None, actor(), ctx()).await),
            (
                "bulk_create",
                store.bulk_create(org, module, vec![values()], owner, actor(), ctx(), source).await.map(drop),
            ),
            ("bulk_update", store.bulk_update(org, module, vec![update()], actor(), ctx(), source).await.map(drop)),
        ];
        answers.extend(on_module.into_iter().map(|(op, answer)| (format!("{op} on {module}"), answer)));
    }
    assert_eq!(other_than_no_object_right(answers), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Record access
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn under_a_private_default_an_owner_reaches_their_own_records_only() {
    let s = Scene::new().await;
    let mine = s.seed(REP, json!({"name": "Mine"})).await;
    let theirs = s.seed(OTHER_REP, json!({"name": "Theirs"})).await;
    let rep = s.caller(&staff(s.f.org), s.principal(REP, &["rep"]));
    assert_eq!(rep.reach(&mine).await, Reach::Writable);
    assert_eq!(rep.reach(&theirs).await, Reach::Hidden);
    assert_eq!(rep.visible().await, BTreeSet::from([mine.id]));
    // A hidden record is refused before its fields are looked at.
    let err = rep.update(&theirs, json!({"margin": 1}), &[]).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "record" }), "{err:?}");
    rep.delete(mine.id, None).await.unwrap();
    assert!(matches!(rep.get(mine.id).await, Err(Error::NotFound { resource: "record" })));
}

#[tokio::test]
async fn a_manager_reaches_the_records_of_the_reports_it_manages() {
    let s = Scene::new().await;
    let policy = staff(s.f.org);
    let reported = s.seed(REP, json!({"name": "Report's"})).await;
    let unmanaged = s.seed(OTHER_REP, json!({"name": "Unmanaged"})).await;
    let own = s.seed(MANAGER, json!({"name": "Own"})).await;
    let manager = s.caller(&policy, s.principal(MANAGER, &["manager"]).managing([user(REP)]));
    assert_eq!(manager.reach(&reported).await, Reach::Writable);
    assert_eq!(manager.reach(&unmanaged).await, Reach::Hidden);
    assert_eq!(manager.visible().await, BTreeSet::from([reported.id, own.id]));
    // The role alone reaches nothing: the reports come resolved with the principal.
    let unresolved = s.caller(&policy, s.principal(MANAGER, &["manager"]));
    assert_eq!(unresolved.reach(&reported).await, Reach::Hidden);
    // And the report does not reach the manager's records.
    let rep = s.caller(&policy, s.principal(REP, &["rep"]));
    assert_eq!(rep.reach(&own).await, Reach::Hidden);
}

#[tokio::test]
async fn a_sharing_rule_to_a_group_shares_the_records_its_criteria_match() {
    let s = Scene::new().await;
    let emea = s.seed(OTHER_REP, json!({"name": "Emea", "region": "EMEA"})).await;
    let apac = s.seed(OTHER_REP, json!({"name": "Apac", "region": "APAC"})).await;
    let blank = s.seed(OTHER_REP, json!({"name": "Blank"})).await;
    let rule = |access| SharingRule {
        module: MODULE.into(),
        criteria: Criteria::test("region", Test::Eq(text("EMEA"))),
        share_with: ShareTarget::Group(group(1)),
        access,
    };
    let mut read = staff(s.f.org);
    read.rules.push(rule(ShareAccess::Read));
    let member = s.caller(&read, s.principal(ANALYST, &["analyst"]).in_groups([group(1)]));
    assert_eq!(member.reach(&emea).await, Reach::ReadOnly);
    assert_eq!(member.reach(&apac).await, Reach::Hidden);
    assert_eq!(member.reach(&blank).await, Reach::Hidden);
    assert_eq!(member.visible().await, BTreeSet::from([emea.id]));
    // Bulk updates meet the same refusals.
    let err = member.bulk_update(vec![(&emea, json!({"name": "X"}))]).await;
    assert_eq!(denial(err), ("RECORD_NOT_WRITABLE", None));
    let err = member.bulk_update(vec![(&apac, json!({"name": "X"}))]).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "record" }), "{err:?}");
    let outsider_group = s.caller(&read, s.principal(ANALYST, &["analyst"]).in_groups([group(2)]));
    assert_eq!(outsider_group.reach(&emea).await, Reach::Hidden);

    let mut write = staff(s.f.org);
    write.rules.push(rule(ShareAccess::ReadWrite));
    let member = s.caller(&write, s.principal(ANALYST, &["analyst"]).in_groups([group(1)]));
    assert_eq!(member.reach(&emea).await, Reach::Writable);
    assert_eq!(member.reach(&apac).await, Reach::Hidden);

    // A rule of another module shares nothing here.
    let mut elsewhere = staff(s.f.org);
    elsewhere.rules.push(SharingRule { module: "accounts".into(), ..rule(ShareAccess::ReadWrite) });
    let member = s.caller(&elsewhere, s.principal(ANALYST, &["analyst"]).in_groups([group(1)]));
    assert_eq!(member.reach(&emea).await, Reach::Hidden);
}

#[tokio::test]
async fn a_sharing_rule_to_a_role_with_subordinates_reaches_the_roles_below_it() {
    let s = Scene::new().await;
    let big = s.seed(ANALYST, json!({"name": "Big", "tier": 4})).await;
    let small = s.seed(ANALYST, json!({"name": "Small", "tier": 1})).await;
    let rule = |with_subordinates| SharingRule {
        module: MODULE.into(),
        criteria: Criteria::test("tier", Test::Gte(Value::Number(3))),
        share_with: ShareTarget::Role { key: "manager".into(), with_subordinates },
        access: ShareAccess::ReadWrite,
    };
    let mut down = staff(s.f.org);
    down.rules.push(rule(true));
    let rep = s.caller(&down, s.principal(REP, &["rep"]));
    assert_eq!(rep.reach(&big).await, Reach::Writable);
    assert_eq!(rep.reach(&small).await, Reach::Hidden);
    let manager = s.caller(&down, s.principal(MANAGER, &["manager"]));
    assert_eq!(manager.reach(&big).await, Reach::Writable);
    let other_analyst = s.caller(&down, s.principal(OTHER_REP, &["analyst"]));
    assert_eq!(other_analyst.reach(&big).await, Reach::Hidden);

    let mut only = staff(s.f.org);
    only.rules.push(rule(false));
    let rep = s.caller(&only, s.principal(REP, &["rep"]));
    assert_eq!(rep.reach(&big).await, Reach::Hidden);
    let manager = s.caller(&only, s.principal(MANAGER, &["manager"]));
    assert_eq!(manager.reach(&big).await, Reach::Writable);
    assert_eq!(manager.reach(&small).await, Reach::Hidden);
}

#[tokio::test]
async fn a_manual_share_counts_until_it_expires() {
    let s = Scene::new().await;
    let to_user = s.seed(OTHER_REP, json!({"name": "To user"})).await;
    let to_group = s.seed(OTHER_REP, json!({"name": "To group"})).await;
    let kept = s.seed(OTHER_REP, json!({"name": "Kept"})).await;
    let expires_at = s.f.clock.now() + TimeDelta::hours(1);
    let share = |record: &StoredRecord, with, access| ManualShare {
        module: MODULE.into(),
        record: record.id,
        with,
        access,
        expires_at,
    };
    let mut policy = staff(s.f.org);
    policy.shares = vec![
        share(&to_user, ShareRecipient::User(user(ANALYST)), ShareAccess::ReadWrite),
        share(&to_group, ShareRecipient::Group(group(1)), ShareAccess::Read),
    ];
    let analyst = s.caller(&policy, s.principal(ANALYST, &["analyst"]).in_groups([group(1)]));
    assert_eq!(analyst.reach(&to_user).await, Reach::Writable);
    assert_eq!(analyst.reach(&to_group).await, Reach::ReadOnly);
    assert_eq!(analyst.reach(&kept).await, Reach::Hidden);
    let stranger = s.caller(&policy, s.principal(MANAGER, &["analyst"]));
    assert_eq!(stranger.visible().await, BTreeSet::new());

    s.f.clock.set(expires_at - TimeDelta::microseconds(1));
    assert_eq!(analyst.visible().await, BTreeSet::from([to_user.id, to_group.id]));
    s.f.clock.set(expires_at);
    assert_eq!(analyst.reach(&to_user).await, Reach::Hidden, "a share counts strictly before its expiry");
    assert_eq!(analyst.reach(&to_group).await, Reach::Hidden);
    assert_eq!(analyst.visible().await, BTreeSet::new());
}

#[tokio::test]
async fn a_public_read_default_shows_every_record_but_writes_only_reachable_ones() {
    let s = Scene::new().await;
    let theirs = s.seed(OTHER_REP, json!({"name": "Theirs"})).await;
    let own = s.seed(ANALYST, json!({"name": "Own"})).await;
    for key in [MODULE, ANY] {
        let mut policy = staff(s.f.org);
        policy.defaults.insert(key.into(), OrgDefault::PublicRead);
        let analyst = s.caller(&policy, s.principal(ANALYST, &["analyst"]));
        assert_eq!(analyst.reach(&theirs).await, Reach::ReadOnly, "default on {key}");
        assert_eq!(analyst.reach(&own).await, Reach::Writable, "default on {key}");
        let err = analyst.update(&theirs, json!({"name": "Mine now"}), &[]).await;
        assert_eq!(denial(err), ("RECORD_NOT_WRITABLE", None));
        // The default opens records, not modules: object rights still come first.
        let outsider = s.caller(&policy, s.principal(OUTSIDER, &["outsider"]));
        assert_eq!(denial(outsider.get(theirs.id).await), no_object_right());
    }
    // A module's own default wins over the wildcard's.
    let mut policy = staff(s.f.org);
    policy.defaults.insert(ANY.into(), OrgDefault::PublicRead);
    policy.defaults.insert(MODULE.into(), OrgDefault::Private);
    let analyst = s.caller(&policy, s.principal(ANALYST, &["analyst"]));
    assert_eq!(analyst.reach(&theirs).await, Reach::Hidden);
}

#[tokio::test]
async fn a_public_read_write_default_opens_every_record_to_change() {
    let s = Scene::new().await;
    let theirs = s.seed(OTHER_REP, json!({"name": "Theirs"})).await;
    let mut policy = staff(s.f.org);
    policy.defaults.insert(MODULE.into(), OrgDefault::PublicReadWrite);
    let analyst = s.caller(&policy, s.principal(ANALYST, &["analyst"]));
    assert_eq!(analyst.reach(&theirs).await, Reach::Writable);
    analyst.delete(theirs.id, None).await.unwrap();
    assert!(matches!(analyst.get(theirs.id).await, Err(Error::NotFound { resource: "record" })));
    assert_eq!(analyst.visible().await, BTreeSet::new());
}

#[tokio::test]
async fn the_platform_store_sees_every_record_and_field() {
    let s = Scene::new().await;
    let mut seeded = BTreeSet::new();
    for owner in [MANAGER, REP, OTHER_REP, ANALYST] {
        seeded.insert(s.seed(owner, json!({"name": "N", "tier": 2, "margin": 30})).await.id);
    }
    let listed = s.f.store.list(s.f.org, MODULE, &RecordQuery::default(), None, s.f.reader()).await.unwrap();
    assert_eq!(listed.records.iter().map(|r| r.id).collect::<BTreeSet<_>>(), seeded);
    assert_eq!(s.f.store.count(s.f.org, MODULE, None, COUNT_CAP).await.unwrap().value, 4);
    let margin = Filter::cmp(FieldRef::custom("margin"), Op::Gt, QueryValue::Number(10.0));
    assert_eq!(s.f.store.count(s.f.org, MODULE, Some(&margin), COUNT_CAP).await.unwrap().value, 4);
    for id in seeded {
        let record = s.current(id).await;
        assert_eq!((json_of(&record, "margin"), json_of(&record, "doubled")), (json!(30), json!(4)));
    }
}

// ---------------------------------------------------------------------------------------------
// Field-level security
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fields_the_caller_may_not_read_never_leave_the_store() {
    let s = Scene::new().await;
    let policy = staff(s.f.org);
    let values = json!({"name": "Deal", "region": "EMEA", "tier": 2, "vip": true, "margin": 40, "notes": "n"});
    let record = s.seed(REP, values).await;
    let rep = s.caller(&policy, s.principal(REP, &["rep"]));
    let manager = s.caller(&policy, s.principal(MANAGER, &["manager"]).managing([user(REP)]));

    assert_eq!(keys(&rep.get(record.id).await.unwrap()), REP_READS);
    assert_eq!(keys(&rep.get_fields(record.id, &["name", "margin", "doubled"]).await.unwrap()), ["name"]);
    for listed in [rep.list(None, Vec::new()).await.unwrap(), rep.related(None, Vec::new()).await.unwrap()] {
        assert_eq!(listed.len(), 1);
        assert_eq!(keys(&listed[0]), REP_READS);
    }
    let all = keys(&manager.get(record.id).await.unwrap()).len();
    assert_eq!(all, opportunities().fields.len(), "the manager reads every field");

    // Update replies carry the written and computed fields the caller may read.
    let record = s.current(record.id).await;
    let updated = rep.update(&record, json!({"tier": 3}), &[]).await.unwrap();
    assert_eq!(keys(&updated), ["tier"]);
    let updated = manager.update(&updated, json!({"tier": 4, "margin": 45}), &[]).await.unwrap();
    assert_eq!(keys(&updated), ["doubled", "margin", "tier"]);
    // History leaves out the changes of fields the caller may not read.
    let changed: Vec<String> = rep.history(record.id).await.unwrap().into_iter().map(|c| c.field).collect();
    assert_eq!(changed, ["tier", "tier"]);
    let changed: BTreeSet<String> = manager.history(record.id).await.unwrap().into_iter().map(|c| c.field).collect();
    assert_eq!(changed, BTreeSet::from(["doubled", "margin", "tier"].map(str::to_owned)));

    // Create replies, single and bulk, hold no unreadable field (the platform's reply does).
    let platform = s.seed(REP, json!({"name": "P", "tier": 1})).await;
    assert!(keys(&platform).contains(&"doubled") && keys(&platform).contains(&"margin"));
    let created = rep.create(json!({"name": "C", "tier": 1})).await.unwrap();
    assert!(keys(&created).iter().all(|k| REP_READS.contains(k)), "{:?}", keys(&created));
    assert!(keys(&created).contains(&"tier"));
    for created in rep.bulk_create(vec![json!({"name": "B1", "tier": 1}), json!({"name": "B2"})]).await.unwrap() {
        assert!(keys(&created).iter().all(|k| REP_READS.contains(k)), "{:?}", keys(&created));
    }
    let updated = rep.bulk_update(vec![(&created, json!({"tier": 5}))]).await.unwrap();
    assert_eq!(keys(&updated[0]), ["tier"]);
}

#[tokio::test]
async fn batched_creates_apply_the_guard_of_each_caller() {
    let s = Scene::new().await;
    let policy = staff(s.f.org);
    let batching = s.f.store.clone().with_create_batching();
    let guarded = |who: u8, role: &str| {
        batching.acting_for(AccessGuard::new(Arc::new(policy.clone()), s.principal(who, &[role])))
    };
    let (rep, outsider) = (guarded(REP, "rep"), guarded(OUTSIDER, "outsider"));
    // Concurrent creates, which the writer may put in one transaction.
    let create = |store: &RecordStore, values: Json| {
        let (actor, ctx) = (s.f.actor.clone(), s.f.ctx.clone());
        let (store, org, owner) = (store.clone(), s.f.org, user(REP).as_uuid());
        async move { store.create(org, MODULE, object(values), owner, actor, ctx, ChangeSource::Api).await }
    };
    let (written, hidden_field, unwritable, no_right) = tokio::join!(
        create(&rep, json!({"name": "Ok", "tier": 2})),
        create(&rep, json!({"name": "Margin", "margin": 3})),
        create(&rep, json!({"name": "Notes", "notes": "n"})),
        create(&outsider, json!({"name": "Nope"})),
    );
    let written = written.unwrap();
    assert!(keys(&written).iter().all(|k| REP_READS.contains(k)), "{:?}", keys(&written));
    assert_eq!(denial(hidden_field), not_writable("fields.margin"));
    assert_eq!(denial(unwritable), not_writable("fields.notes"));
    assert_eq!(denial(no_right), no_object_right());
    let page = s.f.store.list(s.f.org, MODULE, &RecordQuery::default(), Some(&["name"]), s.f.reader()).await.unwrap();
    let names: Vec<Json> = page.records.iter().map(|r| json_of(r, "name")).collect();
    assert_eq!(names, [json!("Ok")], "only the allowed create was written");
}

#[tokio::test]
async fn filtering_or_sorting_on_a_field_the_caller_may_not_read_is_refused_naming_it() {
    let s = Scene::new().await;
    let policy = staff(s.f.org);
    s.seed(REP, json!({"name": "Deal", "region": "EMEA", "margin": 40})).await;
    let rep = s.caller(&policy, s.principal(REP, &["rep"]));
    let margin = Filter::cmp(FieldRef::custom("margin"), Op::Gt, QueryValue::Number(10.0));
    let nested = Filter::And(vec![
        region_is("EMEA"),
        Filter::Or(vec![Filter::cmp(FieldRef::custom("name"), Op::Eq, QueryValue::Text("x".into())), margin.clone()]),
    ]);
    let by_margin = vec![SortKey::desc(FieldRef::custom("margin"))];
    for filter in [margin.clone(), nested] {
        assert_eq!(denial(rep.list(Some(filter.clone()), Vec::new()).await), not_readable("margin"));
        assert_eq!(denial(rep.related(Some(filter.clone()), Vec::new()).await), not_readable("margin"));
        assert_eq!(denial(rep.count(Some(&filter)).await), not_readable("margin"));
    }
    assert_eq!(denial(rep.list(None, by_margin.clone()).await), not_readable("margin"));
    assert_eq!(denial(rep.related(None, by_margin.clone()).await), not_readable("margin"));
    // Readable fields filter and sort as usual; the manager may use the margin.
    let by_tier = vec![SortKey::asc(FieldRef::custom("tier"))];
    assert_eq!(rep.list(Some(region_is("EMEA")), by_tier).await.unwrap().len(), 1);
    assert_eq!(rep.count(Some(&region_is("APAC"))).await.unwrap(), 0);
    let manager = s.caller(&policy, s.principal(MANAGER, &["manager"]).managing([user(REP)]));
    assert_eq!(manager.list(Some(margin.clone()), by_margin).await.unwrap().len(), 1);
    assert_eq!(manager.count(Some(&margin)).await.unwrap(), 1);
}

#[tokio::test]
async fn writing_a_field_the_caller_may_not_write_is_refused_naming_it_and_writes_nothing() {
    let s = Scene::new().await;
    let policy = staff(s.f.org);
    let first = s.seed(REP, json!({"name": "First", "margin": 40})).await;
    let second = s.seed(REP, json!({"name": "Second"})).await;
    let rep = s.caller(&policy, s.principal(REP, &["rep"]));
    let before = s.f.rows().await;
    // Hidden (margin) and read-only (notes) fields alike.
    assert_eq!(denial(rep.create(json!({"name": "N", "margin": 5})).await), not_writable("fields.margin"));
    assert_eq!(denial(rep.create(json!({"name": "N", "notes": "n"})).await), not_writable("fields.notes"));
    assert_eq!(denial(rep.update(&first, json!({"margin": 1}), &[]).await), not_writable("fields.margin"));
    // Clearing a field through the mask writes it too.
    assert_eq!(denial(rep.update(&first, json!({}), &["name", "margin"]).await), not_writable("fields.margin"));
    let err = rep.bulk_create(vec![json!({"name": "Ok"}), json!({"name": "N", "margin": 5})]).await;
    assert_eq!(denial(err), not_writable("records[1].fields.margin"));
    let err = rep.bulk_update(vec![(&first, json!({"name": "Ok"})), (&second, json!({"notes": "n"}))]).await;
    assert_eq!(denial(err), not_writable("records[1].fields.notes"));
    assert_eq!(s.f.rows().await, before);
    assert_eq!(json_of(&s.current(first.id).await, "margin"), json!(40));
    // The manager may write both.
    let manager = s.caller(&policy, s.principal(MANAGER, &["manager"]).managing([user(REP)]));
    manager.update(&first, json!({"margin": 1, "notes": "n"}), &[]).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Reads audited with the read (the server's wiring: read batcher and read-audit batcher)

/// Record ids listed by the read entries after the first `skip`, with the fields each listed.
fn read_listing(entries: &[Json], skip: usize) -> Vec<(String, Json)> {
    let mut listed = Vec::new();
    for entry in &entries[skip..] {
        for item in entry["items"].as_array().unwrap() {
            listed.push((item["record_id"].as_str().unwrap().to_owned(), entry["fields"].clone()));
        }
    }
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    listed
}

#[tokio::test]
async fn a_guarded_read_is_audited_for_what_it_returned_only() {
    let s = Scene::new().await;
    let clock: listone_core::SharedClock = Arc::new(s.f.clock.clone());
    let recorder = listone_audit::AuditRecorder::new(s.f.keys.clone(), clock);
    let batcher = listone_audit::AuditBatcher::spawn(s.f.db.database().clone(), recorder, Default::default());
    let wired = s.f.store.clone().with_read_batching().with_read_audit(batcher);
    let caller = |policy: &AccessPolicy, who: u8, role: &str| {
        AccessGuard::new(Arc::new(policy.clone()), s.principal(who, &[role]))
    };
    let mine = s.seed(REP, json!({"name": "Mine", "notes": "n"})).await;
    let theirs = s.seed(OTHER_REP, json!({"name": "Theirs", "notes": "n"})).await;
    let before = s.f.audited("records.record.read").await.len();

    // Under the private default a rep's access depends on the record (decided after decoding):
    // the refused read is not listed.
    let rep = wired.acting_for(caller(&staff(s.f.org), REP, "rep"));
    let (a, b) = tokio::join!(
        rep.get(s.f.org, MODULE, mine.id, None, s.f.reader()),
        rep.get(s.f.org, MODULE, theirs.id, None, s.f.reader())
    );
    assert_eq!(keys(&a.unwrap()), REP_READS);
    assert!(matches!(b, Err(Error::NotFound { resource: "record" })));
    // Under a public-read default every record is readable, so the entry can go with the read.
    let mut public = staff(s.f.org);
    public.defaults.insert(MODULE.into(), OrgDefault::PublicRead);
    let analyst = wired.acting_for(caller(&public, ANALYST, "analyst"));
    let (c, d, e) = tokio::join!(
        analyst.get(s.f.org, MODULE, mine.id, None, s.f.reader()),
        analyst.get(s.f.org, MODULE, theirs.id, None, s.f.reader()),
        analyst.get(s.f.org, MODULE, theirs.id, Some(&["name"]), s.f.reader()),
    );
    assert!(c.is_ok() && d.is_ok() && e.is_ok());

    let listed = read_listing(&s.f.audited("records.record.read").await, before);
    let mut expected = vec![
        (mine.id.to_string(), json!(["notes"])),
        (mine.id.to_string(), json!(["notes"])),
        (theirs.id.to_string(), json!(["notes"])),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(listed, expected, "no entry for the refused read, nor for the read of a non-personal field");
}
