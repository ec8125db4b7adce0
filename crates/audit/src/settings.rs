//! Per-organization audit settings: checkpoint cadence, retention, detection thresholds.

use listone_core::{Error, Violations};
use serde::{Deserialize, Serialize};

/// Default: cut a checkpoint after this many entries.
pub const DEFAULT_CHECKPOINT_EVERY_ENTRIES: u64 = 1000;
/// Default: or after the oldest unsigned entry is this many seconds old.
pub const DEFAULT_CHECKPOINT_EVERY_SECONDS: u64 = 60;
/// Default retention: seven years.
pub const DEFAULT_RETENTION_DAYS: u64 = 2557;
/// Shortest retention an organization may set.
pub const MIN_RETENTION_DAYS: u64 = 30;
/// Longest retention an organization may set (a century).
pub const MAX_RETENTION_DAYS: u64 = 36500;
/// Default: failed sign-ins for one account within the window that raise an incident.
pub const DEFAULT_FAILED_SIGNINS_PER_ACCOUNT: u32 = 5;
/// Default: failed sign-ins from one IP within the window that raise an incident.
pub const DEFAULT_FAILED_SIGNINS_PER_IP: u32 = 20;
/// Default failed sign-in window: 15 minutes.
pub const DEFAULT_FAILED_SIGNIN_WINDOW_SECONDS: u64 = 900;
/// Default: personal-data reads by one actor within the window that raise an incident.
pub const DEFAULT_PERSONAL_DATA_READS_PER_ACTOR: u32 = 1000;
/// Default personal-data window: one hour.
pub const DEFAULT_PERSONAL_DATA_WINDOW_SECONDS: u64 = 3600;

/// Audit settings of one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSettings {
    /// Entries between checkpoints.
    pub checkpoint_every_entries: u64,
    /// Seconds before pending entries get a checkpoint.
    pub checkpoint_every_seconds: u64,
    /// Days entries are kept.
    pub retention_days: u64,
    /// Failed sign-in threshold per account.
    pub failed_signins_per_account: u32,
    /// Failed sign-in threshold per IP.
    pub failed_signins_per_ip: u32,
    /// Failed sign-in window.
    pub failed_signin_window_seconds: u64,
    /// Personal-data read threshold per actor.
    pub personal_data_reads_per_actor: u32,
    /// Personal-data window.
    pub personal_data_window_seconds: u64,
    /// Optimistic-concurrency version (0 = defaults, never saved).
    pub version: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_every_entries: DEFAULT_CHECKPOINT_EVERY_ENTRIES,
            checkpoint_every_seconds: DEFAULT_CHECKPOINT_EVERY_SECONDS,
            retention_days: DEFAULT_RETENTION_DAYS,
            failed_signins_per_account: DEFAULT_FAILED_SIGNINS_PER_ACCOUNT,
            failed_signins_per_ip: DEFAULT_FAILED_SIGNINS_PER_IP,
            failed_signin_window_seconds: DEFAULT_FAILED_SIGNIN_WINDOW_SECONDS,
            personal_data_reads_per_actor: DEFAULT_PERSONAL_DATA_READS_PER_ACTOR,
            personal_data_window_seconds: DEFAULT_PERSONAL_DATA_WINDOW_SECONDS,
            version: 0,
        }
    }
}

/// Settings field names accepted in an update mask.
pub const SETTINGS_FIELDS: &[&str] = &[
    "checkpoint_every_entries",
    "checkpoint_every_seconds",
    "retention_days",
    "failed_signins_per_account",
    "failed_signins_per_ip",
    "failed_signin_window_seconds",
    "personal_data_reads_per_actor",
    "personal_data_window_seconds",
];

impl AuditSettings {
    /// Every rule violated, reported at once.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(
            !(1..=1_000_000).contains(&self.checkpoint_every_entries),
            "checkpoint_every_entries",
            "must be between 1 and 1000000",
        );
        v.check(
            !(1..=86_400).contains(&self.checkpoint_every_seconds),
            "checkpoint_every_seconds",
            "must be between 1 and 86400",
        );
        v.check(
            !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&self.retention_days),
            "retention_days",
            "must be between 30 and 36500",
        );
        for (field, value) in [
            ("failed_signins_per_account", self.failed_signins_per_account),
            ("failed_signins_per_ip", self.failed_signins_per_ip),
            ("personal_data_reads_per_actor", self.personal_data_reads_per_actor),
        ] {
            v.check(!(1..=1_000_000).contains(&value), field, "must be between 1 and 1000000");
        }
        for (field, value) in [
            ("failed_signin_window_seconds", self.failed_signin_window_seconds),
            ("personal_data_window_seconds", self.personal_data_window_seconds),
        ] {
            v.check(!(60..=604_800).contains(&value), field, "must be between 60 and 604800");
        }
        v.into_result()
    }

    /// Copies the masked fields of `patch` onto `self`; unknown or empty masks are refused.
    pub fn apply_mask(&mut self, patch: &AuditSettings, mask: &[String]) -> Result<(), Error> {
        let mut v = Violations::new();
        if mask.is_empty() {
            v.add("update_mask", "must name at least one field");
        }
        for path in mask {
            match path.as_str() {
                "checkpoint_every_entries" => self.checkpoint_every_entries = patch.checkpoint_every_entries,
                "checkpoint_every_seconds" => self.checkpoint_every_seconds = patch.checkpoint_every_seconds,
                "retention_days" => self.retention_days = patch.retention_days,
                "failed_signins_per_account" => self.failed_signins_per_account = patch.failed_signins_per_account,
                "failed_signins_per_ip" => self.failed_signins_per_ip = patch.failed_signins_per_ip,
                "failed_signin_window_seconds" => {
                    self.failed_signin_window_seconds = patch.failed_signin_window_seconds
                }
                "personal_data_reads_per_actor" => {
                    self.personal_data_reads_per_actor = patch.personal_data_reads_per_actor
                }
                "personal_data_window_seconds" => {
                    self.personal_data_window_seconds = patch.personal_data_window_seconds
                }
                _ => v.add(format!("update_mask.{path}"), "is not a settings field"),
            }
        }
        v.into_result()?;
        self.validate()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn defaults_are_valid_and_keep_seven_years() {
        let s = AuditSettings::default();
        s.validate().unwrap();
        assert_eq!(s.retention_days, 2557);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let s = AuditSettings {
            checkpoint_every_entries: 0,
            retention_days: 1,
            failed_signins_per_ip: 0,
            ..Default::default()
        };
        let Error::InvalidArgument { violations } = s.validate().unwrap_err() else { panic!() };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["checkpoint_every_entries", "retention_days", "failed_signins_per_ip"]);
    }

    #[test]
    fn mask_updates_only_named_fields_and_refuses_unknown_ones() {
        let mut s = AuditSettings::default();
        let patch = AuditSettings { retention_days: 400, checkpoint_every_entries: 5, ..Default::default() };
        s.apply_mask(&patch, &["retention_days".into()]).unwrap();
        assert_eq!(s.retention_days, 400);
        assert_eq!(s.checkpoint_every_entries, DEFAULT_CHECKPOINT_EVERY_ENTRIES);
        let err = s.apply_mask(&patch, &["retention".into()]).unwrap_err();
        assert!(err.to_string().contains("update_mask.retention"));
        assert!(s.apply_mask(&patch, &[]).is_err());
    }
}
