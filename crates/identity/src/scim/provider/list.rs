//! Lists and searches: `GET /Users`, `POST /Users/.search` (and the same for groups), and
//! `POST /.search` across both types (users first, then groups, paged as one list).
//!
//! Without a filter, paging runs in SQL. A filter with an `eq` on `id`, `externalId`, `userName`
//! (users) or `displayName` (groups), alone or under `and`, is narrowed in SQL and then
//! evaluated; any other filter is evaluated in memory over at most [`MAX_FILTER_SCAN`]
//! resources of the type (400 `tooMany` beyond). Group members are loaded only when the filter
//! or the response needs them.

use listone_core::{Error, GroupId, OrgId, UserId};
use serde_json::Value as Json;

use super::{ResourceKind, ScimCaller, ScimProvider, parse_json};
use crate::group::Group;
use crate::scim::discovery::MAX_FILTER_SCAN;
use crate::scim::error::ScimError;
use crate::scim::filter::Filter;
use crate::scim::projection::Projection;
use crate::scim::query::{
    ListQuery, Lookup, Page, list_response, lookup, mentions, parse_checked_filter, search_request,
};
use crate::scim::resource::{group_json, user_json};
use crate::scim::schema::{GROUP, USER};
use crate::user::User;

/// The module and action a refused search across types is audited under.
const SEARCH_ALL: (&str, &str) = ("identity.scim", "identity.scim.search");

impl ScimProvider {
    /// GET the collection: filtered, paged, projected.
    pub async fn list(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        query: &ListQuery,
    ) -> Result<Json, ScimError> {
        let result = self.list_inner(caller, kind, base_url, query).await;
        self.audited(caller, kind.module(), list_action(kind), None, result).await
    }

    /// POST `{endpoint}/.search`: a `SearchRequest` body (as received), answered like a list.
    pub async fn search(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        body: &[u8],
    ) -> Result<Json, ScimError> {
        let result = async { self.list_inner(caller, kind, base_url, &search_request(&parse_json(body)?)?).await };
        let result = result.await;
        self.audited(caller, kind.module(), list_action(kind), None, result).await
    }

    /// POST `/.search`: users and groups in one list, users first. The filter must name only
    /// attributes one of the two schemas knows; each type is matched by its own rules.
    pub async fn search_all(&self, caller: &ScimCaller, base_url: &str, body: &[u8]) -> Result<Json, ScimError> {
        let result = async {
            let query = search_request(&parse_json(body)?)?;
            let filter = match query.filter.as_deref() {
                Some(text) => Some(parse_checked_filter(&USER, text).or_else(|_| parse_checked_filter(&GROUP, text))?),
                None => None,
            };
            let page = Page::of(&query);
            let (user_total, mut resources) =
                self.window(caller.org, ResourceKind::User, base_url, filter.as_ref(), &query, page).await?;
            let rest = Page {
                offset: page.offset.saturating_sub(user_total),
                count: page.count.saturating_sub(len(&resources)),
            };
            let (group_total, groups) =
                self.window(caller.org, ResourceKind::Group, base_url, filter.as_ref(), &query, rest).await?;
            resources.extend(groups);
            Ok(list_response(user_total + group_total, page, resources))
        };
        let result = result.await;
        let (module, action) = SEARCH_ALL;
        self.audited(caller, module, action, None, result).await
    }

    async fn list_inner(
        &self,
        caller: &ScimCaller,
        kind: ResourceKind,
        base_url: &str,
        query: &ListQuery,
    ) -> Result<Json, ScimError> {
        let filter = query.filter.as_deref().map(|text| parse_checked_filter(kind.schema(), text)).transpose()?;
        let page = Page::of(query);
        let (total, resources) = self.window(caller.org, kind, base_url, filter.as_ref(), query, page).await?;
        Ok(list_response(total, page, resources))
    }

    /// How many resources of `kind` match, and the projected ones in `page`.
    async fn window(
        &self,
        org: OrgId,
        kind: ResourceKind,
        base_url: &str,
        filter: Option<&Filter>,
        query: &ListQuery,
        page: Page,
    ) -> Result<(u64, Vec<Json>), ScimError> {
        let schema = kind.schema();
        let projection = Projection::parse(schema, query.attributes.as_deref(), query.excluded_attributes.as_deref());
        let case_exact = |path: &crate::scim::filter::AttrPath| schema.case_exact(path);
        let (total, mut resources) = match (kind, filter) {
            (ResourceKind::User, None) => {
                let users = self.users.list(org, page.offset, page.count).await?;
                (self.users.count(org).await?, users.iter().map(|u| user_json(u, base_url)).collect())
            }
            (ResourceKind::User, Some(filter)) => {
                let matched: Vec<Json> = self
                    .user_candidates(org, filter)
                    .await?
                    .iter()
                    .map(|user| user_json(user, base_url))
                    .filter(|json| filter.matches_with(json, &case_exact))
                    .collect();
                (len(&matched), paged(matched, page))
            }
            (ResourceKind::Group, None) => {
                let groups = self.groups.list(org, page.offset, page.count).await?;
                (self.groups.count(org).await?, self.groups_json(org, &groups, base_url, &projection).await?)
            }
            (ResourceKind::Group, Some(filter)) => {
                let with_members = mentions(filter, "members");
                let mut matched = Vec::new();
                for group in self.group_candidates(org, filter).await? {
                    let members = if with_members { self.groups.members(org, group.id).await? } else { Vec::new() };
                    if filter.matches_with(&group_json(&group, &members, base_url), &case_exact) {
                        matched.push(group);
                    }
                }
                let total = len(&matched);
                (total, self.groups_json(org, &paged(matched, page), base_url, &projection).await?)
            }
        };
        for resource in &mut resources {
            projection.apply(resource);
        }
        Ok((total, resources))
    }

    async fn groups_json(
        &self,
        org: OrgId,
        groups: &[Group],
        base_url: &str,
        projection: &Projection,
    ) -> Result<Vec<Json>, ScimError> {
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            let members =
                if projection.returns("members") { self.groups.members(org, group.id).await? } else { Vec::new() };
            out.push(group_json(group, &members, base_url));
        }
        Ok(out)
    }

    async fn user_candidates(&self, org: OrgId, filter: &Filter) -> Result<Vec<User>, ScimError> {
        Ok(match lookup(&USER, filter, "userName") {
            Some(Lookup::Id(id)) => match UserId::parse(&id) {
                Ok(id) => self.users.get(org, id).await.map(|u| vec![u]).or_else(none_when_missing)?,
                Err(_) => Vec::new(),
            },
            Some(Lookup::Name(name)) => self.users.find_by_user_name(org, &name).await?.into_iter().collect(),
            Some(Lookup::ExternalId(external_id)) => self.users.find_by_external_id(org, &external_id).await?,
            None => {
                if self.users.count(org).await? > MAX_FILTER_SCAN {
                    return Err(too_many());
                }
                self.users.list(org, 0, MAX_FILTER_SCAN).await?
            }
        })
    }

    async fn group_candidates(&self, org: OrgId, filter: &Filter) -> Result<Vec<Group>, ScimError> {
        Ok(match lookup(&GROUP, filter, "displayName") {
            Some(Lookup::Id(id)) => match GroupId::parse(&id) {
                Ok(id) => self.groups.get(org, id).await.map(|g| vec![g]).or_else(none_when_missing)?,
                Err(_) => Vec::new(),
            },
            Some(Lookup::Name(name)) => self.groups.find_by_display_name(org, &name).await?.into_iter().collect(),
            Some(Lookup::ExternalId(external_id)) => self.groups.find_by_external_id(org, &external_id).await?,
            None => {
                if self.groups.count(org).await? > MAX_FILTER_SCAN {
                    return Err(too_many());
                }
                self.groups.list(org, 0, MAX_FILTER_SCAN).await?
            }
        })
    }
}

fn list_action(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "identity.user.list",
        ResourceKind::Group => "identity.group.list",
    }
}

fn len<T>(items: &[T]) -> u64 {
    u64::try_from(items.len()).unwrap_or(u64::MAX)
}

fn paged<T>(items: Vec<T>, page: Page) -> Vec<T> {
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let count = usize::try_from(page.count).unwrap_or(usize::MAX);
    items.into_iter().skip(offset).take(count).collect()
}

fn too_many() -> ScimError {
    ScimError::too_many(format!(
        "this filter is evaluated over at most {MAX_FILTER_SCAN} resources; narrow it with an eq on id, externalId or the name"
    ))
}

fn none_when_missing<T>(err: Error) -> Result<Vec<T>, Error> {
    match err {
        Error::NotFound { .. } => Ok(Vec::new()),
        other => Err(other),
    }
}
