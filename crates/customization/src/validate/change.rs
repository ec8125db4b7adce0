//! What may change between two versions of a module definition. Data migration is out of
//! scope, so anything that would reinterpret stored values is refused.

use crate::error::Report;
use crate::field::{FieldDef, FieldType};
use crate::module::{ModuleDef, ModuleKind};

/// Every reason `new` cannot replace `old`. Run [`super::validate_module`] on `new` as well:
/// this checks only the difference.
pub fn validate_change(old: &ModuleDef, new: &ModuleDef) -> Result<(), Report> {
    let mut report = Report::new();
    if new.key != old.key {
        report.add("key", "immutable", "a module key never changes");
    }
    if new.kind != old.kind {
        report.add("kind", "immutable", "a module cannot switch between standard and custom");
    }
    if new.is_subject != old.is_subject {
        // Subject records own keys that seal their data; switching would strand or expose it.
        report.add("is_subject", "immutable", "whether records are data subjects cannot change");
    }
    if Some(new.version) != old.version.checked_add(1) {
        report.add("version", "invalid_version", "must be the previous version plus one");
    }
    for before in &old.fields {
        let path = format!("fields.{}", before.key);
        let Some(after) = new.field(&before.key) else {
            if before.standard && old.kind == ModuleKind::Standard {
                report.add(path, "standard_field_removed", "standard fields cannot be removed");
            }
            continue;
        };
        if storage_shape(before) != storage_shape(after) {
            report.add(format!("{path}.type"), "type_changed", "an existing field's type cannot change");
        }
        if after.tags.protection != before.tags.protection {
            report.add(
                format!("{path}.tags.protection"),
                "protection_changed",
                "an existing field's protection cannot change",
            );
        }
        // Index rows and unique claims are written with each record: an existing field that
        // starts being indexed or unique would have none for the records already stored, so
        // filters would read them as empty and duplicates among them would pass unseen.
        if after.rules.indexed && !before.rules.indexed {
            report.add(
                format!("{path}.rules.indexed"),
                "indexed_added",
                "an existing field cannot become indexed: its stored values have no index rows (add a new indexed field)",
            );
        }
        if after.rules.unique && !before.rules.unique {
            report.add(
                format!("{path}.rules.unique"),
                "unique_added",
                "an existing field cannot become unique: its stored values were never checked (add a new unique field)",
            );
        }
        if after.standard != before.standard {
            report.add(format!("{path}.standard"), "immutable", "whether a field is standard cannot change");
        }
    }
    report.into_result()
}

/// The parts of a type that decide how stored values read. Picklist values may grow or shrink
/// (old values stay readable) and a formula may be rewritten (it is recomputed, not stored).
fn storage_shape(field: &FieldDef) -> (&'static str, Option<&str>, Option<u8>) {
    match &field.field_type {
        FieldType::Lookup { target } => ("lookup", Some(target), None),
        FieldType::Decimal { scale } => ("decimal", None, Some(*scale)),
        FieldType::Currency { code, scale } => ("currency", Some(code), Some(*scale)),
        other => (other.name(), None, None),
    }
}
