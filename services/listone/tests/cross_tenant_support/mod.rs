//! Shared by the `cross_tenant` suite: registered organizations with a principal holding every
//! scope, clients of every tenant service, the things of organization A that identity RPCs name,
//! and the reader of a refusal that tells whether it gives anything away.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use listone_audit::{ActorKind, AuditActor};
use listone_core::{Actor, App, Clock, OrgId, Principal, Secret, UserId};
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_proto::access::v1::access_policy_service_client::AccessPolicyServiceClient;
use listone_proto::audit::v1::audit_service_client::AuditServiceClient;
use listone_proto::customization::v1::module_service_client::ModuleServiceClient;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::group_service_client::GroupServiceClient;
use listone_proto::identity::v1::mfa_service_client::MfaServiceClient;
use listone_proto::identity::v1::organization_service_client::OrganizationServiceClient;
use listone_proto::identity::v1::scim_token_service_client::ScimTokenServiceClient;
use listone_proto::identity::v1::session_service_client::SessionServiceClient;
use listone_proto::identity::v1::user_service_client::UserServiceClient;
use listone_proto::records::v1::record_service_client::RecordServiceClient;
use listone_testkit::{TestServer, authed};
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Every scope a List One service checks: the most privileged caller there is.
pub const EVERY_SCOPE: &[&str] = &[
    "identity.read",
    "identity.admin",
    "identity.operator",
    "access.admin",
    "records.read",
    "records.write",
    "customization.read",
    "customization.admin",
    "audit.read",
    "audit.personal.read",
    "audit.export",
    "audit.admin",
];

/// A password the default policy accepts.
pub const PASSWORD: &str = "correct horse battery staple 1987";

/// A registered organization and its administrator.
pub struct Tenant {
    pub org: OrgId,
    pub slug: String,
    /// A real, active user of the organization.
    pub admin: UserId,
    /// The administrator with every scope and the CRM role `admin`.
    pub token: String,
}

impl Tenant {
    /// A token of this organization acting as the person `user` (any id) with every scope.
    pub fn acting_as(&self, server: &TestServer, user: UserId) -> String {
        privileged(server, self.org, user)
    }
}

/// A token of `org` acting as the person `user` with every scope and the CRM role `admin`
/// (which the starter access policy gives every right).
pub fn privileged(server: &TestServer, org: OrgId, user: UserId) -> String {
    server.token_for(Principal {
        org_id: org,
        actor: Actor::User { user_id: user },
        app: App::Crm,
        roles: BTreeSet::from(["admin".to_owned()]),
        scopes: EVERY_SCOPE.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// Registers `slug` (GB, 5 CRM seats) with one provisioned administrator.
pub async fn tenant(server: &TestServer, slug: &str) -> Tenant {
    let identity = &server.ctx().identity;
    let system = AuditActor { kind: ActorKind::System, id: None };
    let registration = OrgRegistration {
        name: format!("{slug} Ltd"),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new(format!("Dana of {slug}")),
        dpo_email: Secret::new(format!("dpo@{slug}.example")),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: 5,
            starts_at: server.clock().now(),
            ends_at: None,
        }],
    };
    let org = identity.orgs.register(&registration, system.clone(), Default::default()).await.unwrap().id;
    let admin = listone_identity::user::NewUser {
        user_name: Secret::new(format!("admin@{slug}.example")),
        email: Secret::new(format!("admin@{slug}.example")),
        given_name: None,
        family_name: None,
        external_id: None,
    };
    let admin = identity.users.provision(org, &admin, system, Default::default()).await.unwrap().id;
    let mut tenant = Tenant { org, slug: slug.into(), admin, token: String::new() };
    tenant.token = tenant.acting_as(server, admin);
    tenant
}

/// Typed clients of every service that holds a tenant's things.
pub struct Clients {
    pub records: RecordServiceClient<Channel>,
    pub modules: ModuleServiceClient<Channel>,
    pub access: AccessPolicyServiceClient<Channel>,
    pub audit: AuditServiceClient<Channel>,
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
            records: RecordServiceClient::new(server.channel()),
            modules: ModuleServiceClient::new(server.channel()),
            access: AccessPolicyServiceClient::new(server.channel()),
            audit: AuditServiceClient::new(server.channel()),
            orgs: OrganizationServiceClient::new(server.channel()),
            users: UserServiceClient::new(server.channel()),
            groups: GroupServiceClient::new(server.channel()),
            sessions: SessionServiceClient::new(server.channel()),
            mfa: MfaServiceClient::new(server.channel()),
            scim_tokens: ScimTokenServiceClient::new(server.channel()),
        }
    }
}

/// Everything a caller can read of a call's outcome, to compare two of them.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Answered,
    Refused {
        code: Code,
        message: String,
        reason: Option<String>,
        metadata: BTreeMap<String, String>,
        violations: Vec<(String, String)>,
    },
}

/// The outcome of a call as its caller reads it.
pub fn answer<T>(outcome: &Result<T, Status>) -> Answer {
    let Err(status) = outcome else { return Answer::Answered };
    let info = tonic_types::StatusExt::get_details_error_info(status);
    let bad = tonic_types::StatusExt::get_details_bad_request(status);
    Answer::Refused {
        code: status.code(),
        message: status.message().to_owned(),
        reason: info.as_ref().map(|i| i.reason.clone()),
        metadata: info.map(|i| i.metadata.into_iter().collect()).unwrap_or_default(),
        violations: bad
            .map(|b| b.field_violations.into_iter().map(|v| (v.field, v.description)).collect())
            .unwrap_or_default(),
    }
}

/// Asserts that `foreign` (a call naming another organization's things) was refused with `code`
/// exactly as `unknown` (the same call naming things that never existed), and that neither its
/// message nor its details hold any of `secrets`: the answer tells nothing apart.
pub fn assert_refused_alike<T: std::fmt::Debug>(
    rpc: &str,
    foreign: &Result<T, Status>,
    unknown: &Result<T, Status>,
    code: Code,
    secrets: &[&str],
) {
    let status = match foreign {
        Ok(ok) => panic!("{rpc}: answered {ok:?} for another organization's ids, expected {code:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), code, "{rpc}: {status:?}");
    assert_eq!(answer(foreign), answer(unknown), "{rpc}: another organization's ids are told apart from unknown ones");
    let told = format!("{} {:?}", status.message(), tonic_types::StatusExt::get_error_details(status));
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!told.contains(secret), "{rpc}: the refusal echoes {secret:?}: {told}");
    }
}

/// Named outcomes of a series of calls.
pub type Outcomes = Vec<(&'static str, Result<(), Status>)>;

/// A call's outcome without its reply.
pub fn done<T>(outcome: Result<tonic::Response<T>, Status>) -> Result<(), Status> {
    outcome.map(|_| ())
}

/// Asserts every call of `foreign` was refused with `code(rpc)` exactly as the same call of
/// `unknown`, echoing none of `secrets`.
pub fn assert_all_refused_alike(foreign: &Outcomes, unknown: &Outcomes, code: impl Fn(&str) -> Code, secrets: &[&str]) {
    assert_eq!(foreign.len(), unknown.len());
    for ((rpc, theirs), (_, never)) in foreign.iter().zip(unknown) {
        assert_refused_alike(rpc, theirs, never, code(rpc), secrets);
    }
}

/// Ids of organization A's things that identity RPCs name.
#[derive(Debug, Clone)]
pub struct IdentityIds {
    pub org: String,
    pub user: String,
    pub group: String,
    pub session: String,
    pub scim_token: String,
}

impl IdentityIds {
    /// Ids of the same kinds that never existed anywhere.
    pub fn unknown() -> Self {
        let id = || uuid::Uuid::new_v4().to_string();
        Self { org: id(), user: id(), group: id(), session: id(), scim_token: id() }
    }
}

/// RPCs of the listone.identity.v1 services that name an id of the caller's organization.
pub const IDENTITY_RPCS_NAMING_IDS: usize = 28;

/// The outcome of one call of every identity RPC that names an organization, user, group,
/// session or SCIM token, each naming `ids`, as `token`. Destructive calls come last.
pub async fn call_identity_rpcs_naming(c: &mut Clients, token: &str, ids: &IdentityIds) -> Outcomes {
    let org = || ids.org.clone();
    let user = || ids.user.clone();
    let group = || ids.group.clone();
    let crm = pb::App::Crm as i32;
    let mut out: Outcomes = Vec::new();
    macro_rules! call {
        ($name:literal, $client:ident . $method:ident, $message:expr) => {
            out.push(($name, c.$client.$method(authed($message, token)).await.map(|_| ())));
        };
    }
    call!("GetOrganization", orgs.get_organization, pb::GetOrganizationRequest { organization_id: org() });
    call!(
        "UpdateOrganizationSettings",
        orgs.update_organization_settings,
        pb::UpdateOrganizationSettingsRequest {
            organization_id: org(),
            settings: Some(pb::OrganizationSettings { mfa_required: true }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["mfa_required".into()] }),
        }
    );
    call!("SuspendOrganization", orgs.suspend_organization, pb::SuspendOrganizationRequest { organization_id: org() });
    call!(
        "ReactivateOrganization",
        orgs.reactivate_organization,
        pb::ReactivateOrganizationRequest { organization_id: org() }
    );
    call!("ListSubscriptions", orgs.list_subscriptions, pb::ListSubscriptionsRequest { organization_id: org() });
    call!("GetUser", users.get_user, pb::GetUserRequest { user_id: user() });
    call!("DeactivateUser", users.deactivate_user, pb::DeactivateUserRequest { user_id: user() });
    call!("ReactivateUser", users.reactivate_user, pb::ReactivateUserRequest { user_id: user() });
    call!("AssignApp", users.assign_app, pb::AssignAppRequest { user_id: user(), app: crm });
    call!(
        "SetUserRoles",
        users.set_user_roles,
        pb::SetUserRolesRequest { user_id: user(), app: crm, roles: vec!["intruder".into()] }
    );
    call!("GetUserRoles", users.get_user_roles, pb::GetUserRolesRequest { user_id: user(), app: crm });
    call!("GetGroup", groups.get_group, pb::GetGroupRequest { group_id: group() });
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
    call!(
        "RegenerateRecoveryCodes",
        mfa.regenerate_recovery_codes,
        pb::RegenerateRecoveryCodesRequest { user_id: user() }
    );
    call!("DisableMfa", mfa.disable_mfa, pb::DisableMfaRequest { user_id: user() });
    call!(
        "RevokeScimToken",
        scim_tokens.revoke_scim_token,
        pb::RevokeScimTokenRequest { scim_token_id: ids.scim_token.clone() }
    );
    call!("DeleteGroup", groups.delete_group, pb::DeleteGroupRequest { group_id: group() });
    call!("DeleteUser", users.delete_user, pb::DeleteUserRequest { user_id: user() });
    out
}

pub fn by_slug(slug: &str) -> pb::OrganizationRef {
    pb::OrganizationRef { organization: Some(pb::organization_ref::Organization::OrganizationSlug(slug.to_owned())) }
}

/// Invites `<name>@<slug>.example` (with `external_id`) as the tenant's admin and accepts with
/// [`PASSWORD`]; returns the user's id.
pub async fn active_user(c: &mut Clients, t: &Tenant, name: &str, external_id: &str) -> String {
    let invite = pb::InviteUserRequest {
        user_name: format!("{name}@{}.example", t.slug),
        email: format!("{name}@{}.example", t.slug),
        given_name: name.to_owned(),
        external_id: external_id.to_owned(),
        ..Default::default()
    };
    let invited = c.users.invite_user(authed(invite, &t.token)).await.unwrap().into_inner();
    let accept = pb::AcceptInviteRequest {
        organization: Some(by_slug(&t.slug)),
        invite_token: invited.invite_token,
        password: PASSWORD.into(),
    };
    c.users.accept_invite(accept).await.unwrap();
    invited.user.unwrap().id
}

/// Signs `<name>@<slug>.example` in with [`PASSWORD`], expecting a session at once.
pub async fn signed_in(c: &mut Clients, t: &Tenant, name: &str) -> pb::SignedIn {
    let request = pb::SignInWithPasswordRequest {
        organization: Some(by_slug(&t.slug)),
        user_name: format!("{name}@{}.example", t.slug),
        password: PASSWORD.into(),
    };
    match c.sessions.sign_in_with_password(request).await.unwrap().into_inner().result.unwrap() {
        pb::sign_in_with_password_response::Result::SignedIn(signed) => signed,
        other => panic!("expected a session, got {other:?}"),
    }
}

/// The current TOTP code for a base32 secret on the server's clock.
pub fn totp_code(server: &TestServer, secret_base32: &str) -> String {
    let secret = listone_identity::TotpSecret::from_base32(secret_base32).unwrap();
    let now = u64::try_from(server.clock().now().timestamp()).unwrap();
    listone_identity::Totp::new(secret).code_at(now)
}

/// Waits until the outbox has appended `size` entries to `org`'s audit log (the dispatcher is
/// woken, then polled: delivery is asynchronous by design).
pub async fn wait_for_log(server: &TestServer, org: OrgId, size: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let head = server.ctx().audit.head(org).await.unwrap();
        if head.size >= size {
            assert_eq!(head.size, size, "no more entries than recorded");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the log reached only {} of {size} entries", head.size);
        server.ctx().outbox.wake();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
