#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate};
use listone_core::{ModuleId, OrgId, RecordId, SubjectId, UserId};
use listone_customization::{FieldType, FormulaResult, Layout, ModuleKind, PersonalCategory, Protection};

use super::*;
use crate::codec::encode::{SealingKeys, encode_record};

/// One sample value of every field type.
fn samples() -> Vec<(FieldType, FieldValue)> {
    vec![
        (FieldType::Text, FieldValue::Text("Ada Lovelace".into())),
        (FieldType::LongText, FieldValue::Text("first line\nsecond line".into())),
        (FieldType::Number, FieldValue::Number(-42)),
        (FieldType::Decimal { scale: 2 }, FieldValue::Decimal("12.50".parse().unwrap())),
        (FieldType::Currency { code: "EUR".into(), scale: 2 }, FieldValue::Decimal("1500000.00".parse().unwrap())),
        (FieldType::Boolean, FieldValue::Bool(true)),
        (FieldType::Date, FieldValue::Date(NaiveDate::from_ymd_opt(1815, 12, 10).unwrap())),
        (FieldType::DateTime, FieldValue::DateTime(DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap())),
        (FieldType::Email, FieldValue::Text("Ada@example.com".into())),
        (FieldType::Phone, FieldValue::Text("+442079460958".into())),
        (FieldType::Url, FieldValue::Text("https://example.com/ada".into())),
        (FieldType::Picklist { values: vec!["new".into(), "won".into()] }, FieldValue::Picklist("won".into())),
        (
            FieldType::MultiPicklist { values: vec!["a".into(), "b".into(), "c".into()] },
            FieldValue::MultiPicklist(vec!["a".into(), "c".into()]),
        ),
        (FieldType::Lookup { target: "accounts".into() }, FieldValue::Lookup(RecordId::new())),
        (FieldType::User, FieldValue::User(UserId::new())),
        (
            FieldType::Formula { expression: "1".into(), result: FormulaResult::Decimal { scale: 1 } },
            FieldValue::Decimal("0.5".parse().unwrap()),
        ),
    ]
}

/// A module with every type in every protection mode it allows, and a value for each field.
fn every_type_and_mode() -> (ModuleDef, BTreeMap<String, FieldValue>) {
    let mut fields = Vec::new();
    let mut values = BTreeMap::new();
    for (field_type, value) in samples() {
        let modes = [
            (Protection::Plain, true),
            (Protection::Encrypted, field_type.allows_encryption()),
            (Protection::Searchable, field_type.allows_searchable()),
        ];
        for (protection, allowed) in modes {
            if !allowed {
                continue;
            }
            let key = format!("{}_{protection:?}", field_type.name()).to_lowercase();
            let field = FieldDef::new(key.clone(), "F", field_type.clone()).indexed();
            fields.push(field.tagged(PersonalCategory::Identity, protection));
            values.insert(key, value.clone());
        }
    }
    let module = ModuleDef {
        key: "people".into(),
        label_singular: "Person".into(),
        label_plural: "People".into(),
        kind: ModuleKind::Custom,
        is_subject: true,
        subject_link: None,
        fields,
        layout: Layout::default(),
        version: 1,
    };
    (module, values)
}

fn place(subject: Option<SubjectId>) -> RecordPlace {
    RecordPlace { org: OrgId::new(), module: ModuleId::new(), record: RecordId::new(), subject }
}

fn all_keys(module: &ModuleDef) -> Vec<&str> {
    module.fields.iter().map(|f| f.key.as_str()).collect()
}

#[test]
fn every_type_round_trips_in_every_protection_mode_with_and_without_a_subject() {
    let (module, values) = every_type_and_mode();
    let (org, subject) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
    for place in [place(Some(SubjectId::new())), place(None)] {
        let sealed =
            encode_record(&place, &module, &values, SealingKeys { org: Some(&org), subject: Some(&subject) }).unwrap();
        // Through the stored text, as the database would hand it back.
        let data: Map<String, Json> = serde_json::from_str(&sealed.data_text()).unwrap();
        let keys = OpeningKeys { org: Some(&org), subject: SubjectKeyState::Present(&subject) };
        let decoded = decode_record(&place, &module, &data, &all_keys(&module), keys).unwrap();
        for (key, value) in &values {
            assert_eq!(decoded.value(key).map(Secret::expose), Some(value), "{key}");
        }
    }
}

#[test]
fn a_sealed_value_opens_only_at_its_own_record_field_module_and_org() {
    let (module, values) = every_type_and_mode();
    let (org, subject) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
    let home = place(Some(SubjectId::new()));
    let sealing = SealingKeys { org: Some(&org), subject: Some(&subject) };
    let sealed = encode_record(&home, &module, &values, sealing).unwrap();
    let keys = OpeningKeys { org: Some(&org), subject: SubjectKeyState::Present(&subject) };

    let elsewhere = [
        RecordPlace { record: RecordId::new(), ..home },
        RecordPlace { module: ModuleId::new(), ..home },
        RecordPlace { org: OrgId::new(), ..home },
    ];
    for place in elsewhere {
        assert!(decode_record(&place, &module, &sealed.data, &["text_encrypted"], keys).is_err());
    }
    // The same envelope moved to another sealed field of the same record.
    let mut swapped = sealed.data.clone();
    swapped.insert("url_encrypted".into(), sealed.data["text_encrypted"].clone());
    assert!(decode_record(&home, &module, &swapped, &["url_encrypted"], keys).is_err());
    assert!(decode_record(&home, &module, &swapped, &["text_encrypted"], keys).is_ok());
}

#[test]
fn an_erased_subject_decodes_sealed_fields_as_erased_and_plain_fields_as_values() {
    let (module, values) = every_type_and_mode();
    let (org, subject) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
    let place = place(Some(SubjectId::new()));
    let sealed =
        encode_record(&place, &module, &values, SealingKeys { org: Some(&org), subject: Some(&subject) }).unwrap();
    let keys = OpeningKeys { org: Some(&org), subject: SubjectKeyState::Erased };
    let decoded = decode_record(&place, &module, &sealed.data, &all_keys(&module), keys).unwrap();
    assert_eq!(decoded.get("email_searchable"), Some(&Decoded::Erased));
    assert_eq!(decoded.get("text_encrypted"), Some(&Decoded::Erased));
    assert_eq!(decoded.value("text_plain").map(Secret::expose), Some(&FieldValue::Text("Ada Lovelace".into())));
}

#[test]
fn projection_opens_only_the_requested_fields() {
    let (module, values) = every_type_and_mode();
    let org = DataKey::generate().unwrap();
    let place = place(None);
    let sealed = encode_record(&place, &module, &values, SealingKeys { org: Some(&org), subject: None }).unwrap();
    let mut data = sealed.data.clone();
    data.insert("text_encrypted".into(), Json::String("o:AAAA".into()));
    let keys = OpeningKeys { org: Some(&org), ..OpeningKeys::default() };
    let decoded = decode_record(&place, &module, &data, &["phone_searchable", "number_plain"], keys).unwrap();
    assert_eq!(decoded.fields.len(), 2);
    assert!(decode_record(&place, &module, &data, &["text_encrypted"], keys).is_err());
    // Plain-only projections need no key at all.
    assert!(needed_scopes(&module, &data, &["number_plain", "text_plain"]).unwrap().is_empty());
    assert_eq!(needed_scopes(&module, &data, &["phone_searchable"]).unwrap(), vec![KeyScope::Org]);
}

#[test]
fn absent_fields_decode_as_null_and_unknown_fields_are_refused() {
    let (module, _) = every_type_and_mode();
    let decoded = decode_record(&place(None), &module, &Map::new(), &["text_encrypted"], OpeningKeys::default());
    assert_eq!(decoded.unwrap().value("text_encrypted").map(Secret::expose), Some(&FieldValue::Null));
    assert!(decode_record(&place(None), &module, &Map::new(), &["colour"], OpeningKeys::default()).is_err());
}

#[test]
fn decoded_values_never_show_in_debug_output() {
    let (module, values) = every_type_and_mode();
    let org = DataKey::generate().unwrap();
    let place = place(None);
    let sealed = encode_record(&place, &module, &values, SealingKeys { org: Some(&org), subject: None }).unwrap();
    let keys = OpeningKeys { org: Some(&org), ..OpeningKeys::default() };
    let decoded = decode_record(&place, &module, &sealed.data, &all_keys(&module), keys).unwrap();
    let debug = format!("{decoded:?}");
    assert!(!debug.contains("Ada") && !debug.contains("example.com"), "{debug}");
}
