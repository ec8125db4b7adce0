//! List One records.
//!
//! Record rows keep typed system columns and one JSON column of field values; fields marked
//! indexed are also written to `record_index`, which is what filters and sorts read.
//!
//! - [`query`]: the filter language ([`query::Filter`], [`query::SortKey`]), checked against a
//!   module's indexed fields ([`query::FieldIndex`]) and compiled to SQL for SQLite and
//!   PostgreSQL with keyset pages ([`query::compile`]) and capped counts
//!   ([`query::compile_count`]); searchable fields are matched through a
//!   [`query::BlindIndexer`].
//! - [`codec`]: field protection: a record's values to its stored `data` JSON (encrypted and
//!   searchable fields sealed under the subject or org key), its `record_index` rows and
//!   `record_unique` claims ([`codec::seal_record`]), and back for the requested fields only
//!   ([`codec::open_record`]), with per-request key caching ([`codec::RequestKeys`]).
//! - [`store`]: [`RecordStore`], records created, read, updated, deleted, listed and bulk
//!   written, each change committed with its index rows, unique claims, field history, outbox
//!   event and audit entry in one transaction; personal reads audited; owners and user fields
//!   checked against the organization's people. It answers identity's
//!   [`listone_identity::access::RecordCatalog`] port (the live records a policy may share).
//! - [`access`]: the access engine's predicate in this crate's filter language
//!   ([`access::access_filter`]), the fields sharing rules may test ([`access::criteria_kind`]) and
//!   a record's facts for single-record decisions ([`access::CriteriaFields::facts`]), agreeing
//!   with each other (property-tested against a real database).

pub mod access;
pub mod codec;
pub mod query;
pub mod store;

pub use codec::{
    Decoded, DecodedRecord, IndexEntry, IndexValue, ModuleBlindIndex, RecordPlace, RequestKeys, SealedRecord,
    UniqueClaim, open_record, seal_record,
};
pub use store::{
    BulkUpdate, ChangeSource, FieldChange, HistoryPage, MAX_BULK_RECORDS, PURGE_BATCH, Reader, RecordStore, StoredPage,
    StoredRecord, read_batching_pays,
};
