//! Checking a caller's record payload against a module definition: every field at once, one
//! violation per field, defaults filled in on create.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::error::Report;
use crate::field::is_valid_key;
use crate::module::ModuleDef;
use crate::value::{FieldValue, validate_value};

/// Whether the payload creates a record or changes some of its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Every field is considered: missing ones take their default, required ones must be there.
    Create,
    /// Only the fields present are checked (the field mask of an update).
    Update,
}

/// The typed values of a caller's payload, keyed by field; formula fields are left out (the
/// store computes them with [`crate::formula::CompiledFormulas`]).
pub fn validate_record_input(
    module: &ModuleDef,
    input: &Map<String, Json>,
    mode: WriteMode,
) -> Result<BTreeMap<String, FieldValue>, Report> {
    let mut report = Report::new();
    let mut values = BTreeMap::new();
    for key in input.keys() {
        if module.field(key).is_none() {
            // A syntactically odd key is reported without echoing it: it is caller-controlled text.
            let path = if is_valid_key(key) { format!("fields.{key}") } else { "fields".to_owned() };
            report.add(path, "unknown_field", "the module has no such field");
        }
    }
    for field in &module.fields {
        let provided = input.get(&field.key);
        if provided.is_some() && field.rules.read_only && !field.field_type.is_computed() {
            report.add(format!("fields.{}", field.key), "read_only", "is set by the system and cannot be written");
            continue;
        }
        let candidate = match (provided, mode) {
            (Some(value), _) => value,
            (None, WriteMode::Update) => continue,
            (None, WriteMode::Create) => field.rules.default.as_ref().unwrap_or(&Json::Null),
        };
        match validate_value(field, candidate) {
            Ok(value) if !field.field_type.is_computed() => {
                values.insert(field.key.clone(), value);
            }
            Ok(_) => {}
            Err(violation) => report.push(violation),
        }
    }
    report.into_result().map(|()| values)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;
    use crate::standard::standard_modules;

    fn deals() -> ModuleDef {
        standard_modules("EUR").into_iter().find(|m| m.key == "deals").unwrap()
    }

    fn payload(value: Json) -> Map<String, Json> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn create_fills_defaults_and_types_values() {
        let values = validate_record_input(
            &deals(),
            &payload(json!({"name": "Villa sale", "amount": "1500000"})),
            WriteMode::Create,
        )
        .unwrap();
        assert_eq!(values["stage"], FieldValue::Picklist("qualification".into()));
        assert_eq!(values["amount"].to_json(), json!("1500000.00"));
        assert_eq!(values["close_date"], FieldValue::Null);
        assert!(!values.contains_key("expected_amount"));
    }

    #[test]
    fn bad_payload_reports_one_violation_per_field() {
        let input = payload(json!({
            "amount": "12.345",
            "stage": "won",
            "close_date": "tomorrow",
            "expected_amount": "1",
            "colour": "red",
            "Not A Key": 1,
        }));
        let report = validate_record_input(&deals(), &input, WriteMode::Create).unwrap_err();
        for (field, rule) in [
            ("fields.name", "required"),
            ("fields.amount", "too_many_decimals"),
            ("fields.stage", "not_in_picklist"),
            ("fields.close_date", "invalid_date"),
            ("fields.expected_amount", "read_only"),
            ("fields.colour", "unknown_field"),
            ("fields", "unknown_field"),
        ] {
            assert!(report.has_at(field, rule), "{rule} at {field}: {report:?}");
        }
        assert_eq!(report.violations.len(), 7);
    }

    #[test]
    fn update_checks_only_the_fields_present() {
        let values = validate_record_input(&deals(), &payload(json!({"probability": 40})), WriteMode::Update).unwrap();
        assert_eq!(values.len(), 1);
        let report =
            validate_record_input(&deals(), &payload(json!({"probability": 140})), WriteMode::Update).unwrap_err();
        assert!(report.has_at("fields.probability", "above_max"));
    }
}
