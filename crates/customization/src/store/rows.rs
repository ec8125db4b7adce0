//! The SQL of the module store: `module_def` rows (the current definition, JSON text) and
//! `module_def_version` rows (every accepted definition, kept for audit). Every statement
//! filters by `org_id`.

use chrono::{DateTime, Utc};
use listone_core::db::{count, execute, statement};
use listone_core::{Error, ModuleId, OrgId, UserId};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, QueryResult, Value};

use super::plan::kind_key;
use super::{ModuleVersion, StoredModule};
use crate::module::{ModuleDef, ModuleKind};

const MODULE_SELECT: &str =
    "SELECT org_id, id, key, kind, definition, version, created_at_us, updated_at_us FROM module_def";

/// The module `key` of `org`, if any.
pub(crate) async fn find<C: ConnectionTrait>(conn: &C, org: OrgId, key: &str) -> Result<Option<StoredModule>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        &format!("{MODULE_SELECT} WHERE org_id = $1 AND key = $2"),
        [Value::from(org.as_uuid()), Value::from(key.to_owned())],
    );
    conn.query_one_raw(stmt).await?.as_ref().map(module_from_row).transpose()
}

/// Every module of `org`, ordered by key.
pub(crate) async fn all<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<Vec<StoredModule>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        &format!("{MODULE_SELECT} WHERE org_id = $1 ORDER BY key"),
        [Value::from(org.as_uuid())],
    );
    conn.query_all_raw(stmt).await?.iter().map(module_from_row).collect()
}

/// The id and current version of every module of `org`, ordered by key (no definitions).
pub(crate) async fn versions_of<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<Vec<(ModuleId, u32)>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        "SELECT id, version FROM module_def WHERE org_id = $1 ORDER BY key",
        [Value::from(org.as_uuid())],
    );
    conn.query_all_raw(stmt)
        .await?
        .iter()
        .map(|row| {
            let version: i64 = row.try_get("", "version")?;
            let version = u32::try_from(version).map_err(|_| Error::internal("module version out of range"))?;
            Ok((ModuleId::from_uuid(row.try_get("", "id")?), version))
        })
        .collect()
}

/// Every module of `org`, ordered by key, locked until `txn` ends on PostgreSQL: writers of one
/// org's catalog (which validate against all of it) take turns, so a module cannot be deleted
/// while another change adds a lookup to it. SQLite transactions already hold the write lock.
pub(crate) async fn all_locked(txn: &DatabaseTransaction, org: OrgId) -> Result<Vec<StoredModule>, Error> {
    let backend = txn.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres { " FOR UPDATE" } else { "" };
    let stmt = statement(
        backend,
        &format!("{MODULE_SELECT} WHERE org_id = $1 ORDER BY key{lock}"),
        [Value::from(org.as_uuid())],
    );
    txn.query_all_raw(stmt).await?.iter().map(module_from_row).collect()
}

/// The module `id` of `org`, if any.
pub(crate) async fn find_by_id<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: ModuleId,
) -> Result<Option<StoredModule>, Error> {
    let stmt = statement(
        conn.get_database_backend(),
        &format!("{MODULE_SELECT} WHERE org_id = $1 AND id = $2"),
        [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
    );
    conn.query_one_raw(stmt).await?.as_ref().map(module_from_row).transpose()
}

/// How many custom modules `org` has.
pub(crate) async fn custom_count<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<usize, Error> {
    let n = count(
        conn,
        "SELECT COUNT(*) AS n FROM module_def WHERE org_id = $1 AND kind = $2",
        [Value::from(org.as_uuid()), Value::from(kind_key(ModuleKind::Custom))],
    )
    .await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// How many record rows (deleted or not) belong to module `id`.
pub(crate) async fn record_count<C: ConnectionTrait>(conn: &C, org: OrgId, id: ModuleId) -> Result<i64, Error> {
    Ok(count(
        conn,
        "SELECT COUNT(*) AS n FROM record WHERE org_id = $1 AND module_id = $2",
        [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
    )
    .await?)
}

/// Inserts a new module row at the definition's version.
pub(crate) async fn insert<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: ModuleId,
    def: &ModuleDef,
    now_us: i64,
) -> Result<(), Error> {
    execute(
        conn,
        "INSERT INTO module_def (org_id, id, key, kind, definition, version, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        [
            Value::from(org.as_uuid()),
            Value::from(id.as_uuid()),
            Value::from(def.key.clone()),
            Value::from(kind_key(def.kind)),
            Value::from(to_json(def)?),
            Value::from(i64::from(def.version)),
            Value::from(now_us),
        ],
    )
    .await
    .map_err(|e| match e.sql_err() {
        // Two writers created the same key at once: the loser retries and sees ALREADY_EXISTS.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => concurrent_change(),
        _ => e.into(),
    })?;
    Ok(())
}

/// Replaces the definition of module `id` if it is still at `expected`; false when it moved.
pub(crate) async fn replace<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: ModuleId,
    def: &ModuleDef,
    expected: u32,
    now_us: i64,
) -> Result<bool, Error> {
    let updated = execute(
        conn,
        "UPDATE module_def SET definition = $3, version = $4, updated_at_us = $5 \
         WHERE org_id = $1 AND id = $2 AND version = $6",
        [
            Value::from(org.as_uuid()),
            Value::from(id.as_uuid()),
            Value::from(to_json(def)?),
            Value::from(i64::from(def.version)),
            Value::from(now_us),
            Value::from(i64::from(expected)),
        ],
    )
    .await?;
    Ok(updated == 1)
}

/// Deletes module row `id`; its history rows stay.
pub(crate) async fn delete<C: ConnectionTrait>(conn: &C, org: OrgId, id: ModuleId) -> Result<(), Error> {
    execute(
        conn,
        "DELETE FROM module_def WHERE org_id = $1 AND id = $2",
        [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
    )
    .await?;
    Ok(())
}

/// Appends the history row of `def` (at its version).
pub(crate) async fn insert_version<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: ModuleId,
    def: &ModuleDef,
    changed_by: uuid::Uuid,
    now_us: i64,
) -> Result<(), Error> {
    execute(
        conn,
        "INSERT INTO module_def_version (org_id, module_id, version, definition, changed_by, changed_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            Value::from(org.as_uuid()),
            Value::from(id.as_uuid()),
            Value::from(i64::from(def.version)),
            Value::from(to_json(def)?),
            Value::from(changed_by),
            Value::from(now_us),
        ],
    )
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => concurrent_change(),
        _ => e.into(),
    })?;
    Ok(())
}

/// The history of module `id`, oldest first; only `version` when given.
pub(crate) async fn versions<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: ModuleId,
    version: Option<u32>,
) -> Result<Vec<ModuleVersion>, Error> {
    let mut sql = "SELECT version, definition, changed_by, changed_at_us FROM module_def_version \
                   WHERE org_id = $1 AND module_id = $2"
        .to_owned();
    let mut values = vec![Value::from(org.as_uuid()), Value::from(id.as_uuid())];
    if let Some(v) = version {
        sql.push_str(" AND version = $3");
        values.push(Value::from(i64::from(v)));
    }
    sql.push_str(" ORDER BY version");
    let stmt = statement(conn.get_database_backend(), &sql, values);
    conn.query_all_raw(stmt).await?.iter().map(version_from_row).collect()
}

/// Lost a race with another writer of the same module or key.
pub(crate) fn concurrent_change() -> Error {
    Error::Aborted {
        reason: "CONCURRENT_CHANGE",
        message: "another change to the org's modules committed first; read again and retry".to_owned(),
    }
}

fn to_json(def: &ModuleDef) -> Result<String, Error> {
    serde_json::to_string(def).map_err(|_| Error::internal("module definition does not serialize"))
}

fn from_json(text: &str, version: i64) -> Result<ModuleDef, Error> {
    let mut def: ModuleDef =
        serde_json::from_str(text).map_err(|_| Error::internal("stored module definition unreadable"))?;
    // The column is authoritative; the copy inside the JSON is informative.
    def.version = u32::try_from(version).map_err(|_| Error::internal("module version out of range"))?;
    Ok(def)
}

fn module_from_row(row: &QueryResult) -> Result<StoredModule, Error> {
    let definition = from_json(&row.try_get::<String>("", "definition")?, row.try_get("", "version")?)?;
    Ok(StoredModule {
        org_id: OrgId::from_uuid(row.try_get("", "org_id")?),
        id: ModuleId::from_uuid(row.try_get("", "id")?),
        definition,
        created_at: micros(row.try_get("", "created_at_us")?)?,
        updated_at: micros(row.try_get("", "updated_at_us")?)?,
    })
}

fn version_from_row(row: &QueryResult) -> Result<ModuleVersion, Error> {
    let changed_by: uuid::Uuid = row.try_get("", "changed_by")?;
    Ok(ModuleVersion {
        definition: from_json(&row.try_get::<String>("", "definition")?, row.try_get("", "version")?)?,
        changed_by: (!changed_by.is_nil()).then(|| UserId::from_uuid(changed_by)),
        changed_at: micros(row.try_get("", "changed_at_us")?)?,
    })
}

fn micros(us: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| Error::internal("timestamp out of range"))
}
