//! Runs compiled queries on any connection or transaction.

use std::fmt;

use listone_core::{Error, ModuleId, RecordId, SubjectId};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use uuid::Uuid;

use super::compile::{CompiledCount, CompiledQuery, Count};

/// A `record` row as listed: system columns and the stored field values.
#[derive(Clone, PartialEq)]
pub struct RecordRow {
    /// Id.
    pub id: RecordId,
    /// Module.
    pub module_id: ModuleId,
    /// Owner (a user or group id).
    pub owner_id: Uuid,
    /// The data subject the record is about, if any.
    pub subject_id: Option<SubjectId>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// JSON of field values as stored (encrypted fields hold envelopes).
    pub data: String,
    /// Creator.
    pub created_by: Uuid,
    /// Creation time, µs.
    pub created_at_us: i64,
    /// Last writer.
    pub updated_by: Uuid,
    /// Last change, µs.
    pub updated_at_us: i64,
    /// Processing is restricted.
    pub restricted: bool,
}

impl fmt::Debug for RecordRow {
    // Field values may be personal data; the Debug form shows ids and times only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordRow")
            .field("id", &self.id)
            .field("module_id", &self.module_id)
            .field("version", &self.version)
            .field("data", &"<redacted>")
            .field("updated_at_us", &self.updated_at_us)
            .finish_non_exhaustive()
    }
}

impl RecordRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
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
}

/// One page of records.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPage {
    /// The records, in query order.
    pub rows: Vec<RecordRow>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// Runs a page query.
pub async fn fetch_page<C: ConnectionTrait>(conn: &C, query: &CompiledQuery) -> Result<RecordPage, Error> {
    let db = |e: DbErr| Error::internal(format!("record page query: {e}"));
    let mut results = conn.query_all_raw(query.statement(conn.get_database_backend())).await.map_err(db)?;
    let page_size = usize::try_from(query.page_size).unwrap_or(usize::MAX);
    let next_page_token = if results.len() > page_size {
        results.truncate(page_size);
        match results.last() {
            Some(last) => Some(query.next_page_token(last)?),
            None => None,
        }
    } else {
        None
    };
    let rows = results.iter().map(RecordRow::from_row).collect::<Result<_, _>>().map_err(db)?;
    Ok(RecordPage { rows, next_page_token })
}

/// Runs a capped count.
pub async fn count<C: ConnectionTrait>(conn: &C, query: &CompiledCount) -> Result<Count, Error> {
    let db = |e: DbErr| Error::internal(format!("record count query: {e}"));
    let row = conn.query_one_raw(query.statement(conn.get_database_backend())).await.map_err(db)?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n").map_err(db)?,
        None => 0,
    };
    Ok(Count::from_rows(n, query.cap))
}
