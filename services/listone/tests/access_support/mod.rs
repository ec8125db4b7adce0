//! Shared by the access tests: an organization registered through identity with CRM users
//! holding roles, and the access-policy client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use listone_audit::{ActorKind, AuditActor};
use listone_core::{App, OrgId, UserId};
use listone_customization::ModuleStore;
use listone_identity::access::AccessPolicy;
use listone_identity::org::{OrgRegistration, SubscriptionRequest};
use listone_proto::access::v1 as pb;
use listone_proto::access::v1::access_policy_service_client::AccessPolicyServiceClient;
use listone_testkit::{TestServer, authed};
use tonic::transport::Channel;

/// The scope of the access-policy API.
pub const ADMIN: &str = "access.admin";

pub fn admin_actor() -> AuditActor {
    AuditActor { kind: ActorKind::User, id: Some("admin-1".into()) }
}

/// Registers organization `slug` with the CRM (10 seats) and its standard modules, and one CRM
/// user per `(name, role)` holding that role; returns the org and the users in order.
pub async fn org_with_users(server: &TestServer, slug: &str, users: &[(&str, &str)]) -> (OrgId, Vec<UserId>) {
    let ctx = server.ctx();
    let identity = &ctx.identity;
    let now = ctx.clock.now();
    let registration = OrgRegistration {
        name: "Acme".into(),
        slug: slug.into(),
        country: "GB".into(),
        dpo_name: listone_core::Secret::new("Dana".into()),
        dpo_email: listone_core::Secret::new("dpo@acme.example".into()),
        subscriptions: vec![SubscriptionRequest { app: App::Crm, seats: 10, starts_at: now, ends_at: None }],
    };
    let org = identity.orgs.register(&registration, admin_actor(), Default::default()).await.unwrap().id;
    let mut ids = Vec::new();
    for (name, role) in users {
        let new = listone_identity::user::NewUser {
            user_name: listone_core::Secret::new(format!("{name}@{slug}.example")),
            email: listone_core::Secret::new(format!("{name}@{slug}.example")),
            given_name: None,
            family_name: None,
            external_id: None,
        };
        let user = identity.users.provision(org, &new, admin_actor(), Default::default()).await.unwrap().id;
        identity.users.assign_app(org, user, App::Crm, admin_actor(), Default::default()).await.unwrap();
        identity
            .roles
            .set_user_roles(org, user, App::Crm, &[(*role).to_owned()], admin_actor(), Default::default())
            .await
            .unwrap();
        ids.push(user);
    }
    let modules = ModuleStore::new(ctx.db.clone(), ctx.audit_recorder.clone(), ctx.clock.clone());
    modules.ensure_standard(org, "EUR", &Default::default()).await.unwrap();
    (org, ids)
}

pub fn client(server: &TestServer) -> AccessPolicyServiceClient<Channel> {
    AccessPolicyServiceClient::new(server.channel())
}

/// Replaces the caller's organization's policy with `policy`, made against `expected_version`.
pub async fn replace(
    server: &TestServer,
    token: &str,
    policy: &AccessPolicy,
    expected_version: u64,
) -> Result<pb::ReplaceAccessPolicyResponse, tonic::Status> {
    let request =
        pb::ReplaceAccessPolicyRequest { policy_json: serde_json::to_string(policy).unwrap(), expected_version };
    client(server).replace_access_policy(authed(request, token)).await.map(|r| r.into_inner())
}
