//! `listone.identity.v1.OrganizationService` over a real socket: reading the organization (the
//! DPO contact only for admins), subscriptions, the MFA policy, suspension and validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_proto::identity::v1 as pb;
use listone_testkit::{TestServer, authed};
use tonic::Code;

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

#[tokio::test]
async fn the_organization_reads_back_with_the_dpo_contact_only_for_admins() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let get = || pb::GetOrganizationRequest { organization_id: t.org.to_string() };
    let as_admin = c.orgs.get_organization(authed(get(), &t.admin)).await.unwrap().into_inner().organization.unwrap();
    assert_eq!(
        (as_admin.id.as_str(), as_admin.slug.as_str(), as_admin.country.as_str()),
        (t.org.to_string().as_str(), "acme", "GB")
    );
    assert_eq!(as_admin.jurisdiction(), pb::Jurisdiction::UkGdpr);
    assert_eq!(as_admin.status(), pb::OrganizationStatus::Active);
    assert_eq!(as_admin.settings, Some(pb::OrganizationSettings { mfa_required: false }));
    let dpo = as_admin.dpo.clone().unwrap();
    assert_eq!((dpo.name.as_str(), dpo.email.as_str()), ("Dana Protector", "dpo@acme.example"));
    let as_reader = c.orgs.get_organization(authed(get(), &t.reader)).await.unwrap().into_inner().organization.unwrap();
    assert!(as_reader.dpo.is_none(), "personal data of the DPO needs identity.admin");
    assert_eq!(pb::Organization { dpo: None, ..as_admin }, as_reader);

    let subs = c
        .orgs
        .list_subscriptions(authed(pb::ListSubscriptionsRequest { organization_id: t.org.to_string() }, &t.reader))
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    assert_eq!(subs.len(), 1);
    assert_eq!((subs[0].app(), subs[0].seats, subs[0].active), (pb::App::Crm, 3, true));
    assert!(subs[0].ends_at.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn requiring_mfa_changes_the_setting_once_and_is_audited() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let update = |required: bool| pb::UpdateOrganizationSettingsRequest {
        organization_id: t.org.to_string(),
        settings: Some(pb::OrganizationSettings { mfa_required: required }),
        update_mask: mask(&["mfa_required"]),
    };
    let org = c
        .orgs
        .update_organization_settings(authed(update(true), &t.admin))
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    assert_eq!((org.settings.unwrap().mfa_required, org.version), (true, 2));
    let same = c.orgs.update_organization_settings(authed(update(true), &t.admin)).await.unwrap();
    assert_eq!(same.into_inner().organization.unwrap().version, 2, "setting the current value changes nothing");

    let bad = c
        .orgs
        .update_organization_settings(authed(
            pb::UpdateOrganizationSettingsRequest {
                organization_id: "acme".into(),
                settings: None,
                update_mask: mask(&["mfa_required", "colour"]),
            },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["organization_id", "update_mask.paths[1]"]);
    let empty = c
        .orgs
        .update_organization_settings(authed(
            pb::UpdateOrganizationSettingsRequest {
                organization_id: t.org.to_string(),
                settings: None,
                update_mask: None,
            },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&empty), ["update_mask"]);
    let policy = audited(&server, t.org, "identity.org.mfa_policy").await;
    assert_eq!(policy.len(), 1);
    assert_eq!(policy[0].actor_id.as_deref(), Some(t.admin_id.to_string().as_str()));
    server.shutdown().await;
}

#[tokio::test]
async fn an_operator_suspends_and_reactivates_and_sign_in_follows() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    active_user_with_password(&mut c, &t, "alice").await;
    let id = || t.org.to_string();

    let by_admin =
        c.orgs.suspend_organization(authed(pb::SuspendOrganizationRequest { organization_id: id() }, &t.admin)).await;
    expect_code(by_admin, Code::PermissionDenied, "suspension is for operators");
    let suspended = c
        .orgs
        .suspend_organization(authed(pb::SuspendOrganizationRequest { organization_id: id() }, &t.operator))
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    assert_eq!(suspended.status(), pb::OrganizationStatus::Suspended);
    let again = c
        .orgs
        .suspend_organization(authed(pb::SuspendOrganizationRequest { organization_id: id() }, &t.operator))
        .await
        .unwrap();
    assert_eq!(again.into_inner().organization.unwrap().version, suspended.version, "idempotent");
    let refused = c
        .sessions
        .sign_in_with_password(pb::SignInWithPasswordRequest {
            organization: Some(by_slug("acme")),
            user_name: "alice@acme.example".into(),
            password: PASSWORD.into(),
        })
        .await;
    expect_code(refused, Code::Unauthenticated, "no sign-in while suspended");

    let active = c
        .orgs
        .reactivate_organization(authed(pb::ReactivateOrganizationRequest { organization_id: id() }, &t.operator))
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    assert_eq!(active.status(), pb::OrganizationStatus::Active);
    signed_in(&mut c, &t, "alice").await;

    let bad = c.orgs.reactivate_organization(authed(pb::ReactivateOrganizationRequest::default(), &t.operator)).await;
    assert_eq!(violations(&bad.unwrap_err()), ["organization_id"]);
    for request in ["nope", ""] {
        let bad = c
            .orgs
            .get_organization(authed(pb::GetOrganizationRequest { organization_id: request.into() }, &t.admin))
            .await;
        assert_eq!(violations(&bad.unwrap_err()), ["organization_id"]);
        let bad = c
            .orgs
            .list_subscriptions(authed(pb::ListSubscriptionsRequest { organization_id: request.into() }, &t.admin))
            .await;
        assert_eq!(violations(&bad.unwrap_err()), ["organization_id"]);
        let bad = c
            .orgs
            .suspend_organization(authed(
                pb::SuspendOrganizationRequest { organization_id: request.into() },
                &t.operator,
            ))
            .await;
        assert_eq!(violations(&bad.unwrap_err()), ["organization_id"]);
    }
    let actions: Vec<String> = audited(&server, t.org, "identity.org.*").await.into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["identity.org.create", "identity.org.suspend", "identity.org.reactivate"]);
    server.shutdown().await;
}
