//! Creating records in two steps: [`RecordStore::prepare_create`] validates, links and seals one
//! record in memory (it reads lookup targets and keys in the transaction and writes nothing), and
//! [`RecordStore::write_created`] checks the people the records name (one query for them all,
//! see [`super::people`]) and writes any number of prepared records with one multi-row insert
//! per table: their minted subject keys, rows, index rows, unique claims, outbox events and audit
//! entries. A single create, a bulk create and a batch of concurrent creates (see [`super::batch`])
//! all take this path.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use listone_audit::{AuditActor, RequestContext};
use listone_core::outbox::{self, NewEvent};
use listone_core::{Error, OrgId, RecordId, SubjectId};
use listone_customization::{StoredModule, WriteMode, validate_record_input};
use listone_identity::access::ObjectRight;
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use super::change::{ChangeSource, with_formulas};
use super::people::NamedPeople;
use super::rows::{self, NewRow};
use super::write::{Catalog, Writer, claim_error, linked_subject, prefixed};
use super::{Change, RecordStore, StoredRecord, actor_uuid};
use crate::access::AccessGuard;
use crate::codec::{Decoded, DecodedRecord, IndexEntry, RecordPlace, RequestKeys, UniqueClaim, seal_record};

/// One create call: what [`RecordStore::create`] takes, as the create batcher queues it.
#[derive(Debug)]
pub(crate) struct NewRecord {
    pub org: OrgId,
    pub module_key: String,
    pub values: Map<String, Json>,
    pub owner: Uuid,
    pub actor: AuditActor,
    pub ctx: RequestContext,
    pub source: ChangeSource,
    /// The caller's access, when the store acts for one.
    pub guard: Option<Arc<AccessGuard>>,
}

impl NewRecord {
    /// The writer of this request, naming fields with `prefix`.
    pub(crate) fn writer(&self, prefix: String) -> Writer<'_> {
        Writer { actor: &self.actor, ctx: &self.ctx, source: self.source, prefix, guard: self.guard.as_deref() }
    }
}

/// A record validated and sealed, ready to be written by [`RecordStore::write_created`].
pub(crate) struct PreparedCreate {
    place: RecordPlace,
    owner: Uuid,
    by: Uuid,
    now_us: i64,
    data: String,
    index: Vec<IndexEntry>,
    unique: Vec<UniqueClaim>,
    /// The outbox event and the audit entry of the change.
    events: Vec<NewEvent>,
    /// Prefix of violation paths (`records[3].` in bulk calls).
    prefix: String,
    /// The explicit owner and user-field values, checked when written.
    people: NamedPeople,
    /// What the caller gets back once written.
    record: StoredRecord,
}

impl RecordStore {
    /// Creates a record of module `module_key` owned by `owner` from the caller's `values`
    /// (every problem reported at once), with defaults and formulas filled in. A lookup to a
    /// record that is not a live record of its target module in `org` is NOT_FOUND, and so are an
    /// owner other than the writer that is no user or group of `org` (`owner_id`) and a user
    /// field naming no user of `org`; a value a unique field already holds is ALREADY_EXISTS
    /// naming `fields.<key>`. With a create batcher ([`RecordStore::with_create_batching`])
    /// concurrent calls share a transaction; each still succeeds or fails on its own.
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        &self,
        org: OrgId,
        module_key: &str,
        values: Map<String, Json>,
        owner: Uuid,
        actor: AuditActor,
        ctx: RequestContext,
        source: ChangeSource,
    ) -> Result<StoredRecord, Error> {
        self.require(module_key, ObjectRight::Create)?;
        let guard = self.guard.clone();
        let request = NewRecord { org, module_key: module_key.to_owned(), values, owner, actor, ctx, source, guard };
        match &self.create_batcher {
            Some(batcher) => batcher.create(request).await,
            None => self.create_alone(request).await,
        }
    }

    /// [`Self::create`] in a transaction of its own.
    pub(crate) async fn create_alone(&self, request: NewRecord) -> Result<StoredRecord, Error> {
        let (catalog, txn) = self.catalog_and_transaction(request.org).await?;
        let module = catalog.get(&request.module_key)?;
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        let writer = request.writer(String::new());
        let prepared =
            self.prepare_create(&txn, &mut keys, &catalog, module, &request.values, request.owner, &writer).await?;
        let mut created = self.write_created(&txn, &mut keys, vec![prepared]).await?;
        txn.commit().await?;
        created.pop().ok_or_else(|| Error::internal("a prepared record was not written"))
    }

    /// Validates `input` as a new record of `module` owned by `owner`, checks its lookups and
    /// seals it, writing nothing: pass the result to [`Self::write_created`] in the same
    /// transaction. Refusals name the field, prefixed with the writer's prefix.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn prepare_create(
        &self,
        txn: &DatabaseTransaction,
        keys: &mut RequestKeys<'_>,
        catalog: &Catalog,
        module: &StoredModule,
        input: &Map<String, Json>,
        owner: Uuid,
        writer: &Writer<'_>,
    ) -> Result<PreparedCreate, Error> {
        let def = &module.definition;
        let prefix = writer.prefix.as_str();
        if let Some(guard) = writer.guard {
            guard.check_writes(def, input.keys(), prefix)?;
        }
        let values = validate_record_input(def, input, WriteMode::Create).map_err(|r| prefixed(r.into(), prefix))?;
        let values = with_formulas(def, values)?;
        let linked = self
            .check_lookups(txn, keys, writer.guard, catalog, module.org_id, def, &values, values.keys())
            .await
            .map_err(|e| prefixed(e, prefix))?;
        let by = actor_uuid(writer.actor);
        let mut people = NamedPeople::default();
        people.owner(owner, by);
        people.user_fields(def, &values, values.keys(), prefix);
        let subject =
            if def.is_subject { Some(keys.mint_subject(module.org_id)) } else { linked_subject(def, &linked) };
        let id = RecordId::new();
        let place = RecordPlace { org: module.org_id, module: module.id, record: id, subject };
        let sealed = seal_record(txn, keys, &place, def, &values).await?;
        let now_us = self.clock.now().timestamp_micros();
        let written: Vec<&String> = values.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect();
        let payload = json!({ "record_id": id, "module_id": module.id, "module": def.key, "version": 1 });
        let details = json!({ "module": def.key, "fields": written, "source": writer.source.key() });
        let change = Change {
            org: place.org,
            action: "records.record.created",
            id,
            actor: writer.actor,
            ctx: writer.ctx,
            payload,
            details,
        };
        let events = self.change_events(txn, change).await?;
        let fields = values
            .into_iter()
            .filter(|(key, _)| writer.guard.is_none_or(|guard| guard.can_read(&def.key, key)))
            .map(|(k, v)| (k, Decoded::Value(listone_core::Secret::new(v))))
            .collect();
        let record = StoredRecord {
            id,
            module_id: module.id,
            owner_id: owner,
            subject_id: subject,
            version: 1,
            created_by: by,
            created_at_us: now_us,
            updated_by: by,
            updated_at_us: now_us,
            restricted: false,
            fields: DecodedRecord { fields },
        };
        Ok(PreparedCreate {
            data: sealed.data_text(),
            index: sealed.index,
            unique: sealed.unique,
            place,
            owner,
            by,
            now_us,
            events,
            prefix: writer.prefix.clone(),
            people,
            record,
        })
    }

    /// Writes `prepared` records (from [`Self::prepare_create`] with the same `keys`) in `txn`:
    /// once the people they name are found in their organization (one query for every record,
    /// none when they name nobody but their writer; else NOT_FOUND naming the first field, and
    /// nothing is written), the subject keys minted for them, then one multi-row insert per
    /// table. There is no look for taken unique values first: a claim another record holds fails
    /// its INSERT, naming the field, and the refusal rolls the whole transaction back.
    pub(crate) async fn write_created(
        &self,
        txn: &DatabaseTransaction,
        keys: &mut RequestKeys<'_>,
        mut prepared: Vec<PreparedCreate>,
    ) -> Result<Vec<StoredRecord>, Error> {
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        let orgs: BTreeSet<OrgId> = prepared.iter().map(|p| p.place.org).collect();
        for org in orgs {
            let mut people = NamedPeople::default();
            for p in prepared.iter_mut().filter(|p| p.place.org == org) {
                people.extend(std::mem::take(&mut p.people));
            }
            people.check(txn, org).await?;
        }
        let subjects: HashSet<(OrgId, SubjectId)> =
            prepared.iter().filter_map(|p| p.place.subject.map(|s| (p.place.org, s))).collect();
        keys.store_minted(txn, &subjects).await?;
        let rows: Vec<NewRow<'_>> = prepared
            .iter()
            .map(|p| NewRow {
                org: p.place.org,
                id: p.place.record,
                module: p.place.module,
                owner: p.owner,
                subject: p.place.subject,
                data: &p.data,
                by: p.by,
                now_us: p.now_us,
            })
            .collect();
        rows::insert_new(txn, &rows).await?;
        let index: Vec<(&RecordPlace, &[IndexEntry])> =
            prepared.iter().map(|p| (&p.place, p.index.as_slice())).collect();
        rows::insert_index(txn, &index).await?;
        for p in &prepared {
            rows::insert_claims(txn, p.place.org, p.place.module, p.place.record, &p.unique)
                .await
                .map_err(|e| claim_error(e, &p.prefix))?;
        }
        let events: Vec<NewEvent> = prepared.iter_mut().flat_map(|p| std::mem::take(&mut p.events)).collect();
        outbox::enqueue_all(txn, self.clock.as_ref(), events).await?;
        Ok(prepared.into_iter().map(|p| p.record).collect())
    }
}
