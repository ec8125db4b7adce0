//! Authorization codes: issued with their grant when the user approves, redeemed once at the
//! token endpoint (RFC 6749 §4.1, RFC 7636).

use super::model::{CodeRow, find_code};
use super::pkce::PkceFailure;
use super::*;

/// The scope that asks for a refresh token.
const OFFLINE_ACCESS: &str = "offline_access";

const UNKNOWN_CODE: Refusal =
    Refusal::failed("unknown_code", OAuthError::invalid_grant("the authorization code is not valid"));
const CODE_REUSED: Refusal =
    Refusal::denied("code_reused", OAuthError::invalid_grant("the authorization code was already used"));
const CODE_EXPIRED: Refusal =
    Refusal::failed("code_expired", OAuthError::invalid_grant("the authorization code has expired"));
const CLIENT_MISMATCH: Refusal = Refusal::denied(
    "client_mismatch",
    OAuthError::invalid_grant("the authorization code was issued to another client"),
);
const REDIRECT_MISMATCH: Refusal = Refusal::failed(
    "redirect_uri_mismatch",
    OAuthError::invalid_grant("redirect_uri does not match the authorization request"),
);
const PKCE_MISSING: Refusal =
    Refusal::failed("pkce_missing", OAuthError::invalid_grant("code_verifier is required for this code"));
const PKCE_MALFORMED: Refusal = Refusal::failed(
    "pkce_malformed",
    OAuthError::invalid_request("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~"),
);
const PKCE_MISMATCH: Refusal =
    Refusal::failed("pkce_mismatch", OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
const PKCE_UNEXPECTED: Refusal = Refusal::failed(
    "pkce_unexpected",
    OAuthError::invalid_grant("code_verifier sent but the authorization request had no code_challenge"),
);

impl GrantStore {
    /// Records the grant the user just approved and returns its authorization code (valid for
    /// [`CODE_TTL`], shown once). Audited as `identity.oauth.authorize`.
    pub async fn issue_code(&self, auth: NewAuthorization, ctx: RequestContext) -> Result<Secret<String>, OAuthError> {
        let now = self.clock.now();
        let grant_id = GrantId::new();
        let entry = Entry::by_user(actions::AUTHORIZE, auth.org_id, auth.user_id, &auth.client_id, Some(grant_id));
        let txn = self.db.begin().await.map_err(Error::from)?;
        if let Some(refusal) = auth.refusal() {
            return Err(self.refuse(txn, entry, refusal, ctx).await);
        }
        listone_core::db::execute(
            &txn,
            "INSERT INTO oauth_grant (id, org_id, user_id, client_id, scopes, session_id, auth_time_us, created_at_us, \
             expires_at_us, revoked_at_us, revoked_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)",
            [
                Value::from(grant_id.as_uuid()),
                Value::from(auth.org_id.as_uuid()),
                Value::from(auth.user_id.as_uuid()),
                Value::from(auth.client_id.clone()),
                Value::from(model::join_scopes(&auth.scopes)),
                Value::from(auth.session_id.map(|s| s.as_uuid())),
                Value::from(auth.auth_time.timestamp_micros()),
                Value::from(now.timestamp_micros()),
                Value::from((now + auth.family_ttl).timestamp_micros()),
            ],
        )
        .await
        .map_err(Error::from)?;
        let code = new_token(CODE_PREFIX)?;
        listone_core::db::execute(
            &txn,
            "INSERT INTO oauth_authorization_code (code_hash, grant_id, client_id, redirect_uri, code_challenge, nonce, \
             created_at_us, expires_at_us, used_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
            [
                Value::from(token_hash(code.expose())),
                Value::from(grant_id.as_uuid()),
                Value::from(auth.client_id.clone()),
                Value::from(auth.redirect_uri.clone()),
                Value::from(auth.code_challenge.clone()),
                Value::from(auth.nonce.clone()),
                Value::from(now.timestamp_micros()),
                Value::from((now + CODE_TTL).timestamp_micros()),
            ],
        )
        .await
        .map_err(Error::from)?;
        let entry = entry
            .with("scopes", auth.scopes.clone())
            .with("pkce", auth.code_challenge.is_some())
            .with("session", auth.session_id.is_some());
        self.record(&txn, entry, ctx).await?;
        txn.commit().await.map_err(Error::from)?;
        Ok(code)
    }

    /// Redeems an authorization code for `client_id`: the grant it stands for (with the
    /// request's `nonce`) and, when `refresh_ttl` is given and the grant has the
    /// `offline_access` scope, the family's first refresh token.
    ///
    /// The code is spent whatever happens next. Unknown, expired, another client's, a
    /// different `redirect_uri`, a failed PKCE check, a revoked grant or a user who can no
    /// longer sign in are `invalid_grant` (a malformed verifier `invalid_request`) and issue
    /// nothing. A code already spent revokes its grant and every token of it, committed before
    /// the error is returned (RFC 6749 §4.1.2). Audited as `identity.oauth.code_redeem`.
    pub async fn redeem_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
        refresh_ttl: Option<Duration>,
        ctx: RequestContext,
    ) -> Result<(Grant, Option<Secret<String>>), OAuthError> {
        let now = self.clock.now();
        let txn = self.db.begin().await.map_err(Error::from)?;
        let (hash, known) = if code.len() <= MAX_TOKEN_CHARS { (token_hash(code), true) } else { (Vec::new(), false) };
        // Spend first: of two concurrent redemptions exactly one finds the code unspent.
        let spent = if known {
            listone_core::db::execute(
                &txn,
                "UPDATE oauth_authorization_code SET used_at_us = $2 WHERE code_hash = $1 AND used_at_us IS NULL",
                [Value::from(hash.clone()), Value::from(now.timestamp_micros())],
            )
            .await
            .map_err(Error::from)?
        } else {
            0
        };
        let row = if known { find_code(&txn, &hash).await? } else { None };
        let Some(row) = row else {
            let entry = Entry::by_client(actions::CODE_REDEEM, client_id, None);
            return Err(self.refuse(txn, entry, UNKNOWN_CODE, ctx).await);
        };
        let mut grant = find_grant(&txn, row.grant_id).await?.ok_or_else(|| Error::internal("code without grant"))?;
        let entry = Entry::by_client(actions::CODE_REDEEM, client_id, Some(&grant));
        if spent == 0 {
            return Err(self.code_reused(txn, &grant, entry, ctx).await);
        }
        if let Some(refusal) =
            self.code_refusal(&txn, &row, &grant, client_id, redirect_uri, code_verifier, now).await?
        {
            return Err(self.refuse(txn, entry, refusal, ctx).await);
        }
        // A refresh token only for grants that asked to work offline (OIDC Core §11).
        let offline = grant.scopes.iter().any(|s| s == OFFLINE_ACCESS);
        let refresh = match refresh_ttl {
            Some(ttl) if offline => Some(insert_refresh_token(&txn, &grant, ttl, now).await?),
            _ => None,
        };
        self.record(&txn, entry.with("refresh_token", refresh.is_some()), ctx).await?;
        txn.commit().await.map_err(Error::from)?;
        grant.nonce = row.nonce;
        Ok((grant, refresh))
    }

    /// The first rule the redemption of a freshly spent code breaks, if any.
    #[allow(clippy::too_many_arguments)]
    async fn code_refusal<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &CodeRow,
        grant: &Grant,
        client_id: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Refusal>, Error> {
        if row.client_id != client_id {
            return Ok(Some(CLIENT_MISMATCH));
        }
        if let Some(refusal) = grant_refusal(conn, grant, now).await? {
            return Ok(Some(refusal));
        }
        if now >= row.expires_at {
            return Ok(Some(CODE_EXPIRED));
        }
        if row.redirect_uri.as_bytes() != redirect_uri.as_bytes() {
            return Ok(Some(REDIRECT_MISMATCH));
        }
        if let Err(failure) = pkce::check(row.code_challenge.as_deref(), code_verifier) {
            return Ok(Some(match failure {
                PkceFailure::Missing => PKCE_MISSING,
                PkceFailure::Malformed => PKCE_MALFORMED,
                PkceFailure::Mismatch => PKCE_MISMATCH,
                PkceFailure::Unexpected => PKCE_UNEXPECTED,
            }));
        }
        Ok(None)
    }

    /// A spent code came back: revokes its grant and every token of it, committed (nothing
    /// else was written in `txn`) before the caller answers with the error.
    async fn code_reused(
        &self,
        txn: DatabaseTransaction,
        grant: &Grant,
        entry: Entry,
        ctx: RequestContext,
    ) -> OAuthError {
        match revocation::revoke_family(&txn, grant.id, self.clock.now(), "code_reused").await {
            Ok(revoked) => self.refuse(txn, entry.with("grant_revoked", revoked > 0), CODE_REUSED, ctx).await,
            Err(e) => OAuthError::from(e),
        }
    }
}
