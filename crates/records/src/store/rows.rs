//! The SQL of the record store. Every statement filters by `org_id`.

use listone_core::db::{MAX_PARAMS_PER_STATEMENT, execute, insert_many, statement};
use listone_core::{Error, ModuleId, OrgId, RecordId, SubjectId};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult, SqlErr, Value};
use uuid::Uuid;

use crate::codec::{IndexEntry, IndexValue, RecordPlace, UniqueClaim};
use crate::query::RecordRow;

const RECORD_SELECT: &str = "SELECT id, module_id, owner_id, subject_id, version, data, created_by, created_at_us, \
     updated_by, updated_at_us, restricted FROM record";

/// A `record` row to insert.
pub(crate) struct NewRow<'a> {
    pub org: OrgId,
    pub id: RecordId,
    pub module: ModuleId,
    pub owner: Uuid,
    pub subject: Option<SubjectId>,
    pub data: &'a str,
    pub by: Uuid,
    pub now_us: i64,
}

/// One `record_history` row to insert.
pub(crate) struct HistoryRow {
    pub id: Uuid,
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A stored `record_history` row.
pub(crate) struct StoredHistory {
    pub id: Uuid,
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub actor_kind: String,
    pub actor_id: String,
    pub source: String,
    pub changed_at_us: i64,
}

fn row_from(row: &QueryResult) -> Result<RecordRow, DbErr> {
    Ok(RecordRow {
        id: RecordId::from_uuid(row.try_get("", "id")?),
        module_id: ModuleId::from_uuid(row.try_get("", "module_id")?),
        owner_id: row.try_get("", "owner_id")?,
        subject_id: row.try_get::<Option<Uuid>>("", "subject_id")?.map(SubjectId::from_uuid),
        version: row.try_get("", "version")?,
        data: row.try_get("", "data")?,
        created_by: row.try_get("", "created_by")?,
        created_at_us: row.try_get("", "created_at_us")?,
        updated_by: row.try_get("", "updated_by")?,
        updated_at_us: row.try_get("", "updated_at_us")?,
        restricted: row.try_get("", "restricted")?,
    })
}

/// The live (not deleted) record `id` of module `module` in `org`; locked until the
/// transaction ends on PostgreSQL when `lock` (SQLite transactions hold the write lock).
pub(crate) async fn find<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module: ModuleId,
    id: RecordId,
    lock: bool,
) -> Result<Option<RecordRow>, Error> {
    let backend = conn.get_database_backend();
    let lock = if lock && backend == DatabaseBackend::Postgres { " FOR UPDATE" } else { "" };
    let stmt = statement(
        backend,
        &format!("{RECORD_SELECT} WHERE org_id = $1 AND module_id = $2 AND id = $3 AND deleted_at_us IS NULL{lock}"),
        [Value::from(org.as_uuid()), Value::from(module.as_uuid()), Value::from(id.as_uuid())],
    );
    Ok(conn.query_one_raw(stmt).await?.as_ref().map(row_from).transpose()?)
}

/// A live record read for a caller, with what opening it needs from the same query.
#[derive(Clone)]
pub(crate) struct LiveRecord {
    pub row: RecordRow,
    /// The version of the record's module definition now.
    pub module_version: u32,
    /// The subject's stored key (`subject_key.wrapped`), when it has one.
    pub subject_key: Option<Vec<u8>>,
}

/// A live record joined to its module (current version, key) and its subject's stored key.
pub(super) const LIVE_SELECT: &str = "SELECT r.org_id, r.id, r.module_id, r.owner_id, r.subject_id, r.version, r.data, \
     r.created_by, r.created_at_us, r.updated_by, r.updated_at_us, r.restricted, m.key AS module_key, \
     m.version AS module_version, k.wrapped AS subject_key \
     FROM record r JOIN module_def m ON m.org_id = r.org_id AND m.id = r.module_id \
     LEFT JOIN subject_key k ON k.org_id = r.org_id AND k.subject_id = r.subject_id";

pub(super) fn live_from(row: &QueryResult) -> Result<LiveRecord, Error> {
    let module_version = u32::try_from(row.try_get::<i64>("", "module_version")?)
        .map_err(|_| Error::internal("module version out of range"))?;
    Ok(LiveRecord {
        row: row_from(row)?,
        module_version,
        subject_key: row.try_get::<Option<Vec<u8>>>("", "subject_key")?,
    })
}

/// The live record `id` of the module keyed `module_key` in `org`, joined to its module's
/// current version and its subject's stored key: one query for a single-record read.
pub(crate) async fn find_live<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module_key: &str,
    id: RecordId,
) -> Result<Option<LiveRecord>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        &format!("{LIVE_SELECT} WHERE r.org_id = $1 AND r.id = $2 AND m.key = $3 AND r.deleted_at_us IS NULL"),
        [Value::from(org.as_uuid()), Value::from(id.as_uuid()), Value::from(module_key.to_owned())],
    );
    conn.query_one_raw(stmt).await?.as_ref().map(live_from).transpose()
}

/// The live records among `keys` (organization, id), each with its organization and module key,
/// in one statement ([`find_live`] for many reads at once; the caller matches each read to its
/// organization, id and module key). At most [`MAX_PARAMS_PER_STATEMENT`] / 2 keys.
pub(crate) async fn find_live_many<C: ConnectionTrait>(
    conn: &C,
    keys: &[(OrgId, RecordId)],
) -> Result<Vec<(OrgId, String, LiveRecord)>, Error> {
    if keys.is_empty() || keys.len() > MAX_PARAMS_PER_STATEMENT / 2 {
        return Err(Error::internal("batched read of no records or too many"));
    }
    let mut orgs: Vec<OrgId> = keys.iter().map(|(org, _)| *org).collect();
    orgs.dedup();
    let mut values: Vec<Value> = orgs.iter().map(|org| Value::from(org.as_uuid())).collect();
    let org_params = placeholders(1, orgs.len());
    let id_params = placeholders(orgs.len() + 1, keys.len());
    values.extend(keys.iter().map(|(_, id)| Value::from(id.as_uuid())));
    // Organizations x ids may name more pairs than were asked for; each read keeps its own.
    let sql =
        format!("{LIVE_SELECT} WHERE r.org_id IN ({org_params}) AND r.id IN ({id_params}) AND r.deleted_at_us IS NULL");
    let rows = conn.query_all_raw(statement(conn.get_database_backend(), &sql, values)).await?;
    rows.iter()
        .map(|row| {
            let org = OrgId::from_uuid(row.try_get::<Uuid>("", "org_id")?);
            let module_key: String = row.try_get("", "module_key")?;
            Ok((org, module_key, live_from(row)?))
        })
        .collect()
}

/// `$first, $first+1, ...` (`count` placeholders).
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// `Some(subject)` when `id` is a live record of `module` in `org`.
pub(crate) async fn lookup_target<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module: ModuleId,
    id: RecordId,
) -> Result<Option<Option<SubjectId>>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        "SELECT subject_id FROM record WHERE org_id = $1 AND module_id = $2 AND id = $3 AND deleted_at_us IS NULL",
        [Value::from(org.as_uuid()), Value::from(module.as_uuid()), Value::from(id.as_uuid())],
    );
    match conn.query_one_raw(stmt).await? {
        Some(row) => Ok(Some(row.try_get::<Option<Uuid>>("", "subject_id")?.map(SubjectId::from_uuid))),
        None => Ok(None),
    }
}

/// The module key of each live record of `org` among `ids` (one query, more only past the
/// parameter limit); the other ids are absent.
pub(crate) async fn live_module_keys<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    ids: &[RecordId],
) -> Result<Vec<(RecordId, String)>, Error> {
    let mut found = Vec::new();
    for chunk in ids.chunks(MAX_PARAMS_PER_STATEMENT - 1) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT r.id, m.key FROM record r JOIN module_def m ON m.org_id = r.org_id AND m.id = r.module_id \
             WHERE r.org_id = $1 AND r.deleted_at_us IS NULL AND r.id IN ({})",
            marks.join(", ")
        );
        let values = std::iter::once(org.as_uuid()).chain(chunk.iter().map(|id| id.as_uuid())).map(Value::from);
        for row in conn.query_all_raw(statement(conn.get_database_backend(), &sql, values)).await? {
            found.push((RecordId::from_uuid(row.try_get("", "id")?), row.try_get("", "key")?));
        }
    }
    Ok(found)
}

/// Inserts new records at version 1, in multi-row inserts.
pub(crate) async fn insert_new<C: ConnectionTrait>(conn: &C, rows: &[NewRow<'_>]) -> Result<(), Error> {
    let columns = [
        "org_id",
        "id",
        "module_id",
        "owner_id",
        "subject_id",
        "version",
        "data",
        "created_by",
        "created_at_us",
        "updated_by",
        "updated_at_us",
        "deleted_at_us",
        "restricted",
    ];
    let values = rows
        .iter()
        .map(|row| {
            vec![
                Value::from(row.org.as_uuid()),
                Value::from(row.id.as_uuid()),
                Value::from(row.module.as_uuid()),
                Value::from(row.owner),
                Value::Uuid(row.subject.map(|s| s.as_uuid())),
                Value::from(1_i64),
                Value::from(row.data.to_owned()),
                Value::from(row.by),
                Value::from(row.now_us),
                Value::from(row.by),
                Value::from(row.now_us),
                Value::BigInt(None),
                Value::from(false),
            ]
        })
        .collect();
    insert_many(conn, "record", &columns, values).await?;
    Ok(())
}

/// Replaces data and subject of a live record still at `expected`; false when it is not.
pub(crate) async fn update<C: ConnectionTrait>(conn: &C, row: &NewRow<'_>, expected: i64) -> Result<bool, Error> {
    let n = execute(
        conn,
        "UPDATE record SET data = $4, subject_id = $5, version = version + 1, updated_by = $6, updated_at_us = $7 \
         WHERE org_id = $1 AND module_id = $2 AND id = $3 AND version = $8 AND deleted_at_us IS NULL",
        [
            Value::from(row.org.as_uuid()),
            Value::from(row.module.as_uuid()),
            Value::from(row.id.as_uuid()),
            Value::from(row.data.to_owned()),
            Value::Uuid(row.subject.map(|s| s.as_uuid())),
            Value::from(row.by),
            Value::from(row.now_us),
            Value::from(expected),
        ],
    )
    .await?;
    Ok(n == 1)
}

/// Marks a live record still at `expected` deleted; false when it is not.
pub(crate) async fn soft_delete<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module: ModuleId,
    id: RecordId,
    expected: i64,
    by: Uuid,
    now_us: i64,
) -> Result<bool, Error> {
    let n = execute(
        conn,
        "UPDATE record SET deleted_at_us = $5, version = version + 1, updated_by = $6, updated_at_us = $5 \
         WHERE org_id = $1 AND module_id = $2 AND id = $3 AND version = $4 AND deleted_at_us IS NULL",
        [
            Value::from(org.as_uuid()),
            Value::from(module.as_uuid()),
            Value::from(id.as_uuid()),
            Value::from(expected),
            Value::from(now_us),
            Value::from(by),
        ],
    )
    .await?;
    Ok(n == 1)
}

/// Replaces the record's `record_index` rows with `entries`.
pub(crate) async fn replace_index<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module: ModuleId,
    id: RecordId,
    entries: &[IndexEntry],
) -> Result<(), Error> {
    execute(
        conn,
        "DELETE FROM record_index WHERE org_id = $1 AND record_id = $2",
        [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
    )
    .await?;
    let place = RecordPlace { org, module, record: id, subject: None };
    insert_index(conn, &[(&place, entries)]).await
}

/// Writes the `record_index` rows of records that have none yet (new ones), in multi-row inserts.
pub(crate) async fn insert_index<C: ConnectionTrait>(
    conn: &C,
    records: &[(&RecordPlace, &[IndexEntry])],
) -> Result<(), Error> {
    let rows = records
        .iter()
        .flat_map(|(place, entries)| entries.iter().map(move |entry| (*place, entry)))
        .map(|(place, entry)| {
            let mut columns = [Value::String(None), Value::Double(None), Value::BigInt(None), Value::Bool(None)];
            match &entry.value {
                IndexValue::Text(text) => columns[0] = Value::from(text.clone()),
                IndexValue::Number(n) => columns[1] = Value::from(*n),
                IndexValue::TimeUs(us) => columns[2] = Value::from(*us),
                IndexValue::Bool(b) => columns[3] = Value::from(*b),
            }
            let mut row = vec![
                Value::from(place.org.as_uuid()),
                Value::from(place.module.as_uuid()),
                Value::from(entry.field_key.clone()),
                Value::from(place.record.as_uuid()),
                Value::from(entry.ordinal),
            ];
            row.extend(columns);
            row
        })
        .collect();
    let columns = [
        "org_id",
        "module_id",
        "field_id",
        "record_id",
        "ordinal",
        "value_text",
        "value_num",
        "value_time_us",
        "value_bool",
    ];
    insert_many(conn, "record_index", &columns, rows).await?;
    Ok(())
}

/// Releases every unique claim of the record.
pub(crate) async fn release_claims<C: ConnectionTrait>(conn: &C, org: OrgId, id: RecordId) -> Result<(), Error> {
    execute(
        conn,
        "DELETE FROM record_unique WHERE org_id = $1 AND record_id = $2",
        [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
    )
    .await?;
    Ok(())
}

/// The first claim of `claims` another record already holds.
pub(crate) async fn taken_claim<'c, C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module: ModuleId,
    id: RecordId,
    claims: &'c [UniqueClaim],
) -> Result<Option<&'c UniqueClaim>, Error> {
    for claim in claims {
        let stmt = statement(
            conn.get_database_backend(),
            "SELECT record_id FROM record_unique WHERE org_id = $1 AND module_id = $2 AND field_id = $3 \
             AND value_key = $4",
            [
                Value::from(org.as_uuid()),
                Value::from(module.as_uuid()),
                Value::from(claim.field_key.clone()),
                Value::from(claim.value_key.clone()),
            ],
        );
        if let Some(row) = conn.query_one_raw(stmt).await? {
            let holder: Uuid = row.try_get("", "record_id")?;
            if holder != id.as_uuid() {
                return Ok(Some(claim));
            }
        }
    }
    Ok(None)
}

/// Inserts the record's unique claims (after [`taken_claim`] found them free). A claim taken
/// meanwhile by a concurrent writer is `Err(Some(field_key))`.
pub(crate) async fn insert_claims<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module: ModuleId,
    id: RecordId,
    claims: &[UniqueClaim],
) -> Result<(), ClaimError> {
    // One statement per claim (a record has few), so a race names the field it lost.
    for claim in claims {
        let inserted = execute(
            conn,
            "INSERT INTO record_unique (org_id, module_id, field_id, value_key, record_id) VALUES ($1, $2, $3, $4, $5)",
            [
                Value::from(org.as_uuid()),
                Value::from(module.as_uuid()),
                Value::from(claim.field_key.clone()),
                Value::from(claim.value_key.clone()),
                Value::from(id.as_uuid()),
            ],
        )
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(ClaimError::Taken(claim.field_key.clone()));
            }
            Err(e) => return Err(ClaimError::Db(e.into())),
        }
    }
    Ok(())
}

/// Why claims could not be inserted.
pub(crate) enum ClaimError {
    /// Another record holds the value of this field.
    Taken(String),
    /// Any other failure.
    Db(Error),
}

/// Who made a change, as `record_history` stores it.
pub(crate) struct ChangeBy<'a> {
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub source: &'a str,
    pub at_us: i64,
}

/// Inserts history rows of one change of record `id`.
pub(crate) async fn insert_history<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    module: ModuleId,
    id: RecordId,
    by: &ChangeBy<'_>,
    rows: Vec<HistoryRow>,
) -> Result<(), Error> {
    let rows = rows
        .into_iter()
        .map(|h| {
            vec![
                Value::from(org.as_uuid()),
                Value::from(h.id),
                Value::from(id.as_uuid()),
                Value::from(module.as_uuid()),
                Value::from(h.field),
                Value::String(h.old),
                Value::String(h.new),
                Value::from(by.actor_kind.to_owned()),
                Value::from(by.actor_id.to_owned()),
                Value::from(by.source.to_owned()),
                Value::from(by.at_us),
            ]
        })
        .collect();
    let columns = [
        "org_id",
        "id",
        "record_id",
        "module_id",
        "field_id",
        "old_value",
        "new_value",
        "actor_kind",
        "actor_id",
        "source",
        "changed_at_us",
    ];
    insert_many(conn, "record_history", &columns, rows).await?;
    Ok(())
}

/// At most `take` rows of the history of record `id` after the first `skip`, oldest first.
pub(crate) async fn history<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: RecordId,
    skip: u64,
    take: u64,
) -> Result<Vec<StoredHistory>, Error> {
    let clamp = |n: u64| Value::from(i64::try_from(n).unwrap_or(i64::MAX));
    let stmt = statement(
        conn.get_database_backend(),
        "SELECT id, field_id, old_value, new_value, actor_kind, actor_id, source, changed_at_us FROM record_history \
         WHERE org_id = $1 AND record_id = $2 ORDER BY changed_at_us, id LIMIT $3 OFFSET $4",
        [Value::from(org.as_uuid()), Value::from(id.as_uuid()), clamp(take), clamp(skip)],
    );
    let read = |row: &QueryResult| -> Result<StoredHistory, DbErr> {
        Ok(StoredHistory {
            id: row.try_get("", "id")?,
            field: row.try_get("", "field_id")?,
            old: row.try_get("", "old_value")?,
            new: row.try_get("", "new_value")?,
            actor_kind: row.try_get("", "actor_kind")?,
            actor_id: row.try_get("", "actor_id")?,
            source: row.try_get("", "source")?,
            changed_at_us: row.try_get("", "changed_at_us")?,
        })
    };
    Ok(conn.query_all_raw(stmt).await?.iter().map(read).collect::<Result<_, _>>()?)
}

/// Hard-deletes up to `limit` of `org`'s records soft-deleted before `before_us` (oldest
/// first), with their index, unique and history rows; returns how many records went. The batch
/// is ordered by (deleted_at_us, id), so every statement of the transaction picks the same rows.
pub(crate) async fn purge<C: ConnectionTrait>(conn: &C, org: OrgId, before_us: i64, limit: u32) -> Result<u64, Error> {
    let doomed = format!(
        "SELECT id FROM record WHERE org_id = $1 AND deleted_at_us IS NOT NULL AND deleted_at_us < $2 \
         ORDER BY deleted_at_us, id LIMIT {limit}"
    );
    let values = || [Value::from(org.as_uuid()), Value::from(before_us)];
    for table in ["record_index", "record_unique", "record_history"] {
        execute(conn, &format!("DELETE FROM {table} WHERE org_id = $1 AND record_id IN ({doomed})"), values()).await?;
    }
    Ok(execute(conn, &format!("DELETE FROM record WHERE org_id = $1 AND id IN ({doomed})"), values()).await?)
}

/// The orgs holding records soft-deleted before `before_us`.
pub(crate) async fn orgs_with_deleted<C: ConnectionTrait>(conn: &C, before_us: i64) -> Result<Vec<OrgId>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        "SELECT DISTINCT org_id FROM record WHERE deleted_at_us IS NOT NULL AND deleted_at_us < $1",
        [Value::from(before_us)],
    );
    let rows = conn.query_all_raw(stmt).await?;
    let ids = rows.iter().map(|row| row.try_get::<Uuid>("", "org_id")).collect::<Result<Vec<_>, DbErr>>()?;
    Ok(ids.into_iter().map(OrgId::from_uuid).collect())
}
