//! Detection rules over the audit stream: repeated failed sign-ins per account and per IP, and
//! one actor reading or exporting personal data above a threshold. Each raises an incident
//! (consumed by the privacy breach register) and a warning log line without personal data.

use std::collections::BTreeMap;

use listone_core::{Error, OrgId};
use sea_orm::{ConnectionTrait, Value};

use crate::entry::{AuditEntry, Outcome};
use crate::settings::AuditSettings;
use crate::store::u64_value;

/// The sign-in action identity records.
pub const SIGNIN_ACTION: &str = "identity.signin";
/// Action suffixes that count as reading or exporting personal data.
pub const READ_SUFFIXES: &[&str] = &["read", "get", "list", "search", "view", "export"];

/// A detection rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Failed sign-ins against one account.
    FailedSigninsAccount,
    /// Failed sign-ins from one source IP.
    FailedSigninsIp,
    /// Personal-data reads or exports by one actor.
    PersonalDataVolume,
}

impl Rule {
    /// Stable key stored on incidents.
    pub const fn key(self) -> &'static str {
        match self {
            Rule::FailedSigninsAccount => "failed_signins_account",
            Rule::FailedSigninsIp => "failed_signins_ip",
            Rule::PersonalDataVolume => "personal_data_volume",
        }
    }

    /// Threshold and window (seconds) from the org's settings.
    pub fn limits(self, s: &AuditSettings) -> (u32, u64) {
        match self {
            Rule::FailedSigninsAccount => (s.failed_signins_per_account, s.failed_signin_window_seconds),
            Rule::FailedSigninsIp => (s.failed_signins_per_ip, s.failed_signin_window_seconds),
            Rule::PersonalDataVolume => (s.personal_data_reads_per_actor, s.personal_data_window_seconds),
        }
    }

    fn condition(self) -> String {
        match self {
            Rule::FailedSigninsAccount => {
                format!("action = '{SIGNIN_ACTION}' AND outcome = 'failed' AND resource_id = $2")
            }
            Rule::FailedSigninsIp => format!("action = '{SIGNIN_ACTION}' AND outcome = 'failed' AND source_ip = $2"),
            Rule::PersonalDataVolume => {
                let suffixes: Vec<String> = READ_SUFFIXES.iter().map(|s| format!("action LIKE '%.{s}'")).collect();
                format!("actor_id = $2 AND personal_data = $5 AND ({})", suffixes.join(" OR "))
            }
        }
    }
}

/// Whether an action name reads or exports.
pub fn is_read_or_export(action: &str) -> bool {
    action.rsplit('.').next().is_some_and(|last| READ_SUFFIXES.contains(&last))
}

/// The rules an entry feeds and the key each counts it under.
pub fn triggers(entry: &AuditEntry) -> Vec<(Rule, String)> {
    let mut out = Vec::new();
    if entry.action == SIGNIN_ACTION && entry.outcome == Outcome::Failed {
        if let Some(account) = &entry.resource_id {
            out.push((Rule::FailedSigninsAccount, account.clone()));
        }
        if let Some(ip) = &entry.source_ip {
            out.push((Rule::FailedSigninsIp, ip.clone()));
        }
    }
    if let Some(actor) = entry.actor_id.as_ref().filter(|_| entry.personal_data && is_read_or_export(&entry.action)) {
        out.push((Rule::PersonalDataVolume, actor.clone()));
    }
    out
}

/// Evaluates the rules fed by `entries` (just appended, in `conn`); returns incidents raised.
pub(crate) async fn evaluate<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    settings: &AuditSettings,
    entries: &[AuditEntry],
    now_us: i64,
) -> Result<u64, Error> {
    // One count per (rule, key) per batch: the latest occurrence defines the window.
    let mut keys: BTreeMap<(Rule, String), (i64, u64)> = BTreeMap::new();
    for entry in entries {
        for key in triggers(entry) {
            let slot = keys.entry(key).or_insert((entry.occurred_at_us, entry.seq));
            *slot = (slot.0.max(entry.occurred_at_us), slot.1.max(entry.seq));
        }
    }
    let mut raised = 0;
    for ((rule, key), (latest_us, last_seq)) in keys {
        let (threshold, window_secs) = rule.limits(settings);
        let window_us = i64::try_from(window_secs).unwrap_or(i64::MAX).saturating_mul(1_000_000);
        let window_start = latest_us.saturating_sub(window_us);
        let window = format!(
            "FROM audit_entry WHERE org_id = $1 AND {} AND occurred_at_us >= $3 AND occurred_at_us <= $4",
            rule.condition()
        );
        let mut values = vec![
            Value::from(org.as_uuid()),
            Value::from(key.clone()),
            Value::from(window_start),
            Value::from(latest_us),
        ];
        if rule == Rule::PersonalDataVolume {
            values.push(Value::from(true));
        }
        // Counting stops at the threshold: a busy actor's hour of reads is not walked per batch.
        let bounded = format!("SELECT COUNT(*) AS n FROM (SELECT seq {window} LIMIT {threshold}) hits");
        let backend = conn.get_database_backend();
        let reached = listone_core::db::count(conn, &bounded, values.clone()).await?;
        if reached < i64::from(threshold) {
            continue;
        }
        if open_incident_exists(conn, org, rule, &key, now_us.saturating_sub(window_us)).await? {
            continue;
        }
        // Raising (rare): the whole window's count and where it starts, for the incident record.
        let stmt = listone_core::db::statement(
            backend,
            &format!("SELECT COUNT(*) AS n, MIN(seq) AS first_seq {window}"),
            values,
        );
        let Some(row) = conn.query_one_raw(stmt).await? else { continue };
        let count: i64 = row.try_get("", "n")?;
        let first_seq: Option<i64> = row.try_get("", "first_seq")?;
        let id = uuid::Uuid::now_v7();
        listone_core::db::execute(
            conn,
            "INSERT INTO audit_incident (org_id, id, rule, key, count, window_start_us, created_at_us, first_seq, last_seq, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open')",
            [
                Value::from(org.as_uuid()),
                Value::from(id),
                Value::from(rule.key()),
                Value::from(key.chars().take(128).collect::<String>()),
                Value::from(i32::try_from(count).unwrap_or(i32::MAX)),
                Value::from(window_start),
                Value::from(now_us),
                Value::from(first_seq.unwrap_or(0)),
                u64_value(last_seq),
            ],
        )
        .await?;
        // The key (an account id, IP or actor) stays in the incident record, not in the log.
        tracing::warn!(%org, incident_id = %id, rule = rule.key(), count, "security incident raised by audit detection");
        raised += 1;
    }
    Ok(raised)
}

async fn open_incident_exists<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    rule: Rule,
    key: &str,
    since_us: i64,
) -> Result<bool, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT 1 AS one FROM audit_incident WHERE org_id = $1 AND rule = $2 AND key = $3 AND created_at_us >= $4 \
         AND status = 'open'",
        [Value::from(org.as_uuid()), Value::from(rule.key()), Value::from(key.to_owned()), Value::from(since_us)],
    );
    Ok(conn.query_one_raw(stmt).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::ActorKind;
    use listone_core::EventId;

    fn entry(action: &str, outcome: Outcome) -> AuditEntry {
        AuditEntry {
            org_id: OrgId::new(),
            seq: 0,
            event_id: EventId::new(),
            occurred_at_us: 0,
            actor_kind: ActorKind::User,
            actor_id: Some("u1".into()),
            action: action.into(),
            resource_module: Some("identity.user".into()),
            resource_id: Some("acct".into()),
            outcome,
            request_id: None,
            source_ip: Some("192.0.2.9".into()),
            user_agent: None,
            purpose: None,
            personal_data: false,
            details: "{}".into(),
            subject_id: None,
            personal_digest: None,
        }
    }

    #[test]
    fn a_failed_signin_counts_per_account_and_per_ip() {
        let t = triggers(&entry(SIGNIN_ACTION, Outcome::Failed));
        assert_eq!(
            t,
            vec![(Rule::FailedSigninsAccount, "acct".to_owned()), (Rule::FailedSigninsIp, "192.0.2.9".to_owned())]
        );
        assert!(triggers(&entry(SIGNIN_ACTION, Outcome::Allowed)).is_empty());
    }

    #[test]
    fn only_personal_reads_and_exports_count_toward_volume() {
        let mut read = entry("records.record.read", Outcome::Allowed);
        assert!(triggers(&read).is_empty(), "not personal data");
        read.personal_data = true;
        assert_eq!(triggers(&read), vec![(Rule::PersonalDataVolume, "u1".to_owned())]);
        let mut update = entry("records.record.update", Outcome::Allowed);
        update.personal_data = true;
        assert!(triggers(&update).is_empty());
        assert!(is_read_or_export("records.export"));
        assert!(!is_read_or_export("records.exported_flag.update"));
    }
}
