//! Tenant isolation for every RPC of `listone.identity.v1`: a principal of organization B —
//! with every identity scope, or acting as the very user id — naming organization A's
//! organization, users, groups, sessions, SCIM tokens, invitations or MFA steps gets NOT_FOUND
//! (or the answer an unknown credential gets), B's lists show nothing of A, and A is unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_core::UserId;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::complete_mfa_sign_in_request::Factor;
use listone_proto::identity::v1::sign_in_with_password_response::Result as Outcome;
use listone_testkit::{TestServer, authed};
use tonic::Code;

/// Organization A with one of everything, and what B must not see of it.
struct TenantA {
    t: Tenant,
    ids: Ids,
    secret: String,
    session_token: String,
}

async fn tenant_a(server: &TestServer, c: &mut Clients) -> TenantA {
    let t = tenant(server, "acme").await;
    let alice = active_user_with_password(c, &t, "alice").await;
    let signed = signed_in(c, &t, "alice").await;
    let session_token = signed.session_token.clone();
    let enrolment = c
        .mfa
        .begin_totp_enrolment(authed(pb::BeginTotpEnrolmentRequest { user_id: alice.clone() }, &session_token))
        .await
        .unwrap()
        .into_inner()
        .enrolment
        .unwrap();
    c.mfa
        .confirm_totp_enrolment(authed(
            pb::ConfirmTotpEnrolmentRequest {
                user_id: alice.clone(),
                totp_code: totp_code(server, &enrolment.secret_base32),
            },
            &session_token,
        ))
        .await
        .unwrap();
    let group = c
        .groups
        .create_group(authed(
            pb::CreateGroupRequest { display_name: "Sales".into(), external_id: String::new() },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .id;
    c.groups
        .add_group_member(authed(
            pb::AddGroupMemberRequest { group_id: group.clone(), user_id: alice.clone() },
            &t.admin,
        ))
        .await
        .unwrap();
    c.users
        .set_user_roles(authed(
            pb::SetUserRolesRequest { user_id: alice.clone(), app: pb::App::Crm as i32, roles: vec!["sales".into()] },
            &t.admin,
        ))
        .await
        .unwrap();
    let scim_token = c
        .scim_tokens
        .create_scim_token(authed(pb::CreateScimTokenRequest { name: "Okta".into(), ttl: None }, &t.admin))
        .await
        .unwrap()
        .into_inner()
        .scim_token
        .unwrap()
        .id;
    let ids = Ids { org: t.org, user: alice, group, session: signed.session.unwrap().id, scim_token };
    TenantA { t, ids, secret: enrolment.secret_base32, session_token }
}

/// A's things, read back by A's admin.
async fn snapshot(c: &mut Clients, a: &TenantA) -> String {
    let admin = &a.t.admin;
    let org = c
        .orgs
        .get_organization(authed(pb::GetOrganizationRequest { organization_id: a.ids.org.to_string() }, admin))
        .await
        .unwrap()
        .into_inner();
    let user = c.users.get_user(authed(pb::GetUserRequest { user_id: a.ids.user.clone() }, admin)).await.unwrap();
    let roles = c
        .users
        .get_user_roles(authed(
            pb::GetUserRolesRequest { user_id: a.ids.user.clone(), app: pb::App::Crm as i32 },
            admin,
        ))
        .await
        .unwrap();
    let group = c.groups.get_group(authed(pb::GetGroupRequest { group_id: a.ids.group.clone() }, admin)).await.unwrap();
    let members = c
        .groups
        .list_group_members(authed(pb::ListGroupMembersRequest { group_id: a.ids.group.clone() }, admin))
        .await
        .unwrap();
    let sessions = c
        .sessions
        .list_sessions(authed(pb::ListSessionsRequest { user_id: a.ids.user.clone(), ..Default::default() }, admin))
        .await
        .unwrap();
    let mfa =
        c.mfa.get_mfa_status(authed(pb::GetMfaStatusRequest { user_id: a.ids.user.clone() }, admin)).await.unwrap();
    let tokens = c.scim_tokens.list_scim_tokens(authed(pb::ListScimTokensRequest {}, admin)).await.unwrap();
    format!(
        "{org:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        user.into_inner(),
        roles.into_inner(),
        group.into_inner(),
        members.into_inner(),
        sessions.into_inner(),
        mfa.into_inner(),
        tokens.into_inner()
    )
}

#[tokio::test]
async fn organization_b_gets_not_found_for_every_rpc_naming_organization_a() {
    let server = TestServer::start().await;
    let mut c = Clients::new(&server);
    let a = tenant_a(&server, &mut c).await;
    let b = tenant(&server, "globex").await;
    let before = snapshot(&mut c, &a).await;

    // B's most privileged principal, naming A's ids.
    let outcomes = call_every_authenticated_rpc(&mut c, Some(&b.operator), &a.ids).await;
    assert_eq!(outcomes.len(), AUTHENTICATED_RPCS);
    let without_ids =
        ["ProvisionUser", "InviteUser", "ListUsers", "CreateGroup", "ListGroups", "CreateScimToken", "ListScimTokens"];
    let self_only = ["BeginTotpEnrolment", "ConfirmTotpEnrolment", "RegenerateRecoveryCodes"];
    for (rpc, outcome) in &outcomes {
        if without_ids.contains(rpc) {
            assert!(outcome.is_ok(), "{rpc} acts in B: {outcome:?}");
        } else if self_only.contains(rpc) {
            expect_code(outcome.clone().map(tonic::Response::new), Code::PermissionDenied, rpc);
        } else {
            expect_code(outcome.clone().map(tonic::Response::new), Code::NotFound, rpc);
        }
    }
    assert_eq!(outcomes.len() - without_ids.len() - self_only.len(), 25, "RPCs naming an id of A");

    // Acting as A's user id from B: self-service passes the permission check and finds nothing.
    let alice_in_b = b.token(&server, UserId::parse(&a.ids.user).unwrap(), &[]);
    let outcomes = call_every_authenticated_rpc(&mut c, Some(&alice_in_b), &a.ids).await;
    for rpc in [
        "GetUser",
        "GetUserRoles",
        "ListSessions",
        "RevokeSession",
        "GetMfaStatus",
        "BeginTotpEnrolment",
        "ConfirmTotpEnrolment",
        "DisableMfa",
        "RegenerateRecoveryCodes",
    ] {
        let (_, outcome) = outcomes.iter().find(|(name, _)| *name == rpc).unwrap();
        expect_code(outcome.clone().map(tonic::Response::new), Code::NotFound, rpc);
    }

    // Mixing one's own ids with A's.
    let b_group = c
        .groups
        .create_group(authed(
            pb::CreateGroupRequest { display_name: "Globex".into(), external_id: String::new() },
            &b.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap()
        .id;
    let add = pb::AddGroupMemberRequest { group_id: b_group.clone(), user_id: a.ids.user.clone() };
    expect_code(c.groups.add_group_member(authed(add, &b.admin)).await, Code::NotFound, "A's user into B's group");
    let remove = pb::RemoveGroupMemberRequest { group_id: b_group.clone(), user_id: a.ids.user.clone() };
    expect_code(
        c.groups.remove_group_member(authed(remove, &b.admin)).await,
        Code::NotFound,
        "A's user from B's group",
    );
    let b_self = b.token(&server, b.admin_id, &[]);
    let revoke = pb::RevokeSessionRequest { user_id: b.admin_id.to_string(), session_id: a.ids.session.clone() };
    expect_code(c.sessions.revoke_session(authed(revoke, &b_self)).await, Code::NotFound, "A's session as one's own");
    let revoke = pb::RevokeSessionRequest { user_id: b.admin_id.to_string(), session_id: a.ids.session.clone() };
    expect_code(c.sessions.revoke_session(authed(revoke, &b.admin)).await, Code::NotFound, "A's session by B's admin");

    // B's lists hold nothing of A.
    let users = c.users.list_users(authed(pb::ListUsersRequest::default(), &b.admin)).await.unwrap().into_inner().users;
    assert!(users.iter().all(|u| u.id != a.ids.user));
    let names: Vec<_> = users.iter().map(|u| u.profile.clone().unwrap().user_name).collect();
    assert!(names.iter().all(|n| n.ends_with("@globex.example") || n.ends_with("@elsewhere.example")), "{names:?}");
    let groups =
        c.groups.list_groups(authed(pb::ListGroupsRequest::default(), &b.admin)).await.unwrap().into_inner().groups;
    let group_names: Vec<_> = groups.into_iter().map(|g| g.display_name).collect();
    assert_eq!(group_names, ["Intruders", "Globex"]);
    let tokens =
        c.scim_tokens.list_scim_tokens(authed(pb::ListScimTokensRequest {}, &b.admin)).await.unwrap().into_inner();
    assert_eq!(tokens.scim_tokens.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Intruder"]);

    assert_eq!(snapshot(&mut c, &a).await, before, "A is unchanged");
    let a_log = audited(&server, a.t.org, "*").await;
    let b_actor = b.admin_id.to_string();
    assert!(a_log.iter().all(|e| e.actor_id.as_deref() != Some(b_actor.as_str())), "nothing of B's in A's log");
    server.shutdown().await;
}

#[tokio::test]
async fn credentials_of_organization_a_do_not_work_when_naming_organization_b() {
    let server = TestServer::start().await;
    let mut c = Clients::new(&server);
    let a = tenant_a(&server, &mut c).await;
    tenant(&server, "globex").await;

    // An invitation of A.
    let invited = c
        .users
        .invite_user(authed(
            pb::InviteUserRequest {
                user_name: "bob@acme.example".into(),
                email: "bob@acme.example".into(),
                ..Default::default()
            },
            &a.t.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let accept = |org: pb::OrganizationRef| pb::AcceptInviteRequest {
        organization: Some(org),
        invite_token: invited.invite_token.clone(),
        password: PASSWORD.into(),
    };
    let elsewhere = c.users.accept_invite(accept(by_slug("globex"))).await;
    assert_eq!(reason(&expect_code(elsewhere, Code::FailedPrecondition, "A's invitation at B")), "INVITE_UNKNOWN");

    // A's password at B.
    let password = c
        .sessions
        .sign_in_with_password(pb::SignInWithPasswordRequest {
            organization: Some(by_slug("globex")),
            user_name: "alice@acme.example".into(),
            password: PASSWORD.into(),
        })
        .await;
    expect_code(password, Code::Unauthenticated, "A's credentials at B");

    // A's MFA step at B.
    let Outcome::MfaRequired(step) = sign_in(&mut c, &a.t, "alice").await else { panic!("a code is due") };
    server.clock().advance(chrono::Duration::seconds(30));
    let complete = |org: pb::OrganizationRef| pb::CompleteMfaSignInRequest {
        organization: Some(org),
        mfa_token: step.mfa_token.clone(),
        factor: Some(Factor::TotpCode(totp_code(&server, &a.secret))),
    };
    expect_code(
        c.sessions.complete_mfa_sign_in(complete(by_slug("globex"))).await,
        Code::Unauthenticated,
        "A's step at B",
    );

    // An MFA enrolment step of A at B (A now requires MFA; bob has none).
    c.users.accept_invite(accept(by_slug("acme"))).await.unwrap();
    c.orgs
        .update_organization_settings(authed(
            pb::UpdateOrganizationSettingsRequest {
                organization_id: a.t.org.to_string(),
                settings: Some(pb::OrganizationSettings { mfa_required: true }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["mfa_required".into()] }),
            },
            &a.t.admin,
        ))
        .await
        .unwrap();
    let Outcome::MfaEnrolmentRequired(enrol) = sign_in(&mut c, &a.t, "bob").await else { panic!("enrolment is due") };
    let begin = |org: pb::OrganizationRef| pb::BeginMfaEnrolmentSignInRequest {
        organization: Some(org),
        mfa_token: enrol.mfa_token.clone(),
    };
    expect_code(
        c.sessions.begin_mfa_enrolment_sign_in(begin(by_slug("globex"))).await,
        Code::Unauthenticated,
        "A's enrolment step at B",
    );
    let finish = pb::CompleteMfaEnrolmentSignInRequest {
        organization: Some(by_slug("globex")),
        mfa_token: enrol.mfa_token.clone(),
        totp_code: "123456".into(),
    };
    expect_code(c.sessions.complete_mfa_enrolment_sign_in(finish).await, Code::Unauthenticated, "A's enrolment at B");

    // None of it was used up in A.
    let done = c.sessions.complete_mfa_sign_in(complete(by_slug("acme"))).await.unwrap();
    assert_eq!(done.into_inner().signed_in.unwrap().session.unwrap().user_id, a.ids.user);
    c.sessions.begin_mfa_enrolment_sign_in(begin(by_id(a.t.org))).await.unwrap();
    let own = c
        .sessions
        .list_sessions(authed(
            pb::ListSessionsRequest { user_id: a.ids.user.clone(), ..Default::default() },
            &a.session_token,
        ))
        .await;
    assert!(own.is_ok(), "A's session token still works in A");
    server.shutdown().await;
}
