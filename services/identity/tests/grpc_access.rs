//! Who may call what, for every RPC of `listone.identity.v1` that needs a token: no token or a
//! forged one is UNAUTHENTICATED; a principal without scopes is PERMISSION_DENIED everywhere and
//! every refusal is audited while nothing changes; a reader reads and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_core::UserId;
use listone_proto::identity::v1 as pb;
use listone_testkit::{TestServer, authed};
use tonic::Code;

/// A tenant with one of everything: a user with a password and a session, a group, a SCIM token.
async fn populated(server: &TestServer) -> (Tenant, Ids) {
    let t = tenant(server, "acme").await;
    let mut c = Clients::new(server);
    let user = active_user_with_password(&mut c, &t, "target").await;
    let session = signed_in(&mut c, &t, "target").await.session.unwrap().id;
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
    let scim_token = c
        .scim_tokens
        .create_scim_token(authed(pb::CreateScimTokenRequest { name: "Okta".into(), ttl: None }, &t.admin))
        .await
        .unwrap()
        .into_inner()
        .scim_token
        .unwrap()
        .id;
    let ids = Ids { org: t.org, user, group, session, scim_token };
    (t, ids)
}

/// Rows that any successful call above would have changed.
async fn footprint(server: &TestServer) -> Vec<i64> {
    let mut counts = Vec::new();
    for sql in [
        "SELECT COUNT(*) AS n FROM app_user",
        "SELECT COUNT(*) AS n FROM app_user WHERE status = 'active'",
        "SELECT COUNT(*) AS n FROM user_group WHERE display_name = 'Sales'",
        "SELECT COUNT(*) AS n FROM group_member",
        "SELECT COUNT(*) AS n FROM user_role",
        "SELECT COUNT(*) AS n FROM group_role",
        "SELECT COUNT(*) AS n FROM user_app",
        "SELECT COUNT(*) AS n FROM user_session WHERE revoked_at_us IS NULL",
        "SELECT COUNT(*) AS n FROM user_mfa",
        "SELECT COUNT(*) AS n FROM scim_token WHERE revoked_at_us IS NULL",
        "SELECT COUNT(*) AS n FROM org WHERE status = 'active' AND version = 1",
        "SELECT COUNT(*) AS n FROM user_invite",
    ] {
        counts.push(count(server, sql, vec![]).await);
    }
    counts
}

#[tokio::test]
async fn every_rpc_needing_a_token_is_unauthenticated_without_one_or_with_a_forged_one() {
    let server = TestServer::start().await;
    let (_t, ids) = populated(&server).await;
    let before = footprint(&server).await;
    let mut c = Clients::new(&server);
    for token in [None, Some("forged-token"), Some("")] {
        let outcomes = call_every_authenticated_rpc(&mut c, token, &ids).await;
        assert_eq!(outcomes.len(), AUTHENTICATED_RPCS);
        for (rpc, outcome) in outcomes {
            expect_code(outcome.map(tonic::Response::new), Code::Unauthenticated, rpc);
        }
    }
    assert_eq!(footprint(&server).await, before, "nothing changed");
    assert!(audited(&server, ids.org, "identity.access.denied").await.is_empty(), "no principal, no org to log in");
    server.shutdown().await;
}

#[tokio::test]
async fn a_principal_without_scopes_is_refused_everywhere_and_every_refusal_is_audited() {
    let server = TestServer::start().await;
    let (t, ids) = populated(&server).await;
    let before = footprint(&server).await;
    let mut c = Clients::new(&server);
    let nobody = UserId::new();
    let token = t.token(&server, nobody, &[]);
    let outcomes = call_every_authenticated_rpc(&mut c, Some(&token), &ids).await;
    assert_eq!(outcomes.len(), AUTHENTICATED_RPCS);
    for (rpc, outcome) in &outcomes {
        let status = expect_code(outcome.clone().map(tonic::Response::new), Code::PermissionDenied, rpc);
        let expected = match *rpc {
            "BeginTotpEnrolment" | "ConfirmTotpEnrolment" | "RegenerateRecoveryCodes" => "SELF_ONLY",
            _ => "MISSING_SCOPE",
        };
        assert_eq!(reason(&status), expected, "{rpc}");
    }
    assert_eq!(footprint(&server).await, before, "nothing changed");

    let denied = audited(&server, t.org, "identity.access.denied").await;
    assert_eq!(denied.len(), AUTHENTICATED_RPCS, "every refusal is in the org's log");
    for (entry, (rpc, _)) in denied.iter().zip(&outcomes) {
        assert_eq!(entry.outcome, listone_audit::Outcome::Denied);
        assert_eq!(entry.actor_id.as_deref(), Some(nobody.to_string().as_str()));
        let details: serde_json::Value = serde_json::from_str(&entry.details).unwrap();
        assert!(details["rpc"].as_str().unwrap().ends_with(&format!("/{rpc}")), "{details}");
        assert_eq!(entry.source_ip.as_deref(), Some("127.0.0.1"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_reader_reads_the_directory_and_changes_nothing() {
    let server = TestServer::start().await;
    let (t, ids) = populated(&server).await;
    let before = footprint(&server).await;
    let mut c = Clients::new(&server);
    let reads = [
        "GetOrganization",
        "ListSubscriptions",
        "GetUser",
        "ListUsers",
        "GetUserRoles",
        "GetGroup",
        "ListGroups",
        "ListGroupMembers",
        "GetGroupRoles",
        "GetMfaStatus",
    ];
    let outcomes = call_every_authenticated_rpc(&mut c, Some(&t.reader), &ids).await;
    for (rpc, outcome) in &outcomes {
        if reads.contains(rpc) {
            assert!(outcome.is_ok(), "{rpc}: {outcome:?}");
        } else {
            expect_code(outcome.clone().map(tonic::Response::new), Code::PermissionDenied, rpc);
        }
    }
    assert_eq!(footprint(&server).await, before, "nothing changed");
    let denied = audited(&server, t.org, "identity.access.denied").await;
    assert_eq!(denied.len(), AUTHENTICATED_RPCS - reads.len());
    server.shutdown().await;
}
