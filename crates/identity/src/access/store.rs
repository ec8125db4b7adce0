//! Where an organization's access policy lives, and who a user is to it.
//!
//! - [`AccessPolicyStore::get`] / [`AccessPolicyStore::replace`]: one JSON document per (org,
//!   app) with a version; a replace is validated as a whole against the modules that exist and
//!   the users, groups and records of the organization its rules and shares name (one query for
//!   users and groups, one for records), refused when made against another version (ABORTED
//!   `STALE_VERSION`), and audited in the same transaction with what changed (counts and role
//!   keys, no values).
//! - [`AccessPolicyStore::principal`]: the [`AccessPrincipal`] of a user — effective roles in the
//!   app (none unless the user may use it), groups, and the users holding roles below theirs in
//!   the policy's hierarchy. [`AccessPolicyStore::principal_holding`] does the same for roles
//!   the caller's token already carries, and asks the database only for what the policy uses:
//!   groups when a rule or share names one, reports when the roles have roles below them.
//! - [`AccessPolicyStore::in_force`]: the policy every record call applies, kept parsed in
//!   memory and checked against the stored version on each call (one indexed lookup that returns
//!   the document only when it changed), so a replace applies to the very next call.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{App, Database, Error, FieldViolation, GroupId, OrgId, SharedClock, UserId};
use sea_orm::{ConnectionTrait, Value};

use super::policy::{AccessPolicy, ShareRecipient, ShareTarget};
use super::principal::AccessPrincipal;
use super::references::RecordCatalog;
use super::validate::{FieldCatalog, MAX_MANUAL_SHARES, MAX_SHARING_RULES};
use crate::group::GroupStore;
use crate::people::known_people;
use crate::role::RoleStore;

/// The audit action of a policy change.
pub const REPLACE_ACTION: &str = "identity.access_policy.replace";
/// Largest stored policy document, in bytes of JSON.
pub const MAX_POLICY_BYTES: usize = 2 * 1024 * 1024;
/// Most parsed policies kept in memory; past it the cache starts over (each call still checks
/// the version, so this bounds memory, not correctness).
pub const MAX_CACHED_POLICIES: usize = 1024;

/// A policy as stored: version 0 is [`AccessPolicy::starter`], in force for an organization that
/// never stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// The policy.
    pub policy: AccessPolicy,
    /// Bumped by every replace; the version a replace must name.
    pub version: u64,
}

/// A policy as record calls apply it: shared, parsed once per version.
#[derive(Debug, Clone)]
pub struct PolicyInForce {
    /// The policy.
    pub policy: Arc<AccessPolicy>,
    /// Its stored version (0: the starter policy).
    pub version: u64,
}

/// Access policies of every organization, and principal resolution.
#[derive(Debug, Clone)]
pub struct AccessPolicyStore {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    roles: RoleStore,
    groups: GroupStore,
    parsed: Arc<Mutex<HashMap<(OrgId, App), PolicyInForce>>>,
}

impl AccessPolicyStore {
    /// A store resolving principals through `roles` and `groups`, auditing with `audit`.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder, roles: RoleStore, groups: GroupStore) -> Self {
        Self { db, clock, audit, roles, groups, parsed: Arc::default() }
    }

    /// The policy of `org` for `app` as it stands now, from memory when the stored version has
    /// not moved: one lookup by key that returns the document only when it differs from the
    /// version held.
    pub async fn in_force(&self, org: OrgId, app: App) -> Result<PolicyInForce, Error> {
        let held = self.parsed.lock().ok().and_then(|cache| cache.get(&(org, app)).cloned());
        let held_version = held.as_ref().map_or(-1, |p| i64::try_from(p.version).unwrap_or(-1));
        let conn = self.db.conn();
        let stmt = listone_core::db::statement(
            conn.get_database_backend(),
            "SELECT version, CASE WHEN version = $3 THEN NULL ELSE document END AS document \
             FROM access_policy WHERE org_id = $1 AND app = $2",
            [Value::from(org.as_uuid()), Value::from(app.key()), Value::from(held_version)],
        );
        let Some(row) = conn.query_one_raw(stmt).await? else {
            return Ok(PolicyInForce { policy: Arc::new(AccessPolicy::starter(org)), version: 0 });
        };
        let document: Option<String> = row.try_get("", "document")?;
        match (document, held) {
            (None, Some(held)) => Ok(held),
            (document, _) => {
                let version: i64 = row.try_get("", "version")?;
                let document = document.ok_or_else(|| Error::internal("access policy document missing"))?;
                let stored =
                    PolicyInForce { policy: Arc::new(parse_stored(org, &document)?), version: version_of(version) };
                if let Ok(mut cache) = self.parsed.lock() {
                    if cache.len() >= MAX_CACHED_POLICIES {
                        cache.clear();
                    }
                    cache.insert((org, app), stored.clone());
                }
                Ok(stored)
            }
        }
    }

    /// The policy of `org` for `app` (the starter policy, version 0, when none was set).
    pub async fn get(&self, org: OrgId, app: App) -> Result<StoredPolicy, Error> {
        load(self.db.conn(), org, app).await
    }

    /// Replaces the policy of `org` for `app` with `policy`, made against `expected_version`.
    /// INVALID_ARGUMENT with every problem (paths into the policy) when it does not fit the
    /// `catalog`, names another organization, or shares with a group or user, or shares a
    /// record, that `org` does not have (`records` says which records are live; another
    /// organization's id is refused as an unknown one); ABORTED `STALE_VERSION` when another
    /// change came first. Nothing is written then.
    #[allow(clippy::too_many_arguments)]
    pub async fn replace(
        &self,
        org: OrgId,
        app: App,
        policy: AccessPolicy,
        expected_version: u64,
        catalog: &(dyn FieldCatalog + Sync),
        records: &dyn RecordCatalog,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<StoredPolicy, Error> {
        if policy.org != org {
            return Err(Error::invalid("policy.org", "must be the caller's organization"));
        }
        let mut violations = violations_of(policy.validate(catalog))?;
        // Past the size limits the document is refused anyway: no lookups of unbounded id lists.
        if policy.rules.len() <= MAX_SHARING_RULES && policy.shares.len() <= MAX_MANUAL_SHARES {
            violations.extend(self.reference_violations(org, &policy, records).await?);
        }
        if !violations.is_empty() {
            return Err(Error::InvalidArgument { violations });
        }
        let document = serde_json::to_string(&policy).map_err(|e| Error::internal(format!("policy encode: {e}")))?;
        if document.len() > MAX_POLICY_BYTES {
            return Err(Error::invalid("policy", "at most 2 MiB of JSON"));
        }
        let txn = self.db.begin().await?;
        let current = load(&txn, org, app).await?;
        if current.version != expected_version {
            return Err(Error::Aborted {
                reason: "STALE_VERSION",
                message: format!(
                    "the access policy is at version {}, not {expected_version}: read it again",
                    current.version
                ),
            });
        }
        let version = current.version + 1;
        let now_us = self.clock.now().timestamp_micros();
        let values = [
            Value::from(org.as_uuid()),
            Value::from(app.key()),
            Value::from(i64::try_from(version).unwrap_or(i64::MAX)),
            Value::from(document),
            Value::from(now_us),
        ];
        let sql = if current.version == 0 {
            "INSERT INTO access_policy (org_id, app, version, document, updated_at_us) VALUES ($1, $2, $3, $4, $5)"
        } else {
            "UPDATE access_policy SET version = $3, document = $4, updated_at_us = $5 WHERE org_id = $1 AND app = $2"
        };
        listone_core::db::execute(&txn, sql, values).await.map_err(|e| match e.sql_err() {
            // Two first policies at once: the loser read version 0 too.
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                Error::Aborted { reason: "STALE_VERSION", message: "the access policy changed meanwhile".into() }
            }
            _ => e.into(),
        })?;
        let event = AuditEvent::new(org, actor, REPLACE_ACTION, Outcome::Allowed, self.clock.now())
            .with_resource("identity.access_policy", Some(app.key().to_owned()))
            .with_context(ctx)
            .with_details(change_summary(&current.policy, &policy, version));
        self.audit.record(&txn, event).await?;
        txn.commit().await?;
        Ok(StoredPolicy { policy, version })
    }

    /// The violations of the policy's user, group and record ids in `org`: one query for users
    /// and groups, one for records (none for a policy naming none).
    async fn reference_violations(
        &self,
        org: OrgId,
        policy: &AccessPolicy,
        records: &dyn RecordCatalog,
    ) -> Result<Vec<FieldViolation>, Error> {
        let refs = policy.references();
        let people = known_people(self.db.conn(), org, &refs.users, &refs.groups).await?;
        let live =
            if refs.records.is_empty() { BTreeMap::new() } else { records.live_records(org, &refs.records).await? };
        violations_of(policy.check_references(&people, &live))
    }

    /// Who `user` is to `policy` in `app`: effective roles (none when the user may not use the
    /// app), groups, and the users holding a role below one of theirs. NOT_FOUND for an unknown
    /// user or another organization's.
    pub async fn principal(
        &self,
        policy: &AccessPolicy,
        org: OrgId,
        user: UserId,
        app: App,
    ) -> Result<AccessPrincipal, Error> {
        let roles = self.roles.effective_roles(org, user, app).await?;
        let groups: Vec<GroupId> = self.groups.groups_of(org, user).await?;
        self.with_reports(policy, AccessPrincipal::new(org, user, roles).in_groups(groups), app).await
    }

    /// Who the authenticated `caller` is to `policy` in `app`: its roles are the ones its token
    /// carries when the token was issued for `app`, else the ones stored now. `None` for a
    /// caller that is not a person (service clients act within their scopes).
    pub async fn principal_of(
        &self,
        policy: &AccessPolicy,
        caller: &listone_core::Principal,
        app: App,
    ) -> Result<Option<AccessPrincipal>, Error> {
        let Some(user) = caller.user_id() else { return Ok(None) };
        let org = caller.org_id;
        let principal = if caller.app == app {
            self.principal_holding(policy, org, user, app, caller.roles.clone()).await?
        } else {
            self.principal(policy, org, user, app).await?
        };
        Ok(Some(principal))
    }

    /// Who `user`, holding `roles` in `app` (as the user's access token carries them), is to
    /// `policy`: groups are read only when the policy shares with a group, reports only when one
    /// of the roles has roles below it.
    pub async fn principal_holding(
        &self,
        policy: &AccessPolicy,
        org: OrgId,
        user: UserId,
        app: App,
        roles: BTreeSet<String>,
    ) -> Result<AccessPrincipal, Error> {
        let mut principal = AccessPrincipal::new(org, user, roles);
        if !principal.roles.is_empty() && shares_with_groups(policy) {
            principal = principal.in_groups(self.groups.groups_of(org, user).await?);
        }
        self.with_reports(policy, principal, app).await
    }

    /// `principal` managing the holders of the roles below its own in `policy`.
    async fn with_reports(
        &self,
        policy: &AccessPolicy,
        mut principal: AccessPrincipal,
        app: App,
    ) -> Result<AccessPrincipal, Error> {
        let org = principal.org;
        let below: BTreeSet<String> = policy
            .roles
            .iter()
            .filter(|r| principal.roles.iter().any(|mine| policy.is_below(&r.key, mine)))
            .map(|r| r.key.clone())
            .collect();
        if !principal.roles.is_empty() && !below.is_empty() {
            principal = principal.managing(holders_of(self.db.conn(), org, app, &below).await?);
        }
        Ok(principal)
    }
}

async fn load<C: ConnectionTrait>(conn: &C, org: OrgId, app: App) -> Result<StoredPolicy, Error> {
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT version, document FROM access_policy WHERE org_id = $1 AND app = $2",
        [Value::from(org.as_uuid()), Value::from(app.key())],
    );
    let Some(row) = conn.query_one_raw(stmt).await? else {
        return Ok(StoredPolicy { policy: AccessPolicy::starter(org), version: 0 });
    };
    let version: i64 = row.try_get("", "version")?;
    let document: String = row.try_get("", "document")?;
    Ok(StoredPolicy { policy: parse_stored(org, &document)?, version: version_of(version) })
}

/// A stored document of `org`. One that no longer reads is a platform fault; nobody gets rights
/// from it.
fn parse_stored(org: OrgId, document: &str) -> Result<AccessPolicy, Error> {
    let policy: AccessPolicy =
        serde_json::from_str(document).map_err(|e| Error::internal(format!("stored access policy: {e}")))?;
    if policy.org != org {
        return Err(Error::internal("stored access policy names another organization"));
    }
    Ok(policy)
}

/// The violations of a validation's outcome (none when it passed); any other error as is.
fn violations_of(outcome: Result<(), Error>) -> Result<Vec<FieldViolation>, Error> {
    match outcome {
        Ok(()) => Ok(Vec::new()),
        Err(Error::InvalidArgument { violations }) => Ok(violations),
        Err(other) => Err(other),
    }
}

fn version_of(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// Whether any sharing rule or manual share of `policy` is made to a group.
fn shares_with_groups(policy: &AccessPolicy) -> bool {
    policy.rules.iter().any(|r| matches!(r.share_with, ShareTarget::Group(_)))
        || policy.shares.iter().any(|s| matches!(s.with, ShareRecipient::Group(_)))
}

/// Users holding any of `roles` in `app`, directly or through a group.
async fn holders_of<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    app: App,
    roles: &BTreeSet<String>,
) -> Result<BTreeSet<UserId>, Error> {
    let marks: Vec<String> = (0..roles.len()).map(|i| format!("${}", i + 3)).collect();
    let marks = marks.join(", ");
    let sql = format!(
        "SELECT user_id FROM user_role WHERE org_id = $1 AND app = $2 AND role IN ({marks}) \
         UNION SELECT gm.user_id AS user_id FROM group_role gr JOIN group_member gm \
         ON gm.org_id = gr.org_id AND gm.group_id = gr.group_id \
         WHERE gr.org_id = $1 AND gr.app = $2 AND gr.role IN ({marks})"
    );
    let mut values = vec![Value::from(org.as_uuid()), Value::from(app.key())];
    values.extend(roles.iter().map(|r| Value::from(r.clone())));
    let rows = conn.query_all_raw(listone_core::db::statement(conn.get_database_backend(), &sql, values)).await?;
    rows.iter().map(|r| Ok(UserId::from_uuid(r.try_get("", "user_id")?))).collect()
}

/// What a replace changed, for the audit entry: sizes, role keys added / removed / changed,
/// modules whose default changed. Ids and keys only.
fn change_summary(before: &AccessPolicy, after: &AccessPolicy, version: u64) -> serde_json::Value {
    let keys = |p: &AccessPolicy| p.roles.iter().map(|r| r.key.clone()).collect::<BTreeSet<_>>();
    let (old, new) = (keys(before), keys(after));
    let changed: Vec<&String> =
        new.intersection(&old).filter(|k| before.role(k.as_str()) != after.role(k.as_str())).collect();
    let modules: BTreeSet<&String> = before.defaults.keys().chain(after.defaults.keys()).collect();
    let defaults_changed: Vec<&&String> =
        modules.iter().filter(|m| before.defaults.get(m.as_str()) != after.defaults.get(m.as_str())).collect();
    serde_json::json!({
        "version": version,
        "roles": after.roles.len(),
        "rules": after.rules.len(),
        "shares": after.shares.len(),
        "roles_added": new.difference(&old).collect::<Vec<_>>(),
        "roles_removed": old.difference(&new).collect::<Vec<_>>(),
        "roles_changed": changed,
        "defaults_changed": defaults_changed,
        "rules_before": before.rules.len(),
        "shares_before": before.shares.len(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::access::policy::{ObjectRight, OrgDefault, RoleProfile};

    #[test]
    fn the_change_summary_names_role_keys_and_modules_only() {
        let org = OrgId::new();
        let mut before = AccessPolicy::new(org);
        before.roles.push(RoleProfile::new("sales.rep").grant("contacts", [ObjectRight::Read]));
        before.roles.push(RoleProfile::new("support"));
        let mut after = AccessPolicy::new(org);
        after.roles.push(RoleProfile::new("sales.rep").grant("contacts", [ObjectRight::Read, ObjectRight::Update]));
        after.roles.push(RoleProfile::new("sales.manager"));
        after.defaults.insert("contacts".into(), OrgDefault::PublicRead);
        let summary = change_summary(&before, &after, 4);
        assert_eq!(summary["version"], 4);
        assert_eq!(summary["roles_added"], serde_json::json!(["sales.manager"]));
        assert_eq!(summary["roles_removed"], serde_json::json!(["support"]));
        assert_eq!(summary["roles_changed"], serde_json::json!(["sales.rep"]));
        assert_eq!(summary["defaults_changed"], serde_json::json!(["contacts"]));
    }
}
