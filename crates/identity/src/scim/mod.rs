//! SCIM 2.0 (RFC 7643/7644) provisioning from customer directories: everything behind the
//! `/scim/v2/` endpoints except HTTP itself.
//!
//! - [`token`]: [`ScimTokenStore`], per-organization bearer tokens (SHA-256 stored, shown once),
//!   created and revoked with audit events; [`ScimTokenStore::authenticate`] names the org.
//! - [`provider`]: [`ScimProvider`], create, get, list/search, replace, patch and delete of
//!   `/Users` and `/Groups` for a [`ScimCaller`] over the user and group stores; refusals are
//!   audited, another organization's ids are not found.
//! - [`schema`]: the User and Group schemas served, exactly what List One stores; they drive
//!   validation, PATCH paths, filters and `/Schemas`. [`discovery`]: `/ServiceProviderConfig`,
//!   `/ResourceTypes`, `/Schemas` and the limits ([`MAX_RESULTS`], [`MAX_FILTER_SCAN`]).
//! - [`input`]: client JSON read against a schema (unknown attribute: `invalidSyntax`, wrong
//!   type or too long: `invalidValue`); [`resource`]: users and groups as SCIM JSON with `meta`
//!   and back; [`patch`]: the PATCH engine; [`projection`]: `attributes` and
//!   `excludedAttributes`; [`query`]: paging, search requests, filter lookups.
//! - [`filter`]: the `filter` parameter (RFC 7644 §3.4.2.2). [`parse_filter`] turns the text
//!   into a [`Filter`] tree, refusing anything malformed, longer than [`MAX_FILTER_LEN`] or nested
//!   deeper than [`MAX_DEPTH`]; [`Filter::matches`] evaluates it against a resource's JSON with the
//!   RFC's rules (case-insensitive names, `caseExact` per attribute, any-of for multi-valued).
//! - [`error`]: [`ScimError`], the SCIM error response (RFC 7644 §3.12) every SCIM failure is
//!   answered with; platform errors convert into it.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod input;
pub mod patch;
pub mod projection;
pub mod provider;
pub mod query;
pub mod resource;
pub mod schema;
pub mod token;

pub use discovery::{MAX_FILTER_SCAN, MAX_RESULTS};
pub use error::{ERROR_SCHEMA, ScimError, ScimType};
pub use filter::{AttrPath, CaseExact, CompareOp, Filter, MAX_DEPTH, MAX_FILTER_LEN, default_case_exact, parse_filter};
pub use projection::Projection;
pub use provider::{ResourceKind, ScimCaller, ScimProvider, Served};
pub use query::ListQuery;
pub use token::{ScimToken, ScimTokenStore};
