//! The MFA step of sign-in: the pending step a correct password opened is completed with a TOTP
//! or recovery code, or, when the org requires MFA of a user who has none, with a first
//! enrolment. Every attempt is audited as `identity.signin.mfa`.
//!
//! A wrong code uses up one of the step's [`super::MAX_MFA_ATTEMPTS`] and counts as a failed sign-in of
//! the account and the address, so backoff and lockout apply to guessing codes as to guessing
//! passwords. The step is refused while the account or address is throttled, and once the user
//! is deactivated or the org suspended. Only a completed step resets the account's counter.
//!
//! The session opens in the same transaction that spends the step and the code: both commit, or
//! neither does; a code is never accepted twice.

use listone_audit::{AuditEvent, Outcome, RequestContext};
use listone_core::{Error, OrgId, Secret, UserId};
use sea_orm::{ConnectionTrait, Value};

use super::challenge::{self, Challenge};
use super::counters;
use super::outcome::{EnrolledSignIn, SignedIn};
use super::password::{PasswordSignIn, ip_key, system, user_actor};
use crate::mfa::{MfaCode, TotpEnrolment};
use crate::signin::{Decision, FailureCounter, LockScope, decide, record_success};

/// The action every MFA step attempt is audited under.
pub const MFA_STEP_ACTION: &str = "identity.signin.mfa";

/// A step that may still be completed, with the throttle counters of its account and address.
struct LiveStep {
    challenge: Challenge,
    account_key: String,
    account: FailureCounter,
    ip_key: String,
    ip: FailureCounter,
}

impl LiveStep {
    fn user(&self) -> UserId {
        self.challenge.user_id
    }

    fn counted(&self) -> [super::password::Counted<'_>; 2] {
        [(LockScope::Account, self.account_key.as_str(), self.account), (LockScope::Ip, self.ip_key.as_str(), self.ip)]
    }
}

fn step_refused() -> Error {
    // One answer for unknown, spent, burned and expired steps and for users who may no longer
    // sign in: start again with the password.
    Error::Unauthenticated { message: "the sign-in step is not valid or has expired; sign in again".to_owned() }
}

fn details(method: &str, reason: &str, attempts: Option<u32>) -> serde_json::Value {
    let mut details = serde_json::json!({ "method": method, "reason": reason });
    if let (Some(attempts), Some(fields)) = (attempts, details.as_object_mut()) {
        fields.insert("attempts".to_owned(), attempts.into());
    }
    details
}

impl PasswordSignIn {
    /// Completes the MFA step opened by [`PasswordSignIn::sign_in`] with a TOTP or recovery code
    /// and opens the session. The step token works once, for [`super::MFA_CHALLENGE_TTL`], with at
    /// most [`super::MAX_MFA_ATTEMPTS`] codes. A wrong, replayed or used code is UNAUTHENTICATED (and a
    /// failed sign-in for throttling); a malformed TOTP code INVALID_ARGUMENT; an unusable step
    /// UNAUTHENTICATED; a user without a confirmed authenticator FAILED_PRECONDITION.
    pub async fn complete_mfa(
        &self,
        org: OrgId,
        token: &Secret<String>,
        code: &MfaCode,
        ctx: RequestContext,
    ) -> Result<SignedIn, Error> {
        let method = code.method();
        let step = self.live_step(org, token, method, &ctx).await?;
        let user = step.user();
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let Some(attempts) = challenge::take_attempt(&txn, org, step.challenge.id, now).await? else {
            txn.rollback().await?;
            self.audit_step(org, Some(user), Outcome::Failed, details(method, "challenge_used", None), &ctx).await?;
            return Err(step_refused());
        };
        match self.mfa.verify_in(&txn, org, user, code, now).await? {
            Ok(verified) => {
                challenge::spend(&txn, org, step.challenge.id, now).await?;
                counters::save(&txn, org, LockScope::Account, &step.account_key, &record_success(&step.account))
                    .await?;
                let mut details = details(method, "accepted", Some(attempts));
                if let (Some(remaining), Some(fields)) = (verified.recovery_codes_remaining, details.as_object_mut()) {
                    fields.insert("recovery_codes_remaining".to_owned(), remaining.into());
                }
                self.record_step(&txn, org, Some(user), Outcome::Allowed, details, &ctx).await?;
                let (session, token) = self.sessions.create_in(&txn, org, user, ctx).await?;
                txn.commit().await?;
                Ok(SignedIn { session, token })
            }
            Err(refusal) if refusal.is_wrong_code() => {
                self.record_failures(&txn, org, &step.counted(), now, &ctx).await?;
                let details = details(method, refusal.reason(), Some(attempts));
                self.record_step(&txn, org, Some(user), Outcome::Failed, details, &ctx).await?;
                txn.commit().await?;
                Err(refusal.error())
            }
            Err(refusal) => {
                // Not a guess (a malformed code, no authenticator): nothing is written but the audit.
                txn.rollback().await?;
                self.audit_step(org, Some(user), Outcome::Failed, details(method, refusal.reason(), None), &ctx)
                    .await?;
                Err(refusal.error())
            }
        }
    }

    /// Begins the TOTP enrolment an [`super::SignInOutcome::MfaEnrolmentRequired`] step calls
    /// for; the step stays open for [`PasswordSignIn::complete_enrolment_with_challenge`].
    pub async fn begin_enrolment_with_challenge(
        &self,
        org: OrgId,
        token: &Secret<String>,
        ctx: RequestContext,
    ) -> Result<TotpEnrolment, Error> {
        let step = self.live_step(org, token, "totp", &ctx).await?;
        self.mfa.begin_totp(org, step.user(), user_actor(step.user()), ctx).await
    }

    /// Confirms the enrolment begun with the step's token by a first code, spends the step and
    /// opens the session, in return for the recovery codes to show once.
    ///
    /// A wrong code uses up one of the step's attempts but does not count against the account:
    /// it checks a secret the caller was just given, not the user's credentials.
    pub async fn complete_enrolment_with_challenge(
        &self,
        org: OrgId,
        token: &Secret<String>,
        code: &Secret<String>,
        ctx: RequestContext,
    ) -> Result<EnrolledSignIn, Error> {
        let step = self.live_step(org, token, "totp", &ctx).await?;
        let user = step.user();
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let Some(attempts) = challenge::take_attempt(&txn, org, step.challenge.id, now).await? else {
            txn.rollback().await?;
            self.audit_step(org, Some(user), Outcome::Failed, details("totp", "challenge_used", None), &ctx).await?;
            return Err(step_refused());
        };
        match self.mfa.confirm_in(&txn, org, user, code, now).await? {
            Ok(recovery_codes) => {
                self.mfa.record_confirmed(&txn, org, user, ctx.clone()).await?;
                challenge::spend(&txn, org, step.challenge.id, now).await?;
                counters::save(&txn, org, LockScope::Account, &step.account_key, &record_success(&step.account))
                    .await?;
                let details = details("totp", "enrolled", Some(attempts));
                self.record_step(&txn, org, Some(user), Outcome::Allowed, details, &ctx).await?;
                let (session, token) = self.sessions.create_in(&txn, org, user, ctx).await?;
                txn.commit().await?;
                Ok(EnrolledSignIn { signed_in: SignedIn { session, token }, recovery_codes })
            }
            Err(refusal) => {
                let wrong_code = refusal.is_wrong_code();
                let txn = if wrong_code {
                    txn
                } else {
                    // Not a guess (malformed, nothing pending): the attempt taken is given back.
                    txn.rollback().await?;
                    self.db.begin().await?
                };
                self.mfa.record_refused_confirmation(&txn, org, user, refusal, ctx.clone()).await?;
                let details = details("totp", refusal.reason(), wrong_code.then_some(attempts));
                self.record_step(&txn, org, Some(user), Outcome::Failed, details, &ctx).await?;
                txn.commit().await?;
                Err(refusal.error())
            }
        }
    }

    /// The step behind `token`, if it may still be completed: known in `org`, not spent, burned
    /// or expired, its user and org still active, the account and address not throttled. Every
    /// refusal is audited.
    async fn live_step(
        &self,
        org: OrgId,
        token: &Secret<String>,
        method: &str,
        ctx: &RequestContext,
    ) -> Result<LiveStep, Error> {
        let now = self.clock.now();
        let conn = self.db.conn();
        let Some(challenge) = challenge::find(conn, org, token).await? else {
            self.audit_step(org, None, Outcome::Failed, details(method, "challenge_unknown", None), ctx).await?;
            return Err(step_refused());
        };
        let user = challenge.user_id;
        if let Some(reason) = challenge.refusal(now) {
            self.audit_step(org, Some(user), Outcome::Failed, details(method, reason, None), ctx).await?;
            return Err(step_refused());
        }
        let Some(account_key) = self.active_user_name(conn, org, user).await? else {
            // Deactivated or suspended since the password was checked: the step is void.
            let txn = self.db.begin().await?;
            challenge::spend(&txn, org, challenge.id, now).await?;
            self.record_step(&txn, org, Some(user), Outcome::Failed, details(method, "user_inactive", None), ctx)
                .await?;
            txn.commit().await?;
            return Err(step_refused());
        };
        let ip_key = ip_key(ctx);
        let account = counters::load(conn, org, LockScope::Account, &account_key).await?;
        let ip = counters::load(conn, org, LockScope::Ip, &ip_key).await?;
        let (reason, limit) = match decide(&self.throttle, &account, &ip, now) {
            Decision::Allow => return Ok(LiveStep { challenge, account_key, account, ip_key, ip }),
            Decision::Backoff { .. } => ("backoff", "SIGNIN_BACKOFF"),
            Decision::Locked { .. } => ("locked", "SIGNIN_LOCKED"),
        };
        self.audit_step(org, Some(user), Outcome::Denied, details(method, reason, None), ctx).await?;
        Err(Error::ResourceExhausted { limit })
    }

    /// The normalized user name of `user` if they and their org are active.
    async fn active_user_name<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
    ) -> Result<Option<String>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT u.user_name FROM app_user u JOIN org o ON o.id = u.org_id \
             WHERE u.org_id = $1 AND u.id = $2 AND u.status = 'active' AND o.status = 'active'",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
        );
        conn.query_one_raw(stmt).await?.map(|row| row.try_get("", "user_name")).transpose().map_err(Into::into)
    }

    async fn audit_step(
        &self,
        org: OrgId,
        user: Option<UserId>,
        outcome: Outcome,
        details: serde_json::Value,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        self.record_step(&txn, org, user, outcome, details, ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn record_step<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: Option<UserId>,
        outcome: Outcome,
        details: serde_json::Value,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        let actor = match (outcome, user) {
            (Outcome::Allowed, Some(id)) => user_actor(id),
            _ => system(),
        };
        let event = AuditEvent::new(org, actor, MFA_STEP_ACTION, outcome, self.clock.now())
            .with_resource("identity.user", user.map(|u| u.to_string()))
            .with_context(ctx.clone())
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }
}
