//! Consents: the scopes a user already approved for a client, so the consent screen is shown
//! only for what is new. Approvals accumulate (the union of every approval).

use super::*;

impl GrantStore {
    /// Whether `user` already approved every one of `scopes` for `client_id`.
    pub async fn has_consent(
        &self,
        org: OrgId,
        user: UserId,
        client_id: &str,
        scopes: &[String],
    ) -> Result<bool, Error> {
        let consented = consented_scopes(self.db.conn(), org, user, client_id).await?;
        Ok(consented.is_some_and(|have| scopes.iter().all(|s| have.contains(s))))
    }

    /// Records that `user` approved `scopes` for `client_id`, adding them to what they approved
    /// before; returns every scope now approved. Audited as `identity.oauth.consent`.
    pub async fn record_consent(
        &self,
        org: OrgId,
        user: UserId,
        client_id: &str,
        scopes: &[String],
        ctx: RequestContext,
    ) -> Result<Vec<String>, Error> {
        if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_CHARS {
            return Err(Error::invalid("client_id", "must be 1 to 64 characters"));
        }
        if scopes.iter().any(|s| s.is_empty() || s.len() > MAX_SCOPE_CHARS || s.contains(char::is_whitespace)) {
            return Err(Error::invalid("scopes", "must be words of 1 to 64 characters"));
        }
        let now = self.clock.now().timestamp_micros();
        let key = || [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(client_id.to_owned())];
        let txn = self.db.begin().await?;
        // Create the row if absent, then lock it, so concurrent approvals both end up in the union.
        let [o, u, c] = key();
        listone_core::db::execute(
            &txn,
            "INSERT INTO oauth_consent (org_id, user_id, client_id, scopes, granted_at_us) VALUES ($1, $2, $3, '', $4) \
             ON CONFLICT (org_id, user_id, client_id) DO NOTHING",
            [o, u, c, Value::from(now)],
        )
        .await?;
        listone_core::db::execute(
            &txn,
            "UPDATE oauth_consent SET granted_at_us = granted_at_us WHERE org_id = $1 AND user_id = $2 AND client_id = $3",
            key(),
        )
        .await?;
        let mut union = consented_scopes(&txn, org, user, client_id).await?.unwrap_or_default();
        let mut added = Vec::new();
        for scope in scopes {
            if !union.contains(scope) {
                union.push(scope.clone());
                added.push(scope.clone());
            }
        }
        let [o, u, c] = key();
        listone_core::db::execute(
            &txn,
            "UPDATE oauth_consent SET scopes = $4, granted_at_us = $5 WHERE org_id = $1 AND user_id = $2 AND client_id = $3",
            [o, u, c, Value::from(model::join_scopes(&union)), Value::from(now)],
        )
        .await?;
        let entry = Entry::by_user(actions::CONSENT, org, user, client_id, None)
            .with("scopes", union.clone())
            .with("added", added);
        self.record(&txn, entry, ctx).await?;
        txn.commit().await?;
        Ok(union)
    }
}

/// The scopes `user` approved for `client_id`; `None` when they never did.
async fn consented_scopes<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    client_id: &str,
) -> Result<Option<Vec<String>>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT scopes FROM oauth_consent WHERE org_id = $1 AND user_id = $2 AND client_id = $3",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(client_id.to_owned())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
    Ok(Some(model::split_scopes(&row.try_get::<String>("", "scopes")?)))
}
