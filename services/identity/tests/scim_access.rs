//! Who may use SCIM, and what they see: bearer tokens per organization (missing, unknown,
//! revoked or expired: 401 with `WWW-Authenticate: Bearer`), tenant isolation (another
//! organization's ids are 404 for every method), discovery documents and protocol errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod scim_support;

use chrono::Duration;
use listone_core::Clock;
use listone_testkit::TestServer;
use scim_support::{
    GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, count, create_group, create_user, operator, tenant, user_body,
};
use serde_json::json;

#[tokio::test]
async fn requests_without_a_valid_token_are_401_with_a_bearer_challenge() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    for (token, label) in [(None, "missing"), (Some("lo_scim_not-a-token"), "unknown")] {
        let reply = scim.with_token(token).get("/Users").await;
        reply.assert_error(401, None);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"scim\""), "{label}");
    }
    assert_eq!(scim.get("/Users").await.status, 200, "the organization's token works");
    let wrong_scheme =
        scim.with_token(None).send("GET", "/Users", None, &[("Authorization", "Basic dXNlcjpwYXNz")]).await;
    wrong_scheme.assert_error(401, None);
    let created = scim.with_token(None).post("/Users", &user_body("b@example.com")).await;
    created.assert_error(401, None);
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM app_user").await, 0);

    let tokens = &server.ctx().identity.scim_tokens;
    tokens.revoke(scim.org, scim.token_id, operator(), Default::default()).await.unwrap();
    scim.get("/Users").await.assert_error(401, None);

    let (expiring, secret) =
        tokens.create(scim.org, "short-lived", Some(Duration::hours(1)), operator(), Default::default()).await.unwrap();
    let short = scim.with_token(Some(secret.expose()));
    assert_eq!(short.get("/Users").await.status, 200);
    server.clock().advance(Duration::hours(1));
    short.get("/Users").await.assert_error(401, None);
    let listed = tokens.list(scim.org).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].revoked_at.is_some());
    assert_eq!(listed[1].id, expiring.id);
    assert!(listed[1].last_used_at.is_some(), "the use was recorded");
}

#[tokio::test]
async fn token_use_is_recorded_at_most_once_a_minute_and_only_its_hash_is_stored() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let tokens = &server.ctx().identity.scim_tokens;
    let token = scim.token.clone().unwrap();
    assert!(token.starts_with("lo_scim_"));
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM scim_token").await, 1);
    let stored: Vec<u8> = {
        let stmt = listone_core::db::statement(
            server.db().conn().get_database_backend(),
            "SELECT token_hash FROM scim_token",
            [],
        );
        use sea_orm::ConnectionTrait;
        server.db().conn().query_one_raw(stmt).await.unwrap().unwrap().try_get("", "token_hash").unwrap()
    };
    assert_eq!(stored, listone_crypto::sha256(token.as_bytes()).to_vec());
    scim.get("/Users").await;
    let first = tokens.list(scim.org).await.unwrap()[0].last_used_at.unwrap();
    server.clock().advance(Duration::seconds(30));
    scim.get("/Users").await;
    assert_eq!(tokens.list(scim.org).await.unwrap()[0].last_used_at, Some(first));
    server.clock().advance(Duration::seconds(31));
    scim.get("/Users").await;
    let now = chrono::DateTime::from_timestamp_micros(server.clock().now().timestamp_micros());
    assert_eq!(tokens.list(scim.org).await.unwrap()[0].last_used_at, now);
    let other = tenant(&server, "other").await;
    let err = tokens.revoke(other.org, scim.token_id, operator(), Default::default()).await.unwrap_err();
    assert!(matches!(err, listone_core::Error::NotFound { .. }), "another org's token is not found");

    for (name, ttl) in [("", None), (" ", None), ("ok", Some(Duration::zero())), ("ok", Some(Duration::days(3651)))] {
        let err = tokens.create(scim.org, name, ttl, operator(), Default::default()).await.unwrap_err();
        assert!(matches!(err, listone_core::Error::InvalidArgument { .. }), "{name:?} {ttl:?}");
    }
    tokens.revoke(scim.org, scim.token_id, operator(), Default::default()).await.unwrap();
    tokens.revoke(scim.org, scim.token_id, operator(), Default::default()).await.unwrap();
    let created = scim_support::audited(&server, scim.org, "identity.scim_token.create").await;
    assert_eq!(created.len(), 1, "refused creations write nothing");
    let revoked = scim_support::audited(&server, scim.org, "identity.scim_token.revoke").await;
    assert_eq!(revoked.len(), 1, "revoking twice is recorded once");
    assert_eq!(revoked[0].resource_id.as_deref(), Some(scim.token_id.to_string().as_str()));
    assert!(!revoked[0].details.contains("lo_scim_") && !created[0].details.contains("lo_scim_"));
}

#[tokio::test]
async fn another_organizations_ids_are_not_found_for_every_method() {
    let server = TestServer::start().await;
    let acme = tenant(&server, "acme").await;
    let other = tenant(&server, "other").await;
    let alice = create_user(&acme, "alice@example.com").await;
    let sales = create_group(&acme, "Sales", &[&alice]).await;
    let patch = json!([{"op": "replace", "path": "displayName", "value": "Mine"}]);
    for (path, body) in [
        (format!("/Users/{alice}"), user_body("mallory@example.com")),
        (format!("/Groups/{sales}"), json!({"schemas": [GROUP_SCHEMA], "displayName": "Mine"})),
    ] {
        other.get(&path).await.assert_error(404, None);
        other.put(&path, &body).await.assert_error(404, None);
        other.patch(&path, patch.clone()).await.assert_error(404, None);
        other.delete(&path).await.assert_error(404, None);
    }
    let list = other.get(&format!("/Users?filter=id%20eq%20%22{alice}%22")).await;
    assert_eq!(list.body["totalResults"], 0);
    assert_eq!(other.get("/Groups").await.body["totalResults"], 0);
    // Their own group cannot take acme's user either.
    let theirs = create_group(&other, "Theirs", &[]).await;
    other
        .patch(&format!("/Groups/{theirs}"), json!([{"op": "add", "path": "members", "value": [{"value": alice}]}]))
        .await
        .assert_error(400, Some("invalidValue"));

    let mine = acme.get(&format!("/Users/{alice}")).await;
    assert_eq!(
        (mine.body["userName"].as_str(), mine.body["meta"]["version"].as_str()),
        (Some("alice@example.com"), Some("W/\"1\""))
    );
    assert_eq!(acme.get(&format!("/Groups/{sales}")).await.body["displayName"], "Sales");
    scim_support::drain_audit(&server).await;
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM app_user").await, 1);
}

#[tokio::test]
async fn discovery_documents_describe_what_is_served() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let config = scim.get("/ServiceProviderConfig").await;
    assert_eq!(config.status, 200);
    assert_eq!(config.header("content-type"), Some("application/scim+json"));
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["bulk"]["supported"], false);
    assert_eq!(config.body["filter"], json!({"supported": true, "maxResults": 1000}));
    assert_eq!(config.body["etag"]["supported"], true);
    assert_eq!(config.body["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let types = scim.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    assert_eq!(scim.get("/ResourceTypes/User").await.body["schema"], USER_SCHEMA);
    scim.get("/ResourceTypes/Widget").await.assert_error(404, None);
    let schemas = scim.get("/Schemas").await;
    let ids: Vec<&str> =
        schemas.body["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [USER_SCHEMA, GROUP_SCHEMA]);
    let user = scim.get(&format!("/Schemas/{USER_SCHEMA}")).await;
    let names: Vec<&str> =
        user.body["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["userName", "name", "displayName", "emails", "active"]);

    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        scim.send(method, "/ServiceProviderConfig", Some(&json!({})), &[]).await.assert_error(405, None);
        scim.send(method, "/Schemas", Some(&json!({})), &[]).await.assert_error(405, None);
    }
    scim.get("/Unknown").await.assert_error(404, None);
    scim.get("/Me").await.assert_error(501, None);
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []});
    scim.post("/Bulk", &bulk).await.assert_error(501, None);
    let bad_patch = json!({"schemas": [PATCH_SCHEMA], "Operations": "replace"});
    let id = create_user(&scim, "b@example.com").await;
    scim.send("PATCH", &format!("/Users/{id}"), Some(&bad_patch), &[]).await.assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn a_search_at_the_root_lists_users_then_groups_as_one_paged_list() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let alice = create_user(&scim, "alice@example.com").await;
    let bob = create_user(&scim, "bob@example.com").await;
    let sales = create_group(&scim, "Sales", &[&alice]).await;
    let search = |body: serde_json::Value| {
        let scim = scim.clone();
        async move { scim.post("/.search", &body).await }
    };
    let request = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
    let all =
        search(json!({"schemas": [request], "startIndex": 2, "count": 2, "excludedAttributes": ["members"]})).await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    assert_eq!(all.body["totalResults"], 3);
    let ids: Vec<&str> = all.body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [bob.as_str(), sales.as_str()]);
    assert!(all.body["Resources"][1].get("members").is_none());
    let filtered =
        search(json!({"schemas": [request], "filter": "userName sw \"a\" or displayName eq \"sales\""})).await;
    let ids: Vec<&str> =
        filtered.body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [alice.as_str(), sales.as_str()]);
    search(json!({"schemas": [request], "filter": "nickName pr"})).await.assert_error(400, Some("invalidFilter"));
    search(json!({"filter": "userName pr"})).await.assert_error(400, Some("invalidSyntax"));
    let refused = scim_support::audited(&server, scim.org, "identity.scim.search").await;
    assert_eq!(refused.len(), 2);
}
