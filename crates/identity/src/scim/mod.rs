//! SCIM 2.0 (RFC 7643/7644) provisioning from customer directories: the pure logic under the
//! `/scim/v2/` endpoints, with no database and no HTTP.
//!
//! - [`filter`]: the `filter` query parameter (RFC 7644 §3.4.2.2). [`parse_filter`] turns the text
//!   into a [`Filter`] tree, refusing anything malformed, longer than [`MAX_FILTER_LEN`] or nested
//!   deeper than [`MAX_DEPTH`]; [`Filter::matches`] evaluates it against a resource's JSON with the
//!   RFC's rules (case-insensitive names, `caseExact` per attribute, any-of for multi-valued).
//! - [`error`]: [`ScimError`], the SCIM error response (RFC 7644 §3.12) every SCIM failure is
//!   answered with; platform errors convert into it.

pub mod error;
pub mod filter;

pub use error::{ERROR_SCHEMA, ScimError, ScimType};
pub use filter::{AttrPath, CaseExact, CompareOp, Filter, MAX_DEPTH, MAX_FILTER_LEN, default_case_exact, parse_filter};
