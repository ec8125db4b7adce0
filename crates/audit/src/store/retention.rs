//! Retention: entries older than the org's retention period are removed, down to a signed
//! checkpoint that becomes the anchor; the compact range of the anchor's tree is kept so the
//! log stays verifiable and later proofs still work.

use listone_core::{Error, OrgId};
use sea_orm::{ConnectionTrait, Value};

use super::settings_store::load_settings;
use super::{AuditStore, lock_head, save_head, to_u64, u64_value};
use crate::entry::{ActorKind, AuditActor, AuditEvent, Outcome};
use crate::merkle::frontier_positions;
use crate::recorder::AuditRecorder;

/// What a prune did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    /// Entries removed.
    pub pruned_entries: u64,
    /// The new anchor (tree size), when it moved.
    pub anchor_size: Option<u64>,
}

impl AuditStore {
    /// Applies retention to every organization's log.
    pub async fn prune_all(&self) -> Result<u64, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(conn.get_database_backend(), "SELECT org_id FROM audit_head", []);
        let mut total = 0;
        for row in conn.query_all_raw(stmt).await? {
            let org = OrgId::from_uuid(row.try_get("", "org_id")?);
            total += self.prune(org).await?.pruned_entries;
        }
        Ok(total)
    }

    /// Applies `org`'s retention period: removes entries before the newest checkpoint all of
    /// whose entries are older than the period, and makes that checkpoint the anchor.
    pub async fn prune(&self, org: OrgId) -> Result<PruneReport, Error> {
        let now = self.clock.now();
        let now_us = now.timestamp_micros();
        let txn = self.db.begin().await?;
        let mut head = lock_head(&txn, org, now_us).await?;
        let settings = load_settings(&txn, org).await?;
        let retention_us = i64::try_from(settings.retention_days).unwrap_or(i64::MAX).saturating_mul(86_400_000_000);
        let cutoff_us = now_us.saturating_sub(retention_us);
        let backend = txn.get_database_backend();

        let stmt = listone_core::db::statement(
            backend,
            "SELECT MIN(seq) AS s FROM audit_entry WHERE org_id = $1 AND occurred_at_us >= $2",
            [Value::from(org.as_uuid()), Value::from(cutoff_us)],
        );
        let first_young: Option<i64> = match txn.query_one_raw(stmt).await? {
            Some(row) => row.try_get("", "s")?,
            None => None,
        };
        let limit = first_young.map(to_u64).unwrap_or(head.size);
        let stmt = listone_core::db::statement(
            backend,
            "SELECT MAX(size) AS s FROM audit_checkpoint WHERE org_id = $1 AND size <= $2 AND size > $3",
            [Value::from(org.as_uuid()), u64_value(limit), u64_value(head.anchor_size)],
        );
        let anchor: Option<i64> = match txn.query_one_raw(stmt).await? {
            Some(row) => row.try_get("", "s")?,
            None => None,
        };
        let Some(anchor) = anchor.map(to_u64).filter(|a| *a > 0) else {
            txn.commit().await?;
            return Ok(PruneReport::default());
        };

        let org_v = Value::from(org.as_uuid());
        let pruned_entries = listone_core::db::execute(
            &txn,
            "DELETE FROM audit_entry WHERE org_id = $1 AND seq < $2",
            [org_v.clone(), u64_value(anchor)],
        )
        .await?;
        // Keep the compact range of [0, anchor): it folds to the anchor's root.
        let keep = frontier_positions(anchor);
        let mut sql = String::from("DELETE FROM audit_node WHERE org_id = $1 AND span_end <= $2");
        let mut values = vec![org_v.clone(), u64_value(anchor)];
        for pos in &keep {
            values.push(Value::from(i16::from(pos.level)));
            values.push(u64_value(pos.index));
            sql.push_str(&format!(" AND NOT (level = ${} AND idx = ${})", values.len() - 1, values.len()));
        }
        listone_core::db::execute(&txn, &sql, values).await?;
        listone_core::db::execute(
            &txn,
            "DELETE FROM audit_checkpoint WHERE org_id = $1 AND size < $2",
            [org_v, u64_value(anchor)],
        )
        .await?;
        head.anchor_size = anchor;
        save_head(&txn, org, &head, now_us).await?;

        let event = AuditEvent::new(
            org,
            AuditActor { kind: ActorKind::System, id: None },
            "audit.log.pruned",
            Outcome::Allowed,
            now,
        )
        .with_resource("audit.log", None)
        .with_details(serde_json::json!({
            "anchor_size": anchor,
            "pruned_entries": pruned_entries,
            "retention_days": settings.retention_days,
        }));
        AuditRecorder::new(self.keyring.clone(), self.clock.clone()).record(&txn, event).await?;
        txn.commit().await?;
        tracing::info!(%org, anchor_size = anchor, pruned_entries, "audit retention applied");
        Ok(PruneReport { pruned_entries, anchor_size: Some(anchor) })
    }
}
