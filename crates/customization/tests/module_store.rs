//! The module store on a real database: the standard catalog installed once and reconciled by
//! key, custom modules created, read, versioned and changed as a whole, every refusal leaving
//! nothing written, every change audited in its own transaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use listone_core::{Error, OrgId};
use listone_customization::field::{FieldDef, FieldType};
use listone_customization::{ModuleKind, STANDARD_MODULE_KEYS};
use support::{Fixture, admin, custom, has, system, violations, with_lookup};

#[tokio::test]
async fn install_creates_the_catalog_once_and_a_second_call_writes_nothing() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    let report = f.store.install_standard(org, "AED", system(), Default::default()).await.unwrap();
    assert_eq!(report.created.len(), STANDARD_MODULE_KEYS.len());
    assert!(report.reconciled.is_empty());
    let n = STANDARD_MODULE_KEYS.len() as i64;
    assert_eq!(f.rows().await, (n, n, n));

    let again = f.store.install_standard(org, "AED", system(), Default::default()).await.unwrap();
    assert!(again.is_noop());
    assert_eq!(f.rows().await, (n, n, n));

    let modules = f.store.list_modules(org).await.unwrap();
    let keys: Vec<&str> = modules.iter().map(|m| m.definition.key.as_str()).collect();
    let mut sorted = STANDARD_MODULE_KEYS.to_vec();
    sorted.sort_unstable();
    assert_eq!(keys, sorted, "listed by key");
    assert!(modules.iter().all(|m| m.definition.kind == ModuleKind::Standard && m.definition.version == 1));
    let deals = f.store.get_module(org, "deals").await.unwrap();
    let amount = &deals.definition.field("amount").unwrap().field_type;
    assert!(matches!(amount, FieldType::Currency { code, .. } if code == "AED"));
    let created = f.audited("customization.module.created").await;
    assert_eq!(created.len(), STANDARD_MODULE_KEYS.len());
    assert!(created.iter().any(|d| d["module"] == "leads" && d["fields"].as_array().unwrap().len() > 3));
}

#[tokio::test]
async fn install_reconciles_an_older_standard_module_and_keeps_custom_fields() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap();
    // An org created by a release whose leads had no phone field, since given a custom field.
    let mut old = f.store.get_module(org, "leads").await.unwrap().definition;
    old.fields.retain(|field| field.key != "phone");
    for section in &mut old.layout.sections {
        section.field_keys.retain(|k| k != "phone");
    }
    old.fields.push(FieldDef::new("budget", "Budget", FieldType::Number));
    f.overwrite(org, &old).await;
    f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    let before = f.rows().await;

    let report = f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap();
    assert_eq!((report.created.len(), report.reconciled.as_slice()), (0, ["leads".to_owned()].as_slice()));
    let leads = f.store.get_module(org, "leads").await.unwrap().definition;
    assert_eq!(leads.version, 2);
    assert!(leads.field("phone").unwrap().standard);
    assert!(!leads.field("budget").unwrap().standard, "custom field kept as it was");
    assert_eq!(f.store.get_module(org, "projects").await.unwrap().definition, custom("projects"));
    assert_eq!(f.rows().await, (before.0, before.1 + 1, before.2 + 1));
    let reconciled = f.audited("customization.module.reconciled").await;
    assert_eq!(reconciled[0]["fields_added"], serde_json::json!(["phone"]));
    let versions = f.store.module_versions(org, "leads").await.unwrap();
    assert_eq!(versions.iter().map(|v| v.definition.version).collect::<Vec<_>>(), [1, 2]);
    assert!(versions[1].changed_by.is_none(), "the platform reconciled it");

    assert!(f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap().is_noop());
}

#[tokio::test]
async fn install_with_a_bad_currency_is_invalid_and_writes_nothing() {
    let f = Fixture::new().await;
    let found = violations(f.store.install_standard(OrgId::new(), "euro", system(), Default::default()).await);
    assert!(found.iter().any(|v| v.starts_with("modules.deals.")), "{found:?}");
    assert_eq!(f.rows().await, (0, 0, 0));
}

#[tokio::test]
async fn a_custom_module_is_created_read_listed_versioned_and_audited() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap();
    let before = f.rows().await;
    let mut def = with_lookup("projects", "account", "accounts");
    def.version = 7;
    let created = f.store.create_module(org, def, admin(), Default::default()).await.unwrap();
    assert_eq!((created.org_id, created.definition.version), (org, 1), "the store numbers versions");
    assert_eq!(f.rows().await, (before.0 + 1, before.1 + 1, before.2 + 1));
    assert_eq!(f.store.get_module(org, "projects").await.unwrap(), created);
    assert_eq!(f.store.get_module_by_id(org, created.id).await.unwrap(), created);
    assert!(f.store.list_modules(org).await.unwrap().iter().any(|m| m.id == created.id));

    let tasks = f.store.create_module(org, with_lookup("tasks", "project", "projects"), admin(), Default::default());
    assert_eq!(tasks.await.unwrap().definition.field("project").unwrap().field_type.name(), "lookup");

    let versions = f.store.module_versions(org, "projects").await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].changed_by.unwrap().to_string(), admin().id.unwrap());
    assert_eq!(f.store.module_at_version(org, "projects", 1).await.unwrap().definition, created.definition);
    assert!(matches!(
        f.store.module_at_version(org, "projects", 2).await,
        Err(Error::NotFound { resource: "module_version" })
    ));
    let entry = f.audited("customization.module.created").await.into_iter().find(|d| d["module"] == "projects");
    assert_eq!(entry.unwrap()["fields"], serde_json::json!(["name", "account"]));
}

#[tokio::test]
async fn a_bad_definition_reports_every_problem_at_once_and_writes_nothing() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    let mut def = with_lookup("projects", "owner_project", "nowhere");
    def.label_plural = String::new();
    def.fields.push(FieldDef::new("name", "Again", FieldType::Text));
    def.fields.push(FieldDef::new("badge", "Badge", FieldType::Text).standard());
    def.kind = ModuleKind::Standard;
    let found = violations(f.store.create_module(org, def, admin(), Default::default()).await);
    assert!(has(&found, "kind", "custom_only"), "{found:?}");
    assert!(has(&found, "label_plural", "required"), "{found:?}");
    assert!(has(&found, "fields.owner_project.type.target", "unknown_module"), "{found:?}");
    assert!(has(&found, "fields[2].key", "duplicate_key"), "{found:?}");
    assert!(found.len() >= 5, "{found:?}");
    assert_eq!(f.rows().await, (0, 0, 0));

    let reserved = violations(f.store.create_module(org, custom("contacts"), admin(), Default::default()).await);
    assert!(has(&reserved, "key", "reserved_key"), "{reserved:?}");
    assert_eq!(f.rows().await, (0, 0, 0));
}

#[tokio::test]
async fn a_key_the_org_already_uses_is_already_exists_and_writes_nothing() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    let before = f.rows().await;
    let dup = f.store.create_module(org, custom("projects"), admin(), Default::default()).await;
    assert!(matches!(&dup, Err(Error::AlreadyExists { resource: "module", field }) if field == "key"), "{dup:?}");
    assert_eq!(f.rows().await, before);
    // Keys are per org.
    f.store.create_module(OrgId::new(), custom("projects"), admin(), Default::default()).await.unwrap();
}

#[tokio::test]
async fn an_update_raises_the_version_keeps_history_and_audits_a_summary() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    let mut next = custom("projects");
    next.fields[0].label = "Project name".into();
    next.fields.push(FieldDef::new("budget", "Budget", FieldType::Number));
    next.layout.sections[0].field_keys.push("budget".into());
    let before = f.rows().await;
    let updated = f.store.update_module(org, "projects", next, 1, admin(), Default::default()).await.unwrap();
    assert_eq!(updated.definition.version, 2);
    assert_eq!(f.rows().await, (before.0, before.1 + 1, before.2 + 1));
    let summary = &f.audited("customization.module.updated").await[0];
    assert_eq!(summary["fields_added"], serde_json::json!(["budget"]));
    assert_eq!(summary["fields_changed"], serde_json::json!(["name"]));
    assert_eq!(summary["fields_removed"], serde_json::json!([]));
    assert_eq!(f.store.module_at_version(org, "projects", 1).await.unwrap().definition, custom("projects"));
    assert_eq!(f.store.module_at_version(org, "projects", 2).await.unwrap().definition, updated.definition);
}

#[tokio::test]
async fn a_stale_version_is_aborted_and_writes_nothing() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    f.store.update_module(org, "projects", custom("projects"), 1, admin(), Default::default()).await.unwrap();
    let before = f.rows().await;
    let stale = f.store.update_module(org, "projects", custom("projects"), 1, admin(), Default::default()).await;
    assert!(matches!(stale, Err(Error::Aborted { reason: "STALE_VERSION", .. })), "{stale:?}");
    assert_eq!(f.rows().await, before);
}

#[tokio::test]
async fn of_two_concurrent_updates_from_one_version_exactly_one_wins() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    let mut left = custom("projects");
    left.fields.push(FieldDef::new("left", "Left", FieldType::Text));
    let mut right = custom("projects");
    right.fields.push(FieldDef::new("right", "Right", FieldType::Text));
    let (a, b) = tokio::join!(
        f.store.update_module(org, "projects", left, 1, admin(), Default::default()),
        f.store.update_module(org, "projects", right, 1, admin(), Default::default()),
    );
    let stale = |r: &Result<_, Error>| matches!(r, Err(Error::Aborted { reason: "STALE_VERSION", .. }));
    assert!((a.is_ok() && stale(&b)) || (b.is_ok() && stale(&a)), "{a:?} / {b:?}");
    assert_eq!(f.store.module_versions(org, "projects").await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_invalid_change_reports_change_and_definition_problems_together() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap();
    let before = f.rows().await;
    let mut next = f.store.get_module(org, "leads").await.unwrap().definition;
    next.fields.retain(|field| field.key != "notes");
    next.fields[0].field_type = FieldType::Number;
    next.is_subject = false;
    next.label_singular = String::new();
    let found = violations(f.store.update_module(org, "leads", next, 1, admin(), Default::default()).await);
    assert!(has(&found, "fields.notes", "standard_field_removed"), "{found:?}");
    assert!(has(&found, "fields.first_name.type", "type_changed"), "{found:?}");
    assert!(has(&found, "is_subject", "immutable"), "{found:?}");
    assert!(found.iter().any(|v| v.starts_with("label_singular")), "{found:?}");
    assert_eq!(f.rows().await, before);
}

#[tokio::test]
async fn callers_cannot_forge_standard_fields_or_unmark_them() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap();
    let mut next = f.store.get_module(org, "leads").await.unwrap().definition;
    next.fields[0].standard = false;
    next.fields.push(FieldDef::new("budget", "Budget", FieldType::Number).standard());
    let updated = f.store.update_module(org, "leads", next, 1, admin(), Default::default()).await.unwrap();
    assert!(updated.definition.fields[0].standard);
    assert!(!updated.definition.field("budget").unwrap().standard);
}

#[tokio::test]
async fn the_catalog_is_always_current_even_when_another_server_changed_it() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    f.store.create_module(org, custom("sites"), admin(), Default::default()).await.unwrap();
    // The records service keeps parsed definitions in its own store; the customization service
    // (another process in a split deployment) changes them.
    let reader = f.second_store();
    let first = reader.catalog(org).await.unwrap();
    let keys = |modules: &[std::sync::Arc<listone_customization::StoredModule>]| {
        modules.iter().map(|m| (m.definition.key.clone(), m.definition.version)).collect::<Vec<_>>()
    };
    assert_eq!(keys(&first), [("projects".to_owned(), 1), ("sites".to_owned(), 1)]);
    let again = reader.catalog(org).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first[0], &again[0]), "an unchanged definition is not parsed again");

    let mut next = custom("projects");
    next.fields.push(FieldDef::new("budget", "Budget", FieldType::Number));
    next.layout.sections[0].field_keys.push("budget".into());
    f.store.update_module(org, "projects", next, 1, admin(), Default::default()).await.unwrap();
    f.store.delete_module(org, "sites", admin(), Default::default()).await.unwrap();
    f.store.create_module(org, custom("areas"), admin(), Default::default()).await.unwrap();

    let now = reader.catalog(org).await.unwrap();
    assert_eq!(keys(&now), [("areas".to_owned(), 1), ("projects".to_owned(), 2)]);
    assert!(now[1].definition.field("budget").is_some(), "the changed definition, not the cached one");
    assert_eq!(
        keys(&now),
        keys(&reader.list_modules(org).await.unwrap().into_iter().map(std::sync::Arc::new).collect::<Vec<_>>())
    );
    assert!(reader.catalog(OrgId::new()).await.unwrap().is_empty(), "another org's modules are not listed");
}
