//! `listone.identity.v1.SessionService` over a real socket: password sign-in, the MFA step
//! (TOTP and recovery codes, enrolment when the org requires it), sessions listed and revoked by
//! their user (with the session token itself) and by admins, throttling and validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_proto::identity::v1 as pb;
use listone_proto::identity::v1::complete_mfa_sign_in_request::Factor;
use listone_proto::identity::v1::sign_in_with_password_response::Result as Outcome;
use listone_testkit::{TestServer, authed};
use tonic::Code;

/// Enrols `user` in TOTP as themself (with their session token); returns the secret and the
/// recovery codes.
async fn enrol(server: &TestServer, c: &mut Clients, user: &str, token: &str) -> (String, Vec<String>) {
    let enrolment = c
        .mfa
        .begin_totp_enrolment(authed(pb::BeginTotpEnrolmentRequest { user_id: user.to_owned() }, token))
        .await
        .unwrap()
        .into_inner()
        .enrolment
        .unwrap();
    let code = totp_code(server, &enrolment.secret_base32);
    let codes = c
        .mfa
        .confirm_totp_enrolment(authed(
            pb::ConfirmTotpEnrolmentRequest { user_id: user.to_owned(), totp_code: code },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .recovery_codes;
    (enrolment.secret_base32, codes)
}

#[tokio::test]
async fn a_password_opens_a_session_whose_token_lists_and_revokes_its_own_sessions() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let alice = active_user_with_password(&mut c, &t, "alice").await;
    let first = signed_in(&mut c, &t, "alice").await;
    let first_session = first.session.clone().unwrap();
    assert_eq!(first_session.user_id, alice);
    assert_eq!(first_session.state(), pb::SessionState::Active);
    assert_eq!(first_session.source_ip, "127.0.0.1");
    assert!(first_session.expires_at.is_some() && first_session.revoked_at.is_none());
    server.clock().advance(chrono::Duration::seconds(1));
    let second = signed_in(&mut c, &t, "alice").await;
    server.clock().advance(chrono::Duration::seconds(1));
    let third = signed_in(&mut c, &t, "alice").await;

    // The session token is a bearer credential: the user lists their own sessions, newest first.
    let token = &third.session_token;
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .sessions
            .list_sessions(authed(
                pb::ListSessionsRequest { user_id: alice.clone(), page_size: 2, page_token: page_token.clone() },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.sessions.into_iter().map(|s| s.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let expected: Vec<String> =
        [&third, &second, &first].iter().map(|s| s.session.as_ref().unwrap().id.clone()).collect();
    assert_eq!(ids, expected);

    c.sessions
        .revoke_session(authed(
            pb::RevokeSessionRequest { user_id: alice.clone(), session_id: expected[2].clone() },
            token,
        ))
        .await
        .unwrap();
    let stale = c
        .sessions
        .list_sessions(authed(
            pb::ListSessionsRequest { user_id: alice.clone(), ..Default::default() },
            &first.session_token,
        ))
        .await;
    expect_code(stale, Code::Unauthenticated, "a revoked session's token");
    // Someone else's session is not the user's to name, even in the same organization.
    let admin_session = {
        let admin = active_user_with_password(&mut c, &t, "boss").await;
        let signed = signed_in(&mut c, &t, "boss").await;
        (admin, signed.session.unwrap().id)
    };
    let foreign = c
        .sessions
        .revoke_session(authed(
            pb::RevokeSessionRequest { user_id: alice.clone(), session_id: admin_session.1.clone() },
            token,
        ))
        .await;
    expect_code(foreign, Code::NotFound, "another user's session under one's own user id");
    let other_user = c
        .sessions
        .list_sessions(authed(
            pb::ListSessionsRequest { user_id: admin_session.0.clone(), ..Default::default() },
            token,
        ))
        .await;
    expect_code(other_user, Code::PermissionDenied, "another user's sessions without identity.admin");

    // An admin revokes any user's session.
    c.sessions
        .revoke_session(authed(
            pb::RevokeSessionRequest { user_id: alice.clone(), session_id: expected[1].clone() },
            &t.admin,
        ))
        .await
        .unwrap();
    let listed = c
        .sessions
        .list_sessions(authed(pb::ListSessionsRequest { user_id: alice.clone(), ..Default::default() }, &t.admin))
        .await
        .unwrap()
        .into_inner()
        .sessions;
    let states: Vec<_> = listed.iter().map(|s| s.state()).collect();
    assert_eq!(states, [pb::SessionState::Active, pb::SessionState::Revoked, pb::SessionState::Revoked]);
    assert!(listed[1].revoked_at.is_some() && listed[1].expires_at.is_none());

    let revocations = audited(&server, t.org, "identity.session.revoke").await;
    let actors: Vec<_> = revocations.iter().map(|e| e.actor_id.clone().unwrap()).collect();
    assert_eq!(actors, [alice.clone(), t.admin_id.to_string()]);
    server.shutdown().await;
}

#[tokio::test]
async fn sign_in_refuses_with_one_answer_and_throttles_guessing() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    active_user_with_password(&mut c, &t, "alice").await;
    let attempt = |org: pb::OrganizationRef, name: &str, password: &str| pb::SignInWithPasswordRequest {
        organization: Some(org),
        user_name: name.to_owned(),
        password: password.to_owned(),
    };
    let mut messages = Vec::new();
    for request in [
        attempt(by_slug("acme"), "alice@acme.example", "wrong password"),
        attempt(by_slug("acme"), "nobody@acme.example", PASSWORD),
        attempt(by_slug("elsewhere"), "alice@acme.example", PASSWORD),
        attempt(by_id(listone_core::OrgId::new()), "alice@acme.example", PASSWORD),
    ] {
        let status =
            expect_code(c.sessions.sign_in_with_password(request).await, Code::Unauthenticated, "a bad sign-in");
        messages.push(status.message().to_owned());
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "one answer for every failure: {messages:?}");
    assert!(!messages[0].contains("alice"));

    // The account's free attempts run out; then it backs off on the clock.
    for _ in 0..4 {
        let r = c.sessions.sign_in_with_password(attempt(by_slug("acme"), "alice@acme.example", "nope")).await;
        expect_code(r, Code::Unauthenticated, "a wrong password");
    }
    let throttled = c.sessions.sign_in_with_password(attempt(by_slug("acme"), "alice@acme.example", PASSWORD)).await;
    assert_eq!(reason(&expect_code(throttled, Code::ResourceExhausted, "backoff")), "SIGNIN_BACKOFF");
    server.clock().advance(chrono::Duration::minutes(10));
    signed_in(&mut c, &t, "alice").await;

    let failed = audited(&server, t.org, "identity.signin").await;
    use listone_audit::Outcome::{Allowed, Denied, Failed};
    let outcomes: Vec<_> = failed.iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, [Failed, Failed, Failed, Failed, Failed, Failed, Denied, Allowed], "unknown orgs have no log");
    server.shutdown().await;
}

#[tokio::test]
async fn a_user_with_an_authenticator_finishes_with_a_code_or_a_recovery_code() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let alice = active_user_with_password(&mut c, &t, "alice").await;
    let token = signed_in(&mut c, &t, "alice").await.session_token;
    let (secret, recovery) = enrol(&server, &mut c, &alice, &token).await;
    assert_eq!(recovery.len(), 10);

    let Outcome::MfaRequired(step) = sign_in(&mut c, &t, "alice").await else { panic!("a code is due") };
    assert_eq!(step.expires_at.unwrap().seconds, server.clock().now().timestamp() + 300);
    let wrong = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: step.mfa_token.clone(),
            factor: Some(Factor::TotpCode("000000".into())),
        })
        .await;
    // The code just used to confirm is a replay, so move to the next step first.
    expect_code(wrong, Code::Unauthenticated, "a wrong code");
    server.clock().advance(chrono::Duration::seconds(30));
    let other_org = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: Some(by_slug("nowhere")),
            mfa_token: step.mfa_token.clone(),
            factor: Some(Factor::TotpCode(totp_code(&server, &secret))),
        })
        .await;
    expect_code(other_org, Code::Unauthenticated, "the step named under an unknown organization");
    let done = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: step.mfa_token.clone(),
            factor: Some(Factor::TotpCode(totp_code(&server, &secret))),
        })
        .await
        .unwrap()
        .into_inner()
        .signed_in
        .unwrap();
    assert_eq!(done.session.unwrap().user_id, alice);
    let reused = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: step.mfa_token,
            factor: Some(Factor::RecoveryCode(recovery[0].clone())),
        })
        .await;
    expect_code(reused, Code::Unauthenticated, "a spent step");

    let Outcome::MfaRequired(step) = sign_in(&mut c, &t, "alice").await else { panic!("a code is due") };
    let by_recovery = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: Some(by_id(t.org)),
            mfa_token: step.mfa_token,
            factor: Some(Factor::RecoveryCode(recovery[0].to_uppercase())),
        })
        .await
        .unwrap();
    assert!(by_recovery.into_inner().signed_in.unwrap().session_token.len() > 20);
    let status = c
        .mfa
        .get_mfa_status(authed(pb::GetMfaStatusRequest { user_id: alice.clone() }, &token))
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!((status.enrolled, status.recovery_codes_remaining), (true, 9), "the recovery code is used up");

    let steps: Vec<_> = audited(&server, t.org, "identity.signin.mfa").await.into_iter().map(|e| e.outcome).collect();
    use listone_audit::Outcome::{Allowed, Failed};
    assert_eq!(steps, [Failed, Allowed, Failed, Allowed]);
    server.shutdown().await;
}

#[tokio::test]
async fn when_the_organization_requires_mfa_a_user_without_it_enrols_while_signing_in() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let bob = active_user_with_password(&mut c, &t, "bob").await;
    c.orgs
        .update_organization_settings(authed(
            pb::UpdateOrganizationSettingsRequest {
                organization_id: t.org.to_string(),
                settings: Some(pb::OrganizationSettings { mfa_required: true }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["mfa_required".into()] }),
            },
            &t.admin,
        ))
        .await
        .unwrap();
    let Outcome::MfaEnrolmentRequired(step) = sign_in(&mut c, &t, "bob").await else { panic!("enrolment is due") };
    let enrolment = c
        .sessions
        .begin_mfa_enrolment_sign_in(pb::BeginMfaEnrolmentSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: step.mfa_token.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .enrolment
        .unwrap();
    assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/"));
    let wrong = c
        .sessions
        .complete_mfa_enrolment_sign_in(pb::CompleteMfaEnrolmentSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: step.mfa_token.clone(),
            totp_code: "12345".into(),
        })
        .await;
    expect_code(wrong, Code::InvalidArgument, "a malformed code");
    let done = c
        .sessions
        .complete_mfa_enrolment_sign_in(pb::CompleteMfaEnrolmentSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: step.mfa_token,
            totp_code: totp_code(&server, &enrolment.secret_base32),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.recovery_codes.len(), 10);
    assert_eq!(done.signed_in.unwrap().session.unwrap().user_id, bob);
    server.clock().advance(chrono::Duration::seconds(30));
    assert!(matches!(sign_in(&mut c, &t, "bob").await, Outcome::MfaRequired(_)), "now a code is due");
    server.shutdown().await;
}

#[tokio::test]
async fn every_session_rpc_validates_and_names_each_bad_field() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let bad = c
        .sessions
        .sign_in_with_password(pb::SignInWithPasswordRequest {
            organization: Some(pb::OrganizationRef {
                organization: Some(pb::organization_ref::Organization::OrganizationId("acme".into())),
            }),
            user_name: String::new(),
            password: "x".repeat(2000),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["organization.organization_id", "user_name", "password"]);
    let bad = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: None,
            mfa_token: String::new(),
            factor: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["organization", "mfa_token", "factor"]);
    let bad = c
        .sessions
        .complete_mfa_sign_in(pb::CompleteMfaSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: "t".into(),
            factor: Some(Factor::RecoveryCode(String::new())),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["recovery_code"]);
    let bad = c
        .sessions
        .begin_mfa_enrolment_sign_in(pb::BeginMfaEnrolmentSignInRequest {
            organization: Some(by_slug("")),
            mfa_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["organization.organization_slug", "mfa_token"]);
    let bad = c
        .sessions
        .complete_mfa_enrolment_sign_in(pb::CompleteMfaEnrolmentSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: "t".repeat(300),
            totp_code: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["mfa_token", "totp_code"]);
    let bad = c
        .sessions
        .list_sessions(authed(
            pb::ListSessionsRequest { user_id: "u".into(), page_size: 1001, page_token: "not-a-token".into() },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["user_id", "page_size", "page_token"]);
    let bad = c
        .sessions
        .list_sessions(authed(
            pb::ListSessionsRequest {
                user_id: t.admin_id.to_string(),
                page_size: 0,
                page_token: listone_core::SessionId::new().to_string(),
            },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["page_token"], "a session of no page of this list");
    let bad = c.sessions.revoke_session(authed(pb::RevokeSessionRequest::default(), &t.admin)).await.unwrap_err();
    assert_eq!(violations(&bad), ["user_id", "session_id"]);
    // Unknown steps are refused like spent ones.
    let unknown = c
        .sessions
        .begin_mfa_enrolment_sign_in(pb::BeginMfaEnrolmentSignInRequest {
            organization: Some(by_slug("acme")),
            mfa_token: "no-such-step".into(),
        })
        .await;
    expect_code(unknown, Code::Unauthenticated, "an unknown step");
    server.shutdown().await;
}
