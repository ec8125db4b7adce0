//! The audit log on sea-orm: appends (with Merkle nodes and checkpoints in the same transaction),
//! queries, proofs, retention and erasure of personal details.

mod append;
mod export;
mod proofs;
pub mod query;
mod retention;
pub mod rows;
mod settings_store;

use std::collections::HashMap;
use std::sync::Arc;

use listone_core::{Database, Error, OrgId, SharedClock, SubjectId};
use listone_crypto::KeyRing;
use sea_orm::{ConnectionTrait, Value};

pub use append::AppendReport;
pub use export::{EXPORT_CHUNK_ENTRIES, ExportChunk};
pub(crate) use proofs::all_checkpoints;
pub use proofs::{ConsistencyProof, InclusionProof, StoredCheckpoint};
pub use query::{EntryFilter, EntryPage, EntryView, Incident, PageRequest};
pub use retention::PruneReport;
pub use settings_store::load_settings as load_settings_in;

use crate::entry::Hash;
use crate::merkle::{Frontier, NodePosition, frontier_positions};
use crate::signer::CheckpointSigner;

/// The head of an organization's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    /// Entries appended.
    pub size: u64,
    /// Size of the newest checkpoint.
    pub checkpoint_size: u64,
    /// When the oldest entry not yet in a checkpoint was appended (µs).
    pub first_pending_at_us: Option<i64>,
    /// Entries below this were pruned; the checkpoint of this size is the anchor.
    pub anchor_size: u64,
}

/// The audit log of every organization.
#[derive(Debug, Clone)]
pub struct AuditStore {
    db: Database,
    keyring: Arc<KeyRing>,
    signer: Arc<CheckpointSigner>,
    clock: SharedClock,
}

impl AuditStore {
    /// A store over `db`, opening personal details with `keyring` and signing with `signer`.
    pub fn new(db: Database, keyring: Arc<KeyRing>, signer: Arc<CheckpointSigner>, clock: SharedClock) -> Self {
        Self { db, keyring, signer, clock }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The checkpoint signer.
    pub fn signer(&self) -> &CheckpointSigner {
        &self.signer
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Checkpoint origin of an organization's log (first line of its checkpoints).
    pub fn origin(&self, org: OrgId) -> String {
        crate::signer::origin(org)
    }

    /// The head of `org`'s log (all zero when nothing was ever appended).
    pub async fn head(&self, org: OrgId) -> Result<Head, Error> {
        load_head(self.db.conn(), org).await
    }

    /// Removes the sealed personal details of `subject` from every entry (erasure). The leaves
    /// commit to the details' digest, which stays, so every proof still verifies.
    pub async fn erase_personal_details<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
    ) -> Result<u64, Error> {
        Ok(listone_core::db::execute(
            conn,
            "UPDATE audit_entry SET personal_sealed = NULL WHERE org_id = $1 AND subject_id = $2 AND personal_sealed IS NOT NULL",
            [Value::from(org.as_uuid()), Value::from(subject.as_uuid())],
        )
        .await?)
    }
}

pub(crate) fn u64_value(n: u64) -> Value {
    Value::from(i64::try_from(n).unwrap_or(i64::MAX))
}

pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) async fn load_head<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<Head, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT size, checkpoint_size, first_pending_at_us, anchor_size FROM audit_head WHERE org_id = $1",
        [Value::from(org.as_uuid())],
    );
    conn.query_one_raw(stmt).await?.map_or(Ok(Head::default()), |row| head_from_row(&row))
}

fn head_from_row(row: &sea_orm::QueryResult) -> Result<Head, Error> {
    Ok(Head {
        size: to_u64(row.try_get("", "size")?),
        checkpoint_size: to_u64(row.try_get("", "checkpoint_size")?),
        first_pending_at_us: row.try_get("", "first_pending_at_us")?,
        anchor_size: to_u64(row.try_get("", "anchor_size")?),
    })
}

/// Takes the org's head row lock (creating the row) so appends to one log serialize on both
/// engines, and reads the head in the same statement.
pub(crate) async fn lock_head<C: ConnectionTrait>(conn: &C, org: OrgId, now_us: i64) -> Result<Head, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "INSERT INTO audit_head (org_id, size, checkpoint_size, first_pending_at_us, anchor_size, updated_at_us) \
         VALUES ($1, 0, 0, NULL, 0, $2) ON CONFLICT (org_id) DO UPDATE SET updated_at_us = excluded.updated_at_us \
         RETURNING size, checkpoint_size, first_pending_at_us, anchor_size",
        [Value::from(org.as_uuid()), Value::from(now_us)],
    );
    let row = conn.query_one_raw(stmt).await?.ok_or_else(|| Error::internal("audit head upsert returned no row"))?;
    head_from_row(&row)
}

pub(crate) async fn save_head<C: ConnectionTrait>(conn: &C, org: OrgId, head: &Head, now_us: i64) -> Result<(), Error> {
    listone_core::db::execute(
        conn,
        "UPDATE audit_head SET size = $2, checkpoint_size = $3, first_pending_at_us = $4, anchor_size = $5, updated_at_us = $6 \
         WHERE org_id = $1",
        [
            Value::from(org.as_uuid()),
            u64_value(head.size),
            u64_value(head.checkpoint_size),
            Value::from(head.first_pending_at_us),
            u64_value(head.anchor_size),
            Value::from(now_us),
        ],
    )
    .await?;
    Ok(())
}

/// Hashes of the given perfect-subtree nodes; missing ones are simply absent from the map.
pub(crate) async fn load_nodes<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    positions: &[NodePosition],
) -> Result<HashMap<NodePosition, Hash>, Error> {
    let mut out = HashMap::with_capacity(positions.len());
    for chunk in positions.chunks(200) {
        let mut sql = String::from("SELECT level, idx, hash FROM audit_node WHERE org_id = $1 AND (");
        let mut values = vec![Value::from(org.as_uuid())];
        for (i, pos) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!("(level = ${} AND idx = ${})", 2 * i + 2, 2 * i + 3));
            values.push(Value::from(i16::from(pos.level)));
            values.push(u64_value(pos.index));
        }
        sql.push(')');
        let stmt = listone_core::db::statement(conn.get_database_backend(), &sql, values);
        for row in conn.query_all_raw(stmt).await? {
            let level: i16 = row.try_get("", "level")?;
            let idx: i64 = row.try_get("", "idx")?;
            let hash: Vec<u8> = row.try_get("", "hash")?;
            let hash: Hash = hash.try_into().map_err(|_| Error::internal("audit node hash is not 32 bytes"))?;
            out.insert(NodePosition { level: u8::try_from(level).unwrap_or(u8::MAX), index: to_u64(idx) }, hash);
        }
    }
    Ok(out)
}

/// The compact range of `[0, size)` from stored nodes.
pub(crate) async fn load_frontier<C: ConnectionTrait>(conn: &C, org: OrgId, size: u64) -> Result<Frontier, Error> {
    let positions = frontier_positions(size);
    let nodes = load_nodes(conn, org, &positions).await?;
    let hashes = positions
        .iter()
        .map(|p| nodes.get(p).copied().ok_or_else(|| Error::internal("audit frontier node missing")))
        .collect::<Result<Vec<_>, _>>()?;
    Frontier::from_nodes(size, hashes).map_err(|e| Error::internal(format!("audit frontier: {e}")))
}
