//! Loading and saving [`AuditSettings`].

use listone_core::{Error, OrgId};
use sea_orm::{ConnectionTrait, Value};

use super::{AuditStore, to_u64, u64_value};
use crate::entry::{AuditActor, AuditEvent, Outcome, RequestContext};
use crate::recorder::AuditRecorder;
use crate::settings::AuditSettings;

/// The settings of `org` read inside `conn` (e.g. the transaction that will update them).
pub async fn load_settings<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<AuditSettings, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT checkpoint_every_entries, checkpoint_every_seconds, retention_days, failed_signins_per_account, \
         failed_signins_per_ip, failed_signin_window_seconds, personal_data_reads_per_actor, \
         personal_data_window_seconds, version FROM audit_settings WHERE org_id = $1",
        [Value::from(org.as_uuid())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(AuditSettings::default()) };
    let u32_of = |n: i32| u32::try_from(n).unwrap_or(0);
    Ok(AuditSettings {
        checkpoint_every_entries: to_u64(row.try_get("", "checkpoint_every_entries")?),
        checkpoint_every_seconds: to_u64(row.try_get("", "checkpoint_every_seconds")?),
        retention_days: to_u64(row.try_get("", "retention_days")?),
        failed_signins_per_account: u32_of(row.try_get("", "failed_signins_per_account")?),
        failed_signins_per_ip: u32_of(row.try_get("", "failed_signins_per_ip")?),
        failed_signin_window_seconds: to_u64(row.try_get("", "failed_signin_window_seconds")?),
        personal_data_reads_per_actor: u32_of(row.try_get("", "personal_data_reads_per_actor")?),
        personal_data_window_seconds: to_u64(row.try_get("", "personal_data_window_seconds")?),
        version: to_u64(row.try_get("", "version")?),
    })
}

impl AuditStore {
    /// The settings of `org` (defaults until first changed).
    pub async fn settings(&self, org: OrgId) -> Result<AuditSettings, Error> {
        load_settings(self.db.conn(), org).await
    }

    /// Applies the masked fields of `patch` (whose `version` must be the one read), saves, and
    /// records the change in the org's log, all in one transaction.
    pub async fn update_settings(
        &self,
        org: OrgId,
        patch: &AuditSettings,
        mask: &[String],
        actor: AuditActor,
        context: RequestContext,
    ) -> Result<AuditSettings, Error> {
        let txn = self.db.begin().await?;
        let mut settings = load_settings(&txn, org).await?;
        settings.apply_mask(patch, mask)?;
        let saved = self.save_settings(&txn, org, &settings, patch.version).await?;
        let event = AuditEvent::new(org, actor, "audit.settings.update", Outcome::Allowed, self.clock.now())
            .with_resource("audit.settings", None)
            .with_details(serde_json::json!({ "fields": mask, "version": saved.version }))
            .with_context(context);
        AuditRecorder::new(self.keyring.clone(), self.clock.clone()).record(&txn, event).await?;
        txn.commit().await?;
        Ok(saved)
    }

    /// Saves `settings` when `expected_version` still matches (optimistic concurrency), in `conn`.
    pub async fn save_settings<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        settings: &AuditSettings,
        expected_version: u64,
    ) -> Result<AuditSettings, Error> {
        settings.validate()?;
        let current = load_settings(conn, org).await?;
        if current.version != expected_version {
            return Err(Error::Aborted {
                reason: "STALE_VERSION",
                message: "the settings changed since they were read; read them again".to_owned(),
            });
        }
        let next = AuditSettings { version: current.version + 1, ..settings.clone() };
        let now_us = self.clock.now().timestamp_micros();
        let values = vec![
            Value::from(org.as_uuid()),
            u64_value(next.checkpoint_every_entries),
            u64_value(next.checkpoint_every_seconds),
            u64_value(next.retention_days),
            Value::from(i32::try_from(next.failed_signins_per_account).unwrap_or(i32::MAX)),
            Value::from(i32::try_from(next.failed_signins_per_ip).unwrap_or(i32::MAX)),
            u64_value(next.failed_signin_window_seconds),
            Value::from(i32::try_from(next.personal_data_reads_per_actor).unwrap_or(i32::MAX)),
            u64_value(next.personal_data_window_seconds),
            u64_value(next.version),
            Value::from(now_us),
            u64_value(current.version),
        ];
        // The version guard makes a concurrent writer lose instead of overwrite.
        let changed = listone_core::db::execute(
            conn,
            "INSERT INTO audit_settings (org_id, checkpoint_every_entries, checkpoint_every_seconds, retention_days, \
             failed_signins_per_account, failed_signins_per_ip, failed_signin_window_seconds, \
             personal_data_reads_per_actor, personal_data_window_seconds, version, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (org_id) DO UPDATE SET checkpoint_every_entries = excluded.checkpoint_every_entries, \
             checkpoint_every_seconds = excluded.checkpoint_every_seconds, retention_days = excluded.retention_days, \
             failed_signins_per_account = excluded.failed_signins_per_account, \
             failed_signins_per_ip = excluded.failed_signins_per_ip, \
             failed_signin_window_seconds = excluded.failed_signin_window_seconds, \
             personal_data_reads_per_actor = excluded.personal_data_reads_per_actor, \
             personal_data_window_seconds = excluded.personal_data_window_seconds, \
             version = excluded.version, updated_at_us = excluded.updated_at_us \
             WHERE audit_settings.version = $12",
            values,
        )
        .await?;
        if changed == 0 {
            return Err(Error::Aborted {
                reason: "STALE_VERSION",
                message: "the settings changed since they were read; read them again".to_owned(),
            });
        }
        Ok(next)
    }
}
