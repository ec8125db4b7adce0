//! The whole journey with real credentials only, as an organization meets it: registered with
//! its first administrator, who accepts the invitation, signs in, enrols MFA, invites a colleague
//! and grants roles — every call after sign-in authenticated by the session token itself (no
//! test token), until the administrator signs out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_audit::{ActorKind, AuditActor};
use listone_core::{App, Secret};
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_identity::user::NewUser;
use listone_proto::identity::v1 as pb;
use listone_testkit::{TestServer, authed};
use pb::sign_in_with_password_response::Result as SignIn;
use tonic::Code;

#[tokio::test]
async fn first_admin_signs_in_with_mfa_and_runs_the_directory_with_the_session_token() {
    let server = TestServer::start().await;
    let mut c = Clients::new(&server);
    let registration = OrgRegistration {
        name: "Acme".into(),
        slug: "acme".into(),
        country: "DE".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: 3,
            starts_at: server.clock().now(),
            ends_at: None,
        }],
    };
    let admin = NewUser {
        user_name: Secret::new("root@acme.example".into()),
        email: Secret::new("root@acme.example".into()),
        given_name: None,
        family_name: None,
        external_id: None,
    };
    let operator = AuditActor { kind: ActorKind::System, id: Some("cli:ops".into()) };
    let registered = server
        .ctx()
        .identity
        .register_org(&registration, &admin, chrono::Duration::days(7), operator, Default::default())
        .await
        .unwrap();
    assert_eq!(registered.admin_apps, vec![App::Crm]);

    // The invitation sets the password; a weak one is refused first.
    let accept = |password: &str| pb::AcceptInviteRequest {
        organization: Some(by_slug("acme")),
        invite_token: registered.invite.token.expose().clone(),
        password: password.into(),
    };
    expect_code(c.users.accept_invite(accept("password123")).await, Code::InvalidArgument, "weak password");
    c.users.accept_invite(accept(PASSWORD)).await.unwrap();

    let password_sign_in = |c: &mut Clients| {
        let mut sessions = c.sessions.clone();
        async move {
            sessions
                .sign_in_with_password(pb::SignInWithPasswordRequest {
                    organization: Some(by_slug("acme")),
                    user_name: "root@acme.example".into(),
                    password: PASSWORD.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .result
                .unwrap()
        }
    };
    let SignIn::SignedIn(first) = password_sign_in(&mut c).await else { panic!("no MFA yet") };
    let token = first.session_token;
    let me = registered.admin.id.to_string();

    // Enrol TOTP with the session token (self-service), then sign in again: the code is due.
    let enrolment = c
        .mfa
        .begin_totp_enrolment(authed(pb::BeginTotpEnrolmentRequest { user_id: me.clone() }, &token))
        .await
        .unwrap()
        .into_inner()
        .enrolment
        .unwrap();
    let codes = c
        .mfa
        .confirm_totp_enrolment(authed(
            pb::ConfirmTotpEnrolmentRequest {
                user_id: me.clone(),
                totp_code: totp_code(&server, &enrolment.secret_base32),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(codes.recovery_codes.len(), 10);
    server.clock().advance(chrono::Duration::seconds(30));
    let SignIn::MfaRequired(step) = password_sign_in(&mut c).await else { panic!("MFA is due") };
    let signed = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: step.mfa_token,
            factor: Some(pb::complete_mfa_sign_in_request::Factor::TotpCode(totp_code(
                &server,
                &enrolment.secret_base32,
            ))),
        })
        .await
        .unwrap()
        .into_inner()
        .signed_in
        .unwrap();
    let token = signed.session_token;

    // The administrator runs the directory with the session: invite, assign, grant, list.
    let invited = c
        .users
        .invite_user(authed(
            pb::InviteUserRequest {
                user_name: "ann@acme.example".into(),
                email: "ann@acme.example".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let ann = invited.user.unwrap().id;
    c.users
        .assign_app(authed(pb::AssignAppRequest { user_id: ann.clone(), app: pb::App::Crm.into() }, &token))
        .await
        .unwrap();
    c.users
        .set_user_roles(authed(
            pb::SetUserRolesRequest { user_id: ann.clone(), app: pb::App::Crm.into(), roles: vec!["sales".into()] },
            &token,
        ))
        .await
        .unwrap();
    let users = c.users.list_users(authed(pb::ListUsersRequest::default(), &token)).await.unwrap().into_inner();
    assert_eq!(users.users.len(), 2);
    assert_eq!(
        server
            .ctx()
            .identity
            .roles
            .effective_roles(registered.org.id, ann.parse().unwrap(), App::Crm)
            .await
            .unwrap()
            .len(),
        0,
        "an invited user holds no effective roles until active"
    );

    // Signing out (revoking the session) cuts the token off at once.
    c.sessions
        .revoke_session(authed(
            pb::RevokeSessionRequest { user_id: me.clone(), session_id: signed.session.unwrap().id },
            &token,
        ))
        .await
        .unwrap();
    expect_code(
        c.users.list_users(authed(pb::ListUsersRequest::default(), &token)).await,
        Code::Unauthenticated,
        "revoked session",
    );
    server.shutdown().await;
}
