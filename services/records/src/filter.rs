//! Proto filters -> the records crate's [`Filter`], and the query compiler's violation paths
//! back in the request's terms.
//!
//! Operands arrive as google.protobuf.Value in the field's JSON form; the field's kind (from
//! the module definition) says what they become: RFC 3339 or YYYY-MM-DD text for times, UUID
//! text for ids, numbers (or decimal strings) for numbers. Whether a field may be filtered, an
//! operator applies, or an operand has the right type is the compiler's check; its paths
//! (`filter.and[1].value`) are translated by [`request_path`] into the proto's
//! (`filter.and.filters[1].condition.value`).

use chrono::{DateTime, NaiveDate};
use listone_core::Violations;
use listone_customization::ModuleDef;
use listone_proto::records::v1 as pb;
use listone_records::codec::index_kind;
use listone_records::query::{
    FieldRef, Filter, IndexKind, MAX_FILTER_CLAUSES, MAX_FILTER_DEPTH, Op, QueryValue, SystemField,
};
use prost_types::value::Kind;
use uuid::Uuid;

/// Most nodes (conditions and groups) one filter may hold; bounds work before any check.
pub const MAX_FILTER_NODES: usize = 4 * MAX_FILTER_CLAUSES;

/// How a field's operands are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OperandKind {
    Text,
    Number,
    Time,
    Bool,
    Id,
    /// Not a filterable field: the operand is taken as it comes; the compiler names the field.
    Any,
}

fn operand_kind(def: &ModuleDef, name: &str) -> OperandKind {
    match SystemField::from_name(name) {
        Some(SystemField::CreatedAt | SystemField::UpdatedAt) => OperandKind::Time,
        Some(SystemField::Version) => OperandKind::Number,
        Some(_) => OperandKind::Id,
        None => match def.field(name).and_then(index_kind) {
            Some(IndexKind::Text | IndexKind::BlindIndex) => OperandKind::Text,
            Some(IndexKind::Number) => OperandKind::Number,
            Some(IndexKind::Time) => OperandKind::Time,
            Some(IndexKind::Bool) => OperandKind::Bool,
            None => OperandKind::Any,
        },
    }
}

/// (nodes, deepest group nesting) of `filter`.
fn measure(filter: &pb::Filter) -> (usize, usize) {
    match &filter.kind {
        Some(pb::filter::Kind::And(group) | pb::filter::Kind::Or(group)) => {
            group.filters.iter().map(measure).fold((1, 1), |(n, d), (cn, cd)| (n + cn, d.max(cd + 1)))
        }
        _ => (1, 0),
    }
}

/// The domain filter of `filter` over module `def`, or `None` with every problem in `v`. A
/// filter over [`MAX_FILTER_NODES`] nodes or nested deeper than [`MAX_FILTER_DEPTH`] groups is
/// refused whole, naming `filter`.
pub(crate) fn filter_from_pb(filter: &pb::Filter, def: &ModuleDef, v: &mut Violations) -> Option<Filter> {
    let (nodes, depth) = measure(filter);
    if nodes > MAX_FILTER_NODES || depth > MAX_FILTER_DEPTH {
        v.add(
            "filter",
            format!(
                "too_complex: must have at most {MAX_FILTER_NODES} conditions and groups, nested at most \
                 {MAX_FILTER_DEPTH} deep"
            ),
        );
        return None;
    }
    node(filter, "filter", def, v)
}

fn node(filter: &pb::Filter, path: &str, def: &ModuleDef, v: &mut Violations) -> Option<Filter> {
    match &filter.kind {
        None => {
            v.add(path, "required: must be a condition, an and group or an or group");
            None
        }
        Some(pb::filter::Kind::Condition(c)) => condition(c, &format!("{path}.condition"), def, v),
        Some(pb::filter::Kind::And(group)) => group_of(group, &format!("{path}.and"), def, v).map(Filter::And),
        Some(pb::filter::Kind::Or(group)) => group_of(group, &format!("{path}.or"), def, v).map(Filter::Or),
    }
}

fn group_of(group: &pb::FilterGroup, path: &str, def: &ModuleDef, v: &mut Violations) -> Option<Vec<Filter>> {
    let items: Vec<Option<Filter>> =
        group.filters.iter().enumerate().map(|(i, f)| node(f, &format!("{path}.filters[{i}]"), def, v)).collect();
    items.into_iter().collect()
}

fn condition(c: &pb::Condition, path: &str, def: &ModuleDef, v: &mut Violations) -> Option<Filter> {
    let field = (!c.field.is_empty()).then(|| FieldRef::parse(&c.field));
    if field.is_none() {
        v.add(format!("{path}.field"), "required: must name a system field or a custom field key");
    }
    let op = match pb::Op::try_from(c.op) {
        Ok(pb::Op::Eq) => Some(Op::Eq),
        Ok(pb::Op::Ne) => Some(Op::Ne),
        Ok(pb::Op::Lt) => Some(Op::Lt),
        Ok(pb::Op::Lte) => Some(Op::Lte),
        Ok(pb::Op::Gt) => Some(Op::Gt),
        Ok(pb::Op::Gte) => Some(Op::Gte),
        Ok(pb::Op::In) => Some(Op::In),
        Ok(pb::Op::Contains) => Some(Op::Contains),
        Ok(pb::Op::StartsWith) => Some(Op::StartsWith),
        Ok(pb::Op::IsEmpty) => Some(Op::IsEmpty),
        Ok(pb::Op::Unspecified) | Err(_) => {
            v.add(format!("{path}.op"), "unspecified: must be one of the Op values");
            None
        }
    };
    let kind = operand_kind(def, &c.field);
    let value = match op? {
        Op::In => {
            let items: Vec<Option<QueryValue>> = c
                .values
                .iter()
                .enumerate()
                .map(|(i, value)| operand(kind, value.kind.as_ref(), &format!("{path}.values[{i}]"), v))
                .collect();
            items.into_iter().collect::<Option<Vec<_>>>().map(QueryValue::List)
        }
        Op::IsEmpty => match value_kind(c) {
            None | Some(Kind::NullValue(_)) => Some(QueryValue::Bool(true)),
            other => operand(OperandKind::Bool, other, &format!("{path}.value"), v),
        },
        _ => match value_kind(c) {
            None | Some(Kind::NullValue(_)) => {
                v.add(format!("{path}.value"), "required: a value to compare with is required");
                None
            }
            other => operand(kind, other, &format!("{path}.value"), v),
        },
    };
    Some(Filter::Cmp { field: field?, op: op?, value: value? })
}

fn value_kind(c: &pb::Condition) -> Option<&Kind> {
    c.value.as_ref().and_then(|value| value.kind.as_ref())
}

/// One operand as the field's kind reads it; a type the kind does not take passes through for
/// the compiler to name (`must be a number, not text`).
fn operand(kind: OperandKind, value: Option<&Kind>, path: &str, v: &mut Violations) -> Option<QueryValue> {
    let fail = |v: &mut Violations, message: &str| {
        v.add(path, message);
        None
    };
    match (kind, value) {
        (_, None | Some(Kind::NullValue(_))) => fail(v, "required: must not be null"),
        (_, Some(Kind::StructValue(_) | Kind::ListValue(_))) => fail(v, "wrong_type: must be a single value"),
        (OperandKind::Time, Some(Kind::StringValue(text))) => match time_us(text) {
            Some(us) => Some(QueryValue::Time(us)),
            None => fail(v, "invalid_time: must be a date (YYYY-MM-DD) or an RFC 3339 date-time"),
        },
        (OperandKind::Id, Some(Kind::StringValue(text))) => match Uuid::parse_str(text) {
            Ok(id) => Some(QueryValue::Id(id)),
            Err(_) => fail(v, "invalid_id: is not an id"),
        },
        (OperandKind::Number, Some(Kind::StringValue(text))) => match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Some(QueryValue::Number(n)),
            _ => fail(v, "wrong_type: must be a number"),
        },
        (_, Some(Kind::StringValue(text))) => Some(QueryValue::Text(text.clone())),
        (_, Some(Kind::NumberValue(n))) => Some(QueryValue::Number(*n)),
        (_, Some(Kind::BoolValue(b))) => Some(QueryValue::Bool(*b)),
    }
}

/// µs since the epoch of a date (midnight UTC, as dates are indexed) or an RFC 3339 instant.
fn time_us(text: &str) -> Option<i64> {
    if text.len() == 10 {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
    }
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_micros())
}

/// The request path of the compiler's violation path `path` of `filter`. Paths outside the
/// filter, and paths already in request terms, pass through unchanged.
pub(crate) fn request_path(path: &str, filter: Option<&pb::Filter>) -> String {
    let Some(mut rest) = path.strip_prefix("filter") else { return path.to_owned() };
    if !(rest.is_empty() || rest.starts_with('.')) {
        return path.to_owned();
    }
    let mut out = String::from("filter");
    let mut node = filter;
    loop {
        let group = [".and", ".or"].into_iter().find(|g| rest.starts_with(g));
        if let Some(g) = group {
            // A path already in request terms (`.and.filters[1]`) passes through unchanged.
            let after = rest[g.len()..].strip_prefix(".filters").unwrap_or(&rest[g.len()..]);
            out.push_str(g);
            out.push_str(".filters");
            let Some(indexed) = after.strip_prefix('[') else {
                out.push_str(after);
                return out;
            };
            let Some(close) = indexed.find(']') else {
                out.push_str(after);
                return out;
            };
            let index = indexed[..close].parse::<usize>().ok();
            out.push_str(&after[..close + 2]);
            node = match (node.and_then(|n| n.kind.as_ref()), index) {
                (Some(pb::filter::Kind::And(grp) | pb::filter::Kind::Or(grp)), Some(i)) => grp.filters.get(i),
                _ => None,
            };
            rest = &indexed[close + 1..];
            continue;
        }
        if rest.is_empty() || rest.starts_with(".condition") {
            out.push_str(rest);
            return out;
        }
        let is_in = matches!(
            node.and_then(|n| n.kind.as_ref()),
            Some(pb::filter::Kind::Condition(c)) if c.op == pb::Op::In as i32
        );
        match rest.strip_prefix(".value") {
            Some(tail) if is_in => out.push_str(&format!(".condition.values{tail}")),
            _ => out.push_str(&format!(".condition{rest}")),
        }
        return out;
    }
}

#[cfg(test)]
mod tests;
