//! The audit log: appends (validation done, idempotency check, leaf and node hashing, node rows,
//! head, checkpoints every 1000, detection) against a plain multi-row insert of the same rows,
//! and full verification against raw SHA-256 over the same leaf bytes.

use std::sync::Arc;

use listone::AppContext;
use listone_audit::entry::{ActorKind, AuditActor, AuditEntry, AuditEvent, Outcome, RequestContext};
use listone_audit::store::rows::{ENTRY_COLUMNS, entry_values};
use listone_core::outbox::OutboxEvent;
use listone_core::{EventId, OrgId};
use ring::digest::{SHA256, digest};
use sea_orm::ConnectionTrait;
use tokio::sync::Mutex;

use crate::catalog::{BenchFuture, EngineContext};
use crate::error::BenchError;
use crate::measure::{self, Figures};

/// Entries per append (the outbox dispatcher's default batch).
pub const BATCH: usize = 256;
/// Entries in the log that the verification benchmarks read.
pub const VERIFY_ENTRIES: usize = 20_000;

fn event(org: OrgId, n: usize) -> AuditEvent {
    AuditEvent::new(
        org,
        AuditActor { kind: ActorKind::User, id: Some(format!("user-{}", n % 50)) },
        "records.record.update",
        Outcome::Allowed,
        chrono::Utc::now(),
    )
    .with_resource("contacts", Some(format!("rec-{n}")))
    .with_context(RequestContext {
        request_id: None,
        source_ip: Some("192.0.2.10".to_owned()),
        user_agent: Some("bench/1.0".to_owned()),
    })
    .with_details(serde_json::json!({ "fields": ["stage", "amount"], "n": n }))
}

async fn batch(app: &AppContext, org: OrgId, start: usize) -> Result<Vec<OutboxEvent>, BenchError> {
    let mut out = Vec::with_capacity(BATCH);
    for n in start..start + BATCH {
        let new = app.audit_recorder.prepare(app.db.conn(), event(org, n)).await?;
        out.push(OutboxEvent {
            id: new.id,
            org_id: new.org_id,
            topic: new.topic,
            payload: new.payload,
            request_id: new.request_id,
            created_at: chrono::Utc::now(),
        });
    }
    Ok(out)
}

/// Per-batch figures scaled to entries.
fn per_entry(mut f: Figures, entries_per_op: usize) -> Figures {
    f.ops *= entries_per_op as u64;
    f.ops_per_sec *= entries_per_op as f64;
    f
}

/// Baseline: the same 256 entry rows in one multi-row INSERT transaction into a scratch copy of
/// `audit_entry` (same columns and key), no hashing.
pub fn plain_insert(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        // A fresh scratch table every round of a `--rounds` run, made in one transaction: on
        // SQLite another pooled connection can still hold the dropped table's index in its schema.
        let txn = ctx.server.db().begin().await?;
        txn.execute_unprepared("DROP TABLE IF EXISTS bench_audit_plain").await?;
        txn.execute_unprepared("CREATE TABLE bench_audit_plain AS SELECT * FROM audit_entry WHERE 1 = 0").await?;
        txn.execute_unprepared("CREATE UNIQUE INDEX bench_audit_plain_key ON bench_audit_plain (org_id, seq)").await?;
        txn.commit().await?;
        let org = OrgId::new();
        let next = Arc::new(Mutex::new(0u64));
        let db = ctx.server.db().clone();
        let sample = measure::concurrent(1, &ctx.budget, |_| {
            let (db, next) = (db.clone(), next.clone());
            move || {
                let (db, next) = (db.clone(), next.clone());
                async move {
                    let mut seq = next.lock().await;
                    let rows: Vec<_> =
                        (0..BATCH as u64).map(|i| entry_values(&plain_entry(org, *seq + i), None, 0)).collect();
                    *seq += BATCH as u64;
                    let txn = sea_orm::TransactionTrait::begin(db.conn()).await?;
                    listone_core::db::insert_many(&txn, "bench_audit_plain", ENTRY_COLUMNS, rows).await?;
                    txn.commit().await?;
                    Ok(())
                }
            }
        })
        .await?;
        Ok(per_entry(sample.figures(), BATCH))
    })
}

fn plain_entry(org: OrgId, seq: u64) -> AuditEntry {
    AuditEntry {
        org_id: org,
        seq,
        event_id: EventId::new(),
        occurred_at_us: chrono::Utc::now().timestamp_micros(),
        actor_kind: ActorKind::User,
        actor_id: Some(format!("user-{}", seq % 50)),
        action: "records.record.update".to_owned(),
        resource_module: Some("contacts".to_owned()),
        resource_id: Some(format!("rec-{seq}")),
        outcome: Outcome::Allowed,
        request_id: None,
        source_ip: Some("192.0.2.10".to_owned()),
        user_agent: Some("bench/1.0".to_owned()),
        purpose: None,
        personal_data: false,
        details: serde_json::json!({ "fields": ["stage", "amount"], "n": seq }).to_string(),
        subject_id: None,
        personal_digest: None,
    }
}

/// Batches recorded before timing starts, so the timed appends do not pay the producers'
/// validation and encoding (100 batches cover 5 s at 5,000 entries/s; more are made on demand).
pub const PREPARED_BATCHES: usize = 100;

/// `AuditStore::append` of 256 outbox events for one org (what the audit sink does per batch).
pub fn append(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let org = OrgId::new();
        let app = ctx.server.ctx().clone();
        let mut prepared = Vec::with_capacity(PREPARED_BATCHES);
        for b in (0..PREPARED_BATCHES).rev() {
            prepared.push(batch(&app, org, b * BATCH).await?);
        }
        let queue = Arc::new(Mutex::new((prepared, PREPARED_BATCHES * BATCH)));
        let sample = measure::concurrent(1, &ctx.budget, |_| {
            let (queue, app) = (queue.clone(), app.clone());
            move || {
                let (queue, app) = (queue.clone(), app.clone());
                async move {
                    let mut queue = queue.lock().await;
                    let events = match queue.0.pop() {
                        Some(events) => events,
                        None => {
                            let events = batch(&app, org, queue.1).await?;
                            queue.1 += BATCH;
                            events
                        }
                    };
                    app.audit.append(&events).await?;
                    Ok(())
                }
            }
        })
        .await?;
        Ok(per_entry(sample.figures(), BATCH))
    })
}

/// Builds a log of [`VERIFY_ENTRIES`] entries for one org.
async fn verify_fixture(ctx: &EngineContext) -> Result<OrgId, BenchError> {
    let org = OrgId::new();
    for start in (0..VERIFY_ENTRIES).step_by(BATCH) {
        let events = batch(ctx.server.ctx(), org, start).await?;
        ctx.server.ctx().audit.append(&events).await?;
    }
    Ok(org)
}

/// Baseline: SHA-256 over exactly the leaf bytes verification hashes, in memory, one thread.
pub fn leaf_sha256(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let org = verify_fixture(ctx).await?;
        let audit = &ctx.server.ctx().audit;
        let mut leaves = Vec::with_capacity(VERIFY_ENTRIES);
        let mut page = listone_audit::store::PageRequest { page_size: 1000, after_seq: None, newest_first: false };
        loop {
            let chunk = audit.list_entries(org, &Default::default(), page, false).await?;
            leaves.extend(chunk.entries.iter().map(|v| v.entry.leaf_bytes()));
            page.after_seq = chunk.entries.last().map(|v| v.entry.seq);
            if chunk.next_page_token.is_none() {
                break;
            }
        }
        let bytes: usize = leaves.iter().map(Vec::len).sum();
        let sample = measure::sequential(&ctx.budget, || {
            for leaf in &leaves {
                std::hint::black_box(digest(&SHA256, std::hint::black_box(leaf)));
            }
        });
        let mut f = per_entry(sample.figures(), leaves.len());
        f.mb_per_sec = Some(f.ops_per_sec * (bytes as f64 / leaves.len().max(1) as f64) / 1e6);
        Ok(f)
    })
}

/// `AuditStore::verify` of the whole log: read every entry, recompute its leaf, rebuild the
/// tree, check every signed checkpoint.
pub fn verify(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let org = verify_fixture(ctx).await?;
        let app = ctx.server.ctx().clone();
        let verifiers = listone_audit::signer::stored_verifiers(&app.db).await?;
        let sample = measure::concurrent(1, &ctx.budget, |_| {
            let (verifiers, audit) = (verifiers.clone(), app.audit.clone());
            move || {
                let (verifiers, audit) = (verifiers.clone(), audit.clone());
                async move {
                    let report = audit.verify(org, &verifiers).await?;
                    if report.is_valid() {
                        Ok(())
                    } else {
                        Err(BenchError(format!("benchmark log failed verification: {:?}", report.problems)))
                    }
                }
            }
        })
        .await?;
        Ok(per_entry(sample.figures(), VERIFY_ENTRIES))
    })
}
