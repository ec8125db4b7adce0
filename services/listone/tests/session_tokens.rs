//! Identity session tokens as bearer credentials on the real server: an admin's session reaches
//! the audit API with the scopes its identity roles carry; a user without roles is refused;
//! revocation, deactivation and suspension cut access at the next call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use listone_audit::{ActorKind, AuditActor};
use listone_core::{App, Clock, OrgId, Secret, UserId};
use listone_identity::authn::SignInOutcome;
use listone_identity::org::{OrgRegistration, OrgStatus, SubscriptionRequest};
use listone_identity::user::NewUser;
use listone_proto::audit::v1 as pb;
use listone_proto::audit::v1::audit_service_client::AuditServiceClient;
use listone_testkit::{TestServer, authed};
use tonic::Code;

const PASSWORD: &str = "correct horse battery staple 1987";

fn operator() -> AuditActor {
    AuditActor { kind: ActorKind::System, id: Some("test".into()) }
}

async fn org(server: &TestServer, slug: &str) -> OrgId {
    let registration = OrgRegistration {
        name: "Acme".into(),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: Secret::new("Dana".into()),
        dpo_email: Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest {
            app: App::Crm,
            seats: 5,
            starts_at: server.clock().now(),
            ends_at: None,
        }],
    };
    server.ctx().identity.orgs.register(&registration, operator(), Default::default()).await.unwrap().id
}

/// An active user with a password; `roles` in List One Identity.
async fn user(server: &TestServer, org: OrgId, name: &str, roles: &[&str]) -> UserId {
    let identity = &server.ctx().identity;
    let new = NewUser {
        user_name: Secret::new(format!("{name}@acme.example")),
        email: Secret::new(format!("{name}@acme.example")),
        given_name: None,
        family_name: None,
        external_id: None,
    };
    let (user, invite) =
        identity.users.invite(org, &new, chrono::Duration::days(1), operator(), Default::default()).await.unwrap();
    identity.users.accept_invite(org, &invite.token, &Secret::new(PASSWORD.into()), Default::default()).await.unwrap();
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    identity.roles.set_user_roles(org, user.id, App::Identity, &roles, operator(), Default::default()).await.unwrap();
    user.id
}

async fn sign_in(server: &TestServer, org: OrgId, name: &str) -> (listone_core::SessionId, String) {
    let outcome = server
        .ctx()
        .identity
        .signin
        .sign_in(org, &Secret::new(format!("{name}@acme.example")), &Secret::new(PASSWORD.into()), Default::default())
        .await
        .unwrap();
    let SignInOutcome::SignedIn(signed) = outcome else { panic!("no MFA in this test") };
    (signed.session.id, signed.token.expose().clone())
}

async fn list(server: &TestServer, token: &str) -> Result<pb::ListEntriesResponse, tonic::Status> {
    let mut audit = AuditServiceClient::new(server.channel());
    audit.list_entries(authed(pb::ListEntriesRequest::default(), token)).await.map(tonic::Response::into_inner)
}

#[tokio::test]
async fn session_tokens_authenticate_with_the_scopes_of_identity_roles_until_access_is_cut() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme").await;
    let admin = user(&server, acme, "root", &["admin"]).await;
    user(&server, acme, "ann", &[]).await;
    let (session, token) = sign_in(&server, acme, "root").await;
    let (_, plain) = sign_in(&server, acme, "ann").await;

    list(&server, &token).await.expect("an admin reads the audit log");
    assert_eq!(list(&server, &plain).await.unwrap_err().code(), Code::PermissionDenied, "no roles, no scopes");
    assert_eq!(list(&server, "not-a-session").await.unwrap_err().code(), Code::Unauthenticated);

    // Revoking the session ends access at once.
    server.ctx().identity.sessions.revoke(acme, session, operator(), Default::default()).await.unwrap();
    assert_eq!(list(&server, &token).await.unwrap_err().code(), Code::Unauthenticated);

    // So do deactivation and suspension.
    let (_, token) = sign_in(&server, acme, "root").await;
    list(&server, &token).await.unwrap();
    server.ctx().identity.orgs.set_status(acme, OrgStatus::Suspended, operator(), Default::default()).await.unwrap();
    assert_eq!(list(&server, &token).await.unwrap_err().code(), Code::Unauthenticated);
    server.ctx().identity.orgs.set_status(acme, OrgStatus::Active, operator(), Default::default()).await.unwrap();
    list(&server, &token).await.unwrap();
    server.ctx().identity.users.deactivate(acme, admin, operator(), Default::default()).await.unwrap();
    assert_eq!(list(&server, &token).await.unwrap_err().code(), Code::Unauthenticated);

    // Idle timeout on the clock.
    let other = user(&server, acme, "bob", &["admin"]).await;
    let (_, token) = sign_in(&server, acme, "bob").await;
    list(&server, &token).await.unwrap();
    server.clock().advance(chrono::Duration::minutes(31));
    assert_eq!(list(&server, &token).await.unwrap_err().code(), Code::Unauthenticated);
    let _ = other;
    server.shutdown().await;
}
