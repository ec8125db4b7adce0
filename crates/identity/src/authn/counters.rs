//! Failed sign-in counters stored per (org, scope, key): the normalized user name for accounts
//! (so unknown names are throttled exactly like real ones) and the source IP.

use chrono::DateTime;
use listone_core::{Error, OrgId};
use sea_orm::{ConnectionTrait, Value};

use crate::signin::{FailureCounter, LockScope};

fn scope_key(scope: LockScope) -> &'static str {
    match scope {
        LockScope::Account => "account",
        LockScope::Ip => "ip",
    }
}

/// The stored counter (a fresh one when none exists).
pub async fn load<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    scope: LockScope,
    key: &str,
) -> Result<FailureCounter, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT failures, window_start_us, last_failure_us, locked_until_us FROM signin_counter \
         WHERE org_id = $1 AND scope = $2 AND key = $3",
        [Value::from(org.as_uuid()), Value::from(scope_key(scope)), Value::from(key.to_owned())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(FailureCounter::default()) };
    let at = |us: i64| DateTime::from_timestamp_micros(us).unwrap_or_default();
    Ok(FailureCounter {
        failures: u32::try_from(row.try_get::<i32>("", "failures")?).unwrap_or(0),
        window_start: at(row.try_get("", "window_start_us")?),
        last_failure: row.try_get::<Option<i64>>("", "last_failure_us")?.map(at),
        locked_until: row.try_get::<Option<i64>>("", "locked_until_us")?.map(at),
    })
}

/// Stores `counter`.
pub async fn save<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    scope: LockScope,
    key: &str,
    counter: &FailureCounter,
) -> Result<(), Error> {
    listone_core::db::execute(
        conn,
        "INSERT INTO signin_counter (org_id, scope, key, failures, window_start_us, last_failure_us, locked_until_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, scope, key) DO UPDATE SET \
         failures = excluded.failures, window_start_us = excluded.window_start_us, \
         last_failure_us = excluded.last_failure_us, locked_until_us = excluded.locked_until_us",
        [
            Value::from(org.as_uuid()),
            Value::from(scope_key(scope)),
            Value::from(key.to_owned()),
            Value::from(i32::try_from(counter.failures).unwrap_or(i32::MAX)),
            Value::from(counter.window_start.timestamp_micros()),
            Value::from(counter.last_failure.map(|t| t.timestamp_micros())),
            Value::from(counter.locked_until.map(|t| t.timestamp_micros())),
        ],
    )
    .await?;
    Ok(())
}
