//! The filter fixture: 1,000,000 records of a custom module in one org among ten orgs, seeded
//! with set-based SQL in exactly the store's format.
//!
//! One hundred template records are encoded by the codec (`validate_record_input` then
//! `encode_record`, as `RecordStore::create` does), and template 0 is checked against a record
//! the store itself created. Record `n` is template `n % 100` under a fresh id, written with
//! `generate_series` (PostgreSQL) or a recursive CTE (SQLite), chunk by chunk: its `record` row
//! and its `record_index` rows. The module's fields are all plain, so a template's stored data
//! does not depend on the record's id and replicated rows decode like created ones.

use std::sync::Arc;
use std::time::Instant;

use listone_audit::{ActorKind, AuditActor, RequestContext};
use listone_core::db::{self, execute};
use listone_core::{Engine, OrgId, RecordId};
use listone_customization::{
    FieldDef, FieldType, Layout, ModuleDef, ModuleKind, StoredModule, WriteMode, validate_record_input,
};
use listone_records::codec::{SealingKeys, encode_record};
use listone_records::{ChangeSource, IndexValue, RecordPlace, SealedRecord};
use sea_orm::{ConnectionTrait, Value};
use serde_json::{Map, Value as Json};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::fixture::RecordsEnv;
use crate::catalog::EngineContext;
use crate::error::BenchError;

/// Overrides how many records the filtered org holds.
pub const FILTER_RECORDS_ENV: &str = "LISTONE_BENCH_FILTER_RECORDS";
/// Records in the filtered org unless [`FILTER_RECORDS_ENV`] says otherwise.
pub const DEFAULT_FILTER_RECORDS: u64 = 1_000_000;
/// Orgs besides the filtered one, sharing the tables.
pub const OTHER_ORGS: usize = 9;
/// Records in each other org: a hundredth of the filtered org's, at most this.
pub const MAX_OTHER_ORG_RECORDS: u64 = 10_000;
/// The custom module seeded.
pub const MODULE: &str = "work_orders";
/// The indexed picklist the benchmark filters on.
pub const FILTER_FIELD: &str = "category";
/// Values of [`FILTER_FIELD`]; each matches one record in this many.
pub const CATEGORIES: u64 = 20;
/// Distinct template records (category × priority combinations).
const TEMPLATES: u64 = 100;
/// Records written per statement (and per transaction), so SQLite's write lock is never held
/// long enough to time out the server's own writers.
const CHUNK: u64 = 50_000;

/// The seeded orgs.
#[derive(Debug)]
pub struct FilterFixture {
    /// The stores.
    pub env: Arc<RecordsEnv>,
    /// The org the benchmark filters in.
    pub org: OrgId,
    /// Its [`MODULE`].
    pub module: StoredModule,
    /// Records in it.
    pub records: u64,
    /// The values of [`FILTER_FIELD`].
    pub categories: Vec<String>,
}

/// Built on first use; one server per process (each engine pass is its own child process).
static FILTER_FIXTURE: OnceCell<Arc<FilterFixture>> = OnceCell::const_new();

/// The seeded orgs, seeded on first use (the seeding time goes to stderr).
pub async fn filter_fixture(ctx: &EngineContext) -> Result<Arc<FilterFixture>, BenchError> {
    FILTER_FIXTURE.get_or_try_init(|| build(ctx)).await.cloned()
}

/// Value `i` of the category picklist.
fn category(i: u64) -> String {
    format!("category_{i:02}")
}

/// A custom work-order module: plain text, an indexed picklist and an indexed number.
pub fn work_orders() -> ModuleDef {
    ModuleDef {
        key: MODULE.to_owned(),
        label_singular: "Work order".to_owned(),
        label_plural: "Work orders".to_owned(),
        kind: ModuleKind::Custom,
        is_subject: false,
        subject_link: None,
        fields: vec![
            FieldDef::new("title", "Title", FieldType::Text).required(),
            FieldDef::new(
                FILTER_FIELD,
                "Category",
                FieldType::Picklist { values: (0..CATEGORIES).map(category).collect() },
            )
            .indexed(),
            FieldDef::new("priority", "Priority", FieldType::Number).indexed(),
            FieldDef::new("site", "Site", FieldType::Text),
        ],
        layout: Layout::default(),
        version: 1,
    }
}

/// The caller's values of template `t`.
fn template_input(t: u64) -> Map<String, Json> {
    let mut values = Map::new();
    values.insert("title".to_owned(), Json::from(format!("Replace the lift door sensor, batch {t}")));
    values.insert(FILTER_FIELD.to_owned(), Json::from(category(t % CATEGORIES)));
    values.insert("priority".to_owned(), Json::from(t));
    values.insert("site".to_owned(), Json::from(format!("Site {}", t % 7)));
    values
}

/// Records in the filtered org: [`FILTER_RECORDS_ENV`] or [`DEFAULT_FILTER_RECORDS`].
fn filter_records() -> Result<u64, BenchError> {
    match std::env::var(FILTER_RECORDS_ENV) {
        Err(_) => Ok(DEFAULT_FILTER_RECORDS),
        Ok(text) => {
            text.trim().parse::<u64>().ok().filter(|n| (TEMPLATES..=100_000_000).contains(n)).ok_or_else(|| {
                BenchError(format!("{FILTER_RECORDS_ENV} must be a number from {TEMPLATES} to 100000000"))
            })
        }
    }
}

async fn build(ctx: &EngineContext) -> Result<Arc<FilterFixture>, BenchError> {
    let env = Arc::new(RecordsEnv::new(ctx));
    let records = filter_records()?;
    let others = (records / 100).clamp(1, MAX_OTHER_ORG_RECORDS);
    let started = Instant::now();
    let templates = prepare_templates(&env).await?;
    let org = OrgId::new();
    let module = add_module(&env, org).await?;
    check_template_against_store(&env, org, &templates[0]).await?;
    // The record the store created above counts towards the org's records.
    let owners = [env.owner];
    seed_org(&env, org, &module, records - 1, &owners).await?;
    for _ in 0..OTHER_ORGS {
        let other = OrgId::new();
        let other_module = add_module(&env, other).await?;
        seed_org(&env, other, &other_module, others, &owners).await?;
    }
    finish_seeding(&env).await?;
    eprintln!(
        "records_filter: seeded {records} records in the filtered org and {others} in each of {OTHER_ORGS} others \
         ({} {MODULE} records with 2 index rows each) in {:.1} s",
        records + others * OTHER_ORGS as u64,
        started.elapsed().as_secs_f64()
    );
    Ok(Arc::new(FilterFixture { env, org, module, records, categories: (0..CATEGORIES).map(category).collect() }))
}

/// Creates the seeding tables and stores the encoded templates in them.
pub async fn prepare_templates(env: &RecordsEnv) -> Result<Vec<SealedRecord>, BenchError> {
    let conn = env.db.conn();
    for ddl in [
        "DROP TABLE IF EXISTS bench_seed_template",
        "DROP TABLE IF EXISTS bench_seed_index",
        "DROP TABLE IF EXISTS bench_seed_owner",
        "CREATE TABLE bench_seed_template (t integer PRIMARY KEY, data text NOT NULL)",
        "CREATE TABLE bench_seed_index (t integer NOT NULL, field_id varchar(64) NOT NULL, ordinal integer NOT NULL, \
         value_text varchar(500), value_num double precision, value_time_us bigint, value_bool boolean, \
         PRIMARY KEY (t, field_id, ordinal))",
    ] {
        conn.execute_unprepared(ddl).await?;
    }
    let owner_table = match env.db.engine() {
        Engine::Postgres => "CREATE TABLE bench_seed_owner (i integer PRIMARY KEY, owner uuid NOT NULL)",
        Engine::Sqlite => "CREATE TABLE bench_seed_owner (i integer PRIMARY KEY, owner blob NOT NULL)",
    };
    conn.execute_unprepared(owner_table).await?;
    let definition = work_orders();
    let templates = (0..TEMPLATES).map(|t| encode_template(&definition, t)).collect::<Result<Vec<_>, _>>()?;
    store_templates(env, &templates).await?;
    Ok(templates)
}

/// Drops the seeding tables and refreshes the planner's statistics, as autovacuum does after a
/// bulk load on PostgreSQL (SQLite plans without statistics).
pub async fn finish_seeding(env: &RecordsEnv) -> Result<(), BenchError> {
    let conn = env.db.conn();
    for table in ["bench_seed_template", "bench_seed_index", "bench_seed_owner"] {
        conn.execute_unprepared(&format!("DROP TABLE {table}")).await?;
    }
    if env.db.engine() == Engine::Postgres {
        conn.execute_unprepared("ANALYZE record").await?;
        conn.execute_unprepared("ANALYZE record_index").await?;
    }
    Ok(())
}

/// Template `t` as the store would write it (plain fields only: no key is needed, none given).
fn encode_template(definition: &ModuleDef, t: u64) -> Result<SealedRecord, BenchError> {
    let values = validate_record_input(definition, &template_input(t), WriteMode::Create)
        .map_err(|report| BenchError(format!("template {t}: {}", listone_core::Error::from(report))))?;
    let place = RecordPlace {
        org: OrgId::new(),
        module: listone_core::ModuleId::new(),
        record: RecordId::new(),
        subject: None,
    };
    let sealed = encode_record(&place, definition, &values, SealingKeys::default())?;
    if !sealed.unique.is_empty() {
        return Err(BenchError("the filter module must have no unique fields".to_owned()));
    }
    Ok(sealed)
}

async fn store_templates(env: &RecordsEnv, templates: &[SealedRecord]) -> Result<(), BenchError> {
    let mut data_rows = Vec::with_capacity(templates.len());
    let mut index_rows = Vec::new();
    for (t, sealed) in templates.iter().enumerate() {
        let t = Value::Int(Some(i32::try_from(t).unwrap_or(i32::MAX)));
        data_rows.push(vec![t.clone(), Value::from(sealed.data_text())]);
        for entry in &sealed.index {
            let mut row = vec![
                t.clone(),
                Value::from(entry.field_key.clone()),
                Value::Int(Some(entry.ordinal)),
                Value::String(None),
                Value::Double(None),
                Value::BigInt(None),
                Value::Bool(None),
            ];
            match &entry.value {
                IndexValue::Text(text) => row[3] = Value::from(text.clone()),
                IndexValue::Number(n) => row[4] = Value::from(*n),
                IndexValue::TimeUs(us) => row[5] = Value::from(*us),
                IndexValue::Bool(b) => row[6] = Value::from(*b),
            }
            index_rows.push(row);
        }
    }
    let conn = env.db.conn();
    db::insert_many(conn, "bench_seed_template", &["t", "data"], data_rows).await?;
    let columns = ["t", "field_id", "ordinal", "value_text", "value_num", "value_time_us", "value_bool"];
    db::insert_many(conn, "bench_seed_index", &columns, index_rows).await?;
    Ok(())
}

pub async fn add_module(env: &RecordsEnv, org: OrgId) -> Result<StoredModule, BenchError> {
    let platform = AuditActor { kind: ActorKind::System, id: None };
    Ok(env.modules.create_module(org, work_orders(), platform, RequestContext::default()).await?)
}

/// Creates template 0 through the store and checks the row it wrote is the template's.
async fn check_template_against_store(env: &RecordsEnv, org: OrgId, template: &SealedRecord) -> Result<(), BenchError> {
    let created = env
        .store
        .create(org, MODULE, template_input(0), env.owner, env.actor.clone(), env.ctx.clone(), ChangeSource::Import)
        .await?;
    let conn = env.db.conn();
    let id = Value::from(created.id.as_uuid());
    let stmt = db::statement(
        conn.get_database_backend(),
        "SELECT data FROM record WHERE org_id = $1 AND id = $2",
        [Value::from(org.as_uuid()), id.clone()],
    );
    let data: String = match conn.query_one_raw(stmt).await? {
        Some(row) => row.try_get("", "data")?,
        None => return Err(BenchError("the record the store created is missing".to_owned())),
    };
    let stored: Json = serde_json::from_str(&data)?;
    let index_rows = db::count(
        conn,
        "SELECT COUNT(*) AS n FROM record_index WHERE org_id = $1 AND record_id = $2",
        [Value::from(org.as_uuid()), id],
    )
    .await?;
    if stored != Json::Object(template.data.clone()) || usize::try_from(index_rows).ok() != Some(template.index.len()) {
        return Err(BenchError("the seeding template differs from what the store writes".to_owned()));
    }
    Ok(())
}

/// Writes `count` records of `module` in `org` (template `n % 100` and owner `n % owners` for
/// record `n`), chunk by chunk, each chunk's record and index rows in one transaction.
pub async fn seed_org(
    env: &RecordsEnv,
    org: OrgId,
    module: &StoredModule,
    count: u64,
    owners: &[Uuid],
) -> Result<(), BenchError> {
    let conn = env.db.conn();
    conn.execute_unprepared("DELETE FROM bench_seed_owner").await?;
    let rows = owners
        .iter()
        .enumerate()
        .map(|(i, owner)| vec![Value::BigInt(Some(i as i64)), Value::from(*owner)])
        .collect::<Vec<_>>();
    db::insert_many(conn, "bench_seed_owner", &["i", "owner"], rows).await?;
    // Ids: the first 10 bytes of a fresh v7 id (time, version, variant) and a 48-bit counter.
    let prefix: String = Uuid::now_v7().simple().to_string().chars().take(20).collect();
    let now_us = module.created_at.timestamp_micros();
    let (record_sql, index_sql) = seed_sql(env.db.engine());
    let mut start = 0;
    while start < count {
        let end = count.min(start + CHUNK);
        let txn = env.db.begin().await?;
        let values = || {
            [
                Value::from(org.as_uuid()),
                Value::from(prefix.clone()),
                Value::from(module.id.as_uuid()),
                Value::from(env.owner),
                Value::from(now_us),
                Value::BigInt(Some(start as i64)),
                Value::BigInt(Some(end as i64)),
            ]
        };
        let owned = || values().into_iter().chain([Value::BigInt(Some(owners.len().max(1) as i64))]);
        execute(&txn, &record_sql, owned()).await?;
        execute(&txn, &index_sql, values()).await?;
        txn.commit().await?;
        start = end;
    }
    Ok(())
}

/// The `record` and `record_index` inserts for records `$6 <= n < $7` of org `$1`, module `$3`
/// (id prefix `$2`, owner `n % $8` of `bench_seed_owner`, writer `$4`, created at `$5 + n` µs).
fn seed_sql(engine: Engine) -> (String, String) {
    let (series, id) = match engine {
        Engine::Postgres => (
            "WITH g AS (SELECT n FROM generate_series($6::bigint, $7::bigint - 1) AS n) ",
            "CAST($2 || lpad(to_hex(g.n), 12, '0') AS uuid)",
        ),
        Engine::Sqlite => (
            "WITH RECURSIVE g(n) AS (SELECT $6 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < $7) ",
            "unhex($2 || printf('%012x', g.n))",
        ),
    };
    let restricted = if engine == Engine::Postgres { "false" } else { "0" };
    let record = format!(
        "{series}INSERT INTO record (org_id, id, module_id, owner_id, subject_id, version, data, created_by, \
         created_at_us, updated_by, updated_at_us, deleted_at_us, restricted) \
         SELECT $1, {id}, $3, o.owner, NULL, 1, t.data, $4, $5 + g.n, $4, $5 + g.n, NULL, {restricted} \
         FROM g, bench_seed_template t, bench_seed_owner o WHERE t.t = g.n % {TEMPLATES} AND o.i = g.n % $8"
    );
    let index = format!(
        "{series}INSERT INTO record_index (org_id, module_id, field_id, record_id, ordinal, value_text, value_num, \
         value_time_us, value_bool) \
         SELECT $1, $3, i.field_id, {id}, i.ordinal, i.value_text, i.value_num, i.value_time_us, i.value_bool \
         FROM g, bench_seed_index i WHERE i.t = g.n % {TEMPLATES}"
    );
    (record, index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_cover_every_category_and_index_two_fields() {
        let definition = work_orders();
        let templates: Vec<SealedRecord> =
            (0..TEMPLATES).filter_map(|t| encode_template(&definition, t).ok()).collect();
        assert_eq!(templates.len(), TEMPLATES as usize);
        assert!(templates.iter().all(|s| s.index.len() == 2));
        assert_eq!(templates[3].data[FILTER_FIELD], Json::from(category(3)));
        assert_eq!(templates[23].data[FILTER_FIELD], Json::from(category(3)));
    }

    #[test]
    fn seed_statements_number_records_from_the_chunk_start() {
        for engine in [Engine::Postgres, Engine::Sqlite] {
            let (record, index) = seed_sql(engine);
            assert!(record.contains("INSERT INTO record (") && index.contains("INSERT INTO record_index ("));
            assert!(record.contains("$6") && record.contains("$7") && index.contains("% 100"));
        }
    }
}
