//! Users on sea-orm: provision, invite and accept, deactivate, delete, assign to apps within
//! seats. Each change commits with its audit event; refused attempts that matter for security
//! (expired or reused invites) are audited in their own transaction.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{App, Database, Error, OrgId, Secret, SharedClock, UserId};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult, Value};

use super::provisioning::{DirectoryUser, NewUser, normalize_user_name};
use crate::credentials::password::{PasswordHasher, PasswordPolicy};
use crate::org::OrgStatus;

mod directory;
mod invitation;

/// How long an invitation stays valid by default.
pub const DEFAULT_INVITE_TTL: Duration = Duration::days(7);
/// Random bytes in an invitation token (256 bits).
pub const INVITE_TOKEN_BYTES: usize = 32;

/// Where a user is in their lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Invited; cannot sign in until the invitation is accepted.
    Invited,
    /// Can sign in.
    Active,
    /// Cannot sign in; sessions and tokens revoked.
    Deactivated,
}

impl UserStatus {
    /// Stable key.
    pub const fn key(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }

    fn from_key(key: &str) -> Self {
        match key {
            "invited" => UserStatus::Invited,
            "active" => UserStatus::Active,
            _ => UserStatus::Deactivated,
        }
    }
}

/// A user.
#[derive(Debug, Clone)]
pub struct User {
    /// Tenant.
    pub org_id: OrgId,
    /// Id.
    pub id: UserId,
    /// Normalized sign-in name.
    pub user_name: Secret<String>,
    /// Email; empty for a user a directory provisioned without one.
    pub email: Secret<String>,
    /// Given name.
    pub given_name: Option<Secret<String>>,
    /// Family name.
    pub family_name: Option<Secret<String>>,
    /// Name to show (SCIM `displayName`).
    pub display_name: Option<Secret<String>>,
    /// Directory id.
    pub external_id: Option<String>,
    /// Lifecycle state.
    pub status: UserStatus,
    /// Whether a password is set.
    pub has_password: bool,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user last changed.
    pub updated_at: DateTime<Utc>,
}

/// An invitation: the token is shown once and stored only as its SHA-256.
#[derive(Debug, Clone)]
pub struct Invite {
    /// The one-time token to send to the user.
    pub token: Secret<String>,
    /// When it stops working.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Users of every organization.
#[derive(Debug, Clone)]
pub struct UserStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    hasher: Arc<PasswordHasher>,
    policy: PasswordPolicy,
}

const USER_SELECT: &str = "org_id, id, user_name, email, given_name, family_name, display_name, external_id, \
    status, password_hash, version, created_at_us, updated_at_us FROM app_user";

/// The columns an insert or a replacement writes, already validated and normalized.
struct UserRow {
    user_name: String,
    /// Empty when there is none.
    email: String,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
    external_id: Option<String>,
}

impl UserRow {
    fn from_new(new: &NewUser) -> Self {
        Self {
            user_name: normalize_user_name(new.user_name.expose()),
            email: new.email.expose().trim().to_owned(),
            given_name: trimmed(new.given_name.as_ref()),
            family_name: trimmed(new.family_name.as_ref()),
            display_name: None,
            external_id: new.external_id.clone(),
        }
    }

    fn from_directory(user: &DirectoryUser) -> Self {
        Self {
            user_name: normalize_user_name(user.user_name.expose()),
            email: user.email.as_ref().map(|e| e.expose().trim().to_owned()).unwrap_or_default(),
            given_name: trimmed(user.given_name.as_ref()),
            family_name: trimmed(user.family_name.as_ref()),
            display_name: trimmed(user.display_name.as_ref()),
            external_id: user.external_id.clone(),
        }
    }

    /// The names (never the values) of the fields that differ from `user`.
    fn changed_fields(&self, user: &User) -> Vec<&'static str> {
        let exposed = |value: &Option<Secret<String>>| value.as_ref().map(|v| v.expose().clone());
        [
            ("user_name", self.user_name != *user.user_name.expose()),
            ("email", self.email != *user.email.expose()),
            ("given_name", self.given_name != exposed(&user.given_name)),
            ("family_name", self.family_name != exposed(&user.family_name)),
            ("display_name", self.display_name != exposed(&user.display_name)),
            ("external_id", self.external_id != user.external_id),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
    }
}

fn trimmed(value: Option<&Secret<String>>) -> Option<String> {
    value.map(|v| v.expose().trim().to_owned())
}

fn user_name_taken() -> Error {
    Error::AlreadyExists { resource: "user", field: "user_name".to_owned() }
}

fn stale_version() -> Error {
    Error::Aborted { reason: "STALE_VERSION", message: "the user changed since it was read; read it again".to_owned() }
}

impl UserStore {
    /// A store hashing passwords with `hasher` under `policy`.
    pub fn new(
        db: Database,
        clock: SharedClock,
        audit: AuditRecorder,
        hasher: Arc<PasswordHasher>,
        policy: PasswordPolicy,
    ) -> Self {
        Self { db, clock, audit, hasher, policy }
    }

    /// Creates an active user (directory provisioning; sign-in by invitation or SSO later).
    pub async fn provision(
        &self,
        org: OrgId,
        new: &NewUser,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<User, Error> {
        let txn = self.db.begin().await?;
        let user = self.insert(&txn, org, new, UserStatus::Active, actor, ctx).await?;
        txn.commit().await?;
        Ok(user)
    }

    /// Deactivates a user: no sign-in, and every session revoked in the same transaction.
    pub async fn deactivate(
        &self,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<User, Error> {
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        self.find(&txn, org, user).await?.ok_or(Error::NotFound { resource: "user" })?;
        listone_core::db::execute(
            &txn,
            "UPDATE app_user SET status = 'deactivated', deactivated_at_us = $3, version = version + 1, updated_at_us = $3 \
             WHERE org_id = $1 AND id = $2",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(now.timestamp_micros())],
        )
        .await?;
        self.after_deactivation(&txn, org, user, actor, ctx).await?;
        let updated = self.find(&txn, org, user).await?.ok_or(Error::NotFound { resource: "user" })?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Deletes a user with their sessions, group memberships, invitations, app assignments, roles,
    /// MFA enrolment, recovery codes, pending MFA steps and OAuth consents; their OAuth grants are
    /// revoked.
    pub async fn delete(&self, org: OrgId, user: UserId, actor: AuditActor, ctx: RequestContext) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        self.find(&txn, org, user).await?.ok_or(Error::NotFound { resource: "user" })?;
        // Access through OAuth grants ends with the user, in this transaction.
        crate::oidc::grants::revoke_user_grants(&txn, org, user, self.clock.now(), "user_deleted").await?;
        for sql in [
            "DELETE FROM user_session WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM group_member WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM user_app WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM user_invite WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM user_role WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM user_mfa WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM user_recovery_code WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM mfa_challenge WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM oauth_consent WHERE org_id = $1 AND user_id = $2",
            "DELETE FROM app_user WHERE org_id = $1 AND id = $2",
        ] {
            listone_core::db::execute(&txn, sql, [Value::from(org.as_uuid()), Value::from(user.as_uuid())]).await?;
        }
        self.record(&txn, org, user, actor, "identity.user.delete", ctx, serde_json::json!({})).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Assigns `user` to `app`: the org must subscribe to it now, and a seat must be free.
    pub async fn assign_app(
        &self,
        org: OrgId,
        user: UserId,
        app: App,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        self.assign_app_in(&txn, org, user, app, actor, ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    /// [`UserStore::assign_app`] inside the caller's transaction. The subscription row is locked
    /// first, so concurrent assignments cannot take more seats than there are.
    pub async fn assign_app_in(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        user: UserId,
        app: App,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let now = self.clock.now().timestamp_micros();
        listone_core::db::execute(
            txn,
            "UPDATE app_subscription SET updated_at_us = updated_at_us WHERE org_id = $1 AND app = $2",
            [Value::from(org.as_uuid()), Value::from(app.key())],
        )
        .await?;
        self.find(txn, org, user).await?.ok_or(Error::NotFound { resource: "user" })?;
        let seats = self.active_seats(txn, org, app, now).await?.ok_or_else(|| Error::FailedPrecondition {
            reason: "NOT_SUBSCRIBED",
            message: format!("the organization has no active {} subscription", app.key()),
        })?;
        let used = listone_core::db::count(
            txn,
            "SELECT COUNT(*) AS n FROM user_app WHERE org_id = $1 AND app = $2",
            [Value::from(org.as_uuid()), Value::from(app.key())],
        )
        .await?;
        let assigned = listone_core::db::count(
            txn,
            "SELECT COUNT(*) AS n FROM user_app WHERE org_id = $1 AND app = $2 AND user_id = $3",
            [Value::from(org.as_uuid()), Value::from(app.key()), Value::from(user.as_uuid())],
        )
        .await?;
        if assigned > 0 {
            return Ok(());
        }
        if used >= i64::from(seats) {
            return Err(Error::ResourceExhausted { limit: "SEATS" });
        }
        listone_core::db::execute(
            txn,
            "INSERT INTO user_app (org_id, user_id, app, created_at_us) VALUES ($1, $2, $3, $4)",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(app.key()), Value::from(now)],
        )
        .await?;
        self.record(txn, org, user, actor, "identity.user.app.assign", ctx, serde_json::json!({ "app": app.key() }))
            .await?;
        Ok(())
    }

    /// Whether `user` may use `app` now: active user, active org, active subscription, assigned.
    pub async fn can_use_app(&self, org: OrgId, user: UserId, app: App) -> Result<bool, Error> {
        let conn = self.db.conn();
        let now = self.clock.now().timestamp_micros();
        let Some(u) = self.find(conn, org, user).await? else { return Ok(false) };
        let org_active = listone_core::db::count(
            conn,
            "SELECT COUNT(*) AS n FROM org WHERE id = $1 AND status = $2",
            [Value::from(org.as_uuid()), Value::from(OrgStatus::Active.key())],
        )
        .await?
            > 0;
        let assigned = listone_core::db::count(
            conn,
            "SELECT COUNT(*) AS n FROM user_app WHERE org_id = $1 AND app = $2 AND user_id = $3",
            [Value::from(org.as_uuid()), Value::from(app.key()), Value::from(user.as_uuid())],
        )
        .await?
            > 0;
        Ok(u.status == UserStatus::Active
            && org_active
            && assigned
            && self.active_seats(conn, org, app, now).await?.is_some())
    }

    /// The user `id` of `org`; NOT_FOUND when absent or another org's.
    pub async fn get(&self, org: OrgId, id: UserId) -> Result<User, Error> {
        self.find(self.db.conn(), org, id).await?.ok_or(Error::NotFound { resource: "user" })
    }

    async fn insert(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        new: &NewUser,
        status: UserStatus,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<User, Error> {
        new.validate()?;
        let action =
            if status == UserStatus::Invited { "identity.user.create_invited" } else { "identity.user.provision" };
        let audit = (action, actor, ctx, serde_json::json!({}));
        self.insert_row(txn, org, &UserRow::from_new(new), status, audit).await
    }

    /// Inserts a validated row with its audit event `(action, actor, ctx, details)`.
    async fn insert_row(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        row: &UserRow,
        status: UserStatus,
        (action, actor, ctx, details): (&str, AuditActor, RequestContext, serde_json::Value),
    ) -> Result<User, Error> {
        let org_status = {
            let stmt = listone_core::db::statement(
                txn.get_database_backend(),
                "SELECT status FROM org WHERE id = $1",
                [Value::from(org.as_uuid())],
            );
            txn.query_one_raw(stmt).await?.map(|r| r.try_get::<String>("", "status")).transpose()?
        };
        match org_status.as_deref() {
            None => return Err(Error::NotFound { resource: "organization" }),
            Some("suspended") => {
                return Err(Error::FailedPrecondition {
                    reason: "ORG_SUSPENDED",
                    message: "the organization is suspended".to_owned(),
                });
            }
            Some(_) => {}
        }
        if self.find_by_name(txn, org, &row.user_name).await?.is_some() {
            return Err(user_name_taken());
        }
        let id = UserId::new();
        let now = self.clock.now().timestamp_micros();
        let deactivated_at = (status == UserStatus::Deactivated).then_some(now);
        listone_core::db::execute(
            txn,
            "INSERT INTO app_user (org_id, id, user_name, email, given_name, family_name, display_name, external_id, \
             status, password_hash, version, created_at_us, updated_at_us, deactivated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, 1, $10, $10, $11)",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(row.user_name.clone()),
                Value::from(row.email.clone()),
                Value::from(row.given_name.clone()),
                Value::from(row.family_name.clone()),
                Value::from(row.display_name.clone()),
                Value::from(row.external_id.clone()),
                Value::from(status.key()),
                Value::from(now),
                Value::from(deactivated_at),
            ],
        )
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => user_name_taken(),
            _ => e.into(),
        })?;
        self.record(txn, org, id, actor, action, ctx, details).await?;
        self.find(txn, org, id).await?.ok_or_else(|| Error::internal("created user not readable"))
    }

    /// Revokes every session of a just deactivated user and records the deactivation.
    async fn after_deactivation(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        // Deactivation cuts access at once: every open session goes in the same transaction.
        let revoked =
            crate::session::revoke_user_sessions(txn, org, user, self.clock.now(), "user_deactivated").await?;
        let grants =
            crate::oidc::grants::revoke_user_grants(txn, org, user, self.clock.now(), "user_deactivated").await?;
        let details = serde_json::json!({ "sessions_revoked": revoked, "grants_revoked": grants });
        self.record(txn, org, user, actor, "identity.user.deactivate", ctx, details).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        action: &str,
        ctx: RequestContext,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(org, actor, action, Outcome::Allowed, self.clock.now())
            .with_resource("identity.user", Some(user.to_string()))
            .with_context(ctx)
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }

    async fn audit_refusal(
        &self,
        org: OrgId,
        user: Option<UserId>,
        action: &str,
        reason: &str,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        let actor = AuditActor { kind: listone_audit::ActorKind::System, id: None };
        let event = AuditEvent::new(org, actor, action, Outcome::Failed, self.clock.now())
            .with_resource("identity.user", user.map(|u| u.to_string()))
            .with_context(ctx)
            .with_details(serde_json::json!({ "reason": reason }));
        self.audit.record(&txn, event).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn active_seats<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        app: App,
        now_us: i64,
    ) -> Result<Option<u32>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT seats FROM app_subscription WHERE org_id = $1 AND app = $2 AND starts_at_us <= $3 \
             AND (ends_at_us IS NULL OR ends_at_us > $3)",
            [Value::from(org.as_uuid()), Value::from(app.key()), Value::from(now_us)],
        );
        Ok(conn
            .query_one_raw(stmt)
            .await?
            .map(|r| r.try_get::<i32>("", "seats"))
            .transpose()?
            .map(|s| u32::try_from(s).unwrap_or(0)))
    }

    async fn find_by_name<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        normalized: &str,
    ) -> Result<Option<User>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {USER_SELECT} WHERE org_id = $1 AND user_name = $2"),
            [Value::from(org.as_uuid()), Value::from(normalized.to_owned())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(user_from_row).transpose()
    }

    async fn find<C: ConnectionTrait>(&self, conn: &C, org: OrgId, id: UserId) -> Result<Option<User>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {USER_SELECT} WHERE org_id = $1 AND id = $2"),
            [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(user_from_row).transpose()
    }
}

fn user_from_row(row: &QueryResult) -> Result<User, Error> {
    let status: String = row.try_get("", "status")?;
    let password: Option<String> = row.try_get("", "password_hash")?;
    Ok(User {
        org_id: OrgId::from_uuid(row.try_get("", "org_id")?),
        id: UserId::from_uuid(row.try_get("", "id")?),
        user_name: Secret::new(row.try_get("", "user_name")?),
        email: Secret::new(row.try_get("", "email")?),
        given_name: row.try_get::<Option<String>>("", "given_name")?.map(Secret::new),
        family_name: row.try_get::<Option<String>>("", "family_name")?.map(Secret::new),
        display_name: row.try_get::<Option<String>>("", "display_name")?.map(Secret::new),
        external_id: row.try_get("", "external_id")?,
        status: UserStatus::from_key(&status),
        has_password: password.is_some(),
        version: u64::try_from(row.try_get::<i64>("", "version")?).unwrap_or(0),
        created_at: micros(row.try_get("", "created_at_us")?)?,
        updated_at: micros(row.try_get("", "updated_at_us")?)?,
    })
}

fn micros(us: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| Error::internal("timestamp out of range"))
}
