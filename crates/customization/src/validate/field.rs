//! Checks of one field on its own: key, label, type parameters, tags and rules.

use crate::error::Report;
use crate::field::{FieldDef, FieldType, FormulaResult, Protection, RESERVED_FIELD_KEYS, is_valid_key};
use crate::limits::{
    MAX_DECIMAL_SCALE, MAX_HELP_TEXT_LEN, MAX_PATTERN_LEN, MAX_PICKLIST_VALUE_LEN, MAX_PICKLIST_VALUES,
};
use crate::module::{ModuleCatalog, ModuleDef, ModuleKind};
use crate::value::{compile_pattern, validate_value};

/// Where a field's problems are reported: `fields.<key>` when the key is usable, otherwise
/// `fields[<index>]`.
pub(super) fn field_path(index: usize, field: &FieldDef) -> String {
    if is_valid_key(&field.key) { format!("fields.{}", field.key) } else { format!("fields[{index}]") }
}

/// Checks a label: present and within the length limit.
pub(super) fn check_label(label: &str, path: &str, max: usize, report: &mut Report) {
    if label.trim().is_empty() {
        report.add(path, "required", "is required");
    } else if label.chars().count() > max {
        report.add(path, "too_long", format!("must be at most {max} characters"));
    }
}

/// Every problem of `field` (the `index`-th of `module`) on its own.
pub(super) fn check_field(
    module: &ModuleDef,
    index: usize,
    field: &FieldDef,
    catalog: &impl ModuleCatalog,
    report: &mut Report,
) {
    let path = field_path(index, field);
    if !is_valid_key(&field.key) {
        report.add(format!("fields[{index}].key"), "invalid_key", "must match [a-z][a-z0-9_]{0,62}");
    } else if RESERVED_FIELD_KEYS.contains(&field.key.as_str()) {
        report.add(format!("{path}.key"), "reserved_key", "is reserved for a system column");
    }
    check_label(&field.label, &format!("{path}.label"), crate::limits::MAX_LABEL_LEN, report);
    if let Some(help) = &field.help_text
        && help.chars().count() > MAX_HELP_TEXT_LEN
    {
        report.add(format!("{path}.help_text"), "too_long", format!("must be at most {MAX_HELP_TEXT_LEN} characters"));
    }
    if field.standard && module.kind == ModuleKind::Custom {
        report.add(
            format!("{path}.standard"),
            "standard_field_in_custom_module",
            "only standard modules have standard fields",
        );
    }
    check_type(module, field, &path, catalog, report);
    check_tags(field, &path, report);
    check_rules(field, &path, report);
}

fn check_type(module: &ModuleDef, field: &FieldDef, path: &str, catalog: &impl ModuleCatalog, report: &mut Report) {
    let type_path = format!("{path}.type");
    let check_scale = |scale: u8, report: &mut Report| {
        if scale > MAX_DECIMAL_SCALE {
            report.add(format!("{type_path}.scale"), "invalid_scale", format!("must be at most {MAX_DECIMAL_SCALE}"));
        }
    };
    match &field.field_type {
        FieldType::Decimal { scale } => check_scale(*scale, report),
        FieldType::Currency { code, scale } => {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                report.add(format!("{type_path}.code"), "invalid_currency", "must be an ISO 4217 code such as EUR");
            }
            check_scale(*scale, report);
        }
        FieldType::Picklist { values } | FieldType::MultiPicklist { values } => {
            check_picklist(values, &format!("{type_path}.values"), report);
        }
        FieldType::Lookup { target } => {
            let known = *target == module.key || catalog.module(target).is_some();
            if !known {
                report.add(format!("{type_path}.target"), "unknown_module", "refers to a module the org does not have");
            }
        }
        FieldType::Formula { result: FormulaResult::Decimal { scale }, .. } => check_scale(*scale, report),
        _ => {}
    }
}

fn check_picklist(values: &[String], path: &str, report: &mut Report) {
    if values.is_empty() {
        report.add(path, "empty_picklist", "must offer at least one value");
    }
    if values.len() > MAX_PICKLIST_VALUES {
        report.add(path, "too_many_values", format!("must offer at most {MAX_PICKLIST_VALUES} values"));
    }
    for (i, value) in values.iter().enumerate() {
        let item = format!("{path}[{i}]");
        if value.trim().is_empty() || value.trim() != value {
            report.add(&item, "invalid_picklist_value", "must be non-empty without surrounding spaces");
        } else if value.chars().any(char::is_control) {
            // A record's value is one of these verbatim: a NUL cannot even be stored on PostgreSQL.
            report.add(&item, "invalid_picklist_value", "must not contain control characters");
        } else if value.chars().count() > MAX_PICKLIST_VALUE_LEN {
            report.add(&item, "too_long", format!("must be at most {MAX_PICKLIST_VALUE_LEN} characters"));
        }
        if values[..i].contains(value) {
            report.add(&item, "duplicate_picklist_value", "is listed twice");
        }
    }
}

fn check_tags(field: &FieldDef, path: &str, report: &mut Report) {
    let tags_path = format!("{path}.tags.protection");
    let (field_type, tags) = (&field.field_type, field.tags);
    if tags.protection.is_sealed() && !field_type.allows_encryption() {
        report.add(&tags_path, "protection_not_allowed", "references and formulas are stored plain");
    } else if tags.protection == Protection::Searchable && !field_type.allows_searchable() {
        report.add(
            &tags_path,
            "searchable_not_allowed",
            "only text, e-mail, phone and picklist fields can be searchable",
        );
    }
    if tags.category.requires_encryption() && tags.protection == Protection::Plain {
        report.add(&tags_path, "plain_sensitive_data", "special-category and children's data must be encrypted");
    }
}

fn check_rules(field: &FieldDef, path: &str, report: &mut Report) {
    let rules = &field.rules;
    let field_type = &field.field_type;
    let rule_path = |name: &str| format!("{path}.rules.{name}");
    let not_applicable = |report: &mut Report, name: &str| {
        report.add(rule_path(name), "rule_not_applicable", format!("does not apply to {} fields", field_type.name()));
    };
    for (set, name) in [(rules.unique, "unique"), (rules.indexed, "indexed")] {
        if !set {
            continue;
        }
        if !field.tags.protection.is_comparable() {
            report.add(rule_path(name), "not_comparable", "encrypted values cannot be compared; use searchable");
        } else if matches!(field_type, FieldType::LongText) {
            report.add(rule_path(name), "not_indexable", "long text cannot be indexed");
        }
    }
    if field_type.is_computed() {
        if rules.required {
            not_applicable(report, "required");
        }
        if rules.unique {
            not_applicable(report, "unique");
        }
        if rules.default.is_some() {
            not_applicable(report, "default");
        }
    }
    if !field_type.is_numeric() {
        if rules.min.is_some() {
            not_applicable(report, "min");
        }
        if rules.max.is_some() {
            not_applicable(report, "max");
        }
    } else if let (Some(min), Some(max)) = (rules.min, rules.max)
        && min > max
    {
        report.add(rule_path("min"), "min_above_max", "must not be above max");
    }
    check_length_rules(field, path, report);
    if let Some(default) = &rules.default
        && !field_type.is_computed()
        && let Err(violation) = validate_value(field, default)
    {
        report.add(rule_path("default"), "invalid_default", format!("is not a valid value: {}", violation.message));
    }
}

fn check_length_rules(field: &FieldDef, path: &str, report: &mut Report) {
    let rules = &field.rules;
    let field_type = &field.field_type;
    let rule_path = |name: &str| format!("{path}.rules.{name}");
    if !field_type.is_textual() {
        for (set, name) in [
            (rules.min_length.is_some(), "min_length"),
            (rules.max_length.is_some(), "max_length"),
            (rules.pattern.is_some(), "pattern"),
        ] {
            if set {
                report.add(
                    rule_path(name),
                    "rule_not_applicable",
                    format!("does not apply to {} fields", field_type.name()),
                );
            }
        }
        return;
    }
    let ceiling = field_type.max_text_len();
    if let Some(max) = rules.max_length {
        if max == 0 {
            report.add(rule_path("max_length"), "out_of_range", "must be at least 1");
        } else if usize::try_from(max).map_or(true, |m| m > ceiling) {
            report.add(rule_path("max_length"), "above_type_limit", format!("must be at most {ceiling}"));
        }
    }
    if let (Some(min), Some(max)) = (rules.min_length, rules.max_length)
        && min > max
    {
        report.add(rule_path("min_length"), "min_above_max", "must not be above max_length");
    }
    if let Some(pattern) = &rules.pattern {
        if pattern.chars().count() > MAX_PATTERN_LEN {
            report.add(rule_path("pattern"), "too_long", format!("must be at most {MAX_PATTERN_LEN} characters"));
        } else if compile_pattern(pattern).is_err() {
            report.add(rule_path("pattern"), "invalid_pattern", "is not a valid regular expression");
        }
    }
}
