//! Users and groups as SCIM resources (RFC 7643 §4) and back: the JSON we return, with `meta`
//! (`resourceType`, `created`, `lastModified`, `location`, `version` as `W/"n"`), and the
//! [`DirectoryUser`] / [`DirectoryGroup`] a client's attributes describe.

use chrono::{DateTime, SecondsFormat, Utc};
use listone_core::{Secret, UserId};
use serde_json::{Map, Value as Json, json};

use super::error::ScimError;
use super::input::Attributes;
use super::schema::{GROUP, GROUP_SCHEMA, USER, USER_SCHEMA};
use crate::group::store::{DirectoryGroup, Group};
use crate::user::provisioning::DirectoryUser;
use crate::user::{User, UserStatus};

/// The only email type kept; every stored email is returned as the primary work address.
pub const EMAIL_TYPE: &str = "work";

/// The ETag and `meta.version` of a resource at `version`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` / `If-None-Match` value names (`W/"3"`, `"3"`); `None` for `*`
/// or anything else.
pub fn version_of(etag: &str) -> Option<u64> {
    let text = etag.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn meta(resource_type: &str, location: &str, created: DateTime<Utc>, modified: DateTime<Utc>, version: u64) -> Json {
    json!({
        "resourceType": resource_type,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": location,
        "version": etag(version),
    })
}

/// Where a user is served.
pub fn user_location(base_url: &str, id: UserId) -> String {
    format!("{base_url}{}/{id}", USER.endpoint)
}

/// Where a group is served.
pub fn group_location(base_url: &str, id: impl std::fmt::Display) -> String {
    format!("{base_url}{}/{id}", GROUP.endpoint)
}

/// A user as a SCIM resource; `active` is false only once deactivated (an invited user is
/// active, waiting to accept).
pub fn user_json(user: &User, base_url: &str) -> Json {
    let mut out = Map::new();
    out.insert("schemas".to_owned(), json!([USER_SCHEMA]));
    out.insert("id".to_owned(), json!(user.id.to_string()));
    if let Some(external_id) = &user.external_id {
        out.insert("externalId".to_owned(), json!(external_id));
    }
    out.insert("userName".to_owned(), json!(user.user_name.expose()));
    let mut name = Map::new();
    if let Some(family) = &user.family_name {
        name.insert("familyName".to_owned(), json!(family.expose()));
    }
    if let Some(given) = &user.given_name {
        name.insert("givenName".to_owned(), json!(given.expose()));
    }
    if !name.is_empty() {
        out.insert("name".to_owned(), Json::Object(name));
    }
    if let Some(display_name) = &user.display_name {
        out.insert("displayName".to_owned(), json!(display_name.expose()));
    }
    if !user.email.expose().is_empty() {
        out.insert("emails".to_owned(), json!([{ "value": user.email.expose(), "type": EMAIL_TYPE }]));
    }
    out.insert("active".to_owned(), json!(user.status != UserStatus::Deactivated));
    let location = user_location(base_url, user.id);
    out.insert("meta".to_owned(), meta(USER.name, &location, user.created_at, user.updated_at, user.version));
    Json::Object(out)
}

/// A group and its members as a SCIM resource.
pub fn group_json(group: &Group, members: &[UserId], base_url: &str) -> Json {
    let mut out = Map::new();
    out.insert("schemas".to_owned(), json!([GROUP_SCHEMA]));
    out.insert("id".to_owned(), json!(group.id.to_string()));
    if let Some(external_id) = &group.external_id {
        out.insert("externalId".to_owned(), json!(external_id));
    }
    out.insert("displayName".to_owned(), json!(group.display_name));
    if !members.is_empty() {
        let members: Vec<Json> = members
            .iter()
            .map(|id| json!({ "value": id.to_string(), "$ref": user_location(base_url, *id), "type": USER.name }))
            .collect();
        out.insert("members".to_owned(), Json::Array(members));
    }
    let location = group_location(base_url, group.id);
    out.insert("meta".to_owned(), meta(GROUP.name, &location, group.created_at, group.updated_at, group.version));
    Json::Object(out)
}

/// The attributes a client can write, taken from a resource as returned (for PATCH).
pub fn writable(resource: &Json) -> Attributes {
    let mut attributes = resource.as_object().cloned().unwrap_or_default();
    for read_only in ["schemas", "id", "meta"] {
        attributes.remove(read_only);
    }
    attributes
}

fn text(attributes: &Attributes, name: &str) -> Option<String> {
    attributes.get(name).and_then(Json::as_str).map(str::to_owned)
}

fn secret(value: Option<String>) -> Option<Secret<String>> {
    value.map(Secret::new)
}

/// The user the attributes describe. `userName` is required; a missing `active` means `true`.
/// A user has one email: of several, the last work address is kept, else the last one (so an
/// `add` of a new address replaces the old one). `primary` is not kept (it could not be
/// returned as sent), so it does not choose either.
pub fn directory_user(attributes: &Attributes) -> Result<DirectoryUser, ScimError> {
    let user_name = text(attributes, "userName").ok_or_else(|| ScimError::invalid_value("`userName` is required"))?;
    let name = attributes.get("name").cloned().unwrap_or(Json::Null);
    let emails: Vec<&Json> =
        attributes.get("emails").and_then(Json::as_array).map(|e| e.iter().collect()).unwrap_or_default();
    let is_work =
        |email: &&&Json| email.get("type").and_then(Json::as_str).is_some_and(|t| t.eq_ignore_ascii_case(EMAIL_TYPE));
    let chosen = emails.iter().rev().find(is_work).or_else(|| emails.last());
    let email = chosen.and_then(|email| email.get("value")).and_then(Json::as_str).map(str::to_owned);
    if chosen.is_some() && email.is_none() {
        return Err(ScimError::invalid_value("`emails.value` is required"));
    }
    Ok(DirectoryUser {
        user_name: Secret::new(user_name),
        email: secret(email),
        given_name: secret(name.get("givenName").and_then(Json::as_str).map(str::to_owned)),
        family_name: secret(name.get("familyName").and_then(Json::as_str).map(str::to_owned)),
        display_name: secret(text(attributes, "displayName")),
        external_id: text(attributes, "externalId"),
        active: attributes.get("active").and_then(Json::as_bool).unwrap_or(true),
    })
}

/// The group the attributes describe. `displayName` is required; each member needs a `value`
/// that is a user id and, when a `type` is given, it must be `User`.
pub fn directory_group(attributes: &Attributes) -> Result<DirectoryGroup, ScimError> {
    let display_name =
        text(attributes, "displayName").ok_or_else(|| ScimError::invalid_value("`displayName` is required"))?;
    let mut members = Vec::new();
    for member in attributes.get("members").and_then(Json::as_array).into_iter().flatten() {
        if member.get("type").and_then(Json::as_str).is_some_and(|t| !t.eq_ignore_ascii_case(USER.name)) {
            return Err(ScimError::invalid_value("only users can be group members"));
        }
        members.push(member_id(member)?);
    }
    Ok(DirectoryGroup { display_name, external_id: text(attributes, "externalId"), members })
}

/// The user id in a member's `value`.
pub fn member_id(member: &Json) -> Result<UserId, ScimError> {
    let value = member
        .get("value")
        .and_then(Json::as_str)
        .ok_or_else(|| ScimError::invalid_value("`members.value` is required"))?;
    UserId::parse(value).map_err(|_| ScimError::invalid_value("`members.value` must be the id of a user"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::scim::input::read_body;

    #[test]
    fn etags_round_trip_and_star_names_no_version() {
        assert_eq!(etag(3), "W/\"3\"");
        assert_eq!(version_of("W/\"3\""), Some(3));
        assert_eq!(version_of("\"12\""), Some(12));
        assert_eq!(version_of("*"), None);
        assert_eq!(version_of("W/3"), None);
    }

    #[test]
    fn the_work_email_is_kept_else_the_last_and_active_defaults_to_true() {
        let body = json!({
            "schemas": [USER_SCHEMA],
            "userName": "bjensen",
            "emails": [
                {"value": "home@example.com", "type": "home", "primary": true},
                {"value": "work@example.com", "type": "Work"},
                {"value": "other@example.com", "type": "other"},
            ],
        });
        let user = directory_user(&read_body(&USER, &body).unwrap()).unwrap();
        assert_eq!(user.email.unwrap().expose(), "work@example.com");
        assert!(user.active);
        let body = json!({"schemas": [USER_SCHEMA], "userName": "b", "emails": [{"value": "h@x.example"}, {"value": "o@x.example", "primary": true}]});
        let user = directory_user(&read_body(&USER, &body).unwrap()).unwrap();
        assert_eq!(user.email.unwrap().expose(), "o@x.example", "primary does not choose");
    }

    #[test]
    fn a_user_needs_a_user_name_and_a_group_a_display_name_and_user_members() {
        let err = directory_user(&read_body(&USER, &json!({"schemas": [USER_SCHEMA]})).unwrap()).unwrap_err();
        assert_eq!(err.status, 400);
        let err = directory_group(&read_body(&GROUP, &json!({"schemas": [GROUP_SCHEMA]})).unwrap()).unwrap_err();
        assert_eq!(err.status, 400);
        let nested = json!({"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"value": UserId::new().to_string(), "type": "Group"}]});
        assert!(directory_group(&read_body(&GROUP, &nested).unwrap()).is_err());
        let not_an_id = json!({"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"value": "bjensen"}]});
        assert!(directory_group(&read_body(&GROUP, &not_an_id).unwrap()).is_err());
    }
}
