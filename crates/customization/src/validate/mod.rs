//! Whole-definition validation: every problem of a module definition in one [`Report`], never
//! stopping at the first; and [`validate_change`] for what may change between versions.

mod change;
mod field;
mod formula;

use std::collections::BTreeSet;

pub use change::validate_change;

use crate::error::Report;
use crate::field::{FieldType, is_valid_key};
use crate::limits::{MAX_FIELDS_PER_MODULE, MAX_LABEL_LEN, MAX_LAYOUT_SECTIONS};
use crate::module::{ModuleCatalog, ModuleDef, ModuleKind};
use crate::standard::STANDARD_MODULE_KEYS;

/// Every problem of `module`; `catalog` holds the org's other modules (lookup targets, subject
/// modules). The module itself need not be in it.
pub fn validate_module(module: &ModuleDef, catalog: &impl ModuleCatalog) -> Result<(), Report> {
    let mut report = Report::new();
    check_header(module, &mut report);
    let mut seen = BTreeSet::new();
    for (index, f) in module.fields.iter().enumerate() {
        field::check_field(module, index, f, catalog, &mut report);
        if !seen.insert(f.key.as_str()) {
            report.add(format!("fields[{index}].key"), "duplicate_key", "another field has the same key");
        }
    }
    check_layout(module, &mut report);
    check_subject_link(module, catalog, &mut report);
    formula::check_formulas(module, &mut report);
    report.into_result()
}

fn check_header(module: &ModuleDef, report: &mut Report) {
    if !is_valid_key(&module.key) {
        report.add("key", "invalid_key", "must match [a-z][a-z0-9_]{0,62}");
    } else {
        let is_standard_key = STANDARD_MODULE_KEYS.contains(&module.key.as_str());
        match module.kind {
            ModuleKind::Custom if is_standard_key => {
                report.add("key", "reserved_key", "is the key of a standard module");
            }
            ModuleKind::Standard if !is_standard_key => {
                report.add("kind", "unknown_standard_module", "only catalog modules are standard");
            }
            _ => {}
        }
    }
    field::check_label(&module.label_singular, "label_singular", MAX_LABEL_LEN, report);
    field::check_label(&module.label_plural, "label_plural", MAX_LABEL_LEN, report);
    if module.version == 0 {
        report.add("version", "invalid_version", "must be at least 1");
    }
    if module.fields.is_empty() {
        report.add("fields", "no_fields", "a module needs at least one field");
    }
    if module.fields.len() > MAX_FIELDS_PER_MODULE {
        report.add("fields", "too_many_fields", format!("must be at most {MAX_FIELDS_PER_MODULE}"));
    }
}

fn check_layout(module: &ModuleDef, report: &mut Report) {
    let sections = &module.layout.sections;
    if sections.len() > MAX_LAYOUT_SECTIONS {
        report.add("layout.sections", "too_many_sections", format!("must be at most {MAX_LAYOUT_SECTIONS}"));
    }
    let mut placed = BTreeSet::new();
    for (i, section) in sections.iter().enumerate() {
        field::check_label(&section.label, &format!("layout.sections[{i}].label"), MAX_LABEL_LEN, report);
        for (j, key) in section.field_keys.iter().enumerate() {
            let path = format!("layout.sections[{i}].field_keys[{j}]");
            if module.field(key).is_none() {
                report.add(path, "unknown_field", "refers to a field the module does not have");
            } else if !placed.insert(key.as_str()) {
                report.add(path, "duplicate_field", "the field is already placed in the layout");
            }
        }
    }
}

fn check_subject_link(module: &ModuleDef, catalog: &impl ModuleCatalog, report: &mut Report) {
    let Some(link) = &module.subject_link else { return };
    if module.is_subject {
        report.add("subject_link", "subject_link_on_subject", "subject modules are their own subjects");
        return;
    }
    let Some(link_field) = module.field(link) else {
        report.add("subject_link", "unknown_field", "refers to a field the module does not have");
        return;
    };
    let FieldType::Lookup { target } = &link_field.field_type else {
        report.add("subject_link", "not_a_lookup", "must be a lookup field");
        return;
    };
    let target_is_subject =
        if *target == module.key { module.is_subject } else { catalog.module(target).is_some_and(|m| m.is_subject) };
    // An unknown target is already reported on the field itself.
    if catalog.module(target).is_some() && !target_is_subject {
        report.add("subject_link", "target_not_subject", "must look up a subject module such as contacts or leads");
    }
}

#[cfg(test)]
mod tests;
