//! Specifications of the filter: parsing (`parse.rs`), refusals (`malformed.rs`), evaluation
//! (`eval.rs`) and the examples of RFC 7644 §3.4.2.2 (`rfc_examples.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};

use super::{AttrPath, CompareOp, Filter, Value, parse_filter};
use crate::scim::error::{ScimError, ScimType};

mod eval;
mod malformed;
mod parse;
mod rfc_examples;

fn parse(text: &str) -> Filter {
    parse_filter(text).unwrap_or_else(|err| panic!("{text:?} should parse: {err}"))
}

fn refusal(text: &str) -> ScimError {
    match parse_filter(text) {
        Ok(filter) => panic!("{text:?} should be refused, parsed as {filter:?}"),
        Err(err) => err,
    }
}

fn matches(text: &str, resource: &Json) -> bool {
    parse(text).matches(resource)
}

fn path(text: &str) -> AttrPath {
    AttrPath::parse(text).unwrap()
}

fn eq(attr: &str, value: Value) -> Filter {
    Filter::Compare { path: path(attr), op: CompareOp::Eq, value }
}

fn num(n: i64) -> Value {
    Value::Number(n.into())
}

fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn and(left: Filter, right: Filter) -> Filter {
    Filter::And(Box::new(left), Box::new(right))
}

fn or(left: Filter, right: Filter) -> Filter {
    Filter::Or(Box::new(left), Box::new(right))
}

fn not(inner: Filter) -> Filter {
    Filter::Not(Box::new(inner))
}

/// Babs Jensen, after RFC 7643 §8.2 (full user with the enterprise extension).
fn bjensen() -> Json {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": { "familyName": "Jensen", "givenName": "Barbara", "middleName": "Jane" },
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "loginCount": 42,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "ims": [ { "value": "someaimhandle", "type": "aim" } ],
        "groups": [ { "value": "e9e30dba", "$ref": "https://example.com/v2/Groups/e9e30dba", "display": "Tour Guides" } ],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith" }
        }
    })
}

/// A second user: an intern without title, with work mail at another domain.
fn jsmith() -> Json {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "26118915-6090-4610-87e4-49d8ca9f808d",
        "userName": "JSmith",
        "name": { "familyName": "O'Malley", "givenName": "John" },
        "title": "",
        "userType": "Intern",
        "active": false,
        "emails": [
            { "value": "jsmith@example.org", "type": "work" },
            { "value": "john@example.com", "type": "home" }
        ],
        "ims": [ { "value": "jsmith@foo.com", "type": "xmpp" } ],
        "phoneNumbers": [],
        "meta": { "resourceType": "User", "lastModified": "2011-05-13T06:42:34+02:00" }
    })
}
