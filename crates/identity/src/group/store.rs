//! Groups and memberships on sea-orm. Names are unique per organization, case-insensitively;
//! members must be users of the same organization. Every change commits with its audit event.

use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, GroupId, OrgId, SharedClock, UserId, Violations};
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait, Value};

/// Longest group display name.
pub const MAX_GROUP_NAME_CHARS: usize = 200;
/// Longest SCIM `externalId`.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Tenant.
    pub org_id: OrgId,
    /// Id.
    pub id: GroupId,
    /// Display name as entered.
    pub display_name: String,
    /// Directory id (SCIM `externalId`).
    pub external_id: Option<String>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

/// Groups of every organization.
#[derive(Debug, Clone)]
pub struct GroupStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
}

fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn validate(display_name: &str, external_id: Option<&str>) -> Result<(), Error> {
    let mut v = Violations::new();
    let name = display_name.trim();
    v.check(
        name.is_empty() || name.chars().count() > MAX_GROUP_NAME_CHARS || name.chars().any(char::is_control),
        "display_name",
        "must be 1 to 200 characters without control characters",
    );
    v.check(
        external_id.is_some_and(|e| e.is_empty() || e.chars().count() > MAX_EXTERNAL_ID_CHARS),
        "external_id",
        "must be 1 to 255 characters",
    );
    v.into_result()
}

fn taken() -> Error {
    Error::AlreadyExists { resource: "group", field: "display_name".to_owned() }
}

impl GroupStore {
    /// A store recording changes with `audit`.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder) -> Self {
        Self { db, clock, audit }
    }

    /// Creates a group; a name already used in the org (any case) is ALREADY_EXISTS.
    pub async fn create(
        &self,
        org: OrgId,
        display_name: &str,
        external_id: Option<&str>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Group, Error> {
        validate(display_name, external_id)?;
        let id = GroupId::new();
        let now = self.clock.now().timestamp_micros();
        let txn = self.db.conn().begin().await?;
        if self.find_by_key(&txn, org, &name_key(display_name)).await?.is_some() {
            return Err(taken());
        }
        listone_core::db::execute(
            &txn,
            "INSERT INTO user_group (org_id, id, display_name, name_key, external_id, version, created_at_us, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(display_name.trim().to_owned()),
                Value::from(name_key(display_name)),
                Value::from(external_id.map(str::to_owned)),
                Value::from(now),
            ],
        )
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => taken(),
            _ => e.into(),
        })?;
        self.record(&txn, org, id, actor, "identity.group.create", ctx, serde_json::json!({})).await?;
        let group = self.find(&txn, org, id).await?.ok_or_else(|| Error::internal("created group not readable"))?;
        txn.commit().await?;
        Ok(group)
    }

    /// The group `id` of `org`; NOT_FOUND when absent or another org's.
    pub async fn get(&self, org: OrgId, id: GroupId) -> Result<Group, Error> {
        self.find(self.db.conn(), org, id).await?.ok_or(Error::NotFound { resource: "group" })
    }

    /// Renames a group.
    pub async fn rename(
        &self,
        org: OrgId,
        id: GroupId,
        display_name: &str,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Group, Error> {
        validate(display_name, None)?;
        let txn = self.db.conn().begin().await?;
        self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        if self.find_by_key(&txn, org, &name_key(display_name)).await?.is_some_and(|g| g.id != id) {
            return Err(taken());
        }
        listone_core::db::execute(
            &txn,
            "UPDATE user_group SET display_name = $3, name_key = $4, version = version + 1, updated_at_us = $5 \
             WHERE org_id = $1 AND id = $2",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(display_name.trim().to_owned()),
                Value::from(name_key(display_name)),
                Value::from(self.clock.now().timestamp_micros()),
            ],
        )
        .await?;
        self.record(&txn, org, id, actor, "identity.group.rename", ctx, serde_json::json!({})).await?;
        let group = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        txn.commit().await?;
        Ok(group)
    }

    /// Deletes a group with its memberships and the app roles it granted.
    pub async fn delete(&self, org: OrgId, id: GroupId, actor: AuditActor, ctx: RequestContext) -> Result<(), Error> {
        let txn = self.db.conn().begin().await?;
        self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        for sql in [
            "DELETE FROM group_member WHERE org_id = $1 AND group_id = $2",
            "DELETE FROM group_role WHERE org_id = $1 AND group_id = $2",
            "DELETE FROM user_group WHERE org_id = $1 AND id = $2",
        ] {
            listone_core::db::execute(&txn, sql, [Value::from(org.as_uuid()), Value::from(id.as_uuid())]).await?;
        }
        self.record(&txn, org, id, actor, "identity.group.delete", ctx, serde_json::json!({})).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Adds `user` to the group (idempotent); both must belong to `org`.
    pub async fn add_member(
        &self,
        org: OrgId,
        id: GroupId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.conn().begin().await?;
        self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        if !user_exists(&txn, org, user).await? {
            return Err(Error::NotFound { resource: "user" });
        }
        let added = listone_core::db::execute(
            &txn,
            "INSERT INTO group_member (org_id, group_id, user_id, added_at_us) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, group_id, user_id) DO NOTHING",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(user.as_uuid()),
                Value::from(self.clock.now().timestamp_micros()),
            ],
        )
        .await?;
        if added > 0 {
            let details = serde_json::json!({ "user_id": user.to_string() });
            self.record(&txn, org, id, actor, "identity.group.member.add", ctx, details).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Removes `user` from the group (idempotent).
    pub async fn remove_member(
        &self,
        org: OrgId,
        id: GroupId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.conn().begin().await?;
        self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        let removed = listone_core::db::execute(
            &txn,
            "DELETE FROM group_member WHERE org_id = $1 AND group_id = $2 AND user_id = $3",
            [Value::from(org.as_uuid()), Value::from(id.as_uuid()), Value::from(user.as_uuid())],
        )
        .await?;
        if removed > 0 {
            let details = serde_json::json!({ "user_id": user.to_string() });
            self.record(&txn, org, id, actor, "identity.group.member.remove", ctx, details).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The members of a group, oldest membership first.
    pub async fn members(&self, org: OrgId, id: GroupId) -> Result<Vec<UserId>, Error> {
        let conn = self.db.conn();
        self.find(conn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT user_id FROM group_member WHERE org_id = $1 AND group_id = $2 ORDER BY added_at_us, user_id",
            [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
        );
        conn.query_all_raw(stmt).await?.iter().map(|r| Ok(UserId::from_uuid(r.try_get("", "user_id")?))).collect()
    }

    /// The groups `user` belongs to.
    pub async fn groups_of(&self, org: OrgId, user: UserId) -> Result<Vec<GroupId>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT group_id FROM group_member WHERE org_id = $1 AND user_id = $2 ORDER BY group_id",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
        );
        conn.query_all_raw(stmt).await?.iter().map(|r| Ok(GroupId::from_uuid(r.try_get("", "group_id")?))).collect()
    }

    #[allow(clippy::too_many_arguments)]
    async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        group: GroupId,
        actor: AuditActor,
        action: &str,
        ctx: RequestContext,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(org, actor, action, Outcome::Allowed, self.clock.now())
            .with_resource("identity.group", Some(group.to_string()))
            .with_context(ctx)
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }

    async fn find<C: ConnectionTrait>(&self, conn: &C, org: OrgId, id: GroupId) -> Result<Option<Group>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT org_id, id, display_name, external_id, version FROM user_group WHERE org_id = $1 AND id = $2",
            [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(group_from_row).transpose()
    }

    async fn find_by_key<C: ConnectionTrait>(&self, conn: &C, org: OrgId, key: &str) -> Result<Option<Group>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT org_id, id, display_name, external_id, version FROM user_group WHERE org_id = $1 AND name_key = $2",
            [Value::from(org.as_uuid()), Value::from(key.to_owned())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(group_from_row).transpose()
    }
}

async fn user_exists<C: ConnectionTrait>(conn: &C, org: OrgId, user: UserId) -> Result<bool, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT 1 AS one FROM app_user WHERE org_id = $1 AND id = $2",
        [Value::from(org.as_uuid()), Value::from(user.as_uuid())],
    );
    Ok(conn.query_one_raw(stmt).await?.is_some())
}

fn group_from_row(row: &QueryResult) -> Result<Group, Error> {
    Ok(Group {
        org_id: OrgId::from_uuid(row.try_get("", "org_id")?),
        id: GroupId::from_uuid(row.try_get("", "id")?),
        display_name: row.try_get("", "display_name")?,
        external_id: row.try_get("", "external_id")?,
        version: u64::try_from(row.try_get::<i64>("", "version")?).unwrap_or(0),
    })
}
