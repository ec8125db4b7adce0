//! What the module store refuses: deleting standard, referenced or populated modules, reaching
//! into another org, and more custom modules than the limit. Every refusal writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use listone_core::{Error, OrgId};
use listone_customization::MAX_CUSTOM_MODULES_PER_ORG;
use support::{Fixture, admin, custom, system, with_lookup};

fn precondition(result: Result<(), Error>) -> (&'static str, String) {
    match result {
        Err(Error::FailedPrecondition { reason, message }) => (reason, message),
        other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
    }
}

#[tokio::test]
async fn deleting_a_custom_module_keeps_its_history_and_frees_the_key() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    let first = f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    f.store.update_module(org, "projects", custom("projects"), 1, admin(), Default::default()).await.unwrap();
    let before = f.rows().await;
    f.store.delete_module(org, "projects", admin(), Default::default()).await.unwrap();
    assert_eq!(f.rows().await, (before.0 - 1, before.1, before.2 + 1), "history kept, deletion audited");
    assert!(matches!(f.store.get_module(org, "projects").await, Err(Error::NotFound { resource: "module" })));
    assert_eq!(f.audited("customization.module.deleted").await[0]["version"], 2);

    let second = f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(f.store.module_versions(org, "projects").await.unwrap().len(), 1, "a new module, a new history");
}

#[tokio::test]
async fn standard_modules_cannot_be_deleted() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap();
    let before = f.rows().await;
    let (reason, _) = precondition(f.store.delete_module(org, "documents", admin(), Default::default()).await);
    assert_eq!(reason, "STANDARD_MODULE");
    assert_eq!(f.rows().await, before);
}

#[tokio::test]
async fn a_module_another_module_looks_up_cannot_be_deleted() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    f.store.create_module(org, with_lookup("tasks", "project", "projects"), admin(), Default::default()).await.unwrap();
    let before = f.rows().await;
    let (reason, message) = precondition(f.store.delete_module(org, "projects", admin(), Default::default()).await);
    assert_eq!(reason, "MODULE_REFERENCED");
    assert!(message.contains("tasks.project"), "{message}");
    assert_eq!(f.rows().await, before);
    // Deleting the referencing module first clears the way.
    f.store.delete_module(org, "tasks", admin(), Default::default()).await.unwrap();
    f.store.delete_module(org, "projects", admin(), Default::default()).await.unwrap();
}

#[tokio::test]
async fn a_module_with_records_cannot_be_deleted() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    let module = f.store.create_module(org, custom("projects"), admin(), Default::default()).await.unwrap();
    let user = uuid::Uuid::now_v7();
    listone_core::db::execute(
        f.db.conn(),
        "INSERT INTO record (org_id, id, module_id, owner_id, subject_id, version, data, created_by, \
         created_at_us, updated_by, updated_at_us, deleted_at_us, restricted) \
         VALUES ($1, $2, $3, $4, NULL, 1, '{}', $4, 0, $4, 0, NULL, $5)",
        [org.as_uuid().into(), uuid::Uuid::now_v7().into(), module.id.as_uuid().into(), user.into(), false.into()],
    )
    .await
    .unwrap();
    let before = f.rows().await;
    let (reason, _) = precondition(f.store.delete_module(org, "projects", admin(), Default::default()).await);
    assert_eq!(reason, "MODULE_HAS_RECORDS");
    assert_eq!(f.rows().await, before);
}

#[tokio::test]
async fn another_orgs_module_is_not_found_by_every_method() {
    let f = Fixture::new().await;
    let acme = OrgId::new();
    let other = OrgId::new();
    let projects = f.store.create_module(acme, custom("projects"), admin(), Default::default()).await.unwrap();
    let before = f.rows().await;
    let s = &f.store;
    assert!(matches!(s.get_module_by_id(other, projects.id).await, Err(Error::NotFound { resource: "module" })));
    let nf = |e: &Error| matches!(e, Error::NotFound { resource: "module" });
    assert!(nf(&s.get_module(other, "projects").await.unwrap_err()));
    assert!(nf(&s.module_versions(other, "projects").await.unwrap_err()));
    assert!(nf(&s.module_at_version(other, "projects", 1).await.unwrap_err()));
    let update = s.update_module(other, "projects", custom("projects"), 1, admin(), Default::default()).await;
    assert!(nf(&update.unwrap_err()));
    assert!(nf(&s.delete_module(other, "projects", admin(), Default::default()).await.unwrap_err()));
    assert!(s.list_modules(other).await.unwrap().is_empty());
    // A lookup cannot reach into another org's modules either.
    let lookup = s.create_module(other, with_lookup("tasks", "project", "projects"), admin(), Default::default());
    assert!(matches!(lookup.await, Err(Error::InvalidArgument { .. })));
    assert_eq!(f.rows().await, before);
    // A missing key answers exactly the same.
    assert!(nf(&s.get_module(acme, "missing").await.unwrap_err()));
}

#[tokio::test]
async fn custom_modules_stop_at_the_per_org_limit() {
    let f = Fixture::new().await;
    let org = OrgId::new();
    // Standard modules do not count against the limit.
    f.store.install_standard(org, "EUR", system(), Default::default()).await.unwrap();
    for i in 0..MAX_CUSTOM_MODULES_PER_ORG {
        f.store.create_module(org, custom(&format!("m{i}")), admin(), Default::default()).await.unwrap();
    }
    let before = f.rows().await;
    let over = f.store.create_module(org, custom("one_more"), admin(), Default::default()).await;
    assert!(matches!(over, Err(Error::ResourceExhausted { limit: "MAX_CUSTOM_MODULES_PER_ORG" })), "{over:?}");
    assert_eq!(f.rows().await, before);
}
