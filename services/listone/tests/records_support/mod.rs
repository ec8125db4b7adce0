//! Shared by the `records_*` tests: principals with scopes, a record-service client, Struct and
//! filter builders, a custom module with a unique field, readers for status details, and a raw
//! scan of the record tables (and SQLite files) for plaintext.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use listone_core::{Actor, App, OrgId, Principal, UserId};
use listone_proto::customization::v1 as cpb;
use listone_proto::customization::v1::module_service_client::ModuleServiceClient;
use listone_proto::records::v1 as pb;
use listone_proto::records::v1::record_service_client::RecordServiceClient;
use listone_testkit::{TestServer, authed};
use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use sea_orm::ConnectionTrait;
use serde_json::{Value as Json, json};
use tonic::transport::Channel;

pub const READ: &str = "records.read";
pub const WRITE: &str = "records.write";

/// A person of `org` holding `scopes`, as a bearer token the server accepts.
pub fn token(server: &TestServer, org: OrgId, scopes: &[&str]) -> String {
    user_token(server, org, UserId::new(), scopes)
}

/// Person `user` of `org` holding `scopes`.
pub fn user_token(server: &TestServer, org: OrgId, user: UserId, scopes: &[&str]) -> String {
    role_token(server, org, user, &["admin"], scopes)
}

/// A CRM access token of `user` in `org` holding CRM `roles` and `scopes` (no policy stored:
/// the starter policy gives role `admin` every right, any other role none).
pub fn role_token(server: &TestServer, org: OrgId, user: UserId, roles: &[&str], scopes: &[&str]) -> String {
    server.token_for(Principal {
        org_id: org,
        actor: Actor::User { user_id: user },
        app: App::Crm,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// A service client of `org` holding `scopes`.
pub fn service_token(server: &TestServer, org: OrgId, scopes: &[&str]) -> String {
    server.token_for(Principal {
        org_id: org,
        actor: Actor::Service { client_id: "lo_client_import".into() },
        app: App::Crm,
        roles: Default::default(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    })
}

pub fn client(server: &TestServer) -> RecordServiceClient<Channel> {
    RecordServiceClient::new(server.channel())
}

/// The protobuf value of `json`.
pub fn value(json: &Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap()),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(ListValue { values: items.iter().map(value).collect() }),
        Json::Object(_) => Kind::StructValue(fields(json.clone())),
    };
    Value { kind: Some(kind) }
}

/// The protobuf struct of a JSON object.
pub fn fields(json: Json) -> Struct {
    Struct { fields: json.as_object().unwrap().iter().map(|(k, v)| (k.clone(), value(v))).collect() }
}

/// The JSON of a protobuf value.
pub fn json_of(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => json!(b),
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 => json!(*n as i64),
        Some(Kind::NumberValue(n)) => json!(n),
        Some(Kind::StringValue(s)) => json!(s),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(json_of).collect()),
        Some(Kind::StructValue(s)) => Json::Object(s.fields.iter().map(|(k, v)| (k.clone(), json_of(v))).collect()),
    }
}

/// Field `key` of `record` as JSON (null when absent).
pub fn field(record: &pb::Record, key: &str) -> Json {
    record.fields.as_ref().and_then(|f| f.fields.get(key)).map(json_of).unwrap_or(Json::Null)
}

/// The keys `record` carries values for, sorted.
pub fn keys(record: &pb::Record) -> Vec<String> {
    record.fields.as_ref().map(|f| f.fields.keys().cloned().collect()).unwrap_or_default()
}

/// A condition on `field`.
pub fn cond(field: &str, op: pb::Op, operand: Json) -> pb::Filter {
    let condition = pb::Condition { field: field.into(), op: op as i32, value: Some(value(&operand)), values: vec![] };
    pb::Filter { kind: Some(pb::filter::Kind::Condition(condition)) }
}

/// `field` IN `operands`.
pub fn one_of(field: &str, operands: &[Json]) -> pb::Filter {
    let condition = pb::Condition {
        field: field.into(),
        op: pb::Op::In as i32,
        value: None,
        values: operands.iter().map(value).collect(),
    };
    pb::Filter { kind: Some(pb::filter::Kind::Condition(condition)) }
}

pub fn all_of(filters: Vec<pb::Filter>) -> pb::Filter {
    pb::Filter { kind: Some(pb::filter::Kind::And(pb::FilterGroup { filters })) }
}

pub fn any_of(filters: Vec<pb::Filter>) -> pb::Filter {
    pb::Filter { kind: Some(pb::filter::Kind::Or(pb::FilterGroup { filters })) }
}

/// Creates a record of `module` with `values` as `token`'s caller.
pub async fn create(server: &TestServer, token: &str, module: &str, values: Json) -> pb::Record {
    let request = pb::CreateRecordRequest { module: module.into(), fields: Some(fields(values)), owner_id: None };
    client(server).create_record(authed(request, token)).await.unwrap().into_inner()
}

/// The create request of a record of `module` with `values`.
pub fn create_request(module: &str, values: Json) -> pb::CreateRecordRequest {
    pb::CreateRecordRequest { module: module.into(), fields: Some(fields(values)), owner_id: None }
}

pub fn get_request(module: &str, id: &str) -> pb::GetRecordRequest {
    pb::GetRecordRequest { module: module.into(), id: id.into(), ..Default::default() }
}

pub fn update_request(module: &str, record: &pb::Record, values: Json, mask: &[&str]) -> pb::UpdateRecordRequest {
    pb::UpdateRecordRequest {
        module: module.into(),
        id: record.id.clone(),
        fields: Some(fields(values)),
        update_mask: mask.iter().map(|m| (*m).to_owned()).collect(),
        expected_version: record.version,
    }
}

/// A list request of `module` with `filter`, every other knob at its default.
pub fn list_request(module: &str, filter: Option<pb::Filter>) -> pb::ListRecordsRequest {
    pb::ListRecordsRequest { module: module.into(), filter, ..Default::default() }
}

/// Ids of the records `filter` lists in `module` (one page of up to 500).
pub async fn listed(server: &TestServer, token: &str, module: &str, filter: pb::Filter) -> Vec<String> {
    let mut request = list_request(module, Some(filter));
    request.page_size = 500;
    let page = client(server).list_records(authed(request, token)).await.unwrap().into_inner();
    page.records.into_iter().map(|r| r.id).collect()
}

/// A custom subject module `members`: a required indexed name, a unique searchable e-mail, an
/// encrypted note, a unique plain code and an indexed score, created through the module API.
pub async fn install_members(server: &TestServer, org: OrgId) {
    let admin = token(server, org, &["customization.admin"]);
    let plain = |key: &str, ty: cpb::FieldType| cpb::Field {
        key: key.into(),
        label: key.into(),
        r#type: ty as i32,
        personal_category: cpb::PersonalCategory::None as i32,
        protection: cpb::Protection::Plain as i32,
        ..Default::default()
    };
    let mut name = plain("name", cpb::FieldType::Text);
    name.rules = Some(cpb::FieldRules { required: true, indexed: true, ..Default::default() });
    let mut email = plain("email", cpb::FieldType::Email);
    email.personal_category = cpb::PersonalCategory::Contact as i32;
    email.protection = cpb::Protection::Searchable as i32;
    email.rules = Some(cpb::FieldRules { unique: true, ..Default::default() });
    let mut note = plain("note", cpb::FieldType::LongText);
    note.personal_category = cpb::PersonalCategory::Identity as i32;
    note.protection = cpb::Protection::Encrypted as i32;
    let mut code = plain("code", cpb::FieldType::Text);
    code.rules = Some(cpb::FieldRules { unique: true, indexed: true, ..Default::default() });
    let mut score = plain("score", cpb::FieldType::Number);
    score.rules = Some(cpb::FieldRules { indexed: true, ..Default::default() });
    let definition = cpb::ModuleDefinition {
        key: "members".into(),
        label_singular: "Member".into(),
        label_plural: "Members".into(),
        is_subject: true,
        fields: vec![name, email, note, code, score],
        ..Default::default()
    };
    let request = cpb::CreateModuleRequest { module: Some(definition) };
    ModuleServiceClient::new(server.channel()).create_module(authed(request, &admin)).await.unwrap();
}

/// Fields named by the BadRequest details of `status`, in order.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    let bad = tonic_types::StatusExt::get_details_bad_request(status).expect("bad request details");
    bad.field_violations.into_iter().map(|v| v.field).collect()
}

/// (field, description) of each BadRequest violation of `status`.
pub fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    let bad = tonic_types::StatusExt::get_details_bad_request(status).expect("bad request details");
    bad.field_violations.into_iter().map(|v| (v.field, v.description)).collect()
}

/// `ErrorInfo.reason` of `status`.
pub fn reason(status: &tonic::Status) -> String {
    tonic_types::StatusExt::get_details_error_info(status).expect("error info").reason
}

/// Rows of `table`, every org.
pub async fn rows(server: &TestServer, table: &str) -> i64 {
    listone_core::db::count(server.db().conn(), &format!("SELECT COUNT(*) AS n FROM {table}"), []).await.unwrap()
}

/// Every text column of the record tables, one cell per line: what an attacker with the
/// database (or a backup) reads.
pub async fn raw_text(server: &TestServer) -> String {
    let conn = server.db().conn();
    let mut dump = String::new();
    for (table, columns) in [
        ("record", "data"),
        ("record_index", "field_id || ' ' || COALESCE(value_text, '')"),
        ("record_unique", "field_id || ' ' || value_key"),
        (
            "record_history",
            "field_id || ' ' || COALESCE(old_value, '') || ' ' || COALESCE(new_value, '') || ' ' || actor_kind \
             || ' ' || actor_id || ' ' || source",
        ),
    ] {
        let sql = format!("SELECT {columns} AS t FROM {table}");
        let stmt = listone_core::db::statement(conn.get_database_backend(), &sql, []);
        for row in conn.query_all_raw(stmt).await.unwrap() {
            dump.push_str(&row.try_get::<String>("", "t").unwrap());
            dump.push('\n');
        }
    }
    dump
}

/// The bytes of every file of the SQLite database (main file, WAL, shared memory); empty on
/// PostgreSQL.
pub fn sqlite_bytes(server: &TestServer) -> Vec<u8> {
    let Some(dir) = server.test_database().sqlite_dir() else { return Vec::new() };
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}
