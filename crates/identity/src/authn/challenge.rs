//! Pending MFA steps (`mfa_challenge`): what a correct password earns when a second factor is due.
//! The token is 256 random bits handed out once; only its SHA-256 is stored. A step is single-use,
//! expires after [`MFA_CHALLENGE_TTL`] and is burned after [`MAX_MFA_ATTEMPTS`] codes.

use chrono::{DateTime, Duration, Utc};
use listone_audit::RequestContext;
use listone_core::{Error, OrgId, Secret, UserId};
use sea_orm::{ConnectionTrait, Value};
use uuid::Uuid;

/// How long a pending MFA step stays valid.
pub const MFA_CHALLENGE_TTL: Duration = Duration::minutes(5);
/// Codes one pending step accepts before it is burned.
pub const MAX_MFA_ATTEMPTS: u32 = 5;
/// Random bytes in a step token.
pub const MFA_CHALLENGE_TOKEN_BYTES: usize = 32;

/// A step a correct password opened: the token to present with the second factor.
#[derive(Debug, Clone)]
pub struct MfaPending {
    /// Single-use token, shown once.
    pub token: Secret<String>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A stored step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// Row id.
    pub id: Uuid,
    /// Whose password opened it.
    pub user_id: UserId,
    /// Codes tried so far.
    pub attempts: u32,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was spent (signed in) or given up.
    pub used_at: Option<DateTime<Utc>>,
}

impl Challenge {
    /// Why the step can no longer be used at `now`, as audited; `None` while it can.
    pub(crate) fn refusal(&self, now: DateTime<Utc>) -> Option<&'static str> {
        if self.used_at.is_some() {
            Some("challenge_used")
        } else if self.attempts >= MAX_MFA_ATTEMPTS {
            Some("challenge_burned")
        } else if now >= self.expires_at {
            Some("challenge_expired")
        } else {
            None
        }
    }
}

fn at(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn token_hash(token: &Secret<String>) -> Vec<u8> {
    listone_crypto::sha256(token.expose().as_bytes()).to_vec()
}

/// Opens a step for `user`; the user's spent and expired steps are cleared on the way.
pub(crate) async fn open<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    ctx: &RequestContext,
    now: DateTime<Utc>,
) -> Result<MfaPending, Error> {
    listone_core::db::execute(
        conn,
        "DELETE FROM mfa_challenge WHERE org_id = $1 AND user_id = $2 \
         AND (used_at_us IS NOT NULL OR attempts >= $3 OR expires_at_us <= $4)",
        [
            Value::from(org.as_uuid()),
            Value::from(user.as_uuid()),
            Value::from(i32::try_from(MAX_MFA_ATTEMPTS).unwrap_or(i32::MAX)),
            Value::from(now.timestamp_micros()),
        ],
    )
    .await?;
    let token = Secret::new(listone_crypto::random_token(MFA_CHALLENGE_TOKEN_BYTES)?);
    let expires_at = now + MFA_CHALLENGE_TTL;
    listone_core::db::execute(
        conn,
        "INSERT INTO mfa_challenge (org_id, id, user_id, token_hash, attempts, expires_at_us, used_at_us, source_ip, \
         user_agent, created_at_us) VALUES ($1, $2, $3, $4, 0, $5, NULL, $6, $7, $8)",
        [
            Value::from(org.as_uuid()),
            Value::from(Uuid::now_v7()),
            Value::from(user.as_uuid()),
            Value::from(token_hash(&token)),
            Value::from(expires_at.timestamp_micros()),
            Value::from(ctx.source_ip.clone()),
            Value::from(ctx.user_agent.clone()),
            Value::from(now.timestamp_micros()),
        ],
    )
    .await?;
    Ok(MfaPending { token, expires_at })
}

/// The step behind `token` in `org`; another org's token is not found.
pub(crate) async fn find<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    token: &Secret<String>,
) -> Result<Option<Challenge>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT id, user_id, attempts, expires_at_us, used_at_us FROM mfa_challenge \
         WHERE org_id = $1 AND token_hash = $2",
        [Value::from(org.as_uuid()), Value::from(token_hash(token))],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
    Ok(Some(Challenge {
        id: row.try_get("", "id")?,
        user_id: UserId::from_uuid(row.try_get("", "user_id")?),
        attempts: u32::try_from(row.try_get::<i32>("", "attempts")?).unwrap_or(MAX_MFA_ATTEMPTS),
        expires_at: at(row.try_get("", "expires_at_us")?),
        used_at: row.try_get::<Option<i64>>("", "used_at_us")?.map(at),
    }))
}

/// Counts one more code against a step that is still usable at `now` and returns the attempts so
/// far, or `None` when it no longer is. Taking the attempt before checking the code makes the
/// limit hold against concurrent guesses: the update waits for any other one on the same row.
pub(crate) async fn take_attempt<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<u32>, Error> {
    let updated = listone_core::db::execute(
        conn,
        "UPDATE mfa_challenge SET attempts = attempts + 1 WHERE org_id = $1 AND id = $2 \
         AND used_at_us IS NULL AND attempts < $3 AND expires_at_us > $4",
        [
            Value::from(org.as_uuid()),
            Value::from(id),
            Value::from(i32::try_from(MAX_MFA_ATTEMPTS).unwrap_or(i32::MAX)),
            Value::from(now.timestamp_micros()),
        ],
    )
    .await?;
    if updated == 0 {
        return Ok(None);
    }
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT attempts FROM mfa_challenge WHERE org_id = $1 AND id = $2",
        [Value::from(org.as_uuid()), Value::from(id)],
    );
    let row = conn.query_one_raw(stmt).await?.ok_or_else(|| Error::internal("mfa challenge vanished"))?;
    Ok(Some(u32::try_from(row.try_get::<i32>("", "attempts")?).unwrap_or(MAX_MFA_ATTEMPTS)))
}

/// Marks the step spent (signed in, or given up because the user may no longer sign in).
pub(crate) async fn spend<C: ConnectionTrait>(conn: &C, org: OrgId, id: Uuid, now: DateTime<Utc>) -> Result<(), Error> {
    listone_core::db::execute(
        conn,
        "UPDATE mfa_challenge SET used_at_us = $3 WHERE org_id = $1 AND id = $2 AND used_at_us IS NULL",
        [Value::from(org.as_uuid()), Value::from(id), Value::from(now.timestamp_micros())],
    )
    .await?;
    Ok(())
}
