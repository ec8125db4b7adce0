//! Signed checkpoints and the RFC 6962 inclusion and consistency proofs served against them.

use listone_core::{Error, OrgId, Violations};
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::{AuditStore, load_head, load_nodes, to_u64, u64_value};
use crate::entry::Hash;
use crate::merkle::{self, MerkleError, NodePosition};
use crate::store::query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed note.
    pub note: String,
    /// Id of the signing key.
    pub key_id: String,
    /// When cut (µs).
    pub created_at_us: i64,
    /// Whether entries below it were pruned (it anchors verification).
    pub is_anchor: bool,
}

/// Proof that entry `seq` is in the tree of `checkpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry.
    pub seq: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// The audit path.
    pub proof: Vec<Hash>,
    /// The checkpoint proven against.
    pub checkpoint: StoredCheckpoint,
}

/// Proof that `to` extends `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Older checkpoint.
    pub from: StoredCheckpoint,
    /// Newer checkpoint.
    pub to: StoredCheckpoint,
    /// The proof hashes.
    pub proof: Vec<Hash>,
}

const CHECKPOINT_SELECT: &str = "size, root, note, key_id, created_at_us";

fn checkpoint_from_row(row: &QueryResult, anchor_size: u64) -> Result<StoredCheckpoint, Error> {
    let root: Vec<u8> = row.try_get("", "root")?;
    let size = to_u64(row.try_get("", "size")?);
    Ok(StoredCheckpoint {
        size,
        root: root.try_into().map_err(|_| Error::internal("checkpoint root is not 32 bytes"))?,
        note: row.try_get("", "note")?,
        key_id: row.try_get("", "key_id")?,
        created_at_us: row.try_get("", "created_at_us")?,
        is_anchor: anchor_size > 0 && size == anchor_size,
    })
}

fn pruned() -> Error {
    Error::FailedPrecondition {
        reason: "PRUNED",
        message: "that part of the log was removed by retention; use a checkpoint at or after the anchor".to_owned(),
    }
}

fn merkle_error(err: MerkleError) -> Error {
    match err {
        MerkleError::MissingNode(_) => pruned(),
        other => Error::internal(format!("merkle proof: {other}")),
    }
}

impl AuditStore {
    /// The newest checkpoint; NOT_FOUND before the first one.
    pub async fn latest_checkpoint(&self, org: OrgId) -> Result<StoredCheckpoint, Error> {
        let conn = self.db.conn();
        let anchor = load_head(conn, org).await?.anchor_size;
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {CHECKPOINT_SELECT} FROM audit_checkpoint WHERE org_id = $1 ORDER BY size DESC LIMIT 1"),
            [Value::from(org.as_uuid())],
        );
        let row = conn.query_one_raw(stmt).await?.ok_or(Error::NotFound { resource: "checkpoint" })?;
        checkpoint_from_row(&row, anchor)
    }

    /// The checkpoint of exactly `size`; NOT_FOUND when none was cut at that size.
    pub async fn checkpoint(&self, org: OrgId, size: u64) -> Result<StoredCheckpoint, Error> {
        let conn = self.db.conn();
        let anchor = load_head(conn, org).await?.anchor_size;
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {CHECKPOINT_SELECT} FROM audit_checkpoint WHERE org_id = $1 AND size = $2"),
            [Value::from(org.as_uuid()), u64_value(size)],
        );
        let row = conn.query_one_raw(stmt).await?.ok_or(Error::NotFound { resource: "checkpoint" })?;
        checkpoint_from_row(&row, anchor)
    }

    /// Checkpoints, newest first; the token is the last size returned.
    pub async fn list_checkpoints(
        &self,
        org: OrgId,
        page_size: u32,
        page_token: &str,
    ) -> Result<(Vec<StoredCheckpoint>, Option<String>), Error> {
        let mut v = Violations::new();
        v.check(page_size > MAX_PAGE_SIZE, "page_size", "must be at most 1000");
        let before = if page_token.is_empty() {
            None
        } else {
            let parsed = page_token.parse::<u64>().ok();
            v.check(parsed.is_none(), "page_token", "is not a page token from this list");
            parsed
        };
        v.into_result()?;
        let size = if page_size == 0 { DEFAULT_PAGE_SIZE } else { page_size };
        let conn = self.db.conn();
        let anchor = load_head(conn, org).await?.anchor_size;
        let mut values = vec![Value::from(org.as_uuid())];
        let mut sql = format!("SELECT {CHECKPOINT_SELECT} FROM audit_checkpoint WHERE org_id = $1");
        if let Some(before) = before {
            values.push(u64_value(before));
            sql.push_str(" AND size < $2");
        }
        sql.push_str(&format!(" ORDER BY size DESC LIMIT {}", size + 1));
        let stmt = listone_core::db::statement(conn.get_database_backend(), &sql, values);
        let rows = conn.query_all_raw(stmt).await?;
        let more = rows.len() > size as usize;
        let list =
            rows.iter().take(size as usize).map(|r| checkpoint_from_row(r, anchor)).collect::<Result<Vec<_>, _>>()?;
        let next = more.then(|| list.last().map(|c| c.size.to_string())).flatten();
        Ok((list, next))
    }

    /// Inclusion proof of entry `seq` against the checkpoint of `tree_size` (latest when `None`).
    pub async fn inclusion_proof(&self, org: OrgId, seq: u64, tree_size: Option<u64>) -> Result<InclusionProof, Error> {
        let checkpoint = match tree_size {
            Some(size) => self.checkpoint(org, size).await?,
            None => self.latest_checkpoint(org).await?,
        };
        if seq >= checkpoint.size {
            return Err(Error::OutOfRange {
                field: "seq".to_owned(),
                message: "must be below the tree size".to_owned(),
            });
        }
        let head = self.head(org).await?;
        if seq < head.anchor_size {
            return Err(pruned());
        }
        let plan = merkle::inclusion_proof_nodes(seq, checkpoint.size).map_err(merkle_error)?;
        let leaf_pos = NodePosition { level: 0, index: seq };
        let mut positions: Vec<NodePosition> = plan.iter().flatten().copied().collect();
        positions.push(leaf_pos);
        let nodes = load_nodes(self.db.conn(), org, &positions).await?;
        let proof = merkle::assemble(&plan, &nodes).map_err(merkle_error)?;
        let leaf_hash = *nodes.get(&leaf_pos).ok_or_else(pruned)?;
        Ok(InclusionProof { seq, leaf_hash, proof, checkpoint })
    }

    /// Consistency proof from the checkpoint of `from_size` to that of `to_size` (latest when `None`).
    pub async fn consistency_proof(
        &self,
        org: OrgId,
        from_size: u64,
        to_size: Option<u64>,
    ) -> Result<ConsistencyProof, Error> {
        let to = match to_size {
            Some(size) => self.checkpoint(org, size).await?,
            None => self.latest_checkpoint(org).await?,
        };
        if from_size > to.size {
            return Err(Error::OutOfRange {
                field: "from_tree_size".to_owned(),
                message: "must not exceed to_tree_size".to_owned(),
            });
        }
        let head = self.head(org).await?;
        if from_size < head.anchor_size {
            return Err(pruned());
        }
        let from = self.checkpoint(org, from_size).await?;
        let plan = merkle::consistency_proof_nodes(from.size, to.size).map_err(merkle_error)?;
        let positions: Vec<NodePosition> = plan.iter().flatten().copied().collect();
        let nodes = load_nodes(self.db.conn(), org, &positions).await?;
        let proof = merkle::assemble(&plan, &nodes).map_err(merkle_error)?;
        Ok(ConsistencyProof { from, to, proof })
    }
}

/// Every checkpoint of `org`, oldest first (verification).
pub(crate) async fn all_checkpoints<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<Vec<StoredCheckpoint>, Error> {
    let anchor = load_head(conn, org).await?.anchor_size;
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        &format!("SELECT {CHECKPOINT_SELECT} FROM audit_checkpoint WHERE org_id = $1 ORDER BY size ASC"),
        [Value::from(org.as_uuid())],
    );
    conn.query_all_raw(stmt).await?.iter().map(|r| checkpoint_from_row(r, anchor)).collect()
}
