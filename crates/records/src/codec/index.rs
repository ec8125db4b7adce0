//! What a record writes beside its data: `record_index` rows for indexed plain fields and blind
//! indexes of searchable fields, and `record_unique` claims for unique fields.

use std::fmt;

use chrono::NaiveTime;
use listone_core::{Error, ModuleId};
use listone_crypto::{DataKey, sha256};
use listone_customization::value::format::{normalize_email, normalize_phone};
use listone_customization::{FieldDef, FieldType, FieldValue, FormulaResult, ModuleDef, Protection};

use crate::query::{FieldIndex, IndexKind, MAX_TEXT_VALUE_CHARS};

/// Prefix of a unique value key too long to store as is (see [`unique_value_key`]).
const HASHED_KEY_PREFIX: &str = "sha256:";

/// One `record_index` row of a record: never a null value (absence is "no row").
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// The field key (`record_index.field_id`).
    pub field_key: String,
    /// 0 for single-valued fields; the position of the value for multi-picklists.
    pub ordinal: i32,
    /// The value and the typed column it goes to.
    pub value: IndexValue,
}

/// An indexed value and its `record_index` column; Debug names the column, never the value.
#[derive(Clone, PartialEq)]
pub enum IndexValue {
    /// `value_text`: text (at most 500 characters), picklist values, ids, or a blind index.
    Text(String),
    /// `value_num`: numbers and decimals as doubles (the exact value stays in `data`).
    Number(f64),
    /// `value_time_us`: dates (midnight UTC) and date-times, in microseconds.
    TimeUs(i64),
    /// `value_bool`.
    Bool(bool),
}

impl fmt::Debug for IndexValue {
    // Plain indexed text may still be personal data (a plain e-mail field), so keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IndexValue::Text(_) => "Text(***)",
            IndexValue::Number(_) => "Number(***)",
            IndexValue::TimeUs(_) => "TimeUs(***)",
            IndexValue::Bool(_) => "Bool(***)",
        })
    }
}

/// One `record_unique` claim of a record; Debug shows the field, never the claimed value.
#[derive(Clone, PartialEq, Eq)]
pub struct UniqueClaim {
    /// The field key (`record_unique.field_id`).
    pub field_key: String,
    /// The claimed key (`record_unique.value_key`): the match key, or the blind index.
    pub value_key: String,
}

impl fmt::Debug for UniqueClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UniqueClaim").field("field_key", &self.field_key).finish_non_exhaustive()
    }
}

/// The index kind of a field, as the query layer must know it, or `None` when it has no index
/// rows: searchable fields are always blind-indexed, plain fields when marked indexed, encrypted
/// fields never.
pub fn index_kind(field: &FieldDef) -> Option<IndexKind> {
    match field.tags.protection {
        Protection::Searchable => Some(IndexKind::BlindIndex),
        Protection::Encrypted => None,
        Protection::Plain if !field.rules.indexed => None,
        Protection::Plain => Some(match &field.field_type {
            FieldType::Number | FieldType::Decimal { .. } | FieldType::Currency { .. } => IndexKind::Number,
            FieldType::Boolean => IndexKind::Bool,
            FieldType::Date | FieldType::DateTime => IndexKind::Time,
            FieldType::Formula { result, .. } => match result {
                FormulaResult::Text => IndexKind::Text,
                FormulaResult::Number | FormulaResult::Decimal { .. } => IndexKind::Number,
                FormulaResult::Boolean => IndexKind::Bool,
            },
            FieldType::Text
            | FieldType::LongText
            | FieldType::Email
            | FieldType::Phone
            | FieldType::Url
            | FieldType::Picklist { .. }
            | FieldType::MultiPicklist { .. }
            | FieldType::Lookup { .. }
            | FieldType::User => IndexKind::Text,
        }),
    }
}

/// The [`FieldIndex`] of a module: every field [`index_kind`] gives a kind.
pub fn field_index(module: &ModuleDef) -> FieldIndex {
    let mut index = FieldIndex::new();
    for field in &module.fields {
        if let Some(kind) = index_kind(field) {
            index.insert(field.key.clone(), kind);
        }
    }
    index
}

/// The form of a text value that equality (blind indexes, unique claims) compares: e-mail
/// addresses wholly lower-cased (mailboxes are case-insensitive in practice, so `A@Example.com`
/// is `a@example.com`), phone numbers in E.164, other text as it is. Input that does not parse
/// as an address or number is compared trimmed (and lower-cased for e-mail), so it matches
/// nothing valid rather than failing the query.
pub fn match_key(field_type: &FieldType, text: &str) -> String {
    match field_type {
        FieldType::Email => normalize_email(text).unwrap_or_else(|| text.trim().to_owned()).to_lowercase(),
        FieldType::Phone => normalize_phone(text).unwrap_or_else(|| text.trim().to_owned()),
        _ => text.to_owned(),
    }
}

/// The blind index (lowercase hex HMAC) of `plaintext` for a searchable field: keyed by the org
/// key through a purpose naming the module and field, so equal values in different fields,
/// modules or orgs never share an index. Normalised with [`match_key`] first.
pub fn blind_index_for(org_key: &DataKey, module: ModuleId, field: &FieldDef, plaintext: &str) -> String {
    let purpose = format!("listone.record.blind/v1/{module}/{}", field.key);
    org_key.blind_index_key(&purpose).index(match_key(&field.field_type, plaintext).as_bytes()).to_hex()
}

/// The `record_unique` key of a plain value: its [`match_key`] (or canonical text for
/// non-text values), replaced by `sha256:` + hex digest when longer than the 500-character
/// column so long values can still be unique. `None` for null.
pub fn unique_value_key(field_type: &FieldType, value: &FieldValue) -> Option<String> {
    let text = match value {
        FieldValue::Null => return None,
        FieldValue::Text(text) | FieldValue::Picklist(text) => match_key(field_type, text),
        FieldValue::MultiPicklist(values) => serde_json::Value::from(values.clone()).to_string(),
        other => match other.to_json() {
            serde_json::Value::String(text) => text,
            json => json.to_string(),
        },
    };
    if text.chars().count() <= MAX_TEXT_VALUE_CHARS {
        Some(text)
    } else {
        Some(format!("{HASHED_KEY_PREFIX}{}", listone_crypto::hex(&sha256(text.as_bytes()))))
    }
}

/// The `record_index` rows of one plain indexed value.
pub(crate) fn plain_index_entries(field_key: &str, value: &FieldValue) -> Result<Vec<IndexEntry>, Error> {
    let entry = |ordinal: i32, value: IndexValue| IndexEntry { field_key: field_key.to_owned(), ordinal, value };
    let single = |value: IndexValue| Ok(vec![entry(0, value)]);
    match value {
        FieldValue::Null => Ok(Vec::new()),
        FieldValue::Text(text) | FieldValue::Picklist(text) => single(IndexValue::Text(capped(text))),
        FieldValue::Lookup(id) => single(IndexValue::Text(id.to_string())),
        FieldValue::User(id) => single(IndexValue::Text(id.to_string())),
        // i64 beyond 2^53 rounds; the index only orders and filters, `data` keeps the exact value.
        #[allow(clippy::cast_precision_loss)]
        FieldValue::Number(n) => single(IndexValue::Number(*n as f64)),
        FieldValue::Decimal(d) => {
            let number = d.to_string().parse::<f64>().map_err(|_| unindexable(field_key))?;
            single(IndexValue::Number(number))
        }
        FieldValue::Bool(b) => single(IndexValue::Bool(*b)),
        FieldValue::Date(date) => {
            single(IndexValue::TimeUs(date.and_time(NaiveTime::MIN).and_utc().timestamp_micros()))
        }
        FieldValue::DateTime(instant) => single(IndexValue::TimeUs(instant.timestamp_micros())),
        FieldValue::MultiPicklist(values) => values
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let ordinal = i32::try_from(i).map_err(|_| unindexable(field_key))?;
                Ok(entry(ordinal, IndexValue::Text(capped(text))))
            })
            .collect(),
    }
}

/// Text cut to the indexed length, on a character boundary.
fn capped(text: &str) -> String {
    text.chars().take(MAX_TEXT_VALUE_CHARS).collect()
}

fn unindexable(field_key: &str) -> Error {
    Error::internal(format!("value of field {field_key} cannot be indexed"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use chrono::{DateTime, NaiveDate};
    use listone_customization::{Decimal, PersonalCategory};

    use super::*;

    fn email_field(key: &str) -> FieldDef {
        FieldDef::new(key, "E-mail", FieldType::Email).tagged(PersonalCategory::Contact, Protection::Searchable)
    }

    #[test]
    fn email_match_key_ignores_case_and_phone_match_key_is_e164() {
        assert_eq!(match_key(&FieldType::Email, " A@Example.com"), "a@example.com");
        assert_eq!(match_key(&FieldType::Phone, "0044 20 7946 0958"), "+442079460958");
        assert_eq!(match_key(&FieldType::Text, "Acme"), "Acme");
    }

    #[test]
    fn blind_index_is_the_same_for_equal_normalized_values() {
        let key = DataKey::generate().unwrap();
        let module = ModuleId::new();
        let field = email_field("email");
        let index = blind_index_for(&key, module, &field, "A@Example.com");
        assert_eq!(index, blind_index_for(&key, module, &field, "a@example.com"));
        assert_eq!(index.len(), 64);
        assert!(!index.contains("example"));
    }

    #[test]
    fn blind_index_differs_across_fields_modules_and_org_keys() {
        let key = DataKey::generate().unwrap();
        let module = ModuleId::new();
        let index = blind_index_for(&key, module, &email_field("email"), "a@example.com");
        assert_ne!(index, blind_index_for(&key, module, &email_field("work_email"), "a@example.com"));
        assert_ne!(index, blind_index_for(&key, ModuleId::new(), &email_field("email"), "a@example.com"));
        let other_org = DataKey::generate().unwrap();
        assert_ne!(index, blind_index_for(&other_org, module, &email_field("email"), "a@example.com"));
    }

    #[test]
    fn index_kinds_follow_protection_and_type() {
        let plain = |t: FieldType| FieldDef::new("f", "F", t).indexed();
        assert_eq!(index_kind(&plain(FieldType::Decimal { scale: 2 })), Some(IndexKind::Number));
        assert_eq!(index_kind(&plain(FieldType::Date)), Some(IndexKind::Time));
        assert_eq!(index_kind(&plain(FieldType::Boolean)), Some(IndexKind::Bool));
        assert_eq!(index_kind(&plain(FieldType::MultiPicklist { values: vec![] })), Some(IndexKind::Text));
        assert_eq!(index_kind(&FieldDef::new("f", "F", FieldType::Text)), None);
        assert_eq!(index_kind(&email_field("email")), Some(IndexKind::BlindIndex));
        let encrypted = plain(FieldType::Text).tagged(PersonalCategory::Identity, Protection::Encrypted);
        assert_eq!(index_kind(&encrypted), None);
    }

    #[test]
    fn plain_values_index_into_their_typed_column() {
        let one = |value: FieldValue| plain_index_entries("f", &value).unwrap().remove(0).value;
        assert_eq!(one(FieldValue::Number(7)), IndexValue::Number(7.0));
        assert_eq!(one(FieldValue::Decimal("12.50".parse::<Decimal>().unwrap())), IndexValue::Number(12.5));
        assert_eq!(one(FieldValue::Bool(true)), IndexValue::Bool(true));
        let date = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap();
        assert_eq!(one(FieldValue::Date(date)), IndexValue::TimeUs(86_400_000_000));
        let instant = DateTime::from_timestamp_micros(1_234_567).unwrap();
        assert_eq!(one(FieldValue::DateTime(instant)), IndexValue::TimeUs(1_234_567));
        assert!(plain_index_entries("f", &FieldValue::Null).unwrap().is_empty());
    }

    #[test]
    fn multi_picklist_indexes_one_row_per_value_with_ordinals() {
        let entries = plain_index_entries("tags", &FieldValue::MultiPicklist(vec!["a".into(), "b".into()])).unwrap();
        let rows: Vec<_> = entries.iter().map(|e| (e.ordinal, e.value.clone())).collect();
        assert_eq!(rows, vec![(0, IndexValue::Text("a".into())), (1, IndexValue::Text("b".into()))]);
    }

    #[test]
    fn indexed_text_is_capped_at_500_characters() {
        let long = "é".repeat(600);
        let entries = plain_index_entries("notes", &FieldValue::Text(long)).unwrap();
        assert_eq!(entries[0].value, IndexValue::Text("é".repeat(500)));
    }

    #[test]
    fn debug_output_never_shows_indexed_or_claimed_values() {
        let entry = IndexEntry { field_key: "email".into(), ordinal: 0, value: IndexValue::Text("ann@x.io".into()) };
        let claim = UniqueClaim { field_key: "email".into(), value_key: "ann@x.io".into() };
        let debug = format!("{entry:?} {claim:?}");
        assert!(debug.contains("email") && !debug.contains("ann@"), "{debug}");
    }

    #[test]
    fn unique_keys_compare_emails_case_insensitively_and_hash_long_values() {
        let key = |t: &FieldType, v: FieldValue| unique_value_key(t, &v).unwrap();
        assert_eq!(key(&FieldType::Email, FieldValue::Text("Ann@example.com".into())), "ann@example.com");
        assert_eq!(key(&FieldType::Number, FieldValue::Number(42)), "42");
        let long = key(&FieldType::LongText, FieldValue::Text("x".repeat(501)));
        assert!(long.starts_with("sha256:") && long.len() == 7 + 64);
        assert_eq!(unique_value_key(&FieldType::Text, &FieldValue::Null), None);
    }
}
