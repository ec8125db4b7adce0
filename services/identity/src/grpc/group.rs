//! `listone.identity.v1.GroupService`: groups of the caller's organization, their members and
//! the roles they grant per app.

use listone_core::{GroupId, UserId, Violations};
use listone_identity::group::Group;
use listone_identity::scopes;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::group_service_server::GroupService;
use tonic::{Request, Response, Status};

use super::convert::{self, OffsetPage, optional};
use super::edge::Edge;

/// The group service.
#[derive(Debug, Clone)]
pub struct GroupApi {
    edge: Edge,
}

impl GroupApi {
    pub(crate) fn new(edge: Edge) -> Self {
        Self { edge }
    }
}

pub(crate) fn group_to_pb(group: &Group) -> pb::Group {
    pb::Group {
        id: group.id.to_string(),
        display_name: group.display_name.clone(),
        external_id: group.external_id.clone().unwrap_or_default(),
        version: group.version,
    }
}

/// The group and user a membership request names.
fn membership(group_id: &str, user_id: &str) -> Result<(GroupId, UserId), listone_core::Error> {
    let mut v = Violations::new();
    let group = convert::id(&mut v, "group_id", group_id);
    let user = convert::id(&mut v, "user_id", user_id);
    convert::valid(v, group.zip(user))
}

#[tonic::async_trait]
impl GroupService for GroupApi {
    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::CreateGroupResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "GroupService/CreateGroup").await?;
        let r = request.into_inner();
        let external_id = optional(r.external_id);
        let group = self
            .edge
            .identity
            .groups
            .create(caller.org(), &r.display_name, external_id.as_deref(), caller.actor(), caller.context())
            .await?;
        Ok(Response::new(pb::CreateGroupResponse { group: Some(group_to_pb(&group)) }))
    }

    async fn get_group(&self, request: Request<pb::GetGroupRequest>) -> Result<Response<pb::GetGroupResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::READ, "GroupService/GetGroup").await?;
        let id: GroupId = convert::one_id("group_id", &request.get_ref().group_id)?;
        let group = self.edge.identity.groups.get(caller.org(), id).await?;
        Ok(Response::new(pb::GetGroupResponse { group: Some(group_to_pb(&group)) }))
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::READ, "GroupService/ListGroups").await?;
        let mut v = Violations::new();
        let page = OffsetPage::parse(&mut v, "groups", request.get_ref().page_size, &request.get_ref().page_token);
        v.into_result()?;
        let read = self.edge.identity.groups.list(caller.org(), page.offset, page.limit()).await?;
        let (groups, next_page_token) = page.finish("groups", read);
        Ok(Response::new(pb::ListGroupsResponse { groups: groups.iter().map(group_to_pb).collect(), next_page_token }))
    }

    async fn rename_group(
        &self,
        request: Request<pb::RenameGroupRequest>,
    ) -> Result<Response<pb::RenameGroupResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "GroupService/RenameGroup").await?;
        let r = request.into_inner();
        let id: GroupId = convert::one_id("group_id", &r.group_id)?;
        let group = self
            .edge
            .identity
            .groups
            .rename(caller.org(), id, &r.display_name, caller.actor(), caller.context())
            .await?;
        Ok(Response::new(pb::RenameGroupResponse { group: Some(group_to_pb(&group)) }))
    }

    async fn delete_group(
        &self,
        request: Request<pb::DeleteGroupRequest>,
    ) -> Result<Response<pb::DeleteGroupResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "GroupService/DeleteGroup").await?;
        let id: GroupId = convert::one_id("group_id", &request.get_ref().group_id)?;
        self.edge.identity.groups.delete(caller.org(), id, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::DeleteGroupResponse {}))
    }

    async fn add_group_member(
        &self,
        request: Request<pb::AddGroupMemberRequest>,
    ) -> Result<Response<pb::AddGroupMemberResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "GroupService/AddGroupMember").await?;
        let (group, user) = membership(&request.get_ref().group_id, &request.get_ref().user_id)?;
        self.edge.identity.groups.add_member(caller.org(), group, user, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::AddGroupMemberResponse {}))
    }

    async fn remove_group_member(
        &self,
        request: Request<pb::RemoveGroupMemberRequest>,
    ) -> Result<Response<pb::RemoveGroupMemberResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "GroupService/RemoveGroupMember").await?;
        let (group, user) = membership(&request.get_ref().group_id, &request.get_ref().user_id)?;
        self.edge.identity.groups.remove_member(caller.org(), group, user, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::RemoveGroupMemberResponse {}))
    }

    async fn list_group_members(
        &self,
        request: Request<pb::ListGroupMembersRequest>,
    ) -> Result<Response<pb::ListGroupMembersResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::READ, "GroupService/ListGroupMembers").await?;
        let id: GroupId = convert::one_id("group_id", &request.get_ref().group_id)?;
        let members = self.edge.identity.groups.members(caller.org(), id).await?;
        Ok(Response::new(pb::ListGroupMembersResponse { user_ids: members.iter().map(ToString::to_string).collect() }))
    }

    async fn set_group_roles(
        &self,
        request: Request<pb::SetGroupRolesRequest>,
    ) -> Result<Response<pb::SetGroupRolesResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "GroupService/SetGroupRoles").await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let id: Option<GroupId> = convert::id(&mut v, "group_id", &r.group_id);
        let app = convert::app(&mut v, "app", r.app);
        let (id, app) = convert::valid(v, id.zip(app))?;
        let roles = self
            .edge
            .identity
            .roles
            .set_group_roles(caller.org(), id, app, &r.roles, caller.actor(), caller.context())
            .await?;
        Ok(Response::new(pb::SetGroupRolesResponse { roles: roles.into_iter().collect() }))
    }

    async fn get_group_roles(
        &self,
        request: Request<pb::GetGroupRolesRequest>,
    ) -> Result<Response<pb::GetGroupRolesResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::READ, "GroupService/GetGroupRoles").await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let id: Option<GroupId> = convert::id(&mut v, "group_id", &r.group_id);
        let app = convert::app(&mut v, "app", r.app);
        let (id, app) = convert::valid(v, id.zip(app))?;
        let roles = self.edge.identity.roles.group_roles(caller.org(), id, app).await?;
        Ok(Response::new(pb::GetGroupRolesResponse { roles: roles.into_iter().collect() }))
    }
}
