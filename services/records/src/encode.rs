//! Domain -> proto: records and field changes as the API returns them. Values leave their
//! [`listone_core::Secret`] only here, on their way into the response.

use chrono::{DateTime, SecondsFormat, Utc};
use listone_proto::records::v1 as pb;
use listone_records::{Decoded, FieldChange, StoredRecord};
use prost_types::Struct;

use crate::values::value_from_json;

/// RFC 3339 with microseconds, UTC; the epoch for a time out of range (never stored).
pub(crate) fn rfc3339_us(at_us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(at_us).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A record of module `module` as the API returns it: erased fields absent from `fields` and
/// named in `erased_fields`.
pub(crate) fn record_to_pb(module: &str, record: &StoredRecord) -> pb::Record {
    let mut fields = Struct::default();
    let mut erased_fields = Vec::new();
    for (key, decoded) in &record.fields.fields {
        match decoded {
            Decoded::Value(value) => {
                fields.fields.insert(key.clone(), value_from_json(&value.expose().to_json()));
            }
            Decoded::Erased => erased_fields.push(key.clone()),
        }
    }
    pb::Record {
        id: record.id.to_string(),
        module: module.to_owned(),
        owner_id: record.owner_id.to_string(),
        subject_id: record.subject_id.map(|s| s.to_string()).unwrap_or_default(),
        version: record.version,
        created_by: record.created_by.to_string(),
        created_at: rfc3339_us(record.created_at_us),
        updated_by: record.updated_by.to_string(),
        updated_at: rfc3339_us(record.updated_at_us),
        restricted: record.restricted,
        fields: Some(fields),
        erased_fields,
    }
}

/// One history entry; an erased side is unset and flagged.
pub(crate) fn change_to_pb(change: &FieldChange) -> pb::FieldChange {
    let side = |decoded: &Decoded| match decoded {
        Decoded::Value(value) => (Some(value_from_json(&value.expose().to_json())), false),
        Decoded::Erased => (None, true),
    };
    let (old_value, old_erased) = side(&change.old);
    let (new_value, new_erased) = side(&change.new);
    pb::FieldChange {
        field: change.field.clone(),
        old_value,
        new_value,
        old_erased,
        new_erased,
        actor_kind: change.actor_kind.clone(),
        actor_id: change.actor_id.clone(),
        source: change.source.clone(),
        changed_at: rfc3339_us(change.changed_at_us),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use listone_core::{ModuleId, RecordId, Secret};
    use listone_customization::FieldValue;
    use listone_records::DecodedRecord;
    use prost_types::value::Kind;

    use super::*;

    #[test]
    fn erased_fields_are_named_and_absent_from_the_values() {
        let fields = BTreeMap::from([
            ("email".to_owned(), Decoded::Erased),
            ("last_name".to_owned(), Decoded::Value(Secret::new(FieldValue::Text("Lovelace".into())))),
            ("phone".to_owned(), Decoded::Value(Secret::new(FieldValue::Null))),
        ]);
        let record = StoredRecord {
            id: RecordId::new(),
            module_id: ModuleId::new(),
            owner_id: uuid::Uuid::nil(),
            subject_id: None,
            version: 3,
            created_by: uuid::Uuid::nil(),
            created_at_us: 0,
            updated_by: uuid::Uuid::nil(),
            updated_at_us: 1_500_000,
            restricted: false,
            fields: DecodedRecord { fields },
        };
        let pb = record_to_pb("contacts", &record);
        assert_eq!(pb.erased_fields, ["email"]);
        let values = pb.fields.unwrap().fields;
        assert_eq!(values.len(), 2);
        assert_eq!(values["last_name"].kind, Some(Kind::StringValue("Lovelace".into())));
        assert_eq!(values["phone"].kind, Some(Kind::NullValue(0)));
        assert_eq!(pb.created_at, "1970-01-01T00:00:00.000000Z");
        assert_eq!(pb.updated_at, "1970-01-01T00:00:01.500000Z");
        assert!(pb.subject_id.is_empty());
    }
}
