//! The field protection codec against a real key ring and record tables (SQLite by default,
//! PostgreSQL when `LISTONE_TEST_DATABASE_URL` is set): sealing, lookups by blind index, unique
//! claims, crypto-shredding and tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use listone_core::db::execute;
use listone_core::{ModuleId, OrgId, RecordId, SubjectId};
use listone_crypto::{KeyRing, MasterKey};
use listone_customization::{
    FieldDef, FieldType, FieldValue, Layout, ModuleDef, ModuleKind, PersonalCategory, Protection,
};
use listone_records::codec::{
    Decoded, IndexValue, RecordPlace, RequestKeys, SealedRecord, field_index, open_record, seal_record,
};
use listone_records::query::{FieldRef, Filter, Op, QueryScope, QueryValue, RecordQuery, compile, fetch_page};
use listone_testdb::TestDatabase;
use sea_orm::{ConnectionTrait, Statement, Value};

fn contacts() -> ModuleDef {
    ModuleDef {
        key: "contacts".into(),
        label_singular: "Contact".into(),
        label_plural: "Contacts".into(),
        kind: ModuleKind::Standard,
        is_subject: true,
        subject_link: None,
        fields: vec![
            FieldDef::new("name", "Name", FieldType::Text).indexed(),
            FieldDef::new("email", "E-mail", FieldType::Email)
                .tagged(PersonalCategory::Contact, Protection::Searchable)
                .unique(),
            FieldDef::new("phone", "Phone", FieldType::Phone).tagged(PersonalCategory::Contact, Protection::Searchable),
            FieldDef::new("notes", "Notes", FieldType::LongText)
                .tagged(PersonalCategory::Identity, Protection::Encrypted),
            FieldDef::new("score", "Score", FieldType::Number).indexed(),
        ],
        layout: Layout::default(),
        version: 1,
    }
}

fn values(email: &str) -> BTreeMap<String, FieldValue> {
    [
        ("name", FieldValue::Text("Ada Lovelace".into())),
        ("email", FieldValue::Text(email.into())),
        ("phone", FieldValue::Text("+442079460958".into())),
        ("notes", FieldValue::Text("prefers analytical engines".into())),
        ("score", FieldValue::Number(7)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

const ALL: [&str; 5] = ["name", "email", "phone", "notes", "score"];

struct Fixture {
    db: TestDatabase,
    ring: KeyRing,
    module: ModuleDef,
}

impl Fixture {
    async fn new() -> Self {
        let ring = KeyRing::new(Arc::new(MasterKey::generate().unwrap()));
        Self { db: TestDatabase::create().await, ring, module: contacts() }
    }

    fn keys(&self) -> RequestKeys<'_> {
        RequestKeys::new(&self.ring, Utc::now())
    }

    async fn seal(&self, place: &RecordPlace, email: &str) -> SealedRecord {
        seal_record(self.db.conn(), &mut self.keys(), place, &self.module, &values(email)).await.unwrap()
    }

    /// Writes the record row, its index rows and its unique claims, as the store will.
    async fn store(&self, place: &RecordPlace, sealed: &SealedRecord) -> Result<(), sea_orm::DbErr> {
        let conn = self.db.conn();
        let (org, module, record) = (place.org.as_uuid(), place.module.as_uuid(), place.record.as_uuid());
        let owner = uuid::Uuid::now_v7();
        execute(
            conn,
            "INSERT INTO record (org_id, id, module_id, owner_id, subject_id, version, data, created_by, \
             created_at_us, updated_by, updated_at_us, deleted_at_us, restricted) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $4, 1, $4, 1, NULL, $7)",
            [
                Value::from(org),
                Value::from(record),
                Value::from(module),
                Value::from(owner),
                Value::Uuid(place.subject.map(|s| s.as_uuid())),
                Value::from(sealed.data_text()),
                Value::from(false),
            ],
        )
        .await?;
        for entry in &sealed.index {
            let mut columns = [Value::String(None), Value::Double(None), Value::BigInt(None), Value::Bool(None)];
            match &entry.value {
                IndexValue::Text(text) => columns[0] = Value::from(text.clone()),
                IndexValue::Number(n) => columns[1] = Value::from(*n),
                IndexValue::TimeUs(us) => columns[2] = Value::from(*us),
                IndexValue::Bool(b) => columns[3] = Value::from(*b),
            }
            let [text, num, time, flag] = columns;
            execute(
                conn,
                "INSERT INTO record_index (org_id, module_id, field_id, record_id, ordinal, value_text, value_num, \
                 value_time_us, value_bool) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                [
                    Value::from(org),
                    Value::from(module),
                    Value::from(entry.field_key.clone()),
                    Value::from(record),
                    Value::from(entry.ordinal),
                    text,
                    num,
                    time,
                    flag,
                ],
            )
            .await?;
        }
        for claim in &sealed.unique {
            execute(
                conn,
                "INSERT INTO record_unique (org_id, module_id, field_id, value_key, record_id) \
                 VALUES ($1, $2, $3, $4, $5)",
                [
                    Value::from(org),
                    Value::from(module),
                    Value::from(claim.field_key.clone()),
                    Value::from(claim.value_key.clone()),
                    Value::from(record),
                ],
            )
            .await?;
        }
        Ok(())
    }

    /// Every text the record tables hold, concatenated, to search for plaintext.
    async fn everything_stored(&self) -> String {
        let conn = self.db.conn();
        let mut all = String::new();
        for sql in [
            "SELECT data AS t FROM record",
            "SELECT value_text AS t FROM record_index WHERE value_text IS NOT NULL",
            "SELECT value_key AS t FROM record_unique",
        ] {
            let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
            for row in rows {
                all.push_str(&row.try_get::<String>("", "t").unwrap());
                all.push('\n');
            }
        }
        all
    }
}

fn place(org: OrgId, module: ModuleId, subject: Option<SubjectId>) -> RecordPlace {
    RecordPlace { org, module, record: RecordId::new(), subject }
}

fn expose(decoded: Option<&Decoded>) -> FieldValue {
    match decoded {
        Some(Decoded::Value(value)) => value.expose().clone(),
        other => panic!("expected a value, got {other:?}"),
    }
}

#[tokio::test]
async fn a_sealed_record_round_trips_and_the_database_holds_no_plaintext_of_sealed_values() {
    let fx = Fixture::new().await;
    let place = place(OrgId::new(), ModuleId::new(), Some(SubjectId::new()));
    let sealed = fx.seal(&place, "ada@example.com").await;
    fx.store(&place, &sealed).await.unwrap();

    let stored = fx.everything_stored().await;
    assert!(stored.contains("Ada Lovelace"), "plain fields stay readable");
    for secret in ["ada@example", "example.com", "442079460958", "analytical"] {
        assert!(!stored.contains(secret), "{secret} leaked");
    }

    let decoded =
        open_record(fx.db.conn(), &mut fx.keys(), &place, &fx.module, &sealed.data_text(), &ALL).await.unwrap();
    for (key, value) in values("ada@example.com") {
        assert_eq!(expose(decoded.get(&key)), value, "{key}");
    }
}

#[tokio::test]
async fn a_record_is_found_by_its_email_in_any_case_through_the_blind_index() {
    let fx = Fixture::new().await;
    let (org, module) = (OrgId::new(), ModuleId::new());
    let ada = place(org, module, Some(SubjectId::new()));
    let grace = place(org, module, Some(SubjectId::new()));
    fx.store(&ada, &fx.seal(&ada, "ada@example.com").await).await.unwrap();
    fx.store(&grace, &fx.seal(&grace, "grace@example.com").await).await.unwrap();

    let mut keys = fx.keys();
    let indexer = keys.blind_indexer(fx.db.conn(), org, module, &fx.module).await.unwrap();
    let filter = Filter::cmp(FieldRef::Custom("email".into()), Op::Eq, QueryValue::Text("ADA@Example.COM".into()));
    let query = RecordQuery { filter: Some(filter), ..RecordQuery::default() };
    let scope = QueryScope { org_id: org, module_id: module, engine: fx.db.engine() };
    let compiled = compile(scope, &query, &field_index(&fx.module), &indexer).unwrap();
    let page = fetch_page(fx.db.conn(), &compiled).await.unwrap();
    let ids: Vec<_> = page.rows.iter().map(|row| row.id).collect();
    assert_eq!(ids, vec![ada.record]);
}

#[tokio::test]
async fn a_unique_searchable_email_cannot_be_claimed_twice_even_in_another_case() {
    let fx = Fixture::new().await;
    let (org, module) = (OrgId::new(), ModuleId::new());
    let first = place(org, module, Some(SubjectId::new()));
    let second = place(org, module, Some(SubjectId::new()));
    fx.store(&first, &fx.seal(&first, "ada@example.com").await).await.unwrap();
    let duplicate = fx.seal(&second, "ADA@EXAMPLE.COM").await;
    assert!(fx.store(&second, &duplicate).await.is_err());
}

#[tokio::test]
async fn erasing_the_subject_key_reads_sealed_fields_as_erased_while_plain_fields_still_read() {
    let fx = Fixture::new().await;
    let place = place(OrgId::new(), ModuleId::new(), Some(SubjectId::new()));
    let sealed = fx.seal(&place, "ada@example.com").await;
    let data = sealed.data_text();

    // A request that already unwrapped the key keeps it until it ends; the next one does not.
    let mut before = fx.keys();
    open_record(fx.db.conn(), &mut before, &place, &fx.module, &data, &ALL).await.unwrap();
    let subject = place.subject.unwrap();
    assert!(fx.ring.destroy_subject_key(fx.db.conn(), place.org, subject).await.unwrap());
    let still = open_record(fx.db.conn(), &mut before, &place, &fx.module, &data, &["email"]).await.unwrap();
    assert!(matches!(still.get("email"), Some(Decoded::Value(_))));
    drop(before);

    let decoded = open_record(fx.db.conn(), &mut fx.keys(), &place, &fx.module, &data, &ALL).await.unwrap();
    for key in ["email", "phone", "notes"] {
        assert_eq!(decoded.get(key), Some(&Decoded::Erased), "{key}");
    }
    assert_eq!(expose(decoded.get("name")), FieldValue::Text("Ada Lovelace".into()));
    assert_eq!(expose(decoded.get("score")), FieldValue::Number(7));
}

#[tokio::test]
async fn ciphertext_moved_to_another_record_field_or_org_does_not_open() {
    let fx = Fixture::new().await;
    let (org, module, subject) = (OrgId::new(), ModuleId::new(), Some(SubjectId::new()));
    let home = place(org, module, subject);
    let sealed = fx.seal(&home, "ada@example.com").await;
    let open = |place: RecordPlace, data: String, field: &'static str| {
        let fx = &fx;
        async move { open_record(fx.db.conn(), &mut fx.keys(), &place, &fx.module, &data, &[field]).await }
    };

    // Another record of the same subject.
    let sibling = RecordPlace { record: RecordId::new(), ..home };
    assert!(open(sibling, sealed.data_text(), "notes").await.is_err());

    // Another field of the same record.
    let mut swapped = sealed.data.clone();
    swapped.insert("phone".into(), sealed.data["email"].clone());
    let swapped = serde_json::Value::Object(swapped).to_string();
    assert!(open(home, swapped.clone(), "phone").await.is_err());
    assert!(open(home, swapped, "email").await.is_ok());

    // A record of another org (same subject id, same module id): another key and another AAD.
    let other_org = OrgId::new();
    let elsewhere = place(other_org, module, subject);
    fx.seal(&elsewhere, "grace@example.com").await; // creates the other org's keys
    let moved = RecordPlace { record: home.record, ..elsewhere };
    assert!(open(moved, sealed.data_text(), "notes").await.is_err());
}

#[tokio::test]
async fn records_without_a_subject_are_sealed_under_the_org_key_and_read_back() {
    let fx = Fixture::new().await;
    let place = place(OrgId::new(), ModuleId::new(), None);
    let sealed = fx.seal(&place, "sales@example.com").await;
    assert!(sealed.data["notes"].as_str().unwrap().starts_with("o:"));
    let decoded =
        open_record(fx.db.conn(), &mut fx.keys(), &place, &fx.module, &sealed.data_text(), &["notes"]).await.unwrap();
    assert_eq!(expose(decoded.get("notes")), FieldValue::Text("prefers analytical engines".into()));
}

#[tokio::test]
async fn a_projection_opens_only_the_requested_sealed_fields() {
    let fx = Fixture::new().await;
    let place = place(OrgId::new(), ModuleId::new(), Some(SubjectId::new()));
    let mut sealed = fx.seal(&place, "ada@example.com").await;
    // Sealed values that would not open: untouched because they are not requested.
    sealed.data.insert("notes".into(), serde_json::Value::String("s:AAAA".into()));
    let data = sealed.data_text();
    let decoded =
        open_record(fx.db.conn(), &mut fx.keys(), &place, &fx.module, &data, &["name", "email"]).await.unwrap();
    assert_eq!(decoded.fields.len(), 2);
    assert!(open_record(fx.db.conn(), &mut fx.keys(), &place, &fx.module, &data, &["notes"]).await.is_err());
}
