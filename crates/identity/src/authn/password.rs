//! Signing in with a user name and password; the MFA step that may follow is in
//! [`super::mfa_step`].
//!
//! When a second factor is due, a correct password opens an MFA step instead of a session and
//! leaves the account's failure counter as it is: only a completed sign-in resets it, so someone
//! who knows the password cannot wipe the failures their wrong codes add.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use listone_audit::{ActorKind, AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, OrgId, Secret, SharedClock, UserId};
use sea_orm::{ConnectionTrait, Value};

use super::challenge;
use super::counters;
use super::outcome::{SignInOutcome, SignedIn};
use crate::credentials::blocking;
use crate::credentials::password::PasswordHasher;
use crate::mfa::MfaStore;
use crate::session::SessionStore;
use crate::signin::{Decision, FailureCounter, LockScope, ThrottlePolicy, decide, record_failure, record_success};
use crate::user::provisioning::normalize_user_name;

/// The action every sign-in attempt is audited under (the audit detection rules count it).
pub const SIGNIN_ACTION: &str = "identity.signin";
/// The action a lock that has just begun is audited under.
pub const LOCKOUT_ACTION: &str = "identity.signin.lockout";
/// Counter key for requests without a known source address.
pub const UNKNOWN_IP: &str = "unknown";

/// Password sign-in and its MFA step for one platform.
#[derive(Debug, Clone)]
pub struct PasswordSignIn {
    pub(super) db: Database,
    pub(super) clock: SharedClock,
    pub(super) audit: AuditRecorder,
    hasher: Arc<PasswordHasher>,
    pub(super) throttle: ThrottlePolicy,
    pub(super) sessions: SessionStore,
    pub(super) mfa: MfaStore,
}

/// A user who may sign in, as found by name.
struct Candidate {
    id: UserId,
    password_hash: String,
    /// The user has a confirmed TOTP authenticator.
    totp_enrolled: bool,
    /// The org requires every user to use MFA.
    mfa_required: bool,
}

/// The second factor a correct password still needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MfaDue {
    Code,
    Enrolment,
}

impl MfaDue {
    fn key(self) -> &'static str {
        match self {
            MfaDue::Code => "required",
            MfaDue::Enrolment => "enrolment_required",
        }
    }
}

/// One throttle counter as loaded: its scope, key and value.
pub(super) type Counted<'a> = (LockScope, &'a str, FailureCounter);

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
        mfa: MfaStore,
    ) -> Result<Self, Error> {
        throttle.validate()?;
        Ok(Self { db, clock, audit, hasher, throttle, sessions, mfa })
    }

    /// Checks the password of `user_name` in `org`. Throttled per account and per IP; every
    /// attempt is audited. A success opens a session, or an MFA step when the user has an
    /// authenticator or the org requires MFA.
    pub async fn sign_in(
        &self,
        org: OrgId,
        user_name: &Secret<String>,
        password: &Secret<String>,
        ctx: RequestContext,
    ) -> Result<SignInOutcome, Error> {
        let now = self.clock.now();
        let account_key = normalize_user_name(user_name.expose());
        let ip_key = ip_key(&ctx);
        let conn = self.db.conn();
        let account = counters::load(conn, org, LockScope::Account, &account_key).await?;
        let ip = counters::load(conn, org, LockScope::Ip, &ip_key).await?;
        let user = self.find_active_user(conn, org, &account_key).await?;
        let known = user.as_ref().map(|u| u.id);

        match decide(&self.throttle, &account, &ip, now) {
            Decision::Allow => {}
            Decision::Backoff { .. } => {
                self.audit_attempt(org, known, Outcome::Denied, "backoff", &ctx).await?;
                return Err(Error::ResourceExhausted { limit: "SIGNIN_BACKOFF" });
            }
            Decision::Locked { .. } => {
                self.audit_attempt(org, known, Outcome::Denied, "locked", &ctx).await?;
                return Err(Error::ResourceExhausted { limit: "SIGNIN_LOCKED" });
            }
        }

        let phc = user.as_ref().map(|candidate| candidate.password_hash.as_str());
        let valid = blocking::verify(&self.hasher, password, phc).await?;
        let Some(user) = user.filter(|_| valid) else {
            let txn = self.db.begin().await?;
            let counted = [(LockScope::Account, account_key.as_str(), account), (LockScope::Ip, ip_key.as_str(), ip)];
            self.record_failures(&txn, org, &counted, now, &ctx).await?;
            self.record_attempt(&txn, org, known, Outcome::Failed, "bad_credentials", None, &ctx).await?;
            txn.commit().await?;
            return Err(refused());
        };

        let due = if user.totp_enrolled {
            Some(MfaDue::Code)
        } else if user.mfa_required {
            Some(MfaDue::Enrolment)
        } else {
            None
        };
        if let Some(due) = due {
            let txn = self.db.begin().await?;
            let pending = challenge::open(&txn, org, user.id, &ctx, now).await?;
            self.record_attempt(&txn, org, Some(user.id), Outcome::Allowed, "password", Some(due), &ctx).await?;
            txn.commit().await?;
            return Ok(match due {
                MfaDue::Code => SignInOutcome::MfaRequired(pending),
                MfaDue::Enrolment => SignInOutcome::MfaEnrolmentRequired(pending),
            });
        }

        // Counter reset, session and audit entry commit together.
        let txn = self.db.begin().await?;
        counters::save(&txn, org, LockScope::Account, &account_key, &record_success(&account)).await?;
        let (session, token) = self.sessions.create_in(&txn, org, user.id, ctx.clone()).await?;
        self.record_attempt(&txn, org, Some(user.id), Outcome::Allowed, "password", None, &ctx).await?;
        txn.commit().await?;
        Ok(SignInOutcome::SignedIn(SignedIn { session, token }))
    }

    /// Writes one failure to each counter in `conn` and audits every lock that begins with it.
    pub(super) async fn record_failures<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        counted: &[Counted<'_>],
        now: DateTime<Utc>,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        for (scope, key, counter) in counted {
            let (next, lock) = record_failure(&self.throttle, *scope, counter, now);
            counters::save(conn, org, *scope, key, &next).await?;
            if let Some(lock) = lock {
                let event = AuditEvent::new(org, system(), LOCKOUT_ACTION, Outcome::Allowed, now)
                    .with_resource("identity.signin", None)
                    .with_context(ctx.clone())
                    .with_details(serde_json::json!({
                        "scope": match lock.scope { LockScope::Account => "account", LockScope::Ip => "ip" },
                        "failures": lock.failures,
                        "until": lock.until.to_rfc3339(),
                    }));
                self.audit.record(conn, event).await?;
            }
        }
        Ok(())
    }

    /// The id, password hash and MFA situation of an active user of an active org, by
    /// normalized name.
    async fn find_active_user<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user_name: &str,
    ) -> Result<Option<Candidate>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT u.id, u.password_hash, o.mfa_required, m.confirmed_at_us FROM app_user u \
             JOIN org o ON o.id = u.org_id \
             LEFT JOIN user_mfa m ON m.org_id = u.org_id AND m.user_id = u.id \
             WHERE u.org_id = $1 AND u.user_name = $2 AND u.status = 'active' AND o.status = 'active' \
             AND u.password_hash IS NOT NULL",
            [Value::from(org.as_uuid()), Value::from(user_name.to_owned())],
        );
        let Some(row) = conn.query_one_raw(stmt).await? else { return Ok(None) };
        Ok(Some(Candidate {
            id: UserId::from_uuid(row.try_get("", "id")?),
            password_hash: row.try_get("", "password_hash")?,
            totp_enrolled: row.try_get::<Option<i64>>("", "confirmed_at_us")?.is_some(),
            mfa_required: row.try_get("", "mfa_required")?,
        }))
    }

    async fn audit_attempt(
        &self,
        org: OrgId,
        user: Option<UserId>,
        outcome: Outcome,
        reason: &str,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        self.record_attempt(&txn, org, user, outcome, reason, None, ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_attempt<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: Option<UserId>,
        outcome: Outcome,
        reason: &str,
        mfa: Option<MfaDue>,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        // The account is the resource (the detection rules count failures per account by it);
        // an unknown name is not recorded, so the log never holds what someone typed.
        let actor = match (outcome, user) {
            (Outcome::Allowed, Some(id)) => user_actor(id),
            _ => system(),
        };
        let mut details = serde_json::json!({ "method": "password", "reason": reason });
        if let (Some(due), Some(fields)) = (mfa, details.as_object_mut()) {
            fields.insert("mfa".to_owned(), due.key().into());
        }
        let event = AuditEvent::new(org, actor, SIGNIN_ACTION, outcome, self.clock.now())
            .with_resource("identity.user", user.map(|u| u.to_string()))
            .with_context(ctx.clone())
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }
}

/// The IP counter key of a request.
pub(super) fn ip_key(ctx: &RequestContext) -> String {
    ctx.source_ip.clone().unwrap_or_else(|| UNKNOWN_IP.to_owned())
}

pub(super) fn system() -> AuditActor {
    AuditActor { kind: ActorKind::System, id: None }
}

pub(super) fn user_actor(user: UserId) -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some(user.to_string()) }
}
