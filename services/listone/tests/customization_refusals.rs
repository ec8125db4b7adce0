//! What `listone.customization.v1.ModuleService` refuses, over the real server socket: each bad
//! input with its status code and details, missing scopes and tokens, and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod customization_support;

use customization_support::{ADMIN, READ, client, field, projects, reason, token, violated_fields};
use listone_core::OrgId;
use listone_proto::customization::v1 as pb;
use listone_testkit::{TestServer, authed};
use tonic::Code;

fn get(key: &str) -> pb::GetModuleRequest {
    pb::GetModuleRequest { key: key.into(), version: 0 }
}

fn versions(key: &str) -> pb::ListModuleVersionsRequest {
    pb::ListModuleVersionsRequest { key: key.into(), ..Default::default() }
}

fn update(key: &str, expected_version: u32) -> pb::UpdateModuleRequest {
    pb::UpdateModuleRequest { key: key.into(), module: Some(projects()), expected_version }
}

fn delete(key: &str) -> pb::DeleteModuleRequest {
    pb::DeleteModuleRequest { key: key.into() }
}

#[tokio::test]
async fn an_unknown_module_is_not_found_for_every_rpc() {
    let server = TestServer::start().await;
    let admin = token(&server, OrgId::new(), &[ADMIN]);
    let mut m = client(&server);
    let codes = [
        m.get_module(authed(get("nope"), &admin)).await.unwrap_err().code(),
        m.list_module_versions(authed(versions("nope"), &admin)).await.unwrap_err().code(),
        m.update_module(authed(update("nope", 1), &admin)).await.unwrap_err().code(),
        m.delete_module(authed(delete("nope"), &admin)).await.unwrap_err().code(),
    ];
    assert_eq!(codes, [Code::NotFound; 4]);
    let missing_version = pb::GetModuleRequest { key: "deals".into(), version: 9 };
    assert_eq!(m.get_module(authed(missing_version, &admin)).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn another_orgs_module_is_not_found_for_every_rpc() {
    let server = TestServer::start().await;
    let owner = token(&server, OrgId::new(), &[ADMIN]);
    let stranger = token(&server, OrgId::new(), &[ADMIN]);
    let mut m = client(&server);
    m.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &owner)).await.unwrap();

    let codes = [
        m.get_module(authed(get("projects"), &stranger)).await.unwrap_err().code(),
        m.list_module_versions(authed(versions("projects"), &stranger)).await.unwrap_err().code(),
        m.update_module(authed(update("projects", 1), &stranger)).await.unwrap_err().code(),
        m.delete_module(authed(delete("projects"), &stranger)).await.unwrap_err().code(),
    ];
    assert_eq!(codes, [Code::NotFound; 4]);
    let listed = m.list_modules(authed(pb::ListModulesRequest::default(), &stranger)).await.unwrap().into_inner();
    assert!(listed.modules.iter().all(|module| module.key != "projects"));
    // The stranger may define its own `projects`: keys are unique per organization only.
    m.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &stranger)).await.unwrap();
    // And the owner's module is untouched.
    let own = m.get_module(authed(get("projects"), &owner)).await.unwrap().into_inner().module.unwrap();
    assert_eq!(own.version, 1);
}

#[tokio::test]
async fn a_taken_key_is_already_exists() {
    let server = TestServer::start().await;
    let admin = token(&server, OrgId::new(), &[ADMIN]);
    let mut m = client(&server);
    m.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &admin)).await.unwrap();
    let err = m.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(violated_fields(&err), ["key"]);
}

#[tokio::test]
async fn a_stale_version_is_aborted() {
    let server = TestServer::start().await;
    let admin = token(&server, OrgId::new(), &[ADMIN]);
    let mut m = client(&server);
    m.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &admin)).await.unwrap();
    m.update_module(authed(update("projects", 1), &admin)).await.unwrap();
    let err = m.update_module(authed(update("projects", 1), &admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_VERSION");
}

#[tokio::test]
async fn an_invalid_definition_reports_every_problem_at_once() {
    let server = TestServer::start().await;
    let admin = token(&server, OrgId::new(), &[ADMIN]);
    let mut m = client(&server);

    // Problems of meaning, found by the domain validator in one pass.
    let mut bad = projects();
    bad.key = "Bad Key".into();
    bad.fields.push(field("name", "Name again", pb::FieldType::Text));
    let mut secret = field("diagnosis", "Diagnosis", pb::FieldType::LongText);
    secret.personal_category = pb::PersonalCategory::Special as i32;
    bad.fields.push(secret);
    bad.layout.as_mut().unwrap().sections[0].field_keys.push("ghost".into());
    let err = m.create_module(authed(pb::CreateModuleRequest { module: Some(bad) }, &admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = violated_fields(&err);
    assert!(fields.contains(&"key".to_owned()), "{fields:?}");
    assert!(fields.contains(&"fields[5].key".to_owned()), "{fields:?}");
    assert!(fields.contains(&"fields.diagnosis.protection".to_owned()), "{fields:?}");
    assert!(fields.contains(&"layout.sections[0].field_keys[3]".to_owned()), "{fields:?}");
    assert_eq!(fields.len(), 4, "{fields:?}");

    // Problems of shape, found while decoding, also all at once and naming the field.
    let mut shapeless = projects();
    shapeless.fields[0].r#type = pb::FieldType::Unspecified as i32;
    shapeless.fields[1].parameters = None;
    shapeless.fields[2].protection = pb::Protection::Unspecified as i32;
    let err = m.create_module(authed(pb::CreateModuleRequest { module: Some(shapeless) }, &admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["fields[0].type", "fields[1].currency", "fields[2].protection"]);

    // An update needs the version it was made against as well as a valid definition.
    m.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &admin)).await.unwrap();
    let mut no_version = update("projects", 0);
    no_version.module.as_mut().unwrap().fields[0].personal_category = 0;
    let err = m.update_module(authed(no_version, &admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["expected_version", "fields[0].personal_category"]);
}

#[tokio::test]
async fn standard_modules_cannot_be_deleted() {
    let server = TestServer::start().await;
    let admin = token(&server, OrgId::new(), &[ADMIN]);
    let mut m = client(&server);
    m.list_modules(authed(pb::ListModulesRequest::default(), &admin)).await.unwrap();
    let err = m.delete_module(authed(delete("contacts"), &admin)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "STANDARD_MODULE");
}

#[tokio::test]
async fn writes_need_the_admin_scope_and_reads_the_read_scope() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let reader = token(&server, org, &[READ]);
    let nobody = token(&server, org, &["identity.admin"]);
    let mut m = client(&server);

    let create = m.create_module(authed(pb::CreateModuleRequest { module: Some(projects()) }, &reader)).await;
    let install = m.install_standard_modules(authed(pb::InstallStandardModulesRequest::default(), &reader)).await;
    let change = m.update_module(authed(update("deals", 1), &reader)).await;
    let remove = m.delete_module(authed(delete("deals"), &reader)).await;
    for result in [create.map(|_| ()), install.map(|_| ()), change.map(|_| ()), remove.map(|_| ())] {
        let err = result.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(reason(&err), "MISSING_SCOPE");
    }
    let list = m.list_modules(authed(pb::ListModulesRequest::default(), &nobody)).await.unwrap_err();
    let read = m.get_module(authed(get("deals"), &nobody)).await.unwrap_err();
    let history = m.list_module_versions(authed(versions("deals"), &nobody)).await.unwrap_err();
    assert_eq!([list.code(), read.code(), history.code()], [Code::PermissionDenied; 3]);
}

#[tokio::test]
async fn a_call_without_a_token_is_unauthenticated() {
    let server = TestServer::start().await;
    let mut m = client(&server);
    let list = m.list_modules(pb::ListModulesRequest::default()).await.unwrap_err();
    let create = m.create_module(pb::CreateModuleRequest { module: Some(projects()) }).await.unwrap_err();
    let bogus = m.get_module(authed(get("deals"), "not-a-token")).await.unwrap_err();
    assert_eq!([list.code(), create.code(), bogus.code()], [Code::Unauthenticated; 3]);
}

#[tokio::test]
async fn a_foreign_page_token_or_oversized_page_is_invalid() {
    let server = TestServer::start().await;
    let reader = token(&server, OrgId::new(), &[READ]);
    let mut m = client(&server);
    let huge = pb::ListModulesRequest { page_size: 10_000, page_token: String::new() };
    let err = m.list_modules(authed(huge, &reader)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["page_size"]);
    let foreign = pb::ListModuleVersionsRequest { key: "deals".into(), page_size: 0, page_token: "abc".into() };
    let err = m.list_module_versions(authed(foreign, &reader)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);
}
