//! Refresh tokens: rotation with reuse detection (OAuth 2.0 Security BCP §4.14.2) and
//! revocation by the client (RFC 7009).

use super::model::RefreshRow;
use super::*;

const UNKNOWN_TOKEN: Refusal =
    Refusal::failed("unknown_token", OAuthError::invalid_grant("the refresh token is not valid"));
const TOKEN_EXPIRED: Refusal =
    Refusal::failed("token_expired", OAuthError::invalid_grant("the refresh token has expired"));
const CLIENT_MISMATCH: Refusal =
    Refusal::denied("client_mismatch", OAuthError::invalid_grant("the refresh token was issued to another client"));
const TOKEN_REUSED: Refusal = Refusal::denied(
    "token_reused",
    OAuthError::invalid_grant("the refresh token was already used; the grant has been revoked"),
);
const SCOPE_EXCEEDS_GRANT: Refusal = Refusal::failed(
    "scope_exceeds_grant",
    OAuthError::new(OAuthErrorCode::InvalidScope, "the requested scope exceeds the scope granted"),
);
impl GrantStore {
    /// Exchanges a refresh token of `client_id` for its successor (valid `refresh_ttl`, never
    /// past the family end). `requested_scopes` may narrow the scopes of this response (the
    /// grant keeps its own); more than granted is `invalid_scope`. Unknown, expired, another
    /// client's, a revoked grant or a user who can no longer sign in are `invalid_grant`. A
    /// token already rotated revokes the whole family, committed, audited as
    /// `identity.oauth.refresh_reuse`, and is `invalid_grant`. Audited as `identity.oauth.refresh`.
    pub async fn rotate_refresh(
        &self,
        client_id: &str,
        token: &str,
        requested_scopes: Option<Vec<String>>,
        refresh_ttl: Duration,
        ctx: RequestContext,
    ) -> Result<(Grant, Secret<String>), OAuthError> {
        let now = self.clock.now();
        let txn = self.db.begin().await.map_err(Error::from)?;
        let hash = token_hash(token);
        let row = if token.len() <= MAX_TOKEN_CHARS { find_refresh(&txn, &hash).await? } else { None };
        let Some(row) = row else {
            let entry = Entry::by_client(actions::REFRESH, client_id, None);
            return Err(self.refuse(txn, entry, UNKNOWN_TOKEN, ctx).await);
        };
        let mut grant = find_grant(&txn, row.grant_id).await?.ok_or_else(|| Error::internal("token without grant"))?;
        let entry = Entry::by_client(actions::REFRESH, client_id, Some(&grant));
        if row.client_id != client_id {
            return Err(self.refuse(txn, entry, CLIENT_MISMATCH, ctx).await);
        }
        if grant.revoked_at.is_none() && row.used_at.is_some() {
            return Err(self.refresh_reused(txn, &grant, client_id, ctx).await);
        }
        if let Some(refusal) = rotation_refusal(&txn, &row, &grant, now).await? {
            return Err(self.refuse(txn, entry, refusal, ctx).await);
        }
        let requested = requested_scopes.filter(|s| !s.is_empty());
        if let Some(requested) = &requested {
            if !requested.iter().all(|s| grant.scopes.contains(s)) {
                return Err(self.refuse(txn, entry, SCOPE_EXCEEDS_GRANT, ctx).await);
            }
            grant.scopes.retain(|s| requested.contains(s));
        }
        // Spend last, so a refusal above leaves the token usable; of two concurrent rotations
        // exactly one spends it, and the other is a reuse.
        let spent = listone_core::db::execute(
            &txn,
            "UPDATE oauth_refresh_token SET used_at_us = $2 WHERE token_hash = $1 AND used_at_us IS NULL",
            [Value::from(hash), Value::from(now.timestamp_micros())],
        )
        .await
        .map_err(Error::from)?;
        if spent == 0 {
            return Err(self.refresh_reused(txn, &grant, client_id, ctx).await);
        }
        let successor = insert_refresh_token(&txn, &grant, refresh_ttl, now).await?;
        let entry = entry.with("scopes", grant.scopes.clone()).with("narrowed", requested.is_some());
        self.record(&txn, entry, ctx).await?;
        txn.commit().await.map_err(Error::from)?;
        Ok((grant, successor))
    }

    /// Revokes a refresh token of `client_id` and with it its whole grant (RFC 7009). Unknown
    /// tokens and another client's are `Ok` too (the spec answers 200), but revoke nothing;
    /// every case is audited as `identity.oauth.revoke`.
    pub async fn revoke(&self, client_id: &str, token: &str, ctx: RequestContext) -> Result<(), OAuthError> {
        let now = self.clock.now();
        let txn = self.db.begin().await.map_err(Error::from)?;
        let row = if token.len() <= MAX_TOKEN_CHARS { find_refresh(&txn, &token_hash(token)).await? } else { None };
        let Some(row) = row else {
            let entry = Entry::by_client(actions::REVOKE, client_id, None);
            return self.refused_quietly(txn, entry.refusal(Outcome::Failed, "unknown_token"), ctx).await;
        };
        let grant = find_grant(&txn, row.grant_id).await?.ok_or_else(|| Error::internal("token without grant"))?;
        let entry = Entry::by_client(actions::REVOKE, client_id, Some(&grant));
        if row.client_id != client_id {
            return self.refused_quietly(txn, entry.refusal(Outcome::Denied, "client_mismatch"), ctx).await;
        }
        let revoked = revocation::revoke_family(&txn, grant.id, now, "revoked_by_client").await?;
        let entry = entry.with("token_type", "refresh_token").with("already_revoked", revoked == 0);
        self.record(&txn, entry, ctx).await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(())
    }

    /// Records a refusal the client is not told about (RFC 7009 answers 200 regardless).
    async fn refused_quietly(
        &self,
        txn: DatabaseTransaction,
        entry: Entry,
        ctx: RequestContext,
    ) -> Result<(), OAuthError> {
        self.record(&txn, entry, ctx).await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(())
    }

    /// A rotated token came back: someone holds a copy. Revokes the family, committed (nothing
    /// else was written in `txn`), audited as `identity.oauth.refresh_reuse`.
    async fn refresh_reused(
        &self,
        txn: DatabaseTransaction,
        grant: &Grant,
        client_id: &str,
        ctx: RequestContext,
    ) -> OAuthError {
        match revocation::revoke_family(&txn, grant.id, self.clock.now(), "refresh_reused").await {
            Ok(revoked) => {
                let entry = Entry::by_client(actions::REFRESH_REUSE, client_id, Some(grant));
                self.refuse(txn, entry.with("grant_revoked", revoked > 0), TOKEN_REUSED, ctx).await
            }
            Err(e) => OAuthError::from(e),
        }
    }
}

/// Why a token of the right client cannot be rotated at `now` (its grant unusable, or the
/// token itself expired), if it cannot.
async fn rotation_refusal<C: ConnectionTrait>(
    conn: &C,
    row: &RefreshRow,
    grant: &Grant,
    now: DateTime<Utc>,
) -> Result<Option<Refusal>, Error> {
    if let Some(refusal) = grant_refusal(conn, grant, now).await? {
        return Ok(Some(refusal));
    }
    Ok((now >= row.expires_at).then_some(TOKEN_EXPIRED))
}
