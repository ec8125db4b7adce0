//! The `user_mfa` row: one TOTP authenticator per user, its secret sealed under the org key and
//! bound to the org and user, pending until a first code confirms it. `last_step` is the newest
//! time step accepted, so a code is never accepted twice.

use chrono::{DateTime, Utc};
use listone_core::{Error, OrgId, UserId};
use listone_crypto::{Aad, KeyRing};
use sea_orm::{ConnectionTrait, Value};

use crate::credentials::totp::{Totp, TotpAlgorithm, TotpDigits, TotpSecret};

/// AAD domain of a sealed TOTP secret.
const SECRET_DOMAIN: &str = "listone.identity.mfa";

/// What a sealed secret is bound to: a ciphertext copied to another user or org does not open.
fn secret_aad(org: OrgId, user: UserId) -> Aad {
    Aad::new(SECRET_DOMAIN).with("org", org.to_string()).with("user", user.to_string()).with("purpose", "totp_secret")
}

fn at(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// An enrolment's state, read without unsealing the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EnrolmentState {
    /// When the first code confirmed it; `None` while pending.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// An enrolment with its secret unsealed.
#[derive(Debug, Clone)]
pub(crate) struct StoredTotp {
    /// The authenticator.
    pub totp: Totp,
    /// When the first code confirmed it; `None` while pending.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The newest step accepted (replay refusal).
    pub last_step: Option<u64>,
}

/// The enrolment's state, if any.
pub(crate) async fn state<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
) -> Result<Option<EnrolmentState>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT confirmed_at_us FROM user_mfa WHERE org_id = $1 AND user_id = $2",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
    Ok(Some(EnrolmentState { confirmed_at: row.try_get::<Option<i64>>("", "confirmed_at_us")?.map(at) }))
}

/// The enrolment with its secret unsealed, if any.
pub(crate) async fn load<C: ConnectionTrait>(
    conn: &C,
    keyring: &KeyRing,
    org: OrgId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<StoredTotp>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT secret_sealed, algorithm, digits, confirmed_at_us, last_step FROM user_mfa \
         WHERE org_id = $1 AND user_id = $2",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
    let sealed: Vec<u8> = row.try_get("", "secret_sealed")?;
    let bytes = keyring.org_key(conn, org, now).await?.open(&sealed, &secret_aad(org, user))?;
    let secret =
        TotpSecret::from_bytes(bytes.to_vec()).map_err(|_| Error::internal("stored TOTP secret is invalid"))?;
    let algorithm: String = row.try_get("", "algorithm")?;
    let totp = Totp::new(secret)
        .with_algorithm(algorithm_from_name(&algorithm)?)
        .with_digits(digits_from_count(row.try_get("", "digits")?)?);
    Ok(Some(StoredTotp {
        totp,
        confirmed_at: row.try_get::<Option<i64>>("", "confirmed_at_us")?.map(at),
        last_step: row.try_get::<Option<i64>>("", "last_step")?.and_then(|s| u64::try_from(s).ok()),
    }))
}

/// Stores `secret` (used with `algorithm` and `digits`) as the user's pending enrolment, replacing
/// a pending one. `false` (nothing written) when a confirmed enrolment exists.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn save_pending<C: ConnectionTrait>(
    conn: &C,
    keyring: &KeyRing,
    org: OrgId,
    user: UserId,
    secret: &TotpSecret,
    algorithm: TotpAlgorithm,
    digits: TotpDigits,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let sealed = keyring.org_key(conn, org, now).await?.seal(secret.expose_bytes(), &secret_aad(org, user))?;
    let written = listone_core::db::execute(
        conn,
        "INSERT INTO user_mfa (org_id, user_id, secret_sealed, algorithm, digits, confirmed_at_us, last_step, \
         created_at_us) VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6) ON CONFLICT (org_id, user_id) DO UPDATE SET \
         secret_sealed = excluded.secret_sealed, algorithm = excluded.algorithm, digits = excluded.digits, \
         last_step = NULL, created_at_us = excluded.created_at_us WHERE user_mfa.confirmed_at_us IS NULL",
        [
            Value::from(org.as_uuid()),
            Value::from(user.as_uuid()),
            Value::from(sealed),
            Value::from(algorithm.uri_name()),
            Value::from(i32::try_from(digits.count()).unwrap_or(6)),
            Value::from(now.timestamp_micros()),
        ],
    )
    .await?;
    Ok(written > 0)
}

/// Marks the pending enrolment confirmed by a code for `step`; `false` when none is pending.
pub(crate) async fn confirm<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    step: u64,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let updated = listone_core::db::execute(
        conn,
        "UPDATE user_mfa SET confirmed_at_us = $3, last_step = $4 \
         WHERE org_id = $1 AND user_id = $2 AND confirmed_at_us IS NULL",
        [
            Value::from(org.as_uuid()),
            Value::from(user.as_uuid()),
            Value::from(now.timestamp_micros()),
            Value::from(step_value(step)?),
        ],
    )
    .await?;
    Ok(updated > 0)
}

/// Records `step` as used; `false` when it is not newer than the last one used (a concurrent
/// sign-in with the same code got there first) or the enrolment is gone.
pub(crate) async fn advance_step<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    step: u64,
) -> Result<bool, Error> {
    let updated = listone_core::db::execute(
        conn,
        "UPDATE user_mfa SET last_step = $3 WHERE org_id = $1 AND user_id = $2 \
         AND confirmed_at_us IS NOT NULL AND (last_step IS NULL OR last_step < $3)",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(step_value(step)?)],
    )
    .await?;
    Ok(updated > 0)
}

/// Deletes the enrolment, pending or confirmed; returns how many rows went (0 or 1).
pub(crate) async fn delete<C: ConnectionTrait>(conn: &C, org: OrgId, user: UserId) -> Result<u64, Error> {
    Ok(listone_core::db::execute(
        conn,
        "DELETE FROM user_mfa WHERE org_id = $1 AND user_id = $2",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
    )
    .await?)
}

fn step_value(step: u64) -> Result<i64, Error> {
    i64::try_from(step).map_err(|_| Error::internal("TOTP step out of range"))
}

fn algorithm_from_name(name: &str) -> Result<TotpAlgorithm, Error> {
    [TotpAlgorithm::Sha1, TotpAlgorithm::Sha256, TotpAlgorithm::Sha512]
        .into_iter()
        .find(|algorithm| algorithm.uri_name() == name)
        .ok_or_else(|| Error::internal("unknown TOTP algorithm in user_mfa"))
}

fn digits_from_count(count: i32) -> Result<TotpDigits, Error> {
    [TotpDigits::Six, TotpDigits::Eight]
        .into_iter()
        .find(|digits| i64::from(digits.count()) == i64::from(count))
        .ok_or_else(|| Error::internal("unknown TOTP digit count in user_mfa"))
}
