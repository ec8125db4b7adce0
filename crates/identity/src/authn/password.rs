//! Signing in with a user name and password.

use std::sync::Arc;

use listone_audit::{ActorKind, AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, OrgId, Secret, SharedClock, UserId};
use sea_orm::{ConnectionTrait, TransactionTrait, Value};

use super::counters;
use crate::credentials::password::PasswordHasher;
use crate::session::{Session, SessionStore};
use crate::signin::{Decision, LockScope, ThrottlePolicy, decide, record_failure, record_success};
use crate::user::provisioning::normalize_user_name;

/// The action every sign-in attempt is audited under (the audit detection rules count it).
pub const SIGNIN_ACTION: &str = "identity.signin";
/// Counter key for requests without a known source address.
pub const UNKNOWN_IP: &str = "unknown";

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The new session.
    pub session: Session,
    /// Its token, shown once.
    pub token: Secret<String>,
}

/// Password sign-in for one platform.
#[derive(Debug, Clone)]
pub struct PasswordSignIn {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    hasher: Arc<PasswordHasher>,
    throttle: ThrottlePolicy,
    sessions: SessionStore,
}

fn refused() -> Error {
    // One answer for unknown names, wrong passwords and inactive users: no account enumeration.
    Error::Unauthenticated { message: "invalid user name or password".to_owned() }
}

impl PasswordSignIn {
    /// Sign-in over the given stores and policy (validated).
    pub fn new(
        db: Database,
        clock: SharedClock,
        audit: AuditRecorder,
        hasher: Arc<PasswordHasher>,
        throttle: ThrottlePolicy,
        sessions: SessionStore,
    ) -> Result<Self, Error> {
        throttle.validate()?;
        Ok(Self { db, clock, audit, hasher, throttle, sessions })
    }

    /// Checks the password of `user_name` in `org`. Throttled per account and per IP; every
    /// attempt is audited; a success opens a session.
    pub async fn sign_in(
        &self,
        org: OrgId,
        user_name: &Secret<String>,
        password: &Secret<String>,
        ctx: RequestContext,
    ) -> Result<SignedIn, Error> {
        let now = self.clock.now();
        let account_key = normalize_user_name(user_name.expose());
        let ip_key = ctx.source_ip.clone().unwrap_or_else(|| UNKNOWN_IP.to_owned());
        let conn = self.db.conn();
        let account = counters::load(conn, org, LockScope::Account, &account_key).await?;
        let ip = counters::load(conn, org, LockScope::Ip, &ip_key).await?;
        let user = self.find_active_user(conn, org, &account_key).await?;

        match decide(&self.throttle, &account, &ip, now) {
            Decision::Allow => {}
            Decision::Backoff { .. } => {
                self.audit_attempt(org, user.as_ref().map(|u| u.0), Outcome::Denied, "backoff", &ctx).await?;
                return Err(Error::ResourceExhausted { limit: "SIGNIN_BACKOFF" });
            }
            Decision::Locked { .. } => {
                self.audit_attempt(org, user.as_ref().map(|u| u.0), Outcome::Denied, "locked", &ctx).await?;
                return Err(Error::ResourceExhausted { limit: "SIGNIN_LOCKED" });
            }
        }

        let valid = match &user {
            Some((_, phc)) => self.hasher.verify(password, phc)?,
            None => self.hasher.verify_dummy(password),
        };
        let known = user.as_ref().map(|u| u.0);
        let Some((user_id, _)) = user.filter(|_| valid) else {
            let txn = self.db.conn().begin().await?;
            for (scope, key, counter) in [(LockScope::Account, &account_key, account), (LockScope::Ip, &ip_key, ip)] {
                let (next, lock) = record_failure(&self.throttle, scope, &counter, now);
                counters::save(&txn, org, scope, key, &next).await?;
                if let Some(lock) = lock {
                    let event = AuditEvent::new(org, system(), "identity.signin.lockout", Outcome::Allowed, now)
                        .with_resource("identity.signin", None)
                        .with_context(ctx.clone())
                        .with_details(serde_json::json!({
                            "scope": match lock.scope { LockScope::Account => "account", LockScope::Ip => "ip" },
                            "failures": lock.failures,
                            "until": lock.until.to_rfc3339(),
                        }));
                    self.audit.record(&txn, event).await?;
                }
            }
            self.record_attempt(&txn, org, known, Outcome::Failed, "bad_credentials", &ctx).await?;
            txn.commit().await?;
            return Err(refused());
        };

        counters::save(conn, org, LockScope::Account, &account_key, &record_success(&account)).await?;
        let (session, token) = self.sessions.create(org, user_id, ctx.clone()).await?;
        let txn = self.db.conn().begin().await?;
        self.record_attempt(&txn, org, Some(user_id), Outcome::Allowed, "password", &ctx).await?;
        txn.commit().await?;
        Ok(SignedIn { session, token })
    }

    /// The id and password hash of an active user of an active org, by normalized name.
    async fn find_active_user<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user_name: &str,
    ) -> Result<Option<(UserId, String)>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT u.id, u.password_hash FROM app_user u JOIN org o ON o.id = u.org_id \
             WHERE u.org_id = $1 AND u.user_name = $2 AND u.status = 'active' AND o.status = 'active' \
             AND u.password_hash IS NOT NULL",
            [Value::from(org.as_uuid()), Value::from(user_name.to_owned())],
        );
        let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
        Ok(Some((UserId::from_uuid(row.try_get("", "id")?), row.try_get("", "password_hash")?)))
    }

    async fn audit_attempt(
        &self,
        org: OrgId,
        user: Option<UserId>,
        outcome: Outcome,
        reason: &str,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.conn().begin().await?;
        self.record_attempt(&txn, org, user, outcome, reason, ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn record_attempt<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: Option<UserId>,
        outcome: Outcome,
        reason: &str,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        // The account is the resource (the detection rules count failures per account by it);
        // an unknown name is not recorded, so the log never holds what someone typed.
        let actor = match (outcome, user) {
            (Outcome::Allowed, Some(id)) => AuditActor { kind: ActorKind::User, id: Some(id.to_string()) },
            _ => system(),
        };
        let event = AuditEvent::new(org, actor, SIGNIN_ACTION, outcome, self.clock.now())
            .with_resource("identity.user", user.map(|u| u.to_string()))
            .with_context(ctx.clone())
            .with_details(serde_json::json!({ "method": "password", "reason": reason }));
        self.audit.record(conn, event).await.map(|_| ())
    }
}

fn system() -> AuditActor {
    AuditActor { kind: ActorKind::System, id: None }
}
