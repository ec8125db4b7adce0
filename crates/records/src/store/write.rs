//! Creating, updating, deleting and purging records. Each change runs in one transaction with
//! its index rows, unique claims, history rows, outbox event and audit entry; a refusal writes
//! nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use listone_audit::{AuditActor, RequestContext};
use listone_core::{Error, ModuleId, OrgId, RecordId, SubjectId};
use listone_customization::{FieldValue, ModuleDef, StoredModule, WriteMode, validate_record_input};
use listone_identity::access::ObjectRight;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde_json::{Map, Value as Json, json};

use super::change::{ChangeSource, changed_fields, lookups, masked_input, with_formulas};
use super::people::NamedPeople;
use super::rows::{self, ChangeBy, NewRow};
use super::{Change, RecordStore, StoredRecord, actor_uuid, not_found, plain_values, stale_version};
use crate::access::{AccessGuard, CriteriaFields};
use crate::codec::{Decoded, DecodedRecord, RecordPlace, RequestKeys, open_record, seal_record};
use crate::query::RecordRow;

/// Most records one purge transaction removes.
pub const PURGE_BATCH: u32 = 1000;

/// The org's modules, read before the transaction: the written module and lookup targets.
pub(crate) struct Catalog {
    pub modules: Vec<Arc<StoredModule>>,
}

impl Catalog {
    fn id_of(&self, key: &str) -> Option<ModuleId> {
        self.modules.iter().find(|m| m.definition.key == key).map(|m| m.id)
    }

    pub(crate) fn get(&self, key: &str) -> Result<&StoredModule, Error> {
        self.modules
            .iter()
            .find(|m| m.definition.key == key)
            .map(Arc::as_ref)
            .ok_or(Error::NotFound { resource: "module" })
    }
}

impl RecordStore {
    /// The catalog of `org` and a transaction acting in `org` (see `Database::begin_tenant`),
    /// asked for together: the catalog's query and the transaction's opening round trips run
    /// side by side on two connections instead of one after the other.
    pub(crate) async fn catalog_and_transaction(&self, org: OrgId) -> Result<(Catalog, DatabaseTransaction), Error> {
        let catalog = async { Ok::<_, Error>(Catalog { modules: self.modules.catalog(org).await? }) };
        let txn = async { Ok::<_, Error>(self.db.begin_tenant(org).await?) };
        tokio::try_join!(catalog, txn)
    }
}

/// Who writes, and from where; shared by every record of one call.
pub(crate) struct Writer<'a> {
    pub actor: &'a AuditActor,
    pub ctx: &'a RequestContext,
    pub source: ChangeSource,
    /// Prefix of violation paths (`records[3].` in bulk calls, empty otherwise).
    pub prefix: String,
    /// The caller's access, when the write is made for one rather than for the platform.
    pub guard: Option<&'a AccessGuard>,
}

/// Prefixes the field paths of an INVALID_ARGUMENT, ALREADY_EXISTS or NOT_FOUND reference with
/// `prefix`.
pub(crate) fn prefixed(err: Error, prefix: &str) -> Error {
    if prefix.is_empty() {
        return err;
    }
    match err {
        Error::InvalidArgument { violations } => Error::InvalidArgument {
            violations: violations
                .into_iter()
                .map(|v| listone_core::FieldViolation { field: format!("{prefix}{}", v.field), ..v })
                .collect(),
        },
        Error::AlreadyExists { resource, field } => {
            Error::AlreadyExists { resource, field: format!("{prefix}{field}") }
        }
        Error::ReferenceNotFound { resource, field } => {
            Error::ReferenceNotFound { resource, field: format!("{prefix}{field}") }
        }
        other => other,
    }
}

impl RecordStore {
    /// Changes the fields named in `field_mask` (every key of `changes` when empty; a masked
    /// field absent from `changes` is cleared) of record `id` if it is still at
    /// `expected_version` (else ABORTED, `STALE_VERSION`). Formulas are recomputed, the record
    /// re-indexed and its unique values re-claimed; each changed field gets a history row. A
    /// lookup changed to a record that is not a live record of its target module in `org`, or a
    /// user field changed to an id that is no user of `org`, is NOT_FOUND naming the field.
    /// Returns the record with the masked and formula fields only (other fields would be an
    /// unaudited read); an update that changes nothing writes nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn update(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
        changes: Map<String, Json>,
        field_mask: &[String],
        expected_version: i64,
        actor: AuditActor,
        ctx: RequestContext,
        source: ChangeSource,
    ) -> Result<StoredRecord, Error> {
        self.require(module_key, ObjectRight::Update)?;
        let (catalog, txn) = self.catalog_and_transaction(org).await?;
        let module = catalog.get(module_key)?;
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        let writer = Writer { actor: &actor, ctx: &ctx, source, prefix: String::new(), guard: self.guard() };
        let input = masked_input(&changes, field_mask);
        let mut people = NamedPeople::default();
        let record = self
            .update_in(&txn, &mut keys, &catalog, module, id, &input, expected_version, &writer, &mut people)
            .await?;
        people.check(&txn, org).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// [`Self::update`] inside `txn`, with the masked input already built. The user-field values
    /// it changes are added to `people`, for the caller to check before committing (once for
    /// every record of a bulk update).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn update_in(
        &self,
        txn: &DatabaseTransaction,
        keys: &mut RequestKeys<'_>,
        catalog: &Catalog,
        module: &StoredModule,
        id: RecordId,
        input: &Map<String, Json>,
        expected_version: i64,
        writer: &Writer<'_>,
        people: &mut NamedPeople,
    ) -> Result<StoredRecord, Error> {
        let (org, def, prefix) = (module.org_id, &module.definition, writer.prefix.as_str());
        let row = rows::find(txn, org, module.id, id, true).await?.ok_or_else(not_found)?;
        if let Some(guard) = writer.guard {
            self.check_row(txn, keys, guard, def, &row, ObjectRight::Update).await.map_err(|e| prefixed(e, prefix))?;
            guard.check_writes(def, input.keys(), prefix)?;
        }
        if row.version != expected_version {
            return Err(stale_version());
        }
        let changes = validate_record_input(def, input, WriteMode::Update).map_err(|r| prefixed(r.into(), prefix))?;
        // The reply carries what the caller wrote and what was computed from it, never other
        // stored fields: those would be a read of personal data without its audit entry. Nor
        // computed fields the caller may not read.
        let returned: Vec<String> = changes
            .keys()
            .cloned()
            .chain(def.fields.iter().filter(|f| f.field_type.is_computed()).map(|f| f.key.clone()))
            .filter(|key| writer.guard.is_none_or(|guard| guard.can_read(&def.key, key)))
            .collect();
        let old = self.open_all(txn, keys, org, &row, def).await?;
        let mut new = old.clone();
        new.extend(changes);
        let new = with_formulas(def, new)?;
        let changed = changed_fields(&old, &new);
        if changed.is_empty() {
            return Ok(stored(&row, only(new, &returned)));
        }
        let linked = self
            .check_lookups(txn, keys, writer.guard, catalog, org, def, &new, changed.iter())
            .await
            .map_err(|e| prefixed(e, prefix))?;
        people.user_fields(def, &new, changed.iter(), prefix);
        let subject = match &def.subject_link {
            Some(link) if changed.contains(link) => linked_subject(def, &linked),
            _ => row.subject_id,
        };
        let place = RecordPlace { org, module: module.id, record: id, subject };
        let sealed = seal_record(txn, keys, &place, def, &new).await?;
        rows::release_claims(txn, org, id).await?;
        if let Some(claim) = rows::taken_claim(txn, org, module.id, id, &sealed.unique).await? {
            return Err(already_exists(prefix, &claim.field_key));
        }
        let now_us = self.clock.now().timestamp_micros();
        let by = actor_uuid(writer.actor);
        let data = sealed.data_text();
        let new_row = NewRow { org, id, module: module.id, owner: row.owner_id, subject, data: &data, by, now_us };
        if !rows::update(txn, &new_row, expected_version).await? {
            return Err(stale_version());
        }
        rows::replace_index(txn, org, module.id, id, &sealed.index).await?;
        rows::insert_claims(txn, org, module.id, id, &sealed.unique).await.map_err(|e| claim_error(e, prefix))?;
        let history = self.history_rows(txn, keys, &place, def, &changed, &old, &new).await?;
        let actor_id = writer.actor.id.clone().unwrap_or_default();
        let change_by = ChangeBy {
            actor_kind: writer.actor.kind.key(),
            actor_id: &actor_id,
            source: writer.source.key(),
            at_us: now_us,
        };
        rows::insert_history(txn, org, module.id, id, &change_by, history).await?;
        let version = expected_version + 1;
        let payload = json!({
            "record_id": id, "module_id": module.id, "module": def.key, "version": version, "fields": changed,
        });
        let details = json!({ "module": def.key, "fields": changed, "source": writer.source.key() });
        let change = Change {
            org,
            action: "records.record.updated",
            id,
            actor: writer.actor,
            ctx: writer.ctx,
            payload,
            details,
        };
        self.emit_with_audit(txn, change).await?;
        let mut record = stored(&row, only(new, &returned));
        record.subject_id = subject;
        record.version = version;
        record.updated_by = by;
        record.updated_at_us = now_us;
        Ok(record)
    }

    /// Soft-deletes record `id` — if it is still at `expected_version` when one is given (else
    /// ABORTED), whatever its version otherwise: it stops being readable or listed and its
    /// unique values are free again at once; index and history rows stay until
    /// [`Self::purge_deleted`].
    pub async fn delete(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
        expected_version: Option<i64>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        self.require(module_key, ObjectRight::Delete)?;
        let module = self.module(org, module_key).await?;
        let txn = self.db.begin_tenant(org).await?;
        let row = rows::find(&txn, org, module.id, id, true).await?.ok_or_else(not_found)?;
        if let Some(guard) = self.guard() {
            let mut keys = RequestKeys::new(&self.keys, self.clock.now());
            self.check_row(&txn, &mut keys, guard, &module.definition, &row, ObjectRight::Delete).await?;
        }
        let expected_version = expected_version.unwrap_or(row.version);
        if row.version != expected_version {
            return Err(stale_version());
        }
        let now_us = self.clock.now().timestamp_micros();
        if !rows::soft_delete(&txn, org, module.id, id, expected_version, actor_uuid(&actor), now_us).await? {
            return Err(stale_version());
        }
        rows::release_claims(&txn, org, id).await?;
        let key = &module.definition.key;
        let payload =
            json!({ "record_id": id, "module_id": module.id, "module": key, "version": expected_version + 1 });
        let details = json!({ "module": key });
        let change = Change { org, action: "records.record.deleted", id, actor: &actor, ctx: &ctx, payload, details };
        self.emit_with_audit(&txn, change).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Hard-deletes `org`'s records soft-deleted before `older_than`, with their index, unique
    /// and history rows, in audited transactions of at most [`PURGE_BATCH`] records each (see
    /// [`RecordStore::with_purge_batch`]) (a
    /// large backlog never holds one long write transaction); returns how many records went.
    pub async fn purge_deleted(
        &self,
        org: OrgId,
        older_than: DateTime<Utc>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<u64, Error> {
        let before_us = older_than.timestamp_micros();
        let mut total = 0;
        loop {
            let txn = self.db.begin().await?;
            let purged = rows::purge(&txn, org, before_us, self.purge_batch).await?;
            if purged > 0 {
                let details = json!({ "purged": purged, "deleted_before_us": before_us });
                let event = self.audit_event(org, "records.record.purged", None, &actor, &ctx, None, details);
                self.audit.record(&txn, event).await?;
            }
            txn.commit().await?;
            total += purged;
            if purged < u64::from(self.purge_batch) {
                return Ok(total);
            }
        }
    }

    /// [`Self::purge_deleted`] for every org holding records soft-deleted before `older_than`,
    /// by the platform: the maintenance pass that ends the grace period of deleted records.
    /// Returns how many records went; an org that fails is logged and the others go on.
    pub async fn purge_all_deleted(&self, older_than: DateTime<Utc>) -> Result<u64, Error> {
        let platform = AuditActor { kind: listone_audit::ActorKind::System, id: None };
        let mut total = 0;
        for org in rows::orgs_with_deleted(self.db.conn(), older_than.timestamp_micros()).await? {
            match self.purge_deleted(org, older_than, platform.clone(), RequestContext::default()).await {
                Ok(n) => total += n,
                Err(e) => tracing::warn!(org = %org, error = %e, "purging deleted records failed; will retry"),
            }
        }
        Ok(total)
    }

    /// Every field of a stored row, decoded; an erased subject's record cannot be changed.
    /// The guard's decision on stored `row` for `right`, from its criteria fields (plain values:
    /// nothing is decrypted to decide).
    async fn check_row<C: ConnectionTrait>(
        &self,
        conn: &C,
        keys: &mut RequestKeys<'_>,
        guard: &AccessGuard,
        def: &ModuleDef,
        row: &RecordRow,
        right: ObjectRight,
    ) -> Result<(), Error> {
        let criteria = CriteriaFields::of(def);
        let opened: Vec<&str> = criteria.keys().collect();
        let place =
            RecordPlace { org: guard.principal().org, module: row.module_id, record: row.id, subject: row.subject_id };
        let decoded = open_record(conn, keys, &place, def, &row.data, &opened).await?;
        self.check_decoded(guard, def, &criteria, row, &decoded, right)
    }

    async fn open_all<C: ConnectionTrait>(
        &self,
        conn: &C,
        keys: &mut RequestKeys<'_>,
        org: OrgId,
        row: &RecordRow,
        def: &ModuleDef,
    ) -> Result<BTreeMap<String, FieldValue>, Error> {
        let place = RecordPlace { org, module: row.module_id, record: row.id, subject: row.subject_id };
        let all: Vec<&str> = def.fields.iter().map(|f| f.key.as_str()).collect();
        let decoded = open_record(conn, keys, &place, def, &row.data, &all).await?;
        if decoded.fields.values().any(|d| matches!(d, Decoded::Erased)) {
            return Err(Error::FailedPrecondition {
                reason: "SUBJECT_ERASED",
                message: "the record's data subject was erased; it cannot be changed".to_owned(),
            });
        }
        Ok(plain_values(&decoded))
    }

    /// Checks that every lookup among `keys` names a live record of its target module in the
    /// org — one the caller may read, when the write is made for one (`guard`): a record the
    /// caller cannot see is refused exactly like a missing one; returns the subject of each
    /// linked record by field.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn check_lookups<'k>(
        &self,
        txn: &DatabaseTransaction,
        keys_ring: &mut RequestKeys<'_>,
        guard: Option<&AccessGuard>,
        catalog: &Catalog,
        org: OrgId,
        def: &ModuleDef,
        values: &BTreeMap<String, FieldValue>,
        keys: impl IntoIterator<Item = &'k String>,
    ) -> Result<BTreeMap<String, Option<SubjectId>>, Error> {
        let mut subjects = BTreeMap::new();
        for lookup in lookups(def, values, keys) {
            let missing = || Error::ReferenceNotFound { resource: "record", field: format!("fields.{}", lookup.field) };
            let target = catalog.id_of(&lookup.target).ok_or_else(missing)?;
            let subject = match guard {
                // For a caller, the whole row: its owner and criteria fields decide the access.
                Some(guard) => {
                    let target_def = &catalog.get(&lookup.target)?.definition;
                    let row = rows::find(txn, org, target, lookup.record, false).await?.ok_or_else(missing)?;
                    guard.require(&target_def.key, ObjectRight::Read).map_err(|_| missing())?;
                    self.check_row(txn, keys_ring, guard, target_def, &row, ObjectRight::Read)
                        .await
                        .map_err(|_| missing())?;
                    row.subject_id
                }
                None => rows::lookup_target(txn, org, target, lookup.record).await?.ok_or_else(missing)?,
            };
            subjects.insert(lookup.field, subject);
        }
        Ok(subjects)
    }
}

/// The subject of the record the module's subject link points at, if set.
pub(crate) fn linked_subject(def: &ModuleDef, linked: &BTreeMap<String, Option<SubjectId>>) -> Option<SubjectId> {
    def.subject_link.as_ref().and_then(|link| linked.get(link).copied().flatten())
}

pub(crate) fn claim_error(err: rows::ClaimError, prefix: &str) -> Error {
    match err {
        rows::ClaimError::Taken(field_key) => already_exists(prefix, &field_key),
        rows::ClaimError::Db(err) => err,
    }
}

fn already_exists(prefix: &str, field_key: &str) -> Error {
    Error::AlreadyExists { resource: "record", field: format!("{prefix}fields.{field_key}") }
}

/// The values of `keys` only.
fn only(mut values: BTreeMap<String, FieldValue>, keys: &[String]) -> BTreeMap<String, FieldValue> {
    values.retain(|key, _| keys.contains(key));
    values
}

/// A stored row with the given (decoded) values.
pub(crate) fn stored(row: &RecordRow, values: BTreeMap<String, FieldValue>) -> StoredRecord {
    let fields = values.into_iter().map(|(k, v)| (k, Decoded::Value(listone_core::Secret::new(v)))).collect();
    StoredRecord {
        id: row.id,
        module_id: row.module_id,
        owner_id: row.owner_id,
        subject_id: row.subject_id,
        version: row.version,
        created_by: row.created_by,
        created_at_us: row.created_at_us,
        updated_by: row.updated_by,
        updated_at_us: row.updated_at_us,
        restricted: row.restricted,
        fields: DecodedRecord { fields },
    }
}
