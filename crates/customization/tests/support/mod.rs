//! Shared fixture for the module-store tests: a fresh migrated database (SQLite, or PostgreSQL
//! with LISTONE_TEST_DATABASE_URL), a test clock and the store wired as the server wires it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use listone_audit::{ActorKind, AuditActor, AuditRecorder};
use listone_core::{Error, OrgId, SharedClock, TestClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_customization::field::{FieldDef, FieldType};
use listone_customization::layout::{Layout, LayoutSection};
use listone_customization::{ModuleDef, ModuleKind, ModuleStore};
use listone_testdb::TestDatabase;
use sea_orm::ConnectionTrait;

pub struct Fixture {
    pub db: TestDatabase,
    pub clock: TestClock,
    pub store: ModuleStore,
}

/// A signed-in administrator with a UUID id, as the gRPC layer records users.
pub fn admin() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("0192f0c1-7c1e-7000-8000-000000000001".into()) }
}

/// The platform, as org onboarding runs.
pub fn system() -> AuditActor {
    AuditActor { kind: ActorKind::System, id: None }
}

impl Fixture {
    pub async fn new() -> Self {
        let db = TestDatabase::create().await;
        let clock = TestClock::at(Utc::now());
        let shared_clock: SharedClock = Arc::new(clock.clone());
        let keyring = Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap())));
        let audit = AuditRecorder::new(keyring, shared_clock.clone());
        let store = ModuleStore::new(db.database().clone(), audit, shared_clock);
        Self { db, clock, store }
    }

    /// Another module store over the same database, with a cache of its own (another server).
    pub fn second_store(&self) -> ModuleStore {
        let clock: SharedClock = Arc::new(self.clock.clone());
        let keyring = Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap())));
        ModuleStore::new(self.db.database().clone(), AuditRecorder::new(keyring, clock.clone()), clock)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        listone_core::db::count(self.db.conn(), sql, []).await.unwrap()
    }

    /// (module rows, history rows, audit entries) across every org.
    pub async fn rows(&self) -> (i64, i64, i64) {
        (
            self.count("SELECT COUNT(*) AS n FROM module_def").await,
            self.count("SELECT COUNT(*) AS n FROM module_def_version").await,
            self.count("SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'audit.entry'").await,
        )
    }

    /// The details of every audit entry with `action`, oldest first.
    pub async fn audited(&self, action: &str) -> Vec<serde_json::Value> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT payload FROM outbox_event WHERE topic = 'audit.entry' ORDER BY created_at, id",
            [],
        );
        let mut entries = Vec::new();
        for row in conn.query_all_raw(stmt).await.unwrap() {
            let payload: serde_json::Value = row.try_get("", "payload").unwrap();
            if payload["action"] == action {
                entries.push(serde_json::from_str(payload["details"].as_str().unwrap()).unwrap());
            }
        }
        entries
    }

    /// Overwrites the stored definition of `key` behind the store's back (an org created by an
    /// older release).
    pub async fn overwrite(&self, org: OrgId, def: &ModuleDef) {
        listone_core::db::execute(
            self.db.conn(),
            "UPDATE module_def SET definition = $3 WHERE org_id = $1 AND key = $2",
            [org.as_uuid().into(), def.key.clone().into(), serde_json::to_string(def).unwrap().into()],
        )
        .await
        .unwrap();
    }
}

/// A valid custom module `key` with a required `name` text field.
pub fn custom(key: &str) -> ModuleDef {
    ModuleDef {
        key: key.into(),
        label_singular: "Project".into(),
        label_plural: "Projects".into(),
        kind: ModuleKind::Custom,
        is_subject: false,
        subject_link: None,
        fields: vec![FieldDef::new("name", "Name", FieldType::Text).required()],
        layout: Layout::new(vec![LayoutSection::new("Main", &["name"])]),
        version: 1,
    }
}

/// `custom(key)` with a lookup field `field` to module `target`.
pub fn with_lookup(key: &str, field: &str, target: &str) -> ModuleDef {
    let mut def = custom(key);
    def.fields.push(FieldDef::new(field, "Link", FieldType::Lookup { target: target.into() }).indexed());
    def
}

/// The violations of an INVALID_ARGUMENT, as `field: description` lines.
pub fn violations(result: Result<impl std::fmt::Debug, Error>) -> Vec<String> {
    match result {
        Err(Error::InvalidArgument { violations }) => violations.iter().map(ToString::to_string).collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

/// Whether some violation is at `field` and names `rule`.
pub fn has(violations: &[String], field: &str, rule: &str) -> bool {
    violations.iter().any(|v| v.starts_with(&format!("{field}: {rule}:")))
}
