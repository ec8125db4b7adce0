//! Issue 7 at the record store's edge (SQLite, or PostgreSQL with LISTONE_TEST_DATABASE_URL): a
//! store acting for a user through its [`AccessGuard`] refuses each operation without its object
//! right, reaches a record only through ownership, a report, a sharing rule, a manual share or
//! the org-wide default, keeps fields the user may not read inside the store and refuses writes
//! of fields the user may not write, naming them. A property then checks that for random
//! policies and principals a guarded `get` finds exactly the records the guarded `list` returns,
//! and `count` counts them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use listone_audit::{ActorKind, AuditActor};
use listone_core::{Clock, Error, GroupId, OrgId, RecordId, UserId};
use listone_customization::{
    FieldDef, FieldType, FormulaResult, Layout, ModuleDef, ModuleKind, PersonalCategory, Protection,
};
use listone_identity::access::{
    ANY, AccessPolicy, AccessPrincipal, Criteria, ManualShare, ObjectRight, OrgDefault, RecordFacts, RoleProfile,
    ShareAccess, ShareRecipient, ShareTarget, SharingRule, Test, Value, decide,
};
use listone_records::access::{AccessGuard, CriteriaFields};
use listone_records::query::{FieldRef, Filter, Op, QueryValue, RecordQuery, SortKey};
use listone_records::{BulkUpdate, ChangeSource, FieldChange, RecordStore, StoredRecord};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value as Json, json};
use support::{ALL_HISTORY, Fixture, json_of, object};
use uuid::Uuid;

const MODULE: &str = "opportunities";
const CRUD: [ObjectRight; 4] = [ObjectRight::Read, ObjectRight::Create, ObjectRight::Update, ObjectRight::Delete];
/// Small pages, so every list walks several keyset pages.
const PAGE_SIZE: u32 = 7;
/// Far above any list here: a count below it must equal the list's length.
const COUNT_CAP: u32 = 1000;

/// A custom module with a criteria field of each kind, a margin reps may not see, a formula over
/// `tier`, an encrypted personal field and a lookup for related lists.
fn opportunities() -> ModuleDef {
    let indexed = |key: &str, field_type: FieldType| FieldDef::new(key, key, field_type).indexed();
    let regions = ["EMEA", "APAC", "AMER"].map(str::to_owned).to_vec();
    ModuleDef {
        key: MODULE.into(),
        label_singular: "Opportunity".into(),
        label_plural: "Opportunities".into(),
        kind: ModuleKind::Custom,
        is_subject: false,
        subject_link: None,
        fields: vec![
            indexed("name", FieldType::Text),
            indexed("region", FieldType::Picklist { values: regions }),
            indexed("tier", FieldType::Number),
            indexed("vip", FieldType::Boolean),
            indexed("margin", FieldType::Number),
            FieldDef::new(
                "doubled",
                "doubled",
                FieldType::Formula { expression: "tier * 2".into(), result: FormulaResult::Number },
            ),
            FieldDef::new("notes", "notes", FieldType::Text).tagged(PersonalCategory::Identity, Protection::Encrypted),
            indexed("account", FieldType::Lookup { target: "accounts".into() }),
        ],
        layout: Layout::default(),
        version: 1,
    }
}

fn user(i: u8) -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x0192_f0c1_0000_7000_8000_0000_0000_0000 + u128::from(i)))
}

fn group(i: u8) -> GroupId {
    GroupId::from_uuid(Uuid::from_u128(0x0192_f0c1_0000_7000_9000_0000_0000_0000 + u128::from(i)))
}

const MANAGER: u8 = 1;
const REP: u8 = 2;
const OTHER_REP: u8 = 3;
const ANALYST: u8 = 4;
const OUTSIDER: u8 = 5;

/// Every field of the module a rep may read: margins and what is computed from tiers are hidden.
const REP_READS: [&str; 6] = ["account", "name", "notes", "region", "tier", "vip"];

/// The org's staff: a manager over reps (who may not read margins or the formula, nor write
/// notes), an analyst outside the hierarchy, and an outsider with no right on the module. Every
/// module is private.
fn staff(org: OrgId) -> AccessPolicy {
    let crud = |key: &str| {
        let role = RoleProfile::new(key).grant(MODULE, CRUD).grant("accounts", [ObjectRight::Read]);
        role.allow_fields("accounts", [ANY], [])
    };
    let mut policy = AccessPolicy::new(org);
    policy.roles = vec![
        crud("manager").allow_fields(MODULE, [], [ANY]),
        crud("rep").reporting_to("manager").allow_fields(
            MODULE,
            ["notes", "account"],
            ["name", "region", "tier", "vip"],
        ),
        crud("analyst").allow_fields(MODULE, [ANY], ["name"]),
        RoleProfile::new("outsider").grant("accounts", [ObjectRight::Read]).allow_fields("accounts", [ANY], []),
    ];
    policy
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// A fixture with the module installed and one account for related lists.
struct Scene {
    f: Fixture,
    account: RecordId,
}

impl Scene {
    async fn new() -> Self {
        let f = Fixture::new().await;
        let system = AuditActor { kind: ActorKind::System, id: None };
        f.modules.create_module(f.org, opportunities(), system, Default::default()).await.unwrap();
        let account = f.create(f.org, "accounts", json!({"name": "Acme"})).await.unwrap().id;
        // The staff own records: they are users of the org.
        f.enrol_users(f.org, (0..=OUTSIDER).map(|i| user(i).as_uuid())).await;
        Self { f, account }
    }

    /// A record owned by user `owner`, created by the platform, linked to the account.
    async fn seed(&self, owner: u8, values: Json) -> StoredRecord {
        let mut values = object(values);
        values.entry("account").or_insert_with(|| json!(self.account.to_string()));
        let (actor, ctx) = (self.f.actor.clone(), self.f.ctx.clone());
        self.f
            .store
            .create(self.f.org, MODULE, values, user(owner).as_uuid(), actor, ctx, ChangeSource::Api)
            .await
            .unwrap()
    }

    fn principal(&self, who: u8, roles: &[&str]) -> AccessPrincipal {
        AccessPrincipal::new(self.f.org, user(who), roles.iter().copied())
    }

    fn caller(&self, policy: &AccessPolicy, principal: AccessPrincipal) -> Caller<'_> {
        let owner = principal.user.as_uuid();
        Caller { s: self, owner, store: self.f.store.acting_for(AccessGuard::new(Arc::new(policy.clone()), principal)) }
    }

    /// The platform's view of the record now (its version and name).
    async fn current(&self, id: RecordId) -> StoredRecord {
        self.f.store.get(self.f.org, MODULE, id, None, self.f.reader()).await.unwrap()
    }
}

/// How far a caller reaches one record, every operation agreeing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Not found by get, list, count, history, update or delete.
    Hidden,
    /// Read by all reads; update and delete are RECORD_NOT_WRITABLE.
    ReadOnly,
    /// Read by all reads; update and delete go through.
    Writable,
}

/// The store acting for one principal.
struct Caller<'a> {
    s: &'a Scene,
    owner: Uuid,
    store: RecordStore,
}

impl Caller<'_> {
    async fn get(&self, id: RecordId) -> Result<StoredRecord, Error> {
        self.store.get(self.s.f.org, MODULE, id, None, self.s.f.reader()).await
    }

    async fn get_fields(&self, id: RecordId, fields: &[&str]) -> Result<StoredRecord, Error> {
        self.store.get(self.s.f.org, MODULE, id, Some(fields), self.s.f.reader()).await
    }

    /// Every page of a list.
    async fn list(&self, filter: Option<Filter>, sort: Vec<SortKey>) -> Result<Vec<StoredRecord>, Error> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let query = RecordQuery { filter: filter.clone(), sort: sort.clone(), page_size: PAGE_SIZE, page_token };
            let page = self.store.list(self.s.f.org, MODULE, &query, None, self.s.f.reader()).await?;
            out.extend(page.records);
            match page.next_page_token {
                Some(next) => page_token = next,
                None => return Ok(out),
            }
        }
    }

    /// The records linked to the scene's account (one page holds them all).
    async fn related(&self, filter: Option<Filter>, sort: Vec<SortKey>) -> Result<Vec<StoredRecord>, Error> {
        let query = RecordQuery { filter, sort, page_size: 100, page_token: String::new() };
        let (org, account) = (self.s.f.org, self.s.account);
        let page = self.store.list_related(org, MODULE, "account", account, &query, None, self.s.f.reader()).await?;
        assert!(page.next_page_token.is_none());
        Ok(page.records)
    }

    async fn count(&self, filter: Option<&Filter>) -> Result<u64, Error> {
        let counted = self.store.count(self.s.f.org, MODULE, filter, COUNT_CAP).await?;
        assert!(!counted.capped);
        Ok(counted.value)
    }

    async fn history(&self, id: RecordId) -> Result<Vec<FieldChange>, Error> {
        self.store.history(self.s.f.org, MODULE, id, ALL_HISTORY, self.s.f.reader()).await.map(|(changes, _)| changes)
    }

    async fn create(&self, values: Json) -> Result<StoredRecord, Error> {
        let (actor, ctx) = (self.s.f.actor.clone(), self.s.f.ctx.clone());
        self.store.create(self.s.f.org, MODULE, object(values), self.owner, actor, ctx, ChangeSource::Api).await
    }

    async fn update(&self, record: &StoredRecord, changes: Json, mask: &[&str]) -> Result<StoredRecord, Error> {
        let mask: Vec<String> = mask.iter().map(|m| (*m).to_owned()).collect();
        let (actor, ctx) = (self.s.f.actor.clone(), self.s.f.ctx.clone());
        let (org, id, version) = (self.s.f.org, record.id, record.version);
        self.store.update(org, MODULE, id, object(changes), &mask, version, actor, ctx, ChangeSource::Ui).await
    }

    async fn delete(&self, id: RecordId, version: Option<i64>) -> Result<(), Error> {
        self.store.delete(self.s.f.org, MODULE, id, version, self.s.f.actor.clone(), self.s.f.ctx.clone()).await
    }

    async fn bulk_create(&self, records: Vec<Json>) -> Result<Vec<StoredRecord>, Error> {
        let records = records.into_iter().map(object).collect();
        let (actor, ctx) = (self.s.f.actor.clone(), self.s.f.ctx.clone());
        self.store.bulk_create(self.s.f.org, MODULE, records, self.owner, actor, ctx, ChangeSource::Import).await
    }

    async fn bulk_update(&self, updates: Vec<(&StoredRecord, Json)>) -> Result<Vec<StoredRecord>, Error> {
        let updates = updates
            .into_iter()
            .map(|(record, changes)| BulkUpdate {
                id: record.id,
                changes: object(changes),
                field_mask: Vec::new(),
                expected_version: record.version,
            })
            .collect();
        let (actor, ctx) = (self.s.f.actor.clone(), self.s.f.ctx.clone());
        self.store.bulk_update(self.s.f.org, MODULE, updates, actor, ctx, ChangeSource::Import).await
    }

    /// The ids the caller's list returns, checking that its count agrees.
    async fn visible(&self) -> BTreeSet<RecordId> {
        let listed: Vec<RecordId> = self.list(None, Vec::new()).await.unwrap().iter().map(|r| r.id).collect();
        let unique: BTreeSet<RecordId> = listed.iter().copied().collect();
        assert_eq!(unique.len(), listed.len(), "a record came back twice across pages");
        assert_eq!(self.count(None).await.unwrap(), listed.len() as u64, "count and list disagree");
        unique
    }

    /// How far the caller reaches `record`, from every operation on it: get, list (and count),
    /// history, an update that changes nothing (so the record stays as it is) and a delete at a
    /// version the record is not at (so an allowed delete stops at STALE_VERSION).
    async fn reach(&self, record: &StoredRecord) -> Reach {
        let current = self.s.current(record.id).await;
        let id = record.id;
        let listed = self.visible().await.contains(&id);
        let read = match self.get(id).await {
            Ok(_) => true,
            Err(Error::NotFound { resource: "record" }) => false,
            other => panic!("get of {id}: {other:?}"),
        };
        assert_eq!(read, listed, "get and list disagree on {id}");
        match self.history(id).await {
            Ok(_) => assert!(read, "history of a record get does not find"),
            Err(Error::NotFound { resource: "record" }) => assert!(!read, "get finds a record history does not"),
            other => panic!("history of {id}: {other:?}"),
        }
        let unchanged = json!({ "name": json_of(&current, "name") });
        let update = self.update(&current, unchanged, &[]).await;
        let delete = self.delete(id, Some(current.version + 1000)).await;
        let reach = match (&update, &delete) {
            (Err(Error::NotFound { resource: "record" }), Err(Error::NotFound { resource: "record" })) => Reach::Hidden,
            (
                Err(Error::PermissionDenied { reason: "RECORD_NOT_WRITABLE", field: None, .. }),
                Err(Error::PermissionDenied { reason: "RECORD_NOT_WRITABLE", field: None, .. }),
            ) => Reach::ReadOnly,
            (Ok(_), Err(Error::Aborted { reason: "STALE_VERSION", .. })) => Reach::Writable,
            _ => panic!("inconsistent answers on {id} (read: {read}): update {update:?}, delete {delete:?}"),
        };
        assert_eq!(read, reach != Reach::Hidden, "reads and writes disagree on {id}: {reach:?}");
        assert_eq!(self.s.current(id).await.version, current.version, "a probe changed the record");
        reach
    }
}

/// The reason and field of a PERMISSION_DENIED (panics on any other outcome).
fn denial<T: std::fmt::Debug>(result: Result<T, Error>) -> (&'static str, Option<String>) {
    match result {
        Err(Error::PermissionDenied { reason, field, .. }) => (reason, field),
        other => panic!("expected PERMISSION_DENIED, got {other:?}"),
    }
}

fn no_object_right() -> (&'static str, Option<String>) {
    ("NO_OBJECT_RIGHT", None)
}

fn not_readable(field: &str) -> (&'static str, Option<String>) {
    ("FIELD_NOT_READABLE", Some(field.to_owned()))
}

fn not_writable(path: &str) -> (&'static str, Option<String>) {
    ("FIELD_NOT_WRITABLE", Some(path.to_owned()))
}

/// The field keys a record came back with, sorted.
fn keys(record: &StoredRecord) -> Vec<&str> {
    record.fields.fields.keys().map(String::as_str).collect()
}

fn region_is(region: &str) -> Filter {
    Filter::cmp(FieldRef::custom("region"), Op::Eq, QueryValue::Text(region.to_owned()))
}

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
// Agreement of get, list and count under random policies
// ---------------------------------------------------------------------------------------------

const RECORDS: usize = 30;
/// Cases per run; `PROPTEST_CASES` raises it for a longer search.
const CASES: u32 = 128;
const ROLES: [&str; 4] = ["r0", "r1", "r2", "r3"];
const REGIONS: [&str; 3] = ["EMEA", "APAC", "AMER"];
const NAMES: [&str; 3] = ["Ann", "Bob", "Cy"];

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_366_400, 0).unwrap() // 2026-03-01T12:00:00Z
}

/// One record's owner and criteria values; `None` is empty.
#[derive(Debug, Clone)]
struct Sample {
    owner: u8,
    name: Option<&'static str>,
    region: Option<&'static str>,
    tier: Option<i64>,
    vip: Option<bool>,
}

fn sample() -> impl Strategy<Value = Sample> {
    use prop::option::of;
    (0u8..4, of(select(NAMES.to_vec())), of(select(REGIONS.to_vec())), of(0i64..5), of(any::<bool>()))
        .prop_map(|(owner, name, region, tier, vip)| Sample { owner, name, region, tier, vip })
}

impl Sample {
    fn input(&self) -> Json {
        json!({ "name": self.name, "region": self.region, "tier": self.tier, "vip": self.vip })
    }
}

/// A condition on a criteria field with operands of its kind, or on a field criteria cannot test.
fn condition() -> impl Strategy<Value = Criteria> {
    let region = || select(REGIONS.to_vec());
    prop_oneof![
        region().prop_map(|r| Criteria::test("region", Test::Eq(text(r)))),
        region().prop_map(|r| Criteria::test("region", Test::Ne(text(r)))),
        subsequence(REGIONS.to_vec(), 0..=2)
            .prop_map(|rs| Criteria::test("region", Test::In(rs.into_iter().map(text).collect()))),
        (0i64..5).prop_map(|n| Criteria::test("tier", Test::Gte(Value::Number(n)))),
        (0i64..5).prop_map(|n| Criteria::test("tier", Test::Lt(Value::Number(n)))),
        any::<bool>().prop_map(|b| Criteria::test("vip", Test::Eq(Value::Bool(b)))),
        select(NAMES.to_vec()).prop_map(|n| Criteria::test("name", Test::Eq(text(n)))),
        select(vec!["name", "region", "tier", "vip", "notes"]).prop_map(|k| Criteria::test(k, Test::IsEmpty)),
    ]
}

fn criteria() -> impl Strategy<Value = Criteria> {
    condition().prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Criteria::And),
            prop::collection::vec(inner, 0..3).prop_map(Criteria::Or),
        ]
    })
}

fn share_access() -> impl Strategy<Value = ShareAccess> {
    prop_oneof![Just(ShareAccess::Read), Just(ShareAccess::ReadWrite)]
}

/// Role `i` with random rights on the module or on every module, perhaps reporting to a role
/// before it (so the hierarchy has no cycle).
fn role(i: usize) -> impl Strategy<Value = RoleProfile> {
    let boss = prop::option::weighted(0.5, select(ROLES[..i.max(1)].to_vec())).prop_map(move |b| b.filter(|_| i > 0));
    // Mostly with the read right, without which no other right counts.
    let rights = (prop::bool::weighted(0.8), subsequence(CRUD[1..].to_vec(), 0..=3));
    (boss, select(vec![MODULE, MODULE, ANY]), rights).prop_map(move |(boss, key, (read, mut rights))| {
        if read {
            rights.push(ObjectRight::Read);
        }
        let mut role = RoleProfile::new(ROLES[i]).grant(key, rights);
        role.reports_to = boss.map(str::to_owned);
        role
    })
}

/// A policy of `org` (now and then of `other_org`) over the module: four random roles, mostly no
/// default (private), sharing rules with random criteria to groups and roles, and manual shares
/// of `records` (and of a missing one) expiring around [`t0`].
fn policy(org: OrgId, other_org: OrgId, records: Vec<RecordId>) -> impl Strategy<Value = AccessPolicy> {
    let roles = (role(0), role(1), role(2), role(3)).prop_map(|(a, b, c, d)| vec![a, b, c, d]);
    let defaults = vec![OrgDefault::Private, OrgDefault::PublicRead, OrgDefault::PublicReadWrite];
    let default = prop_oneof![3 => Just(None), 1 => (select(vec![MODULE, ANY]), select(defaults)).prop_map(Some)];
    let target = prop_oneof![
        (0u8..3).prop_map(|g| ShareTarget::Group(group(g))),
        (select(vec!["r0", "r1", "r2", "r3", "ghost"]), any::<bool>())
            .prop_map(|(key, with_subordinates)| ShareTarget::Role { key: key.into(), with_subordinates }),
    ];
    let rule = (select(vec![MODULE, MODULE, MODULE, "accounts"]), criteria(), target, share_access()).prop_map(
        |(module, criteria, share_with, access)| SharingRule { module: module.into(), criteria, share_with, access },
    );
    let mut shared = records;
    shared.push(RecordId::from_uuid(Uuid::from_u128(7))); // no such record
    let recipient = prop_oneof![
        (0u8..5).prop_map(|u| ShareRecipient::User(user(u))),
        (0u8..3).prop_map(|g| ShareRecipient::Group(group(g))),
    ];
    let expiry =
        select(vec![-3_600_000_000_i64, -1, 0, 1, 3_600_000_000]).prop_map(|us| t0() + TimeDelta::microseconds(us));
    let share = (select(vec![MODULE, MODULE, MODULE, "accounts"]), select(shared), recipient, share_access(), expiry)
        .prop_map(|(module, record, with, access, expires_at)| ManualShare {
            module: module.into(),
            record,
            with,
            access,
            expires_at,
        });
    let foreign = prop::bool::weighted(1.0 / 16.0);
    (roles, default, prop::collection::vec(rule, 0..4), prop::collection::vec(share, 0..6), foreign).prop_map(
        move |(roles, default, rules, shares, foreign)| {
            let mut policy = AccessPolicy::new(if foreign { other_org } else { org });
            policy.roles = roles;
            policy.defaults.extend(default.map(|(key, d)| (key.to_owned(), d)));
            policy.rules = rules;
            policy.shares = shares;
            policy
        },
    )
}

/// A user of `org` with one to three roles (perhaps one the policy lacks), groups and reports.
fn principal(org: OrgId) -> impl Strategy<Value = AccessPrincipal> {
    let roles = subsequence(vec!["r0", "r1", "r2", "r3", "ghost"], 1..=3);
    let groups = subsequence((0u8..3).map(group).collect::<Vec<_>>(), 0..=2);
    let reports = subsequence((0u8..5).map(user).collect::<Vec<_>>(), 0..=2);
    (0u8..5, roles, groups, reports).prop_map(move |(who, roles, groups, reports)| {
        AccessPrincipal::new(org, user(who), roles).in_groups(groups).managing(reports)
    })
}

/// What a guarded store answered for one policy and principal.
struct Answers {
    listed: Result<Vec<RecordId>, Error>,
    count: Result<u64, Error>,
    got: Vec<(RecordId, Result<(), Error>)>,
}

struct Probe {
    s: Scene,
    facts: Vec<RecordFacts>,
}

impl Probe {
    async fn new() -> Self {
        let s = Scene::new().await;
        s.f.clock.set(t0());
        let mut runner = TestRunner::deterministic();
        for _ in 0..RECORDS {
            let sample = sample().new_tree(&mut runner).unwrap().current();
            s.seed(sample.owner, sample.input()).await;
        }
        // The facts a single-record decision reads, as the platform lists them.
        let def = s.f.modules.get_module(s.f.org, MODULE).await.unwrap().definition;
        let criteria = CriteriaFields::of(&def);
        let keys: Vec<&str> = criteria.keys().collect();
        let query = RecordQuery { page_size: 100, ..RecordQuery::default() };
        let page = s.f.store.list(s.f.org, MODULE, &query, Some(&keys), s.f.reader()).await.unwrap();
        assert_eq!(page.records.len(), RECORDS);
        let facts = page.records.iter().map(|r| criteria.facts(r)).collect();
        Self { s, facts }
    }

    async fn answers(&self, guard: AccessGuard) -> Answers {
        let store = self.s.f.store.acting_for(guard);
        let org = self.s.f.org;
        let listed = async {
            let mut ids = Vec::new();
            let mut page_token = String::new();
            loop {
                let query = RecordQuery { filter: None, sort: Vec::new(), page_size: PAGE_SIZE, page_token };
                let page = store.list(org, MODULE, &query, Some(&[]), self.s.f.reader()).await?;
                ids.extend(page.records.iter().map(|r| r.id));
                match page.next_page_token {
                    Some(next) => page_token = next,
                    None => return Ok(ids),
                }
            }
        }
        .await;
        let count = store.count(org, MODULE, None, COUNT_CAP).await.map(|c| c.value);
        let mut got = Vec::with_capacity(self.facts.len());
        for fact in &self.facts {
            got.push((fact.id, store.get(org, MODULE, fact.id, Some(&[]), self.s.f.reader()).await.map(drop)));
        }
        Answers { listed, count, got }
    }
}

fn is_no_object_right<T>(result: &Result<T, Error>) -> bool {
    matches!(result, Err(Error::PermissionDenied { reason: "NO_OBJECT_RIGHT", .. }))
}

#[test]
fn under_random_policies_get_finds_exactly_the_records_list_returns_and_count_counts_them() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let probe = runtime.block_on(Probe::new());
    let (org, other_org) = (probe.s.f.org, probe.s.f.other_org);
    let ids: Vec<RecordId> = probe.facts.iter().map(|f| f.id).collect();
    let (refused, none, some, all) = (Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0));
    let started = std::time::Instant::now();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (policy(org, other_org, ids), principal(org));
    let result = runner.run(&strategy, |(policy, principal)| {
        let guard = AccessGuard::new(Arc::new(policy.clone()), principal.clone());
        let answers = runtime.block_on(probe.answers(guard));
        if !policy.has_right(&principal, MODULE, ObjectRight::Read) || policy.org != org {
            prop_assert!(is_no_object_right(&answers.listed), "list: {:?}", answers.listed);
            prop_assert!(is_no_object_right(&answers.count), "count: {:?}", answers.count);
            for (id, got) in &answers.got {
                prop_assert!(is_no_object_right(got), "get {}: {:?}", id, got);
            }
            refused.set(refused.get() + 1);
            return Ok(());
        }
        let listed = match answers.listed {
            Ok(listed) => listed,
            Err(err) => return Err(TestCaseError::fail(format!("list failed: {err:?}"))),
        };
        let unique: BTreeSet<RecordId> = listed.iter().copied().collect();
        prop_assert_eq!(unique.len(), listed.len(), "a record came back twice across pages");
        for (id, got) in &answers.got {
            match got {
                Ok(()) => prop_assert!(unique.contains(id), "get finds {} but list does not return it", id),
                Err(Error::NotFound { resource: "record" }) => {
                    prop_assert!(!unique.contains(id), "list returns {} but get does not find it", id)
                }
                Err(other) => return Err(TestCaseError::fail(format!("get {id}: {other:?}"))),
            }
        }
        match &answers.count {
            Ok(n) => prop_assert_eq!(*n, listed.len() as u64, "count and list disagree"),
            Err(err) => return Err(TestCaseError::fail(format!("count failed: {err:?}"))),
        }
        // Both are what the engine decides from each record's facts.
        let decided: BTreeSet<RecordId> = probe
            .facts
            .iter()
            .filter(|f| decide(&policy, &principal, MODULE, ObjectRight::Read, f, t0()).allowed)
            .map(|f| f.id)
            .collect();
        prop_assert_eq!(&unique, &decided);
        let bucket = match unique.len() {
            0 => &none,
            n if n == RECORDS => &all,
            _ => &some,
        };
        bucket.set(bucket.get() + 1);
        Ok(())
    });
    result.unwrap();
    eprintln!(
        "access guard agreement: {} cases in {:?}; {} refused, {} saw none, {} some, {} all",
        cases,
        started.elapsed(),
        refused.get(),
        none.get(),
        some.get(),
        all.get()
    );
    assert!(some.get() >= cases as usize / 4, "too few cases tell records apart");
}
