//! How PATCH operations change a resource's attributes, and which ones are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};

use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::{GROUP, USER};

fn patch(schema: &ResourceSchema, start: Json, operations: Json) -> Result<Json, ScimError> {
    let body = json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": operations });
    let operations = parse_patch(schema, &body)?;
    let mut attributes = start.as_object().cloned().unwrap();
    apply(schema, &mut attributes, &operations)?;
    Ok(Json::Object(attributes))
}

fn user() -> Json {
    json!({
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work"}],
        "active": true,
    })
}

fn refusal(schema: &ResourceSchema, start: Json, operations: Json) -> ScimType {
    let err = patch(schema, start, operations).unwrap_err();
    assert_eq!(err.status, 400, "{err:?}");
    err.scim_type.unwrap()
}

#[test]
fn op_and_attribute_names_are_case_insensitive_and_urns_are_accepted() {
    let out = patch(
        &USER,
        user(),
        json!([
            {"op": "Replace", "path": "NAME.givenname", "value": "Babs"},
            {"op": "REPLACE", "path": "urn:ietf:params:scim:schemas:core:2.0:User:active", "value": "False"},
            {"op": "add", "path": "displayName", "value": "Babs Jensen"},
        ]),
    )
    .unwrap();
    assert_eq!(out["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    assert_eq!(out["active"], false);
    assert_eq!(out["displayName"], "Babs Jensen");
}

#[test]
fn without_a_path_the_value_keys_are_paths() {
    let out = patch(
        &USER,
        user(),
        json!([{"op": "replace", "value": {"name.familyName": "Smith", "active": false, "externalId": "ad-9"}}]),
    )
    .unwrap();
    assert_eq!(out["name"]["familyName"], "Smith");
    assert_eq!(out["active"], false);
    assert_eq!(out["externalId"], "ad-9");
}

#[test]
fn filtered_paths_replace_matching_values_and_add_creates_a_missing_one() {
    let out = patch(
        &USER,
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "babs@example.com", "type": "work"}]));

    let no_email = json!({"userName": "bjensen", "active": true});
    let out = patch(
        &USER,
        no_email.clone(),
        json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"type": "work", "value": "babs@example.com"}]));

    let missing = json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@example.com"}]);
    assert_eq!(refusal(&USER, no_email, missing), ScimType::NoTarget);
}

#[test]
fn members_are_added_once_and_removed_by_filter_or_by_value() {
    let group = json!({"displayName": "Sales", "members": [{"value": "a"}, {"value": "b"}]});
    let out = patch(
        &GROUP,
        group.clone(),
        json!([{"op": "add", "path": "members", "value": [{"value": "b"}, {"value": "c", "display": "Carol"}]}]),
    )
    .unwrap();
    assert_eq!(out["members"], json!([{"value": "a"}, {"value": "b"}, {"value": "c"}]));

    let out = patch(&GROUP, group.clone(), json!([{"op": "remove", "path": "members[value eq \"a\"]"}])).unwrap();
    assert_eq!(out["members"], json!([{"value": "b"}]));

    let out =
        patch(&GROUP, group.clone(), json!([{"op": "Remove", "path": "members", "value": [{"value": "b"}]}])).unwrap();
    assert_eq!(out["members"], json!([{"value": "a"}]));

    let out = patch(&GROUP, group.clone(), json!([{"op": "remove", "path": "members"}])).unwrap();
    assert!(out.get("members").is_none(), "no members left is unassigned");

    let out = patch(&GROUP, group, json!([{"op": "remove", "path": "members[value eq \"zzz\"]"}])).unwrap();
    assert_eq!(out["members"].as_array().unwrap().len(), 2, "removing what is absent succeeds");
}

#[test]
fn replacing_a_multi_valued_attribute_replaces_all_its_values() {
    let out = patch(
        &USER,
        user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "new@example.com", "primary": true}]}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "new@example.com"}]), "primary is not kept");
}

#[test]
fn removing_optional_attributes_unassigns_them_and_required_ones_are_refused() {
    let out =
        patch(&USER, user(), json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "emails"}]))
            .unwrap();
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    assert!(out.get("emails").is_none());
    let required = json!([{"op": "remove", "path": "userName"}]);
    assert_eq!(refusal(&USER, user(), required), ScimType::InvalidValue);
}

#[test]
fn unknown_or_malformed_paths_are_invalid_path_and_read_only_ones_mutability() {
    let cases = [
        (json!([{"op": "add", "path": "nickName", "value": "Babs"}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": "name.middleName", "value": "J"}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": "emails[type eq ]", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": "emails[kind eq \"work\"].value", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "add", "path": "userName[value eq \"x\"]", "value": "x"}]), ScimType::InvalidPath),
        (
            json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (json!([{"op": "replace", "value": {"title": "Boss"}}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "id", "value": "x"}]), ScimType::Mutability),
        (json!([{"op": "replace", "path": "meta.created", "value": "x"}]), ScimType::Mutability),
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (json!([{"op": "move", "path": "userName"}]), ScimType::InvalidSyntax),
        (json!([{"op": "add", "path": "userName"}]), ScimType::InvalidValue),
        (json!([{"op": "add", "path": "userName", "value": "x", "extra": 1}]), ScimType::InvalidSyntax),
        (json!([{"op": "add", "path": "displayName", "value": "d".repeat(201)}]), ScimType::InvalidValue),
        (json!([]), ScimType::InvalidValue),
    ];
    for (operations, expected) in cases {
        assert_eq!(refusal(&USER, user(), operations.clone()), expected, "{operations}");
    }
}

#[test]
fn a_message_without_the_patch_schema_is_invalid_syntax() {
    let body = json!({"Operations": [{"op": "add", "path": "displayName", "value": "x"}]});
    assert_eq!(parse_patch(&USER, &body).unwrap_err().scim_type, Some(ScimType::InvalidSyntax));
    let body = json!({"schemas": [USER.id], "Operations": [{"op": "add", "path": "displayName", "value": "x"}]});
    assert_eq!(parse_patch(&USER, &body).unwrap_err().scim_type, Some(ScimType::InvalidSyntax));
}
