//! `listone.access.v1.AccessPolicyService` over the server's real socket: the policy round trip
//! with versions and whole-document validation, explanations, scopes and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access_support;
mod records_support;

use access_support::{ADMIN, client, replace};
use listone_core::{Actor, App, OrgId, Principal, UserId};
use listone_identity::access::{
    AccessPolicy, Condition, Criteria, FieldAllowList, ObjectRight, RoleProfile, ShareAccess, ShareTarget, SharingRule,
    Test, Value,
};
use listone_proto::access::v1 as pb;
use listone_testkit::{TestServer, authed};
use records_support::{WRITE, fields};
use serde_json::json;
use tonic::Code;

struct Org {
    id: OrgId,
    rep: UserId,
    manager: UserId,
    outsider: UserId,
    admin_token: String,
}

/// An organization with the CRM, its standard modules, and three CRM users: a rep, the rep's
/// manager (through the policy's hierarchy) and a user whose role the policy does not know.
async fn org(server: &TestServer, slug: &str) -> Org {
    let users = [("rep", "sales.rep"), ("manager", "sales.manager"), ("outsider", "support")];
    let (org, users) = access_support::org_with_users(server, slug, &users).await;
    let admin_token = records_support::user_token(server, org, UserId::new(), &[ADMIN]);
    Org { id: org, rep: users[0], manager: users[1], outsider: users[2], admin_token }
}

/// Reps read and update contacts (first and last name readable, last name writable); managers
/// read; contacts named "Shared" are shared read-only with the outsider's role.
fn policy(org: OrgId) -> AccessPolicy {
    let mut policy = AccessPolicy::new(org);
    let names = FieldAllowList { read: ["first_name".into()].into(), write: ["last_name".into()].into() };
    let mut rep = RoleProfile::new("sales.rep")
        .reporting_to("sales.manager")
        .grant("contacts", [ObjectRight::Read, ObjectRight::Update]);
    rep.fields.insert("contacts".into(), names);
    policy.roles.push(RoleProfile::new("sales.manager").grant("contacts", [ObjectRight::Read]));
    policy.roles.push(rep);
    policy.roles.push(RoleProfile::new("support").grant("contacts", [ObjectRight::Read]));
    policy.rules.push(SharingRule {
        module: "contacts".into(),
        criteria: Criteria::Where(Condition::new("last_name", Test::Eq(Value::Text("Shared".into())))),
        share_with: ShareTarget::Role { key: "support".into(), with_subordinates: false },
        access: ShareAccess::Read,
    });
    policy
}

fn violation_fields(status: &tonic::Status) -> Vec<String> {
    records_support::violated_fields(status)
}

#[tokio::test]
async fn the_policy_round_trips_with_versions_and_is_validated_as_a_whole() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme").await;
    let token = &acme.admin_token;

    let empty = client(&server).get_access_policy(authed(pb::GetAccessPolicyRequest {}, token)).await.unwrap();
    let empty = empty.into_inner();
    assert_eq!(empty.version, 0);
    let parsed: AccessPolicy = serde_json::from_str(&empty.policy_json).unwrap();
    assert_eq!(parsed, AccessPolicy::starter(acme.id), "never set: the starter policy, only admin has rights");

    let stored = replace(&server, token, &policy(acme.id), 0).await.unwrap();
    assert_eq!(stored.version, 1);
    let read = client(&server).get_access_policy(authed(pb::GetAccessPolicyRequest {}, token)).await.unwrap();
    let read = read.into_inner();
    assert_eq!((read.version, serde_json::from_str::<AccessPolicy>(&read.policy_json).unwrap()), (1, policy(acme.id)));

    let stale = replace(&server, token, &policy(acme.id), 0).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // Every problem at once, by path into the document; nothing written.
    let mut bad = policy(acme.id);
    bad.roles[0].objects.insert("tickets".into(), [ObjectRight::Read].into());
    bad.rules.push(SharingRule {
        module: "contacts".into(),
        criteria: Criteria::Where(Condition::new("email", Test::Eq(Value::Text("a@b.example".into())))),
        share_with: ShareTarget::Role { key: "support".into(), with_subordinates: false },
        access: ShareAccess::Read,
    });
    bad.rules.push(SharingRule {
        module: "contacts".into(),
        criteria: Criteria::Where(Condition::new("job_title", Test::IsEmpty)),
        share_with: ShareTarget::Role { key: "nobody".into(), with_subordinates: false },
        access: ShareAccess::Read,
    });
    let refused = replace(&server, token, &bad, 1).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let paths = violation_fields(&refused);
    for expected in [
        "policy_json.roles[0].objects.tickets",
        "policy_json.rules[1].criteria.where.field",
        "policy_json.rules[2].criteria.where.field",
        "policy_json.rules[2].share_with.role.key",
    ] {
        assert!(paths.iter().any(|p| p == expected), "{expected} missing from {paths:?}");
    }
    let message = refused.message().to_owned() + &format!("{:?}", records_support::violations(&refused));
    assert!(!message.contains("a@b.example"), "values never echoed");

    let not_json = pb::ReplaceAccessPolicyRequest { policy_json: "{\"org\": 1,".into(), expected_version: 1 };
    let refused = client(&server).replace_access_policy(authed(not_json, token)).await.unwrap_err();
    assert_eq!((refused.code(), violation_fields(&refused)), (Code::InvalidArgument, vec!["policy_json".to_owned()]));

    let foreign = replace(&server, token, &policy(OrgId::new()), 1).await.unwrap_err();
    assert_eq!(violation_fields(&foreign), vec!["policy_json.org".to_owned()]);

    let read = client(&server).get_access_policy(authed(pb::GetAccessPolicyRequest {}, token)).await.unwrap();
    assert_eq!(read.into_inner().version, 1, "no refused change was written");
}

async fn contact(server: &TestServer, org: &Org, owner: UserId, last_name: &str) -> String {
    // An import client: the policy under test need not let anyone create.
    let token = records_support::service_token(server, org.id, &[WRITE]);
    let request = listone_proto::records::v1::CreateRecordRequest {
        module: "contacts".into(),
        fields: Some(fields(json!({ "first_name": "Ada", "last_name": last_name }))),
        owner_id: Some(owner.to_string()),
    };
    records_support::client(server).create_record(authed(request, &token)).await.unwrap().into_inner().id
}

async fn explain(
    server: &TestServer,
    token: &str,
    user: UserId,
    record: &str,
    right: pb::AccessRight,
    field: &str,
) -> Result<pb::ExplainAccessResponse, tonic::Status> {
    let request = pb::ExplainAccessRequest {
        user_id: user.to_string(),
        module: "contacts".into(),
        record_id: record.to_owned(),
        right: right as i32,
        field: field.into(),
    };
    client(server).explain_access(authed(request, token)).await.map(|r| r.into_inner())
}

fn step_kinds(answer: &pb::ExplainAccessResponse) -> Vec<String> {
    answer
        .steps
        .iter()
        .map(|s| match s.fields.get("step").and_then(|v| v.kind.clone()) {
            Some(prost_types::value::Kind::StringValue(kind)) => kind,
            other => panic!("a step without a kind: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn explain_says_why_a_user_can_or_cannot_act_on_a_record_and_field() {
    let server = TestServer::start().await;
    let acme = org(&server, "acme").await;
    let token = &acme.admin_token;
    replace(&server, token, &policy(acme.id), 0).await.unwrap();
    let own = contact(&server, &acme, acme.rep, "Lovelace").await;
    let shared = contact(&server, &acme, acme.rep, "Shared").await;
    use pb::AccessRight::{Delete, Read, Update};

    let rep = explain(&server, token, acme.rep, &own, Update, "last_name").await.unwrap();
    assert!(rep.allowed);
    assert_eq!(rep.roles, vec!["sales.rep".to_owned()]);
    assert_eq!(rep.policy_version, 1);
    let steps = ["object_right_granted", "object_right_granted", "org_default", "owner", "field"];
    assert_eq!(step_kinds(&rep), steps, "read and update granted, private default, owner, field");

    let field = explain(&server, token, acme.rep, &own, Update, "first_name").await.unwrap();
    assert!(!field.allowed, "first_name is readable, not writable, for reps");

    let no_delete = explain(&server, token, acme.rep, &own, Delete, "").await.unwrap();
    assert!(!no_delete.allowed);
    assert_eq!(step_kinds(&no_delete), ["object_right_granted", "object_right_missing"], "read yes, delete no");

    let manager = explain(&server, token, acme.manager, &own, Read, "").await.unwrap();
    assert!(manager.allowed, "a manager reads what their reports own");
    assert!(step_kinds(&manager).contains(&"owned_by_report".to_owned()));

    let outsider = explain(&server, token, acme.outsider, &own, Read, "").await.unwrap();
    assert!(!outsider.allowed);
    assert!(step_kinds(&outsider).contains(&"rule_does_not_match".to_owned()));
    let by_rule = explain(&server, token, acme.outsider, &shared, Read, "").await.unwrap();
    assert!(by_rule.allowed, "the rule on last_name = Shared reaches the support role");
    assert!(step_kinds(&by_rule).contains(&"shared_by_rule".to_owned()));

    // Bad input: every problem at once.
    let request = pb::ExplainAccessRequest { user_id: "nope".into(), record_id: String::new(), ..Default::default() };
    let refused = client(&server).explain_access(authed(request, token)).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&refused), ["user_id", "record_id", "right", "module"]);
    let unknown_field = explain(&server, token, acme.rep, &own, Read, "shoe_size").await.unwrap_err();
    assert_eq!(violation_fields(&unknown_field), ["field"]);
    let missing = explain(&server, token, acme.rep, &UserId::new().to_string(), Read, "").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn every_rpc_needs_the_admin_scope_and_stays_in_the_callers_organization() {
    let server = TestServer::start().await;
    let (acme, globex) = (org(&server, "acme").await, org(&server, "globex").await);
    replace(&server, &acme.admin_token, &policy(acme.id), 0).await.unwrap();
    let record = contact(&server, &acme, acme.rep, "Lovelace").await;

    let reader = records_support::user_token(&server, acme.id, UserId::new(), &["records.read"]);
    let denied = client(&server).get_access_policy(authed(pb::GetAccessPolicyRequest {}, &reader)).await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(replace(&server, &reader, &policy(acme.id), 1).await.unwrap_err().code(), Code::PermissionDenied);
    let denied = explain(&server, &reader, acme.rep, &record, pb::AccessRight::Read, "").await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied);

    // Globex's administrator sees its own (empty) policy, and none of acme's users or records.
    let theirs = client(&server).get_access_policy(authed(pb::GetAccessPolicyRequest {}, &globex.admin_token)).await;
    assert_eq!(theirs.unwrap().into_inner().version, 0);
    let foreign_user = explain(&server, &globex.admin_token, acme.rep, &record, pb::AccessRight::Read, "").await;
    assert_eq!(foreign_user.unwrap_err().code(), Code::NotFound);
    let foreign_record = explain(&server, &globex.admin_token, globex.rep, &record, pb::AccessRight::Read, "").await;
    assert_eq!(foreign_record.unwrap_err().code(), Code::NotFound);
    // Globex replacing "acme's" version 1 is its own first write against version 0: ABORTED.
    let stale = replace(&server, &globex.admin_token, &policy(globex.id), 1).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // A service client holding the scope may administer too (no user behind it needed).
    let service = server.token_for(Principal {
        org_id: acme.id,
        actor: Actor::Service { client_id: "lo_client_admin".into() },
        app: App::Crm,
        roles: Default::default(),
        scopes: [ADMIN.to_owned()].into(),
    });
    let read = client(&server).get_access_policy(authed(pb::GetAccessPolicyRequest {}, &service)).await.unwrap();
    assert_eq!(read.into_inner().version, 1);
}
