//! [`ScimProvider`]: the SCIM operations on `/Users` and `/Groups` of the organization a token
//! provisions into, over the user and group stores. The HTTP edge decodes requests into these
//! calls and encodes what they return.
//!
//! Refused requests (400 bad input, 409 uniqueness, 412 stale version) write nothing but a
//! `failed` audit event of the attempted action in its own transaction. Another organization's
//! ids are not found, like ids that never existed.
//!
//! Lists and searches, per type and across both, are in `list.rs`.

use listone_audit::{ActorKind, AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::{Database, Error, GroupId, OrgId, SharedClock, UserId};
use serde_json::Value as Json;

use super::error::ScimError;
use super::filter::{CompareOp, Filter, Value as FilterValue};
use super::input::{read_attributes, read_body, read_value};
use super::patch::{Operation, PatchKind, apply, parse_patch};
use super::projection::Projection;
use super::resource::{
    directory_group, directory_user, group_json, group_location, member_id, user_json, user_location, version_of,
    writable,
};
use super::schema::{GROUP, ResourceSchema, USER};
use super::token::ScimToken;
use crate::group::{Group, GroupStore};
use crate::user::{User, UserStore};

mod list;

/// How often a PATCH without `If-Match` is retried when a concurrent change wins the race.
const PATCH_ATTEMPTS: usize = 3;

/// Which resource type a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// Its schema.
    pub fn schema(self) -> &'static ResourceSchema {
        match self {
            ResourceKind::User => &USER,
            ResourceKind::Group => &GROUP,
        }
    }

    /// The audit module of its resources.
    fn module(self) -> &'static str {
        match self {
            ResourceKind::User => "identity.user",
            ResourceKind::Group => "identity.group",
        }
    }

    fn create_action(self) -> &'static str {
        match self {
            ResourceKind::User => "identity.user.provision",
            ResourceKind::Group => "identity.group.create",
        }
    }
}

/// Who is calling: the organization a SCIM token provisions into, the token, the request.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    /// The tenant every call is scoped to.
    pub org: OrgId,
    /// The token used.
    pub token_id: uuid::Uuid,
    /// Request id, source IP, user agent.
    pub ctx: RequestContext,
}

impl ScimCaller {
    /// The caller an authenticated token stands for.
    pub fn new(token: &ScimToken, ctx: RequestContext) -> Self {
        Self { org: token.org_id, token_id: token.id, ctx }
    }

    /// How audit events name it: a service, `scim-token:<id>`.
    pub fn actor(&self) -> AuditActor {
        AuditActor { kind: ActorKind::Service, id: Some(format!("scim-token:{}", self.token_id)) }
    }
}

/// A resource as returned, with what goes in the `ETag` and `Location` headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// The resource, projected.
    pub body: Json,
    /// Its version (the ETag is `W/"version"`).
    pub version: u64,
    /// Its URL.
    pub location: String,
}

/// The SCIM operations of every organization.
#[derive(Debug, Clone)]
pub struct ScimProvider {
    db: Database,
    clock: SharedClock,
    audit: AuditRecorder,
    users: UserStore,
    groups: GroupStore,
}

/// What `If-Match` asks: `None` for no header or `*`; a version that can never match for an
/// unreadable tag.
fn expected_version(if_match: Option<&str>) -> Result<Option<u64>, ScimError> {
    match if_match.map(str::trim) {
        None | Some("*") => Ok(None),
        Some(tag) => version_of(tag).map(Some).ok_or_else(precondition_failed),
    }
}

fn precondition_failed() -> ScimError {
    ScimError::new(412, None, "the resource changed since it was read (If-Match)")
}

fn check_version(expected: Option<u64>, actual: u64) -> Result<(), ScimError> {
    if expected.is_some_and(|v| v != actual) { Err(precondition_failed()) } else { Ok(()) }
}

/// A member that is not a user of the organization is bad input, not a missing group.
fn member_errors(err: Error) -> ScimError {
    match err {
        Error::NotFound { resource: "user" } => ScimError::invalid_value("a member is not a user of this organization"),
        other => other.into(),
    }
}

impl ScimProvider {
    /// The operations over `users` and `groups`; refusals are audited with `audit`.
    pub fn new(db: Database, clock: SharedClock, audit: AuditRecorder, users: UserStore, groups: GroupStore) -> Self {
        Self { db, clock, audit, users, groups }
    }

    /// POST: creates a user or group from a full resource (the request body as received).
    pub async fn create(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        body: &[u8],
        projection: &Projection,
    ) -> Result<Served, ScimError> {
        let result = self.create_inner(caller, kind, base_url, body).await;
        let mut served = self.audited(caller, kind.module(), kind.create_action(), None, result).await?;
        projection.apply(&mut served.body);
        Ok(served)
    }

    async fn create_inner(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        body: &[u8],
    ) -> Result<Served, ScimError> {
        let attributes = read_body(kind.schema(), &parse_json(body)?)?;
        match kind {
            ResourceKind::User => {
                let user = directory_user(&attributes)?;
                let created =
                    self.users.provision_from_directory(caller.org, &user, caller.actor(), caller.ctx.clone()).await?;
                Ok(served_user(&created, base_url))
            }
            ResourceKind::Group => {
                let group = directory_group(&attributes)?;
                let created = self
                    .groups
                    .provision(caller.org, &group, caller.actor(), caller.ctx.clone())
                    .await
                    .map_err(member_errors)?;
                Ok(served_group(&created, &group.members, base_url))
            }
        }
    }

    /// GET one resource.
    pub async fn get(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<Served, ScimError> {
        let mut served = self.read(caller, kind, base_url, id, projection).await?;
        projection.apply(&mut served.body);
        Ok(served)
    }

    async fn read(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<Served, ScimError> {
        match kind {
            ResourceKind::User => {
                let id = UserId::parse(id).map_err(|_| ScimError::not_found())?;
                Ok(served_user(&self.users.get(caller.org, id).await?, base_url))
            }
            ResourceKind::Group => {
                let id = GroupId::parse(id).map_err(|_| ScimError::not_found())?;
                let group = self.groups.get(caller.org, id).await?;
                let members =
                    if projection.returns("members") { self.groups.members(caller.org, id).await? } else { Vec::new() };
                Ok(served_group(&group, &members, base_url))
            }
        }
    }

    /// PUT: replaces everything a client may write.
    #[allow(clippy::too_many_arguments)]
    pub async fn replace(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        body: &[u8],
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<Served, ScimError> {
        let result = self.replace_inner(caller, kind, base_url, id, body, if_match).await;
        let mut served = self.audited(caller, kind.module(), update_action(kind), Some(id), result).await?;
        projection.apply(&mut served.body);
        Ok(served)
    }

    async fn replace_inner(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        body: &[u8],
        if_match: Option<&str>,
    ) -> Result<Served, ScimError> {
        match kind {
            ResourceKind::User => {
                let id = UserId::parse(id).map_err(|_| ScimError::not_found())?;
                // An unknown id is 404 before the body is judged.
                let current = self.users.get(caller.org, id).await?;
                let expected = expected_version(if_match)?;
                check_version(expected, current.version)?;
                let user = directory_user(&read_body(&USER, &parse_json(body)?)?)?;
                let replaced =
                    self.users.replace(caller.org, id, &user, expected, caller.actor(), caller.ctx.clone()).await?;
                Ok(served_user(&replaced, base_url))
            }
            ResourceKind::Group => {
                let id = GroupId::parse(id).map_err(|_| ScimError::not_found())?;
                let current = self.groups.get(caller.org, id).await?;
                let expected = expected_version(if_match)?;
                check_version(expected, current.version)?;
                let group = directory_group(&read_body(&GROUP, &parse_json(body)?)?)?;
                let replaced = self
                    .groups
                    .replace(caller.org, id, &group, expected, caller.actor(), caller.ctx.clone())
                    .await
                    .map_err(member_errors)?;
                let members = self.groups.members(caller.org, id).await?;
                Ok(served_group(&replaced, &members, base_url))
            }
        }
    }

    /// PATCH: applies the operations to the current resource and writes the result as a whole,
    /// or, for a group whose operations only add or remove members, changes just those.
    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        body: &[u8],
        if_match: Option<&str>,
        projection: &Projection,
    ) -> Result<Served, ScimError> {
        let result = self.patch_inner(caller, kind, base_url, id, body, if_match).await;
        let mut served = self.audited(caller, kind.module(), update_action(kind), Some(id), result).await?;
        projection.apply(&mut served.body);
        Ok(served)
    }

    async fn patch_inner(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        id: &str,
        body: &[u8],
        if_match: Option<&str>,
    ) -> Result<Served, ScimError> {
        let schema = kind.schema();
        // An unknown id is 404 before the body is judged.
        let served = self.read(caller, kind, base_url, id, &Projection::default()).await?;
        let expected = expected_version(if_match)?;
        let operations = parse_patch(schema, &parse_json(body)?)?;
        if kind == ResourceKind::Group
            && let Some((add, remove)) = member_changes(&operations)?
        {
            check_version(expected, served.version)?;
            let id = GroupId::parse(id).map_err(|_| ScimError::not_found())?;
            let changed = self
                .groups
                .change_members(caller.org, id, &add, &remove, expected, caller.actor(), caller.ctx.clone())
                .await
                .map_err(member_errors)?;
            let members = self.groups.members(caller.org, id).await?;
            return Ok(served_group(&changed, &members, base_url));
        }
        let mut current = served;
        for attempt in 1..=PATCH_ATTEMPTS {
            check_version(expected, current.version)?;
            let mut attributes = writable(&current.body);
            apply(schema, &mut attributes, &operations)?;
            let attributes = read_attributes(schema, &attributes)?;
            let written = match kind {
                ResourceKind::User => {
                    let id = UserId::parse(id).map_err(|_| ScimError::not_found())?;
                    let user = directory_user(&attributes)?;
                    self.users
                        .replace(caller.org, id, &user, Some(current.version), caller.actor(), caller.ctx.clone())
                        .await
                        .map(|user| served_user(&user, base_url))
                }
                ResourceKind::Group => {
                    let id = GroupId::parse(id).map_err(|_| ScimError::not_found())?;
                    let group = directory_group(&attributes)?;
                    match self
                        .groups
                        .replace(caller.org, id, &group, Some(current.version), caller.actor(), caller.ctx.clone())
                        .await
                    {
                        Ok(replaced) => {
                            let members = self.groups.members(caller.org, id).await?;
                            Ok(served_group(&replaced, &members, base_url))
                        }
                        Err(err) => Err(err),
                    }
                }
            };
            match written {
                // Lost a race with another writer: without If-Match, apply to the newer state.
                Err(Error::Aborted { .. }) if expected.is_none() && attempt < PATCH_ATTEMPTS => {
                    current = self.read(caller, kind, base_url, id, &Projection::default()).await?;
                }
                Err(err) => return Err(member_errors(err)),
                Ok(served) => return Ok(served),
            }
        }
        Err(precondition_failed())
    }

    /// DELETE: removes the resource (a user with their sessions, memberships and roles).
    pub async fn delete(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let result = self.delete_inner(caller, kind, id, if_match).await;
        let action = match kind {
            ResourceKind::User => "identity.user.delete",
            ResourceKind::Group => "identity.group.delete",
        };
        self.audited(caller, kind.module(), action, Some(id), result).await
    }

    async fn delete_inner(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let expected = expected_version(if_match)?;
        match kind {
            ResourceKind::User => {
                let id = UserId::parse(id).map_err(|_| ScimError::not_found())?;
                check_version(expected, self.users.get(caller.org, id).await?.version)?;
                self.users.delete(caller.org, id, caller.actor(), caller.ctx.clone()).await?;
            }
            ResourceKind::Group => {
                let id = GroupId::parse(id).map_err(|_| ScimError::not_found())?;
                check_version(expected, self.groups.get(caller.org, id).await?.version)?;
                self.groups.delete(caller.org, id, caller.actor(), caller.ctx.clone()).await?;
            }
        }
        Ok(())
    }

    /// Passes `result` through; a refusal (400, 409, 412) is first recorded as a failed
    /// `action` in its own transaction, naming the SCIM error type, never the input.
    async fn audited<T>(
        &self,
        caller: &ScimCaller,
        module: &str,
        action: &str,
        id: Option<&str>,
        result: Result<T, ScimError>,
    ) -> Result<T, ScimError> {
        let Err(err) = &result else { return result };
        if ![400, 409, 412].contains(&err.status) {
            return result;
        }
        let details = serde_json::json!({
            "source": "scim",
            "status": err.status,
            "scim_type": err.scim_type.map(|t| t.as_str()),
        });
        // Only well-formed ids are recorded; anything else came from the client unchecked.
        let id = id.filter(|id| uuid::Uuid::parse_str(id).is_ok()).map(str::to_owned);
        let event = AuditEvent::new(caller.org, caller.actor(), action, Outcome::Failed, self.clock.now())
            .with_resource(module, id)
            .with_context(caller.ctx.clone())
            .with_details(details);
        let txn = self.db.begin().await.map_err(|e| ScimError::from(Error::from(e)))?;
        self.audit.record(&txn, event).await?;
        txn.commit().await.map_err(|e| ScimError::from(Error::from(e)))?;
        result
    }
}

/// A request body as JSON; anything else is 400 `invalidSyntax`.
fn parse_json(body: &[u8]) -> Result<Json, ScimError> {
    serde_json::from_slice(body).map_err(|_| ScimError::invalid_syntax("the body is not valid JSON"))
}

fn update_action(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "identity.user.update",
        ResourceKind::Group => "identity.group.update",
    }
}

fn served_user(user: &User, base_url: &str) -> Served {
    Served { body: user_json(user, base_url), version: user.version, location: user_location(base_url, user.id) }
}

fn served_group(group: &Group, members: &[UserId], base_url: &str) -> Served {
    Served {
        body: group_json(group, members, base_url),
        version: group.version,
        location: group_location(base_url, group.id),
    }
}

/// Users to add to a group, and users to remove.
type MemberChanges = (Vec<UserId>, Vec<UserId>);

/// The members a group PATCH adds and removes, when that is all it does: `add` on `members`,
/// `remove` on `members` with a value list, or `remove` on `members[value eq "id"]`.
fn member_changes(operations: &[Operation]) -> Result<Option<MemberChanges>, ScimError> {
    let mut add = Vec::new();
    let mut remove = Vec::new();
    for operation in operations {
        let Some(path) = &operation.path else { return Ok(None) };
        if !path.target.attr.name.eq("members") || path.target.sub.is_some() {
            return Ok(None);
        }
        match (operation.kind, &path.filter, &operation.value) {
            (PatchKind::Add, None, Some(value)) | (PatchKind::Remove, None, Some(value)) => {
                let attr = path.target.attr;
                let values = read_value(attr, attr.name, value)?.unwrap_or(Json::Array(Vec::new()));
                for value in values.as_array().into_iter().flatten() {
                    if value.get("type").and_then(Json::as_str).is_some_and(|t| !t.eq_ignore_ascii_case(USER.name)) {
                        return Err(ScimError::invalid_value("only users can be group members"));
                    }
                    let id = member_id(value)?;
                    if operation.kind == PatchKind::Add {
                        remove.retain(|gone| *gone != id);
                        add.push(id);
                    } else {
                        add.retain(|added| *added != id);
                        remove.push(id);
                    }
                }
            }
            (
                PatchKind::Remove,
                Some(Filter::Compare { path, op: CompareOp::Eq, value: FilterValue::String(text) }),
                None,
            ) if path.attr.eq_ignore_ascii_case("value") => {
                // Anything that is not a user id matches no member: nothing to remove.
                if let Ok(id) = UserId::parse(text) {
                    add.retain(|added| *added != id);
                    remove.push(id);
                }
            }
            _ => return Ok(None),
        }
    }
    Ok(Some((add, remove)))
}
