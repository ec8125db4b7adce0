//! Full verification of an organization's log: recompute every leaf from the stored entry,
//! rebuild the tree from the anchor, and check every signed checkpoint. Reports the first bad
//! sequence number; detects changed, deleted, reordered and inserted entries.

use listone_core::{Database, Error, OrgId};
use sea_orm::{AccessMode, ConnectionTrait, DatabaseBackend, IsolationLevel, TransactionTrait, Value};
use serde::Serialize;

use crate::checkpoint::NoteVerifier;
use crate::entry::Hash;
use crate::merkle::{Frontier, leaf_hash};
use crate::store::rows::{ENTRY_SELECT, entry_from_row};
use crate::store::{AuditStore, StoredCheckpoint, all_checkpoints, load_frontier, load_head, to_u64, u64_value};

/// Entries read per query while verifying.
pub const VERIFY_PAGE: u64 = 2000;

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The entry concerned (the lowest affected, for tree-level problems).
    pub seq: Option<u64>,
    /// Machine-readable kind.
    pub kind: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The outcome of verifying one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationReport {
    /// The organization.
    pub org_id: String,
    /// Entries recomputed.
    pub entries_checked: u64,
    /// Signed checkpoints checked.
    pub checkpoints_checked: u64,
    /// Entries the head says exist.
    pub tree_size: u64,
    /// Entries before this were pruned (anchor checkpoint size).
    pub anchor_size: u64,
    /// Lowest sequence number with a problem.
    pub first_bad_seq: Option<u64>,
    /// Everything found.
    pub problems: Vec<Problem>,
}

impl VerificationReport {
    /// True when nothing is wrong.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

impl AuditStore {
    /// Verifies `org`'s log against `verifiers` (the trusted checkpoint keys).
    pub async fn verify(&self, org: OrgId, verifiers: &[NoteVerifier]) -> Result<VerificationReport, Error> {
        verify_log(self.db(), org, verifiers).await
    }

    /// Every organization with a log.
    pub async fn orgs(&self) -> Result<Vec<OrgId>, Error> {
        logged_orgs(self.db()).await
    }
}

/// Verifies `org`'s log in `db` against `verifiers`. Reads only: needs no key and writes nothing.
pub async fn verify_log(db: &Database, org: OrgId, verifiers: &[NoteVerifier]) -> Result<VerificationReport, Error> {
    // One snapshot: appends committed meanwhile must not look like inserted entries.
    // (A SQLite read transaction already reads one snapshot under WAL.)
    let conn = db.conn();
    let txn = match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            conn.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?
        }
        _ => conn.begin().await?,
    };
    let report = verify_in(&txn, org, verifiers).await;
    txn.rollback().await?;
    report
}

async fn verify_in<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    verifiers: &[NoteVerifier],
) -> Result<VerificationReport, Error> {
    let head = load_head(conn, org).await?;
    let checkpoints = all_checkpoints(conn, org).await?;
    let mut report = VerificationReport {
        org_id: org.to_string(),
        entries_checked: 0,
        checkpoints_checked: 0,
        tree_size: head.size,
        anchor_size: head.anchor_size,
        first_bad_seq: None,
        problems: Vec::new(),
    };
    let origin = crate::signer::origin(org);
    for cp in &checkpoints {
        check_signature(cp, &origin, verifiers, &mut report);
        if cp.size > head.size {
            report.problems.push(Problem {
                seq: Some(head.size),
                kind: "checkpoint_beyond_head",
                message: format!("checkpoint of size {} is beyond the log's {} entries", cp.size, head.size),
            });
        }
    }
    let mut frontier = if head.anchor_size == 0 {
        Frontier::new()
    } else {
        match checkpoints.iter().find(|c| c.size == head.anchor_size) {
            None => {
                report.problems.push(Problem {
                    seq: Some(head.anchor_size),
                    kind: "anchor_missing",
                    message: "the anchor checkpoint is missing".into(),
                });
                return Ok(finish(report));
            }
            Some(anchor) => {
                let frontier = load_frontier(conn, org, head.anchor_size).await?;
                if frontier.root() != anchor.root {
                    report.problems.push(Problem {
                        seq: Some(head.anchor_size),
                        kind: "anchor_mismatch",
                        message: "the kept nodes do not fold to the anchor checkpoint's root".into(),
                    });
                }
                frontier
            }
        }
    };
    // Owned, so no iterator adapter (and its closure) lives across an await.
    let mut pending_checkpoints: std::collections::VecDeque<StoredCheckpoint> =
        checkpoints.into_iter().filter(|c| c.size > head.anchor_size).collect();
    let mut expected = head.anchor_size;
    let mut last_checked_size = head.anchor_size;
    loop {
        let (entries, stored_leaves) = read_page(conn, org, expected).await?;
        if entries.is_empty() {
            break;
        }
        for (entry, sealed) in entries {
            if entry.seq != expected {
                report.problems.push(Problem {
                    seq: Some(expected),
                    kind: "entry_missing",
                    message: format!("entries {expected}..{} are missing", entry.seq),
                });
                // Continue with what is there; the tree below will not match its checkpoints.
            }
            if entry.seq >= head.size {
                report.problems.push(Problem {
                    seq: Some(entry.seq),
                    kind: "entry_beyond_head",
                    message: "an entry exists beyond the log's head (inserted)".into(),
                });
            }
            let recomputed = leaf_hash(&entry.leaf_bytes());
            let stored = stored_leaves.get(&entry.seq).copied();
            if stored != Some(recomputed) {
                report.problems.push(Problem {
                    seq: Some(entry.seq),
                    kind: "entry_altered",
                    message: "the entry's content does not match its leaf hash".into(),
                });
            }
            // The tree is rebuilt from the stored leaves: an altered entry is named above, and a
            // forged leaf (changed together with its entry) shows up against the signed roots.
            let leaf = stored.unwrap_or(recomputed);
            let digest_ok = match (&sealed, &entry.personal_digest) {
                (Some(sealed), Some(digest)) => listone_crypto::sha256(sealed) == *digest,
                _ => true,
            };
            if !digest_ok {
                report.problems.push(Problem {
                    seq: Some(entry.seq),
                    kind: "personal_details_altered",
                    message: "the sealed personal details do not match their committed digest".into(),
                });
            }
            if frontier.size() == entry.seq {
                frontier.append(leaf).map_err(|e| Error::internal(format!("verify: {e}")))?;
            }
            report.entries_checked += 1;
            expected = entry.seq + 1;
            while pending_checkpoints.front().is_some_and(|c| c.size <= frontier.size()) {
                let Some(cp) = pending_checkpoints.pop_front() else { break };
                report.checkpoints_checked += 1;
                if cp.size == frontier.size() && frontier.root() != cp.root {
                    report.problems.push(Problem {
                        seq: Some(last_checked_size),
                        kind: "root_mismatch",
                        message: format!(
                            "entries {last_checked_size}..{} do not hash to the signed root of checkpoint {}",
                            cp.size, cp.size
                        ),
                    });
                }
                last_checked_size = cp.size;
            }
        }
    }
    if expected < head.size {
        report.problems.push(Problem {
            seq: Some(expected),
            kind: "entry_missing",
            message: format!("entries {expected}..{} are missing", head.size),
        });
    }
    for cp in pending_checkpoints {
        report.problems.push(Problem {
            seq: Some(frontier.size()),
            kind: "checkpoint_unreached",
            message: format!("checkpoint of size {} covers entries that are not there", cp.size),
        });
    }
    Ok(finish(report))
}

/// Every organization with a log in `db`.
pub async fn logged_orgs(db: &Database) -> Result<Vec<OrgId>, Error> {
    let conn = db.conn();
    let stmt =
        listone_core::db::statement(conn.get_database_backend(), "SELECT org_id FROM audit_head ORDER BY org_id", []);
    conn.query_all_raw(stmt).await?.iter().map(|row| Ok(OrgId::from_uuid(row.try_get("", "org_id")?))).collect()
}

fn finish(mut report: VerificationReport) -> VerificationReport {
    report.first_bad_seq = report.problems.iter().filter_map(|p| p.seq).min();
    report
}

fn check_signature(cp: &StoredCheckpoint, origin: &str, verifiers: &[NoteVerifier], report: &mut VerificationReport) {
    let verified = verifiers.iter().find_map(|v| v.verify(&cp.note).ok());
    let ok = verified.is_some_and(|c| c.origin == origin && c.size == cp.size && c.root == cp.root);
    if !ok {
        report.problems.push(Problem {
            seq: Some(cp.size.saturating_sub(1)),
            kind: "checkpoint_signature",
            message: format!("checkpoint of size {} is not validly signed for this log", cp.size),
        });
    }
}

type Page = (Vec<(crate::entry::AuditEntry, Option<Vec<u8>>)>, std::collections::HashMap<u64, Hash>);

async fn read_page<C: ConnectionTrait>(conn: &C, org: OrgId, from_seq: u64) -> Result<Page, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        &format!(
            "SELECT {ENTRY_SELECT} FROM audit_entry WHERE org_id = $1 AND seq >= $2 ORDER BY seq ASC LIMIT {VERIFY_PAGE}"
        ),
        [Value::from(org.as_uuid()), u64_value(from_seq)],
    );
    let entries = conn.query_all_raw(stmt).await?.iter().map(entry_from_row).collect::<Result<Vec<_>, _>>()?;
    let mut leaves = std::collections::HashMap::with_capacity(entries.len());
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT idx, hash FROM audit_node WHERE org_id = $1 AND level = 0 AND idx >= $2 AND idx <= $3",
            [Value::from(org.as_uuid()), u64_value(first.0.seq), u64_value(last.0.seq)],
        );
        for row in conn.query_all_raw(stmt).await? {
            let hash: Vec<u8> = row.try_get("", "hash")?;
            if let Ok(hash) = Hash::try_from(hash.as_slice()) {
                leaves.insert(to_u64(row.try_get("", "idx")?), hash);
            }
        }
    }
    Ok((entries, leaves))
}
