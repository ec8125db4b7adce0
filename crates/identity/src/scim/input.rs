//! Reading what a client sends against a schema: every attribute must be known (in any case),
//! of its type and within its length; read-only attributes are dropped (RFC 7643 §2.2), `null`
//! and empty values mean "unassigned". The result uses canonical attribute names, so the rest
//! of the code never deals with case or with the schema URN prefix.
//!
//! Details name attributes, never values.

use serde_json::{Map, Value as Json};

use super::error::ScimError;
use super::filter::AttrPath;
use super::schema::{AttrType, Attribute, Mutability, READ_ONLY_COMMON, ResourceSchema};

/// The writable attributes of a resource, by canonical name.
pub type Attributes = Map<String, Json>;

/// Where a client path points: an attribute and maybe one of its sub-attributes.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The attribute.
    pub attr: &'static Attribute,
    /// The sub-attribute, for `name.givenName`.
    pub sub: Option<&'static Attribute>,
}

/// What a path names: a writable target, or a read-only common attribute (`id`, `meta`).
#[derive(Debug, Clone, Copy)]
pub enum Resolved {
    /// An attribute of the schema or `externalId`.
    Attribute(Target),
    /// `id`, `meta` or `schemas`.
    ReadOnly,
}

/// A client-chosen name, shown in details only when it looks like an attribute name.
fn shown(name: &str) -> String {
    if name.chars().count() <= 64 && AttrPath::parse(name).is_some() {
        format!("`{name}`")
    } else {
        "an attribute".to_owned()
    }
}

/// Resolves `[urn:]attr[.sub]` against `schema`; unknown names and other schemas' URNs are
/// `None`.
pub fn resolve(schema: &ResourceSchema, text: &str) -> Option<Resolved> {
    let path = AttrPath::parse(text)?;
    if path.schema_urn.as_deref().is_some_and(|urn| !schema.is_own_urn(urn)) {
        return None;
    }
    if READ_ONLY_COMMON.iter().any(|name| name.eq_ignore_ascii_case(&path.attr)) {
        return Some(Resolved::ReadOnly);
    }
    let attr = schema.attribute(&path.attr)?;
    let sub = match path.sub_attr.as_deref() {
        Some(name) => Some(attr.sub_attribute(name)?),
        None => None,
    };
    Some(Resolved::Attribute(Target { attr, sub }))
}

/// Reads a POST or PUT body: `schemas` must name the resource's schema (and nothing else), and
/// every other member must be one of its attributes.
pub fn read_body(schema: &ResourceSchema, body: &Json) -> Result<Attributes, ScimError> {
    let object = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    check_schemas(schema, object)?;
    let mut attributes = Attributes::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        match resolve(schema, key) {
            Some(Resolved::ReadOnly) => {}
            Some(Resolved::Attribute(Target { attr, sub: None })) => {
                if let Some(value) = read_value(attr, attr.name, value)? {
                    attributes.insert(attr.name.to_owned(), value);
                }
            }
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "{} is not an attribute of the {} schema",
                    shown(key),
                    schema.name
                )));
            }
        }
    }
    Ok(attributes)
}

fn check_schemas(schema: &ResourceSchema, object: &Map<String, Json>) -> Result<(), ScimError> {
    let declared = object.iter().find(|(key, _)| key.eq_ignore_ascii_case("schemas")).map(|(_, value)| value);
    let Some(Json::Array(declared)) = declared else {
        return Err(ScimError::invalid_syntax(format!("`schemas` must list {}", schema.id)));
    };
    let mut has_own = false;
    for urn in declared {
        match urn.as_str() {
            Some(urn) if schema.is_own_urn(urn) => has_own = true,
            _ => return Err(ScimError::invalid_syntax(format!("`schemas` may only list {}", schema.id))),
        }
    }
    if has_own { Ok(()) } else { Err(ScimError::invalid_syntax(format!("`schemas` must list {}", schema.id))) }
}

/// Reads the value of `attr` (a list for a multi-valued one; a single value is taken as a
/// list of one); `None` when unassigned. `label` names it in details.
pub fn read_value(attr: &'static Attribute, label: &str, value: &Json) -> Result<Option<Json>, ScimError> {
    if !attr.multi_valued {
        return read_single(attr, label, value);
    }
    let items = match value {
        Json::Null => return Ok(None),
        Json::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut read = Vec::new();
    for item in items {
        if let Some(item) = read_single(attr, label, item)? {
            read.push(item);
        }
    }
    Ok((!read.is_empty()).then_some(Json::Array(read)))
}

/// Reads one value of `attr` (one element of a multi-valued attribute).
pub fn read_single(attr: &'static Attribute, label: &str, value: &Json) -> Result<Option<Json>, ScimError> {
    if attr.mutability == Mutability::ReadOnly || value.is_null() {
        return Ok(None);
    }
    match attr.kind {
        AttrType::Complex => {
            let Json::Object(members) = value else {
                return Err(ScimError::invalid_value(format!("`{label}` must be an object")));
            };
            let mut read = Map::new();
            for (key, value) in members {
                let sub = attr.sub_attribute(key).ok_or_else(|| {
                    ScimError::invalid_syntax(format!("{} is not a sub-attribute of `{label}`", shown(key)))
                })?;
                if let Some(value) = read_single(sub, &format!("{label}.{}", sub.name), value)? {
                    read.insert(sub.name.to_owned(), value);
                }
            }
            Ok((!read.is_empty()).then_some(Json::Object(read)))
        }
        AttrType::Boolean => match value {
            Json::Bool(flag) => Ok(Some(Json::Bool(*flag))),
            // Some directories (Azure AD among them) send booleans as "True" / "False".
            Json::String(text) if text.eq_ignore_ascii_case("true") => Ok(Some(Json::Bool(true))),
            Json::String(text) if text.eq_ignore_ascii_case("false") => Ok(Some(Json::Bool(false))),
            _ => Err(ScimError::invalid_value(format!("`{label}` must be true or false"))),
        },
        AttrType::String | AttrType::Reference => {
            let Json::String(text) = value else {
                return Err(ScimError::invalid_value(format!("`{label}` must be a string")));
            };
            if attr.max_chars > 0 && text.chars().count() > attr.max_chars {
                return Err(ScimError::invalid_value(format!(
                    "`{label}` is longer than {} characters",
                    attr.max_chars
                )));
            }
            if text.chars().any(char::is_control) {
                return Err(ScimError::invalid_value(format!("`{label}` must not contain control characters")));
            }
            Ok((!text.trim().is_empty()).then(|| Json::String(text.clone())))
        }
    }
}

/// Re-reads attributes after a PATCH, so its result meets the same rules as a PUT body.
pub fn read_attributes(schema: &ResourceSchema, attributes: &Attributes) -> Result<Attributes, ScimError> {
    let mut read = Attributes::new();
    for (name, value) in attributes {
        let attr =
            schema.attribute(name).ok_or_else(|| ScimError::invalid_path(format!("{} is unknown", shown(name))))?;
        if let Some(value) = read_value(attr, attr.name, value)? {
            read.insert(attr.name.to_owned(), value);
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use serde_json::json;

    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::{GROUP, USER};

    #[test]
    fn a_body_is_read_into_canonical_names_dropping_read_only_and_null_attributes() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "client-chosen",
            "meta": {"resourceType": "User"},
            "USERNAME": "bjensen@example.com",
            "Name": {"GivenName": "Barbara", "familyName": null},
            "emails": {"value": "bjensen@example.com", "TYPE": "work"},
            "active": "False",
            "displayName": "",
            "urn:ietf:params:scim:schemas:core:2.0:User:externalId": "ad-1",
        });
        let read = read_body(&USER, &body).unwrap();
        assert_eq!(
            Json::Object(read),
            json!({
                "userName": "bjensen@example.com",
                "name": {"givenName": "Barbara"},
                "emails": [{"value": "bjensen@example.com", "type": "work"}],
                "active": false,
                "externalId": "ad-1",
            })
        );
    }

    #[test]
    fn unknown_attributes_and_schemas_are_invalid_syntax() {
        let user = |extra: Json| {
            let mut body = json!({"schemas": [USER.id], "userName": "b"});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            read_body(&USER, &body).unwrap_err()
        };
        for extra in [
            json!({"nickName": "Babs"}),
            json!({"name": {"middleName": "J"}}),
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "1"}),
            json!({"schemas": [USER.id, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]}),
            json!({"schemas": [GROUP.id]}),
        ] {
            let err = user(extra.clone());
            assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidSyntax)), "{extra}");
        }
        let no_schemas = read_body(&USER, &json!({"userName": "b"})).unwrap_err();
        assert_eq!(no_schemas.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn over_long_and_mistyped_values_are_invalid_value_without_echoing_them() {
        let long = "x".repeat(255);
        let err = read_body(&USER, &json!({"schemas": [USER.id], "userName": long})).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(err.detail.contains("userName") && !err.detail.contains("xxx"));
        let err = read_body(&USER, &json!({"schemas": [USER.id], "userName": "b", "active": "yes"})).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        let err = read_body(&GROUP, &json!({"schemas": [GROUP.id], "displayName": "g", "members": [7]})).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn members_display_is_accepted_and_dropped() {
        let body = json!({"schemas": [GROUP.id], "displayName": "g", "members": [{"value": "u1", "display": "U"}]});
        assert_eq!(read_body(&GROUP, &body).unwrap()["members"], json!([{"value": "u1"}]));
    }
}
