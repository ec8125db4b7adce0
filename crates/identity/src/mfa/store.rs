//! [`MfaStore`]: TOTP enrolment and recovery codes on sea-orm. Every change commits with its audit
//! event; a wrong confirmation code writes nothing but its own audit event.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use listone_audit::{ActorKind, AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, OrgId, Secret, SharedClock, UserId};
use listone_crypto::KeyRing;
use sea_orm::{ConnectionTrait, Value};

use super::{enrolment, recovery_codes};
use crate::credentials::blocking;
use crate::credentials::password::PasswordHasher;
use crate::credentials::recovery::RecoveryCodes;
use crate::credentials::totp::{DEFAULT_WINDOW_STEPS, Totp, TotpAlgorithm, TotpDigits, TotpError, TotpSecret};

/// The issuer authenticator apps show beside the account.
pub const TOTP_ISSUER: &str = "List One";
/// Audit action: a TOTP enrolment begun (secret issued).
pub const ENROL_BEGIN_ACTION: &str = "identity.mfa.enrol.begin";
/// Audit action: a TOTP enrolment confirmed by a first code, or a wrong confirmation code.
pub const ENROL_CONFIRM_ACTION: &str = "identity.mfa.enrol.confirm";
/// Audit action: enrolment and recovery codes removed (by the user or an admin reset).
pub const DISABLE_ACTION: &str = "identity.mfa.disable";
/// Audit action: a fresh set of recovery codes replaced the old one.
pub const RECOVERY_REGENERATE_ACTION: &str = "identity.mfa.recovery.regenerate";

/// New enrolments use what every authenticator app understands: HMAC-SHA1, 6 digits, 30 s.
const ENROLMENT_ALGORITHM: TotpAlgorithm = TotpAlgorithm::Sha1;
const ENROLMENT_DIGITS: TotpDigits = TotpDigits::Six;

/// A TOTP enrolment just begun: shown to the user once (the URI as a QR code), never stored
/// in the clear.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// The shared secret, for manual entry (`secret.to_base32()`).
    pub secret: TotpSecret,
    /// `otpauth://totp/List%20One:<user name>?secret=...` for a QR code.
    pub otpauth_uri: Secret<String>,
}

/// A user's MFA state, without secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    /// A confirmed TOTP authenticator is required at sign-in.
    pub enrolled: bool,
    /// An enrolment was begun and awaits its first code.
    pub pending: bool,
    /// When the enrolment was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Recovery codes not used yet.
    pub recovery_codes_remaining: u32,
}

/// A second factor typed at sign-in.
#[derive(Debug, Clone)]
pub enum MfaCode {
    /// The current code of the TOTP authenticator.
    Totp(Secret<String>),
    /// One of the single-use recovery codes.
    Recovery(Secret<String>),
}

impl MfaCode {
    /// `totp` or `recovery`, as audited.
    pub fn method(&self) -> &'static str {
        match self {
            MfaCode::Totp(_) => "totp",
            MfaCode::Recovery(_) => "recovery",
        }
    }
}

/// Why a code was refused; the reason is audited, the client sees [`CodeRefusal::error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeRefusal {
    /// Not the configured number of digits.
    Malformed {
        /// Digits expected.
        digits: u32,
    },
    /// Matches nothing.
    Mismatch,
    /// A TOTP step already used, or a recovery code already used.
    Replayed,
    /// No confirmed enrolment to check against.
    NotEnrolled,
    /// No pending enrolment to confirm.
    NotPending,
}

impl CodeRefusal {
    /// The audited reason.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            CodeRefusal::Malformed { .. } => "malformed",
            CodeRefusal::Mismatch => "mismatch",
            CodeRefusal::Replayed => "replay",
            CodeRefusal::NotEnrolled => "not_enrolled",
            CodeRefusal::NotPending => "not_pending",
        }
    }

    /// Whether this was a guess at a secret (it counts toward throttling).
    pub(crate) fn is_wrong_code(self) -> bool {
        matches!(self, CodeRefusal::Mismatch | CodeRefusal::Replayed)
    }

    /// What the client is told: a mismatch and a replay look the same.
    pub(crate) fn error(self) -> Error {
        match self {
            CodeRefusal::Malformed { digits } => TotpError::Malformed { digits }.into(),
            CodeRefusal::Mismatch | CodeRefusal::Replayed => TotpError::Mismatch.into(),
            CodeRefusal::NotEnrolled => Error::FailedPrecondition {
                reason: "MFA_NOT_ENROLLED",
                message: "no confirmed MFA enrolment".to_owned(),
            },
            CodeRefusal::NotPending => Error::FailedPrecondition {
                reason: "MFA_NOT_PENDING",
                message: "no MFA enrolment awaits confirmation; begin one first".to_owned(),
            },
        }
    }
}

impl From<TotpError> for CodeRefusal {
    fn from(err: TotpError) -> Self {
        match err {
            TotpError::Malformed { digits } => CodeRefusal::Malformed { digits },
            TotpError::Replayed => CodeRefusal::Replayed,
            _ => CodeRefusal::Mismatch,
        }
    }
}

/// A code accepted at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verified {
    /// Unused recovery codes left, when a recovery code was used.
    pub recovery_codes_remaining: Option<u32>,
}

/// The user a change is about, as far as MFA cares.
struct Account {
    user_name: Secret<String>,
    active: bool,
}

/// TOTP enrolments and recovery codes of every organization.
#[derive(Debug, Clone)]
pub struct MfaStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    keyring: Arc<KeyRing>,
    hasher: Arc<PasswordHasher>,
}

fn user_actor(user: UserId) -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some(user.to_string()) }
}

fn unix_secs(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}

fn inactive() -> Error {
    Error::FailedPrecondition {
        reason: "USER_INACTIVE",
        message: "the user or their organization is not active".to_owned(),
    }
}

impl MfaStore {
    /// A store sealing TOTP secrets with `keyring` and hashing recovery codes with `hasher`.
    pub fn new(
        db: Database,
        clock: SharedClock,
        audit: AuditRecorder,
        keyring: Arc<KeyRing>,
        hasher: Arc<PasswordHasher>,
    ) -> Self {
        Self { db, clock, audit, keyring, hasher }
    }

    /// Begins a TOTP enrolment for an active `user`: a fresh secret, sealed under the org key and
    /// returned once. Replaces an enrolment still pending; a confirmed one is FAILED_PRECONDITION
    /// (`MFA_ALREADY_ENROLLED`: disable it first). Another org's user is NOT_FOUND.
    pub async fn begin_totp(
        &self,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<TotpEnrolment, Error> {
        let now = self.clock.now();
        let secret = TotpSecret::generate()?;
        let txn = self.db.begin().await?;
        let account = self.account(&txn, org, user).await?;
        if !account.active {
            return Err(inactive());
        }
        let saved = enrolment::save_pending(
            &txn,
            &self.keyring,
            org,
            user,
            &secret,
            ENROLMENT_ALGORITHM,
            ENROLMENT_DIGITS,
            now,
        )
        .await?;
        if !saved {
            return Err(Error::FailedPrecondition {
                reason: "MFA_ALREADY_ENROLLED",
                message: "MFA is already enrolled; disable it before enrolling again".to_owned(),
            });
        }
        let details = serde_json::json!({ "method": "totp", "algorithm": ENROLMENT_ALGORITHM.uri_name() });
        self.record(&txn, org, user, actor, ENROL_BEGIN_ACTION, Outcome::Allowed, details, ctx).await?;
        txn.commit().await?;
        let totp = Totp::new(secret).with_algorithm(ENROLMENT_ALGORITHM).with_digits(ENROLMENT_DIGITS);
        let otpauth_uri = totp.otpauth_uri(TOTP_ISSUER, &account.user_name);
        Ok(TotpEnrolment { secret: totp.secret().clone(), otpauth_uri })
    }

    /// Confirms the pending enrolment with a code from the authenticator and returns ten recovery
    /// codes, shown once (only their hashes are stored). A wrong code is UNAUTHENTICATED, a
    /// malformed one INVALID_ARGUMENT: nothing is written but the audited failure.
    pub async fn confirm_totp(
        &self,
        org: OrgId,
        user: UserId,
        code: &Secret<String>,
        ctx: RequestContext,
    ) -> Result<Vec<Secret<String>>, Error> {
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        if !self.account(&txn, org, user).await?.active {
            return Err(inactive());
        }
        match self.confirm_in(&txn, org, user, code, now).await? {
            Ok(codes) => {
                self.record_confirmed(&txn, org, user, ctx).await?;
                txn.commit().await?;
                Ok(codes)
            }
            Err(refusal) => {
                txn.rollback().await?;
                self.audit_refused_confirmation(org, user, refusal, ctx).await?;
                Err(refusal.error())
            }
        }
    }

    /// Removes the user's enrolment (pending or confirmed) and recovery codes: the user turning
    /// MFA off, or an admin reset after a lost device. A no-op without an enrolment.
    pub async fn disable_totp(
        &self,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        self.account(&txn, org, user).await?;
        let removed = enrolment::delete(&txn, org, user).await?;
        let codes = recovery_codes::delete_all(&txn, org, user).await?;
        if removed > 0 || codes > 0 {
            let details = serde_json::json!({ "method": "totp", "recovery_codes_removed": codes });
            self.record(&txn, org, user, actor, DISABLE_ACTION, Outcome::Allowed, details, ctx).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Replaces every recovery code with ten fresh ones, shown once. FAILED_PRECONDITION
    /// (`MFA_NOT_ENROLLED`) without a confirmed enrolment.
    pub async fn regenerate_recovery_codes(
        &self,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Vec<Secret<String>>, Error> {
        let now = self.clock.now();
        // Hashing is slow; do it before the transaction takes any lock.
        let (shown, hashes) = blocking::generate_recovery_codes(&self.hasher).await?;
        let txn = self.db.begin().await?;
        self.account(&txn, org, user).await?;
        let confirmed = enrolment::state(&txn, org, user).await?.is_some_and(|s| s.confirmed_at.is_some());
        if !confirmed {
            return Err(CodeRefusal::NotEnrolled.error());
        }
        recovery_codes::replace(&txn, org, user, &hashes, now).await?;
        let details = serde_json::json!({ "recovery_codes": hashes.len() });
        self.record(&txn, org, user, actor, RECOVERY_REGENERATE_ACTION, Outcome::Allowed, details, ctx).await?;
        txn.commit().await?;
        Ok(shown)
    }

    /// The user's MFA state; NOT_FOUND for another org's user.
    pub async fn status(&self, org: OrgId, user: UserId) -> Result<MfaStatus, Error> {
        let conn = self.db.conn();
        self.account(conn, org, user).await?;
        let state = enrolment::state(conn, org, user).await?;
        let confirmed_at = state.and_then(|s| s.confirmed_at);
        Ok(MfaStatus {
            enrolled: confirmed_at.is_some(),
            pending: state.is_some() && confirmed_at.is_none(),
            confirmed_at,
            recovery_codes_remaining: recovery_codes::remaining(conn, org, user).await?,
        })
    }

    /// Confirms the pending enrolment in `conn` without auditing: marks it confirmed (its step
    /// becomes the last used) and stores a fresh set of recovery codes, returned once. The inner
    /// error is a refused code, with nothing written.
    pub(crate) async fn confirm_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
        code: &Secret<String>,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Secret<String>>, CodeRefusal>, Error> {
        let pending = enrolment::load(conn, &self.keyring, org, user, now).await?.filter(|e| e.confirmed_at.is_none());
        let Some(pending) = pending else { return Ok(Err(CodeRefusal::NotPending)) };
        let step = match pending.totp.verify(code.expose(), unix_secs(now), DEFAULT_WINDOW_STEPS, None) {
            Ok(step) => step,
            Err(err) => return Ok(Err(err.into())),
        };
        let (shown, hashes) = blocking::generate_recovery_codes(&self.hasher).await?;
        if !enrolment::confirm(conn, org, user, step, now).await? {
            return Ok(Err(CodeRefusal::NotPending));
        }
        recovery_codes::replace(conn, org, user, &hashes, now).await?;
        Ok(Ok(shown))
    }

    /// Checks a sign-in code in `conn` without auditing. Accepted, it is spent there: the TOTP
    /// step becomes the last used, the recovery code is marked used. The inner error is a refused
    /// code, with nothing written.
    pub(crate) async fn verify_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
        code: &MfaCode,
        now: DateTime<Utc>,
    ) -> Result<Result<Verified, CodeRefusal>, Error> {
        match code {
            MfaCode::Totp(code) => {
                let enrolled =
                    enrolment::load(conn, &self.keyring, org, user, now).await?.filter(|e| e.confirmed_at.is_some());
                let Some(enrolled) = enrolled else { return Ok(Err(CodeRefusal::NotEnrolled)) };
                let step =
                    match enrolled.totp.verify(code.expose(), unix_secs(now), DEFAULT_WINDOW_STEPS, enrolled.last_step)
                    {
                        Ok(step) => step,
                        Err(err) => return Ok(Err(err.into())),
                    };
                if !enrolment::advance_step(conn, org, user, step).await? {
                    return Ok(Err(CodeRefusal::Replayed));
                }
                Ok(Ok(Verified { recovery_codes_remaining: None }))
            }
            MfaCode::Recovery(code) => {
                let confirmed = enrolment::state(conn, org, user).await?.is_some_and(|s| s.confirmed_at.is_some());
                if !confirmed {
                    return Ok(Err(CodeRefusal::NotEnrolled));
                }
                // Used codes are matched too, so trying one again is audited as a replay.
                let stored = recovery_codes::all(conn, org, user).await?;
                let hashes: Vec<String> = stored.iter().map(|c| c.hash.clone()).collect();
                let Some(matched) =
                    blocking::find_recovery_code(&self.hasher, code, hashes).await?.and_then(|i| stored.get(i))
                else {
                    return Ok(Err(CodeRefusal::Mismatch));
                };
                if matched.used || !recovery_codes::mark_used(conn, org, user, matched.id, now).await? {
                    return Ok(Err(CodeRefusal::Replayed));
                }
                let remaining = recovery_codes::remaining(conn, org, user).await?;
                Ok(Ok(Verified { recovery_codes_remaining: Some(remaining) }))
            }
        }
    }

    /// Audits a confirmed enrolment (`identity.mfa.enrol.confirm`, by the user) in `conn`.
    pub(crate) async fn record_confirmed<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let details = serde_json::json!({ "method": "totp", "recovery_codes": RecoveryCodes::COUNT });
        self.record(conn, org, user, user_actor(user), ENROL_CONFIRM_ACTION, Outcome::Allowed, details, ctx).await
    }

    /// Audits a refused confirmation code in `conn`.
    pub(crate) async fn record_refused_confirmation<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
        refusal: CodeRefusal,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let details = serde_json::json!({ "method": "totp", "reason": refusal.reason() });
        let actor = AuditActor { kind: ActorKind::System, id: None };
        self.record(conn, org, user, actor, ENROL_CONFIRM_ACTION, Outcome::Failed, details, ctx).await
    }

    /// The user of `org` (NOT_FOUND otherwise), with whether they and their org are active.
    async fn account<C: ConnectionTrait>(&self, conn: &C, org: OrgId, user: UserId) -> Result<Account, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT u.user_name, u.status, o.status AS org_status FROM app_user u JOIN org o ON o.id = u.org_id \
             WHERE u.org_id = $1 AND u.id = $2",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
        );
        let row = conn.query_one_raw(stmt).await?.ok_or(Error::NotFound { resource: "user" })?;
        let status: String = row.try_get("", "status")?;
        let org_status: String = row.try_get("", "org_status")?;
        Ok(Account {
            user_name: Secret::new(row.try_get("", "user_name")?),
            active: status == "active" && org_status == "active",
        })
    }

    /// Audits a refused confirmation code in its own transaction.
    async fn audit_refused_confirmation(
        &self,
        org: OrgId,
        user: UserId,
        refusal: CodeRefusal,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        self.record_refused_confirmation(&txn, org, user, refusal, ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        action: &str,
        outcome: Outcome,
        details: serde_json::Value,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(org, actor, action, outcome, self.clock.now())
            .with_resource("identity.user", Some(user.to_string()))
            .with_context(ctx)
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }
}
