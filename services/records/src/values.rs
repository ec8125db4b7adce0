//! google.protobuf.Struct / Value <-> JSON, the form the record validator and the API share.
//! Protobuf numbers are doubles: whole ones within ±2^53 become JSON integers (so number fields
//! accept them), and integers beyond that range leave as decimal strings rather than rounded.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

/// Largest integer a double holds exactly (2^53).
pub(crate) const MAX_EXACT_INTEGER: i64 = 9_007_199_254_740_992;

/// A JSON value from a protobuf value; `None` for a non-finite number (which JSON lacks).
pub(crate) fn json_from_value(value: &Value) -> Option<Json> {
    Some(match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::NumberValue(n)) => json_number(*n)?,
        Some(Kind::StructValue(s)) => Json::Object(json_from_struct(s)?),
        Some(Kind::ListValue(list)) => {
            Json::Array(list.values.iter().map(json_from_value).collect::<Option<Vec<_>>>()?)
        }
    })
}

/// A JSON object from a protobuf struct; `None` when some number is not finite.
pub(crate) fn json_from_struct(value: &Struct) -> Option<Map<String, Json>> {
    value.fields.iter().map(|(k, v)| json_from_value(v).map(|j| (k.clone(), j))).collect()
}

fn json_number(n: f64) -> Option<Json> {
    if !n.is_finite() {
        return None;
    }
    let limit = MAX_EXACT_INTEGER as f64;
    if n.fract() == 0.0 && (-limit..=limit).contains(&n) {
        // Exact: |n| <= 2^53 and whole.
        return Some(Json::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Json::Number)
}

/// Every field of `values` that is not a finite JSON value, as violation paths under `prefix`
/// (`fields`, `records[2].fields`).
pub(crate) fn non_finite_fields(values: &Struct, prefix: &str) -> Vec<String> {
    values.fields.iter().filter(|(_, v)| json_from_value(v).is_none()).map(|(k, _)| format!("{prefix}.{k}")).collect()
}

/// The protobuf value of a JSON value.
pub(crate) fn value_from_json(json: &Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !(-MAX_EXACT_INTEGER..=MAX_EXACT_INTEGER).contains(&i) => Kind::StringValue(i.to_string()),
            Some(i) => Kind::NumberValue(i as f64),
            None => match n.as_u64() {
                Some(u) => Kind::StringValue(u.to_string()),
                None => Kind::NumberValue(n.as_f64().unwrap_or_default()),
            },
        },
        Json::Array(items) => Kind::ListValue(ListValue { values: items.iter().map(value_from_json).collect() }),
        Json::Object(map) => Kind::StructValue(struct_from_json(map)),
    };
    Value { kind: Some(kind) }
}

/// The protobuf struct of a JSON object.
pub(crate) fn struct_from_json(map: &Map<String, Json>) -> Struct {
    Struct { fields: map.iter().map(|(k, v)| (k.clone(), value_from_json(v))).collect() }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn number(n: f64) -> Value {
        Value { kind: Some(Kind::NumberValue(n)) }
    }

    #[test]
    fn whole_doubles_become_integers_and_fractions_stay_fractions() {
        assert_eq!(json_from_value(&number(42.0)), Some(json!(42)));
        assert_eq!(json_from_value(&number(-3.0)), Some(json!(-3)));
        assert_eq!(json_from_value(&number(1.5)), Some(json!(1.5)));
        assert!(json_from_value(&number(f64::NAN)).is_none());
        assert!(json_from_value(&number(f64::INFINITY)).is_none());
    }

    #[test]
    fn a_struct_round_trips_through_json() {
        let original = json!({"name": "Ada", "count": 3, "ok": true, "tags": ["a", "b"], "none": null});
        let pb = struct_from_json(original.as_object().unwrap());
        assert_eq!(Json::Object(json_from_struct(&pb).unwrap()), original);
    }

    #[test]
    fn integers_beyond_double_precision_leave_as_strings() {
        let big = i64::MAX;
        assert_eq!(value_from_json(&json!(big)).kind, Some(Kind::StringValue(big.to_string())));
        assert_eq!(value_from_json(&json!(MAX_EXACT_INTEGER)).kind, Some(Kind::NumberValue(MAX_EXACT_INTEGER as f64)));
    }

    #[test]
    fn non_finite_fields_are_named_under_their_prefix() {
        let mut s = struct_from_json(json!({"a": 1}).as_object().unwrap());
        s.fields.insert("b".into(), number(f64::NAN));
        assert_eq!(non_finite_fields(&s, "records[1].fields"), ["records[1].fields.b"]);
    }
}
