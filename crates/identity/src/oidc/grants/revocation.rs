//! Ending grants: a whole family at once, every grant of a user (deactivation, deletion),
//! single access tokens by `jti` until they would expire anyway, and the sweep of what has
//! outlived its use.

use super::*;

/// Revokes grant `id` and cuts every code and refresh token of it short at `now`. Returns 1
/// when it was active, 0 when it was already revoked (its tokens are cut all the same).
pub(super) async fn revoke_family<C: ConnectionTrait>(
    conn: &C,
    id: GrantId,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<u64, Error> {
    let at = Value::from(now.timestamp_micros());
    for table in ["oauth_refresh_token", "oauth_authorization_code"] {
        listone_core::db::execute(
            conn,
            &format!("UPDATE {table} SET expires_at_us = $2 WHERE grant_id = $1 AND expires_at_us > $2"),
            [Value::from(id.as_uuid()), at.clone()],
        )
        .await?;
    }
    Ok(listone_core::db::execute(
        conn,
        "UPDATE oauth_grant SET revoked_at_us = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at_us IS NULL",
        [Value::from(id.as_uuid()), at, Value::from(reason.to_owned())],
    )
    .await?)
}

/// Revokes every active grant of `user` in `conn` (the deactivating or deleting transaction),
/// with their codes and refresh tokens; returns how many grants. `reason` is at most 32 characters.
pub async fn revoke_user_grants<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<u64, Error> {
    let params = || [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(now.timestamp_micros())];
    for table in ["oauth_refresh_token", "oauth_authorization_code"] {
        listone_core::db::execute(
            conn,
            &format!(
                "UPDATE {table} SET expires_at_us = $3 WHERE expires_at_us > $3 AND grant_id IN \
                 (SELECT id FROM oauth_grant WHERE org_id = $1 AND user_id = $2 AND revoked_at_us IS NULL)"
            ),
            params(),
        )
        .await?;
    }
    let [org, user, at] = params();
    Ok(listone_core::db::execute(
        conn,
        "UPDATE oauth_grant SET revoked_at_us = $3, revoked_reason = $4 \
         WHERE org_id = $1 AND user_id = $2 AND revoked_at_us IS NULL",
        [org, user, at, Value::from(reason.to_owned())],
    )
    .await?)
}

impl GrantStore {
    /// [`revoke_user_grants`] at the store's clock, inside the caller's transaction.
    pub async fn revoke_user_grants_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
        reason: &str,
    ) -> Result<u64, Error> {
        revoke_user_grants(conn, org, user, self.clock.now(), reason).await
    }

    /// Lists access token `jti` of `org` as revoked until `expires_at` (when it would stop
    /// working anyway). Revoking it again changes nothing. Audited as `identity.oauth.revoke`.
    pub async fn revoke_access_token(
        &self,
        org: OrgId,
        jti: &str,
        expires_at: DateTime<Utc>,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        if jti.is_empty() || jti.len() > MAX_JTI_CHARS || !jti.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("jti", "must be 1 to 64 printable ASCII characters"));
        }
        let txn = self.db.begin().await?;
        let inserted = listone_core::db::execute(
            &txn,
            "INSERT INTO oauth_revoked_access_token (jti, org_id, expires_at_us) VALUES ($1, $2, $3) \
             ON CONFLICT (jti) DO NOTHING",
            [Value::from(jti.to_owned()), Value::from(org.as_uuid()), Value::from(expires_at.timestamp_micros())],
        )
        .await?;
        let actor = AuditActor { kind: ActorKind::System, id: None };
        let entry = Entry::about(actions::REVOKE, actor, org, None)
            .with("token_type", "access_token")
            .with("jti", jti)
            .with("already_revoked", inserted == 0);
        self.record(&txn, entry, ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Whether access token `jti` was revoked (and its listing not yet swept).
    pub async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, Error> {
        if jti.len() > MAX_JTI_CHARS {
            return Ok(false);
        }
        let n = listone_core::db::count(
            self.db.conn(),
            "SELECT COUNT(*) AS n FROM oauth_revoked_access_token WHERE jti = $1",
            [Value::from(jti.to_owned())],
        )
        .await?;
        Ok(n > 0)
    }

    /// Deletes what no longer decides anything at `now`: expired codes, grants past their
    /// family end with all their tokens (spent and revoked tokens are kept until then, so a
    /// reuse is still recognized), and revoked access tokens past their expiry. Returns how
    /// many rows. For the maintenance loop.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, Error> {
        const ENDED: &str = "SELECT id FROM oauth_grant WHERE expires_at_us <= $1";
        let statements = [
            format!("DELETE FROM oauth_refresh_token WHERE grant_id IN ({ENDED})"),
            format!("DELETE FROM oauth_authorization_code WHERE expires_at_us <= $1 OR grant_id IN ({ENDED})"),
            "DELETE FROM oauth_revoked_access_token WHERE expires_at_us <= $1".to_owned(),
            "DELETE FROM oauth_grant WHERE expires_at_us <= $1".to_owned(),
        ];
        let txn = self.db.begin().await?;
        let mut deleted = 0;
        for sql in statements {
            deleted += listone_core::db::execute(&txn, &sql, [Value::from(now.timestamp_micros())]).await?;
        }
        txn.commit().await?;
        Ok(deleted)
    }
}
