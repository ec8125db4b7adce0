//! `listone.customization.v1.ModuleService` over the real server socket: the standard catalog of
//! a new organization, a custom module's whole life, versions, the repair call, auditing, health
//! and reflection. Runs on SQLite, and on PostgreSQL with `LISTONE_TEST_DATABASE_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod customization_support;

use std::time::Duration;

use customization_support::{ADMIN, READ, client, field, projects, token};
use listone_core::OrgId;
use listone_proto::audit::v1 as audit_pb;
use listone_proto::audit::v1::audit_service_client::AuditServiceClient;
use listone_proto::customization::v1 as pb;
use listone_testkit::{TestServer, authed};
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const STANDARD: [&str; 8] =
    ["accounts", "activities", "communications", "contacts", "deals", "documents", "leads", "properties"];

#[tokio::test]
async fn a_new_org_lists_the_standard_catalog_installed_on_first_use() {
    let server = TestServer::start().await;
    let reader = token(&server, OrgId::new(), &[READ]);
    let mut modules = client(&server);

    let list = modules.list_modules(authed(pb::ListModulesRequest::default(), &reader)).await.unwrap().into_inner();
    let keys: Vec<_> = list.modules.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, STANDARD);
    assert!(list.modules.iter().all(|m| m.kind == pb::ModuleKind::Standard as i32 && m.version == 1));
    assert!(list.next_page_token.is_empty());
    let contacts = list.modules.iter().find(|m| m.key == "contacts").unwrap();
    assert!(contacts.is_subject);
    let email = contacts.fields.iter().find(|f| f.key == "email").unwrap();
    assert_eq!(email.r#type, pb::FieldType::Email as i32);
    assert_eq!(email.protection, pb::Protection::Searchable as i32);
    assert_eq!(email.personal_category, pb::PersonalCategory::Contact as i32);
    assert!(email.standard);

    // Pages of three walk the same catalog, and reading again installs nothing new.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListModulesRequest { page_size: 3, page_token: page_token.clone() };
        let page = modules.list_modules(authed(request, &reader)).await.unwrap().into_inner();
        paged.extend(page.modules.into_iter().map(|m| (m.key, m.version)));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), STANDARD);
    assert!(paged.iter().all(|(_, v)| *v == 1));
}

#[tokio::test]
async fn concurrent_first_reads_install_the_catalog_once() {
    let server = TestServer::start().await;
    let reader = token(&server, OrgId::new(), &[READ]);
    let reads = (0..4).map(|_| {
        let mut modules = client(&server);
        let reader = reader.clone();
        async move { modules.list_modules(authed(pb::ListModulesRequest::default(), &reader)).await }
    });
    for answer in futures_join(reads).await {
        let keys: Vec<_> = answer.unwrap().into_inner().modules.into_iter().map(|m| (m.key, m.version)).collect();
        assert_eq!(keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), STANDARD);
        assert!(keys.iter().all(|(_, v)| *v == 1));
    }
}

/// Runs every future concurrently on the test runtime and collects their outputs in order.
async fn futures_join<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

#[tokio::test]
async fn get_module_installs_the_catalog_for_an_org_that_has_none() {
    let server = TestServer::start().await;
    let reader = token(&server, OrgId::new(), &[READ]);
    let request = pb::GetModuleRequest { key: "deals".into(), version: 0 };
    let deal = client(&server).get_module(authed(request, &reader)).await.unwrap().into_inner().module.unwrap();
    assert_eq!(deal.kind, pb::ModuleKind::Standard as i32);
    let amount = deal.fields.iter().find(|f| f.key == "amount").unwrap();
    let Some(pb::field::Parameters::Currency(currency)) = &amount.parameters else { panic!("amount is not money") };
    assert_eq!(currency.code, listone_customization_service::DEFAULT_CURRENCY);
}

#[tokio::test]
async fn install_standard_modules_is_idempotent() {
    let server = TestServer::start().await;
    let admin = token(&server, OrgId::new(), &[ADMIN]);
    let mut modules = client(&server);
    let request = pb::InstallStandardModulesRequest { currency: "AED".into() };
    let first = modules.install_standard_modules(authed(request.clone(), &admin)).await.unwrap().into_inner();
    let mut created = first.created.clone();
    created.sort();
    assert_eq!(created, STANDARD);
    let second = modules.install_standard_modules(authed(request, &admin)).await.unwrap().into_inner();
    assert!(second.created.is_empty() && second.reconciled.is_empty());
}

#[tokio::test]
async fn custom_module_is_created_changed_versioned_and_deleted() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let admin = token(&server, org, &[ADMIN]);
    let mut modules = client(&server);

    let create = pb::CreateModuleRequest { module: Some(projects()) };
    let created = modules.create_module(authed(create, &admin)).await.unwrap().into_inner().module.unwrap();
    assert_eq!((created.key.as_str(), created.version), ("projects", 1));
    assert_eq!(created.kind, pb::ModuleKind::Custom as i32);
    assert_eq!(created.fields.len(), 5);
    let budget = &created.fields[1];
    assert_eq!(budget.rules.as_ref().unwrap().min.as_deref(), Some("0"));
    assert_eq!(created.fields[2].rules.as_ref().unwrap().default_json.as_deref(), Some("\"planned\""));

    // A change is the whole definition against the version it was made from.
    let mut changed = projects();
    changed.label_plural = "All projects".into();
    changed.fields.push(field("code", "Code", pb::FieldType::Text));
    let update = pb::UpdateModuleRequest { key: "projects".into(), module: Some(changed), expected_version: 1 };
    let updated = modules.update_module(authed(update, &admin)).await.unwrap().into_inner().module.unwrap();
    assert_eq!((updated.version, updated.id.as_str()), (2, created.id.as_str()));
    assert_eq!(updated.fields.len(), 6);

    let current = pb::GetModuleRequest { key: "projects".into(), version: 0 };
    let current = modules.get_module(authed(current, &admin)).await.unwrap().into_inner().module.unwrap();
    assert_eq!((current.version, current.label_plural.as_str()), (2, "All projects"));
    let first = pb::GetModuleRequest { key: "projects".into(), version: 1 };
    let first = modules.get_module(authed(first, &admin)).await.unwrap().into_inner().module.unwrap();
    assert_eq!((first.version, first.label_plural.as_str(), first.fields.len()), (1, "Projects", 5));

    let versions = pb::ListModuleVersionsRequest { key: "projects".into(), page_size: 1, page_token: String::new() };
    let page = modules.list_module_versions(authed(versions, &admin)).await.unwrap().into_inner();
    assert_eq!(page.versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);
    assert!(!page.versions[0].changed_by.is_empty(), "a person made the change");
    let rest = pb::ListModuleVersionsRequest { key: "projects".into(), page_size: 0, page_token: page.next_page_token };
    let rest = modules.list_module_versions(authed(rest, &admin)).await.unwrap().into_inner();
    assert_eq!(rest.versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);
    assert!(rest.next_page_token.is_empty());

    let delete = pb::DeleteModuleRequest { key: "projects".into() };
    modules.delete_module(authed(delete, &admin)).await.unwrap();
    let gone = pb::GetModuleRequest { key: "projects".into(), version: 0 };
    let err = modules.get_module(authed(gone, &admin)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn every_module_change_and_refusal_is_in_the_audit_log() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let admin = token(&server, org, &[ADMIN, "audit.read"]);
    let mut modules = client(&server);
    modules.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &admin)).await.unwrap();
    let update = pb::UpdateModuleRequest { key: "projects".into(), module: Some(projects()), expected_version: 1 };
    modules.update_module(authed(update, &admin)).await.unwrap();
    modules.delete_module(authed(pb::DeleteModuleRequest { key: "projects".into() }, &admin)).await.unwrap();
    let reader = token(&server, org, &[READ]);
    let refused = modules.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &reader)).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::PermissionDenied);

    let mut audit = AuditServiceClient::new(server.channel());
    let wanted = [
        "customization.module.created",
        "customization.module.updated",
        "customization.module.deleted",
        listone_customization_service::ACCESS_DENIED_ACTION,
    ];
    let mut actions = Vec::new();
    // Entries reach the log through the outbox, so give the dispatcher a moment.
    for _ in 0..100 {
        let filter = audit_pb::EntryFilter { action: "customization.*".into(), ..Default::default() };
        let request = audit_pb::ListEntriesRequest { filter: Some(filter), page_size: 100, ..Default::default() };
        let entries = audit.list_entries(authed(request, &admin)).await.unwrap().into_inner().entries;
        actions = entries.into_iter().map(|e| e.action).collect::<Vec<_>>();
        if wanted.iter().all(|w| actions.iter().any(|a| a == w)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for w in wanted {
        assert!(actions.iter().any(|a| a == w), "{w} missing from {actions:?}");
    }
}

#[tokio::test]
async fn health_and_reflection_list_the_module_service() {
    let server = TestServer::start().await;
    let name = "listone.customization.v1.ModuleService";
    let health = server.health().check(HealthCheckRequest { service: name.into() }).await.unwrap().into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream =
        server.reflection().server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let response = stream.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer")
    };
    assert!(list.service.iter().any(|s| s.name == name));
}
