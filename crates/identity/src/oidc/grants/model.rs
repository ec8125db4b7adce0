//! What a grant is (one authorization of a client by a user, the family of its refresh
//! tokens), the authorization to record, introspection answers, and how rows are read.

use super::*;

/// Identifies a grant (a refresh-token family); a UUIDv7.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantId(Uuid);

impl GrantId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an existing UUID (read from the database or a token claim).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// Parses the textual form; `None` when it is not a UUID.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text.trim()).ok().map(Self)
    }
}

impl Default for GrantId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl std::fmt::Debug for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrantId({})", self.0.hyphenated())
    }
}

/// What a user authorized a client to do: the state behind a code and its refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Id (the refresh-token family).
    pub id: GrantId,
    /// Tenant of the user.
    pub org_id: OrgId,
    /// Who authorized.
    pub user_id: UserId,
    /// To whom.
    pub client_id: String,
    /// Scopes granted; after a refresh asking for fewer, the narrowed scopes of that response.
    pub scopes: Vec<String>,
    /// The browser session that authorized, if any.
    pub session_id: Option<SessionId>,
    /// When the user last authenticated before authorizing (`auth_time`).
    pub auth_time: DateTime<Utc>,
    /// The authorization request's `nonce`: set only on the grant a code redemption returns.
    pub nonce: Option<String>,
    /// Absolute end of the family: no refresh token outlives it.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An authorization the user just approved, to be turned into a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorization {
    /// Tenant of the user.
    pub org_id: OrgId,
    /// Who authorized.
    pub user_id: UserId,
    /// The client (already checked to exist, be enabled and allow these scopes).
    pub client_id: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The browser session that authorized.
    pub session_id: Option<SessionId>,
    /// When the user last authenticated.
    pub auth_time: DateTime<Utc>,
    /// The registered redirect URI the code is sent to; the redemption must repeat it exactly.
    pub redirect_uri: String,
    /// The S256 PKCE challenge (43 characters of base64url), when the client sent one.
    pub code_challenge: Option<String>,
    /// The OpenID Connect `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// Lifetime of the whole family (the client's refresh-token lifetime).
    pub family_ttl: Duration,
}

impl NewAuthorization {
    /// The first rule the authorization breaks (the caller validated it; this guards storage).
    pub(super) fn refusal(&self) -> Option<Refusal> {
        let request = |reason, description| Some(Refusal::failed(reason, OAuthError::invalid_request(description)));
        if self.client_id.is_empty() || self.client_id.len() > MAX_CLIENT_ID_CHARS {
            return request("client_id_invalid", "client_id must be 1 to 64 characters");
        }
        if !valid_scopes(&self.scopes) {
            let error = OAuthError::new(OAuthErrorCode::InvalidScope, "scope must be space-separated printable words");
            return Some(Refusal::failed("scope_invalid", error));
        }
        if self.redirect_uri.is_empty() || self.redirect_uri.len() > MAX_REDIRECT_URI_CHARS {
            return request("redirect_uri_invalid", "redirect_uri must be 1 to 2000 characters");
        }
        if self.code_challenge.as_deref().is_some_and(|c| !pkce::is_valid_challenge(c)) {
            return request("pkce_challenge_invalid", "code_challenge must be 43 characters of base64url (S256)");
        }
        if self.nonce.as_deref().is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NONCE_CHARS) {
            return request("nonce_invalid", "nonce must be 1 to 255 characters");
        }
        if self.family_ttl <= Duration::zero() {
            return request("family_ttl_invalid", "the refresh-token lifetime must be positive");
        }
        None
    }
}

/// A refresh token as introspection (RFC 7662) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenInfo {
    /// The grant it belongs to.
    pub grant: Grant,
    /// The client it was issued to.
    pub client_id: String,
    /// When it stops working on its own.
    pub expires_at: DateTime<Utc>,
    /// Usable now: not yet rotated, not expired, its grant active and its user able to sign in.
    pub active: bool,
}

/// A refused request: the reason recorded in the audit log and the error answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// Snake-case reason for the audit details.
    pub reason: &'static str,
    /// `failed` for bad input, `denied` for a policy refusal.
    pub outcome: Outcome,
    /// What the client is told.
    pub error: OAuthError,
}

impl Refusal {
    /// A refusal of bad or stale input.
    pub const fn failed(reason: &'static str, error: OAuthError) -> Self {
        Self { reason, outcome: Outcome::Failed, error }
    }

    /// A refusal by policy (another client's token, reuse).
    pub const fn denied(reason: &'static str, error: OAuthError) -> Self {
        Self { reason, outcome: Outcome::Denied, error }
    }
}

/// Scopes as stored: one space-separated text.
pub(super) fn join_scopes(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Scopes as read back.
pub(super) fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Every scope a non-empty word of printable ASCII other than space, `"` and `\` (RFC 6749 §3.3).
fn valid_scopes(scopes: &[String]) -> bool {
    scopes.len() <= MAX_SCOPES
        && scopes.iter().all(|s| {
            !s.is_empty()
                && s.len() <= MAX_SCOPE_CHARS
                && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        })
}

pub(super) const GRANT_SELECT: &str = "id, org_id, user_id, client_id, scopes, session_id, auth_time_us, \
    expires_at_us, revoked_at_us FROM oauth_grant";

fn at(us: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| Error::internal("timestamp out of range"))
}

pub(super) fn grant_from_row(row: &QueryResult) -> Result<Grant, Error> {
    let session: Option<Uuid> = row.try_get("", "session_id")?;
    Ok(Grant {
        id: GrantId::from_uuid(row.try_get("", "id")?),
        org_id: OrgId::from_uuid(row.try_get("", "org_id")?),
        user_id: UserId::from_uuid(row.try_get("", "user_id")?),
        client_id: row.try_get("", "client_id")?,
        scopes: split_scopes(&row.try_get::<String>("", "scopes")?),
        session_id: session.map(SessionId::from_uuid),
        auth_time: at(row.try_get("", "auth_time_us")?)?,
        nonce: None,
        expires_at: at(row.try_get("", "expires_at_us")?)?,
        revoked_at: row.try_get::<Option<i64>>("", "revoked_at_us")?.map(at).transpose()?,
    })
}

/// The grant `id`, if it still exists.
pub(super) async fn find_grant<C: ConnectionTrait>(conn: &C, id: GrantId) -> Result<Option<Grant>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        &format!("SELECT {GRANT_SELECT} WHERE id = $1"),
        [Value::from(id.as_uuid())],
    );
    conn.query_one_raw(stmt).await?.as_ref().map(grant_from_row).transpose()
}

/// An authorization code as stored (its hash is the key).
#[derive(Debug, Clone)]
pub(super) struct CodeRow {
    pub grant_id: GrantId,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: DateTime<Utc>,
}

pub(super) async fn find_code<C: ConnectionTrait>(conn: &C, hash: &[u8]) -> Result<Option<CodeRow>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT grant_id, client_id, redirect_uri, code_challenge, nonce, expires_at_us \
         FROM oauth_authorization_code WHERE code_hash = $1",
        [Value::from(hash.to_vec())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
    Ok(Some(CodeRow {
        grant_id: GrantId::from_uuid(row.try_get("", "grant_id")?),
        client_id: row.try_get("", "client_id")?,
        redirect_uri: row.try_get("", "redirect_uri")?,
        code_challenge: row.try_get("", "code_challenge")?,
        nonce: row.try_get("", "nonce")?,
        expires_at: at(row.try_get("", "expires_at_us")?)?,
    }))
}

/// A refresh token as stored (its hash is the key).
#[derive(Debug, Clone)]
pub(super) struct RefreshRow {
    pub grant_id: GrantId,
    pub client_id: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

pub(super) async fn find_refresh<C: ConnectionTrait>(conn: &C, hash: &[u8]) -> Result<Option<RefreshRow>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT grant_id, client_id, expires_at_us, used_at_us FROM oauth_refresh_token WHERE token_hash = $1",
        [Value::from(hash.to_vec())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
    Ok(Some(RefreshRow {
        grant_id: GrantId::from_uuid(row.try_get("", "grant_id")?),
        client_id: row.try_get("", "client_id")?,
        expires_at: at(row.try_get("", "expires_at_us")?)?,
        used_at: row.try_get::<Option<i64>>("", "used_at_us")?.map(at).transpose()?,
    }))
}

/// Whether the grant's holder may still use it: the user active, the organization not
/// suspended; the refusal otherwise.
pub(super) async fn holder_refusal<C: ConnectionTrait>(conn: &C, grant: &Grant) -> Result<Option<Refusal>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT u.status AS user_status, o.status AS org_status FROM app_user u JOIN org o ON o.id = u.org_id \
         WHERE u.org_id = $1 AND u.id = $2",
        [Value::from(grant.org_id.as_uuid()), Value::from(grant.user_id.as_uuid())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else {
        return Ok(Some(USER_INACTIVE));
    };
    let user: String = row.try_get("", "user_status")?;
    let org: String = row.try_get("", "org_status")?;
    Ok(if user != "active" {
        Some(USER_INACTIVE)
    } else if org != OrgStatus::Active.key() {
        Some(ORG_SUSPENDED)
    } else {
        None
    })
}

/// Why `grant` cannot be used at `now` (revoked, past its family end, holder inactive), if it cannot.
pub(super) async fn grant_refusal<C: ConnectionTrait>(
    conn: &C,
    grant: &Grant,
    now: DateTime<Utc>,
) -> Result<Option<Refusal>, Error> {
    if grant.revoked_at.is_some() {
        return Ok(Some(GRANT_REVOKED));
    }
    if now >= grant.expires_at {
        return Ok(Some(GRANT_EXPIRED));
    }
    holder_refusal(conn, grant).await
}

const GRANT_REVOKED: Refusal =
    Refusal::failed("grant_revoked", OAuthError::invalid_grant("the grant has been revoked"));
const GRANT_EXPIRED: Refusal = Refusal::failed("grant_expired", OAuthError::invalid_grant("the grant has expired"));
const USER_INACTIVE: Refusal =
    Refusal::denied("user_inactive", OAuthError::invalid_grant("the user can no longer sign in"));
const ORG_SUSPENDED: Refusal =
    Refusal::denied("org_suspended", OAuthError::invalid_grant("the organization is suspended"));
