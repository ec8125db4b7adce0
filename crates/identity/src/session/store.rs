//! Sessions on sea-orm. The session token is 256 random bits, handed out once; only its SHA-256
//! is stored, so a database read does not yield usable tokens.

use chrono::{DateTime, Utc};
use listone_audit::{ActorKind, AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, OrgId, Secret, SessionId, SharedClock, UserId};
use sea_orm::{ConnectionTrait, QueryResult, Value};

use crate::signin::{SessionPolicy, SessionState, SessionTimes, session_state, sessions_to_evict, touch};

/// Random bytes in a session token.
pub const SESSION_TOKEN_BYTES: usize = 32;

/// A session as listed to its user or an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Tenant.
    pub org_id: OrgId,
    /// Id.
    pub id: SessionId,
    /// Whose session.
    pub user_id: UserId,
    /// Sign-in, last use and revocation.
    pub times: SessionTimes,
    /// State at the time it was read.
    pub state: SessionState,
    /// Where it was opened from.
    pub source_ip: Option<String>,
}

/// Sessions of every organization.
#[derive(Debug, Clone)]
pub struct SessionStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    policy: SessionPolicy,
}

const SESSION_SELECT: &str =
    "org_id, id, user_id, created_at_us, last_seen_at_us, revoked_at_us, source_ip FROM user_session";

fn at(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn unauthenticated() -> Error {
    Error::Unauthenticated { message: "the session is not valid; sign in again".to_owned() }
}

impl SessionStore {
    /// A store applying `policy` (validated).
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder, policy: SessionPolicy) -> Result<Self, Error> {
        policy.validate()?;
        Ok(Self { db, clock, audit, policy })
    }

    /// Opens a session for `user` (after a successful sign-in); evicts the least recently used
    /// sessions beyond the per-user cap. Returns the session and its one-time token.
    pub async fn create(
        &self,
        org: OrgId,
        user: UserId,
        ctx: RequestContext,
    ) -> Result<(Session, Secret<String>), Error> {
        let txn = self.db.begin().await?;
        let created = self.create_in(&txn, org, user, ctx).await?;
        txn.commit().await?;
        Ok(created)
    }

    /// Opens a session inside the caller's transaction (so a sign-in step that spends something,
    /// such as a recovery code, commits with the session it opens or not at all).
    pub async fn create_in<C: ConnectionTrait>(
        &self,
        txn: &C,
        org: OrgId,
        user: UserId,
        ctx: RequestContext,
    ) -> Result<(Session, Secret<String>), Error> {
        let now = self.clock.now();
        let active: Vec<(SessionId, DateTime<Utc>)> = self
            .user_sessions(txn, org, user)
            .await?
            .into_iter()
            .filter(|s| s.state.is_active())
            .map(|s| (s.id, s.times.last_seen_at))
            .collect();
        for evicted in sessions_to_evict(&self.policy, &active) {
            revoke_one(txn, org, evicted, now, "evicted").await?;
        }
        let token = listone_crypto::random_token(SESSION_TOKEN_BYTES)?;
        let id = SessionId::new();
        listone_core::db::execute(
            txn,
            "INSERT INTO user_session (org_id, id, user_id, token_hash, created_at_us, last_seen_at_us, revoked_at_us, \
             revoked_reason, source_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $5, NULL, NULL, $6, $7)",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(user.as_uuid()),
                Value::from(listone_crypto::sha256(token.as_bytes()).to_vec()),
                Value::from(now.timestamp_micros()),
                Value::from(ctx.source_ip.clone()),
                Value::from(ctx.user_agent.clone()),
            ],
        )
        .await?;
        let actor = AuditActor { kind: ActorKind::User, id: Some(user.to_string()) };
        let event = AuditEvent::new(org, actor, "identity.session.create", Outcome::Allowed, now)
            .with_resource("identity.session", Some(id.to_string()))
            .with_context(ctx);
        self.audit.record(txn, event).await?;
        let session = self.find(txn, org, id).await?.ok_or_else(|| Error::internal("created session not readable"))?;
        Ok((session, Secret::new(token)))
    }

    /// The session behind `token`, if it is active and its user and org may still sign in;
    /// records the use (idle timeout restarts). Anything else is UNAUTHENTICATED.
    pub async fn authenticate(&self, token: &Secret<String>) -> Result<Session, Error> {
        let now = self.clock.now();
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT s.org_id, s.id, s.user_id, s.created_at_us, s.last_seen_at_us, s.revoked_at_us, s.source_ip \
             FROM user_session s JOIN app_user u ON u.org_id = s.org_id AND u.id = s.user_id \
             JOIN org o ON o.id = s.org_id \
             WHERE s.token_hash = $1 AND u.status = 'active' AND o.status = 'active'",
            [Value::from(listone_crypto::sha256(token.expose().as_bytes()).to_vec())],
        );
        let row = conn.query_one_raw(stmt).await?.ok_or_else(unauthenticated)?;
        let session = self.session_from_row(&row, now)?;
        if !session.state.is_active() {
            return Err(unauthenticated());
        }
        if let Some(seen) = touch(&session.times, now) {
            listone_core::db::execute(
                conn,
                "UPDATE user_session SET last_seen_at_us = $3 WHERE org_id = $1 AND id = $2 AND last_seen_at_us < $3",
                [
                    Value::from(session.org_id.as_uuid()),
                    Value::from(session.id.as_uuid()),
                    Value::from(seen.timestamp_micros()),
                ],
            )
            .await?;
        }
        Ok(session)
    }

    /// A user's sessions (newest first), with their state now; NOT_FOUND for a user who is not
    /// of `org`.
    pub async fn list(&self, org: OrgId, user: UserId) -> Result<Vec<Session>, Error> {
        let conn = self.db.conn();
        let known = listone_core::db::count(
            conn,
            "SELECT COUNT(*) AS n FROM app_user WHERE org_id = $1 AND id = $2",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
        )
        .await?;
        if known == 0 {
            return Err(Error::NotFound { resource: "user" });
        }
        self.user_sessions(conn, org, user).await
    }

    /// Revokes one session (by its user or an admin); NOT_FOUND for another org's session.
    pub async fn revoke(&self, org: OrgId, id: SessionId, actor: AuditActor, ctx: RequestContext) -> Result<(), Error> {
        self.revoke_checked(org, None, id, actor, ctx).await
    }

    /// Revokes session `id` only if it is `user`'s: another user's session, like another
    /// org's, is NOT_FOUND (a user signing out cannot touch anyone else's sessions).
    pub async fn revoke_of(
        &self,
        org: OrgId,
        user: UserId,
        id: SessionId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        self.revoke_checked(org, Some(user), id, actor, ctx).await
    }

    async fn revoke_checked(
        &self,
        org: OrgId,
        user: Option<UserId>,
        id: SessionId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let session = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "session" })?;
        if user.is_some_and(|u| u != session.user_id) {
            return Err(Error::NotFound { resource: "session" });
        }
        if revoke_one(&txn, org, id, now, "revoked").await? > 0 {
            let event = AuditEvent::new(org, actor, "identity.session.revoke", Outcome::Allowed, now)
                .with_resource("identity.session", Some(id.to_string()))
                .with_context(ctx);
            self.audit.record(&txn, event).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn user_sessions<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
    ) -> Result<Vec<Session>, Error> {
        let now = self.clock.now();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {SESSION_SELECT} WHERE org_id = $1 AND user_id = $2 ORDER BY created_at_us DESC, id DESC"),
            [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
        );
        conn.query_all_raw(stmt).await?.iter().map(|r| self.session_from_row(r, now)).collect()
    }

    async fn find<C: ConnectionTrait>(&self, conn: &C, org: OrgId, id: SessionId) -> Result<Option<Session>, Error> {
        let now = self.clock.now();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {SESSION_SELECT} WHERE org_id = $1 AND id = $2"),
            [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(|r| self.session_from_row(r, now)).transpose()
    }

    fn session_from_row(&self, row: &QueryResult, now: DateTime<Utc>) -> Result<Session, Error> {
        let times = SessionTimes {
            created_at: at(row.try_get("", "created_at_us")?),
            last_seen_at: at(row.try_get("", "last_seen_at_us")?),
            revoked_at: row.try_get::<Option<i64>>("", "revoked_at_us")?.map(at),
        };
        Ok(Session {
            org_id: OrgId::from_uuid(row.try_get("", "org_id")?),
            id: SessionId::from_uuid(row.try_get("", "id")?),
            user_id: UserId::from_uuid(row.try_get("", "user_id")?),
            state: session_state(&self.policy, &times, now),
            times,
            source_ip: row.try_get("", "source_ip")?,
        })
    }
}

async fn revoke_one<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    id: SessionId,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<u64, Error> {
    Ok(listone_core::db::execute(
        conn,
        "UPDATE user_session SET revoked_at_us = $3, revoked_reason = $4 WHERE org_id = $1 AND id = $2 AND revoked_at_us IS NULL",
        [Value::from(org.as_uuid()), Value::from(id.as_uuid()), Value::from(now.timestamp_micros()), Value::from(reason.to_owned())],
    )
    .await?)
}

/// Revokes every open session of `user` in `conn` (the deactivating transaction); returns how many.
pub async fn revoke_user_sessions<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    user: UserId,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<u64, Error> {
    Ok(listone_core::db::execute(
        conn,
        "UPDATE user_session SET revoked_at_us = $3, revoked_reason = $4 \
         WHERE org_id = $1 AND user_id = $2 AND revoked_at_us IS NULL",
        [
            Value::from(org.as_uuid()),
            Value::from(user.as_uuid()),
            Value::from(now.timestamp_micros()),
            Value::from(reason.to_owned()),
        ],
    )
    .await?)
}
