//! Records through the `RecordStore` API in process, each beside the raw statement it builds on,
//! measured on the same database in the same pass:
//!
//! - create (validation, sealing under a fresh subject key, blind index, index rows, outbox
//!   event and audit entry in one transaction) beside one autocommitted INSERT of a row of the
//!   same columns and size into a scratch copy of `record`;
//! - get (all fields: decryption and the personal-read audit entry) beside the store's own
//!   primary-key SELECT of the same rows;
//! - list (a page of 50, all fields) beside the raw SELECT of the same page ordered by id;
//! - an eq filter on an indexed picklist over 1,000,000 records in one org among ten, beside the
//!   SQL the store compiles for it, issued raw.
//!
//! Setup lives in [`fixture`] and [`seed`], apart from the calls, so a gRPC variant can reuse it.
//! Before each timed phase the outbox is left to drain ([`fixture::settle`]): the audit entries
//! of earlier setup and benchmarks are not charged to the next figure.

mod access_list;
mod fixture;
mod seed;

pub use access_list::{list_all, list_with_rules};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use listone_core::SubjectId;
use listone_core::db::{self, statement};
use listone_records::ChangeSource;
use listone_records::codec::field_index;
use listone_records::query::{FieldRef, Filter, NoBlindIndex, Op, QueryScope, QueryValue, RecordQuery, compile};
use sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

use crate::catalog::{BenchFuture, EngineContext};
use crate::error::BenchError;
use crate::measure;
use fixture::{CONTACTS, PAGE_SIZE, Picker, RecordsEnv, contact, read_fixture, settle};
use seed::{FILTER_FIELD, MODULE, filter_fixture};

/// A scratch table with `record`'s columns and primary key, in the benchmark's database only
/// (fresh every round of a `--rounds` run).
const CREATE_SCRATCH: [&str; 3] = [
    "DROP TABLE IF EXISTS bench_record",
    "CREATE TABLE bench_record AS SELECT * FROM record WHERE 1 = 0",
    "CREATE UNIQUE INDEX bench_record_key ON bench_record (org_id, id)",
];
/// The store's INSERT of a new record, into the scratch table.
const INSERT_SCRATCH: &str = "INSERT INTO bench_record (org_id, id, module_id, owner_id, subject_id, version, data, \
     created_by, created_at_us, updated_by, updated_at_us, deleted_at_us, restricted) \
     VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $7, $8, NULL, $9)";
/// The store's SELECT of one live record (what `RecordStore::get` reads).
const SELECT_ONE: &str = "SELECT id, module_id, owner_id, subject_id, version, data, created_by, created_at_us, \
     updated_by, updated_at_us, restricted FROM record \
     WHERE org_id = $1 AND module_id = $2 AND id = $3 AND deleted_at_us IS NULL";
/// One page of a module's live records after an id, ordered by id (the store's default order).
const SELECT_PAGE: &str = "SELECT r.id, r.module_id, r.owner_id, r.subject_id, r.version, r.data, r.created_by, \
     r.created_at_us, r.updated_by, r.updated_at_us, r.restricted FROM record r \
     WHERE r.org_id = $1 AND r.module_id = $2 AND r.deleted_at_us IS NULL AND r.id > $3 ORDER BY r.id ASC LIMIT 50";

/// Baseline: one autocommitted INSERT of a contact-shaped row (the `data` of a contact the store
/// created: sealed e-mail and note, plain names) into a scratch copy of `record`.
pub fn raw_insert(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let env = RecordsEnv::new(ctx);
        let (org, module) = env.org_with_catalog().await?;
        let created = env.create_contacts(org, 1).await?;
        let id = created.first().map(|id| id.as_uuid()).unwrap_or_default();
        let stmt = statement(
            env.db.conn().get_database_backend(),
            SELECT_ONE,
            [Value::from(org.as_uuid()), Value::from(module.as_uuid()), Value::from(id)],
        );
        let data: Arc<str> = match env.db.conn().query_one_raw(stmt).await? {
            Some(row) => row.try_get::<String>("", "data")?.into(),
            None => return Err(BenchError("the sample contact is missing".to_owned())),
        };
        // In one transaction: on SQLite another pooled connection can still hold the dropped
        // table's index in its schema.
        let txn = env.db.begin().await?;
        for ddl in CREATE_SCRATCH {
            txn.execute_unprepared(ddl).await?;
        }
        txn.commit().await?;
        let (db, owner) = (env.db.clone(), env.owner);
        settle(&env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
            let (db, data) = (db.clone(), data.clone());
            move || {
                let (db, data) = (db.clone(), data.clone());
                async move {
                    let row = [
                        Value::from(org.as_uuid()),
                        Value::from(Uuid::now_v7()),
                        Value::from(module.as_uuid()),
                        Value::from(owner),
                        Value::from(SubjectId::new().as_uuid()),
                        Value::from(data.to_string()),
                        Value::from(owner),
                        Value::from(Utc::now().timestamp_micros()),
                        Value::from(false),
                    ];
                    db::execute(db.conn(), INSERT_SCRATCH, row).await?;
                    Ok(())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// `RecordStore::create` of a contact: plain names, a searchable e-mail, an encrypted note.
pub fn create(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let env = Arc::new(RecordsEnv::new(ctx));
        let (org, _) = env.org_with_catalog().await?;
        let next = Arc::new(AtomicU64::new(0));
        settle(&env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
            let (env, next) = (env.clone(), next.clone());
            move || {
                let (env, n) = (env.clone(), next.fetch_add(1, Ordering::Relaxed));
                async move {
                    let (actor, ctx) = (env.actor.clone(), env.ctx.clone());
                    env.store.create(org, CONTACTS, contact(n), env.owner, actor, ctx, ChangeSource::Api).await?;
                    Ok(())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// Baseline: the store's primary-key SELECT of a random contact, issued raw.
pub fn raw_select(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = read_fixture(ctx).await?;
        settle(&fixture.env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
            let (fixture, mut picker) = (fixture.clone(), Picker::new(task));
            move || {
                let fixture = fixture.clone();
                let id = fixture.ids[picker.below(fixture.ids.len())];
                async move {
                    let conn = fixture.env.db.conn();
                    let values = [
                        Value::from(fixture.org.as_uuid()),
                        Value::from(fixture.module.as_uuid()),
                        Value::from(id.as_uuid()),
                    ];
                    match conn.query_one_raw(statement(conn.get_database_backend(), SELECT_ONE, values)).await? {
                        Some(row) => row.try_get::<String>("", "data").map(drop).map_err(BenchError::from),
                        None => Err(BenchError("a contact is missing".to_owned())),
                    }
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// `RecordStore::get` of a random contact with every field: decryption under its subject key
/// and the personal-read audit entry, committed before the values are returned.
pub fn get(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = read_fixture(ctx).await?;
        settle(&fixture.env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
            let (fixture, mut picker) = (fixture.clone(), Picker::new(task));
            move || {
                let fixture = fixture.clone();
                let id = fixture.ids[picker.below(fixture.ids.len())];
                async move {
                    let env = &fixture.env;
                    let record = env.store.get(fixture.org, CONTACTS, id, None, env.reader()).await?;
                    if record.fields.fields.is_empty() {
                        return Err(BenchError("a contact came back without fields".to_owned()));
                    }
                    Ok(())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// Baseline: one page of 50 contacts ordered by id, starting at a random page, issued raw.
pub fn raw_page(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = read_fixture(ctx).await?;
        settle(&fixture.env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
            let (fixture, mut picker) = (fixture.clone(), Picker::new(task));
            move || {
                let fixture = fixture.clone();
                let after = fixture.pages[picker.below(fixture.pages.len())].after;
                async move {
                    let conn = fixture.env.db.conn();
                    let values =
                        [Value::from(fixture.org.as_uuid()), Value::from(fixture.module.as_uuid()), Value::from(after)];
                    let rows = conn.query_all_raw(statement(conn.get_database_backend(), SELECT_PAGE, values)).await?;
                    full_page(rows.len())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// `RecordStore::list` of a random page of 50 contacts with every field: the page query, each
/// record decrypted under its own subject key, one audit entry naming the page's records.
pub fn list(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = read_fixture(ctx).await?;
        settle(&fixture.env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
            let (fixture, mut picker) = (fixture.clone(), Picker::new(task));
            move || {
                let fixture = fixture.clone();
                let page = picker.below(fixture.pages.len());
                async move {
                    let env = &fixture.env;
                    let query = RecordQuery {
                        page_size: PAGE_SIZE,
                        page_token: fixture.pages[page].token.clone(),
                        ..RecordQuery::default()
                    };
                    let page = env.store.list(fixture.org, CONTACTS, &query, None, env.reader()).await?;
                    full_page(page.records.len())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

fn full_page(rows: usize) -> Result<(), BenchError> {
    if rows == PAGE_SIZE as usize {
        Ok(())
    } else {
        Err(BenchError(format!("a page had {rows} records, not {PAGE_SIZE}")))
    }
}

/// The first page of 50 of the filtered org's records whose category is `category`.
fn category_query(category: &str) -> RecordQuery {
    let filter = Filter::cmp(FieldRef::custom(FILTER_FIELD), Op::Eq, QueryValue::Text(category.to_owned()));
    RecordQuery { filter: Some(filter), page_size: PAGE_SIZE, ..RecordQuery::default() }
}

/// Baseline: the statement `RecordStore::list` compiles for an eq filter on a random category,
/// issued raw (no module read, no transaction, no decoding).
pub fn raw_filter(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = filter_fixture(ctx).await?;
        let scope = QueryScope { org_id: fixture.org, module_id: fixture.module.id, engine: fixture.env.db.engine() };
        let fields = field_index(&fixture.module.definition);
        let backend = fixture.env.db.conn().get_database_backend();
        let statements: Arc<Vec<Statement>> = Arc::new(
            fixture
                .categories
                .iter()
                .map(|c| compile(scope, &category_query(c), &fields, &NoBlindIndex).map(|q| q.statement(backend)))
                .collect::<Result<_, _>>()?,
        );
        let db = fixture.env.db.clone();
        settle(&db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
            let (db, statements, mut picker) = (db.clone(), statements.clone(), Picker::new(task));
            move || {
                let (db, stmt) = (db.clone(), statements[picker.below(statements.len())].clone());
                async move {
                    let rows = db.conn().query_all_raw(stmt).await?;
                    if rows.is_empty() { Err(BenchError("a category matched nothing".to_owned())) } else { Ok(()) }
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// `RecordStore::list` with an eq filter on the indexed category picklist of a custom module
/// (one value in 20) over the filtered org's records, first page of 50, every field.
pub fn filter(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = filter_fixture(ctx).await?;
        let queries: Arc<Vec<RecordQuery>> = Arc::new(fixture.categories.iter().map(|c| category_query(c)).collect());
        check_filter(&fixture, &queries).await?;
        settle(&fixture.env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |task| {
            let (fixture, queries, mut picker) = (fixture.clone(), queries.clone(), Picker::new(task));
            move || {
                let (fixture, queries) = (fixture.clone(), queries.clone());
                let i = picker.below(queries.len());
                async move {
                    let env = &fixture.env;
                    let page = env.store.list(fixture.org, MODULE, &queries[i], None, env.reader()).await?;
                    if page.records.is_empty() {
                        return Err(BenchError("a category matched nothing".to_owned()));
                    }
                    Ok(())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// Every category's first page holds only records of that category, decoded with every field.
async fn check_filter(fixture: &seed::FilterFixture, queries: &[RecordQuery]) -> Result<(), BenchError> {
    let env = &fixture.env;
    // Record n is of category n % 20: every category holds at least (records - 1) / 20.
    let expected = ((fixture.records - 1) / seed::CATEGORIES).min(u64::from(PAGE_SIZE)) as usize;
    for (category, query) in fixture.categories.iter().zip(queries) {
        let page = env.store.list(fixture.org, MODULE, query, None, env.reader()).await?;
        let wanted = serde_json::Value::from(category.as_str());
        let matching = page
            .records
            .iter()
            .filter(|r| r.fields.fields.len() == 4)
            .filter(|r| r.fields.value(FILTER_FIELD).is_some_and(|v| v.expose().to_json() == wanted))
            .count();
        if matching != page.records.len() || page.records.len() < expected {
            return Err(BenchError(format!("the filter on {category} returned unexpected records")));
        }
    }
    Ok(())
}
