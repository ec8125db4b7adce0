//! Background maintenance on a timer: audit checkpoints that are due by time; audit retention,
//! the sweep of expired OAuth grant state and the purge of records deleted longer ago than their
//! grace period; OIDC signing-key rotation. Decisions read the injected clock; the timer only
//! says when to look.

use std::time::Duration;

use listone_customization::ModuleStore;
use listone_records::RecordStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often maintenance looks for work.
#[derive(Debug, Clone, Copy)]
pub struct MaintenanceConfig {
    /// How often to look for logs whose checkpoint is due.
    pub checkpoint_poll: Duration,
    /// How often to apply retention.
    pub retention_poll: Duration,
    /// How often to rotate OIDC signing keys when due (and pick up keys other processes made);
    /// must stay well inside the rotation policy's `publish_ahead` (1 day by default).
    pub key_rotation_poll: Duration,
    /// How long a deleted record stays restorable by the platform (soft-deleted, invisible to
    /// every API) before the retention pass removes it with its index, unique and history rows.
    pub deleted_records_grace: chrono::Duration,
}

/// Default grace period of deleted records.
pub const DELETED_RECORDS_GRACE_DAYS: i64 = 30;

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self {
            checkpoint_poll: Duration::from_secs(1),
            retention_poll: Duration::from_secs(3600),
            key_rotation_poll: Duration::from_secs(3600),
            deleted_records_grace: chrono::Duration::days(DELETED_RECORDS_GRACE_DAYS),
        }
    }
}

/// Stops the maintenance task.
#[derive(Debug)]
pub struct MaintenanceHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl MaintenanceHandle {
    /// Stops and waits for the task (a pass in progress finishes first).
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Starts maintenance for the audit log, the signing keys and the OAuth grants of `ctx`.
pub fn spawn(ctx: crate::context::AppContext, config: MaintenanceConfig) -> MaintenanceHandle {
    let (stop, mut stopped) = watch::channel(false);
    let modules = ModuleStore::new(ctx.db.clone(), ctx.audit_recorder.clone(), ctx.clock.clone());
    let records = RecordStore::new(ctx.db, ctx.keyring, ctx.audit_recorder, ctx.clock.clone(), modules);
    let (audit, keys, clock, grants) = (ctx.audit, ctx.signing_keys, ctx.clock, ctx.identity.grants);
    let task = tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let mut checkpoints = tokio::time::interval_at(start + config.checkpoint_poll, config.checkpoint_poll);
        let mut retention = tokio::time::interval_at(start + config.retention_poll, config.retention_poll);
        let mut rotation = tokio::time::interval_at(start + config.key_rotation_poll, config.key_rotation_poll);
        checkpoints.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        rotation.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = checkpoints.tick() => {
                    if let Err(e) = audit.cut_due_checkpoints().await {
                        tracing::warn!(error = %e, "audit checkpoint pass failed; will retry");
                    }
                }
                _ = retention.tick() => {
                    if let Err(e) = audit.prune_all().await {
                        tracing::warn!(error = %e, "audit retention pass failed; will retry");
                    }
                    // Expired codes, spent refresh tokens past their family's end, revoked-token
                    // entries past expiry.
                    match grants.sweep(clock.now()).await {
                        Ok(removed) if removed > 0 => tracing::info!(removed, "swept expired OAuth grant state"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "OAuth grant sweep failed; will retry"),
                    }
                    match records.purge_all_deleted(clock.now() - config.deleted_records_grace).await {
                        Ok(purged) if purged > 0 => tracing::info!(purged, "purged records past their grace period"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "deleted-record purge failed; will retry"),
                    }
                }
                _ = rotation.tick() => {
                    if let Err(e) = keys.rotate_if_due(clock.now()).await {
                        tracing::warn!(error = %e, "signing key rotation pass failed; will retry");
                    }
                }
            }
        }
    });
    MaintenanceHandle { stop, task: Some(task) }
}
