//! PATCH (RFC 7644 §3.5.2): [`parse_patch`] reads a `PatchOp` message against a schema, and
//! [`apply`] applies its operations, in order and all or nothing, to a resource's writable
//! attributes. The caller then re-reads the result as a PUT body and writes it.
//!
//! - op names in any case (Azure AD sends `Replace`); attribute names in any case, with or
//!   without the schema URN; paths `attr`, `attr.sub`, `attr[filter]` and `attr[filter].sub`;
//! - without a path the value is an object whose keys are themselves paths
//!   (`{"name.givenName": "B", "active": false}`);
//! - `add` to a multi-valued attribute appends values not already there (by `value`); `add`
//!   through an equality filter that matches nothing creates the element
//!   (`emails[type eq "work"].value`); `replace` through a filter that matches nothing is
//!   `noTarget`; `remove` of what is absent succeeds; `remove` on `members` with a value
//!   removes the listed members (as Azure AD sends it);
//! - an unknown attribute or a malformed path is `invalidPath`, writing `id` or `meta` is
//!   `mutability`, removing a required attribute is `invalidValue`.

use serde_json::{Map, Value as Json};

use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter, Value, parse_filter};
use super::input::{Attributes, Resolved, Target, read_single, read_value, resolve};
use super::schema::{AttrType, Attribute, PATCH_OP_SCHEMA, ResourceSchema};

/// Most operations one PATCH request may carry.
pub const MAX_OPERATIONS: usize = 1000;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// Adds values (or sets a single-valued attribute).
    Add,
    /// Removes values.
    Remove,
    /// Replaces values.
    Replace,
}

/// Where an operation applies: an attribute (and sub-attribute), maybe narrowed by a filter
/// over the values of a multi-valued attribute.
#[derive(Debug, Clone)]
pub struct PatchPath {
    /// The attribute and sub-attribute.
    pub target: Target,
    /// `[filter]` on a multi-valued complex attribute.
    pub filter: Option<Filter>,
}

/// One operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// add, remove or replace.
    pub kind: PatchKind,
    /// Where; `None` means the resource itself.
    pub path: Option<PatchPath>,
    /// The value, as sent.
    pub value: Option<Json>,
}

fn member<'a>(object: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
    object.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value)
}

/// Reads a `PatchOp` message.
pub fn parse_patch(schema: &ResourceSchema, body: &Json) -> Result<Vec<Operation>, ScimError> {
    let object = body.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let declares_patch = match member(object, "schemas") {
        Some(Json::Array(schemas)) => {
            schemas.iter().all(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA)))
                && !schemas.is_empty()
        }
        _ => false,
    };
    if !declares_patch {
        return Err(ScimError::invalid_syntax(format!("`schemas` must be [\"{PATCH_OP_SCHEMA}\"]")));
    }
    if let Some((key, _)) =
        object.iter().find(|(key, _)| !key.eq_ignore_ascii_case("schemas") && !key.eq_ignore_ascii_case("Operations"))
    {
        let shown = if AttrPath::parse(key).is_some() && key.len() <= 64 { key.as_str() } else { "a member" };
        return Err(ScimError::invalid_syntax(format!("a PatchOp has no `{shown}`")));
    }
    let Some(Json::Array(operations)) = member(object, "Operations") else {
        return Err(ScimError::invalid_syntax("`Operations` must be a list of operations"));
    };
    if operations.is_empty() {
        return Err(ScimError::invalid_value("`Operations` is empty"));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_value(format!("at most {MAX_OPERATIONS} operations are accepted")));
    }
    operations.iter().enumerate().map(|(index, operation)| parse_operation(schema, index, operation)).collect()
}

fn parse_operation(schema: &ResourceSchema, index: usize, operation: &Json) -> Result<Operation, ScimError> {
    let Json::Object(operation) = operation else {
        return Err(ScimError::invalid_syntax(format!("operation {index} must be an object")));
    };
    if operation.keys().any(|key| !["op", "path", "value"].iter().any(|known| key.eq_ignore_ascii_case(known))) {
        return Err(ScimError::invalid_syntax(format!("operation {index} may only have `op`, `path` and `value`")));
    }
    let kind = match member(operation, "op").and_then(Json::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => PatchKind::Add,
        Some(op) if op.eq_ignore_ascii_case("remove") => PatchKind::Remove,
        Some(op) if op.eq_ignore_ascii_case("replace") => PatchKind::Replace,
        _ => {
            return Err(ScimError::invalid_syntax(format!("operation {index}: `op` must be add, remove or replace")));
        }
    };
    let path = match member(operation, "path") {
        None | Some(Json::Null) => None,
        Some(Json::String(path)) => Some(parse_path(schema, path)?),
        Some(_) => return Err(ScimError::invalid_path(format!("operation {index}: `path` must be a string"))),
    };
    let value = member(operation, "value").filter(|value| !value.is_null()).cloned();
    match (kind, &path, &value) {
        (PatchKind::Remove, None, _) => Err(ScimError::no_target(format!("operation {index}: remove needs a `path`"))),
        (PatchKind::Add | PatchKind::Replace, _, None) => {
            Err(ScimError::invalid_value(format!("operation {index}: add and replace need a `value`")))
        }
        _ => Ok(Operation { kind, path, value }),
    }
}

/// Reads a PATCH path: `[urn:]attr[.sub]`, `attr[filter]` or `attr[filter].sub`.
pub fn parse_path(schema: &ResourceSchema, text: &str) -> Result<PatchPath, ScimError> {
    let text = text.trim();
    let Some(open) = text.find('[') else {
        return match resolve(schema, text) {
            Some(Resolved::Attribute(target)) => Ok(PatchPath { target, filter: None }),
            Some(Resolved::ReadOnly) => Err(ScimError::mutability("`id`, `meta` and `schemas` cannot be changed")),
            None => Err(unknown_path(schema)),
        };
    };
    let close = text.rfind(']').filter(|&close| close > open).ok_or_else(|| ScimError::invalid_path("unclosed `[`"))?;
    let (head, inner, tail) = (&text[..open], &text[open + 1..close], &text[close + 1..]);
    let Some(Resolved::Attribute(Target { attr, sub: None })) = resolve(schema, head) else {
        return Err(unknown_path(schema));
    };
    if !attr.multi_valued || attr.kind != AttrType::Complex {
        return Err(ScimError::invalid_path(format!("`{}` has no values to filter", attr.name)));
    }
    let filter = parse_filter(inner).map_err(|err| ScimError::invalid_path(format!("value filter: {}", err.detail)))?;
    if !names_sub_attributes(&filter, attr) {
        return Err(ScimError::invalid_path(format!("the value filter names no sub-attribute of `{}`", attr.name)));
    }
    let sub = match tail {
        "" => None,
        tail => {
            let name = tail.strip_prefix('.').ok_or_else(|| ScimError::invalid_path("unexpected text after `]`"))?;
            Some(attr.sub_attribute(name).ok_or_else(|| unknown_path(schema))?)
        }
    };
    Ok(PatchPath { target: Target { attr, sub }, filter: Some(filter) })
}

fn unknown_path(schema: &ResourceSchema) -> ScimError {
    ScimError::invalid_path(format!("the path names no attribute of the {} schema", schema.name))
}

fn names_sub_attributes(filter: &Filter, attr: &Attribute) -> bool {
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => attr.sub_attribute(&path.attr).is_some(),
        Filter::And(left, right) | Filter::Or(left, right) => {
            names_sub_attributes(left, attr) && names_sub_attributes(right, attr)
        }
        Filter::Not(inner) => names_sub_attributes(inner, attr),
        Filter::ValuePath { .. } => false,
    }
}

/// Applies `operations` in order; on error `attributes` may be half-changed and must be dropped.
pub fn apply(schema: &ResourceSchema, attributes: &mut Attributes, operations: &[Operation]) -> Result<(), ScimError> {
    for operation in operations {
        match &operation.path {
            Some(path) => apply_at(attributes, operation.kind, path, operation.value.as_ref())?,
            None => {
                let Some(Json::Object(values)) = &operation.value else {
                    return Err(ScimError::invalid_value(
                        "without a `path`, the value must be an object of attributes",
                    ));
                };
                for (key, value) in values {
                    if key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    let path = parse_path(schema, key)?;
                    apply_at(attributes, operation.kind, &path, Some(value))?;
                }
            }
        }
    }
    attributes.retain(|_, value| !is_empty(value));
    Ok(())
}

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::Array(items) => items.is_empty(),
        Json::Object(members) => members.is_empty(),
        _ => false,
    }
}

fn apply_at(
    attributes: &mut Attributes,
    kind: PatchKind,
    path: &PatchPath,
    value: Option<&Json>,
) -> Result<(), ScimError> {
    let Target { attr, sub } = path.target;
    match (&path.filter, sub) {
        (Some(filter), sub) => apply_filtered(attributes, kind, attr, filter, sub, value),
        (None, Some(sub)) => apply_sub(attributes, kind, attr, sub, value),
        (None, None) => apply_whole(attributes, kind, attr, value),
    }
}

fn apply_whole(
    attributes: &mut Attributes,
    kind: PatchKind,
    attr: &'static Attribute,
    value: Option<&Json>,
) -> Result<(), ScimError> {
    if kind == PatchKind::Remove {
        if let (true, Some(listed)) = (attr.multi_valued, value) {
            // Azure AD removes members with `{"op":"remove","path":"members","value":[{"value":id}]}`.
            let listed = read_value(attr, attr.name, listed)?.unwrap_or(Json::Array(Vec::new()));
            let listed = listed.as_array().cloned().unwrap_or_default();
            if let Some(Json::Array(current)) = attributes.get_mut(attr.name) {
                current.retain(|element| !listed.iter().any(|gone| same_value(attr, element, gone)));
            }
            return Ok(());
        }
        return remove(attributes, attr);
    }
    let Some(new) = read_value(attr, attr.name, value.unwrap_or(&Json::Null))? else {
        return match kind {
            PatchKind::Replace => remove(attributes, attr),
            _ => Ok(()),
        };
    };
    match (kind, attr.multi_valued, attr.kind) {
        (PatchKind::Add, true, _) => {
            let current = attributes.entry(attr.name).or_insert_with(|| Json::Array(Vec::new()));
            if let (Json::Array(current), Json::Array(new)) = (current, new) {
                for element in new {
                    if !current.iter().any(|existing| same_value(attr, existing, &element)) {
                        current.push(element);
                    }
                }
            }
        }
        // RFC 7644 §3.5.2.1/3: a complex value's sub-attributes are merged, others kept.
        (_, false, AttrType::Complex) => {
            let current = attributes.entry(attr.name).or_insert_with(|| Json::Object(Map::new()));
            if let (Some(current), Json::Object(new)) = (current.as_object_mut(), new) {
                current.extend(new);
            }
        }
        _ => {
            attributes.insert(attr.name.to_owned(), new);
        }
    }
    Ok(())
}

fn remove(attributes: &mut Attributes, attr: &Attribute) -> Result<(), ScimError> {
    if attr.required {
        return Err(ScimError::invalid_value(format!("`{}` is required and cannot be removed", attr.name)));
    }
    attributes.remove(attr.name);
    Ok(())
}

fn apply_sub(
    attributes: &mut Attributes,
    kind: PatchKind,
    attr: &'static Attribute,
    sub: &'static Attribute,
    value: Option<&Json>,
) -> Result<(), ScimError> {
    let label = format!("{}.{}", attr.name, sub.name);
    let new = match (kind, value) {
        (PatchKind::Remove, _) | (_, None) => None,
        (_, Some(value)) => read_single(sub, &label, value)?,
    };
    if attr.multi_valued {
        let current = attributes.entry(attr.name).or_insert_with(|| Json::Array(Vec::new()));
        let Json::Array(elements) = current else { return Ok(()) };
        if elements.is_empty() && new.is_some() {
            elements.push(Json::Object(Map::new()));
        }
        for element in elements.iter_mut() {
            set_sub(element, sub, new.clone());
        }
        elements.retain(|element| !is_empty(element));
    } else {
        let current = attributes.entry(attr.name).or_insert_with(|| Json::Object(Map::new()));
        set_sub(current, sub, new);
    }
    Ok(())
}

fn set_sub(element: &mut Json, sub: &Attribute, value: Option<Json>) {
    if let Some(object) = element.as_object_mut() {
        match value {
            Some(value) => {
                object.insert(sub.name.to_owned(), value);
            }
            None => {
                object.remove(sub.name);
            }
        }
    }
}

fn apply_filtered(
    attributes: &mut Attributes,
    kind: PatchKind,
    attr: &'static Attribute,
    filter: &Filter,
    sub: Option<&'static Attribute>,
    value: Option<&Json>,
) -> Result<(), ScimError> {
    let current = attributes.entry(attr.name).or_insert_with(|| Json::Array(Vec::new()));
    let Json::Array(elements) = current else { return Ok(()) };
    let case_exact = |path: &AttrPath| attr.sub_attribute(&path.attr).is_some_and(|sub| sub.case_exact);
    let mut matched: Vec<usize> = (0..elements.len())
        .filter(|&index| elements.get(index).is_some_and(|element| filter.matches_with(element, &case_exact)))
        .collect();
    if kind == PatchKind::Remove {
        match sub {
            Some(sub) => matched.iter().for_each(|&index| {
                if let Some(element) = elements.get_mut(index) {
                    set_sub(element, sub, None);
                }
            }),
            None => {
                for &index in matched.iter().rev() {
                    elements.remove(index);
                }
            }
        }
        elements.retain(|element| !is_empty(element));
        return Ok(());
    }
    if matched.is_empty() {
        let mut created = Map::new();
        if kind == PatchKind::Replace || !equalities(filter, attr, &mut created) {
            return Err(ScimError::no_target(format!("the value filter matches no value of `{}`", attr.name)));
        }
        elements.push(Json::Object(created));
        matched.push(elements.len() - 1);
    }
    let value = value.unwrap_or(&Json::Null);
    match sub {
        Some(sub) => {
            let new = read_single(sub, &format!("{}.{}", attr.name, sub.name), value)?;
            for &index in &matched {
                if let Some(element) = elements.get_mut(index) {
                    set_sub(element, sub, new.clone());
                }
            }
        }
        None => {
            let new = read_single(attr, attr.name, value)?.unwrap_or(Json::Object(Map::new()));
            for &index in &matched {
                if let (Some(element), Json::Object(new)) = (elements.get_mut(index), &new) {
                    match (kind, element.as_object_mut()) {
                        (PatchKind::Add, Some(object)) => object.extend(new.clone()),
                        _ => *element = Json::Object(new.clone()),
                    }
                }
            }
        }
    }
    elements.retain(|element| !is_empty(element));
    Ok(())
}

/// The sub-attribute values an equality filter (`type eq "work"`, joined by `and`) pins down.
fn equalities(filter: &Filter, attr: &Attribute, out: &mut Map<String, Json>) -> bool {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value } => {
            let Some(sub) = attr.sub_attribute(&path.attr) else { return false };
            let value = match value {
                Value::String(text) => Json::String(text.clone()),
                Value::Boolean(flag) => Json::Bool(*flag),
                Value::Number(number) => Json::Number(number.clone()),
                Value::Null => return false,
            };
            out.insert(sub.name.to_owned(), value);
            true
        }
        Filter::And(left, right) => equalities(left, attr, out) && equalities(right, attr, out),
        _ => false,
    }
}

/// Two values of a multi-valued attribute are the same when their `value`s are equal (with the
/// sub-attribute's case rule), or, without a `value`, when they are equal as a whole.
fn same_value(attr: &Attribute, left: &Json, right: &Json) -> bool {
    match (left.get("value").and_then(Json::as_str), right.get("value").and_then(Json::as_str)) {
        (Some(left), Some(right)) => {
            let exact = attr.sub_attribute("value").is_some_and(|value| value.case_exact);
            if exact { left == right } else { left.to_lowercase() == right.to_lowercase() }
        }
        _ => left == right,
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
