//! The OAuth grants store: what users authorized clients to do, and the rules of the codes and
//! refresh tokens that carry it.
//!
//! A [`Grant`] is one authorization and the family of refresh tokens descending from it. Its
//! authorization code (60 seconds, single use, bound to the client, the redirect URI and a PKCE
//! challenge) and its refresh tokens are 256 random bits shown once; only their SHA-256 is
//! stored. Refresh tokens rotate: each is spent when used and a successor issued, and a spent
//! one presented again revokes the whole family (OAuth 2.0 Security BCP §4.14.2), as does a
//! second use of a code (RFC 6749 §4.1.2). Deactivating or deleting a user revokes their
//! grants in the same transaction ([`revoke_user_grants`]); signing out of a browser session
//! does not (offline access outlives it).
//!
//! Every outcome is audited — success and each refusal — in the grant's organization log, or in
//! the [`PLATFORM_LOG`] for tokens nobody issued; details name the client, the grant and the
//! reason, never a token, a code or personal data.
//!
//! - [`code`](GrantStore::issue_code): issuing and redeeming authorization codes.
//! - [`refresh`](GrantStore::rotate_refresh): rotation, reuse detection, RFC 7009 revocation.
//! - [`consent`](GrantStore::record_consent): scopes a user already approved per client.
//! - [`revocation`](GrantStore::sweep): families, a user's grants, access tokens by `jti`, sweep.

use chrono::{DateTime, Duration, Utc};
use listone_audit::{ActorKind, AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, OrgId, Secret, SessionId, SharedClock, UserId};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult, Value};
use uuid::Uuid;

use crate::oidc::clients::{MAX_REDIRECT_URI_CHARS, MAX_SCOPE_CHARS, MAX_SCOPES, PLATFORM_LOG};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::org::OrgStatus;

mod code;
mod consent;
mod model;
pub mod pkce;
mod refresh;
mod revocation;

pub use model::{Grant, GrantId, NewAuthorization, RefreshTokenInfo};
use model::{Refusal, find_grant, find_refresh, grant_refusal};
pub use revocation::revoke_user_grants;

/// How long an authorization code can be redeemed.
pub const CODE_TTL: Duration = Duration::seconds(60);
/// What every authorization code starts with, so secret scanners can spot one.
pub const CODE_PREFIX: &str = "lo_code_";
/// What every refresh token starts with.
pub const REFRESH_TOKEN_PREFIX: &str = "lo_refresh_";
/// Random bytes in a code or refresh token (256 bits).
pub const TOKEN_BYTES: usize = 32;
/// Longest code or refresh token looked up; a longer one is unknown unread.
pub const MAX_TOKEN_CHARS: usize = 256;
/// Longest client id stored with a grant.
pub const MAX_CLIENT_ID_CHARS: usize = 64;
/// Longest `nonce`.
pub const MAX_NONCE_CHARS: usize = 255;
/// Longest access-token `jti`.
pub const MAX_JTI_CHARS: usize = 64;

/// Audit actions of this store.
pub mod actions {
    /// A code was issued (the user authorized a client).
    pub const AUTHORIZE: &str = "identity.oauth.authorize";
    /// A code was redeemed, or refused.
    pub const CODE_REDEEM: &str = "identity.oauth.code_redeem";
    /// A refresh token was rotated, or refused.
    pub const REFRESH: &str = "identity.oauth.refresh";
    /// A spent refresh token came back: its family was revoked.
    pub const REFRESH_REUSE: &str = "identity.oauth.refresh_reuse";
    /// A token was revoked (RFC 7009), or the request refused.
    pub const REVOKE: &str = "identity.oauth.revoke";
    /// A user approved scopes for a client.
    pub const CONSENT: &str = "identity.oauth.consent";
}

/// Grants, codes, refresh tokens, consents and revoked access tokens of every organization.
#[derive(Debug, Clone)]
pub struct GrantStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
}

impl GrantStore {
    /// A store reading time from `clock` and recording outcomes with `audit`.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder) -> Self {
        Self { db, clock, audit }
    }

    /// The grant `id`, revoked or not, while it is kept (until [`GrantStore::sweep`] after its end).
    pub async fn grant(&self, id: GrantId) -> Result<Option<Grant>, Error> {
        find_grant(self.db.conn(), id).await
    }

    /// Whether grant `id` can still be used: not revoked, before its family end, its user
    /// active and its organization not suspended. (Resource servers ask this for access tokens.)
    pub async fn is_grant_active(&self, id: GrantId) -> Result<bool, Error> {
        let conn = self.db.conn();
        let Some(grant) = find_grant(conn, id).await? else { return Ok(false) };
        Ok(grant_refusal(conn, &grant, self.clock.now()).await?.is_none())
    }

    /// What introspection (RFC 7662) says about a refresh token; `None` for unknown tokens.
    pub async fn refresh_token_info(&self, token: &str) -> Result<Option<RefreshTokenInfo>, Error> {
        if token.len() > MAX_TOKEN_CHARS {
            return Ok(None);
        }
        let conn = self.db.conn();
        let now = self.clock.now();
        let Some(row) = find_refresh(conn, &token_hash(token)).await? else { return Ok(None) };
        let grant =
            find_grant(conn, row.grant_id).await?.ok_or_else(|| Error::internal("refresh token without grant"))?;
        let usable = row.used_at.is_none() && now < row.expires_at;
        let active = usable && grant_refusal(conn, &grant, now).await?.is_none();
        Ok(Some(RefreshTokenInfo { grant, client_id: row.client_id, expires_at: row.expires_at, active }))
    }

    /// Records `entry` in `conn` (the caller's transaction).
    async fn record<C: ConnectionTrait>(&self, conn: &C, entry: Entry, ctx: RequestContext) -> Result<(), Error> {
        let mut event = AuditEvent::new(entry.org, entry.actor, entry.action, entry.outcome, self.clock.now())
            .with_context(ctx)
            .with_details(serde_json::Value::Object(entry.details));
        if let Some(grant) = entry.grant {
            event = event.with_resource("identity.oauth.grant", Some(grant.to_string()));
        }
        self.audit.record(conn, event).await.map(|_| ())
    }

    /// Records the refusal with whatever `txn` already holds, commits, and gives the error to
    /// answer (`server_error` when the record itself fails).
    async fn refuse(
        &self,
        txn: DatabaseTransaction,
        entry: Entry,
        refusal: Refusal,
        ctx: RequestContext,
    ) -> OAuthError {
        let recorded = async {
            self.record(&txn, entry.refused(&refusal), ctx).await?;
            txn.commit().await.map_err(Error::from)
        };
        match recorded.await {
            Ok(()) => refusal.error,
            Err(e) => OAuthError::from(e),
        }
    }
}

/// One audit entry of this store, before it is stamped.
#[derive(Debug, Clone)]
struct Entry {
    org: OrgId,
    actor: AuditActor,
    action: &'static str,
    outcome: Outcome,
    grant: Option<GrantId>,
    details: serde_json::Map<String, serde_json::Value>,
}

impl Entry {
    /// `action` by the client presenting a token, about `grant` (the platform log when unknown).
    fn by_client(action: &'static str, client_id: &str, grant: Option<&Grant>) -> Self {
        let client = audited_client_id(client_id);
        let actor = AuditActor { kind: ActorKind::Service, id: Some(client.clone()) };
        let entry = Self::about(action, actor, grant.map_or(PLATFORM_LOG, |g| g.org_id), grant.map(|g| g.id));
        entry.with("client_id", client)
    }

    /// `action` by the user holding the grant.
    fn by_user(action: &'static str, org: OrgId, user: UserId, client_id: &str, grant: Option<GrantId>) -> Self {
        let actor = AuditActor { kind: ActorKind::User, id: Some(user.to_string()) };
        Self::about(action, actor, org, grant).with("client_id", audited_client_id(client_id))
    }

    fn about(action: &'static str, actor: AuditActor, org: OrgId, grant: Option<GrantId>) -> Self {
        let mut details = serde_json::Map::new();
        if let Some(grant) = grant {
            details.insert("grant_id".to_owned(), grant.to_string().into());
        }
        Self { org, actor, action, outcome: Outcome::Allowed, grant, details }
    }

    /// Adds one detail.
    fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    fn refused(self, refusal: &Refusal) -> Self {
        self.refusal(refusal.outcome, refusal.reason)
    }

    /// Marks the entry a refusal for `reason`.
    fn refusal(self, outcome: Outcome, reason: &'static str) -> Self {
        Self { outcome, ..self }.with("reason", reason)
    }
}

/// A client id fit for the audit log: registered ids are at most 64 characters; anything
/// else a caller passed on is recorded as `unknown`.
fn audited_client_id(client_id: &str) -> String {
    let fits = !client_id.is_empty()
        && client_id.len() <= MAX_CLIENT_ID_CHARS
        && client_id.bytes().all(|b| b.is_ascii_graphic());
    if fits { client_id.to_owned() } else { "unknown".to_owned() }
}

/// A fresh code or refresh token: `prefix` and 256 random bits.
fn new_token(prefix: &str) -> Result<Secret<String>, Error> {
    Ok(Secret::new(format!("{prefix}{}", listone_crypto::random_token(TOKEN_BYTES)?)))
}

/// What is stored of a code or refresh token.
fn token_hash(token: &str) -> Vec<u8> {
    listone_crypto::sha256(token.as_bytes()).to_vec()
}

/// Inserts a refresh token of `grant` ending at `now + ttl` or the family end, whichever is first.
async fn insert_refresh_token<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Secret<String>, Error> {
    let token = new_token(REFRESH_TOKEN_PREFIX)?;
    let expires_at = (now + ttl).min(grant.expires_at);
    listone_core::db::execute(
        conn,
        "INSERT INTO oauth_refresh_token (token_hash, grant_id, client_id, created_at_us, expires_at_us, used_at_us) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
        [
            Value::from(token_hash(token.expose())),
            Value::from(grant.id.as_uuid()),
            Value::from(grant.client_id.clone()),
            Value::from(now.timestamp_micros()),
            Value::from(expires_at.timestamp_micros()),
        ],
    )
    .await?;
    Ok(token)
}
