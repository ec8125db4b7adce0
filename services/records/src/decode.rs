//! Proto -> domain for the parts of a request that are not filters: ids, purposes, field
//! lists, update masks, owners and value structs. Each function adds its problems to a
//! [`Violations`] so a request reports every one at once; descriptions start with a rule code
//! like the record validator's (`invalid_id: ...`), and never echo the caller's value.

use std::collections::BTreeSet;

use listone_core::{Actor, Principal, RecordId, UserId, Violations};
use listone_customization::field::is_valid_key;
use prost_types::Struct;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::values::{json_from_struct, non_finite_fields};

/// The processing purpose recorded when a request names none.
pub const DEFAULT_PURPOSE: &str = "crm.records";
/// Longest processing purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 64;
/// Most keys a `field_keys` or `update_mask` list may hold (more than any module has fields).
pub const MAX_FIELD_KEYS: usize = 500;

/// Record id `text` at `path`.
pub(crate) fn record_id(path: &str, text: &str, v: &mut Violations) -> Option<RecordId> {
    if text.is_empty() {
        v.add(path, "required: a record id is required");
        return None;
    }
    match RecordId::parse(text) {
        Ok(id) => Some(id),
        Err(_) => {
            v.add(path, "invalid_id: is not a record id");
            None
        }
    }
}

/// User id `text` at `path`.
pub(crate) fn user_id(path: &str, text: &str, v: &mut Violations) -> Option<UserId> {
    if text.is_empty() {
        v.add(path, "required: a user id is required");
        return None;
    }
    match UserId::parse(text) {
        Ok(id) => Some(id),
        Err(_) => {
            v.add(path, "invalid_id: is not a user id");
            None
        }
    }
}

/// A module key at `path`: required; its shape is checked so that a key that cannot exist is
/// INVALID_ARGUMENT rather than NOT_FOUND.
pub(crate) fn module_key(path: &str, key: &str, v: &mut Violations) {
    if key.is_empty() {
        v.add(path, "required: a module key is required");
    } else if !is_valid_key(key) {
        v.add(path, "invalid_key: is not a module key");
    }
}

/// The processing purpose: [`DEFAULT_PURPOSE`] when empty, else 1 to [`MAX_PURPOSE_CHARS`]
/// characters of `[a-z0-9._-]`.
pub(crate) fn purpose(text: &str, v: &mut Violations) -> String {
    if text.is_empty() {
        return DEFAULT_PURPOSE.to_owned();
    }
    let shaped = text.len() <= MAX_PURPOSE_CHARS
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if !shaped {
        v.add("purpose", format!("invalid_purpose: must be 1 to {MAX_PURPOSE_CHARS} characters of [a-z0-9._-]"));
    }
    text.to_owned()
}

/// Field keys at `path` (`field_keys`, `update_mask`): each a well-formed key, named once.
fn keys(path: &str, keys: &[String], v: &mut Violations) {
    if keys.len() > MAX_FIELD_KEYS {
        v.add(path, format!("too_many: must name at most {MAX_FIELD_KEYS} fields"));
        return;
    }
    let mut seen = BTreeSet::new();
    for (i, key) in keys.iter().enumerate() {
        if !is_valid_key(key) {
            v.add(format!("{path}[{i}]"), "invalid_key: is not a field key");
        } else if !seen.insert(key.as_str()) {
            v.add(format!("{path}[{i}]"), "duplicate_key: names the same field twice");
        }
    }
}

/// The fields a read asks for: `None` (every field) when `field_keys` is empty.
pub(crate) fn field_keys<'a>(field_keys: &'a [String], v: &mut Violations) -> Option<Vec<&'a str>> {
    keys("field_keys", field_keys, v);
    (!field_keys.is_empty()).then(|| field_keys.iter().map(String::as_str).collect())
}

/// An update mask at `path`: required, non-empty, well-formed keys named once.
pub(crate) fn update_mask(path: &str, mask: &[String], v: &mut Violations) {
    if mask.is_empty() {
        v.add(path, "required: must name at least one field to change");
    }
    keys(path, mask, v);
}

/// The version an update was made against, at `path`: required (records start at 1).
pub(crate) fn expected_version(path: &str, version: i64, v: &mut Violations) {
    if version < 1 {
        v.add(path, "required: must be the version the change was made against (1 or more)");
    }
}

/// The owner of new records: the one named, else the calling user, else the nil UUID.
pub(crate) fn owner(principal: &Principal, named: Option<&str>, v: &mut Violations) -> Uuid {
    match named {
        Some(text) => Uuid::parse_str(text).unwrap_or_else(|_| {
            v.add("owner_id", "invalid_id: is not a user or group id");
            Uuid::nil()
        }),
        None => match &principal.actor {
            Actor::User { user_id } => user_id.as_uuid(),
            Actor::Service { .. } | Actor::System => Uuid::nil(),
        },
    }
}

/// Field values at `path` (`fields`, `records[2].fields`) as the JSON object the validator
/// reads; an unset struct is empty.
pub(crate) fn values(path: &str, values: Option<&Struct>, v: &mut Violations) -> Map<String, Json> {
    let Some(values) = values else { return Map::new() };
    match json_from_struct(values) {
        Some(map) => map,
        None => {
            for bad in non_finite_fields(values, path) {
                v.add(bad, "wrong_type: must be a finite number");
            }
            Map::new()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use listone_core::{App, Error, OrgId, UserId};

    use super::*;

    fn paths(v: Violations) -> Vec<String> {
        match v.into_result() {
            Ok(()) => Vec::new(),
            Err(Error::InvalidArgument { violations }) => violations.into_iter().map(|v| v.field).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn purpose_defaults_and_must_be_short_lowercase_words() {
        let mut v = Violations::new();
        assert_eq!(purpose("", &mut v), DEFAULT_PURPOSE);
        assert_eq!(purpose("crm.sales-2_b", &mut v), "crm.sales-2_b");
        assert!(v.is_empty());
        purpose("CRM Sales", &mut v);
        purpose(&"a".repeat(MAX_PURPOSE_CHARS + 1), &mut v);
        assert_eq!(paths(v), ["purpose", "purpose"]);
    }

    #[test]
    fn masks_are_required_and_each_key_is_checked() {
        let mut v = Violations::new();
        update_mask("update_mask", &[], &mut v);
        update_mask("records[1].update_mask", &["email".into(), "Bad Key".into(), "email".into()], &mut v);
        assert_eq!(paths(v), ["update_mask", "records[1].update_mask[1]", "records[1].update_mask[2]"]);
    }

    #[test]
    fn empty_field_keys_mean_every_field() {
        let mut v = Violations::new();
        assert_eq!(field_keys(&[], &mut v), None);
        let wanted = ["email".to_owned()];
        assert_eq!(field_keys(&wanted, &mut v), Some(vec!["email"]));
        assert!(v.is_empty());
    }

    #[test]
    fn ids_must_parse() {
        let mut v = Violations::new();
        assert!(record_id("id", "", &mut v).is_none());
        assert!(record_id("records[0].id", "nope", &mut v).is_none());
        let id = RecordId::new();
        assert_eq!(record_id("id", &id.to_string(), &mut v), Some(id));
        assert_eq!(paths(v), ["id", "records[0].id"]);
    }

    #[test]
    fn owners_default_to_the_calling_user_and_services_own_nothing() {
        let user = UserId::new();
        let mut principal = Principal {
            org_id: OrgId::new(),
            actor: Actor::User { user_id: user },
            app: App::Crm,
            roles: Default::default(),
            scopes: Default::default(),
        };
        let mut v = Violations::new();
        assert_eq!(owner(&principal, None, &mut v), user.as_uuid());
        principal.actor = Actor::Service { client_id: "crm".into() };
        assert!(owner(&principal, None, &mut v).is_nil());
        owner(&principal, Some("not-a-uuid"), &mut v);
        assert_eq!(paths(v), ["owner_id"]);
    }
}
