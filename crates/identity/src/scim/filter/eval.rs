//! Filter evaluation against a resource's JSON (RFC 7644 §3.4.2.2):
//!
//! - attribute names match in any case; an attribute qualified by an extension URN is looked up
//!   in that extension's object, one qualified by the resource's own schema at the top level;
//! - a multi-valued attribute matches when any value does; a complex value without a named
//!   sub-attribute is compared through its `value` sub-attribute (`emails co "example.com"`);
//! - strings compare ignoring case unless the attribute is `caseExact`; two RFC 3339 timestamps
//!   compare as instants, numbers numerically, booleans only for (in)equality;
//! - `pr` is false for a missing attribute, `null`, `""`, `[]` and `{}`; `eq null` means "not
//!   present" and `ne null` "present"; `ne` also matches a missing attribute.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::{Number, Value as Json};

use super::{AttrPath, CORE_SCHEMA_PREFIX, CompareOp, Filter, Value, default_case_exact};

/// Decides whether an attribute's strings compare case-sensitively (RFC 7643 `caseExact`).
pub type CaseExact<'a> = &'a dyn Fn(&AttrPath) -> bool;

impl Filter {
    /// Whether `resource` (a SCIM resource as a JSON object) matches, with [`default_case_exact`].
    pub fn matches(&self, resource: &Json) -> bool {
        self.matches_with(resource, &default_case_exact)
    }

    /// Whether `resource` matches, with the schema's `caseExact` given by `case_exact`.
    pub fn matches_with(&self, resource: &Json, case_exact: CaseExact<'_>) -> bool {
        Evaluation { case_exact }.matches(self, resource, None)
    }
}

struct Evaluation<'a> {
    case_exact: CaseExact<'a>,
}

impl Evaluation<'_> {
    /// Evaluates `filter` on `node`: the resource, or one element of `parent` inside `parent[…]`.
    fn matches(&self, filter: &Filter, node: &Json, parent: Option<&AttrPath>) -> bool {
        match filter {
            Filter::And(left, right) => self.matches(left, node, parent) && self.matches(right, node, parent),
            Filter::Or(left, right) => self.matches(left, node, parent) || self.matches(right, node, parent),
            Filter::Not(inner) => !self.matches(inner, node, parent),
            Filter::Present(path) => resolve(node, path, parent).into_iter().any(is_present),
            Filter::Compare { path, op, value } => {
                let values = resolve(node, path, parent);
                match (op, value) {
                    (CompareOp::Eq, Value::Null) => !values.into_iter().any(is_present),
                    (CompareOp::Ne, Value::Null) => values.into_iter().any(is_present),
                    (CompareOp::Ne, _) if values.is_empty() => true,
                    _ => {
                        let exact = (self.case_exact)(&qualified(path, parent));
                        values.into_iter().map(comparable).any(|found| compare(*op, found, value, exact))
                    }
                }
            }
            Filter::ValuePath { path, filter } => {
                let Some(attribute) = base(node, path, parent).and_then(|base| member(base, &path.attr)) else {
                    return false;
                };
                let elements = match attribute {
                    Json::Array(elements) => elements.iter().collect(),
                    single => vec![single],
                };
                elements.into_iter().any(|element| self.matches(filter, element, Some(path)))
            }
        }
    }
}

/// The path as the schema knows it: `type` inside `emails[…]` is `emails.type`.
fn qualified(path: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(parent) => AttrPath { sub_attr: Some(path.attr.clone()), ..parent.clone() },
        None => path.clone(),
    }
}

/// The object holding the path's attribute: the extension object for an extension URN, the
/// resource itself for its own schema or no URN, nothing for a schema the resource lacks.
fn base<'a>(node: &'a Json, path: &AttrPath, parent: Option<&AttrPath>) -> Option<&'a Json> {
    let Some(urn) = path.schema_urn.as_deref().filter(|_| parent.is_none()) else {
        return Some(node);
    };
    if let Some(extension) = member(node, urn).filter(|found| found.is_object()) {
        return Some(extension);
    }
    let declared = match member(node, "schemas") {
        Some(Json::Array(schemas)) => {
            schemas.iter().filter_map(Json::as_str).any(|schema| schema.eq_ignore_ascii_case(urn))
        }
        _ => urn.get(..CORE_SCHEMA_PREFIX.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX)),
    };
    declared.then_some(node)
}

/// Every value the path selects, multi-valued attributes flattened.
fn resolve<'a>(node: &'a Json, path: &AttrPath, parent: Option<&AttrPath>) -> Vec<&'a Json> {
    let Some(attribute) = base(node, path, parent).and_then(|base| member(base, &path.attr)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    match &path.sub_attr {
        Some(sub) => {
            for element in elements(attribute) {
                if let Some(value) = member(element, sub) {
                    found.extend(elements(value));
                }
            }
        }
        None => found.extend(elements(attribute)),
    }
    found
}

/// An array's elements, or the value itself.
fn elements(value: &Json) -> Vec<&Json> {
    match value {
        Json::Array(items) => items.iter().collect(),
        single => vec![single],
    }
}

/// A member of an object by name, in any case.
fn member<'a>(node: &'a Json, name: &str) -> Option<&'a Json> {
    let object = node.as_object()?;
    object.get(name).or_else(|| object.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value))
}

/// A complex value is compared through its `value` sub-attribute.
fn comparable(value: &Json) -> &Json {
    if value.is_object() { member(value, "value").unwrap_or(&Json::Null) } else { value }
}

fn is_present(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => items.iter().any(is_present),
        Json::Object(members) => members.values().any(is_present),
        Json::Bool(_) | Json::Number(_) => true,
    }
}

fn compare(op: CompareOp, found: &Json, wanted: &Value, exact: bool) -> bool {
    let ordering = match (found, wanted) {
        (Json::String(found), Value::String(wanted)) => {
            if op.is_substring() {
                return substring(op, found, wanted, exact);
            }
            compare_strings(found, wanted, exact)
        }
        (Json::Number(found), Value::Number(wanted)) => compare_numbers(found, wanted),
        (Json::Bool(found), Value::Boolean(wanted)) if !op.is_ordering() => Some(found.cmp(wanted)),
        _ => None,
    };
    match ordering {
        Some(ordering) => holds(op, ordering),
        // Values of different types are never equal, so they are always "not equal".
        None => op == CompareOp::Ne,
    }
}

fn holds(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_strings(found: &str, wanted: &str, exact: bool) -> Option<Ordering> {
    if let (Ok(found), Ok(wanted)) = (DateTime::parse_from_rfc3339(found), DateTime::parse_from_rfc3339(wanted)) {
        return Some(found.cmp(&wanted));
    }
    Some(if exact { found.cmp(wanted) } else { found.to_lowercase().cmp(&wanted.to_lowercase()) })
}

fn substring(op: CompareOp, found: &str, wanted: &str, exact: bool) -> bool {
    let (found, wanted) =
        if exact { (found.to_owned(), wanted.to_owned()) } else { (found.to_lowercase(), wanted.to_lowercase()) };
    match op {
        CompareOp::Co => found.contains(&wanted),
        CompareOp::Sw => found.starts_with(&wanted),
        CompareOp::Ew => found.ends_with(&wanted),
        _ => false,
    }
}

/// Integers compare exactly; anything else as `f64`.
fn compare_numbers(found: &Number, wanted: &Number) -> Option<Ordering> {
    if let (Some(found), Some(wanted)) = (found.as_i64(), wanted.as_i64()) {
        return Some(found.cmp(&wanted));
    }
    if let (Some(found), Some(wanted)) = (found.as_u64(), wanted.as_u64()) {
        return Some(found.cmp(&wanted));
    }
    found.as_f64()?.partial_cmp(&wanted.as_f64()?)
}
