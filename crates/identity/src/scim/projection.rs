//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes of a
//! resource a response carries. `schemas` and `id` are always returned; names the schema does
//! not know are ignored; when both parameters are given, `attributes` wins.

use serde_json::{Map, Value as Json};

use super::filter::AttrPath;
use super::schema::ResourceSchema;

/// The attributes to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// Only these (plus `schemas` and `id`), when not empty.
    attributes: Vec<AttrPath>,
    /// All but these.
    excluded: Vec<AttrPath>,
}

fn parse_list(schema: &ResourceSchema, list: Option<&str>) -> Vec<AttrPath> {
    list.into_iter()
        .flat_map(|list| list.split(','))
        .filter_map(|item| AttrPath::parse(item.trim()))
        .filter(|path| schema.knows(path))
        .collect()
}

const ALWAYS: [&str; 2] = ["schemas", "id"];

impl Projection {
    /// Reads the two comma-separated parameters for resources of `schema`.
    pub fn parse(schema: &ResourceSchema, attributes: Option<&str>, excluded: Option<&str>) -> Self {
        Self { attributes: parse_list(schema, attributes), excluded: parse_list(schema, excluded) }
    }

    /// Whether `attribute` (a top-level name) is returned in full or in part.
    pub fn returns(&self, attribute: &str) -> bool {
        if ALWAYS.contains(&attribute) {
            return true;
        }
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(|path| path.attr.eq_ignore_ascii_case(attribute));
        }
        !self.excluded.iter().any(|path| path.sub_attr.is_none() && path.attr.eq_ignore_ascii_case(attribute))
    }

    /// Drops what is not to be returned from `resource` (a JSON object).
    pub fn apply(&self, resource: &mut Json) {
        let Some(object) = resource.as_object_mut() else { return };
        if !self.attributes.is_empty() {
            object.retain(|name, value| {
                if ALWAYS.contains(&name.as_str()) {
                    return true;
                }
                let named: Vec<&AttrPath> =
                    self.attributes.iter().filter(|path| path.attr.eq_ignore_ascii_case(name)).collect();
                if named.is_empty() {
                    return false;
                }
                if named.iter().all(|path| path.sub_attr.is_some()) {
                    keep_subs(value, &named);
                }
                !is_empty(value)
            });
            return;
        }
        for path in &self.excluded {
            let Some(key) = object.keys().find(|key| key.eq_ignore_ascii_case(&path.attr)).cloned() else { continue };
            if ALWAYS.contains(&key.as_str()) {
                continue;
            }
            match &path.sub_attr {
                None => {
                    object.remove(&key);
                }
                Some(sub) => {
                    if let Some(value) = object.get_mut(&key) {
                        for_each_object(value, |members| members.retain(|name, _| !name.eq_ignore_ascii_case(sub)));
                        if is_empty(value) {
                            object.remove(&key);
                        }
                    }
                }
            }
        }
    }
}

fn keep_subs(value: &mut Json, named: &[&AttrPath]) {
    for_each_object(value, |members| {
        members.retain(|name, _| {
            named.iter().any(|path| path.sub_attr.as_deref().is_some_and(|sub| sub.eq_ignore_ascii_case(name)))
        });
    });
}

/// Runs `f` on a complex value, or on each element of a multi-valued one.
fn for_each_object(value: &mut Json, mut f: impl FnMut(&mut Map<String, Json>)) {
    match value {
        Json::Object(members) => f(members),
        Json::Array(elements) => {
            elements.iter_mut().filter_map(Json::as_object_mut).for_each(&mut f);
            elements.retain(|element| !is_empty(element));
        }
        _ => {}
    }
}

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Array(items) => items.is_empty(),
        Json::Object(members) => members.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use serde_json::json;

    use super::*;
    use crate::scim::schema::USER;

    fn user() -> Json {
        json!({
            "schemas": [USER.id],
            "id": "u1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "active": true,
            "meta": {"resourceType": "User"},
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Json {
        let mut out = user();
        Projection::parse(&USER, attributes, excluded).apply(&mut out);
        out
    }

    #[test]
    fn attributes_keep_only_the_named_ones_with_schemas_and_id() {
        assert_eq!(project(Some("userName"), None), json!({"schemas": [USER.id], "id": "u1", "userName": "bjensen"}));
        assert_eq!(
            project(Some("name.familyName, EMAILS.value,urn:ietf:params:scim:schemas:core:2.0:User:active"), None),
            json!({
                "schemas": [USER.id], "id": "u1",
                "name": {"familyName": "Jensen"},
                "emails": [{"value": "b@example.com"}],
                "active": true,
            })
        );
    }

    #[test]
    fn excluded_attributes_drop_the_named_ones_but_never_id() {
        let out = project(None, Some("emails,name.givenName,id,meta,nickName"));
        assert_eq!(
            out,
            json!({
                "schemas": [USER.id], "id": "u1", "userName": "bjensen",
                "name": {"familyName": "Jensen"}, "active": true,
            })
        );
    }

    #[test]
    fn attributes_win_over_excluded_attributes_and_unknown_names_are_ignored() {
        assert_eq!(project(Some("active"), Some("active")), json!({"schemas": [USER.id], "id": "u1", "active": true}));
        assert_eq!(project(None, Some("title")), user());
        let projection = Projection::parse(&USER, None, Some("emails"));
        assert!(!projection.returns("emails") && projection.returns("userName") && projection.returns("id"));
    }
}
