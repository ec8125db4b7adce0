//! `listone.identity.v1.MfaService` over a real socket: a person enrols, confirms, regenerates
//! recovery codes and disables MFA as themself; an admin reads the state and resets it but never
//! sees a secret; validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_core::UserId;
use listone_identity::scopes;
use listone_proto::identity::v1 as pb;
use listone_testkit::{TestServer, authed};
use tonic::Code;

#[tokio::test]
async fn a_person_enrols_confirms_and_regenerates_codes_as_themself() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let alice = provision(&mut c, &t, "alice").await.id;
    let me = t.token(&server, UserId::parse(&alice).unwrap(), &[]);
    let status = |s: pb::GetMfaStatusResponse| s.status.unwrap();

    let before = status(
        c.mfa
            .get_mfa_status(authed(pb::GetMfaStatusRequest { user_id: alice.clone() }, &me))
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(before, pb::MfaStatus::default(), "nothing enrolled");
    let enrolment = c
        .mfa
        .begin_totp_enrolment(authed(pb::BeginTotpEnrolmentRequest { user_id: alice.clone() }, &me))
        .await
        .unwrap()
        .into_inner()
        .enrolment
        .unwrap();
    assert!(enrolment.otpauth_uri.contains(&enrolment.secret_base32));
    let pending = status(
        c.mfa
            .get_mfa_status(authed(pb::GetMfaStatusRequest { user_id: alice.clone() }, &t.reader))
            .await
            .unwrap()
            .into_inner(),
    );
    assert!(pending.pending && !pending.enrolled);

    let wrong = c
        .mfa
        .confirm_totp_enrolment(authed(
            pb::ConfirmTotpEnrolmentRequest { user_id: alice.clone(), totp_code: "abcdef".into() },
            &me,
        ))
        .await;
    expect_code(wrong, Code::InvalidArgument, "a malformed code");
    let codes = c
        .mfa
        .confirm_totp_enrolment(authed(
            pb::ConfirmTotpEnrolmentRequest {
                user_id: alice.clone(),
                totp_code: totp_code(&server, &enrolment.secret_base32),
            },
            &me,
        ))
        .await
        .unwrap()
        .into_inner()
        .recovery_codes;
    assert_eq!(codes.len(), 10);
    let enrolled = status(
        c.mfa
            .get_mfa_status(authed(pb::GetMfaStatusRequest { user_id: alice.clone() }, &me))
            .await
            .unwrap()
            .into_inner(),
    );
    assert!(enrolled.enrolled && !enrolled.pending && enrolled.confirmed_at.is_some());
    assert_eq!(enrolled.recovery_codes_remaining, 10);

    let twice = c.mfa.begin_totp_enrolment(authed(pb::BeginTotpEnrolmentRequest { user_id: alice.clone() }, &me)).await;
    assert_eq!(reason(&expect_code(twice, Code::FailedPrecondition, "already enrolled")), "MFA_ALREADY_ENROLLED");
    let fresh = c
        .mfa
        .regenerate_recovery_codes(authed(pb::RegenerateRecoveryCodesRequest { user_id: alice.clone() }, &me))
        .await
        .unwrap()
        .into_inner()
        .recovery_codes;
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|code| !codes.contains(code)));

    // An admin resets a lost device; the person then has nothing to regenerate.
    c.mfa.disable_mfa(authed(pb::DisableMfaRequest { user_id: alice.clone() }, &t.admin)).await.unwrap();
    c.mfa.disable_mfa(authed(pb::DisableMfaRequest { user_id: alice.clone() }, &me)).await.unwrap();
    let none = c
        .mfa
        .regenerate_recovery_codes(authed(pb::RegenerateRecoveryCodesRequest { user_id: alice.clone() }, &me))
        .await;
    assert_eq!(reason(&expect_code(none, Code::FailedPrecondition, "nothing enrolled")), "MFA_NOT_ENROLLED");

    use listone_audit::Outcome::{Allowed, Failed};
    let entries: Vec<_> =
        audited(&server, t.org, "identity.mfa.*").await.into_iter().map(|e| (e.action, e.outcome)).collect();
    let expected = [
        ("identity.mfa.enrol.begin", Allowed),
        ("identity.mfa.enrol.confirm", Failed),
        ("identity.mfa.enrol.confirm", Allowed),
        ("identity.mfa.recovery.regenerate", Allowed),
        ("identity.mfa.disable", Allowed),
    ];
    assert_eq!(
        entries,
        expected.map(|(a, o)| (a.to_owned(), o)),
        "the refused code is audited; disabling twice changes nothing the second time"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn secrets_and_recovery_codes_are_only_ever_issued_to_the_user_themself() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let alice = provision(&mut c, &t, "alice").await.id;
    let superuser = t.token(&server, t.admin_id, scopes::ALL);
    for status in [
        c.mfa
            .begin_totp_enrolment(authed(pb::BeginTotpEnrolmentRequest { user_id: alice.clone() }, &superuser))
            .await
            .unwrap_err(),
        c.mfa
            .confirm_totp_enrolment(authed(
                pb::ConfirmTotpEnrolmentRequest { user_id: alice.clone(), totp_code: "123456".into() },
                &superuser,
            ))
            .await
            .unwrap_err(),
        c.mfa
            .regenerate_recovery_codes(authed(
                pb::RegenerateRecoveryCodesRequest { user_id: alice.clone() },
                &superuser,
            ))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert_eq!(reason(&status), "SELF_ONLY");
    }
    assert_eq!(
        count(&server, "SELECT COUNT(*) AS n FROM user_mfa WHERE org_id = $1", vec![t.org.as_uuid().into()]).await,
        0,
        "nothing enrolled"
    );
    let denied = audited(&server, t.org, "identity.access.denied").await;
    assert_eq!(denied.len(), 3);
    assert!(denied.iter().all(|e| e.outcome == listone_audit::Outcome::Denied && e.details.contains("self_only")));
    server.shutdown().await;
}

#[tokio::test]
async fn every_mfa_rpc_validates_the_user_id_and_the_code() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let me = t.token(&server, t.admin_id, &[]);
    let bad = c.mfa.get_mfa_status(authed(pb::GetMfaStatusRequest { user_id: "me".into() }, &me)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id"]);
    let bad = c.mfa.begin_totp_enrolment(authed(pb::BeginTotpEnrolmentRequest::default(), &me)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id"]);
    let bad = c
        .mfa
        .confirm_totp_enrolment(authed(
            pb::ConfirmTotpEnrolmentRequest { user_id: "x".into(), totp_code: String::new() },
            &me,
        ))
        .await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id", "totp_code"]);
    let bad = c.mfa.disable_mfa(authed(pb::DisableMfaRequest { user_id: "1".into() }, &me)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id"]);
    let bad = c.mfa.regenerate_recovery_codes(authed(pb::RegenerateRecoveryCodesRequest::default(), &me)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["user_id"]);
    let nothing_pending = c
        .mfa
        .confirm_totp_enrolment(authed(
            pb::ConfirmTotpEnrolmentRequest { user_id: t.admin_id.to_string(), totp_code: "123456".into() },
            &me,
        ))
        .await;
    assert_eq!(reason(&expect_code(nothing_pending, Code::FailedPrecondition, "no enrolment")), "MFA_NOT_PENDING");
    server.shutdown().await;
}
