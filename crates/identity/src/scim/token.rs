//! SCIM bearer tokens, one set per organization: a directory (Azure AD, Okta, ...) provisions
//! with one. The token (256 random bits) is shown once at creation; only its SHA-256 is stored,
//! so reading the database yields no usable token. Creation and revocation are audited.

use chrono::{DateTime, Duration, Utc};
use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, OrgId, Secret, SharedClock, Violations};
use sea_orm::{ConnectionTrait, QueryResult, Value};

/// Random bytes in a token.
pub const SCIM_TOKEN_BYTES: usize = 32;
/// What every token starts with, so secret scanners can spot a leaked one.
pub const SCIM_TOKEN_PREFIX: &str = "lo_scim_";
/// Longest token name.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;
/// Longest lifetime a token may be given.
pub const MAX_TOKEN_TTL: Duration = Duration::days(3650);
/// `last_used_at` is written at most this often per token.
pub const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

/// A SCIM token as listed; never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimToken {
    /// Tenant the token provisions into.
    pub org_id: OrgId,
    /// Id (in audit events as `scim-token:<id>`).
    pub id: uuid::Uuid,
    /// What the administrator called it, e.g. the directory's name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// SCIM tokens of every organization.
#[derive(Debug, Clone)]
pub struct ScimTokenStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
}

const TOKEN_SELECT: &str =
    "org_id, id, name, created_at_us, expires_at_us, last_used_at_us, revoked_at_us FROM scim_token";

fn unauthenticated() -> Error {
    Error::Unauthenticated { message: "the SCIM token is not valid".to_owned() }
}

impl ScimTokenStore {
    /// A store recording changes with `audit`.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder) -> Self {
        Self { db, clock, audit }
    }

    /// Creates a token for `org` valid for `ttl` (or until revoked); returns it with the only
    /// copy of the token. Audited as `identity.scim_token.create`.
    pub async fn create(
        &self,
        org: OrgId,
        name: &str,
        ttl: Option<Duration>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(ScimToken, Secret<String>), Error> {
        let mut v = Violations::new();
        let name = name.trim();
        v.check(
            name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS || name.chars().any(char::is_control),
            "name",
            "must be 1 to 100 characters without control characters",
        );
        v.check(
            ttl.is_some_and(|ttl| ttl <= Duration::zero() || ttl > MAX_TOKEN_TTL),
            "ttl",
            "must be between 1 second and 3650 days",
        );
        v.into_result()?;
        let now = self.clock.now();
        let id = uuid::Uuid::now_v7();
        let token = format!("{SCIM_TOKEN_PREFIX}{}", listone_crypto::random_token(SCIM_TOKEN_BYTES)?);
        let expires_at = ttl.map(|ttl| now + ttl);
        let txn = self.db.begin().await?;
        let org_exists =
            listone_core::db::count(&txn, "SELECT COUNT(*) AS n FROM org WHERE id = $1", [Value::from(org.as_uuid())])
                .await?;
        if org_exists == 0 {
            return Err(Error::NotFound { resource: "organization" });
        }
        listone_core::db::execute(
            &txn,
            "INSERT INTO scim_token (org_id, id, name, token_hash, created_at_us, expires_at_us, last_used_at_us, \
             revoked_at_us) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)",
            [
                Value::from(org.as_uuid()),
                Value::from(id),
                Value::from(name.to_owned()),
                Value::from(listone_crypto::sha256(token.as_bytes()).to_vec()),
                Value::from(now.timestamp_micros()),
                Value::from(expires_at.map(|at| at.timestamp_micros())),
            ],
        )
        .await?;
        let details = serde_json::json!({ "expires_at": expires_at.map(|at| at.to_rfc3339()) });
        self.record(&txn, org, id, actor, "identity.scim_token.create", ctx, details).await?;
        let created = self.find(&txn, org, id).await?.ok_or_else(|| Error::internal("created token not readable"))?;
        txn.commit().await?;
        Ok((created, Secret::new(token)))
    }

    /// The tokens of `org`, oldest first, revoked and expired ones included.
    pub async fn list(&self, org: OrgId) -> Result<Vec<ScimToken>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {TOKEN_SELECT} WHERE org_id = $1 ORDER BY created_at_us, id"),
            [Value::from(org.as_uuid())],
        );
        conn.query_all_raw(stmt).await?.iter().map(token_from_row).collect()
    }

    /// Revokes a token at once (`identity.scim_token.revoke`); revoking it again changes
    /// nothing; another org's token is NOT_FOUND.
    pub async fn revoke(
        &self,
        org: OrgId,
        id: uuid::Uuid,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let now = self.clock.now().timestamp_micros();
        let txn = self.db.begin().await?;
        let token = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "scim token" })?;
        if token.revoked_at.is_some() {
            txn.commit().await?;
            return Ok(());
        }
        listone_core::db::execute(
            &txn,
            "UPDATE scim_token SET revoked_at_us = $3 WHERE org_id = $1 AND id = $2 AND revoked_at_us IS NULL",
            [Value::from(org.as_uuid()), Value::from(id), Value::from(now)],
        )
        .await?;
        self.record(&txn, org, id, actor, "identity.scim_token.revoke", ctx, serde_json::json!({})).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The token behind a bearer value; UNAUTHENTICATED when unknown, revoked, expired or of an
    /// organization that no longer exists. Records the use at most once a minute.
    pub async fn authenticate(&self, token: &Secret<String>) -> Result<ScimToken, Error> {
        let now = self.clock.now();
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT t.org_id, t.id, t.name, t.created_at_us, t.expires_at_us, t.last_used_at_us, t.revoked_at_us \
             FROM scim_token t JOIN org o ON o.id = t.org_id WHERE t.token_hash = $1",
            [Value::from(listone_crypto::sha256(token.expose().as_bytes()).to_vec())],
        );
        let found = conn.query_one_raw(stmt).await?.as_ref().map(token_from_row).transpose()?;
        let mut found = found.ok_or_else(unauthenticated)?;
        if found.revoked_at.is_some() || found.expires_at.is_some_and(|at| at <= now) {
            return Err(unauthenticated());
        }
        if found.last_used_at.is_none_or(|at| now - at >= LAST_USED_GRANULARITY) {
            listone_core::db::execute(
                conn,
                "UPDATE scim_token SET last_used_at_us = $3 WHERE org_id = $1 AND id = $2 \
                 AND (last_used_at_us IS NULL OR last_used_at_us <= $4)",
                [
                    Value::from(found.org_id.as_uuid()),
                    Value::from(found.id),
                    Value::from(now.timestamp_micros()),
                    Value::from((now - LAST_USED_GRANULARITY).timestamp_micros()),
                ],
            )
            .await?;
            found.last_used_at = Some(now);
        }
        Ok(found)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        id: uuid::Uuid,
        actor: AuditActor,
        action: &str,
        ctx: RequestContext,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(org, actor, action, Outcome::Allowed, self.clock.now())
            .with_resource("identity.scim_token", Some(id.to_string()))
            .with_context(ctx)
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }

    async fn find<C: ConnectionTrait>(&self, conn: &C, org: OrgId, id: uuid::Uuid) -> Result<Option<ScimToken>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {TOKEN_SELECT} WHERE org_id = $1 AND id = $2"),
            [Value::from(org.as_uuid()), Value::from(id)],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(token_from_row).transpose()
    }
}

fn token_from_row(row: &QueryResult) -> Result<ScimToken, Error> {
    let at = |column: &str| -> Result<Option<DateTime<Utc>>, Error> {
        row.try_get::<Option<i64>>("", column)?
            .map(|us| DateTime::from_timestamp_micros(us).ok_or_else(|| Error::internal("timestamp out of range")))
            .transpose()
    };
    Ok(ScimToken {
        org_id: OrgId::from_uuid(row.try_get("", "org_id")?),
        id: row.try_get("", "id")?,
        name: row.try_get("", "name")?,
        created_at: at("created_at_us")?.ok_or_else(|| Error::internal("token without creation time"))?,
        expires_at: at("expires_at_us")?,
        last_used_at: at("last_used_at_us")?,
        revoked_at: at("revoked_at_us")?,
    })
}
