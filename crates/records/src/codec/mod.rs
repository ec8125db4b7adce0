//! The field protection codec: a record's validated values in, what the database stores out,
//! and back.
//!
//! - [`seal_record`] (over [`encode_record`]): the `record.data` JSON, with plain fields as
//!   [`FieldValue::to_json`] and encrypted / searchable fields as sealed envelopes; the
//!   `record_index` rows ([`IndexEntry`]) and the `record_unique` claims ([`UniqueClaim`]).
//! - [`open_record`] (over [`decode_record`]): `record.data` back to values for the requested
//!   fields only, each a [`Decoded`] value in a [`Secret`] or [`Decoded::Erased`] once the
//!   subject's key is destroyed.
//! - [`RequestKeys`]: the keys one request unwrapped, dropped with it; [`ModuleBlindIndex`]
//!   implements [`crate::query::BlindIndexer`] over [`blind_index_for`].
//! - [`field_index`]: the [`crate::query::FieldIndex`] matching the rows this codec writes.
//!
//! Sealed values are AES-256-GCM envelopes under the record's subject key, or under the org key
//! when the record has no subject (accounts, deals: the org's own data, shredded with the
//! tenant). The envelope string names which (`s:` or `o:` + base64), and the associated data
//! binds org, module, field, record and key scope, so a ciphertext copied to another record,
//! field, module or org does not open. Null values are not stored at all: an absent key decodes
//! as [`FieldValue::Null`].

mod decode;
mod encode;
mod index;
mod keys;
mod stored;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use listone_core::{Error, ModuleId, OrgId, RecordId, SubjectId};
use listone_crypto::Aad;

pub use decode::{Decoded, DecodedRecord, OpeningKeys, SubjectKeyState, decode_record};
pub use encode::{SealedRecord, SealingKeys, encode_record};
pub use index::{
    IndexEntry, IndexValue, UniqueClaim, blind_index_for, field_index, index_kind, match_key, unique_value_key,
};
pub use keys::{ModuleBlindIndex, RequestKeys, open_record, seal_record};

#[cfg(doc)]
use listone_core::Secret;
#[cfg(doc)]
use listone_customization::FieldValue;

/// AAD domain of a sealed record field value.
const FIELD_AAD_DOMAIN: &str = "listone.record.field/v1";
/// Envelope prefix of a value sealed under the record's subject key.
const SUBJECT_PREFIX: &str = "s:";
/// Envelope prefix of a value sealed under the org key (records without a subject).
const ORG_PREFIX: &str = "o:";

/// Where a record lives: what its sealed values are bound to and which key seals them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPlace {
    /// The tenant.
    pub org: OrgId,
    /// The record's module.
    pub module: ModuleId,
    /// The record.
    pub record: RecordId,
    /// The data subject the record belongs to (subject modules and records linked to one).
    pub subject: Option<SubjectId>,
}

/// Which key sealed a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyScope {
    /// The record's subject key: crypto-shredded with the subject.
    Subject,
    /// The org key: for records that belong to no subject.
    Org,
}

impl KeyScope {
    fn label(self) -> &'static str {
        match self {
            KeyScope::Subject => "subject",
            KeyScope::Org => "org",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            KeyScope::Subject => SUBJECT_PREFIX,
            KeyScope::Org => ORG_PREFIX,
        }
    }
}

/// The associated data of one field value of one record under one key scope.
pub(crate) fn field_aad(place: &RecordPlace, field_key: &str, scope: KeyScope) -> Aad {
    Aad::new(FIELD_AAD_DOMAIN)
        .with("org", place.org.to_string())
        .with("module", place.module.to_string())
        .with("field", field_key)
        .with("record", place.record.to_string())
        .with("key", scope.label())
}

/// The stored string of an envelope.
pub(crate) fn envelope_text(scope: KeyScope, sealed: &[u8]) -> String {
    format!("{}{}", scope.prefix(), STANDARD.encode(sealed))
}

/// The key scope and envelope bytes of a stored sealed value.
pub(crate) fn parse_envelope(field_key: &str, text: &str) -> Result<(KeyScope, Vec<u8>), Error> {
    let malformed = || Error::internal(format!("sealed value of field {field_key} is malformed"));
    let (scope, encoded) = if let Some(rest) = text.strip_prefix(SUBJECT_PREFIX) {
        (KeyScope::Subject, rest)
    } else if let Some(rest) = text.strip_prefix(ORG_PREFIX) {
        (KeyScope::Org, rest)
    } else {
        return Err(malformed());
    };
    let bytes = STANDARD.decode(encoded).map_err(|_| malformed())?;
    Ok((scope, bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn place() -> RecordPlace {
        RecordPlace { org: OrgId::new(), module: ModuleId::new(), record: RecordId::new(), subject: None }
    }

    #[test]
    fn envelope_text_round_trips_with_its_scope() {
        for scope in [KeyScope::Subject, KeyScope::Org] {
            let text = envelope_text(scope, &[1, 2, 3]);
            assert_eq!(parse_envelope("f", &text).unwrap(), (scope, vec![1, 2, 3]));
        }
    }

    #[test]
    fn unprefixed_or_undecodable_envelopes_are_refused() {
        assert!(parse_envelope("f", "plain text").is_err());
        assert!(parse_envelope("f", "s:not base64!").is_err());
    }

    #[test]
    fn aad_binds_every_part_of_the_place_and_the_key_scope() {
        let base = place();
        let aad = field_aad(&base, "email", KeyScope::Subject);
        assert_ne!(aad, field_aad(&base, "phone", KeyScope::Subject));
        assert_ne!(aad, field_aad(&base, "email", KeyScope::Org));
        assert_ne!(aad, field_aad(&RecordPlace { record: RecordId::new(), ..base }, "email", KeyScope::Subject));
        assert_ne!(aad, field_aad(&RecordPlace { module: ModuleId::new(), ..base }, "email", KeyScope::Subject));
        assert_ne!(aad, field_aad(&RecordPlace { org: OrgId::new(), ..base }, "email", KeyScope::Subject));
    }
}
