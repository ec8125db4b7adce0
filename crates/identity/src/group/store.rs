//! Groups and memberships on sea-orm. Names are unique per organization, case-insensitively;
//! members must be users of the same organization. Every change commits with its audit event.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, GroupId, OrgId, SharedClock, UserId, Violations};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult, Value};

mod directory;

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
    /// Optimistic-concurrency version; replacements and [`GroupStore::change_members`] bump it.
    pub version: u64,
    /// When the group was created.
    pub created_at: DateTime<Utc>,
    /// When the group last changed.
    pub updated_at: DateTime<Utc>,
}

/// Everything a customer directory (SCIM) manages about a group, set as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryGroup {
    /// Display name, unique per organization regardless of case.
    pub display_name: String,
    /// The directory's id for the group.
    pub external_id: Option<String>,
    /// The members, all users of the same organization.
    pub members: Vec<UserId>,
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

fn stale_version() -> Error {
    Error::Aborted { reason: "STALE_VERSION", message: "the group changed since it was read; read it again".to_owned() }
}

const GROUP_SELECT: &str =
    "org_id, id, display_name, external_id, version, created_at_us, updated_at_us FROM user_group";

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
        let txn = self.db.begin().await?;
        let group = self.create_in(&txn, org, display_name, external_id, actor, ctx).await?;
        txn.commit().await?;
        Ok(group)
    }

    /// [`GroupStore::create`] inside the caller's transaction.
    pub async fn create_in(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        display_name: &str,
        external_id: Option<&str>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Group, Error> {
        validate(display_name, external_id)?;
        let id = GroupId::new();
        let now = self.clock.now().timestamp_micros();
        if self.find_by_key(txn, org, &name_key(display_name)).await?.is_some() {
            return Err(taken());
        }
        listone_core::db::execute(
            txn,
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
        self.record(txn, org, id, actor, "identity.group.create", ctx, serde_json::json!({})).await?;
        self.find(txn, org, id).await?.ok_or_else(|| Error::internal("created group not readable"))
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
        let txn = self.db.begin().await?;
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
        let txn = self.db.begin().await?;
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

    /// Adds `user` to the group (idempotent); both must belong to `org`. A change bumps the
    /// group's version.
    pub async fn add_member(
        &self,
        org: OrgId,
        id: GroupId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        self.add_member_in(&txn, org, id, user, actor, ctx).await?;
        txn.commit().await?;
        Ok(())
    }

    /// [`GroupStore::add_member`] inside the caller's transaction. A change bumps the group's
    /// version (the SCIM ETag).
    pub async fn add_member_in(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        id: GroupId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let group = self.find(txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        if !user_exists(txn, org, user).await? {
            return Err(Error::NotFound { resource: "user" });
        }
        let added = listone_core::db::execute(
            txn,
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
            self.bump(txn, org, id, group.version).await?;
            let details = serde_json::json!({ "user_id": user.to_string() });
            self.record(txn, org, id, actor, "identity.group.member.add", ctx, details).await?;
        }
        Ok(())
    }

    /// Removes `user` from the group (idempotent for members; a user of another organization is
    /// NOT_FOUND). A change bumps the group's version.
    pub async fn remove_member(
        &self,
        org: OrgId,
        id: GroupId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        let group = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        // Idempotent for members, but an id that is not a user of this organization is NOT_FOUND,
        // as everywhere else.
        if !user_exists(&txn, org, user).await? {
            return Err(Error::NotFound { resource: "user" });
        }
        let removed = listone_core::db::execute(
            &txn,
            "DELETE FROM group_member WHERE org_id = $1 AND group_id = $2 AND user_id = $3",
            [Value::from(org.as_uuid()), Value::from(id.as_uuid()), Value::from(user.as_uuid())],
        )
        .await?;
        if removed > 0 {
            self.bump(&txn, org, id, group.version).await?;
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

    /// Up to `limit` groups of `org` after skipping `offset`, in id (creation) order.
    pub async fn list(&self, org: OrgId, offset: u64, limit: u64) -> Result<Vec<Group>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {GROUP_SELECT} WHERE org_id = $1 ORDER BY id LIMIT $2 OFFSET $3"),
            [
                Value::from(org.as_uuid()),
                Value::from(i64::try_from(limit).unwrap_or(i64::MAX)),
                Value::from(i64::try_from(offset).unwrap_or(i64::MAX)),
            ],
        );
        conn.query_all_raw(stmt).await?.iter().map(group_from_row).collect()
    }

    /// How many groups `org` has.
    pub async fn count(&self, org: OrgId) -> Result<u64, Error> {
        let n = listone_core::db::count(
            self.db.conn(),
            "SELECT COUNT(*) AS n FROM user_group WHERE org_id = $1",
            [Value::from(org.as_uuid())],
        )
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The group of `org` with this display name (any case), if any.
    pub async fn find_by_display_name(&self, org: OrgId, display_name: &str) -> Result<Option<Group>, Error> {
        self.find_by_key(self.db.conn(), org, &name_key(display_name)).await
    }

    /// [`GroupStore::find_by_display_name`] on the caller's connection or transaction.
    pub async fn find_by_display_name_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        display_name: &str,
    ) -> Result<Option<Group>, Error> {
        self.find_by_key(conn, org, &name_key(display_name)).await
    }

    /// The groups of `org` with this directory id (exact), in id order.
    pub async fn find_by_external_id(&self, org: OrgId, external_id: &str) -> Result<Vec<Group>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {GROUP_SELECT} WHERE org_id = $1 AND external_id = $2 ORDER BY id"),
            [Value::from(org.as_uuid()), Value::from(external_id.to_owned())],
        );
        conn.query_all_raw(stmt).await?.iter().map(group_from_row).collect()
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
            &format!("SELECT {GROUP_SELECT} WHERE org_id = $1 AND id = $2"),
            [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(group_from_row).transpose()
    }

    async fn find_by_key<C: ConnectionTrait>(&self, conn: &C, org: OrgId, key: &str) -> Result<Option<Group>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {GROUP_SELECT} WHERE org_id = $1 AND name_key = $2"),
            [Value::from(org.as_uuid()), Value::from(key.to_owned())],
        );
        conn.query_one_raw(stmt).await?.as_ref().map(group_from_row).transpose()
    }

    async fn member_set<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        id: GroupId,
    ) -> Result<BTreeSet<UserId>, Error> {
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT user_id FROM group_member WHERE org_id = $1 AND group_id = $2",
            [Value::from(org.as_uuid()), Value::from(id.as_uuid())],
        );
        conn.query_all_raw(stmt).await?.iter().map(|r| Ok(UserId::from_uuid(r.try_get("", "user_id")?))).collect()
    }

    /// Adds and removes members of a group already read in `txn`, checking every added user
    /// belongs to `org`; returns the ids actually added and removed.
    async fn apply_members(
        &self,
        txn: &DatabaseTransaction,
        org: OrgId,
        id: GroupId,
        add: &BTreeSet<UserId>,
        remove: &BTreeSet<UserId>,
    ) -> Result<(Vec<UserId>, Vec<UserId>), Error> {
        let current = self.member_set(txn, org, id).await?;
        let added: Vec<UserId> = add.iter().filter(|u| !current.contains(u) && !remove.contains(u)).copied().collect();
        let removed: Vec<UserId> = remove.iter().filter(|u| current.contains(u)).copied().collect();
        let now = self.clock.now().timestamp_micros();
        for user in &added {
            if !user_exists(txn, org, *user).await? {
                return Err(Error::NotFound { resource: "user" });
            }
            listone_core::db::execute(
                txn,
                "INSERT INTO group_member (org_id, group_id, user_id, added_at_us) VALUES ($1, $2, $3, $4)",
                [Value::from(org.as_uuid()), Value::from(id.as_uuid()), Value::from(user.as_uuid()), Value::from(now)],
            )
            .await?;
        }
        for user in &removed {
            listone_core::db::execute(
                txn,
                "DELETE FROM group_member WHERE org_id = $1 AND group_id = $2 AND user_id = $3",
                [Value::from(org.as_uuid()), Value::from(id.as_uuid()), Value::from(user.as_uuid())],
            )
            .await?;
        }
        Ok((added, removed))
    }

    /// Bumps the version of a group read at `version` in `txn`; ABORTED when it moved since.
    async fn bump(&self, txn: &DatabaseTransaction, org: OrgId, id: GroupId, version: u64) -> Result<(), Error> {
        let updated = listone_core::db::execute(
            txn,
            "UPDATE user_group SET version = version + 1, updated_at_us = $3 WHERE org_id = $1 AND id = $2 AND version = $4",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(self.clock.now().timestamp_micros()),
                Value::from(i64::try_from(version).unwrap_or(i64::MAX)),
            ],
        )
        .await?;
        if updated == 0 { Err(stale_version()) } else { Ok(()) }
    }
}

async fn org_exists<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<bool, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT 1 AS one FROM org WHERE id = $1",
        [Value::from(org.as_uuid())],
    );
    Ok(conn.query_one_raw(stmt).await?.is_some())
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
        created_at: micros(row.try_get("", "created_at_us")?)?,
        updated_at: micros(row.try_get("", "updated_at_us")?)?,
    })
}

fn micros(us: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| Error::internal("timestamp out of range"))
}

fn ids(users: &[UserId]) -> Vec<String> {
    users.iter().map(ToString::to_string).collect()
}
