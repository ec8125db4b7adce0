//! Decoding a record's stored `data` back into values, for the requested fields only.

use std::collections::BTreeMap;

use listone_core::{Error, Secret};
use listone_crypto::DataKey;
use listone_customization::{FieldDef, FieldValue, ModuleDef};
use serde_json::{Map, Value as Json};

use super::stored::stored_value;
use super::{KeyScope, RecordPlace, field_aad, parse_envelope};

/// One decoded field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// The value, masked in Debug and Display.
    Value(Secret<FieldValue>),
    /// The value was sealed with a subject key that has been destroyed (the subject was erased).
    Erased,
}

/// The requested fields of one record, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedRecord {
    /// Every requested field: its value, or [`Decoded::Erased`].
    pub fields: BTreeMap<String, Decoded>,
}

impl DecodedRecord {
    /// The decoded field, if it was requested.
    pub fn get(&self, key: &str) -> Option<&Decoded> {
        self.fields.get(key)
    }

    /// The value of a requested field that is not erased.
    pub fn value(&self, key: &str) -> Option<&Secret<FieldValue>> {
        match self.fields.get(key) {
            Some(Decoded::Value(value)) => Some(value),
            _ => None,
        }
    }
}

/// Whether the record's subject key is at hand.
#[derive(Debug, Clone, Copy, Default)]
pub enum SubjectKeyState<'k> {
    /// Not looked up: no requested field is sealed under it.
    #[default]
    NotLoaded,
    /// The subject's key.
    Present(&'k DataKey),
    /// The subject's key no longer exists: its values decode as [`Decoded::Erased`].
    Erased,
}

/// The keys a decoding may need.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpeningKeys<'k> {
    /// The org key, for values of records without a subject.
    pub org: Option<&'k DataKey>,
    /// The subject key, for values of records with one.
    pub subject: SubjectKeyState<'k>,
}

/// Decodes the `requested` fields of `data` (the record's stored object), opening only the
/// sealed ones among them. An absent field is [`FieldValue::Null`]; a field the module does not
/// define is an error (callers project onto the module's fields).
pub fn decode_record(
    place: &RecordPlace,
    module: &ModuleDef,
    data: &Map<String, Json>,
    requested: &[&str],
    keys: OpeningKeys<'_>,
) -> Result<DecodedRecord, Error> {
    let mut record = DecodedRecord::default();
    for key in requested {
        let field = requested_field(module, key)?;
        let decoded = match data.get(*key) {
            None | Some(Json::Null) => Decoded::Value(Secret::new(FieldValue::Null)),
            Some(json) if field.tags.protection.is_sealed() => open_value(place, field, json, keys)?,
            Some(json) => Decoded::Value(Secret::new(stored_value(key, &field.field_type, json)?)),
        };
        record.fields.insert((*key).to_owned(), decoded);
    }
    Ok(record)
}

/// The key scopes the sealed values among `requested` need, so only those keys are loaded.
pub(crate) fn needed_scopes(
    module: &ModuleDef,
    data: &Map<String, Json>,
    requested: &[&str],
) -> Result<Vec<KeyScope>, Error> {
    let mut scopes = Vec::new();
    for key in requested {
        let field = requested_field(module, key)?;
        if let Some(Json::String(text)) = data.get(*key)
            && field.tags.protection.is_sealed()
        {
            let (scope, _) = parse_envelope(key, text)?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
    }
    Ok(scopes)
}

fn requested_field<'m>(module: &'m ModuleDef, key: &str) -> Result<&'m FieldDef, Error> {
    module.field(key).ok_or_else(|| Error::invalid("fields", "names a field the module does not have"))
}

fn open_value(place: &RecordPlace, field: &FieldDef, json: &Json, keys: OpeningKeys<'_>) -> Result<Decoded, Error> {
    let text =
        json.as_str().ok_or_else(|| Error::internal(format!("sealed field {} is not an envelope", field.key)))?;
    let (scope, envelope) = parse_envelope(&field.key, text)?;
    let key = match (scope, keys.subject, keys.org) {
        (KeyScope::Subject, SubjectKeyState::Erased, _) => return Ok(Decoded::Erased),
        (KeyScope::Subject, SubjectKeyState::Present(key), _) | (KeyScope::Org, _, Some(key)) => key,
        _ => return Err(Error::internal(format!("decoding field {} needs a key it was not given", field.key))),
    };
    let plaintext = key
        .open(&envelope, &field_aad(place, &field.key, scope))
        .map_err(|_| Error::internal(format!("sealed value of field {} does not open here", field.key)))?;
    let json: Json = serde_json::from_slice(&plaintext)
        .map_err(|_| Error::internal(format!("sealed value of field {} is not JSON", field.key)))?;
    Ok(Decoded::Value(Secret::new(stored_value(&field.key, &field.field_type, &json)?)))
}

#[cfg(test)]
mod tests;
