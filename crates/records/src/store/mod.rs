//! The record store: records of an org's modules in `record`, `record_index`, `record_unique`
//! and `record_history`, each change committed with its outbox event and audit entry in one
//! transaction.
//!
//! Decisions worth knowing:
//! - Tenancy: every method takes the org first and every statement filters by it; another org's
//!   record (or a lookup to one) answers NOT_FOUND exactly like a missing one, and so does
//!   another org's user or group named as an owner or in a user field (checked against identity's
//!   tables in the write's transaction, one query per call: see `people`).
//! - Subjects: a record of a subject module (`is_subject`) is its own data subject; its
//!   `subject_id` is a fresh [`SubjectId`] kept in the record row itself (no separate mapping:
//!   erasure finds the key through `record.subject_id`). A record of a module with a
//!   `subject_link` belongs to the subject of the record its link field points at (none while
//!   the link is empty); changing the link re-seals every value under the new subject.
//! - Updates decode the whole record, apply the masked changes, recompute formulas and re-encode
//!   everything: index rows and unique claims are rewritten, so they can never drift from `data`.
//! - Deletes are soft: `deleted_at_us` is set and unique claims are released at once (the value
//!   is free for a new record); index rows stay until [`RecordStore::purge_deleted`] (queries
//!   already skip deleted rows).
//! - Access: a store acts as the platform, seeing everything, unless it acts for a caller
//!   ([`RecordStore::acting_for`]): then the caller's [`AccessGuard`] checks object rights, record
//!   access and field-level security at every read, list, count and write, and fields it may not
//!   read never leave the store.
//! - Reads hold no write lock: `get` and `history` read on the pool, lists and counts in a
//!   read transaction (on PostgreSQL with `plan_cache_mode = force_custom_plan`, because a
//!   generic plan of a filter cannot see how selective its values are). With a read batcher
//!   ([`RecordStore::with_read_batching`]) concurrent `get`s share one primary-key statement per
//!   batch (see `fetch`), each call keeping only its own org's row. Reads of personal fields
//!   are audited afterwards, through the `AuditBatcher` group commit when the store has one
//!   ([`RecordStore::with_read_audit`]) or in a short transaction of their own, and values are
//!   returned only after that entry committed: a read that could not be audited returns nothing.

mod audited_read;
mod batch;
mod bulk;
mod change;
mod create;
mod fetch;
mod history;
mod people;
mod read;
mod rows;
mod shares;
mod write;

use std::collections::BTreeMap;
use std::sync::Arc;

use listone_audit::{AuditActor, AuditBatcher, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::outbox::{self, NewEvent};
use listone_core::{Database, Error, ModuleId, OrgId, RecordId, RequestId, SharedClock, SubjectId};
use listone_crypto::KeyRing;
use listone_customization::{ModuleStore, StoredModule};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

pub use bulk::{BulkUpdate, MAX_BULK_RECORDS};
pub use change::{ChangeSource, changed_fields, masked_input};
pub use fetch::{MAX_READ_BATCH, read_batching_pays};
pub use history::FieldChange;
pub use read::{HistoryPage, Reader, StoredPage};
pub use write::PURGE_BATCH;

use crate::access::AccessGuard;
use crate::codec::{Decoded, DecodedRecord};

/// Resource name of audit entries about records.
const AUDIT_RESOURCE: &str = "records.record";

/// One record as read: system columns and the requested fields, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Id.
    pub id: RecordId,
    /// The record's module.
    pub module_id: ModuleId,
    /// Owner (a user or group id).
    pub owner_id: Uuid,
    /// The data subject the record belongs to, if any.
    pub subject_id: Option<SubjectId>,
    /// Optimistic-concurrency version: 1 on create, raised by every change.
    pub version: i64,
    /// Creator (a user id, or nil for service clients and the platform).
    pub created_by: Uuid,
    /// Creation time, µs.
    pub created_at_us: i64,
    /// Last writer.
    pub updated_by: Uuid,
    /// Last change, µs.
    pub updated_at_us: i64,
    /// Processing is restricted.
    pub restricted: bool,
    /// The requested fields, values masked in Debug.
    pub fields: DecodedRecord,
}

/// One change to a record, as its outbox event and audit entry describe it.
pub(crate) struct Change<'a> {
    pub org: OrgId,
    /// Event topic and audit action, e.g. `records.record.created`.
    pub action: &'static str,
    pub id: RecordId,
    pub actor: &'a AuditActor,
    pub ctx: &'a RequestContext,
    /// The outbox event's payload: ids, version and field keys, never values.
    pub payload: serde_json::Value,
    /// The audit entry's details.
    pub details: serde_json::Value,
}

/// The records of every org.
#[derive(Debug, Clone)]
pub struct RecordStore {
    db: Database,
    keys: Arc<KeyRing>,
    audit: AuditRecorder,
    clock: SharedClock,
    modules: ModuleStore,
    purge_batch: u32,
    read_audit: Option<AuditBatcher>,
    create_batcher: Option<batch::CreateBatcher>,
    read_batcher: Option<fetch::ReadBatcher>,
    /// The caller's access, when the store acts for one rather than for the platform.
    guard: Option<Arc<AccessGuard>>,
}

pub(crate) fn not_found() -> Error {
    Error::NotFound { resource: "record" }
}

pub(crate) fn stale_version() -> Error {
    Error::Aborted {
        reason: "STALE_VERSION",
        message: "the record changed since it was read; read it again".to_owned(),
    }
}

/// The `created_by` / `updated_by` column: a user's id, or the nil UUID for the platform and
/// service clients (the audit entry names every actor exactly).
pub(crate) fn actor_uuid(actor: &AuditActor) -> Uuid {
    match (actor.kind, actor.id.as_deref()) {
        (listone_audit::ActorKind::User, Some(id)) => Uuid::parse_str(id).unwrap_or_default(),
        _ => Uuid::nil(),
    }
}

/// Decoded values as plain field values (erased ones are absent).
pub(crate) fn plain_values(decoded: &DecodedRecord) -> BTreeMap<String, listone_customization::FieldValue> {
    decoded
        .fields
        .iter()
        .filter_map(|(key, value)| match value {
            Decoded::Value(v) => Some((key.clone(), v.expose().clone())),
            Decoded::Erased => None,
        })
        .collect()
}

impl RecordStore {
    /// A store sealing with `keys`, auditing with `audit` and reading definitions from `modules`.
    pub fn new(
        db: Database,
        keys: Arc<KeyRing>,
        audit: AuditRecorder,
        clock: SharedClock,
        modules: ModuleStore,
    ) -> Self {
        Self {
            db,
            keys,
            audit,
            clock,
            modules,
            purge_batch: PURGE_BATCH,
            read_audit: None,
            create_batcher: None,
            read_batcher: None,
            guard: None,
        }
    }

    /// The same store acting for the caller `guard` describes: every operation is checked
    /// against its access policy (object rights, record access, field-level security).
    pub fn acting_for(&self, guard: AccessGuard) -> Self {
        Self { guard: Some(Arc::new(guard)), ..self.clone() }
    }

    /// The caller's guard, when the store acts for one.
    fn guard(&self) -> Option<&AccessGuard> {
        self.guard.as_deref()
    }

    /// PERMISSION_DENIED unless the caller (if the store acts for one) holds `right` on
    /// `module_key`. Checked before anything is looked up, so that without the right a missing
    /// module or record answers exactly like an existing one.
    fn require(&self, module_key: &str, right: listone_identity::access::ObjectRight) -> Result<(), Error> {
        self.guard().map_or(Ok(()), |guard| guard.require(module_key, right))
    }

    /// The same store recording personal-data reads through `batcher` (group commit: many
    /// concurrent reads share one transaction) instead of a transaction of their own. Either
    /// way a read returns values only after its audit entry committed.
    pub fn with_read_audit(mut self, batcher: AuditBatcher) -> Self {
        self.read_audit = Some(batcher);
        self
    }

    /// The same store purging at most `records` (at least 1) soft-deleted records per
    /// transaction instead of [`PURGE_BATCH`].
    pub fn with_purge_batch(mut self, records: u32) -> Self {
        self.purge_batch = records.max(1);
        self
    }

    /// The module `key` of `org` (NOT_FOUND names the module, never another org's).
    async fn module(&self, org: OrgId, key: &str) -> Result<StoredModule, Error> {
        self.modules.get_module(org, key).await
    }

    /// A change's outbox event (ids and field keys only) and its audit entry, ready to enqueue.
    async fn change_events<C: ConnectionTrait>(&self, conn: &C, change: Change<'_>) -> Result<Vec<NewEvent>, Error> {
        let mut event = NewEvent::new(Some(change.org), change.action, change.payload);
        event.request_id = change.ctx.request_id.as_deref().and_then(|r| RequestId::parse(r).ok());
        let audit = self.audit_event(
            change.org,
            change.action,
            Some(change.id),
            change.actor,
            change.ctx,
            None,
            change.details,
        );
        Ok(vec![event, self.audit.prepare(conn, audit).await?])
    }

    /// Records a change's outbox event and its audit entry on `conn`, in one multi-row insert.
    async fn emit_with_audit<C: ConnectionTrait>(&self, conn: &C, change: Change<'_>) -> Result<(), Error> {
        let events = self.change_events(conn, change).await?;
        outbox::enqueue_all(conn, self.clock.as_ref(), events).await.map(|_| ())
    }

    /// An audit entry about record `id`; `purpose` marks personal data.
    #[allow(clippy::too_many_arguments)]
    fn audit_event(
        &self,
        org: OrgId,
        action: &str,
        id: Option<RecordId>,
        actor: &AuditActor,
        ctx: &RequestContext,
        purpose: Option<&str>,
        details: serde_json::Value,
    ) -> AuditEvent {
        let mut event = AuditEvent::new(org, actor.clone(), action, Outcome::Allowed, self.clock.now())
            .with_resource(AUDIT_RESOURCE, id.map(|id| id.to_string()))
            .with_context(ctx.clone())
            .with_details(details);
        if let Some(purpose) = purpose {
            event = event.with_personal_data(purpose);
        }
        event
    }

    /// The `records.record.read` entry of personal fields read by `reader`, naming record
    /// `resource` when the entry is not grouped.
    fn read_event(
        &self,
        org: OrgId,
        resource: Option<RecordId>,
        reader: &read::Reader<'_>,
        details: serde_json::Value,
    ) -> AuditEvent {
        self.audit_event(org, "records.record.read", resource, reader.actor, reader.ctx, Some(reader.purpose), details)
    }

    /// Records `records.record.read` of personal fields by `reader` and returns once it has
    /// committed: through the read-audit batcher when there is one (single-record reads as
    /// items of a grouped entry, `details.items[].record_id`), else in a transaction of its own
    /// naming the record as the entry's resource. Reads hold no write transaction while they read.
    async fn audit_read(
        &self,
        org: OrgId,
        id: Option<RecordId>,
        reader: &read::Reader<'_>,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        // Through the batcher a single-record read names its record as an item of a grouped
        // entry; in its own transaction, as the entry's resource.
        let resource = if self.read_audit.is_some() { None } else { id };
        let event = self.read_event(org, resource, reader, details);
        match (&self.read_audit, id) {
            // Reads of single records by one reader, of the same fields, for the same purpose,
            // committed together share one entry listing each record (with its time and
            // request id): every read is recorded, the log grows by one leaf per batch.
            (Some(batcher), Some(id)) => {
                batcher.record_grouped(event, serde_json::json!({ "record_id": id })).await.map(|_| ())
            }
            (Some(batcher), None) => batcher.record(event).await.map(|_| ()),
            (None, _) => {
                let txn = self.db.begin().await?;
                self.audit.record(&txn, event).await?;
                txn.commit().await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use listone_audit::ActorKind;

    use super::*;

    #[test]
    fn only_users_with_uuid_ids_are_recorded_as_writers() {
        let id = Uuid::now_v7();
        assert_eq!(actor_uuid(&AuditActor { kind: ActorKind::User, id: Some(id.to_string()) }), id);
        assert!(actor_uuid(&AuditActor { kind: ActorKind::Service, id: Some(id.to_string()) }).is_nil());
        assert!(actor_uuid(&AuditActor { kind: ActorKind::System, id: None }).is_nil());
    }
}
