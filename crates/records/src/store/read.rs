//! Reading records: one by id, pages of a module (and related lists through a lookup), capped
//! counts and field history. Reads that return personal fields are audited in the read's own
//! transaction before the values leave the store.

use listone_audit::{AuditActor, RequestContext};
use listone_core::{Error, OrgId, RecordId};
use listone_customization::{FieldType, ModuleDef, StoredModule};
use listone_identity::access::ObjectRight;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction};
use serde_json::json;

use super::change::personal_fields;
use super::fetch::ReadAudit;
use super::history::FieldChange;
use super::{RecordStore, StoredRecord, not_found, rows};
use crate::access::{AccessFilter, AccessGuard, CriteriaFields};
use crate::codec::{DecodedRecord, RecordPlace, RequestKeys, field_index, open_record};
use crate::query::{
    Count, FieldRef, Filter, Op, QueryScope, QueryValue, RecordQuery, RecordRow, compile_count_restricted,
    compile_restricted, count, fetch_page,
};

/// Who reads, from where, and for which processing purpose (recorded with personal reads).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    /// The caller.
    pub actor: &'a AuditActor,
    /// Request origin.
    pub ctx: &'a RequestContext,
    /// The processing purpose claimed, e.g. `crm.sales`.
    pub purpose: &'a str,
}

/// Which part of a record's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPage {
    /// Changes to skip from the oldest.
    pub skip: u64,
    /// Most changes to return (at least 1).
    pub size: u32,
}

/// One page of decoded records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPage {
    /// The records, in query order, with the requested fields.
    pub records: Vec<StoredRecord>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// The requested field keys, or every field of the module.
fn requested<'a>(def: &'a ModuleDef, fields: Option<&'a [&'a str]>) -> Vec<&'a str> {
    match fields {
        Some(fields) => fields.to_vec(),
        None => def.fields.iter().map(|f| f.key.as_str()).collect(),
    }
}

/// The details of the `records.record.read` entry a read of `wanted` fields of `def` owes, or
/// `None` when none of them is personal.
fn read_details(def: &ModuleDef, wanted: &[&str]) -> Option<serde_json::Value> {
    let personal = personal_fields(def, wanted.iter().copied());
    (!personal.is_empty()).then(|| json!({ "module": def.key, "fields": personal }))
}

fn with_fields(row: &RecordRow, fields: crate::codec::DecodedRecord) -> StoredRecord {
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
        fields,
    }
}

impl RecordStore {
    /// Record `id` of module `module_key` with the `fields` asked for (every field when `None`;
    /// a key the module lacks is INVALID_ARGUMENT). Deleted, missing and other orgs' records
    /// are NOT_FOUND. Reading personal fields records `records.record.read` with field keys.
    pub async fn get(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
        fields: Option<&[&str]>,
        reader: Reader<'_>,
    ) -> Result<StoredRecord, Error> {
        self.require(module_key, ObjectRight::Read)?;
        let conn = self.db.conn();
        // One query: the record, its module's current version and its subject's stored key (and,
        // through the read batcher, the read's audit entry when it can be stated ahead).
        let audit = self.audit_ahead(org, module_key, id, fields, &reader);
        let fetched = self.find_live(org, module_key, id, audit).await?;
        let Some(found) = fetched.live else {
            // NOT_FOUND names the module when the org has no such module.
            self.module(org, module_key).await?;
            return Err(not_found());
        };
        let row = found.row;
        let module = self.modules.definition(org, row.module_id, found.module_version).await?;
        let def = &module.definition;
        let wanted = self.readable_fields(def, fields);
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        if let Some(subject) = row.subject_id {
            keys.accept_stored_subject_key(conn, org, subject, found.subject_key.as_deref()).await?;
        }
        let place = RecordPlace { org, module: module.id, record: id, subject: row.subject_id };
        let decoded = match self.guard() {
            None => open_record(conn, &mut keys, &place, def, &row.data, &wanted).await?,
            Some(guard) => {
                // The criteria fields are opened beside the readable ones to decide, then dropped.
                let criteria = CriteriaFields::of(def);
                let mut opened = wanted.clone();
                opened.extend(criteria.keys().filter(|k| !wanted.contains(k)));
                let mut decoded = open_record(conn, &mut keys, &place, def, &row.data, &opened).await?;
                self.check_decoded(guard, def, &criteria, &row, &decoded, ObjectRight::Read)?;
                decoded.fields.retain(|key, _| wanted.contains(&key.as_str()));
                decoded
            }
        };
        // Written with the read, the entry was stated by `audit_ahead` from this very definition
        // (the read found the module at the version it was stated from) with these details.
        if let Some(details) = read_details(def, &wanted)
            && !fetched.audited
        {
            self.audit_read(org, Some(id), &reader, details).await?;
        }
        Ok(with_fields(&row, decoded))
    }

    /// The fields of `def` a get of `fields` returns: those asked for (every field when `None`),
    /// less those the caller may not read. What `get` opens and what its audit entry names.
    fn readable_fields<'a>(&self, def: &'a ModuleDef, fields: Option<&'a [&'a str]>) -> Vec<&'a str> {
        let wanted = requested(def, fields);
        match self.guard() {
            Some(guard) => guard.readable(def, &wanted),
            None => wanted,
        }
    }

    /// The audit entry a [`get`](Self::get) of record `id` will owe, stated BEFORE the read so
    /// the read batcher can write it in the read's own statement (one round trip and one commit
    /// for both): from the definition of `module_key` the store parsed last, which the read
    /// must then find current, or the entry is not written and the get records its read
    /// afterwards as usual. `None` when the entry cannot be known ahead: no read batcher or
    /// read-audit batcher, a module not seen yet, a field the module lacks (the get fails), a
    /// caller whose access to a record depends on its values (decided only after decoding), or
    /// no personal field read.
    fn audit_ahead(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
        fields: Option<&[&str]>,
        reader: &Reader<'_>,
    ) -> Option<ReadAudit> {
        self.read_batcher.as_ref()?;
        self.read_audit.as_ref()?;
        let module = self.modules.last_known(org, module_key)?;
        let def = &module.definition;
        if requested(def, fields).iter().any(|key| def.field(key).is_none()) {
            return None;
        }
        if let Some(guard) = self.guard()
            && guard.list_filter(def, self.clock.now()).ok()? != AccessFilter::All
        {
            return None;
        }
        let details = read_details(def, &self.readable_fields(def, fields))?;
        let event = self.read_event(org, None, reader, details);
        Some(ReadAudit { event, item: json!({ "record_id": id }), module_id: module.id, module_version: def.version })
    }

    /// One page of module `module_key`'s live records matching `query`, with the `fields` asked
    /// for. A page with personal fields records one `records.record.read` naming its records.
    pub async fn list(
        &self,
        org: OrgId,
        module_key: &str,
        query: &RecordQuery,
        fields: Option<&[&str]>,
        reader: Reader<'_>,
    ) -> Result<StoredPage, Error> {
        self.require(module_key, ObjectRight::Read)?;
        let module = self.module(org, module_key).await?;
        self.list_module(&module, query, fields, reader).await
    }

    /// Records of module `module_key` whose lookup field `lookup_field` points at record
    /// `target` (a related list), like [`Self::list`]; the query's own filter still applies.
    #[allow(clippy::too_many_arguments)]
    pub async fn list_related(
        &self,
        org: OrgId,
        module_key: &str,
        lookup_field: &str,
        target: RecordId,
        query: &RecordQuery,
        fields: Option<&[&str]>,
        reader: Reader<'_>,
    ) -> Result<StoredPage, Error> {
        self.require(module_key, ObjectRight::Read)?;
        let module = self.module(org, module_key).await?;
        let is_lookup =
            module.definition.field(lookup_field).is_some_and(|f| matches!(f.field_type, FieldType::Lookup { .. }));
        if !is_lookup {
            return Err(Error::invalid("lookup_field", "is not a lookup field of the module"));
        }
        let link = Filter::Cmp {
            field: FieldRef::Custom(lookup_field.to_owned()),
            op: Op::Eq,
            value: QueryValue::Text(target.to_string()),
        };
        let filter = match &query.filter {
            Some(own) => Filter::And(vec![link, own.clone()]),
            None => link,
        };
        let query = RecordQuery { filter: Some(filter), ..query.clone() };
        self.list_module(&module, &query, fields, reader).await
    }

    /// How many live records of `module_key` match `filter`, counting at most `cap`.
    pub async fn count(&self, org: OrgId, module_key: &str, filter: Option<&Filter>, cap: u32) -> Result<Count, Error> {
        self.require(module_key, ObjectRight::Read)?;
        let module = self.module(org, module_key).await?;
        let def = &module.definition;
        let access = match self.guard() {
            Some(guard) => self.access_part(guard, def, filter, &[])?,
            None => AccessFilter::All,
        };
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        let indexer = keys.blind_indexer(self.db.conn(), org, module.id, def).await?;
        let scope = QueryScope { org_id: org, module_id: module.id, engine: self.db.engine() };
        let compiled = compile_count_restricted(scope, filter, access.condition(), cap, &field_index(def), &indexer)?;
        if access == AccessFilter::Nothing {
            return Ok(Count { value: 0, capped: false });
        }
        let txn = self.begin_query(org).await?;
        let counted = count(&txn, &compiled).await?;
        txn.commit().await?;
        Ok(counted)
    }

    /// One page of the field history of record `id`: at most `page.size` changes after the
    /// first `page.skip`, oldest first, decrypted for the caller, and whether more follow.
    /// History is append-only, so a position is a stable page token. Reading it is audited like
    /// reading the fields the page names (only the page is opened and audited).
    pub async fn history(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
        page: HistoryPage,
        reader: Reader<'_>,
    ) -> Result<(Vec<FieldChange>, bool), Error> {
        // The right first: without it, a missing module or record answers like an existing one.
        self.require(module_key, ObjectRight::Read)?;
        let module = self.module(org, module_key).await?;
        let def = &module.definition;
        let conn = self.db.conn();
        let row = rows::find(conn, org, module.id, id, false).await?.ok_or_else(not_found)?;
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        let place = RecordPlace { org, module: module.id, record: id, subject: row.subject_id };
        if let Some(guard) = self.guard() {
            let criteria = CriteriaFields::of(def);
            let opened: Vec<&str> = criteria.keys().collect();
            let decoded = open_record(conn, &mut keys, &place, def, &row.data, &opened).await?;
            self.check_decoded(guard, def, &criteria, &row, &decoded, ObjectRight::Read)?;
        }
        let size = u64::from(page.size.max(1));
        let mut stored = rows::history(conn, org, id, page.skip, size + 1).await?;
        let more = stored.len() as u64 > size;
        stored.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        if let Some(guard) = self.guard() {
            // Changes of fields the caller may not read are left out of the page unopened.
            stored.retain(|change| guard.can_read(&def.key, &change.field));
        }
        let changes = self.open_history(conn, &mut keys, &place, def, stored).await;
        let mut named: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        named.sort_unstable();
        named.dedup();
        let personal = personal_fields(def, named);
        if !personal.is_empty() {
            let details = json!({ "module": def.key, "fields": personal, "history": true });
            self.audit_read(org, Some(id), &reader, details).await?;
        }
        Ok((changes, more))
    }

    /// A read transaction for a compiled query. On PostgreSQL the query is planned for its
    /// actual values: a generic plan (chosen after a prepared statement's fifth run) cannot see
    /// how selective a filter value is, and once joined all matches of a common value and
    /// sorted them, thousands of times slower than the plan for the values at hand.
    async fn begin_query(&self, org: OrgId) -> Result<DatabaseTransaction, Error> {
        let txn = self.db.begin_read().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // One round trip: the plan mode, and the tenant wall when the database has it.
            let mut settings = "SET LOCAL plan_cache_mode = force_custom_plan".to_owned();
            if let Some(prelude) = self.db.tenant_prelude(org).await? {
                settings = format!("{settings}; {prelude}");
            }
            txn.execute_unprepared(&settings).await?;
        }
        Ok(txn)
    }

    /// What a guarded list or count of `def` adds to the caller's `filter` and `sort`: checks
    /// the read right and that the query tests only readable fields, then the caller's record
    /// access as a filter.
    fn access_part(
        &self,
        guard: &AccessGuard,
        def: &ModuleDef,
        filter: Option<&Filter>,
        sort: &[crate::query::SortKey],
    ) -> Result<AccessFilter, Error> {
        guard.require(&def.key, ObjectRight::Read)?;
        guard.check_query(def, filter, sort)?;
        guard.list_filter(def, self.clock.now())
    }

    /// The guard's decision on `row`, opened (at least) with its criteria fields in `decoded`:
    /// NOT_FOUND when the caller cannot read it, PERMISSION_DENIED when it lacks `right`.
    pub(crate) fn check_decoded(
        &self,
        guard: &AccessGuard,
        def: &ModuleDef,
        criteria: &CriteriaFields,
        row: &RecordRow,
        decoded: &DecodedRecord,
        right: ObjectRight,
    ) -> Result<(), Error> {
        let facts = criteria.facts_with(row.id, row.owner_id, |key| decoded.value(key).map(|v| v.expose()));
        guard.check_record(&def.key, right, &facts, self.clock.now())
    }

    async fn list_module(
        &self,
        module: &StoredModule,
        query: &RecordQuery,
        fields: Option<&[&str]>,
        reader: Reader<'_>,
    ) -> Result<StoredPage, Error> {
        let (org, def) = (module.org_id, &module.definition);
        let mut wanted = requested(def, fields);
        let access = match self.guard() {
            Some(guard) => {
                let access = self.access_part(guard, def, query.filter.as_ref(), &query.sort)?;
                wanted = guard.readable(def, &wanted);
                access
            }
            None => AccessFilter::All,
        };
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        // The org key first, on the pool: the key ring creates it on first use, which must not
        // happen inside the read transaction.
        let compiled = {
            let indexer = keys.blind_indexer(self.db.conn(), org, module.id, def).await?;
            compile_restricted(
                QueryScope { org_id: org, module_id: module.id, engine: self.db.engine() },
                query,
                access.condition(),
                &field_index(def),
                &indexer,
            )?
        };
        if access == AccessFilter::Nothing {
            return Ok(StoredPage { records: Vec::new(), next_page_token: None });
        }
        let txn = self.begin_query(org).await?;
        let page = fetch_page(&txn, &compiled).await?;
        keys.prefetch_subjects(&txn, org, page.rows.iter().filter_map(|r| r.subject_id)).await?;
        let mut records = Vec::with_capacity(page.rows.len());
        for row in &page.rows {
            let place = RecordPlace { org, module: module.id, record: row.id, subject: row.subject_id };
            let decoded = open_record(&txn, &mut keys, &place, def, &row.data, &wanted).await?;
            records.push(with_fields(row, decoded));
        }
        txn.commit().await?;
        let personal = personal_fields(def, wanted.iter().copied());
        if !personal.is_empty() && !records.is_empty() {
            let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
            let details = json!({ "module": def.key, "fields": personal, "records": ids });
            self.audit_read(org, None, &reader, details).await?;
        }
        Ok(StoredPage { records, next_page_token: page.next_page_token })
    }
}
