//! Pure steps of a write: where a change came from, which fields an update touches, formulas
//! recomputed, what changed, and which lookups must be checked.

use std::collections::{BTreeMap, HashMap};

use listone_core::{Error, RecordId};
use listone_customization::{CompiledFormulas, FieldType, FieldValue, ModuleDef};
use serde_json::{Map, Value as Json};

/// Where a change came from; stored in `record_history.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeSource {
    /// A person through the app.
    Ui,
    /// An API client.
    Api,
    /// A bulk import.
    Import,
    /// A workflow or automation rule.
    Automation,
    /// An Aqary script.
    Script,
    /// The platform itself (migrations, erasure).
    System,
}

impl ChangeSource {
    /// Stable key stored in `record_history.source`.
    pub const fn key(self) -> &'static str {
        match self {
            ChangeSource::Ui => "ui",
            ChangeSource::Api => "api",
            ChangeSource::Import => "import",
            ChangeSource::Automation => "automation",
            ChangeSource::Script => "script",
            ChangeSource::System => "system",
        }
    }

    /// Parses a stable key.
    pub fn from_key(key: &str) -> Option<Self> {
        [Self::Ui, Self::Api, Self::Import, Self::Automation, Self::Script, Self::System]
            .into_iter()
            .find(|s| s.key() == key)
    }
}

/// The payload an update validates: exactly the masked fields, each with the caller's value or
/// null when the mask names a field the changes leave out (clearing it). An empty mask means
/// "every field present in `changes`".
pub fn masked_input(changes: &Map<String, Json>, field_mask: &[String]) -> Map<String, Json> {
    if field_mask.is_empty() {
        return changes.clone();
    }
    field_mask.iter().map(|key| (key.clone(), changes.get(key).cloned().unwrap_or(Json::Null))).collect()
}

/// Fills in the module's formula fields from the other values.
pub(crate) fn with_formulas(
    module: &ModuleDef,
    values: BTreeMap<String, FieldValue>,
) -> Result<BTreeMap<String, FieldValue>, Error> {
    let formulas = CompiledFormulas::compile(module)
        .map_err(|_| Error::internal(format!("formulas of module {} do not compile", module.key)))?;
    let mut all: HashMap<String, FieldValue> = values.into_iter().collect();
    formulas.apply(&mut all);
    Ok(all.into_iter().collect())
}

/// Keys whose value differs between `old` and `new` (absent counts as null), sorted.
pub fn changed_fields(old: &BTreeMap<String, FieldValue>, new: &BTreeMap<String, FieldValue>) -> Vec<String> {
    let null = FieldValue::Null;
    let mut keys: Vec<String> = old.keys().chain(new.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.retain(|key| old.get(key).unwrap_or(&null) != new.get(key).unwrap_or(&null));
    keys
}

/// A lookup value to check: the field, its target module key and the record it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupRef {
    pub field: String,
    pub target: String,
    pub record: RecordId,
}

/// The non-null lookup values among `keys` of `values`.
pub(crate) fn lookups<'k>(
    module: &ModuleDef,
    values: &BTreeMap<String, FieldValue>,
    keys: impl IntoIterator<Item = &'k String>,
) -> Vec<LookupRef> {
    keys.into_iter()
        .filter_map(|key| {
            let field = module.field(key)?;
            match (&field.field_type, values.get(key)) {
                (FieldType::Lookup { target }, Some(FieldValue::Lookup(record))) => {
                    Some(LookupRef { field: key.clone(), target: target.clone(), record: *record })
                }
                _ => None,
            }
        })
        .collect()
}

/// The names of the sealed or personal fields among `keys`: those whose reads are audited.
pub(crate) fn personal_fields<'k>(module: &ModuleDef, keys: impl IntoIterator<Item = &'k str>) -> Vec<String> {
    keys.into_iter()
        .filter(|key| {
            module.field(key).is_some_and(|f| {
                f.tags.category != listone_customization::PersonalCategory::None || f.tags.protection.is_sealed()
            })
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use listone_customization::standard_modules;
    use serde_json::json;

    use super::*;

    fn module(key: &str) -> ModuleDef {
        standard_modules("EUR").into_iter().find(|m| m.key == key).unwrap()
    }

    fn values(pairs: &[(&str, FieldValue)]) -> BTreeMap<String, FieldValue> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn a_masked_field_without_a_value_is_cleared_and_unmasked_changes_are_ignored() {
        let changes = json!({"first_name": "Ada", "job_title": "Countess"}).as_object().cloned().unwrap();
        let input = masked_input(&changes, &["first_name".into(), "phone".into()]);
        assert_eq!(Json::Object(input), json!({"first_name": "Ada", "phone": null}));
    }

    #[test]
    fn an_empty_mask_takes_every_change() {
        let changes = json!({"first_name": "Ada"}).as_object().cloned().unwrap();
        assert_eq!(masked_input(&changes, &[]), changes);
    }

    #[test]
    fn formulas_are_computed_from_the_other_values() {
        let deals = module("deals");
        let amount = "1000".parse().unwrap();
        let out = with_formulas(
            &deals,
            values(&[("amount", FieldValue::Decimal(amount)), ("probability", FieldValue::Number(50))]),
        )
        .unwrap();
        assert_eq!(out["expected_amount"].to_json(), json!("500.00"));
    }

    #[test]
    fn changed_fields_treat_absent_as_null() {
        let old = values(&[("a", FieldValue::Number(1)), ("b", FieldValue::Null)]);
        let new = values(&[("a", FieldValue::Number(2)), ("c", FieldValue::Null)]);
        assert_eq!(changed_fields(&old, &new), vec!["a".to_owned()]);
    }

    #[test]
    fn only_set_lookups_are_checked() {
        let contacts = module("contacts");
        let id = RecordId::new();
        let v = values(&[("account", FieldValue::Lookup(id)), ("last_name", FieldValue::Text("X".into()))]);
        let found = lookups(&contacts, &v, v.keys());
        assert_eq!(found, vec![LookupRef { field: "account".into(), target: "accounts".into(), record: id }]);
        assert!(
            lookups(&contacts, &values(&[("account", FieldValue::Null)]), ["account".to_owned()].iter()).is_empty()
        );
    }

    #[test]
    fn personal_fields_are_the_tagged_ones() {
        let contacts = module("contacts");
        assert_eq!(personal_fields(&contacts, ["email", "account", "last_name"]), vec!["email", "last_name"]);
    }

    #[test]
    fn change_sources_round_trip_their_keys() {
        for s in [ChangeSource::Ui, ChangeSource::Api, ChangeSource::Import, ChangeSource::Script] {
            assert_eq!(ChangeSource::from_key(s.key()), Some(s));
        }
    }
}
