//! Shared fixture of the `listone.identity.v1` tests: the all-in-one server over a fresh database
//! (SQLite, or PostgreSQL with LISTONE_TEST_DATABASE_URL), organizations registered through the
//! real store, tokens for principals, typed clients, and the audit log read back once the outbox
//! has delivered everything.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use listone_audit::AuditEntry;
use listone_audit::store::{EntryFilter, PageRequest};
pub use listone_core::Clock;
use listone_core::{Actor, App, OrgId, Principal, Secret, UserId};
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_identity::scopes;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::group_service_client::GroupServiceClient;
use listone_proto::identity::v1::mfa_service_client::MfaServiceClient;
use listone_proto::identity::v1::organization_service_client::OrganizationServiceClient;
use listone_proto::identity::v1::scim_token_service_client::ScimTokenServiceClient;
use listone_proto::identity::v1::session_service_client::SessionServiceClient;
use listone_proto::identity::v1::user_service_client::UserServiceClient;
use listone_testkit::{TestServer, authed};
use tonic::transport::Channel;
use tonic::{Code, Status};

/// A password the default policy accepts.
pub const PASSWORD: &str = "correct horse battery staple 1987";

/// A principal of `org` acting as the person `user` with `scopes`.
pub fn person(org: OrgId, user: UserId, scopes: &[&str]) -> Principal {
    Principal {
        org_id: org,
        actor: Actor::User { user_id: user },
        app: App::Identity,
        roles: BTreeSet::new(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// Typed clients of every identity service.
pub struct Clients {
    pub orgs: OrganizationServiceClient<Channel>,
    pub users: UserServiceClient<Channel>,
    pub groups: GroupServiceClient<Channel>,
    pub sessions: SessionServiceClient<Channel>,
    pub mfa: MfaServiceClient<Channel>,
    pub scim_tokens: ScimTokenServiceClient<Channel>,
}

impl Clients {
    pub fn new(server: &TestServer) -> Self {
        Self {
            orgs: OrganizationServiceClient::new(server.channel()),
            users: UserServiceClient::new(server.channel()),
            groups: GroupServiceClient::new(server.channel()),
            sessions: SessionServiceClient::new(server.channel()),
            mfa: MfaServiceClient::new(server.channel()),
            scim_tokens: ScimTokenServiceClient::new(server.channel()),
        }
    }
}

/// One organization on the server with an admin (a real user) and tokens.
pub struct Tenant {
    pub org: OrgId,
    pub slug: String,
    /// A real user of the org whose token holds identity.admin.
    pub admin_id: UserId,
    pub admin: String,
    /// A token with identity.read only, for another real user.
    pub reader_id: UserId,
    pub reader: String,
    /// A token with every identity scope, operator included.
    pub operator: String,
}

impl Tenant {
    /// A token acting as `user` of this org with `scopes`.
    pub fn token(&self, server: &TestServer, user: UserId, scopes: &[&str]) -> String {
        server.token_for(person(self.org, user, scopes))
    }
}

/// Registers `slug` (GB, 3 CRM seats) and provisions an admin and a reader.
pub async fn tenant(server: &TestServer, slug: &str) -> Tenant {
    let identity = &server.ctx().identity;
    let registration = OrgRegistration {
        name: "Acme".into(),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana Protector".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: 3,
            starts_at: server.clock().now(),
            ends_at: None,
        }],
    };
    let system = listone_audit::AuditActor { kind: listone_audit::ActorKind::System, id: None };
    let org = identity.orgs.register(&registration, system.clone(), Default::default()).await.unwrap().id;
    let provision = |name: &str| listone_identity::user::NewUser {
        user_name: Secret::new(format!("{name}@{slug}.example")),
        email: Secret::new(format!("{name}@{slug}.example")),
        given_name: Some(Secret::new(name.to_owned())),
        family_name: None,
        external_id: None,
    };
    let admin_id =
        identity.users.provision(org, &provision("admin"), system.clone(), Default::default()).await.unwrap().id;
    let reader_id = identity.users.provision(org, &provision("reader"), system, Default::default()).await.unwrap().id;
    Tenant {
        org,
        slug: slug.to_owned(),
        admin_id,
        admin: server.token_for(person(org, admin_id, &[scopes::ADMIN])),
        reader_id,
        reader: server.token_for(person(org, reader_id, &[scopes::READ])),
        operator: server.token_for(person(org, admin_id, scopes::ALL)),
    }
}

/// Provisions `<name>@<slug>.example` through the API as the tenant's admin.
pub async fn provision(c: &mut Clients, t: &Tenant, name: &str) -> pb::User {
    c.users
        .provision_user(authed(
            pb::ProvisionUserRequest {
                user_name: format!("{name}@{}.example", t.slug),
                email: format!("{name}@{}.example", t.slug),
                given_name: name.to_owned(),
                ..Default::default()
            },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
}

/// Invites `<name>@<slug>.example` and accepts with [`PASSWORD`]; returns the user id.
pub async fn active_user_with_password(c: &mut Clients, t: &Tenant, name: &str) -> String {
    let invited = c
        .users
        .invite_user(authed(
            pb::InviteUserRequest {
                user_name: format!("{name}@{}.example", t.slug),
                email: format!("{name}@{}.example", t.slug),
                ..Default::default()
            },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    c.users
        .accept_invite(pb::AcceptInviteRequest {
            organization: Some(by_slug(&t.slug)),
            invite_token: invited.invite_token,
            password: PASSWORD.into(),
        })
        .await
        .unwrap();
    invited.user.unwrap().id
}

/// Signs `<name>@<slug>.example` in with [`PASSWORD`]; returns the outcome.
pub async fn sign_in(c: &mut Clients, t: &Tenant, name: &str) -> pb::sign_in_with_password_response::Result {
    c.sessions
        .sign_in_with_password(pb::SignInWithPasswordRequest {
            organization: Some(by_slug(&t.slug)),
            user_name: format!("{name}@{}.example", t.slug),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
}

/// Signs in expecting a session at once; returns it.
pub async fn signed_in(c: &mut Clients, t: &Tenant, name: &str) -> pb::SignedIn {
    match sign_in(c, t, name).await {
        pb::sign_in_with_password_response::Result::SignedIn(s) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

pub fn by_slug(slug: &str) -> pb::OrganizationRef {
    pb::OrganizationRef { organization: Some(pb::organization_ref::Organization::OrganizationSlug(slug.to_owned())) }
}

pub fn by_id(org: OrgId) -> pb::OrganizationRef {
    pb::OrganizationRef { organization: Some(pb::organization_ref::Organization::OrganizationId(org.to_string())) }
}

/// The current TOTP code for a base32 secret on the server's clock.
pub fn totp_code(server: &TestServer, secret_base32: &str) -> String {
    let secret = listone_identity::TotpSecret::from_base32(secret_base32).unwrap();
    let now = u64::try_from(server.clock().now().timestamp()).unwrap();
    listone_identity::Totp::new(secret).code_at(now)
}

/// The field paths of an INVALID_ARGUMENT status, in order.
pub fn violations(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad = tonic_types::StatusExt::get_details_bad_request(status).expect("bad request details");
    bad.field_violations.into_iter().map(|v| v.field).collect()
}

/// The reason carried in the status's ErrorInfo.
pub fn reason(status: &Status) -> String {
    tonic_types::StatusExt::get_details_error_info(status).expect("error info").reason
}

/// Asserts the code of a failed call and returns the status.
pub fn expect_code<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>, code: Code, what: &str) -> Status {
    match result {
        Ok(ok) => panic!("{what}: expected {code:?}, got {ok:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{what}: {status:?}");
            status
        }
    }
}

/// Wakes the outbox dispatcher and waits until it has delivered every event recorded so far
/// (so every audit event is in its org's log and the dispatcher is idle again).
pub async fn drain_audit(server: &TestServer) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pending =
            listone_core::db::count(server.db().conn(), "SELECT COUNT(*) AS n FROM outbox_event WHERE pending", [])
                .await
                .unwrap();
        if pending == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{pending} outbox events never delivered");
        server.ctx().outbox.wake();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every entry of `org`'s log with `action` (exact, or a prefix ending in `*`), once delivered.
pub async fn audited(server: &TestServer, org: OrgId, action: &str) -> Vec<AuditEntry> {
    drain_audit(server).await;
    let filter = EntryFilter { action: Some(action.to_owned()), ..Default::default() };
    let page = PageRequest { page_size: 1000, after_seq: None, newest_first: false };
    server
        .ctx()
        .audit
        .list_entries(org, &filter, page, false)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.entry)
        .collect()
}

/// `SELECT COUNT(*) AS n ...` with `$n` placeholders.
pub async fn count(server: &TestServer, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
    listone_core::db::count(server.db().conn(), sql, values).await.unwrap()
}

/// Ids of real things of one organization, so requests naming them pass validation.
#[derive(Debug, Clone)]
pub struct Ids {
    pub org: OrgId,
    pub user: String,
    pub group: String,
    pub session: String,
    pub scim_token: String,
}

fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    match token {
        Some(token) => authed(message, token),
        None => tonic::Request::new(message),
    }
}

/// The outcome of one call of every RPC that needs a token, each naming `ids`, as `token` (or
/// with none). Each call is harmless when it succeeds (idempotent or reverted by the next one).
pub async fn call_every_authenticated_rpc(
    c: &mut Clients,
    token: Option<&str>,
    ids: &Ids,
) -> Vec<(&'static str, Result<(), Status>)> {
    let org = ids.org.to_string();
    let user = || ids.user.clone();
    let group = || ids.group.clone();
    let crm = pb::App::Crm as i32;
    let mut out: Vec<(&'static str, Result<(), Status>)> = Vec::new();
    macro_rules! call {
        ($name:literal, $client:ident . $method:ident, $message:expr) => {
            out.push(($name, c.$client.$method(request($message, token)).await.map(|_| ())));
        };
    }
    call!("GetOrganization", orgs.get_organization, pb::GetOrganizationRequest { organization_id: org.clone() });
    call!(
        "UpdateOrganizationSettings",
        orgs.update_organization_settings,
        pb::UpdateOrganizationSettingsRequest {
            organization_id: org.clone(),
            settings: Some(pb::OrganizationSettings { mfa_required: false }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["mfa_required".into()] }),
        }
    );
    call!(
        "SuspendOrganization",
        orgs.suspend_organization,
        pb::SuspendOrganizationRequest { organization_id: org.clone() }
    );
    call!(
        "ReactivateOrganization",
        orgs.reactivate_organization,
        pb::ReactivateOrganizationRequest { organization_id: org.clone() }
    );
    call!("ListSubscriptions", orgs.list_subscriptions, pb::ListSubscriptionsRequest { organization_id: org.clone() });
    call!(
        "ProvisionUser",
        users.provision_user,
        pb::ProvisionUserRequest {
            user_name: "intruder@elsewhere.example".into(),
            email: "intruder@elsewhere.example".into(),
            ..Default::default()
        }
    );
    call!(
        "InviteUser",
        users.invite_user,
        pb::InviteUserRequest {
            user_name: "invitee@elsewhere.example".into(),
            email: "invitee@elsewhere.example".into(),
            ..Default::default()
        }
    );
    call!("GetUser", users.get_user, pb::GetUserRequest { user_id: user() });
    call!("ListUsers", users.list_users, pb::ListUsersRequest::default());
    call!("DeactivateUser", users.deactivate_user, pb::DeactivateUserRequest { user_id: user() });
    call!("ReactivateUser", users.reactivate_user, pb::ReactivateUserRequest { user_id: user() });
    call!("AssignApp", users.assign_app, pb::AssignAppRequest { user_id: user(), app: crm });
    call!(
        "SetUserRoles",
        users.set_user_roles,
        pb::SetUserRolesRequest { user_id: user(), app: crm, roles: vec!["intruder".into()] }
    );
    call!("GetUserRoles", users.get_user_roles, pb::GetUserRolesRequest { user_id: user(), app: crm });
    call!(
        "CreateGroup",
        groups.create_group,
        pb::CreateGroupRequest { display_name: "Intruders".into(), external_id: String::new() }
    );
    call!("GetGroup", groups.get_group, pb::GetGroupRequest { group_id: group() });
    call!("ListGroups", groups.list_groups, pb::ListGroupsRequest::default());
    call!(
        "RenameGroup",
        groups.rename_group,
        pb::RenameGroupRequest { group_id: group(), display_name: "Renamed".into() }
    );
    call!("AddGroupMember", groups.add_group_member, pb::AddGroupMemberRequest { group_id: group(), user_id: user() });
    call!(
        "RemoveGroupMember",
        groups.remove_group_member,
        pb::RemoveGroupMemberRequest { group_id: group(), user_id: user() }
    );
    call!("ListGroupMembers", groups.list_group_members, pb::ListGroupMembersRequest { group_id: group() });
    call!(
        "SetGroupRoles",
        groups.set_group_roles,
        pb::SetGroupRolesRequest { group_id: group(), app: crm, roles: vec!["intruder".into()] }
    );
    call!("GetGroupRoles", groups.get_group_roles, pb::GetGroupRolesRequest { group_id: group(), app: crm });
    call!("ListSessions", sessions.list_sessions, pb::ListSessionsRequest { user_id: user(), ..Default::default() });
    call!(
        "RevokeSession",
        sessions.revoke_session,
        pb::RevokeSessionRequest { user_id: user(), session_id: ids.session.clone() }
    );
    call!("GetMfaStatus", mfa.get_mfa_status, pb::GetMfaStatusRequest { user_id: user() });
    call!("BeginTotpEnrolment", mfa.begin_totp_enrolment, pb::BeginTotpEnrolmentRequest { user_id: user() });
    call!(
        "ConfirmTotpEnrolment",
        mfa.confirm_totp_enrolment,
        pb::ConfirmTotpEnrolmentRequest { user_id: user(), totp_code: "123456".into() }
    );
    call!("DisableMfa", mfa.disable_mfa, pb::DisableMfaRequest { user_id: user() });
    call!(
        "RegenerateRecoveryCodes",
        mfa.regenerate_recovery_codes,
        pb::RegenerateRecoveryCodesRequest { user_id: user() }
    );
    call!(
        "CreateScimToken",
        scim_tokens.create_scim_token,
        pb::CreateScimTokenRequest { name: "Intruder".into(), ttl: None }
    );
    call!("ListScimTokens", scim_tokens.list_scim_tokens, pb::ListScimTokensRequest {});
    call!(
        "RevokeScimToken",
        scim_tokens.revoke_scim_token,
        pb::RevokeScimTokenRequest { scim_token_id: ids.scim_token.clone() }
    );
    call!("DeleteGroup", groups.delete_group, pb::DeleteGroupRequest { group_id: group() });
    call!("DeleteUser", users.delete_user, pb::DeleteUserRequest { user_id: user() });
    out
}

/// Every RPC that needs a token (AcceptInvite and the sign-in RPCs carry none).
pub const AUTHENTICATED_RPCS: usize = 35;
