//! `listone.identity.v1.ScimTokenService` over a real socket: a token is shown once, listed
//! without its value, expires on the clock, is revoked idempotently; validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod grpc_support;

use grpc_support::*;
use listone_proto::identity::v1 as pb;
use listone_testkit::{TestServer, authed};
use tonic::Code;

#[tokio::test]
async fn a_token_is_shown_once_listed_without_its_value_and_revoked_idempotently() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let created = c
        .scim_tokens
        .create_scim_token(authed(pb::CreateScimTokenRequest { name: " Okta ".into(), ttl: None }, &t.admin))
        .await
        .unwrap()
        .into_inner();
    assert!(created.token.starts_with("lo_scim_"));
    let okta = created.scim_token.unwrap();
    assert_eq!((okta.name.as_str(), okta.active), ("Okta", true));
    assert!(okta.expires_at.is_none() && okta.revoked_at.is_none() && okta.last_used_at.is_none());
    let hash = listone_crypto::sha256(created.token.as_bytes()).to_vec();
    assert_eq!(
        count(&server, "SELECT COUNT(*) AS n FROM scim_token WHERE token_hash = $1", vec![hash.into()]).await,
        1,
        "only the hash is stored"
    );

    let short = c
        .scim_tokens
        .create_scim_token(authed(
            pb::CreateScimTokenRequest {
                name: "Azure AD".into(),
                ttl: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
            },
            &t.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .scim_token
        .unwrap();
    assert_eq!(short.expires_at.unwrap().seconds, short.created_at.unwrap().seconds + 3600);
    server.clock().advance(chrono::Duration::hours(2));

    let list = || pb::ListScimTokensRequest {};
    let listed = c.scim_tokens.list_scim_tokens(authed(list(), &t.admin)).await.unwrap().into_inner().scim_tokens;
    let summary: Vec<_> = listed.iter().map(|t| (t.name.as_str(), t.active)).collect();
    assert_eq!(summary, [("Okta", true), ("Azure AD", false)], "oldest first; the short one expired on the clock");

    let revoke = pb::RevokeScimTokenRequest { scim_token_id: okta.id.clone() };
    c.scim_tokens.revoke_scim_token(authed(revoke.clone(), &t.admin)).await.unwrap();
    c.scim_tokens.revoke_scim_token(authed(revoke, &t.admin)).await.unwrap();
    let listed = c.scim_tokens.list_scim_tokens(authed(list(), &t.admin)).await.unwrap().into_inner().scim_tokens;
    assert!(!listed[0].active && listed[0].revoked_at.is_some());
    let unknown = c
        .scim_tokens
        .revoke_scim_token(authed(
            pb::RevokeScimTokenRequest { scim_token_id: uuid::Uuid::now_v7().to_string() },
            &t.admin,
        ))
        .await;
    expect_code(unknown, Code::NotFound, "an unknown token");

    let actions: Vec<_> =
        audited(&server, t.org, "identity.scim_token.*").await.into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["identity.scim_token.create", "identity.scim_token.create", "identity.scim_token.revoke"]);
    server.shutdown().await;
}

#[tokio::test]
async fn scim_token_requests_are_validated() {
    let server = TestServer::start().await;
    let t = tenant(&server, "acme").await;
    let mut c = Clients::new(&server);
    let bad = c
        .scim_tokens
        .create_scim_token(authed(
            pb::CreateScimTokenRequest { name: " ".into(), ttl: Some(prost_types::Duration { seconds: -5, nanos: 0 }) },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["name", "ttl"]);
    let bad = c
        .scim_tokens
        .create_scim_token(authed(
            pb::CreateScimTokenRequest {
                name: "ok".into(),
                ttl: Some(prost_types::Duration { seconds: 1, nanos: 2_000_000_000 }),
            },
            &t.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["ttl"]);
    let bad = c
        .scim_tokens
        .revoke_scim_token(authed(pb::RevokeScimTokenRequest { scim_token_id: "okta".into() }, &t.admin))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), ["scim_token_id"]);
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM scim_token", vec![]).await, 0, "nothing written");
    server.shutdown().await;
}
