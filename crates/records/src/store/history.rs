//! Field history values: sealed like the record's own values for protected fields (bound to
//! the history row, so an old value cannot be moved into the record or another history row),
//! plain JSON for plain fields.

use std::collections::BTreeMap;

use listone_core::{Error, RecordId};
use listone_customization::{FieldValue, ModuleDef};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::RecordStore;
use super::rows::{HistoryRow, StoredHistory};
use crate::codec::{Decoded, RecordPlace, RequestKeys, open_record, seal_record};

/// One change of one field, decoded for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field key.
    pub field: String,
    /// The value before; [`Decoded::Erased`] when it can no longer be opened (the subject was
    /// erased, the record moved to another subject, or the field was removed).
    pub old: Decoded,
    /// The value after, read like `old`.
    pub new: Decoded,
    /// `user`, `service`, `script` or `system`.
    pub actor_kind: String,
    /// The actor's id (empty for the platform).
    pub actor_id: String,
    /// Where the change came from ([`super::ChangeSource::key`]).
    pub source: String,
    /// When, µs.
    pub changed_at_us: i64,
}

/// The place a history value is sealed at: the record's, with the history row's id.
fn history_place(record: &RecordPlace, history_id: Uuid) -> RecordPlace {
    RecordPlace { record: RecordId::from_uuid(history_id), ..*record }
}

impl RecordStore {
    /// The history rows of one update: one per changed field, old and new stored.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn history_rows<C: ConnectionTrait>(
        &self,
        conn: &C,
        keys: &mut RequestKeys<'_>,
        place: &RecordPlace,
        def: &ModuleDef,
        changed: &[String],
        old: &BTreeMap<String, FieldValue>,
        new: &BTreeMap<String, FieldValue>,
    ) -> Result<Vec<HistoryRow>, Error> {
        let mut rows = Vec::with_capacity(changed.len());
        for key in changed {
            let id = Uuid::now_v7();
            let at = history_place(place, id);
            let old = stored_text(conn, keys, &at, def, key, old.get(key)).await?;
            let new = stored_text(conn, keys, &at, def, key, new.get(key)).await?;
            rows.push(HistoryRow { id, field: key.clone(), old, new });
        }
        Ok(rows)
    }

    /// Decodes stored history rows of the record at `place`.
    pub(crate) async fn open_history<C: ConnectionTrait>(
        &self,
        conn: &C,
        keys: &mut RequestKeys<'_>,
        place: &RecordPlace,
        def: &ModuleDef,
        rows: Vec<StoredHistory>,
    ) -> Vec<FieldChange> {
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            let at = history_place(place, row.id);
            let old = open_text(conn, keys, &at, def, &row.field, row.old.as_deref()).await;
            let new = open_text(conn, keys, &at, def, &row.field, row.new.as_deref()).await;
            changes.push(FieldChange {
                field: row.field,
                old,
                new,
                actor_kind: row.actor_kind,
                actor_id: row.actor_id,
                source: row.source,
                changed_at_us: row.changed_at_us,
            });
        }
        changes
    }
}

/// The `old_value` / `new_value` text of one value: NULL for null, an envelope for sealed
/// fields, JSON text for plain ones.
async fn stored_text<C: ConnectionTrait>(
    conn: &C,
    keys: &mut RequestKeys<'_>,
    at: &RecordPlace,
    def: &ModuleDef,
    key: &str,
    value: Option<&FieldValue>,
) -> Result<Option<String>, Error> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
    let single = BTreeMap::from([(key.to_owned(), value.clone())]);
    let sealed = seal_record(conn, keys, at, def, &single).await?;
    Ok(sealed.data.get(key).map(|json| match json {
        Json::String(envelope) if def.field(key).is_some_and(|f| f.tags.protection.is_sealed()) => envelope.clone(),
        other => other.to_string(),
    }))
}

/// Opens one stored history value; anything that no longer opens reads as erased.
async fn open_text<C: ConnectionTrait>(
    conn: &C,
    keys: &mut RequestKeys<'_>,
    at: &RecordPlace,
    def: &ModuleDef,
    key: &str,
    text: Option<&str>,
) -> Decoded {
    let Some(field) = def.field(key) else { return Decoded::Erased };
    let Some(text) = text else { return Decoded::Value(listone_core::Secret::new(FieldValue::Null)) };
    let json = if field.tags.protection.is_sealed() {
        Json::String(text.to_owned())
    } else {
        match serde_json::from_str(text) {
            Ok(json) => json,
            Err(_) => return Decoded::Erased,
        }
    };
    let data = Json::Object(Map::from_iter([(key.to_owned(), json)])).to_string();
    match open_record(conn, keys, at, def, &data, &[key]).await {
        Ok(mut decoded) => decoded.fields.remove(key).unwrap_or(Decoded::Erased),
        Err(_) => Decoded::Erased,
    }
}
