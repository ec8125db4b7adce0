//! `listone.identity.v1.UserService` over a real socket: provisioning, invitations, lifecycle,
//! app assignment within seats, roles per app, validation, and who sees personal fields.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_core::UserId;
use listone_proto::identity::v1 as pb;
use listone_testkit::{TestServer, authed};
use tonic::Code;

#[tokio::test]
async fn an_admin_provisions_reads_lists_and_deletes_users_and_every_change_is_audited() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let alice = c
        .users
        .provision_user(authed(
            pb::ProvisionUserRequest {
                user_name: "Alice@Acme.example".into(),
                email: "alice@acme.example".into(),
                given_name: "Alice".into(),
                family_name: "Liddell".into(),
                external_id: "ad-1".into(),
            },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(alice.status(), pb::UserStatus::Active);
    assert_eq!((alice.external_id.as_str(), alice.has_password, alice.version), ("ad-1", false, 1));
    let profile = alice.profile.clone().unwrap();
    assert_eq!(profile.user_name, "alice@acme.example", "user names are stored lowercase");
    assert_eq!((profile.given_name.as_str(), profile.family_name.as_str()), ("Alice", "Liddell"));
    assert!(alice.created_at.is_some() && alice.updated_at.is_some());

    let got = c.users.get_user(authed(pb::GetUserRequest { user_id: alice.id.clone() }, &t.admin)).await.unwrap();
    assert_eq!(got.into_inner().user.unwrap(), alice);

    let taken = c
        .users
        .provision_user(authed(
            pb::ProvisionUserRequest {
                user_name: "ALICE@acme.example".into(),
                email: "alice2@acme.example".into(),
                ..Default::default()
            },
            &t.admin,
        ))
        .await;
    expect_code(taken, Code::AlreadyExists, "a user name in another case");

    // Pages in creation order: admin, reader (the fixture), then alice, bob, carol.
    for name in ["bob", "carol"] {
        provision(&mut c, &t, name).await;
    }
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .users
            .list_users(authed(pb::ListUsersRequest { page_size: 2, page_token: page_token.clone() }, &t.admin))
            .await
            .unwrap()
            .into_inner();
        assert!(page.users.len() <= 2);
        seen.extend(page.users.iter().map(|u| u.profile.as_ref().unwrap().user_name.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        seen,
        ["admin@acme.example", "reader@acme.example", "alice@acme.example", "bob@acme.example", "carol@acme.example"]
    );

    c.users.delete_user(authed(pb::DeleteUserRequest { user_id: alice.id.clone() }, &t.admin)).await.unwrap();
    let gone = c.users.get_user(authed(pb::GetUserRequest { user_id: alice.id.clone() }, &t.admin)).await;
    expect_code(gone, Code::NotFound, "a deleted user");

    let provisioned = audited(&server, t.org, "identity.user.provision").await;
    assert_eq!(provisioned.len(), 2 + 3, "fixture users and the three provisioned through the API");
    let by_api = &provisioned[2];
    assert_eq!(by_api.actor_id.as_deref(), Some(t.admin_id.to_string().as_str()), "the caller is the actor");
    assert_eq!(by_api.resource_id.as_deref(), Some(alice.id.as_str()));
    let deleted = audited(&server, t.org, "identity.user.delete").await;
    assert_eq!(deleted.len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn readers_see_users_without_their_profile_but_people_see_their_own() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let alice = provision(&mut c, &t, "alice").await;

    let as_reader = c.users.get_user(authed(pb::GetUserRequest { user_id: alice.id.clone() }, &t.reader)).await;
    let as_reader = as_reader.unwrap().into_inner().user.unwrap();
    assert_eq!(as_reader.id, alice.id);
    assert!(as_reader.profile.is_none(), "no names or email for identity.read");

    let listed = c.users.list_users(authed(pb::ListUsersRequest::default(), &t.reader)).await.unwrap().into_inner();
    assert_eq!(listed.users.len(), 3);
    let own: Vec<_> = listed.users.iter().filter(|u| u.profile.is_some()).map(|u| u.id.clone()).collect();
    assert_eq!(own, [t.reader_id.to_string()], "a reader sees only their own profile");

    // A person with no scope at all reads themself, profile included.
    let alice_id = UserId::parse(&alice.id).unwrap();
    let myself = t.token(&server, alice_id, &[]);
    let me = c.users.get_user(authed(pb::GetUserRequest { user_id: alice.id.clone() }, &myself)).await.unwrap();
    assert_eq!(me.into_inner().user.unwrap().profile.unwrap().email, "alice@acme.example");
    let roles = c
        .users
        .get_user_roles(authed(
            pb::GetUserRolesRequest { user_id: alice.id.clone(), app: pb::App::Crm as i32 },
            &myself,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(roles.roles.is_empty() && roles.effective_roles.is_empty(), "a new user holds no role");
    let other = c.users.get_user(authed(pb::GetUserRequest { user_id: t.admin_id.to_string() }, &myself)).await;
    expect_code(other, Code::PermissionDenied, "someone else without identity.read");
    server.shutdown().await;
}

#[tokio::test]
async fn an_invitation_is_accepted_once_and_refusals_write_nothing_but_their_audit() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let invited = c
        .users
        .invite_user(authed(
            pb::InviteUserRequest {
                user_name: "dora@acme.example".into(),
                email: "dora@acme.example".into(),
                ttl: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
                ..Default::default()
            },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let user = invited.user.unwrap();
    assert_eq!(user.status(), pb::UserStatus::Invited);
    assert!(!invited.invite_token.is_empty());
    let expires = invited.expires_at.unwrap();
    assert_eq!(expires.seconds, server.clock().now().timestamp() + 3600);

    let weak = c
        .users
        .accept_invite(pb::AcceptInviteRequest {
            organization: Some(by_slug("acme")),
            invite_token: invited.invite_token.clone(),
            password: "dora".into(),
        })
        .await;
    expect_code(weak, Code::InvalidArgument, "a password the policy refuses");

    let accepted = c
        .users
        .accept_invite(pb::AcceptInviteRequest {
            organization: Some(by_id(t.org)),
            invite_token: invited.invite_token.clone(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!((accepted.status(), accepted.has_password), (pb::UserStatus::Active, true));

    let again = c
        .users
        .accept_invite(pb::AcceptInviteRequest {
            organization: Some(by_slug("acme")),
            invite_token: invited.invite_token.clone(),
            password: PASSWORD.into(),
        })
        .await;
    assert_eq!(reason(&expect_code(again, Code::FailedPrecondition, "a used invitation")), "INVITE_USED");
    let unknown_org = c
        .users
        .accept_invite(pb::AcceptInviteRequest {
            organization: Some(by_slug("nowhere")),
            invite_token: invited.invite_token.clone(),
            password: PASSWORD.into(),
        })
        .await;
    assert_eq!(reason(&expect_code(unknown_org, Code::FailedPrecondition, "an unknown org")), "INVITE_UNKNOWN");

    // An invitation past its lifetime on the server's clock.
    let late = c
        .users
        .invite_user(authed(
            pb::InviteUserRequest {
                user_name: "eve@acme.example".into(),
                email: "eve@acme.example".into(),
                ttl: Some(prost_types::Duration { seconds: 60, nanos: 0 }),
                ..Default::default()
            },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    server.clock().advance(chrono::Duration::seconds(61));
    let expired = c
        .users
        .accept_invite(pb::AcceptInviteRequest {
            organization: Some(by_slug("acme")),
            invite_token: late.invite_token,
            password: PASSWORD.into(),
        })
        .await;
    assert_eq!(reason(&expect_code(expired, Code::FailedPrecondition, "an expired invitation")), "INVITE_EXPIRED");
    let eve = c.users.get_user(authed(pb::GetUserRequest { user_id: late.user.unwrap().id }, &t.admin)).await;
    assert_eq!(eve.unwrap().into_inner().user.unwrap().status(), pb::UserStatus::Invited, "nothing written");

    let accepts = audited(&server, t.org, "identity.user.invite.accept").await;
    let outcomes: Vec<_> = accepts.iter().map(|e| e.outcome).collect();
    use listone_audit::Outcome::{Allowed, Failed};
    assert_eq!(
        outcomes,
        [Allowed, Failed, Failed],
        "one success, the reuse and the expiry (the unknown org has no log)"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn deactivation_revokes_sessions_and_reactivation_lets_the_user_back_in() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let id = active_user_with_password(&mut c, &t, "frank").await;
    let session = signed_in(&mut c, &t, "frank").await;

    let deactivated = c
        .users
        .deactivate_user(authed(pb::DeactivateUserRequest { user_id: id.clone() }, &t.admin))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(deactivated.status(), pb::UserStatus::Deactivated);
    let listed = c
        .sessions
        .list_sessions(authed(pb::ListSessionsRequest { user_id: id.clone(), ..Default::default() }, &t.admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.sessions.len(), 1);
    assert_eq!(listed.sessions[0].id, session.session.unwrap().id);
    assert_eq!(listed.sessions[0].state(), pb::SessionState::Revoked);
    let refused = c
        .sessions
        .sign_in_with_password(pb::SignInWithPasswordRequest {
            organization: Some(by_slug("acme")),
            user_name: "frank@acme.example".into(),
            password: PASSWORD.into(),
        })
        .await;
    expect_code(refused, Code::Unauthenticated, "a deactivated user");

    let back = c
        .users
        .reactivate_user(authed(pb::ReactivateUserRequest { user_id: id.clone() }, &t.admin))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(back.status(), pb::UserStatus::Active);
    signed_in(&mut c, &t, "frank").await;
    server.shutdown().await;
}

#[tokio::test]
async fn apps_are_assigned_within_seats_and_roles_take_effect_only_for_assigned_users() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let users: Vec<String> = [
        provision(&mut c, &t, "a").await,
        provision(&mut c, &t, "b").await,
        provision(&mut c, &t, "c").await,
        provision(&mut c, &t, "d").await,
    ]
    .into_iter()
    .map(|u| u.id)
    .collect();
    let set = |user: &str, roles: &[&str]| pb::SetUserRolesRequest {
        user_id: user.to_owned(),
        app: pb::App::Crm as i32,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    let roles = c.users.set_user_roles(authed(set(&users[0], &["sales", "admin", "sales"]), &t.admin)).await.unwrap();
    assert_eq!(roles.into_inner().roles, ["admin", "sales"], "deduplicated and sorted");
    let get = pb::GetUserRolesRequest { user_id: users[0].clone(), app: pb::App::Crm as i32 };
    let before = c.users.get_user_roles(authed(get.clone(), &t.reader)).await.unwrap().into_inner();
    assert_eq!(before.roles, ["admin", "sales"]);
    assert!(before.effective_roles.is_empty(), "not assigned to CRM yet");

    let assign = |user: &str, app: pb::App| pb::AssignAppRequest { user_id: user.to_owned(), app: app as i32 };
    for user in &users[..3] {
        c.users.assign_app(authed(assign(user, pb::App::Crm), &t.admin)).await.unwrap();
    }
    c.users.assign_app(authed(assign(&users[0], pb::App::Crm), &t.admin)).await.unwrap();
    let full = c.users.assign_app(authed(assign(&users[3], pb::App::Crm), &t.admin)).await;
    assert_eq!(reason(&expect_code(full, Code::ResourceExhausted, "a fourth seat of three")), "SEATS");
    let unsubscribed = c.users.assign_app(authed(assign(&users[3], pb::App::Hrms), &t.admin)).await;
    assert_eq!(reason(&expect_code(unsubscribed, Code::FailedPrecondition, "no HRMS")), "NOT_SUBSCRIBED");

    let after = c.users.get_user_roles(authed(get, &t.reader)).await.unwrap().into_inner();
    assert_eq!(after.effective_roles, ["admin", "sales"]);

    let bad = c.users.set_user_roles(authed(set(&users[0], &["ok", "Not Ok"]), &t.admin)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["roles[1]"]);
    let kept = c
        .users
        .get_user_roles(authed(
            pb::GetUserRolesRequest { user_id: users[0].clone(), app: pb::App::Crm as i32 },
            &t.admin,
        ))
        .await
        .unwrap();
    assert_eq!(kept.into_inner().roles, ["admin", "sales"], "nothing written");
    assert_eq!(audited(&server, t.org, "identity.user.app.assign").await.len(), 3, "re-assigning is a no-op");
    server.shutdown().await;
}

#[tokio::test]
async fn every_user_rpc_validates_and_names_each_bad_field() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let bad = c
        .users
        .provision_user(authed(
            pb::ProvisionUserRequest {
                user_name: "has space".into(),
                email: "not-an-email".into(),
                given_name: "x".repeat(101),
                family_name: String::new(),
                external_id: "e".repeat(256),
            },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["user_name", "email", "given_name", "external_id"]);
    assert!(!bad.message().contains("not-an-email"), "values are never echoed");

    let bad = c
        .users
        .invite_user(authed(
            pb::InviteUserRequest {
                user_name: "gina@acme.example".into(),
                email: "gina@acme.example".into(),
                ttl: Some(prost_types::Duration { seconds: 31 * 86_400, nanos: 0 }),
                ..Default::default()
            },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["ttl"]);
    let bad = c
        .users
        .accept_invite(pb::AcceptInviteRequest {
            organization: None,
            invite_token: String::new(),
            password: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["organization", "invite_token", "password"]);
    let bad = c.users.get_user(authed(pb::GetUserRequest { user_id: "alice".into() }, &t.admin)).await.unwrap_err();
    assert_eq!(violations(&bad), ["user_id"]);
    let bad = c
        .users
        .list_users(authed(pb::ListUsersRequest { page_size: 1001, page_token: "groups.2".into() }, &t.admin))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["page_size", "page_token"]);
    for status in [
        c.users
            .deactivate_user(authed(pb::DeactivateUserRequest { user_id: String::new() }, &t.admin))
            .await
            .unwrap_err(),
        c.users.reactivate_user(authed(pb::ReactivateUserRequest { user_id: "x".into() }, &t.admin)).await.unwrap_err(),
        c.users.delete_user(authed(pb::DeleteUserRequest { user_id: "1".into() }, &t.admin)).await.unwrap_err(),
    ] {
        assert_eq!(violations(&status), ["user_id"]);
    }
    let bad = c.users.assign_app(authed(pb::AssignAppRequest { user_id: "x".into(), app: 0 }, &t.admin)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id", "app"]);
    let bad = c
        .users
        .set_user_roles(authed(pb::SetUserRolesRequest { user_id: String::new(), app: 42, roles: vec![] }, &t.admin))
        .await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id", "app"]);
    let bad = c
        .users
        .get_user_roles(authed(pb::GetUserRolesRequest { user_id: t.admin_id.to_string(), app: 0 }, &t.admin))
        .await;
    assert_eq!(violations(&bad.unwrap_err()), ["app"]);
    assert_eq!(
        count(&server, "SELECT COUNT(*) AS n FROM app_user WHERE org_id = $1", vec![t.org.as_uuid().into()]).await,
        2,
        "no invalid request wrote a user"
    );
    server.shutdown().await;
}
