//! Shared fixture for the record-store tests: a fresh migrated database (SQLite, or PostgreSQL
//! with LISTONE_TEST_DATABASE_URL), the standard modules installed for two orgs, and the store
//! wired as the server wires it.
#![allow(dead_code, missing_debug_implementations, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use listone_audit::{ActorKind, AuditActor, AuditRecorder, RequestContext};
use listone_core::{Error, OrgId, RecordId, SharedClock, TestClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_customization::{
    FieldDef, FieldType, Layout, ModuleDef, ModuleKind, ModuleStore, PersonalCategory, Protection,
};
use listone_records::{ChangeSource, Decoded, HistoryPage, Reader, RecordStore, StoredRecord};
use listone_testdb::TestDatabase;
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value as Json};

/// Every change of a record's history, in one page.
#[allow(dead_code)]
pub const ALL_HISTORY: HistoryPage = HistoryPage { skip: 0, size: 1000 };

pub struct Fixture {
    pub db: TestDatabase,
    pub clock: TestClock,
    pub modules: ModuleStore,
    pub store: RecordStore,
    pub keys: Arc<KeyRing>,
    pub org: OrgId,
    pub other_org: OrgId,
    pub actor: AuditActor,
    pub ctx: RequestContext,
}

/// A signed-in user with a UUID id, as the gRPC layer records users.
pub fn user() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("0192f0c1-7c1e-7000-8000-000000000001".into()) }
}

pub fn owner() -> uuid::Uuid {
    uuid::Uuid::parse_str("0192f0c1-7c1e-7000-8000-000000000001").unwrap()
}

pub fn object(value: Json) -> Map<String, Json> {
    value.as_object().cloned().unwrap()
}

/// A custom subject module with a unique, searchable e-mail.
pub fn members() -> ModuleDef {
    ModuleDef {
        key: "members".into(),
        label_singular: "Member".into(),
        label_plural: "Members".into(),
        kind: ModuleKind::Custom,
        is_subject: true,
        subject_link: None,
        fields: vec![
            FieldDef::new("name", "Name", FieldType::Text).required().indexed(),
            FieldDef::new("email", "E-mail", FieldType::Email)
                .tagged(PersonalCategory::Contact, Protection::Searchable)
                .unique(),
        ],
        layout: Layout::default(),
        version: 1,
    }
}

impl Fixture {
    pub async fn new() -> Self {
        let db = TestDatabase::create().await;
        let clock = TestClock::at(Utc::now());
        let shared: SharedClock = Arc::new(clock.clone());
        let keys = Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap())));
        let audit = AuditRecorder::new(keys.clone(), shared.clone());
        let modules = ModuleStore::new(db.database().clone(), audit.clone(), shared.clone());
        let store = RecordStore::new(db.database().clone(), keys.clone(), audit, shared, modules.clone());
        let (org, other_org) = (OrgId::new(), OrgId::new());
        let system = AuditActor { kind: ActorKind::System, id: None };
        for o in [org, other_org] {
            modules.install_standard(o, "EUR", system.clone(), Default::default()).await.unwrap();
            modules.create_module(o, members(), system.clone(), Default::default()).await.unwrap();
        }
        Self { db, clock, modules, store, keys, org, other_org, actor: user(), ctx: RequestContext::default() }
    }

    pub fn reader(&self) -> Reader<'_> {
        Reader { actor: &self.actor, ctx: &self.ctx, purpose: "crm.sales" }
    }

    pub async fn create(&self, org: OrgId, module: &str, values: Json) -> Result<StoredRecord, Error> {
        self.store
            .create(org, module, object(values), owner(), self.actor.clone(), self.ctx.clone(), ChangeSource::Api)
            .await
    }

    pub async fn update(
        &self,
        org: OrgId,
        module: &str,
        record: &StoredRecord,
        changes: Json,
        mask: &[&str],
    ) -> Result<StoredRecord, Error> {
        let mask: Vec<String> = mask.iter().map(|m| (*m).to_owned()).collect();
        self.store
            .update(
                org,
                module,
                record.id,
                object(changes),
                &mask,
                record.version,
                self.actor.clone(),
                self.ctx.clone(),
                ChangeSource::Ui,
            )
            .await
    }

    /// Makes each of `users` a user of `org` in identity's directory (a bare `app_user` row), so
    /// that records may name them as owners and in user fields.
    pub async fn enrol_users(&self, org: OrgId, users: impl IntoIterator<Item = uuid::Uuid>) {
        for id in users {
            let values = [sea_orm::Value::from(org.as_uuid()), sea_orm::Value::from(id), id.to_string().into()];
            listone_core::db::execute(
                self.db.conn(),
                "INSERT INTO app_user (org_id, id, user_name, email, status, version, created_at_us, updated_at_us) \
                 VALUES ($1, $2, $3, $3, 'active', 1, 0, 0)",
                values,
            )
            .await
            .unwrap();
        }
    }

    /// Makes `group` a group of `org` in identity's directory (a bare `user_group` row).
    pub async fn enrol_group(&self, org: OrgId, group: uuid::Uuid) {
        let values = [sea_orm::Value::from(org.as_uuid()), sea_orm::Value::from(group), group.to_string().into()];
        listone_core::db::execute(
            self.db.conn(),
            "INSERT INTO user_group (org_id, id, display_name, name_key, version, created_at_us, updated_at_us) \
             VALUES ($1, $2, $3, $3, 1, 0, 0)",
            values,
        )
        .await
        .unwrap();
    }

    pub async fn count(&self, sql: &str) -> i64 {
        listone_core::db::count(self.db.conn(), sql, []).await.unwrap()
    }

    /// Rows of `table` whose `column` holds `id` (bound, so it matches however the engine stores
    /// UUIDs).
    pub async fn count_with(&self, table: &str, column: &str, id: uuid::Uuid) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1");
        listone_core::db::count(self.db.conn(), &sql, [sea_orm::Value::from(id)]).await.unwrap()
    }

    /// (record, record_index, record_unique, record_history, outbox_event) rows, every org.
    pub async fn rows(&self) -> [i64; 5] {
        let mut out = [0; 5];
        for (i, table) in
            ["record", "record_index", "record_unique", "record_history", "outbox_event"].iter().enumerate()
        {
            out[i] = self.count(&format!("SELECT COUNT(*) AS n FROM {table}")).await;
        }
        out
    }

    /// Payloads of outbox events on `topic`, oldest first.
    pub async fn events(&self, topic: &str) -> Vec<Json> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT payload FROM outbox_event WHERE topic = $1 ORDER BY created_at, id",
            [sea_orm::Value::from(topic.to_owned())],
        );
        conn.query_all_raw(stmt).await.unwrap().iter().map(|r| r.try_get::<Json>("", "payload").unwrap()).collect()
    }

    /// The details of every audit entry with `action`, oldest first.
    pub async fn audited(&self, action: &str) -> Vec<Json> {
        self.events("audit.entry")
            .await
            .into_iter()
            .filter(|p| p["action"] == action)
            .map(|p| serde_json::from_str(p["details"].as_str().unwrap()).unwrap())
            .collect()
    }

    /// Every text cell of the record tables, concatenated, for plaintext scans.
    pub async fn raw_dump(&self) -> String {
        let conn = self.db.conn();
        let mut dump = String::new();
        for (table, cols) in [
            ("record", "data"),
            ("record_index", "COALESCE(value_text, '')"),
            ("record_unique", "value_key"),
            ("record_history", "COALESCE(old_value, '') || ' ' || COALESCE(new_value, '')"),
        ] {
            let stmt = listone_core::db::statement(
                conn.get_database_backend(),
                &format!("SELECT {cols} AS t FROM {table}"),
                [],
            );
            for row in conn.query_all_raw(stmt).await.unwrap() {
                dump.push_str(&row.try_get::<String>("", "t").unwrap());
                dump.push('\n');
            }
        }
        dump
    }
}

/// The value of a decoded field as JSON (panics when absent or erased).
pub fn json_of(record: &StoredRecord, key: &str) -> Json {
    match record.fields.get(key) {
        Some(Decoded::Value(v)) => v.expose().to_json(),
        other => panic!("field {key} is {other:?}"),
    }
}

/// The violation paths of an INVALID_ARGUMENT.
pub fn violation_fields(err: &Error) -> Vec<String> {
    match err {
        Error::InvalidArgument { violations } => violations.iter().map(|v| v.field.clone()).collect(),
        other => panic!("not invalid argument: {other:?}"),
    }
}

/// Every read of `asks` at once through `store`, outcomes in the order asked.
pub async fn get_all(
    f: &Fixture,
    store: &RecordStore,
    asks: &[(OrgId, &'static str, RecordId)],
) -> Vec<Result<StoredRecord, Error>> {
    let mut calls = tokio::task::JoinSet::new();
    for (position, &(org, module, id)) in asks.iter().enumerate() {
        let (store, actor, ctx) = (store.clone(), f.actor.clone(), f.ctx.clone());
        calls.spawn(async move {
            let reader = listone_records::Reader { actor: &actor, ctx: &ctx, purpose: "crm.sales" };
            (position, store.get(org, module, id, None, reader).await)
        });
    }
    let mut outcomes: Vec<Option<Result<StoredRecord, Error>>> = (0..asks.len()).map(|_| None).collect();
    while let Some(joined) = calls.join_next().await {
        let (position, outcome) = joined.unwrap();
        outcomes[position] = Some(outcome);
    }
    outcomes.into_iter().map(Option::unwrap).collect()
}
