//! Role grants on sea-orm: per (user, app) and per (group, app). Setting a grant replaces the
//! whole set in one transaction with its audit event, which names what was added and removed.

use std::collections::BTreeSet;

use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{App, Database, Error, GroupId, OrgId, SharedClock, UserId};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Value};
use uuid::Uuid;

use super::key::validate_roles;
use crate::org::OrgStatus;
use crate::user::{UserStatus, UserStore};

/// Who a grant is for.
#[derive(Debug, Clone, Copy)]
enum Holder {
    User(UserId),
    Group(GroupId),
}

impl Holder {
    const fn table(self) -> &'static str {
        match self {
            Holder::User(_) => "user_role",
            Holder::Group(_) => "group_role",
        }
    }
    const fn column(self) -> &'static str {
        match self {
            Holder::User(_) => "user_id",
            Holder::Group(_) => "group_id",
        }
    }
    fn id(self) -> Uuid {
        match self {
            Holder::User(u) => u.as_uuid(),
            Holder::Group(g) => g.as_uuid(),
        }
    }
    const fn resource(self) -> &'static str {
        match self {
            Holder::User(_) => "user",
            Holder::Group(_) => "group",
        }
    }
    const fn owner_table(self) -> &'static str {
        match self {
            Holder::User(_) => "app_user",
            Holder::Group(_) => "user_group",
        }
    }
}

/// Role grants of every organization.
#[derive(Debug, Clone)]
pub struct RoleStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    users: UserStore,
}

impl RoleStore {
    /// A store recording changes with `audit`; `users` answers whether a user may use an app.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder, users: UserStore) -> Self {
        Self { db, clock, audit, users }
    }

    /// Replaces the roles `user` holds directly in `app`; returns the new set. Unknown user
    /// (or another org's) is NOT_FOUND; bad role keys are INVALID_ARGUMENT and nothing is written.
    pub async fn set_user_roles(
        &self,
        org: OrgId,
        user: UserId,
        app: App,
        roles: &[String],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<BTreeSet<String>, Error> {
        self.set(org, Holder::User(user), app, roles, actor, ctx).await
    }

    /// Replaces the roles every member of `group` gets in `app`; returns the new set.
    pub async fn set_group_roles(
        &self,
        org: OrgId,
        group: GroupId,
        app: App,
        roles: &[String],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<BTreeSet<String>, Error> {
        self.set(org, Holder::Group(group), app, roles, actor, ctx).await
    }

    /// [`RoleStore::set_user_roles`] inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_user_roles_in(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        user: UserId,
        app: App,
        roles: &[String],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<BTreeSet<String>, Error> {
        self.set_in(txn, org, Holder::User(user), app, roles, actor, ctx).await
    }

    /// [`RoleStore::set_group_roles`] inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_group_roles_in(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        group: GroupId,
        app: App,
        roles: &[String],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<BTreeSet<String>, Error> {
        self.set_in(txn, org, Holder::Group(group), app, roles, actor, ctx).await
    }

    /// The roles `user` holds directly in `app`.
    pub async fn user_roles(&self, org: OrgId, user: UserId, app: App) -> Result<BTreeSet<String>, Error> {
        let conn = self.db.conn();
        ensure_exists(conn, org, Holder::User(user)).await?;
        granted(conn, org, Holder::User(user), app).await
    }

    /// The roles `group` grants in `app`.
    pub async fn group_roles(&self, org: OrgId, group: GroupId, app: App) -> Result<BTreeSet<String>, Error> {
        let conn = self.db.conn();
        ensure_exists(conn, org, Holder::Group(group)).await?;
        granted(conn, org, Holder::Group(group), app).await
    }

    /// [`RoleStore::group_roles`] on the caller's transaction.
    pub async fn group_roles_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        group: GroupId,
        app: App,
    ) -> Result<BTreeSet<String>, Error> {
        ensure_exists(conn, org, Holder::Group(group)).await?;
        granted(conn, org, Holder::Group(group), app).await
    }

    /// What `user` may act as in `app` right now: direct roles and those of every group the user
    /// is in — but none at all unless the user may use the app (active user and organization;
    /// for CRM, HRMS and Drive also an active subscription and an assignment). NOT_FOUND for an
    /// unknown user or another org's.
    pub async fn effective_roles(&self, org: OrgId, user: UserId, app: App) -> Result<BTreeSet<String>, Error> {
        let found = self.users.get(org, user).await?;
        let usable = match app {
            App::Identity => found.status == UserStatus::Active && org_is_active(self.db.conn(), org).await?,
            _ => self.users.can_use_app(org, user, app).await?,
        };
        if !usable {
            return Ok(BTreeSet::new());
        }
        let stmt = listone_core::db::statement(
            self.db.conn().get_database_backend(),
            "SELECT role FROM user_role WHERE org_id = $1 AND user_id = $2 AND app = $3 \
             UNION SELECT gr.role AS role FROM group_role gr JOIN group_member gm \
             ON gm.org_id = gr.org_id AND gm.group_id = gr.group_id \
             WHERE gr.org_id = $1 AND gm.user_id = $2 AND gr.app = $3",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(app.key())],
        );
        let rows = self.db.conn().query_all_raw(stmt).await?;
        rows.iter().map(|r| r.try_get::<String>("", "role").map_err(Error::from)).collect()
    }

    async fn set(
        &self,
        org: OrgId,
        holder: Holder,
        app: App,
        roles: &[String],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<BTreeSet<String>, Error> {
        let txn = self.db.begin().await?;
        let set = self.set_in(&txn, org, holder, app, roles, actor, ctx).await?;
        txn.commit().await?;
        Ok(set)
    }

    #[allow(clippy::too_many_arguments)]
    async fn set_in(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        holder: Holder,
        app: App,
        roles: &[String],
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<BTreeSet<String>, Error> {
        let wanted = validate_roles(roles)?;
        let now = self.clock.now();
        ensure_exists(txn, org, holder).await?;
        let current = granted(txn, org, holder, app).await?;
        let added: Vec<&String> = wanted.difference(&current).collect();
        let removed: Vec<&String> = current.difference(&wanted).collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(wanted);
        }
        let key = [Value::from(org.as_uuid()), Value::from(holder.id()), Value::from(app.key())];
        for role in &removed {
            let mut params = key.to_vec();
            params.push(Value::from(role.as_str()));
            listone_core::db::execute(
                txn,
                &format!(
                    "DELETE FROM {} WHERE org_id = $1 AND {} = $2 AND app = $3 AND role = $4",
                    holder.table(),
                    holder.column()
                ),
                params,
            )
            .await?;
        }
        for role in &added {
            let mut params = key.to_vec();
            params.push(Value::from(role.as_str()));
            params.push(Value::from(now.timestamp_micros()));
            listone_core::db::execute(
                txn,
                &format!(
                    "INSERT INTO {} (org_id, {}, app, role, created_at_us) VALUES ($1, $2, $3, $4, $5)",
                    holder.table(),
                    holder.column()
                ),
                params,
            )
            .await?;
        }
        let event =
            AuditEvent::new(org, actor, format!("identity.{}.roles.set", holder.resource()), Outcome::Allowed, now)
                .with_resource(format!("identity.{}", holder.resource()), Some(holder.id().to_string()))
                .with_context(ctx)
                .with_details(serde_json::json!({ "app": app.key(), "added": added, "removed": removed }));
        self.audit.record(txn, event).await?;
        Ok(wanted)
    }
}

async fn ensure_exists<C: ConnectionTrait>(conn: &C, org: OrgId, holder: Holder) -> Result<(), Error> {
    let n = listone_core::db::count(
        conn,
        &format!("SELECT COUNT(*) AS n FROM {} WHERE org_id = $1 AND id = $2", holder.owner_table()),
        [Value::from(org.as_uuid()), Value::from(holder.id())],
    )
    .await?;
    if n == 0 { Err(Error::NotFound { resource: holder.resource() }) } else { Ok(()) }
}

async fn granted<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    holder: Holder,
    app: App,
) -> Result<BTreeSet<String>, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        &format!("SELECT role FROM {} WHERE org_id = $1 AND {} = $2 AND app = $3", holder.table(), holder.column()),
        [Value::from(org.as_uuid()), Value::from(holder.id()), Value::from(app.key())],
    );
    let rows = conn.query_all_raw(stmt).await?;
    rows.iter().map(|r| r.try_get::<String>("", "role").map_err(Error::from)).collect()
}

async fn org_is_active<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<bool, Error> {
    Ok(listone_core::db::count(
        conn,
        "SELECT COUNT(*) AS n FROM org WHERE id = $1 AND status = $2",
        [Value::from(org.as_uuid()), Value::from(OrgStatus::Active.key())],
    )
    .await?
        > 0)
}
