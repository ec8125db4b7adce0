//! Reading a stored JSON value back into a [`FieldValue`] by the field's type.
//!
//! Unlike `validate_value` this checks shape only, never rules: a value stored under yesterday's
//! `max_length` or picklist must still read after the definition changed.

use chrono::{DateTime, NaiveDate, Utc};
use listone_core::{Error, RecordId, UserId};
use listone_customization::{Decimal, FieldType, FieldValue, FormulaResult};
use serde_json::Value as Json;

/// The value a field stored as `json`.
pub(crate) fn stored_value(field_key: &str, field_type: &FieldType, json: &Json) -> Result<FieldValue, Error> {
    if json.is_null() {
        return Ok(FieldValue::Null);
    }
    let mismatch = || Error::internal(format!("stored value of field {field_key} does not match its type"));
    let text = || json.as_str().ok_or_else(mismatch);
    let decimal = || text()?.parse::<Decimal>().map_err(|_| mismatch());
    let value = match field_type {
        FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Phone | FieldType::Url => {
            FieldValue::Text(text()?.to_owned())
        }
        FieldType::Number => FieldValue::Number(json.as_i64().ok_or_else(mismatch)?),
        FieldType::Decimal { .. } | FieldType::Currency { .. } => FieldValue::Decimal(decimal()?),
        FieldType::Boolean => FieldValue::Bool(json.as_bool().ok_or_else(mismatch)?),
        FieldType::Date => FieldValue::Date(NaiveDate::parse_from_str(text()?, "%Y-%m-%d").map_err(|_| mismatch())?),
        FieldType::DateTime => {
            FieldValue::DateTime(DateTime::parse_from_rfc3339(text()?).map_err(|_| mismatch())?.with_timezone(&Utc))
        }
        FieldType::Picklist { .. } => FieldValue::Picklist(text()?.to_owned()),
        FieldType::MultiPicklist { .. } => {
            let items = json.as_array().ok_or_else(mismatch)?;
            let values = items.iter().map(|item| item.as_str().map(str::to_owned).ok_or_else(mismatch));
            FieldValue::MultiPicklist(values.collect::<Result<_, _>>()?)
        }
        FieldType::Lookup { .. } => FieldValue::Lookup(RecordId::parse(text()?).map_err(|_| mismatch())?),
        FieldType::User => FieldValue::User(UserId::parse(text()?).map_err(|_| mismatch())?),
        FieldType::Formula { result, .. } => match result {
            FormulaResult::Text => FieldValue::Text(text()?.to_owned()),
            FormulaResult::Number => FieldValue::Number(json.as_i64().ok_or_else(mismatch)?),
            FormulaResult::Decimal { .. } => FieldValue::Decimal(decimal()?),
            FormulaResult::Boolean => FieldValue::Bool(json.as_bool().ok_or_else(mismatch)?),
        },
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn values_outside_todays_rules_still_read() {
        let picklist = FieldType::Picklist { values: vec!["new".into()] };
        assert_eq!(stored_value("f", &picklist, &json!("retired")).unwrap(), FieldValue::Picklist("retired".into()));
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_an_internal_error_naming_only_the_field() {
        let err = stored_value("age", &FieldType::Number, &json!("secret text")).unwrap_err();
        let message = format!("{err:?}");
        assert!(message.contains("age") && !message.contains("secret text"));
    }

    #[test]
    fn null_reads_as_null_for_every_type() {
        assert_eq!(stored_value("f", &FieldType::Date, &Json::Null).unwrap(), FieldValue::Null);
    }
}
