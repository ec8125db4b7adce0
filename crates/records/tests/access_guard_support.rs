//! The scene of the access-guard suites (`access_guard.rs`, `access_guard_agreement.rs`): a
//! custom module with a criteria field of each kind, staff users, a policy, and a caller that
//! runs every store operation through its guard and reports how far it reaches a record.
#![allow(dead_code, missing_debug_implementations, clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
pub mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use listone_audit::{ActorKind, AuditActor};
use listone_core::{Error, GroupId, OrgId, RecordId, UserId};
use listone_customization::{
    FieldDef, FieldType, FormulaResult, Layout, ModuleDef, ModuleKind, PersonalCategory, Protection,
};
use listone_identity::access::{ANY, AccessPolicy, AccessPrincipal, ObjectRight, RoleProfile, Value};
use listone_records::access::AccessGuard;
use listone_records::query::{FieldRef, Filter, Op, QueryValue, RecordQuery, SortKey};
use listone_records::{BulkUpdate, ChangeSource, FieldChange, RecordStore, StoredRecord};
use serde_json::{Value as Json, json};
use support::{ALL_HISTORY, Fixture, json_of, object};
use uuid::Uuid;

pub const MODULE: &str = "opportunities";
pub const CRUD: [ObjectRight; 4] = [ObjectRight::Read, ObjectRight::Create, ObjectRight::Update, ObjectRight::Delete];
/// Small pages, so every list walks several keyset pages.
pub const PAGE_SIZE: u32 = 7;
/// Far above any list here: a count below it must equal the list's length.
pub const COUNT_CAP: u32 = 1000;

/// A custom module with a criteria field of each kind, a margin reps may not see, a formula over
/// `tier`, an encrypted personal field and a lookup for related lists.
pub fn opportunities() -> ModuleDef {
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

pub fn user(i: u8) -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x0192_f0c1_0000_7000_8000_0000_0000_0000 + u128::from(i)))
}

pub fn group(i: u8) -> GroupId {
    GroupId::from_uuid(Uuid::from_u128(0x0192_f0c1_0000_7000_9000_0000_0000_0000 + u128::from(i)))
}

pub const MANAGER: u8 = 1;
pub const REP: u8 = 2;
pub const OTHER_REP: u8 = 3;
pub const ANALYST: u8 = 4;
pub const OUTSIDER: u8 = 5;

/// Every field of the module a rep may read: margins and what is computed from tiers are hidden.
pub const REP_READS: [&str; 6] = ["account", "name", "notes", "region", "tier", "vip"];

/// The org's staff: a manager over reps (who may not read margins or the formula, nor write
/// notes), an analyst outside the hierarchy, and an outsider with no right on the module. Every
/// module is private.
pub fn staff(org: OrgId) -> AccessPolicy {
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

pub fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// A fixture with the module installed and one account for related lists.
pub struct Scene {
    pub f: Fixture,
    pub account: RecordId,
}

impl Scene {
    pub async fn new() -> Self {
        let f = Fixture::new().await;
        let system = AuditActor { kind: ActorKind::System, id: None };
        f.modules.create_module(f.org, opportunities(), system, Default::default()).await.unwrap();
        let account = f.create(f.org, "accounts", json!({"name": "Acme"})).await.unwrap().id;
        // The staff own records: they are users of the org.
        f.enrol_users(f.org, (0..=OUTSIDER).map(|i| user(i).as_uuid())).await;
        Self { f, account }
    }

    /// A record owned by user `owner`, created by the platform, linked to the account.
    pub async fn seed(&self, owner: u8, values: Json) -> StoredRecord {
        let mut values = object(values);
        values.entry("account").or_insert_with(|| json!(self.account.to_string()));
        let (actor, ctx) = (self.f.actor.clone(), self.f.ctx.clone());
        self.f
            .store
            .create(self.f.org, MODULE, values, user(owner).as_uuid(), actor, ctx, ChangeSource::Api)
            .await
            .unwrap()
    }

    pub fn principal(&self, who: u8, roles: &[&str]) -> AccessPrincipal {
        AccessPrincipal::new(self.f.org, user(who), roles.iter().copied())
    }

    pub fn caller(&self, policy: &AccessPolicy, principal: AccessPrincipal) -> Caller<'_> {
        let owner = principal.user.as_uuid();
        Caller { s: self, owner, store: self.f.store.acting_for(AccessGuard::new(Arc::new(policy.clone()), principal)) }
    }

    /// The platform's view of the record now (its version and name).
    pub async fn current(&self, id: RecordId) -> StoredRecord {
        self.f.store.get(self.f.org, MODULE, id, None, self.f.reader()).await.unwrap()
    }
}

/// How far a caller reaches one record, every operation agreeing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Not found by get, list, count, history, update or delete.
    Hidden,
    /// Read by all reads; update and delete are RECORD_NOT_WRITABLE.
    ReadOnly,
    /// Read by all reads; update and delete go through.
    Writable,
}

/// The store acting for one principal.
pub struct Caller<'a> {
    pub s: &'a Scene,
    pub owner: Uuid,
    pub store: RecordStore,
}

impl Caller<'_> {
    pub async fn get(&self, id: RecordId) -> Result<StoredRecord, Error> {
        self.store.get(self.s.f.org, MODULE, id, None, self.s.f.reader()).await
    }

    pub async fn get_fields(&self, id: RecordId, fields: &[&str]) -> Result<StoredRecord, Error> {
        self.store.get(self.s.f.org, MODULE, id, Some(fields), self.s.f.reader()).await
    }

    /// Every page of a list.
    pub async fn list(&self, filter: Option<Filter>, sort: Vec<SortKey>) -> Result<Vec<StoredRecord>, Error> {
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
    pub async fn related(&self, filter: Option<Filter>, sort: Vec<SortKey>) -> Result<Vec<StoredRecord>, Error> {
        let query = RecordQuery { filter, sort, page_size: 100, page_token: String::new() };
        let (org, account) = (self.s.f.org, self.s.account);
        let page = self.store.list_related(org, MODULE, "account", account, &query, None, self.s.f.reader()).await?;
        assert!(page.next_page_token.is_none());
        Ok(page.records)
    }

    pub async fn count(&self, filter: Option<&Filter>) -> Result<u64, Error> {
        let counted = self.store.count(self.s.f.org, MODULE, filter, COUNT_CAP).await?;
        assert!(!counted.capped);
        Ok(counted.value)
    }

    pub async fn history(&self, id: RecordId) -> Result<Vec<FieldChange>, Error> {
        self.store.history(self.s.f.org, MODULE, id, ALL_HISTORY, self.s.f.reader()).await.map(|(changes, _)| changes)
    }

    pub async fn create(&self, values: Json) -> Result<StoredRecord, Error> {
        let (actor, ctx) = (self.s.f.actor.clone(), self.s.f.ctx.clone());
        self.store.create(self.s.f.org, MODULE, object(values), self.owner, actor, ctx, ChangeSource::Api).await
    }

    pub async fn update(&self, record: &StoredRecord, changes: Json, mask: &[&str]) -> Result<StoredRecord, Error> {
        let mask: Vec<String> = mask.iter().map(|m| (*m).to_owned()).collect();
        let (actor, ctx) = (self.s.f.actor.clone(), self.s.f.ctx.clone());
        let (org, id, version) = (self.s.f.org, record.id, record.version);
        self.store.update(org, MODULE, id, object(changes), &mask, version, actor, ctx, ChangeSource::Ui).await
    }

    pub async fn delete(&self, id: RecordId, version: Option<i64>) -> Result<(), Error> {
        self.store.delete(self.s.f.org, MODULE, id, version, self.s.f.actor.clone(), self.s.f.ctx.clone()).await
    }

    pub async fn bulk_create(&self, records: Vec<Json>) -> Result<Vec<StoredRecord>, Error> {
        let records = records.into_iter().map(object).collect();
        let (actor, ctx) = (self.s.f.actor.clone(), self.s.f.ctx.clone());
        self.store.bulk_create(self.s.f.org, MODULE, records, self.owner, actor, ctx, ChangeSource::Import).await
    }

    pub async fn bulk_update(&self, updates: Vec<(&StoredRecord, Json)>) -> Result<Vec<StoredRecord>, Error> {
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
    pub async fn visible(&self) -> BTreeSet<RecordId> {
        let listed: Vec<RecordId> = self.list(None, Vec::new()).await.unwrap().iter().map(|r| r.id).collect();
        let unique: BTreeSet<RecordId> = listed.iter().copied().collect();
        assert_eq!(unique.len(), listed.len(), "a record came back twice across pages");
        assert_eq!(self.count(None).await.unwrap(), listed.len() as u64, "count and list disagree");
        unique
    }

    /// How far the caller reaches `record`, from every operation on it: get, list (and count),
    /// history, an update that changes nothing (so the record stays as it is) and a delete at a
    /// version the record is not at (so an allowed delete stops at STALE_VERSION).
    pub async fn reach(&self, record: &StoredRecord) -> Reach {
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
pub fn denial<T: std::fmt::Debug>(result: Result<T, Error>) -> (&'static str, Option<String>) {
    match result {
        Err(Error::PermissionDenied { reason, field, .. }) => (reason, field),
        other => panic!("expected PERMISSION_DENIED, got {other:?}"),
    }
}

pub fn no_object_right() -> (&'static str, Option<String>) {
    ("NO_OBJECT_RIGHT", None)
}

pub fn not_readable(field: &str) -> (&'static str, Option<String>) {
    ("FIELD_NOT_READABLE", Some(field.to_owned()))
}

pub fn not_writable(path: &str) -> (&'static str, Option<String>) {
    ("FIELD_NOT_WRITABLE", Some(path.to_owned()))
}

/// The field keys a record came back with, sorted.
pub fn keys(record: &StoredRecord) -> Vec<&str> {
    record.fields.fields.keys().map(String::as_str).collect()
}

pub fn region_is(region: &str) -> Filter {
    Filter::cmp(FieldRef::custom("region"), Op::Eq, QueryValue::Text(region.to_owned()))
}
