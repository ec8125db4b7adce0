//! SCIM `/Users` through a real socket: create, get, list with filters and paging, PUT, PATCH,
//! DELETE; uniqueness; ETags; refused input writes nothing and is audited; `active: false`
//! ends every session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod scim_support;

use listone_audit::{ActorKind, Outcome};
use listone_core::UserId;
use listone_testkit::TestServer;
use scim_support::{Scim, USER_SCHEMA, audited, count, create_user, tenant, user_body};
use serde_json::json;

#[tokio::test]
async fn a_created_user_is_returned_with_meta_and_read_back_by_id() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let created = scim.post("/Users", &user_body("bjensen@example.com")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = format!("http://{}/scim/v2/Users/{id}", server.addr());
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    assert_eq!(created.header("content-type"), Some("application/scim+json"));
    assert_eq!(created.body["schemas"], json!([USER_SCHEMA]));
    assert_eq!(created.body["userName"], "bjensen@example.com");
    assert_eq!(created.body["name"], json!({"givenName": "Barbara", "familyName": "Jensen"}));
    assert_eq!(created.body["emails"], json!([{"value": "bjensen@example.com", "type": "work"}]));
    assert_eq!(created.body["externalId"], "ad-bjensen@example.com");
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert_eq!(created.body["meta"]["location"], location);
    assert_eq!(created.body["meta"]["version"], "W/\"1\"");
    assert!(created.body["meta"]["created"].as_str().unwrap().ends_with('Z'));

    let read = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created.body);
    let projected = scim.get(&format!("/Users/{id}?attributes=userName,name.givenName")).await;
    assert_eq!(
        projected.body,
        json!({"schemas": [USER_SCHEMA], "id": id, "userName": "bjensen@example.com", "name": {"givenName": "Barbara"}})
    );
    let unchanged = scim.send("GET", &format!("/Users/{id}"), None, &[("If-None-Match", "W/\"1\"")]).await;
    assert_eq!(unchanged.status, 304);

    let provisioned = audited(&server, scim.org, "identity.user.provision").await;
    assert_eq!(provisioned.len(), 1);
    let event = &provisioned[0];
    assert_eq!(event.actor_kind, ActorKind::Service);
    assert_eq!(event.actor_id.as_deref(), Some(format!("scim-token:{}", scim.token_id).as_str()));
    assert_eq!(event.resource_id.as_deref(), Some(id.as_str()));
    assert_eq!(event.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(event.user_agent.as_deref(), Some("scim-test"));
    assert!(!event.details.contains("bjensen"), "no personal data in details");
}

#[tokio::test]
async fn a_user_with_only_a_user_name_is_created_active_without_email() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let created = scim.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "ad-7f3c"})).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["active"], true);
    assert!(created.body.get("emails").is_none());
    let inactive = scim.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "gone", "active": false})).await;
    assert_eq!(inactive.body["active"], false);
}

#[tokio::test]
async fn a_taken_user_name_is_409_uniqueness_in_any_case_and_nothing_is_written() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let first = create_user(&scim, "bjensen@example.com").await;
    let second = create_user(&scim, "other@example.com").await;
    scim.post("/Users", &user_body("BJensen@Example.com")).await.assert_error(409, Some("uniqueness"));
    let mut renamed = user_body("BJENSEN@example.com");
    renamed["externalId"] = json!("x");
    scim.put(&format!("/Users/{second}"), &renamed).await.assert_error(409, Some("uniqueness"));
    scim.patch(
        &format!("/Users/{second}"),
        json!([{"op": "replace", "path": "userName", "value": "bjensen@EXAMPLE.com"}]),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM app_user").await, 2);
    let other = scim.get(&format!("/Users/{second}")).await;
    assert_eq!(
        (other.body["userName"].as_str(), other.body["meta"]["version"].as_str()),
        (Some("other@example.com"), Some("W/\"1\""))
    );
    assert!(!first.is_empty());
    let refused = audited(&server, scim.org, "identity.user.update").await;
    assert_eq!(refused.len(), 2);
    assert!(refused.iter().all(|e| e.outcome == Outcome::Failed && e.details.contains("uniqueness")));
}

#[tokio::test]
async fn unknown_attributes_over_long_fields_and_bad_filters_are_refused_audited_and_write_nothing() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let mut unknown = user_body("b@example.com");
    unknown["nickName"] = json!("Babs");
    scim.post("/Users", &unknown).await.assert_error(400, Some("invalidSyntax"));
    let extension = json!({
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "b@example.com",
    });
    scim.post("/Users", &extension).await.assert_error(400, Some("invalidSyntax"));
    let long = user_body(&format!("{}@example.com", "b".repeat(250)));
    let reply = scim.post("/Users", &long).await;
    reply.assert_error(400, Some("invalidValue"));
    assert!(!reply.body["detail"].as_str().unwrap().contains("bbbb"), "values are never echoed");
    scim.send_raw("POST", "/Users", b"{not json", "application/scim+json", &[])
        .await
        .assert_error(400, Some("invalidSyntax"));
    scim.send_raw("POST", "/Users", b"{}", "text/plain", &[]).await.assert_error(415, None);
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM app_user").await, 0);

    let id = create_user(&scim, "b@example.com").await;
    let path = format!("/Users/{id}");
    scim.patch(&path, json!([{"op": "add", "path": "title", "value": "Boss"}]))
        .await
        .assert_error(400, Some("invalidPath"));
    scim.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "d".repeat(201)}]))
        .await
        .assert_error(400, Some("invalidValue"));
    scim.patch(&path, json!([{"op": "replace", "path": "id", "value": "x"}]))
        .await
        .assert_error(400, Some("mutability"));
    let mut put = user_body("b@example.com");
    put["name"]["middleName"] = json!("J");
    scim.put(&path, &put).await.assert_error(400, Some("invalidSyntax"));
    let after = scim.get(&path).await;
    assert_eq!(after.body["meta"]["version"], "W/\"1\"", "nothing was written");

    for filter in ["userName eq", "userName eq \"a\" and", "nickName eq \"b\"", "userName zz \"b\""] {
        let reply = scim.get(&format!("/Users?filter={}", urlencode(filter))).await;
        reply.assert_error(400, Some("invalidFilter"));
    }
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM app_user").await, 1);

    let creates = audited(&server, scim.org, "identity.user.provision").await;
    let failed: Vec<_> = creates.iter().filter(|e| e.outcome == Outcome::Failed).collect();
    assert_eq!(failed.len(), 4, "every refused creation is audited (an unsupported media type is not a payload)");
    assert!(failed[0].details.contains("invalidSyntax"));
    let updates = audited(&server, scim.org, "identity.user.update").await;
    assert_eq!(updates.iter().filter(|e| e.outcome == Outcome::Failed).count(), 4);
    assert!(updates.iter().all(|e| e.resource_id.as_deref() == Some(id.as_str())));
    let lists = audited(&server, scim.org, "identity.user.list").await;
    assert_eq!(lists.len(), 4);
    assert!(lists.iter().all(|e| e.outcome == Outcome::Failed && e.details.contains("invalidFilter")));
}

/// The local parts of the user names a filter selects, sorted; checks `totalResults`.
async fn filtered(scim: &Scim, filter: &str) -> Vec<String> {
    let reply = scim.get(&format!("/Users?filter={}", urlencode(filter))).await;
    assert_eq!(reply.status, 200, "{filter}: {:?}", reply.body);
    let mut names: Vec<String> = reply.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().split('@').next().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(reply.body["totalResults"].as_u64(), Some(names.len() as u64));
    names
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn lists_filter_and_page_by_start_index_and_count() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let mut ids = Vec::new();
    for name in ["alice", "bob", "carol", "dave", "erin"] {
        ids.push(create_user(&scim, &format!("{name}@example.com")).await);
    }
    let page = scim.get("/Users?startIndex=2&count=2").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!((page.body["totalResults"].as_u64(), page.body["startIndex"].as_u64()), (Some(5), Some(2)));
    assert_eq!(page.body["itemsPerPage"], 2);
    let page_ids: Vec<&str> =
        page.body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(page_ids, [ids[1].as_str(), ids[2].as_str()], "id (creation) order");
    let only_total = scim.get("/Users?count=0").await;
    assert_eq!(
        (only_total.body["totalResults"].as_u64(), only_total.body["Resources"].as_array().map(Vec::len)),
        (Some(5), Some(0))
    );

    assert_eq!(filtered(&scim, "userName eq \"BOB@example.com\"").await, ["bob"]);
    assert_eq!(filtered(&scim, "externalId eq \"ad-carol@example.com\"").await, ["carol"]);
    assert_eq!(filtered(&scim, "userName co \"r\"").await, ["carol", "erin"]);
    assert_eq!(filtered(&scim, "userName sw \"d\" or userName sw \"a\"").await, ["alice", "dave"]);
    assert_eq!(
        filtered(&scim, "emails[type eq \"work\" and value ew \"example.com\"] and not (userName sw \"a\")").await,
        ["bob", "carol", "dave", "erin"]
    );
    assert_eq!(filtered(&scim, "displayName pr").await, Vec::<String>::new());
    assert_eq!(
        filtered(&scim, "meta.created gt \"2000-01-01T00:00:00Z\" and userName lt \"c\"").await,
        ["alice", "bob"]
    );
    assert_eq!(filtered(&scim, "userName eq \"nobody@example.com\"").await, Vec::<String>::new());
    assert_eq!(filtered(&scim, &format!("id eq \"{}\"", ids[4])).await, ["erin"]);

    let search = scim
        .post(
            "/Users/.search",
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName sw \"c\"",
                "attributes": ["userName"],
            }),
        )
        .await;
    assert_eq!(search.status, 200, "{:?}", search.body);
    assert_eq!(
        search.body["Resources"],
        json!([{"schemas": [USER_SCHEMA], "id": ids[2], "userName": "carol@example.com"}])
    );
}

#[tokio::test]
async fn put_replaces_every_attribute_and_if_match_guards_the_version() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let id = create_user(&scim, "bjensen@example.com").await;
    let path = format!("/Users/{id}");
    let replacement = json!({
        "schemas": [USER_SCHEMA],
        "userName": "babs@example.com",
        "displayName": "Babs",
    });
    let stale = scim.send("PUT", &path, Some(&replacement), &[("If-Match", "W/\"7\"")]).await;
    stale.assert_error(412, None);
    let replaced = scim.send("PUT", &path, Some(&replacement), &[("If-Match", "W/\"1\"")]).await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(replaced.header("etag"), Some("W/\"2\""));
    assert_eq!(replaced.body["userName"], "babs@example.com");
    assert_eq!(replaced.body["displayName"], "Babs");
    for cleared in ["name", "emails", "externalId"] {
        assert!(replaced.body.get(cleared).is_none(), "{cleared} is cleared by PUT");
    }
    let again = scim.put(&path, &replacement).await;
    assert_eq!(again.body["meta"]["version"], "W/\"2\"", "an identical PUT writes nothing");
    let updates = audited(&server, scim.org, "identity.user.update").await;
    let allowed: Vec<_> = updates.iter().filter(|e| e.outcome == Outcome::Allowed).collect();
    assert_eq!(allowed.len(), 1);
    for field in ["user_name", "email", "given_name", "family_name", "display_name", "external_id"] {
        assert!(allowed[0].details.contains(field), "{field} in {}", allowed[0].details);
    }
    assert!(!allowed[0].details.contains("babs"));
    scim.send("DELETE", &path, None, &[("If-Match", "W/\"1\"")]).await.assert_error(412, None);
    assert_eq!(scim.delete(&path).await.status, 204);
    scim.get(&path).await.assert_error(404, None);
    scim.delete(&path).await.assert_error(404, None);
    let deletes = audited(&server, scim.org, "identity.user.delete").await;
    let outcomes: Vec<Outcome> = deletes.iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, [Outcome::Failed, Outcome::Allowed], "the stale If-Match, then the deletion");
}

#[tokio::test]
async fn patch_applies_azure_style_operations() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let id = create_user(&scim, "bjensen@example.com").await;
    let path = format!("/Users/{id}");
    let reply = scim
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"},
                {"op": "Replace", "path": "name.givenName", "value": "Babs"},
                {"op": "Add", "value": {"displayName": "Babs Jensen", "name.familyName": "Smith"}},
                {"op": "Remove", "path": "externalId"},
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["emails"], json!([{"value": "babs@example.com", "type": "work"}]));
    assert_eq!(reply.body["name"], json!({"givenName": "Babs", "familyName": "Smith"}));
    assert_eq!(reply.body["displayName"], "Babs Jensen");
    assert!(reply.body.get("externalId").is_none());
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    assert_eq!(scim.get(&path).await.body, reply.body);
    let missing = scim.patch(&path, json!([{"op": "remove", "path": "emails"}, {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@example.com"}])).await;
    missing.assert_error(400, Some("noTarget"));
    assert_eq!(scim.get(&path).await.body["emails"][0]["value"], "babs@example.com", "all or nothing");
}

#[tokio::test]
async fn deactivating_through_scim_ends_every_session_and_reactivating_lets_the_user_back() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let id = create_user(&scim, "bjensen@example.com").await;
    let user = UserId::parse(&id).unwrap();
    let identity = &server.ctx().identity;
    let (_, token) = identity.sessions.create(scim.org, user, Default::default()).await.unwrap();
    identity.sessions.authenticate(&token).await.unwrap();

    let reply = scim.patch(&format!("/Users/{id}"), json!([{"op": "replace", "value": {"active": "False"}}])).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["active"], false);
    assert!(identity.sessions.authenticate(&token).await.is_err(), "the session ended with the deactivation");
    let deactivations = audited(&server, scim.org, "identity.user.deactivate").await;
    assert_eq!(deactivations.len(), 1);
    assert!(deactivations[0].details.contains("\"sessions_revoked\":1"), "{}", deactivations[0].details);

    let reply = scim.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "active", "value": true}])).await;
    assert_eq!(reply.body["active"], true);
    assert_eq!(audited(&server, scim.org, "identity.user.reactivate").await.len(), 1);
    let (_, fresh) = identity.sessions.create(scim.org, user, Default::default()).await.unwrap();
    identity.sessions.authenticate(&fresh).await.unwrap();

    // The store's own reactivation (used by admins) does the same, once.
    identity.users.deactivate(scim.org, user, scim_support::operator(), Default::default()).await.unwrap();
    assert_eq!(scim.get(&format!("/Users/{id}")).await.body["active"], false);
    let back = identity.users.reactivate(scim.org, user, scim_support::operator(), Default::default()).await.unwrap();
    assert_eq!(back.status, listone_identity::user::UserStatus::Active);
    let again = identity.users.reactivate(scim.org, user, scim_support::operator(), Default::default()).await.unwrap();
    assert_eq!(again.version, back.version, "reactivating an active user changes nothing");
    assert_eq!(audited(&server, scim.org, "identity.user.reactivate").await.len(), 2);
}
