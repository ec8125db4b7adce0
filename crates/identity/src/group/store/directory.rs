//! Directory (SCIM) operations on groups: creation with members, whole-group replacement with
//! optimistic versions, and member changes in one transaction.

use super::*;

impl GroupStore {
    /// Creates a group with its members in one transaction (SCIM POST); every member must be a
    /// user of `org` (NOT_FOUND `user` otherwise). Audited as `identity.group.create` with the
    /// member ids.
    pub async fn provision(
        &self,
        org: OrgId,
        group: &DirectoryGroup,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Group, Error> {
        validate(&group.display_name, group.external_id.as_deref())?;
        let id = GroupId::new();
        let now = self.clock.now().timestamp_micros();
        let txn = self.db.begin().await?;
        if !org_exists(&txn, org).await? {
            return Err(Error::NotFound { resource: "organization" });
        }
        if self.find_by_key(&txn, org, &name_key(&group.display_name)).await?.is_some() {
            return Err(taken());
        }
        listone_core::db::execute(
            &txn,
            "INSERT INTO user_group (org_id, id, display_name, name_key, external_id, version, created_at_us, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(group.display_name.trim().to_owned()),
                Value::from(name_key(&group.display_name)),
                Value::from(group.external_id.clone()),
                Value::from(now),
            ],
        )
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => taken(),
            _ => e.into(),
        })?;
        let members: BTreeSet<UserId> = group.members.iter().copied().collect();
        let (added, _) = self.apply_members(&txn, org, id, &members, &BTreeSet::new()).await?;
        let details = serde_json::json!({ "source": "directory", "members_added": ids(&added) });
        self.record(&txn, org, id, actor, "identity.group.create", ctx, details).await?;
        let created = self.find(&txn, org, id).await?.ok_or_else(|| Error::internal("created group not readable"))?;
        txn.commit().await?;
        Ok(created)
    }

    /// Replaces a group's display name, external id and member set (SCIM PUT, and PATCH once
    /// applied). A stale `expected_version` is ABORTED (`STALE_VERSION`); a name another group
    /// uses is ALREADY_EXISTS; a member not of `org` is NOT_FOUND `user`. Audited as
    /// `identity.group.update` with the changed field names and the member ids added and
    /// removed; a replacement that changes nothing writes nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn replace(
        &self,
        org: OrgId,
        id: GroupId,
        group: &DirectoryGroup,
        expected_version: Option<u64>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Group, Error> {
        validate(&group.display_name, group.external_id.as_deref())?;
        let txn = self.db.begin().await?;
        let current = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(stale_version());
        }
        let key = name_key(&group.display_name);
        if self.find_by_key(&txn, org, &key).await?.is_some_and(|g| g.id != id) {
            return Err(taken());
        }
        let display_name = group.display_name.trim().to_owned();
        let fields: Vec<&str> = [
            ("display_name", display_name != current.display_name),
            ("external_id", group.external_id != current.external_id),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect();
        let wanted: BTreeSet<UserId> = group.members.iter().copied().collect();
        let current_members = self.member_set(&txn, org, id).await?;
        let remove: BTreeSet<UserId> = current_members.difference(&wanted).copied().collect();
        let (added, removed) = self.apply_members(&txn, org, id, &wanted, &remove).await?;
        if fields.is_empty() && added.is_empty() && removed.is_empty() {
            txn.commit().await?;
            return Ok(current);
        }
        let updated = listone_core::db::execute(
            &txn,
            "UPDATE user_group SET display_name = $3, name_key = $4, external_id = $5, version = version + 1, \
             updated_at_us = $6 WHERE org_id = $1 AND id = $2 AND version = $7",
            [
                Value::from(org.as_uuid()),
                Value::from(id.as_uuid()),
                Value::from(display_name),
                Value::from(key),
                Value::from(group.external_id.clone()),
                Value::from(self.clock.now().timestamp_micros()),
                Value::from(i64::try_from(current.version).unwrap_or(i64::MAX)),
            ],
        )
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => taken(),
            _ => e.into(),
        })?;
        if updated == 0 {
            return Err(stale_version());
        }
        let details =
            serde_json::json!({ "fields": fields, "members_added": ids(&added), "members_removed": ids(&removed) });
        self.record(&txn, org, id, actor, "identity.group.update", ctx, details).await?;
        let replaced = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        txn.commit().await?;
        Ok(replaced)
    }

    /// Adds and removes members in one transaction (SCIM PATCH on `members`); adding a member
    /// already there or removing one who is not is a no-op. Every added user must belong to
    /// `org` (NOT_FOUND `user`). Bumps the version and records `identity.group.update` with the
    /// member ids when anything changed.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_members(
        &self,
        org: OrgId,
        id: GroupId,
        add: &[UserId],
        remove: &[UserId],
        expected_version: Option<u64>,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<Group, Error> {
        let txn = self.db.begin().await?;
        let current = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(stale_version());
        }
        let add: BTreeSet<UserId> = add.iter().copied().collect();
        let remove: BTreeSet<UserId> = remove.iter().copied().collect();
        let (added, removed) = self.apply_members(&txn, org, id, &add, &remove).await?;
        if added.is_empty() && removed.is_empty() {
            txn.commit().await?;
            return Ok(current);
        }
        self.bump(&txn, org, id, current.version).await?;
        let details =
            serde_json::json!({ "fields": [], "members_added": ids(&added), "members_removed": ids(&removed) });
        self.record(&txn, org, id, actor, "identity.group.update", ctx, details).await?;
        let changed = self.find(&txn, org, id).await?.ok_or(Error::NotFound { resource: "group" })?;
        txn.commit().await?;
        Ok(changed)
    }
}
