//! Shared by the `customization_*` tests: principals with scopes, a module-service client, a
//! small custom module definition, and readers for status details.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use listone_core::{Actor, App, OrgId, Principal, UserId};
use listone_proto::customization::v1 as pb;
use listone_proto::customization::v1::module_service_client::ModuleServiceClient;
use listone_testkit::TestServer;
use pb::field::Parameters;
use tonic::transport::Channel;

pub const READ: &str = "customization.read";
pub const ADMIN: &str = "customization.admin";

/// A person of `org` holding `scopes`, as a bearer token the server accepts.
pub fn token(server: &TestServer, org: OrgId, scopes: &[&str]) -> String {
    server.token_for(Principal {
        org_id: org,
        actor: Actor::User { user_id: UserId::new() },
        app: App::Crm,
        roles: Default::default(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    })
}

pub fn client(server: &TestServer) -> ModuleServiceClient<Channel> {
    ModuleServiceClient::new(server.channel())
}

pub fn field(key: &str, label: &str, ty: pb::FieldType) -> pb::Field {
    pb::Field {
        key: key.into(),
        label: label.into(),
        r#type: ty as i32,
        personal_category: pb::PersonalCategory::None as i32,
        protection: pb::Protection::Plain as i32,
        ..Default::default()
    }
}

/// A custom `projects` module: a required name, a budget, a stage picklist, a lookup to the
/// standard accounts module and a formula.
pub fn projects() -> pb::ModuleDefinition {
    let mut name = field("name", "Name", pb::FieldType::Text);
    name.rules = Some(pb::FieldRules { required: true, ..Default::default() });
    let mut budget = field("budget", "Budget", pb::FieldType::Currency);
    budget.parameters = Some(Parameters::Currency(pb::CurrencyParameters { code: "EUR".into(), scale: 2 }));
    budget.rules = Some(pb::FieldRules { min: Some("0".into()), ..Default::default() });
    let mut stage = field("stage", "Stage", pb::FieldType::Picklist);
    stage.parameters =
        Some(Parameters::Picklist(pb::PicklistParameters { values: vec!["planned".into(), "running".into()] }));
    stage.rules = Some(pb::FieldRules { default_json: Some("\"planned\"".into()), ..Default::default() });
    let mut account = field("account", "Account", pb::FieldType::Lookup);
    account.parameters = Some(Parameters::Lookup(pb::LookupParameters { target_module: "accounts".into() }));
    let mut doubled = field("double_budget", "Double budget", pb::FieldType::Formula);
    doubled.parameters = Some(Parameters::Formula(pb::FormulaParameters {
        expression: "budget * 2".into(),
        result_type: pb::FormulaResultType::Decimal as i32,
        result_scale: 2,
    }));
    pb::ModuleDefinition {
        key: "projects".into(),
        label_singular: "Project".into(),
        label_plural: "Projects".into(),
        fields: vec![name, budget, stage, account, doubled],
        layout: Some(pb::Layout {
            sections: vec![pb::LayoutSection {
                label: "Project".into(),
                field_keys: vec!["name".into(), "budget".into(), "stage".into()],
            }],
        }),
        ..Default::default()
    }
}

/// Fields named by the BadRequest details of `status`, in order.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    let bad = tonic_types::StatusExt::get_details_bad_request(status).expect("bad request details");
    bad.field_violations.into_iter().map(|v| v.field).collect()
}

/// `ErrorInfo.reason` of `status`.
pub fn reason(status: &tonic::Status) -> String {
    tonic_types::StatusExt::get_details_error_info(status).expect("error info").reason
}
