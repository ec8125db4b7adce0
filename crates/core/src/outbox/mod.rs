//! Transactional outbox: a change and its events commit in one transaction; a [`Dispatcher`]
//! delivers them at least once to every [`EventSink`], each event carrying its id as the
//! idempotency key. Delivery state lives in the database, so it survives restarts.

mod dispatcher;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, QueryResult, Value};
use serde::{Deserialize, Serialize};

pub use dispatcher::{DispatchReport, Dispatcher, DispatcherConfig, OutboxWaker};

use crate::clock::Clock;
use crate::db;
use crate::error::Error;
use crate::ids::{EventId, OrgId, RequestId};

/// Longest accepted topic name.
pub const MAX_TOPIC_LEN: usize = 128;
/// Largest accepted event payload (serialized JSON).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// An event to record beside a change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Chosen by the writer, so it can be bound into sealed payloads before the insert.
    pub id: EventId,
    /// The tenant the event belongs to; `None` only for platform-level events.
    pub org_id: Option<OrgId>,
    /// Dotted topic, e.g. `records.record.created`.
    pub topic: String,
    /// Ids and metadata; personal values are never put in an event payload.
    pub payload: serde_json::Value,
    /// The request that caused it.
    pub request_id: Option<RequestId>,
}

/// An event as stored and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// Unique id, also the consumer's idempotency key.
    pub id: EventId,
    /// The tenant.
    pub org_id: Option<OrgId>,
    /// Dotted topic.
    pub topic: String,
    /// Event body.
    pub payload: serde_json::Value,
    /// The originating request.
    pub request_id: Option<RequestId>,
    /// When the change committed (by the writer's clock).
    pub created_at: DateTime<Utc>,
}

/// Why a sink could not take a batch; it will be offered again later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// A consumer of outbox events (audit, automation, a NATS bridge).
///
/// Delivery is at least once: a sink must treat `event.id` as an idempotency key.
#[async_trait::async_trait]
pub trait EventSink: Send + Sync + std::fmt::Debug {
    /// Stable consumer name; delivery progress is tracked under it.
    fn name(&self) -> &str;
    /// Whether this sink takes events of `topic` (default: every topic). An event it does not
    /// take counts as done for it without being handed over or tracked; an event no sink takes
    /// is settled without any delivery at all.
    fn accepts(&self, topic: &str) -> bool {
        let _ = topic;
        true
    }
    /// Takes a batch, in commit-id order. An error means none of it counts as delivered.
    async fn deliver(&self, events: &[OutboxEvent]) -> Result<(), SinkError>;
}

/// Most rows one statement of [`enqueue_all`] inserts; more take several statements. Modest on
/// purpose: SQLite finds each numbered parameter by a scan over all of them when binding.
pub const MAX_ROWS_PER_INSERT: usize = 64;

const INSERT_COLUMNS: &str = "INSERT INTO outbox_event (id, org_id, topic, payload, request_id, created_at) VALUES ";
const COLUMNS_PER_ROW: usize = 6;

/// Records `event` on `conn`, which should be the transaction that makes the change.
pub async fn enqueue<C: ConnectionTrait>(conn: &C, clock: &dyn Clock, event: NewEvent) -> Result<EventId, Error> {
    check(&event)?;
    let id = event.id;
    db::execute(conn, &insert_sql(1), row_values(event, clock.now())).await?;
    Ok(id)
}

/// Records every event on `conn` (the transaction making the change) in multi-row inserts of up
/// to [`MAX_ROWS_PER_INSERT`] rows: one round trip per statement instead of one per event. Every
/// event is checked first; if one fails [`check`], nothing is written.
pub async fn enqueue_all<C: ConnectionTrait>(
    conn: &C,
    clock: &dyn Clock,
    events: Vec<NewEvent>,
) -> Result<Vec<EventId>, Error> {
    let mut sized = Vec::with_capacity(events.len());
    for event in events {
        let bytes = checked_size(&event)?;
        sized.push((bytes, event));
    }
    let ids = sized.iter().map(|(_, e)| e.id).collect();
    let now = clock.now();
    // Runs under the statement byte budget too: see `db::MAX_STATEMENT_BYTES`.
    for run in db::statement_runs(sized, MAX_ROWS_PER_INSERT, |(bytes, _)| *bytes) {
        let chunk: Vec<NewEvent> = run.into_iter().map(|(_, event)| event).collect();
        let sql = insert_sql(chunk.len());
        let values: Vec<Value> = chunk.into_iter().flat_map(|event| row_values(event, now)).collect();
        db::execute(conn, &sql, values).await?;
    }
    Ok(ids)
}

/// INVALID_ARGUMENT when `event` breaks an outbox limit (topic length, payload size): what
/// [`enqueue`] and [`enqueue_all`] refuse before writing.
pub fn check(event: &NewEvent) -> Result<(), Error> {
    checked_size(event).map(drop)
}

/// [`check`], and about how many bytes the event's row takes in an insert's parameters (for a
/// writer keeping a statement of its own under `db::MAX_STATEMENT_BYTES`).
pub fn checked_size(event: &NewEvent) -> Result<usize, Error> {
    let mut violations = crate::error::Violations::new();
    violations.check(
        event.topic.is_empty() || event.topic.len() > MAX_TOPIC_LEN,
        "topic",
        "must be 1 to 128 characters",
    );
    let payload_len = db::json_size(&event.payload);
    violations.check(payload_len > MAX_PAYLOAD_BYTES, "payload", "must be at most 262144 bytes");
    violations.into_result()?;
    Ok(row_size(event, payload_len))
}

/// About how many bytes an event's row takes in an insert's parameters, given its payload's:
/// id, org, request id and time beside the topic and payload.
fn row_size(event: &NewEvent, payload_len: usize) -> usize {
    payload_len + event.topic.len() + 4 * 16
}

/// Whether [`enqueue_all`] writes `events` with ONE statement, which commits atomically on its
/// own outside a transaction (at most [`MAX_ROWS_PER_INSERT`] rows within the statement byte
/// budget, `db::MAX_STATEMENT_BYTES`; a lone event always).
pub fn fits_one_insert(events: &[NewEvent]) -> bool {
    if events.len() <= 1 {
        return true;
    }
    let bytes: usize = events.iter().map(|e| row_size(e, db::json_size(&e.payload))).sum();
    events.len() <= MAX_ROWS_PER_INSERT && bytes <= db::MAX_STATEMENT_BYTES
}

/// `INSERT ... VALUES ($1, ..., $6), ($7, ...)` for `rows` rows.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(INSERT_COLUMNS.len() + rows * 40);
    sql.push_str(INSERT_COLUMNS);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let first = row * COLUMNS_PER_ROW + 1;
        let params: Vec<String> = (first..first + COLUMNS_PER_ROW).map(|n| format!("${n}")).collect();
        sql.push('(');
        sql.push_str(&params.join(", "));
        sql.push(')');
    }
    sql
}

fn row_values(event: NewEvent, created_at: DateTime<Utc>) -> [Value; COLUMNS_PER_ROW] {
    [
        Value::from(event.id.as_uuid()),
        Value::from(event.org_id.map(|o| o.as_uuid())),
        Value::from(event.topic),
        Value::from(event.payload),
        Value::from(event.request_id.map(|r| r.to_string())),
        Value::from(created_at),
    ]
}

impl NewEvent {
    /// An event with a fresh id and no request id.
    pub fn new(org_id: Option<OrgId>, topic: impl Into<String>, payload: serde_json::Value) -> Self {
        Self { id: EventId::new(), org_id, topic: topic.into(), payload, request_id: None }
    }
}

impl OutboxEvent {
    fn from_row(row: &QueryResult) -> Result<Self, Error> {
        let request_id: Option<String> = row.try_get("", "request_id")?;
        Ok(Self {
            id: EventId::from_uuid(row.try_get("", "id")?),
            org_id: row.try_get::<Option<uuid::Uuid>>("", "org_id")?.map(OrgId::from_uuid),
            topic: row.try_get("", "topic")?,
            payload: row.try_get("", "payload")?,
            request_id: request_id.and_then(|r| RequestId::parse(&r).ok()),
            created_at: row.try_get("", "created_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_inserts_number_their_parameters_row_by_row() {
        assert_eq!(
            insert_sql(1),
            "INSERT INTO outbox_event (id, org_id, topic, payload, request_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
        );
        let two = insert_sql(2);
        assert!(two.ends_with("VALUES ($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)"), "{two}");
    }

    #[test]
    fn an_event_over_a_limit_is_refused_naming_the_field() {
        let mut event = NewEvent::new(None, "", serde_json::json!({}));
        let Err(Error::InvalidArgument { violations }) = check(&event) else { panic!("an empty topic passed") };
        assert_eq!(violations[0].field, "topic");
        event.topic = "audit.entry".to_owned();
        assert!(check(&event).is_ok());
    }
}
