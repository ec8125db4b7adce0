//! The record filter language and its SQL compiler.
//!
//! A [`Filter`] over system fields and indexed custom fields, with [`SortKey`]s and keyset
//! paging, is checked against the module's [`FieldIndex`] (every problem reported at once) and
//! compiled by [`compile`] into one `SELECT` on `record r` for SQLite or PostgreSQL; custom
//! fields are tested through `record_index`. [`compile_count`] makes a capped count;
//! [`fetch_page`] and [`count`] run them.
//!
//! Semantics worth knowing:
//! - `ne` is exactly "not `eq`": records without the field match. On a multi-valued field,
//!   `eq`, `lt`, ... match when any value does, and `ne` when none equals.
//! - `is_empty` tests the absence of any index row for the field.
//! - `contains` / `starts_with` ignore case by lower-casing both sides; `%`, `_` and `\` in the
//!   operand match literally.
//! - Sorting puts records without a value last in both directions; the id breaks ties. Text
//!   order follows the database's collation (byte order on SQLite).

mod compile;
mod fields;
mod filter;
mod limits;
mod predicate;
mod resolve;
mod run;
mod sql;
mod token;

pub use compile::{
    CompiledCount, CompiledQuery, Count, QueryScope, RecordQuery, compile, compile_count, compile_count_restricted,
    compile_restricted,
};
pub use fields::{BlindIndexer, FieldIndex, IndexKind, NoBlindIndex};
pub use filter::{FieldRef, Filter, Op, QueryValue, SortKey, SystemField};
pub use limits::*;
pub use run::{RecordPage, RecordRow, count, fetch_page};
