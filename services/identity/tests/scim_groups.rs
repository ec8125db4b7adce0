//! SCIM `/Groups` through a real socket: create with members, get, list and filter, PATCH of
//! members as Azure AD and Okta send it, PUT, DELETE; members must be users of the same
//! organization; every change is audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod scim_support;

use listone_audit::Outcome;
use listone_testkit::TestServer;
use scim_support::{GROUP_SCHEMA, audited, count, create_group, create_user, tenant};
use serde_json::{Value as Json, json};

fn member_ids(group: &Json) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|members| members.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).clone()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_group_is_created_with_its_members_and_read_back() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let alice = create_user(&scim, "alice@example.com").await;
    let bob = create_user(&scim, "bob@example.com").await;
    let body = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": "EMEA Sales",
        "externalId": "ad-grp-1",
        "members": [{"value": alice, "display": "Alice"}, {"value": bob, "type": "User"}],
    });
    let created = scim.post("/Groups", &body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["displayName"], "EMEA Sales");
    assert_eq!(created.body["externalId"], "ad-grp-1");
    assert_eq!(member_ids(&created.body), sorted(&[&alice, &bob]));
    let base = format!("http://{}/scim/v2", server.addr());
    let alice_member =
        created.body["members"].as_array().unwrap().iter().find(|m| m["value"] == alice.as_str()).unwrap();
    assert_eq!(alice_member, &json!({"value": alice, "$ref": format!("{base}/Users/{alice}"), "type": "User"}));
    assert_eq!(created.body["meta"]["location"], format!("{base}/Groups/{id}"));
    assert_eq!(created.header("etag"), Some("W/\"1\""));

    let read = scim.get(&format!("/Groups/{id}")).await;
    assert_eq!(read.body, created.body);
    let without_members = scim.get(&format!("/Groups/{id}?excludedAttributes=members")).await;
    assert!(without_members.body.get("members").is_none());
    assert_eq!(without_members.body["displayName"], "EMEA Sales");

    scim.post("/Groups", &json!({"schemas": [GROUP_SCHEMA], "displayName": "emea SALES"}))
        .await
        .assert_error(409, Some("uniqueness"));
    let created_events = audited(&server, scim.org, "identity.group.create").await;
    assert_eq!(created_events.iter().filter(|e| e.outcome == Outcome::Allowed).count(), 1);
    assert!(created_events[0].details.contains(&alice) && created_events[0].details.contains(&bob));
}

#[tokio::test]
async fn members_from_another_organization_or_unknown_are_invalid_and_nothing_is_written() {
    let server = TestServer::start().await;
    let acme = tenant(&server, "acme").await;
    let other = tenant(&server, "other").await;
    let mallory = create_user(&other, "mallory@example.com").await;
    let alice = create_user(&acme, "alice@example.com").await;
    let body =
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{"value": alice}, {"value": mallory}]});
    acme.post("/Groups", &body).await.assert_error(400, Some("invalidValue"));
    let nested =
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{"value": alice, "type": "Group"}]});
    acme.post("/Groups", &nested).await.assert_error(400, Some("invalidValue"));
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM user_group").await, 0);
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM group_member").await, 0);

    let sales = create_group(&acme, "Sales", &[&alice]).await;
    acme.patch(&format!("/Groups/{sales}"), json!([{"op": "add", "path": "members", "value": [{"value": mallory}]}]))
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM group_member").await, 1);
    let refused = audited(&server, acme.org, "identity.group.update").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].outcome, Outcome::Failed);
}

#[tokio::test]
async fn patch_adds_and_removes_members_the_ways_directories_send_it() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let users: Vec<String> = {
        let mut users = Vec::new();
        for name in ["a", "b", "c", "d"] {
            users.push(create_user(&scim, &format!("{name}@example.com")).await);
        }
        users
    };
    let id = create_group(&scim, "Sales", &[&users[0]]).await;
    let path = format!("/Groups/{id}");

    // Azure AD: "Add" with a list, "Remove" with a value list; Okta: remove by value filter.
    let reply = scim
        .patch(&path, json!([{"op": "Add", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]}]))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(member_ids(&reply.body), sorted(&[&users[0], &users[1], &users[2]]));
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    let reply = scim.patch(&path, json!([{"op": "Remove", "path": "members", "value": [{"value": users[0]}]}])).await;
    assert_eq!(member_ids(&reply.body), sorted(&[&users[1], &users[2]]));
    let filter = format!("members[value eq \"{}\"]", users[1]);
    let reply = scim.patch(&path, json!([{"op": "remove", "path": filter}])).await;
    assert_eq!(member_ids(&reply.body), sorted(&[&users[2]]));
    let unchanged = scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": users[2]}]}])).await;
    assert_eq!(
        unchanged.body["meta"]["version"], reply.body["meta"]["version"],
        "adding a member again changes nothing"
    );

    // Anything else goes through the whole resource: rename and replace the member set at once.
    let reply = scim
        .patch(
            &path,
            json!([
                {"op": "replace", "path": "displayName", "value": "Sales EMEA"},
                {"op": "replace", "path": "members", "value": [{"value": users[3]}]},
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&reply.body), sorted(&[&users[3]]));
    let reply = scim.patch(&path, json!([{"op": "remove", "path": "members"}])).await;
    assert!(reply.body.get("members").is_none());
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM group_member").await, 0);

    let updates = audited(&server, scim.org, "identity.group.update").await;
    assert_eq!(updates.len(), 5, "one event per change, none for the no-op");
    assert!(updates.iter().all(|e| e.outcome == Outcome::Allowed));
    assert!(updates[0].details.contains(&users[1]) && updates[0].details.contains("members_added"));
}

#[tokio::test]
async fn put_replaces_name_external_id_and_members_and_delete_removes_the_group() {
    let server = TestServer::start().await;
    let scim = tenant(&server, "acme").await;
    let alice = create_user(&scim, "alice@example.com").await;
    let bob = create_user(&scim, "bob@example.com").await;
    let id = create_group(&scim, "Sales", &[&alice]).await;
    let path = format!("/Groups/{id}");
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Support", "members": [{"value": bob}]});
    let reply = scim.put(&path, &body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["displayName"], "Support");
    assert_eq!(member_ids(&reply.body), vec![bob.clone()]);

    create_group(&scim, "Marketing", &[]).await;
    let filtered = scim.get("/Groups?filter=displayName%20eq%20%22support%22").await;
    assert_eq!(filtered.body["totalResults"], 1);
    assert_eq!(filtered.body["Resources"][0]["id"], id.as_str());
    let by_member =
        scim.get(&format!("/Groups?filter=members%5Bvalue%20eq%20%22{bob}%22%5D&excludedAttributes=members")).await;
    assert_eq!(by_member.body["totalResults"], 1);
    assert!(by_member.body["Resources"][0].get("members").is_none());
    let all = scim.get("/Groups?count=1").await;
    assert_eq!((all.body["totalResults"].as_u64(), all.body["itemsPerPage"].as_u64()), (Some(2), Some(1)));

    assert_eq!(scim.delete(&path).await.status, 204);
    scim.get(&path).await.assert_error(404, None);
    assert_eq!(count(&server, "SELECT COUNT(*) AS n FROM group_member").await, 0);
    assert_eq!(audited(&server, scim.org, "identity.group.delete").await.len(), 1);
    // Deleting a user takes them out of their groups.
    let team = create_group(&scim, "Team", &[&alice, &bob]).await;
    assert_eq!(scim.delete(&format!("/Users/{alice}")).await.status, 204);
    assert_eq!(member_ids(&scim.get(&format!("/Groups/{team}")).await.body), vec![bob]);
}
