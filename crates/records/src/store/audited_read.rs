//! The read batcher's statement that also writes audit entries: the live records of a batch
//! and, in the same PostgreSQL statement, the personal-read entries stated ahead for them.

use std::sync::LazyLock;

use listone_core::db::statement;
use listone_core::outbox::NewEvent;
use listone_core::{Error, EventId, ModuleId, OrgId, RecordId};
use sea_orm::{ConnectionTrait, DatabaseBackend, Value};
use uuid::Uuid;

use super::rows::{LIVE_SELECT, LiveRecord, live_from};

/// A read's audit entry for [`find_live_audited`], with what the read must find for the entry
/// to be true: every record it lists, live, of module `module_key` (`module_id`) at
/// `module_version`, the definition the entry's field list was taken from.
pub(crate) struct ExpectedEntry {
    pub event: NewEvent,
    pub module_key: String,
    pub module_id: ModuleId,
    pub module_version: u32,
    /// The records the entry lists, each once.
    pub records: Vec<RecordId>,
}

/// The read of [`rows::find_live_many`](super::rows::find_live_many) and, in the SAME statement, the outbox insert of each audit
/// entry in `entries` whose every listed record the read finds as the entry expects (PostgreSQL
/// only: a data-modifying `WITH`). The statement commits on its own, before its rows come back
/// (the client has them only at ReadyForQuery, after the implicit commit), so a row read here was
/// audited by the time a caller sees it, and no entry is written for a read that found nothing or
/// found another version of the module. Returns the rows and the ids of the entries written.
/// One statement text whatever the batch, arrays and entries passed as parameters.
pub(crate) async fn find_live_audited<C: ConnectionTrait>(
    conn: &C,
    keys: &[(OrgId, RecordId)],
    entries: &[ExpectedEntry],
    created_at: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<(OrgId, String, LiveRecord)>, Vec<EventId>), Error> {
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        return Err(Error::internal("a read audited in its own statement needs PostgreSQL"));
    }
    let array = |ids: &mut dyn Iterator<Item = Uuid>| {
        let inner: Vec<String> = ids.map(|id| id.to_string()).collect();
        format!("{{{}}}", inner.join(","))
    };
    let orgs = array(&mut keys.iter().map(|(org, _)| org.as_uuid()));
    let ids = array(&mut keys.iter().map(|(_, id)| id.as_uuid()));
    let at = created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.event.id.as_uuid(),
                "org_id": e.event.org_id.map(|o| o.as_uuid()),
                "topic": e.event.topic,
                "payload": e.event.payload,
                "request_id": e.event.request_id.map(|r| r.to_string()),
                "created_at": at,
                "module_key": e.module_key,
                "module_id": e.module_id.as_uuid(),
                "module_version": e.module_version,
                "records": e.records.iter().map(|r| r.as_uuid()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let values = [Value::from(orgs), Value::from(ids), Value::from(serde_json::Value::Array(entries))];
    let rows = conn.query_all_raw(statement(DatabaseBackend::Postgres, &AUDITED_READ, values)).await?;
    // Every row carries the same list of the entries written (none without rows).
    let mut written: Vec<EventId> = Vec::new();
    if let Some(ids) = rows.first().map(|row| row.try_get::<Option<String>>("", "audited")).transpose()?.flatten() {
        for id in ids.split(',') {
            let id = Uuid::parse_str(id).map_err(|_| Error::internal("audited entry id is not a UUID"))?;
            written.push(EventId::from_uuid(id));
        }
    }
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let org = OrgId::from_uuid(row.try_get::<Uuid>("", "org_id")?);
        let module_key: String = row.try_get("", "module_key")?;
        found.push((org, module_key, live_from(row)?));
    }
    Ok((found, written))
}

/// The statement of [`find_live_audited`], built once.
static AUDITED_READ: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH found AS ({LIVE_SELECT} WHERE r.org_id = ANY($1::text::uuid[]) AND r.id = ANY($2::text::uuid[]) \
         AND r.deleted_at_us IS NULL), \
         audited AS (INSERT INTO outbox_event (id, org_id, topic, payload, request_id, created_at) \
         SELECT e.id, e.org_id, e.topic, e.payload, e.request_id, e.created_at \
         FROM jsonb_to_recordset($3::jsonb) AS e(id uuid, org_id uuid, topic text, payload jsonb, request_id text, \
         created_at timestamptz, module_key text, module_id uuid, module_version bigint, records uuid[]) \
         WHERE (SELECT count(*) FROM found f WHERE f.org_id = e.org_id AND f.id = ANY(e.records) \
         AND f.module_key = e.module_key AND f.module_id = e.module_id AND f.module_version = e.module_version) \
         = cardinality(e.records) \
         RETURNING id) \
         SELECT found.*, (SELECT string_agg(id::text, ',') FROM audited) AS audited FROM found"
    )
});
