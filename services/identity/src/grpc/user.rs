//! `listone.identity.v1.UserService`: users of the caller's organization — provisioning,
//! invitations, lifecycle, app assignment and roles per app.

use listone_core::{Error, Secret, UserId, Violations};
use listone_identity::scopes;
use listone_identity::user::store::DEFAULT_INVITE_TTL;
use listone_identity::user::{NewUser, User, UserStatus};
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::user_service_server::UserService;
use tonic::{Request, Response, Status};

use super::convert::{self, MAX_PASSWORD_CHARS, MAX_TOKEN_CHARS, OffsetPage, optional, timestamp};
use super::edge::{Denial, Edge, context_of};

/// The user service.
#[derive(Debug, Clone)]
pub struct UserApi {
    edge: Edge,
}

impl UserApi {
    pub(crate) fn new(edge: Edge) -> Self {
        Self { edge }
    }
}

/// A user as the caller may see it: the profile (names, email) only when `with_profile`.
pub(crate) fn user_to_pb(user: &User, with_profile: bool) -> pb::User {
    pb::User {
        id: user.id.to_string(),
        status: match user.status {
            UserStatus::Invited => pb::UserStatus::Invited,
            UserStatus::Active => pb::UserStatus::Active,
            UserStatus::Deactivated => pb::UserStatus::Deactivated,
        } as i32,
        external_id: user.external_id.clone().unwrap_or_default(),
        has_password: user.has_password,
        version: user.version,
        profile: with_profile.then(|| pb::UserProfile {
            user_name: user.user_name.expose().clone(),
            email: user.email.expose().clone(),
            given_name: exposed(user.given_name.as_ref()),
            family_name: exposed(user.family_name.as_ref()),
            display_name: exposed(user.display_name.as_ref()),
        }),
        created_at: Some(timestamp(user.created_at)),
        updated_at: Some(timestamp(user.updated_at)),
    }
}

fn exposed(value: Option<&Secret<String>>) -> String {
    value.map(|v| v.expose().clone()).unwrap_or_default()
}

fn new_user(user_name: String, email: String, given_name: String, family_name: String, external_id: String) -> NewUser {
    NewUser {
        user_name: Secret::new(user_name),
        email: Secret::new(email),
        given_name: optional(given_name).map(Secret::new),
        family_name: optional(family_name).map(Secret::new),
        external_id: optional(external_id),
    }
}

#[tonic::async_trait]
impl UserService for UserApi {
    async fn provision_user(
        &self,
        request: Request<pb::ProvisionUserRequest>,
    ) -> Result<Response<pb::ProvisionUserResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "UserService/ProvisionUser").await?;
        let r = request.into_inner();
        let new = new_user(r.user_name, r.email, r.given_name, r.family_name, r.external_id);
        let user = self.edge.identity.users.provision(caller.org(), &new, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::ProvisionUserResponse { user: Some(user_to_pb(&user, true)) }))
    }

    async fn invite_user(
        &self,
        request: Request<pb::InviteUserRequest>,
    ) -> Result<Response<pb::InviteUserResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "UserService/InviteUser").await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let ttl = convert::duration(&mut v, "ttl", r.ttl).unwrap_or(DEFAULT_INVITE_TTL);
        v.into_result()?;
        let new = new_user(r.user_name, r.email, r.given_name, r.family_name, r.external_id);
        let (user, invite) =
            self.edge.identity.users.invite(caller.org(), &new, ttl, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::InviteUserResponse {
            user: Some(user_to_pb(&user, true)),
            invite_token: invite.token.into_inner(),
            expires_at: Some(timestamp(invite.expires_at)),
        }))
    }

    async fn accept_invite(
        &self,
        request: Request<pb::AcceptInviteRequest>,
    ) -> Result<Response<pb::AcceptInviteResponse>, Status> {
        let ctx = context_of(&listone_core::auth::RequestMeta::from_request(&request));
        let r = request.into_inner();
        let mut v = Violations::new();
        let org = convert::org_name(&mut v, r.organization);
        convert::required(&mut v, "invite_token", &r.invite_token, MAX_TOKEN_CHARS);
        convert::required(&mut v, "password", &r.password, MAX_PASSWORD_CHARS);
        let org = convert::valid(v, org)?;
        // An unknown organization answers like an unknown invitation.
        let Some(org) = convert::resolve_org(&self.edge.identity, &org).await? else {
            return Err(Error::FailedPrecondition {
                reason: "INVITE_UNKNOWN",
                message: "the invitation is not valid".to_owned(),
            }
            .into());
        };
        let user = self
            .edge
            .identity
            .users
            .accept_invite(org, &Secret::new(r.invite_token), &Secret::new(r.password), ctx)
            .await?;
        Ok(Response::new(pb::AcceptInviteResponse { user: Some(user_to_pb(&user, true)) }))
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Result<Response<pb::GetUserResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let id: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        let denial = Denial::unless_self_or(&caller.principal, id, scopes::READ);
        self.edge.refuse(&caller, denial, "UserService/GetUser").await?;
        let user = self.edge.identity.users.get(caller.org(), id).await?;
        let with_profile = scopes::can_see_personal(&caller.principal, id);
        Ok(Response::new(pb::GetUserResponse { user: Some(user_to_pb(&user, with_profile)) }))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::READ, "UserService/ListUsers").await?;
        let mut v = Violations::new();
        let page = OffsetPage::parse(&mut v, "users", request.get_ref().page_size, &request.get_ref().page_token);
        v.into_result()?;
        let read = self.edge.identity.users.list(caller.org(), page.offset, page.limit()).await?;
        let (users, next_page_token) = page.finish("users", read);
        let users = users.iter().map(|u| user_to_pb(u, scopes::can_see_personal(&caller.principal, u.id))).collect();
        Ok(Response::new(pb::ListUsersResponse { users, next_page_token }))
    }

    async fn deactivate_user(
        &self,
        request: Request<pb::DeactivateUserRequest>,
    ) -> Result<Response<pb::DeactivateUserResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "UserService/DeactivateUser").await?;
        let id: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        let user = self.edge.identity.users.deactivate(caller.org(), id, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::DeactivateUserResponse { user: Some(user_to_pb(&user, true)) }))
    }

    async fn reactivate_user(
        &self,
        request: Request<pb::ReactivateUserRequest>,
    ) -> Result<Response<pb::ReactivateUserResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "UserService/ReactivateUser").await?;
        let id: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        let user = self.edge.identity.users.reactivate(caller.org(), id, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::ReactivateUserResponse { user: Some(user_to_pb(&user, true)) }))
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "UserService/DeleteUser").await?;
        let id: UserId = convert::one_id("user_id", &request.get_ref().user_id)?;
        self.edge.identity.users.delete(caller.org(), id, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::DeleteUserResponse {}))
    }

    async fn assign_app(
        &self,
        request: Request<pb::AssignAppRequest>,
    ) -> Result<Response<pb::AssignAppResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "UserService/AssignApp").await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let id: Option<UserId> = convert::id(&mut v, "user_id", &r.user_id);
        let app = convert::app(&mut v, "app", r.app);
        let (id, app) = convert::valid(v, id.zip(app))?;
        self.edge.identity.users.assign_app(caller.org(), id, app, caller.actor(), caller.context()).await?;
        Ok(Response::new(pb::AssignAppResponse {}))
    }

    async fn set_user_roles(
        &self,
        request: Request<pb::SetUserRolesRequest>,
    ) -> Result<Response<pb::SetUserRolesResponse>, Status> {
        let caller = self.edge.authorize(&request, scopes::ADMIN, "UserService/SetUserRoles").await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let id: Option<UserId> = convert::id(&mut v, "user_id", &r.user_id);
        let app = convert::app(&mut v, "app", r.app);
        let (id, app) = convert::valid(v, id.zip(app))?;
        let roles = self
            .edge
            .identity
            .roles
            .set_user_roles(caller.org(), id, app, &r.roles, caller.actor(), caller.context())
            .await?;
        Ok(Response::new(pb::SetUserRolesResponse { roles: roles.into_iter().collect() }))
    }

    async fn get_user_roles(
        &self,
        request: Request<pb::GetUserRolesRequest>,
    ) -> Result<Response<pb::GetUserRolesResponse>, Status> {
        let caller = self.edge.caller(&request).await?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let id: Option<UserId> = convert::id(&mut v, "user_id", &r.user_id);
        let app = convert::app(&mut v, "app", r.app);
        let (id, app) = convert::valid(v, id.zip(app))?;
        let denial = Denial::unless_self_or(&caller.principal, id, scopes::READ);
        self.edge.refuse(&caller, denial, "UserService/GetUserRoles").await?;
        let roles = &self.edge.identity.roles;
        let direct = roles.user_roles(caller.org(), id, app).await?;
        let effective = roles.effective_roles(caller.org(), id, app).await?;
        Ok(Response::new(pb::GetUserRolesResponse {
            roles: direct.into_iter().collect(),
            effective_roles: effective.into_iter().collect(),
        }))
    }
}
