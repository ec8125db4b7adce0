//! What the compiler needs to know about a module's custom fields: which are indexed, and how.
//! The caller builds this from the module definition; this crate knows nothing else of fields.

use std::collections::BTreeMap;

use listone_core::Error;

/// Which `record_index` column holds an indexed field, and so which operators apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// `value_text`: every operator; `contains` / `starts_with` ignore case.
    Text,
    /// `value_num` (double): comparisons, `in`, `is_empty`.
    Number,
    /// `value_time_us`: comparisons, `in`, `is_empty`.
    Time,
    /// `value_bool`: `eq`, `ne`, `is_empty`.
    Bool,
    /// `value_text` holding an HMAC of a searchable field: `eq`, `in`, `is_empty`; never sorted.
    BlindIndex,
}

/// The indexed custom fields of one module, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldIndex {
    fields: BTreeMap<String, IndexKind>,
}

impl FieldIndex {
    /// No indexed fields (system fields only).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an indexed field.
    pub fn with(mut self, key: impl Into<String>, kind: IndexKind) -> Self {
        self.insert(key, kind);
        self
    }

    /// Adds (or replaces) an indexed field.
    pub fn insert(&mut self, key: impl Into<String>, kind: IndexKind) {
        self.fields.insert(key.into(), kind);
    }

    /// The index kind of `key`, when it is an indexed field.
    pub fn kind(&self, key: &str) -> Option<IndexKind> {
        self.fields.get(key).copied()
    }
}

/// Turns the plaintext operand of a searchable field into its blind index (an HMAC under the
/// org's key), so plaintext never reaches SQL.
pub trait BlindIndexer {
    /// The blind-index value of `plaintext` for the field `field_key`.
    fn blind_index(&self, field_key: &str, plaintext: &str) -> Result<String, Error>;
}

impl<F> BlindIndexer for F
where
    F: Fn(&str, &str) -> Result<String, Error>,
{
    fn blind_index(&self, field_key: &str, plaintext: &str) -> Result<String, Error> {
        self(field_key, plaintext)
    }
}

/// For modules without searchable fields: any blind-index lookup is a bug.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBlindIndex;

impl BlindIndexer for NoBlindIndex {
    fn blind_index(&self, _field_key: &str, _plaintext: &str) -> Result<String, Error> {
        Err(Error::internal("a blind-indexed field was queried without a blind indexer"))
    }
}
