//! Encoding a record's validated values into what the database stores.

use std::collections::BTreeMap;
use std::fmt;

use listone_core::Error;
use listone_crypto::DataKey;
use listone_customization::{FieldDef, FieldValue, ModuleDef, Protection};
use serde_json::{Map, Value as Json};

use super::index::{IndexEntry, IndexValue, UniqueClaim, blind_index_for, plain_index_entries, unique_value_key};
use super::{KeyScope, RecordPlace, envelope_text, field_aad};

/// A record ready to store: its `data` JSON, its `record_index` rows and `record_unique` claims.
/// Debug lists field keys only: plain values may be personal data too.
#[derive(Clone, PartialEq)]
pub struct SealedRecord {
    /// The `record.data` object: plain values as JSON, sealed values as envelope strings.
    pub data: Map<String, Json>,
    /// The `record_index` rows.
    pub index: Vec<IndexEntry>,
    /// The `record_unique` claims.
    pub unique: Vec<UniqueClaim>,
}

impl SealedRecord {
    /// The `data` column text.
    pub fn data_text(&self) -> String {
        Json::Object(self.data.clone()).to_string()
    }
}

impl fmt::Debug for SealedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedRecord")
            .field("data_fields", &self.data.keys().collect::<Vec<_>>())
            .field("index", &self.index)
            .field("unique", &self.unique)
            .finish()
    }
}

/// The keys an encoding may need: the org key (blind indexes, and sealing when the record has
/// no subject) and the subject key (sealing when it has one).
#[derive(Debug, Clone, Copy, Default)]
pub struct SealingKeys<'k> {
    /// The org key; needed for searchable fields and for sealed fields of subject-less records.
    pub org: Option<&'k DataKey>,
    /// The record subject's key; needed for sealed fields when the record has a subject.
    pub subject: Option<&'k DataKey>,
}

/// Encodes `values` (validated, keyed by field) of the record at `place`. Every value must
/// belong to a field of `module`; nulls are left out of `data` and write no rows.
pub fn encode_record(
    place: &RecordPlace,
    module: &ModuleDef,
    values: &BTreeMap<String, FieldValue>,
    keys: SealingKeys<'_>,
) -> Result<SealedRecord, Error> {
    let mut sealed = SealedRecord { data: Map::new(), index: Vec::new(), unique: Vec::new() };
    for (key, value) in values {
        let field = module.field(key).ok_or_else(|| Error::internal(format!("module has no field {key}")))?;
        if value.is_null() {
            continue;
        }
        match field.tags.protection {
            Protection::Plain => encode_plain(field, value, &mut sealed)?,
            Protection::Encrypted => {
                if field.rules.unique {
                    return Err(Error::internal(format!(
                        "field {key} is unique but encrypted values cannot be compared"
                    )));
                }
                sealed.data.insert(key.clone(), Json::String(seal_value(place, field, value, keys)?));
            }
            Protection::Searchable => {
                let org_key = keys.org.ok_or_else(|| missing_key("org"))?;
                let text = searchable_text(field, value)?;
                let index = blind_index_for(org_key, place.module, field, text);
                sealed.data.insert(key.clone(), Json::String(seal_value(place, field, value, keys)?));
                if field.rules.unique {
                    sealed.unique.push(UniqueClaim { field_key: key.clone(), value_key: index.clone() });
                }
                sealed.index.push(IndexEntry { field_key: key.clone(), ordinal: 0, value: IndexValue::Text(index) });
            }
        }
    }
    Ok(sealed)
}

/// Which scope seals the record's values: its subject's key when it has a subject.
pub(crate) fn sealing_scope(place: &RecordPlace) -> KeyScope {
    if place.subject.is_some() { KeyScope::Subject } else { KeyScope::Org }
}

fn encode_plain(field: &FieldDef, value: &FieldValue, sealed: &mut SealedRecord) -> Result<(), Error> {
    sealed.data.insert(field.key.clone(), value.to_json());
    if field.rules.indexed {
        sealed.index.extend(plain_index_entries(&field.key, value)?);
    }
    if field.rules.unique
        && let Some(value_key) = unique_value_key(&field.field_type, value)
    {
        sealed.unique.push(UniqueClaim { field_key: field.key.clone(), value_key });
    }
    Ok(())
}

/// Seals the value's JSON under the place's key, bound to the place and field.
fn seal_value(
    place: &RecordPlace,
    field: &FieldDef,
    value: &FieldValue,
    keys: SealingKeys<'_>,
) -> Result<String, Error> {
    let scope = sealing_scope(place);
    let key = match scope {
        KeyScope::Subject => keys.subject.ok_or_else(|| missing_key("subject"))?,
        KeyScope::Org => keys.org.ok_or_else(|| missing_key("org"))?,
    };
    let plaintext = value.to_json().to_string();
    let envelope = key.seal(plaintext.as_bytes(), &field_aad(place, &field.key, scope))?;
    Ok(envelope_text(scope, &envelope))
}

/// The text a searchable value is indexed by (searchable types are all single text values).
fn searchable_text<'v>(field: &FieldDef, value: &'v FieldValue) -> Result<&'v str, Error> {
    match value {
        FieldValue::Text(text) | FieldValue::Picklist(text) => Ok(text),
        _ => Err(Error::internal(format!("searchable field {} does not hold text", field.key))),
    }
}

fn missing_key(which: &str) -> Error {
    Error::internal(format!("record encoding needs the {which} key it was not given"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use listone_core::{ModuleId, OrgId, RecordId, SubjectId};
    use listone_customization::{FieldType, Layout, ModuleKind, PersonalCategory};

    use super::*;

    fn module() -> ModuleDef {
        ModuleDef {
            key: "contacts".into(),
            label_singular: "Contact".into(),
            label_plural: "Contacts".into(),
            kind: ModuleKind::Custom,
            is_subject: true,
            subject_link: None,
            fields: vec![
                FieldDef::new("name", "Name", FieldType::Text).indexed().unique(),
                FieldDef::new("email", "E-mail", FieldType::Email)
                    .tagged(PersonalCategory::Contact, Protection::Searchable)
                    .unique(),
                FieldDef::new("notes", "Notes", FieldType::LongText)
                    .tagged(PersonalCategory::Identity, Protection::Encrypted),
                FieldDef::new("age", "Age", FieldType::Number),
            ],
            layout: Layout::default(),
            version: 1,
        }
    }

    fn place(subject: Option<SubjectId>) -> RecordPlace {
        RecordPlace { org: OrgId::new(), module: ModuleId::new(), record: RecordId::new(), subject }
    }

    fn values(pairs: &[(&str, FieldValue)]) -> BTreeMap<String, FieldValue> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn sealed_fields_leave_no_plaintext_in_data_and_searchable_fields_get_a_blind_index() {
        let (org, subject) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
        let input = values(&[
            ("name", FieldValue::Text("Ada".into())),
            ("email", FieldValue::Text("ada@example.com".into())),
            ("notes", FieldValue::Text("allergic to penicillin".into())),
        ]);
        let keys = SealingKeys { org: Some(&org), subject: Some(&subject) };
        let sealed = encode_record(&place(Some(SubjectId::new())), &module(), &input, keys).unwrap();
        let text = sealed.data_text();
        assert!(text.contains("\"Ada\""));
        assert!(!format!("{sealed:?}").contains("Ada"), "Debug lists keys, not values");
        assert!(!text.contains("ada@example") && !text.contains("penicillin"));
        assert!(sealed.data["email"].as_str().unwrap().starts_with("s:"));
        let fields: Vec<_> = sealed.index.iter().map(|e| e.field_key.as_str()).collect();
        assert_eq!(fields, vec!["email", "name"]);
        let claims: Vec<_> = sealed.unique.iter().map(|c| c.field_key.as_str()).collect();
        assert_eq!(claims, vec!["email", "name"]);
        assert_eq!(
            sealed.unique[0].value_key,
            match &sealed.index[0].value {
                IndexValue::Text(index) => index.clone(),
                other => panic!("{other:?}"),
            }
        );
    }

    #[test]
    fn records_without_a_subject_seal_under_the_org_key() {
        let org = DataKey::generate().unwrap();
        let input = values(&[("notes", FieldValue::Text("x".into()))]);
        let keys = SealingKeys { org: Some(&org), subject: None };
        let sealed = encode_record(&place(None), &module(), &input, keys).unwrap();
        assert!(sealed.data["notes"].as_str().unwrap().starts_with("o:"));
    }

    #[test]
    fn nulls_are_left_out_and_write_no_rows() {
        let input = values(&[("name", FieldValue::Null), ("email", FieldValue::Null)]);
        let sealed = encode_record(&place(None), &module(), &input, SealingKeys::default()).unwrap();
        assert!(sealed.data.is_empty() && sealed.index.is_empty() && sealed.unique.is_empty());
    }

    #[test]
    fn a_missing_key_or_unknown_field_is_an_internal_error() {
        let input = values(&[("notes", FieldValue::Text("x".into()))]);
        assert!(encode_record(&place(Some(SubjectId::new())), &module(), &input, SealingKeys::default()).is_err());
        let unknown = values(&[("colour", FieldValue::Text("red".into()))]);
        assert!(encode_record(&place(None), &module(), &unknown, SealingKeys::default()).is_err());
    }

    #[test]
    fn plain_fields_not_indexed_write_no_index_rows() {
        let input = values(&[("age", FieldValue::Number(3))]);
        let sealed = encode_record(&place(None), &module(), &input, SealingKeys::default()).unwrap();
        assert_eq!(sealed.data["age"], Json::from(3));
        assert!(sealed.index.is_empty());
    }
}
