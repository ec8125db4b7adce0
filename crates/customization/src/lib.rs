//! List One customization: module definitions as data, pure logic apart from [`store`]. The
//! store persists these types as JSON and calls the validators before every change; the gRPC
//! layer maps a [`Report`] onto `INVALID_ARGUMENT` with one violation per field
//! (`From<Report> for listone_core::Error`).
//!
//! - [`field`]: [`FieldDef`], [`FieldType`], [`FieldRules`], data-map tags ([`PersonalCategory`],
//!   [`Protection`]) and which protection each type allows.
//! - [`value`]: [`FieldValue`] and [`validate_value`], JSON in, a checked normalised value out;
//!   e-mail, phone and URL shapes in [`value::format`].
//! - [`decimal`]: [`Decimal`], exact decimals for decimal and currency fields.
//! - [`module`]: [`ModuleDef`], [`ModuleKind`] and the [`ModuleCatalog`] port (the org's other
//!   modules, for lookups and subject links); [`layout`]: [`Layout`] sections.
//! - [`formula`]: the formula language: parse, type-check, dependencies, evaluate.
//! - [`validate`]: [`validate_module`] (a whole definition, every problem at once) and
//!   [`validate_change`] (what may change between two versions).
//! - [`record`]: [`validate_record_input`], a caller's record payload checked field by field
//!   (unknown fields, read-only fields, defaults on create).
//! - [`standard`]: the standard modules created for every new org.
//! - [`limits`]: every size limit as a named constant.
//! - [`error`]: [`Violation`] and [`Report`].
//! - [`store`]: [`ModuleStore`], each org's versioned module definitions in the database,
//!   validated before every change and audited in the same transaction.

pub mod decimal;
pub mod error;
pub mod field;
pub mod formula;
pub mod layout;
pub mod limits;
pub mod module;
pub mod record;
pub mod standard;
pub mod store;
pub mod validate;
pub mod value;

pub use decimal::Decimal;
pub use error::{Report, Violation};
pub use field::{DataTags, FieldDef, FieldRules, FieldType, FormulaResult, PersonalCategory, Protection};
pub use formula::CompiledFormulas;
pub use layout::{Layout, LayoutSection};
pub use module::{ModuleCatalog, ModuleDef, ModuleKind};
pub use record::{WriteMode, validate_record_input};
pub use standard::{FALLBACK_CURRENCY, STANDARD_MODULE_KEYS, currency_for_country, standard_modules};
pub use store::{
    InstallReport, MAX_CUSTOM_MODULES_PER_ORG, ModuleStore, ModuleVersion, StoredModule, needs_standard_catalog,
};
pub use validate::{validate_change, validate_module};
pub use value::{FieldValue, validate_value};
