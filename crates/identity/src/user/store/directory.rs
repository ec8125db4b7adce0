//! Directory (SCIM) operations on users: provisioning from a customer directory, whole-record
//! replacement with optimistic versions, reactivation, paging and lookups by directory keys.

use listone_audit::{AuditActor, RequestContext};
use listone_core::{Error, OrgId, UserId};
use sea_orm::{ConnectionTrait, Value};

use super::{USER_SELECT, User, UserRow, UserStatus, UserStore, stale_version, user_from_row, user_name_taken};
use crate::user::provisioning::{DirectoryUser, normalize_user_name};

impl UserStore {
    /// Creates a user from a customer directory (SCIM): no email needed; `active: false` creates
    /// it deactivated. Audited as `identity.user.provision` with `source: directory`.
    pub async fn provision_from_directory(
        &self,
        org: OrgId,
        user: &DirectoryUser,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<User, Error> {
        user.validate()?;
        let status = if user.active { UserStatus::Active } else { UserStatus::Deactivated };
        let details = serde_json::json!({ "source": "directory", "active": user.active });
        let txn = self.db.begin().await?;
        let created = self
            .insert_row(
                &txn,
                org,
                &UserRow::from_directory(user),
                status,
                ("identity.user.provision", actor, ctx, details),
            )
            .await?;
        txn.commit().await?;
        Ok(created)
    }

    /// Replaces what a directory manages about a user (SCIM PUT, and PATCH once applied):
    /// names, display name, email, external id and `active`. A stale `expected_version` is
    /// ABORTED (`STALE_VERSION`), a user name taken by another user ALREADY_EXISTS. Changed
    /// fields are audited by name as `identity.user.update`; `active: false` deactivates
    /// (`identity.user.deactivate`, every session revoked), `active: true` reactivates a
    /// deactivated user (`identity.user.reactivate`); an invited user stays invited. A
    /// replacement that changes nothing writes nothing.
    pub async fn replace(
        &self,
        org: OrgId,
        id: UserId,
        user: &DirectoryUser,
        expected_version: Option<u64>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<User, Error> {
        user.validate()?;
        let now = self.clock.now().timestamp_micros();
        let row = UserRow::from_directory(user);
        let txn = self.db.begin().await?;
        let current = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "user" })?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(stale_version());
        }
        if self.find_by_name(&txn, org, &row.user_name).await?.is_some_and(|other| other.id != id) {
            return Err(user_name_taken());
        }
        let changed = row.changed_fields(&current);
        let status = match (user.active, current.status) {
            (false, UserStatus::Active | UserStatus::Invited) => UserStatus::Deactivated,
            (true, UserStatus::Deactivated) => UserStatus::Active,
            (_, unchanged) => unchanged,
        };
        if changed.is_empty() && status == current.status {
            txn.commit().await?;
            return Ok(current);
        }
        let updated = listone_core::db::execute(
            &txn,
            "UPDATE app_user SET user_name = $3, email = $4, given_name = $5, family_name = $6, display_name = $7, \
             external_id = $8, status = $9, \
             deactivated_at_us = CASE WHEN $9 = 'deactivated' THEN COALESCE(deactivated_at_us, $10) ELSE NULL END, \
             version = version + 1, updated_at_us = $10 WHERE org_id = $1 AND id = $2 AND version = $11",
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
                Value::from(i64::try_from(current.version).unwrap_or(i64::MAX)),
            ],
        )
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => user_name_taken(),
            _ => e.into(),
        })?;
        if updated == 0 {
            return Err(stale_version());
        }
        if !changed.is_empty() {
            let details = serde_json::json!({ "fields": changed });
            self.record(&txn, org, id, actor.clone(), "identity.user.update", ctx.clone(), details).await?;
        }
        match (current.status, status) {
            (before, UserStatus::Deactivated) if before != UserStatus::Deactivated => {
                self.after_deactivation(&txn, org, id, actor, ctx).await?;
            }
            (UserStatus::Deactivated, UserStatus::Active) => {
                self.record(&txn, org, id, actor, "identity.user.reactivate", ctx, serde_json::json!({})).await?;
            }
            _ => {}
        }
        let replaced = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "user" })?;
        txn.commit().await?;
        Ok(replaced)
    }

    /// Lets a deactivated user sign in again (`identity.user.reactivate`); anyone else is
    /// returned unchanged.
    pub async fn reactivate(
        &self,
        org: OrgId,
        user: UserId,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<User, Error> {
        let now = self.clock.now().timestamp_micros();
        let txn = self.db.begin().await?;
        let current = self.find(&txn, org, user).await?.ok_or(Error::NotFound { resource: "user" })?;
        if current.status != UserStatus::Deactivated {
            txn.commit().await?;
            return Ok(current);
        }
        listone_core::db::execute(
            &txn,
            "UPDATE app_user SET status = 'active', deactivated_at_us = NULL, version = version + 1, updated_at_us = $3 \
             WHERE org_id = $1 AND id = $2",
            [Value::from(org.as_uuid()), Value::from(user.as_uuid()), Value::from(now)],
        )
        .await?;
        self.record(&txn, org, user, actor, "identity.user.reactivate", ctx, serde_json::json!({})).await?;
        let updated = self.find(&txn, org, user).await?.ok_or(Error::NotFound { resource: "user" })?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Up to `limit` users of `org` after skipping `offset`, in id (creation) order.
    pub async fn list(&self, org: OrgId, offset: u64, limit: u64) -> Result<Vec<User>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {USER_SELECT} WHERE org_id = $1 ORDER BY id LIMIT $2 OFFSET $3"),
            [
                Value::from(org.as_uuid()),
                Value::from(i64::try_from(limit).unwrap_or(i64::MAX)),
                Value::from(i64::try_from(offset).unwrap_or(i64::MAX)),
            ],
        );
        conn.query_all_raw(stmt).await?.iter().map(user_from_row).collect()
    }

    /// How many users `org` has.
    pub async fn count(&self, org: OrgId) -> Result<u64, Error> {
        let n = listone_core::db::count(
            self.db.conn(),
            "SELECT COUNT(*) AS n FROM app_user WHERE org_id = $1",
            [Value::from(org.as_uuid())],
        )
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The user of `org` signing in as `user_name` (compared case-insensitively), if any.
    pub async fn find_by_user_name(&self, org: OrgId, user_name: &str) -> Result<Option<User>, Error> {
        self.find_by_name(self.db.conn(), org, &normalize_user_name(user_name)).await
    }

    /// The users of `org` with this directory id (exact), in id order.
    pub async fn find_by_external_id(&self, org: OrgId, external_id: &str) -> Result<Vec<User>, Error> {
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            &format!("SELECT {USER_SELECT} WHERE org_id = $1 AND external_id = $2 ORDER BY id"),
            [Value::from(org.as_uuid()), Value::from(external_id.to_owned())],
        );
        conn.query_all_raw(stmt).await?.iter().map(user_from_row).collect()
    }
}
