//! Appending outbox events to an organization's log: idempotent on event id, batched, with the
//! Merkle nodes, head, checkpoint and detection in the same transaction.

use std::collections::{BTreeMap, HashSet};

use listone_core::outbox::OutboxEvent;
use listone_core::{Error, EventId, OrgId};
use sea_orm::{ConnectionTrait, Value};

use super::rows::{ENTRY_COLUMNS, entry_values};
use super::settings_store::load_settings;
use super::{AuditStore, Head, load_frontier, lock_head, save_head, u64_value};
use crate::detection;
use crate::entry::{ActorKind, Outcome};
use crate::merkle::{Frontier, leaf_hash};
use crate::recorder::{AUDIT_TOPIC, RecordedEntry};
use crate::settings::AuditSettings;

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendReport {
    /// New entries written.
    pub appended: u64,
    /// Events skipped because their entry already exists.
    pub duplicates: u64,
    /// Checkpoints cut.
    pub checkpoints: u64,
    /// Incidents raised by detection rules.
    pub incidents: u64,
}

impl AuditStore {
    /// Appends every `audit.entry` event in `events`; others are ignored.
    pub async fn append(&self, events: &[OutboxEvent]) -> Result<AppendReport, Error> {
        let mut by_org: BTreeMap<OrgId, Vec<(EventId, RecordedEntry)>> = BTreeMap::new();
        for event in events.iter().filter(|e| e.topic == AUDIT_TOPIC) {
            let Some(org) = event.org_id else {
                tracing::error!(event_id = %event.id, "audit event without an organization; skipped");
                continue;
            };
            let recorded =
                serde_json::from_value::<RecordedEntry>(event.payload.clone()).unwrap_or_else(|_| malformed(event));
            by_org.entry(org).or_default().push((event.id, recorded));
        }
        let mut report = AppendReport::default();
        for (org, items) in by_org {
            let r = self.append_org(org, items).await?;
            report.appended += r.appended;
            report.duplicates += r.duplicates;
            report.checkpoints += r.checkpoints;
            report.incidents += r.incidents;
        }
        Ok(report)
    }

    /// Appends `items` to `org`'s log. Optimistically first: the entries are inserted with
    /// `ON CONFLICT (org_id, event_id) DO NOTHING`, and only when one was already there (an
    /// event delivered again: at-least-once delivery) does the append roll back and run again,
    /// leaving out the events the log already holds. Probing for them up front cost a query
    /// on every append, and on PostgreSQL its plan could read the organization's whole log
    /// (measured: 12.7 ms an append, the largest single cost of delivering while records were
    /// created at full speed).
    async fn append_org(&self, org: OrgId, items: Vec<(EventId, RecordedEntry)>) -> Result<AppendReport, Error> {
        if let Some(report) = self.append_org_once(org, items.clone(), false).await? {
            return Ok(report);
        }
        // Under the head lock the probe is exact, so the second attempt cannot conflict.
        self.append_org_once(org, items, true)
            .await?
            .ok_or_else(|| Error::internal("audit append: an event appeared in the log under the head lock"))
    }

    /// One attempt of [`append_org`](Self::append_org): `None` (rolled back) when an entry's
    /// event was already in the log and `probe` was off.
    async fn append_org_once(
        &self,
        org: OrgId,
        mut items: Vec<(EventId, RecordedEntry)>,
        probe: bool,
    ) -> Result<Option<AppendReport>, Error> {
        let now_us = self.clock.now().timestamp_micros();
        let txn = self.db.begin().await?;
        let mut head = lock_head(&txn, org, now_us).await?;
        let before = items.len();
        if probe {
            let existing = existing_events(&txn, org, &items).await?;
            items.retain(|(id, _)| !existing.contains(id));
        }
        let mut report = AppendReport { duplicates: (before - items.len()) as u64, ..Default::default() };
        if items.is_empty() {
            txn.commit().await?;
            return Ok(Some(report));
        }
        let settings = load_settings(&txn, org).await?;
        let mut frontier = load_frontier(&txn, org, head.size).await?;
        let mut entry_rows = Vec::with_capacity(items.len());
        let mut node_rows = Vec::with_capacity(items.len() * 2);
        let mut entries = Vec::with_capacity(items.len());
        for (offset, (event_id, recorded)) in items.into_iter().enumerate() {
            let (entry, sealed) = recorded.into_entry(org, head.size + offset as u64, event_id);
            let completed = frontier
                .append(leaf_hash(&entry.leaf_bytes()))
                .map_err(|e| Error::internal(format!("audit append: {e}")))?;
            for (pos, hash) in completed {
                node_rows.push(vec![
                    Value::from(org.as_uuid()),
                    Value::from(i16::from(pos.level)),
                    u64_value(pos.index),
                    u64_value((pos.index + 1) << pos.level),
                    Value::from(hash.to_vec()),
                ]);
            }
            entry_rows.push(entry_values(&entry, sealed, now_us));
            entries.push(entry);
            head.first_pending_at_us = head.first_pending_at_us.or(Some(now_us));
            // Cut as soon as the cadence is reached inside a batch, so sizes do not depend on batching.
            if frontier.size() - head.checkpoint_size >= settings.checkpoint_every_entries {
                self.cut_checkpoint(&txn, org, &mut head, &frontier, now_us).await?;
                report.checkpoints += 1;
            }
        }
        let inserted = listone_core::db::insert_many_then(
            &txn,
            "audit_entry",
            ENTRY_COLUMNS,
            entry_rows,
            "ON CONFLICT (org_id, event_id) DO NOTHING",
        )
        .await?;
        if inserted != entries.len() as u64 {
            // The sequence and the tree above counted an event the log already holds.
            txn.rollback().await?;
            return Ok(None);
        }
        listone_core::db::insert_many(&txn, "audit_node", &["org_id", "level", "idx", "span_end", "hash"], node_rows)
            .await?;
        report.appended = entries.len() as u64;
        head.size = frontier.size();
        save_head(&txn, org, &head, now_us).await?;
        report.incidents = detection::evaluate(&txn, org, &settings, &entries, now_us).await?;
        txn.commit().await?;
        Ok(Some(report))
    }

    /// Signs and stores a checkpoint of the current tree.
    pub(crate) async fn cut_checkpoint<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        head: &mut Head,
        frontier: &Frontier,
        now_us: i64,
    ) -> Result<(), Error> {
        let root = frontier.root();
        let note = self.signer.sign(org, frontier.size(), &root)?;
        listone_core::db::execute(
            conn,
            "INSERT INTO audit_checkpoint (org_id, size, root, note, key_id, created_at_us) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (org_id, size) DO NOTHING",
            [
                Value::from(org.as_uuid()),
                u64_value(frontier.size()),
                Value::from(root.to_vec()),
                Value::from(note),
                Value::from(self.signer.key_id().to_owned()),
                Value::from(now_us),
            ],
        )
        .await?;
        head.checkpoint_size = frontier.size();
        head.first_pending_at_us = None;
        Ok(())
    }

    /// Cuts a checkpoint for every log whose oldest unsigned entry has waited past its org's
    /// `checkpoint_every_seconds` (by the clock). Returns how many were cut.
    pub async fn cut_due_checkpoints(&self) -> Result<u64, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT org_id, first_pending_at_us FROM audit_head WHERE size > checkpoint_size AND first_pending_at_us IS NOT NULL",
            [],
        );
        let waiting: Vec<(OrgId, i64)> = conn
            .query_all_raw(stmt)
            .await?
            .iter()
            .map(|row| {
                Ok((OrgId::from_uuid(row.try_get("", "org_id")?), row.try_get::<i64>("", "first_pending_at_us")?))
            })
            .collect::<Result<_, Error>>()?;
        let mut cut = 0;
        for (org, first_pending_at_us) in waiting {
            let now_us = self.clock.now().timestamp_micros();
            // Decide on the unlocked row first: the head lock is what appends to this log queue
            // on, so a log that is not due is not made to wait (re-checked under the lock below).
            let wait_us = checkpoint_wait_us(&load_settings(conn, org).await?);
            if now_us.saturating_sub(first_pending_at_us) < wait_us {
                continue;
            }
            let txn = self.db.begin().await?;
            let mut head = lock_head(&txn, org, now_us).await?;
            let wait_us = checkpoint_wait_us(&load_settings(&txn, org).await?);
            let due = head.first_pending_at_us.is_some_and(|t| now_us.saturating_sub(t) >= wait_us);
            if head.size > head.checkpoint_size && due {
                let frontier = load_frontier(&txn, org, head.size).await?;
                self.cut_checkpoint(&txn, org, &mut head, &frontier, now_us).await?;
                save_head(&txn, org, &head, now_us).await?;
                cut += 1;
            }
            txn.commit().await?;
        }
        Ok(cut)
    }
}

fn checkpoint_wait_us(settings: &AuditSettings) -> i64 {
    i64::try_from(settings.checkpoint_every_seconds).unwrap_or(i64::MAX).saturating_mul(1_000_000)
}

async fn existing_events<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    items: &[(EventId, RecordedEntry)],
) -> Result<HashSet<EventId>, Error> {
    let mut found = HashSet::new();
    for chunk in items.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql =
            format!("SELECT event_id FROM audit_entry WHERE org_id = $1 AND event_id IN ({})", placeholders.join(", "));
        let mut values = vec![Value::from(org.as_uuid())];
        values.extend(chunk.iter().map(|(id, _)| Value::from(id.as_uuid())));
        let stmt = listone_core::db::statement(conn.get_database_backend(), &sql, values);
        for row in conn.query_all_raw(stmt).await? {
            found.insert(EventId::from_uuid(row.try_get("", "event_id")?));
        }
    }
    Ok(found)
}

/// An event whose payload no longer decodes still leaves a trace in the log instead of vanishing.
fn malformed(event: &OutboxEvent) -> RecordedEntry {
    tracing::error!(event_id = %event.id, "malformed audit event payload; recorded as audit.event.malformed");
    RecordedEntry {
        occurred_at_us: event.created_at.timestamp_micros(),
        actor_kind: ActorKind::System,
        actor_id: None,
        action: "audit.event.malformed".to_owned(),
        resource_module: None,
        resource_id: None,
        outcome: Outcome::Failed,
        request_id: event.request_id.map(|r| r.to_string()),
        source_ip: None,
        user_agent: None,
        purpose: None,
        personal_data: false,
        details: serde_json::json!({ "event_id": event.id.to_string() }).to_string(),
        subject_id: None,
        personal_sealed: None,
    }
}
