//! The `user_recovery_code` rows: a user's current set of recovery codes as Argon2id hashes. A
//! used code keeps its row with `used_at_us` set, so trying it again is told apart as a replay.

use chrono::{DateTime, Utc};
use listone_core::{Error, OrgId, UserId};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

/// One stored code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredCode {
    /// Row id.
    pub id: Uuid,
    /// Argon2id PHC string.
    pub hash: String,
    /// Whether it was used already.
    pub used: bool,
}

/// Replaces the user's codes with `hashes`.
pub(crate) async fn replace<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    hashes: &[String],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    delete_all(conn, org, user).await?;
    let rows = hashes
        .iter()
        .map(|hash| {
            vec![
                Value::from(org.as_uuid()),
                Value::from(user.as_uuid()),
                Value::from(Uuid::now_v7()),
                Value::from(hash.clone()),
                Value::from(None::<i64>),
                Value::from(now.timestamp_micros()),
            ]
        })
        .collect();
    listone_core::db::insert_many(
        conn,
        "user_recovery_code",
        &["org_id", "user_id", "id", "code_hash", "used_at_us", "created_at_us"],
        rows,
    )
    .await?;
    Ok(())
}

/// Every code of the user, used or not, in a stable order.
pub(crate) async fn all<C: ConnectionTrait>(conn: &C, org: OrgId, user: UserId) -> Result<Vec<StoredCode>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT id, code_hash, used_at_us FROM user_recovery_code WHERE org_id = $1 AND user_id = $2 ORDER BY id",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
    );
    conn.query_all_raw(stmt)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredCode {
                id: row.try_get("", "id")?,
                hash: row.try_get("", "code_hash")?,
                used: row.try_get::<Option<i64>>("", "used_at_us")?.is_some(),
            })
        })
        .collect()
}

/// Marks code `id` used; `false` when it already was (a concurrent sign-in got there first).
pub(crate) async fn mark_used<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let updated = listone_core::db::execute(
        conn,
        "UPDATE user_recovery_code SET used_at_us = $4 \
         WHERE org_id = $1 AND user_id = $2 AND id = $3 AND used_at_us IS NULL",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(id), Value::from(now.timestamp_micros())],
    )
    .await?;
    Ok(updated > 0)
}

/// How many unused codes the user has left.
pub(crate) async fn remaining<C: ConnectionTrait>(conn: &C, org: OrgId, user: UserId) -> Result<u32, Error> {
    let n = listone_core::db::count(
        conn,
        "SELECT COUNT(*) AS n FROM user_recovery_code WHERE org_id = $1 AND user_id = $2 AND used_at_us IS NULL",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
    )
    .await?;
    Ok(u32::try_from(n).unwrap_or(0))
}

/// Deletes every code of the user; returns how many.
pub(crate) async fn delete_all<C: ConnectionTrait>(conn: &C, org: OrgId, user: UserId) -> Result<u64, Error> {
    Ok(listone_core::db::execute(
        conn,
        "DELETE FROM user_recovery_code WHERE org_id = $1 AND user_id = $2",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
    )
    .await?)
}
