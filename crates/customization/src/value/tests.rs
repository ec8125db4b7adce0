#![allow(clippy::unwrap_used)]
use serde_json::json;

use super::*;
use crate::field::{FieldRules, FormulaResult};
use crate::limits::{MAX_TEXT_LEN, MAX_URL_LEN};

fn field(field_type: FieldType) -> FieldDef {
    FieldDef::new("f", "F", field_type)
}

fn rule_of(field: &FieldDef, input: Json) -> &'static str {
    let violation = validate_value(field, &input).unwrap_err();
    assert_eq!(violation.field, "fields.f");
    violation.rule
}

#[test]
fn null_and_empty_are_no_value_unless_required() {
    let optional = field(FieldType::Text);
    assert_eq!(validate_value(&optional, &json!(null)).unwrap(), FieldValue::Null);
    assert_eq!(validate_value(&optional, &json!("  ")).unwrap(), FieldValue::Null);
    let required = field(FieldType::MultiPicklist { values: vec!["a".into()] }).required();
    assert_eq!(rule_of(&required, json!([])), "required");
    assert_eq!(rule_of(&required, json!(null)), "required");
}

#[test]
fn wrong_json_type_is_wrong_type() {
    assert_eq!(rule_of(&field(FieldType::Text), json!(5)), "wrong_type");
    assert_eq!(rule_of(&field(FieldType::Number), json!("5")), "wrong_type");
    assert_eq!(rule_of(&field(FieldType::Number), json!(1.5)), "wrong_type");
    assert_eq!(rule_of(&field(FieldType::Boolean), json!("true")), "wrong_type");
    assert_eq!(rule_of(&field(FieldType::Date), json!(20240101)), "wrong_type");
}

#[test]
fn text_over_the_type_ceiling_or_rule_is_too_long() {
    assert_eq!(rule_of(&field(FieldType::Text), json!("x".repeat(MAX_TEXT_LEN + 1))), "too_long");
    let mut short = field(FieldType::Text);
    short.rules.max_length = Some(3);
    short.rules.min_length = Some(2);
    assert_eq!(rule_of(&short, json!("abcd")), "too_long");
    assert_eq!(rule_of(&short, json!("a")), "too_short");
    // Length counts characters, not bytes.
    assert_eq!(validate_value(&short, &json!("äöü")).unwrap(), FieldValue::Text("äöü".into()));
}

#[test]
fn single_line_text_refuses_newlines_but_long_text_keeps_them() {
    assert_eq!(rule_of(&field(FieldType::Text), json!("a\nb")), "wrong_type");
    assert_eq!(validate_value(&field(FieldType::LongText), &json!("a\nb")).unwrap(), FieldValue::Text("a\nb".into()));
}

#[test]
fn pattern_must_match_the_whole_value() {
    let mut code = field(FieldType::Text);
    code.rules.pattern = Some("[A-Z]{3}".into());
    assert!(validate_value(&code, &json!("ABC")).is_ok());
    assert_eq!(rule_of(&code, json!("xABCx")), "pattern_mismatch");
}

#[test]
fn numbers_respect_min_and_max() {
    let mut age = field(FieldType::Number);
    age.rules =
        FieldRules { min: Some("0".parse().unwrap()), max: Some("130".parse().unwrap()), ..FieldRules::default() };
    assert_eq!(validate_value(&age, &json!(42)).unwrap(), FieldValue::Number(42));
    assert_eq!(rule_of(&age, json!(-1)), "below_min");
    assert_eq!(rule_of(&age, json!(131)), "above_max");
    assert_eq!(rule_of(&field(FieldType::Number), json!(u64::MAX)), "out_of_range");
}

#[test]
fn decimals_are_exact_and_padded_to_the_field_scale() {
    let amount = field(FieldType::Currency { code: "EUR".into(), scale: 2 });
    let value = validate_value(&amount, &json!("19.9")).unwrap();
    assert_eq!(value.to_json(), json!("19.90"));
    assert_eq!(validate_value(&amount, &json!(12)).unwrap().to_json(), json!("12.00"));
    assert_eq!(validate_value(&amount, &json!("1.500")).unwrap().to_json(), json!("1.50"));
    assert_eq!(rule_of(&amount, json!("1.999")), "too_many_decimals");
    assert_eq!(rule_of(&amount, json!("1e3")), "wrong_type");
    assert_eq!(rule_of(&amount, json!("12345678901234567890")), "out_of_range");
}

#[test]
fn email_phone_and_url_are_checked_and_normalised() {
    let email = field(FieldType::Email);
    assert_eq!(validate_value(&email, &json!("Ann@Example.com")).unwrap(), FieldValue::Text("Ann@example.com".into()));
    assert_eq!(rule_of(&email, json!("ann@")), "invalid_email");
    let phone = field(FieldType::Phone);
    assert_eq!(validate_value(&phone, &json!("+1 (415) 555-0100")).unwrap(), FieldValue::Text("+14155550100".into()));
    assert_eq!(rule_of(&phone, json!("555-0100")), "invalid_phone");
    let url = field(FieldType::Url);
    assert!(validate_value(&url, &json!("https://example.com")).is_ok());
    assert_eq!(rule_of(&url, json!("javascript:alert(1)")), "invalid_url");
    let long_link = format!("https://example.com/{}", "a".repeat(MAX_TEXT_LEN));
    assert!(validate_value(&url, &json!(long_link)).is_ok());
    assert_eq!(rule_of(&url, json!(format!("https://example.com/{}", "a".repeat(MAX_URL_LEN)))), "invalid_url");
}

#[test]
fn dates_and_datetimes_follow_rfc_3339() {
    let date = field(FieldType::Date);
    assert_eq!(validate_value(&date, &json!("2024-02-29")).unwrap().to_json(), json!("2024-02-29"));
    assert_eq!(rule_of(&date, json!("2023-02-29")), "invalid_date");
    assert_eq!(rule_of(&date, json!("2024-2-9")), "invalid_date");
    let at = field(FieldType::DateTime);
    let value = validate_value(&at, &json!("2024-05-01T12:00:00.1234567+02:00")).unwrap();
    assert_eq!(value.to_json(), json!("2024-05-01T10:00:00.123456Z"));
    assert_eq!(rule_of(&at, json!("2024-05-01 12:00")), "invalid_datetime");
}

#[test]
fn picklists_accept_only_listed_values() {
    let stage = field(FieldType::Picklist { values: vec!["new".into(), "won".into()] });
    assert_eq!(validate_value(&stage, &json!("won")).unwrap(), FieldValue::Picklist("won".into()));
    assert_eq!(rule_of(&stage, json!("lost")), "not_in_picklist");
    let tags = field(FieldType::MultiPicklist { values: vec!["a".into(), "b".into(), "c".into()] });
    assert_eq!(
        validate_value(&tags, &json!(["c", "a"])).unwrap(),
        FieldValue::MultiPicklist(vec!["a".into(), "c".into()])
    );
    assert_eq!(rule_of(&tags, json!(["a", "z"])), "not_in_picklist");
    assert_eq!(rule_of(&tags, json!(["a", "a"])), "duplicate_value");
}

#[test]
fn references_take_ids_and_formulas_refuse_input() {
    let account = field(FieldType::Lookup { target: "accounts".into() });
    let id = RecordId::new();
    assert_eq!(validate_value(&account, &json!(id.to_string())).unwrap(), FieldValue::Lookup(id));
    assert_eq!(rule_of(&account, json!("not-an-id")), "invalid_id");
    let owner = field(FieldType::User);
    assert_eq!(rule_of(&owner, json!(7)), "wrong_type");
    let total = field(FieldType::Formula { expression: "1 + 1".into(), result: FormulaResult::Number });
    assert_eq!(rule_of(&total, json!(2)), "read_only");
    assert_eq!(validate_value(&total, &json!(null)).unwrap(), FieldValue::Null);
}

#[test]
fn violation_messages_never_echo_the_value() {
    let email = field(FieldType::Email);
    let violation = validate_value(&email, &json!("secret.person@nowhere")).unwrap_err();
    assert!(!violation.message.contains("secret"));
}
