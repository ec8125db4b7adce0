//! Mapping between `audit_entry` rows and [`AuditEntry`].

use listone_core::{Error, EventId, OrgId, SubjectId};
use sea_orm::{QueryResult, Value};

use super::{to_u64, u64_value};
use crate::entry::{ActorKind, AuditEntry, Hash, Outcome};

/// Columns written for each entry, in order (also used by the benchmarks' plain-insert baseline).
pub const ENTRY_COLUMNS: &[&str] = &[
    "org_id",
    "seq",
    "event_id",
    "occurred_at_us",
    "recorded_at_us",
    "actor_kind",
    "actor_id",
    "action",
    "resource_module",
    "resource_id",
    "outcome",
    "request_id",
    "source_ip",
    "user_agent",
    "purpose",
    "personal_data",
    "details",
    "subject_id",
    "personal_digest",
    "personal_sealed",
];

/// The select list matching [`entry_from_row`].
pub(crate) const ENTRY_SELECT: &str = "org_id, seq, event_id, occurred_at_us, actor_kind, actor_id, action, \
    resource_module, resource_id, outcome, request_id, source_ip, user_agent, purpose, personal_data, details, \
    subject_id, personal_digest, personal_sealed";

/// The values of one `audit_entry` row, in [`ENTRY_COLUMNS`] order.
pub fn entry_values(entry: &AuditEntry, sealed: Option<Vec<u8>>, recorded_at_us: i64) -> Vec<Value> {
    vec![
        Value::from(entry.org_id.as_uuid()),
        u64_value(entry.seq),
        Value::from(entry.event_id.as_uuid()),
        Value::from(entry.occurred_at_us),
        Value::from(recorded_at_us),
        Value::from(entry.actor_kind.key()),
        Value::from(entry.actor_id.clone()),
        Value::from(entry.action.clone()),
        Value::from(entry.resource_module.clone()),
        Value::from(entry.resource_id.clone()),
        Value::from(entry.outcome.key()),
        Value::from(entry.request_id.clone()),
        Value::from(entry.source_ip.clone()),
        Value::from(entry.user_agent.clone()),
        Value::from(entry.purpose.clone()),
        Value::from(entry.personal_data),
        Value::from(entry.details.clone()),
        Value::from(entry.subject_id.map(|s| s.as_uuid())),
        Value::from(entry.personal_digest.map(|d| d.to_vec())),
        Value::from(sealed),
    ]
}

/// Decodes a row selected with [`ENTRY_SELECT`]; a value that no longer parses is reported as
/// corruption rather than guessed at.
pub(crate) fn entry_from_row(row: &QueryResult) -> Result<(AuditEntry, Option<Vec<u8>>), Error> {
    let corrupt = |what: &str| Error::internal(format!("audit entry column {what} is corrupt"));
    let actor_kind: String = row.try_get("", "actor_kind")?;
    let outcome: String = row.try_get("", "outcome")?;
    let digest: Option<Vec<u8>> = row.try_get("", "personal_digest")?;
    let personal_digest = match digest {
        None => None,
        Some(d) => Some(Hash::try_from(d.as_slice()).map_err(|_| corrupt("personal_digest"))?),
    };
    let entry = AuditEntry {
        org_id: OrgId::from_uuid(row.try_get("", "org_id")?),
        seq: to_u64(row.try_get("", "seq")?),
        event_id: EventId::from_uuid(row.try_get("", "event_id")?),
        occurred_at_us: row.try_get("", "occurred_at_us")?,
        actor_kind: ActorKind::from_key(&actor_kind).ok_or_else(|| corrupt("actor_kind"))?,
        actor_id: row.try_get("", "actor_id")?,
        action: row.try_get("", "action")?,
        resource_module: row.try_get("", "resource_module")?,
        resource_id: row.try_get("", "resource_id")?,
        outcome: Outcome::from_key(&outcome).ok_or_else(|| corrupt("outcome"))?,
        request_id: row.try_get("", "request_id")?,
        source_ip: row.try_get("", "source_ip")?,
        user_agent: row.try_get("", "user_agent")?,
        purpose: row.try_get("", "purpose")?,
        personal_data: row.try_get("", "personal_data")?,
        details: row.try_get("", "details")?,
        subject_id: row.try_get::<Option<uuid::Uuid>>("", "subject_id")?.map(SubjectId::from_uuid),
        personal_digest,
    };
    let sealed: Option<Vec<u8>> = row.try_get("", "personal_sealed")?;
    Ok((entry, sealed))
}
