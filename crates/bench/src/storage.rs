//! Writes to the server's database: a bare autocommitted INSERT (the baseline) and the same
//! INSERT with one outbox event in one transaction — what every audited change will pay.

use std::future::Future;
use std::sync::Arc;

use chrono::Utc;
use listone_core::db::{self, Database};
use listone_core::outbox::{self, NewEvent};
use listone_core::{OrgId, SystemClock};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

use crate::catalog::{BenchFuture, EngineContext};
use crate::error::BenchError;
use crate::measure::{self, Figures};

/// The scratch table; it lives only in the benchmark's throwaway database.
const CREATE_SCRATCH: &str =
    "CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY, org_id uuid, payload text, created_at timestamp)";
const INSERT_ROW: &str = "INSERT INTO bench_raw (id, org_id, payload, created_at) VALUES ($1, $2, $3, $4)";
/// A payload about the size of a small record's field values.
const PAYLOAD: &str = "benchmark row payload: no personal data, only enough bytes to look like a small record.";
/// Topic of the benchmark's outbox events.
const TOPIC: &str = "bench.row.inserted";

/// One autocommitted single-row INSERT per operation.
pub fn raw_insert(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(writes(ctx, |db: Arc<Database>, org: OrgId| async move {
        db::execute(db.conn(), INSERT_ROW, row(Uuid::now_v7(), org)).await?;
        Ok(())
    }))
}

/// BEGIN; the same INSERT; `outbox::enqueue` of one event; COMMIT.
pub fn outbox_write(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(writes(ctx, |db: Arc<Database>, org: OrgId| async move {
        let id = Uuid::now_v7();
        let txn = db.begin().await?;
        db::execute(&txn, INSERT_ROW, row(id, org)).await?;
        let event = NewEvent::new(Some(org), TOPIC, serde_json::json!({ "row_id": id }));
        outbox::enqueue(&txn, &SystemClock, event).await?;
        txn.commit().await?;
        Ok(())
    }))
}

/// Creates the scratch table in the server's database, then runs `write` from every client task
/// for one fresh org.
async fn writes<Write, Fut>(ctx: &EngineContext, write: Write) -> Result<Figures, BenchError>
where
    Write: Fn(Arc<Database>, OrgId) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), BenchError>> + Send + 'static,
{
    let db = Arc::new(ctx.server.db().clone());
    db.conn().execute_unprepared(CREATE_SCRATCH).await?;
    let org = OrgId::new();
    let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
        let (db, write) = (db.clone(), write.clone());
        move || write(db.clone(), org)
    })
    .await?;
    Ok(sample.figures())
}

fn row(id: Uuid, org: OrgId) -> [Value; 4] {
    [Value::from(id), Value::from(org.as_uuid()), Value::from(PAYLOAD), Value::from(Utc::now().naive_utc())]
}
