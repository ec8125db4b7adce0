#![allow(clippy::unwrap_used)]
use serde_json::json;

use super::*;
use crate::field::{FieldDef, FormulaResult, PersonalCategory, Protection};
use crate::layout::{Layout, LayoutSection};
use crate::standard::standard_modules;

fn custom(fields: Vec<FieldDef>) -> ModuleDef {
    ModuleDef {
        key: "projects".into(),
        label_singular: "Project".into(),
        label_plural: "Projects".into(),
        kind: ModuleKind::Custom,
        is_subject: false,
        subject_link: None,
        fields,
        layout: Layout::default(),
        version: 1,
    }
}

fn name() -> FieldDef {
    FieldDef::new("name", "Name", FieldType::Text)
}

fn formula(key: &str, expression: &str, result: FormulaResult) -> FieldDef {
    FieldDef::new(key, key, FieldType::Formula { expression: expression.into(), result })
}

fn problems(module: &ModuleDef) -> Report {
    validate_module(module, &standard_modules("EUR")).unwrap_err()
}

#[test]
fn a_sound_custom_module_passes() {
    let mut module = custom(vec![
        name().required().indexed(),
        FieldDef::new("budget", "Budget", FieldType::Currency { code: "EUR".into(), scale: 2 }),
        FieldDef::new("client", "Client", FieldType::Lookup { target: "accounts".into() }),
        FieldDef::new("parent", "Parent", FieldType::Lookup { target: "projects".into() }),
        formula("label", "concat(upper(name), \" \", budget)", FormulaResult::Text),
    ]);
    module.layout = Layout::new(vec![LayoutSection::new("Project", &["name", "budget", "client", "label"])]);
    assert_eq!(validate_module(&module, &standard_modules("EUR")), Ok(()));
}

#[test]
fn definition_with_many_problems_reports_every_one() {
    let mut module = custom(vec![
        FieldDef::new("Bad Key", "", FieldType::Text),
        name(),
        name(),
        FieldDef::new(
            "stage",
            "Stage",
            FieldType::Picklist { values: vec!["a".into(), "a".into(), " ".into(), "b\u{0}c".into()] },
        ),
        FieldDef::new("owner_id", "Owner", FieldType::Text),
        FieldDef::new("client", "Client", FieldType::Lookup { target: "nowhere".into() }),
    ]);
    module.key = "contacts".into();
    module.label_plural = String::new();
    module.version = 0;
    let report = problems(&module);
    for (field, rule) in [
        ("key", "reserved_key"),
        ("label_plural", "required"),
        ("version", "invalid_version"),
        ("fields[0].key", "invalid_key"),
        ("fields[0].label", "required"),
        ("fields[2].key", "duplicate_key"),
        ("fields.stage.type.values[1]", "duplicate_picklist_value"),
        ("fields.stage.type.values[2]", "invalid_picklist_value"),
        ("fields.stage.type.values[3]", "invalid_picklist_value"),
        ("fields.owner_id.key", "reserved_key"),
        ("fields.client.type.target", "unknown_module"),
    ] {
        assert!(report.has_at(field, rule), "missing {rule} at {field}: {report:?}");
    }
}

#[test]
fn only_catalog_modules_can_be_standard() {
    let mut module = custom(vec![name()]);
    module.kind = ModuleKind::Standard;
    assert!(problems(&module).has_at("kind", "unknown_standard_module"));
}

#[test]
fn protection_must_suit_the_type_and_the_category() {
    let report = problems(&custom(vec![
        name(),
        FieldDef::new("client", "Client", FieldType::Lookup { target: "accounts".into() })
            .tagged(PersonalCategory::None, Protection::Encrypted),
        FieldDef::new("bio", "Bio", FieldType::LongText).tagged(PersonalCategory::Identity, Protection::Searchable),
        FieldDef::new("health", "Health", FieldType::Text).tagged(PersonalCategory::Special, Protection::Plain),
    ]));
    assert!(report.has_at("fields.client.tags.protection", "protection_not_allowed"));
    assert!(report.has_at("fields.bio.tags.protection", "searchable_not_allowed"));
    assert!(report.has_at("fields.health.tags.protection", "plain_sensitive_data"));
}

#[test]
fn unique_and_indexed_need_comparable_values() {
    let report = problems(&custom(vec![
        name(),
        FieldDef::new("tax_id", "Tax id", FieldType::Text)
            .tagged(PersonalCategory::Financial, Protection::Encrypted)
            .unique(),
        FieldDef::new("email", "E-mail", FieldType::Email)
            .tagged(PersonalCategory::Contact, Protection::Searchable)
            .unique(),
        FieldDef::new("memo", "Memo", FieldType::LongText).indexed(),
    ]));
    assert!(report.has_at("fields.tax_id.rules.unique", "not_comparable"));
    assert!(!report.has_at("fields.email.rules.unique", "not_comparable"));
    assert!(report.has_at("fields.memo.rules.indexed", "not_indexable"));
}

#[test]
fn rules_must_fit_the_type_and_each_other() {
    let mut count = FieldDef::new("count", "Count", FieldType::Number);
    count.rules.min = Some("10".parse().unwrap());
    count.rules.max = Some("1".parse().unwrap());
    count.rules.pattern = Some("x".into());
    let mut code = FieldDef::new("code", "Code", FieldType::Text);
    code.rules.pattern = Some("([a-z".into());
    code.rules.max_length = Some(10_000);
    code.rules.min = Some("1".parse().unwrap());
    let mut stage = FieldDef::new("stage", "Stage", FieldType::Picklist { values: vec!["new".into()] });
    stage.rules.default = Some(json!("old"));
    let report = problems(&custom(vec![name(), count, code, stage]));
    assert!(report.has_at("fields.count.rules.min", "min_above_max"));
    assert!(report.has_at("fields.count.rules.pattern", "rule_not_applicable"));
    assert!(report.has_at("fields.code.rules.pattern", "invalid_pattern"));
    assert!(report.has_at("fields.code.rules.max_length", "above_type_limit"));
    assert!(report.has_at("fields.code.rules.min", "rule_not_applicable"));
    assert!(report.has_at("fields.stage.rules.default", "invalid_default"));
}

#[test]
fn layout_places_existing_fields_at_most_once() {
    let mut module = custom(vec![name()]);
    module.layout =
        Layout::new(vec![LayoutSection::new("Main", &["name", "ghost"]), LayoutSection::new("", &["name"])]);
    let report = problems(&module);
    assert!(report.has_at("layout.sections[0].field_keys[1]", "unknown_field"));
    assert!(report.has_at("layout.sections[1].field_keys[0]", "duplicate_field"));
    assert!(report.has_at("layout.sections[1].label", "required"));
}

#[test]
fn subject_link_must_be_a_lookup_to_a_subject_module() {
    let mut module =
        custom(vec![name(), FieldDef::new("client", "Client", FieldType::Lookup { target: "accounts".into() })]);
    module.subject_link = Some("client".into());
    assert!(problems(&module).has_at("subject_link", "target_not_subject"));
    module.subject_link = Some("name".into());
    assert!(problems(&module).has_at("subject_link", "not_a_lookup"));
    module.fields.push(FieldDef::new("person", "Person", FieldType::Lookup { target: "leads".into() }));
    module.subject_link = Some("person".into());
    assert_eq!(validate_module(&module, &standard_modules("EUR")), Ok(()));
    module.is_subject = true;
    assert!(problems(&module).has_at("subject_link", "subject_link_on_subject"));
}

#[test]
fn formulas_are_parsed_typed_and_read_only_plain_fields() {
    let report = problems(&custom(vec![
        name(),
        FieldDef::new("secret", "Secret", FieldType::Text).tagged(PersonalCategory::Identity, Protection::Encrypted),
        formula("broken", "1 +", FormulaResult::Number),
        formula("leak", "concat(secret)", FormulaResult::Text),
        formula("wrong", "len(name)", FormulaResult::Boolean),
        formula("ghost", "missing * 2", FormulaResult::Number),
    ]));
    assert!(report.has_at("fields.broken.type.expression", "unexpected_end"));
    assert!(report.has_at("fields.leak.type.expression", "sealed_field"));
    assert!(report.has_at("fields.wrong.type.expression", "formula_type_mismatch"));
    assert!(report.has_at("fields.ghost.type.expression", "unknown_field"));
}

#[test]
fn formula_that_references_itself_or_a_cycle_is_refused() {
    let report = problems(&custom(vec![
        name(),
        formula("me", "me + 1", FormulaResult::Number),
        formula("a", "b + 1", FormulaResult::Number),
        formula("b", "c + 1", FormulaResult::Number),
        formula("c", "a + 1", FormulaResult::Number),
        formula("d", "a + 1", FormulaResult::Number),
    ]));
    assert!(report.has_at("fields.me.type.expression", "formula_self_reference"));
    for key in ["a", "b", "c"] {
        assert!(report.has_at(&format!("fields.{key}.type.expression"), "formula_cycle"), "{key}");
    }
    // Depending on a cycle is not being in one.
    assert!(!report.has_at("fields.d.type.expression", "formula_cycle"));
}

#[test]
fn module_limits_are_enforced() {
    let fields =
        (0..=crate::limits::MAX_FIELDS_PER_MODULE).map(|i| FieldDef::new(format!("f{i}"), "F", FieldType::Text));
    assert!(problems(&custom(fields.collect())).has_at("fields", "too_many_fields"));
    assert!(problems(&custom(vec![])).has_at("fields", "no_fields"));
    let mut long = name();
    long.label = "x".repeat(crate::limits::MAX_LABEL_LEN + 1);
    assert!(problems(&custom(vec![long])).has_at("fields.name.label", "too_long"));
}

fn next_version(module: &ModuleDef) -> ModuleDef {
    let mut next = module.clone();
    next.version += 1;
    next
}

#[test]
fn change_refuses_type_and_protection_changes_and_standard_field_removal() {
    let contacts = standard_modules("EUR").into_iter().find(|m| m.key == "contacts").unwrap();
    let mut next = next_version(&contacts);
    next.fields.retain(|f| f.key != "notes");
    let email = next.fields.iter_mut().find(|f| f.key == "email").unwrap();
    email.field_type = FieldType::Text;
    email.tags.protection = Protection::Encrypted;
    let account = next.fields.iter_mut().find(|f| f.key == "account").unwrap();
    account.field_type = FieldType::Lookup { target: "deals".into() };
    let report = validate_change(&contacts, &next).unwrap_err();
    assert!(report.has_at("fields.notes", "standard_field_removed"));
    assert!(report.has_at("fields.email.type", "type_changed"));
    assert!(report.has_at("fields.email.tags.protection", "protection_changed"));
    assert!(report.has_at("fields.account.type", "type_changed"));
}

#[test]
fn an_existing_field_cannot_start_being_indexed_or_unique_but_a_new_one_can() {
    let old = custom(vec![name(), FieldDef::new("code", "Code", FieldType::Text)]);
    let mut new = next_version(&old);
    new.fields[1] = FieldDef::new("code", "Code", FieldType::Text).indexed().unique();
    let report = validate_change(&old, &new).unwrap_err();
    assert!(report.has_at("fields.code.rules.indexed", "indexed_added"), "{report:?}");
    assert!(report.has_at("fields.code.rules.unique", "unique_added"), "{report:?}");

    // A new field has no stored values to index; dropping the rules needs no migration either.
    let mut added = next_version(&old);
    added.fields.push(FieldDef::new("ref", "Reference", FieldType::Text).indexed().unique());
    assert_eq!(validate_change(&old, &added), Ok(()));
    let mut dropped = next_version(&added);
    dropped.fields[2] = FieldDef::new("ref", "Reference", FieldType::Text);
    assert_eq!(validate_change(&added, &dropped), Ok(()));
}

#[test]
fn change_allows_new_fields_label_edits_picklist_growth_and_custom_field_removal() {
    let mut old = custom(vec![
        name(),
        FieldDef::new("size", "Size", FieldType::Picklist { values: vec!["s".into()] }),
        FieldDef::new("scratch", "Scratch", FieldType::Text),
    ]);
    old.version = 3;
    let mut new = next_version(&old);
    new.fields.retain(|f| f.key != "scratch");
    new.fields[0].label = "Project name".into();
    new.fields[1].field_type = FieldType::Picklist { values: vec!["s".into(), "m".into()] };
    new.fields.push(FieldDef::new("due", "Due", FieldType::Date));
    assert_eq!(validate_change(&old, &new), Ok(()));
}

#[test]
fn change_keeps_identity_and_bumps_the_version_by_one() {
    let old = custom(vec![name()]);
    let mut new = old.clone();
    new.key = "jobs".into();
    new.kind = ModuleKind::Standard;
    new.is_subject = true;
    let report = validate_change(&old, &new).unwrap_err();
    for (field, rule) in
        [("key", "immutable"), ("kind", "immutable"), ("is_subject", "immutable"), ("version", "invalid_version")]
    {
        assert!(report.has_at(field, rule), "{field}");
    }
}
