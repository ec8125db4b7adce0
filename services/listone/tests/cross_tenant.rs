//! The cross-tenant suite of issue 7, over the real server socket: for every RPC that names a
//! tenant's things (ids, module keys, log positions, credentials), the most privileged caller of
//! organization B naming organization A's gets NOT_FOUND (or the answer an unknown credential
//! gets) — the very answer a thing that never existed gets, holding none of the ids or values
//! asked about — A is unchanged afterwards, and B's lists, filters and uniqueness checks show
//! nothing of A. `docs/cross-tenant.md` maps every RPC to the test that covers it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cross_tenant_support;
mod customization_support;
mod records_support;

use cross_tenant_support::{
    Answer, Clients, IDENTITY_RPCS_NAMING_IDS, IdentityIds, Outcomes, PASSWORD, Tenant, active_user, answer,
    assert_all_refused_alike, assert_refused_alike, by_slug, call_identity_rpcs_naming, done, privileged, signed_in,
    tenant, totp_code, wait_for_log,
};
use listone_audit::{ActorKind, AuditActor, AuditEvent, Outcome};
use listone_core::{GroupId, OrgId, RecordId, UserId};
use listone_identity::access::{
    AccessPolicy, Condition, Criteria, ManualShare, ObjectRight, RoleProfile, ShareAccess, ShareRecipient, ShareTarget,
    SharingRule, Test, Value,
};
use listone_proto::access::v1 as apb;
use listone_proto::audit::v1 as aupb;
use listone_proto::customization::v1 as cpb;
use listone_proto::identity::v1 as ipb;
use listone_proto::records::v1 as rpb;
use listone_proto::records::v1::record_service_client::RecordServiceClient;
use listone_testkit::{TestServer, authed};
use records_support::{cond, create, fields, get_request, install_members, list_request, listed, one_of};
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Status};

// ---------------------------------------------------------------------------------------------
// listone.records.v1.RecordService
// ---------------------------------------------------------------------------------------------

/// A's member: every value is a secret B must never read back.
const MEMBER: [&str; 4] = ["Ada Lovelace", "ada@acme.example", "Prefers tea with Babbage", "ACME-1815"];

fn member_values() -> serde_json::Value {
    json!({"name": MEMBER[0], "email": MEMBER[1], "note": MEMBER[2], "code": MEMBER[3], "score": 1815})
}

/// One call of every record RPC naming `module` and its record `id`, as `token`; the second
/// related list asks for `module`'s records hanging off `anchor`, a contact of the caller's own.
async fn call_record_rpcs_naming(c: &mut Clients, token: &str, module: &str, id: &str, anchor: &str) -> Outcomes {
    let r = &mut c.records;
    let name = || Some(fields(json!({"name": "Intruder"})));
    let mask = || vec!["name".to_owned()];
    let mut out: Outcomes = Vec::new();
    let create = rpb::CreateRecordRequest { module: module.into(), fields: name(), owner_id: None };
    out.push(("CreateRecord", done(r.create_record(authed(create, token)).await)));
    out.push(("GetRecord", done(r.get_record(authed(get_request(module, id), token)).await)));
    let update = rpb::UpdateRecordRequest {
        module: module.into(),
        id: id.into(),
        fields: name(),
        update_mask: mask(),
        expected_version: 1,
    };
    out.push(("UpdateRecord", done(r.update_record(authed(update, token)).await)));
    let delete = rpb::DeleteRecordRequest { module: module.into(), id: id.into(), expected_version: None };
    out.push(("DeleteRecord", done(r.delete_record(authed(delete, token)).await)));
    out.push(("ListRecords", done(r.list_records(authed(list_request(module, None), token)).await)));
    let count = rpb::CountRecordsRequest { module: module.into(), ..Default::default() };
    out.push(("CountRecords", done(r.count_records(authed(count, token)).await)));
    let related = rpb::ListRelatedRecordsRequest {
        module: module.into(),
        id: id.into(),
        related_module: "activities".into(),
        via_field: "contact".into(),
        ..Default::default()
    };
    out.push(("ListRelatedRecords", done(r.list_related_records(authed(related, token)).await)));
    let related = rpb::ListRelatedRecordsRequest {
        module: "contacts".into(),
        id: anchor.into(),
        related_module: module.into(),
        via_field: "contact".into(),
        ..Default::default()
    };
    out.push(("ListRelatedRecords (related_module)", done(r.list_related_records(authed(related, token)).await)));
    let history = rpb::ListFieldHistoryRequest { module: module.into(), id: id.into(), ..Default::default() };
    out.push(("ListFieldHistory", done(r.list_field_history(authed(history, token)).await)));
    let bulk = rpb::BulkCreateRecordsRequest { module: module.into(), records: vec![name().unwrap()], owner_id: None };
    out.push(("BulkCreateRecords", done(r.bulk_create_records(authed(bulk, token)).await)));
    let change = rpb::RecordUpdate { id: id.into(), fields: name(), update_mask: mask(), expected_version: 1 };
    let bulk = rpb::BulkUpdateRecordsRequest { module: module.into(), records: vec![change] };
    out.push(("BulkUpdateRecords", done(r.bulk_update_records(authed(bulk, token)).await)));
    out
}

#[tokio::test]
async fn another_orgs_module_key_is_not_found_on_every_record_rpc() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    install_members(&server, a.org).await;
    let member = create(&server, &a.token, "members", member_values()).await;
    let anchor = create(&server, &b.token, "contacts", json!({"last_name": "Babbage"})).await;

    let foreign = call_record_rpcs_naming(&mut c, &b.token, "members", &member.id, &anchor.id).await;
    let ghost = RecordId::new().to_string();
    let unknown = call_record_rpcs_naming(&mut c, &b.token, "ghosts", &ghost, &anchor.id).await;
    assert_eq!(foreign.len(), 11, "every record RPC, the related list both ways");
    let secrets = [&[member.id.as_str(), "members"][..], &MEMBER[..]].concat();
    assert_all_refused_alike(&foreign, &unknown, |_| Code::NotFound, &secrets);

    // A's record is untouched and still A's only one.
    let own = c.records.get_record(authed(get_request("members", &member.id), &a.token)).await.unwrap().into_inner();
    assert_eq!(own, member);
    let count = rpb::CountRecordsRequest { module: "members".into(), ..Default::default() };
    assert_eq!(c.records.count_records(authed(count, &a.token)).await.unwrap().into_inner().count, 1);
}

/// One call of every record write that can carry a lookup, each pointing `contact` at `target`,
/// as `token`; the updates change `own`, an activity of the caller's own.
async fn call_lookup_writes(c: &mut Clients, token: &str, target: &str, own: &rpb::Record) -> Outcomes {
    let r = &mut c.records;
    let call = |contact: &str| fields(json!({"subject": "Call", "activity_type": "call", "contact": contact}));
    let plain = fields(json!({"subject": "Note", "activity_type": "note"}));
    let mut out: Outcomes = Vec::new();
    let create = rpb::CreateRecordRequest { module: "activities".into(), fields: Some(call(target)), owner_id: None };
    out.push(("CreateRecord (lookup)", done(r.create_record(authed(create, token)).await)));
    let bulk = rpb::BulkCreateRecordsRequest {
        module: "activities".into(),
        records: vec![plain, call(target)],
        owner_id: None,
    };
    out.push(("BulkCreateRecords (lookup)", done(r.bulk_create_records(authed(bulk, token)).await)));
    let change = || rpb::RecordUpdate {
        id: own.id.clone(),
        fields: Some(fields(json!({"contact": target}))),
        update_mask: vec!["contact".into()],
        expected_version: own.version,
    };
    let update = rpb::UpdateRecordRequest {
        module: "activities".into(),
        id: own.id.clone(),
        fields: change().fields,
        update_mask: change().update_mask,
        expected_version: own.version,
    };
    out.push(("UpdateRecord (lookup)", done(r.update_record(authed(update, token)).await)));
    let bulk = rpb::BulkUpdateRecordsRequest { module: "activities".into(), records: vec![change()] };
    out.push(("BulkUpdateRecords (lookup)", done(r.bulk_update_records(authed(bulk, token)).await)));
    out
}

#[tokio::test]
async fn a_lookup_to_another_orgs_record_is_not_found_on_every_write_and_writes_nothing() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    let theirs =
        create(&server, &a.token, "contacts", json!({"last_name": "Lovelace", "email": "ada@acme.example"})).await;
    let mine = create(&server, &b.token, "contacts", json!({"last_name": "Babbage"})).await;
    let activity = create(
        &server,
        &b.token,
        "activities",
        json!({"subject": "Call", "activity_type": "call", "contact": mine.id}),
    )
    .await;

    let foreign = call_lookup_writes(&mut c, &b.token, &theirs.id, &activity).await;
    let unknown = call_lookup_writes(&mut c, &b.token, &RecordId::new().to_string(), &activity).await;
    assert_all_refused_alike(&foreign, &unknown, |_| Code::NotFound, &[&theirs.id, "Lovelace", "ada@acme.example"]);
    for (rpc, outcome) in &foreign {
        let Answer::Refused { violations, .. } = answer(outcome) else { unreachable!() };
        assert!(violations.iter().all(|(field, _)| field.ends_with("fields.contact")), "{rpc}: {violations:?}");
    }

    // Nothing was written in B, and A's contact gained no related activity.
    let again = c.records.get_record(authed(get_request("activities", &activity.id), &b.token)).await.unwrap();
    assert_eq!(again.into_inner(), activity);
    let count = rpb::CountRecordsRequest { module: "activities".into(), ..Default::default() };
    assert_eq!(c.records.count_records(authed(count, &b.token)).await.unwrap().into_inner().count, 1);
    let related = rpb::ListRelatedRecordsRequest {
        module: "contacts".into(),
        id: theirs.id.clone(),
        related_module: "activities".into(),
        via_field: "contact".into(),
        ..Default::default()
    };
    let related = c.records.list_related_records(authed(related, &a.token)).await.unwrap().into_inner();
    assert!(related.records.is_empty());
    let own = c.records.get_record(authed(get_request("contacts", &theirs.id), &a.token)).await.unwrap().into_inner();
    assert_eq!(own, theirs);
}

#[tokio::test]
async fn another_orgs_ids_and_unique_values_mean_nothing_in_lists_counts_and_unique_checks() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    install_members(&server, a.org).await;
    let member = create(&server, &a.token, "members", member_values()).await;
    let contact = create(&server, &a.token, "contacts", json!({"last_name": "Lovelace"})).await;
    create(&server, &a.token, "activities", json!({"subject": "Call", "activity_type": "call", "contact": contact.id}))
        .await;

    // B may define the same module key and hold the same unique values: both are per organization.
    install_members(&server, b.org).await;
    let twin = create(&server, &b.token, "members", member_values()).await;
    assert_ne!(twin.id, member.id);

    // B's module of the same key does not hold A's record.
    let get = c.records.get_record(authed(get_request("members", &member.id), &b.token)).await;
    let ghost = c.records.get_record(authed(get_request("members", &RecordId::new().to_string()), &b.token)).await;
    assert_refused_alike("GetRecord (same module key)", &get, &ghost, Code::NotFound, &[&member.id]);

    // Lists, filters and counts of B name only B's records, whatever ids or values they name.
    let all = c.records.list_records(authed(list_request("members", None), &b.token)).await.unwrap().into_inner();
    assert_eq!(all.records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [twin.id.as_str()]);
    let by_email = listed(&server, &b.token, "members", cond("email", rpb::Op::Eq, json!(MEMBER[1]))).await;
    let by_code = listed(&server, &b.token, "members", cond("code", rpb::Op::Eq, json!(MEMBER[3]))).await;
    assert_eq!((by_email, by_code), (vec![twin.id.clone()], vec![twin.id.clone()]));
    let ids = one_of("id", &[json!(member.id), json!(contact.id)]);
    assert!(listed(&server, &b.token, "members", ids.clone()).await.is_empty());
    assert!(listed(&server, &b.token, "contacts", ids.clone()).await.is_empty());
    let by_lookup = cond("contact", rpb::Op::Eq, json!(contact.id));
    assert!(listed(&server, &b.token, "activities", by_lookup.clone()).await.is_empty());
    for (module, filter) in [("members", ids), ("activities", by_lookup)] {
        let count = rpb::CountRecordsRequest { module: module.into(), filter: Some(filter), cap: 0 };
        assert_eq!(c.records.count_records(authed(count, &b.token)).await.unwrap().into_inner().count, 0, "{module}");
    }
    let contacts = c.records.list_records(authed(list_request("contacts", None), &b.token)).await.unwrap();
    assert!(contacts.into_inner().records.is_empty());

    // And A's lists hold only A's.
    let all = c.records.list_records(authed(list_request("members", None), &a.token)).await.unwrap().into_inner();
    assert_eq!(all.records, [member]);
}

/// A custom module `tasks` of the caller's organization with a user field `assignee`.
async fn install_tasks(c: &mut Clients, token: &str) {
    let field = |key: &str, ty: cpb::FieldType| cpb::Field {
        key: key.into(),
        label: key.into(),
        r#type: ty as i32,
        personal_category: cpb::PersonalCategory::None as i32,
        protection: cpb::Protection::Plain as i32,
        ..Default::default()
    };
    let definition = cpb::ModuleDefinition {
        key: "tasks".into(),
        label_singular: "Task".into(),
        label_plural: "Tasks".into(),
        fields: vec![field("name", cpb::FieldType::Text), field("assignee", cpb::FieldType::User)],
        ..Default::default()
    };
    c.modules.create_module(authed(cpb::CreateModuleRequest { module: Some(definition) }, token)).await.unwrap();
}

/// Record writes naming a person: contacts owned by `owner`, a task assigned to `user`, and the
/// caller's own `task` reassigned to `user` (each change made against its current version).
async fn call_person_writes(c: &mut Clients, token: &str, owner: &str, user: &str, task: &str) -> Outcomes {
    let r = &mut c.records;
    let mut out: Outcomes = Vec::new();
    let contact = rpb::CreateRecordRequest {
        module: "contacts".into(),
        fields: Some(fields(json!({"last_name": "Owned"}))),
        owner_id: Some(owner.into()),
    };
    out.push(("CreateRecord (owner_id)", done(r.create_record(authed(contact, token)).await)));
    let bulk = rpb::BulkCreateRecordsRequest {
        module: "contacts".into(),
        records: vec![fields(json!({"last_name": "Owned"}))],
        owner_id: Some(owner.into()),
    };
    out.push(("BulkCreateRecords (owner_id)", done(r.bulk_create_records(authed(bulk, token)).await)));
    let assigned = rpb::CreateRecordRequest {
        module: "tasks".into(),
        fields: Some(fields(json!({"name": "Audit", "assignee": user}))),
        owner_id: None,
    };
    out.push(("CreateRecord (user field)", done(r.create_record(authed(assigned, token)).await)));
    let version = async |r: &mut RecordServiceClient<Channel>| {
        r.get_record(authed(get_request("tasks", task), token)).await.unwrap().into_inner().version
    };
    let expected_version = version(r).await;
    let change = rpb::RecordUpdate {
        id: task.into(),
        fields: Some(fields(json!({"assignee": user}))),
        update_mask: vec!["assignee".into()],
        expected_version,
    };
    let update = rpb::UpdateRecordRequest {
        module: "tasks".into(),
        id: task.into(),
        fields: change.fields.clone(),
        update_mask: change.update_mask.clone(),
        expected_version,
    };
    out.push(("UpdateRecord (user field)", done(r.update_record(authed(update, token)).await)));
    let change = rpb::RecordUpdate { expected_version: version(r).await, ..change };
    let bulk = rpb::BulkUpdateRecordsRequest { module: "tasks".into(), records: vec![change] };
    out.push(("BulkUpdateRecords (user field)", done(r.bulk_update_records(authed(bulk, token)).await)));
    out
}

/// A, B, A's group, and a task of B's own.
async fn people_of_two_orgs(server: &TestServer, c: &mut Clients) -> (Tenant, Tenant, String, rpb::Record) {
    let (a, b) = (tenant(server, "acme").await, tenant(server, "globex").await);
    let group = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: String::new() };
    let group = c.groups.create_group(authed(group, &a.token)).await.unwrap().into_inner().group.unwrap().id;
    install_tasks(c, &b.token).await;
    let task = create(server, &b.token, "tasks", json!({"name": "Review", "assignee": b.admin.to_string()})).await;
    (a, b, group, task)
}

#[tokio::test]
async fn a_person_of_another_org_named_as_owner_or_user_field_is_answered_as_an_unknown_one() {
    let server = TestServer::start().await;
    let mut c = Clients::new(&server);
    let (a, b, group, task) = people_of_two_orgs(&server, &mut c).await;
    let (user, ghost) = (a.admin.to_string(), UserId::new().to_string());

    // Whatever B's answer, it is the answer for someone who never existed: nothing tells A's
    // people apart (the test below checks that answer is NOT_FOUND).
    let foreign = call_person_writes(&mut c, &b.token, &user, &user, &task.id).await;
    let unknown = call_person_writes(&mut c, &b.token, &ghost, &ghost, &task.id).await;
    let by_group = call_person_writes(&mut c, &b.token, &group, &ghost, &task.id).await;
    for ((rpc, theirs), ((_, never), (_, grouped))) in foreign.iter().zip(unknown.iter().zip(&by_group)) {
        assert_eq!(answer(theirs), answer(never), "{rpc}");
        assert_eq!(answer(grouped), answer(never), "{rpc} (A's group)");
    }
    // Records of B naming A's people stay B's: A lists none of them.
    let count = rpb::CountRecordsRequest { module: "contacts".into(), ..Default::default() };
    assert_eq!(c.records.count_records(authed(count, &a.token)).await.unwrap().into_inner().count, 0);
}

#[tokio::test]
async fn a_person_of_another_org_named_as_owner_or_user_field_is_not_found() {
    let server = TestServer::start().await;
    let mut c = Clients::new(&server);
    let (a, b, group, task) = people_of_two_orgs(&server, &mut c).await;
    let (user, ghost) = (a.admin.to_string(), UserId::new().to_string());
    let foreign = call_person_writes(&mut c, &b.token, &user, &user, &task.id).await;
    let by_group = call_person_writes(&mut c, &b.token, &group, &user, &task.id).await;
    let unknown = call_person_writes(&mut c, &b.token, &ghost, &ghost, &task.id).await;
    let secrets = [user.as_str(), group.as_str(), &a.org.to_string()];
    assert_all_refused_alike(&foreign, &unknown, |_| Code::NotFound, &secrets);
    assert_all_refused_alike(&by_group, &unknown, |_| Code::NotFound, &secrets);
    // Each refusal names the field holding the person, as a lookup refusal does.
    let named = ["owner_id", "owner_id", "fields.assignee", "fields.assignee", "records[0].fields.assignee"];
    for ((rpc, outcome), field) in foreign.iter().zip(named) {
        let Answer::Refused { metadata, violations, .. } = answer(outcome) else { panic!("{rpc}: answered") };
        assert_eq!(metadata.get("field").map(String::as_str), Some(field), "{rpc}");
        assert_eq!(violations.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), [field], "{rpc}");
    }

    // Nothing was written: B holds no contact and its task is as it was.
    let count = |module: &str| rpb::CountRecordsRequest { module: module.into(), ..Default::default() };
    assert_eq!(c.records.count_records(authed(count("contacts"), &b.token)).await.unwrap().into_inner().count, 0);
    assert_eq!(c.records.count_records(authed(count("tasks"), &b.token)).await.unwrap().into_inner().count, 1);
    let own = c.records.get_record(authed(get_request("tasks", &task.id), &b.token)).await.unwrap().into_inner();
    assert_eq!(own, task);

    // B's own people are accepted: a group of B's as owner, its administrator as assignee.
    let team = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: String::new() };
    let team = c.groups.create_group(authed(team, &b.token)).await.unwrap().into_inner().group.unwrap().id;
    let own = call_person_writes(&mut c, &b.token, &team, &b.admin.to_string(), &task.id).await;
    for (rpc, outcome) in &own {
        assert!(outcome.is_ok(), "{rpc}: {outcome:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// listone.customization.v1.ModuleService
// ---------------------------------------------------------------------------------------------

/// One call of every module RPC naming `key`, as `token`, and a definition looking `key` up.
async fn call_module_rpcs_naming(c: &mut Clients, token: &str, key: &str) -> Outcomes {
    let m = &mut c.modules;
    let mut out: Outcomes = Vec::new();
    let get = |version| cpb::GetModuleRequest { key: key.into(), version };
    out.push(("GetModule", done(m.get_module(authed(get(0), token)).await)));
    out.push(("GetModule (version)", done(m.get_module(authed(get(1), token)).await)));
    let versions = cpb::ListModuleVersionsRequest { key: key.into(), ..Default::default() };
    out.push(("ListModuleVersions", done(m.list_module_versions(authed(versions, token)).await)));
    let update = cpb::UpdateModuleRequest {
        key: key.into(),
        module: Some(customization_support::projects()),
        expected_version: 2,
    };
    out.push(("UpdateModule", done(m.update_module(authed(update, token)).await)));
    out.push((
        "DeleteModule",
        done(m.delete_module(authed(cpb::DeleteModuleRequest { key: key.into() }, token)).await),
    ));
    let mut lookup = customization_support::field("parent", "Parent", cpb::FieldType::Lookup);
    lookup.parameters = Some(cpb::field::Parameters::Lookup(cpb::LookupParameters { target_module: key.into() }));
    let mut tasks = customization_support::projects();
    tasks.key = "tasks".into();
    tasks.fields.push(lookup);
    let create = cpb::CreateModuleRequest { module: Some(tasks) };
    out.push(("CreateModule (lookup target)", done(m.create_module(authed(create, token)).await)));
    out
}

#[tokio::test]
async fn another_orgs_module_is_not_found_on_every_module_rpc_and_stays_unchanged() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    let m = &mut c.modules;
    let mut secret = customization_support::projects();
    secret.label_plural = "Moonshot ventures".into();
    m.create_module(authed(cpb::CreateModuleRequest { module: Some(customization_support::projects()) }, &a.token))
        .await
        .unwrap();
    let update = cpb::UpdateModuleRequest { key: "projects".into(), module: Some(secret), expected_version: 1 };
    let theirs = m.update_module(authed(update, &a.token)).await.unwrap().into_inner().module.unwrap();
    let get = |key: &str| cpb::GetModuleRequest { key: key.into(), version: 0 };
    let contacts = m.get_module(authed(get("contacts"), &a.token)).await.unwrap().into_inner().module.unwrap();

    let foreign = call_module_rpcs_naming(&mut c, &b.token, "projects").await;
    let unknown = call_module_rpcs_naming(&mut c, &b.token, "ghosts").await;
    let code = |rpc: &str| if rpc.starts_with("CreateModule") { Code::InvalidArgument } else { Code::NotFound };
    assert_all_refused_alike(&foreign, &unknown, code, &[&theirs.id, "Moonshot ventures"]);

    // B's own catalog work leaves A's modules as they were, and B lists none of them.
    let m = &mut c.modules;
    m.install_standard_modules(authed(cpb::InstallStandardModulesRequest::default(), &b.token)).await.unwrap();
    let listed = m.list_modules(authed(cpb::ListModulesRequest::default(), &b.token)).await.unwrap().into_inner();
    assert!(listed.modules.iter().all(|module| module.key != "projects" && module.id != contacts.id));
    let own = m.get_module(authed(get("projects"), &a.token)).await.unwrap().into_inner().module.unwrap();
    assert_eq!(own, theirs);
    let own = m.get_module(authed(get("contacts"), &a.token)).await.unwrap().into_inner().module.unwrap();
    assert_eq!(own, contacts);
}

// ---------------------------------------------------------------------------------------------
// listone.access.v1.AccessPolicyService
// ---------------------------------------------------------------------------------------------

/// Reps read contacts; contacts named "Shared" are shared with them.
fn policy(org: OrgId, module: &str) -> AccessPolicy {
    let mut policy = AccessPolicy::new(org);
    policy.roles.push(RoleProfile::new("sales.rep").grant("contacts", [ObjectRight::Read]));
    policy.rules.push(SharingRule {
        module: module.into(),
        criteria: Criteria::Where(Condition::new("last_name", Test::Eq(Value::Text("Shared".into())))),
        share_with: ShareTarget::Role { key: "sales.rep".into(), with_subordinates: false },
        access: ShareAccess::Read,
    });
    policy
}

async fn replace(c: &mut Clients, token: &str, policy: &AccessPolicy) -> Result<(), Status> {
    let current = c.access.get_access_policy(authed(apb::GetAccessPolicyRequest {}, token)).await.unwrap();
    let request = apb::ReplaceAccessPolicyRequest {
        policy_json: serde_json::to_string(policy).unwrap(),
        expected_version: current.into_inner().version,
    };
    done(c.access.replace_access_policy(authed(request, token)).await)
}

async fn explain(c: &mut Clients, token: &str, user: &str, module: &str, record: &str) -> Result<(), Status> {
    let request = apb::ExplainAccessRequest {
        user_id: user.into(),
        module: module.into(),
        record_id: record.into(),
        right: apb::AccessRight::Read as i32,
        field: String::new(),
    };
    done(c.access.explain_access(authed(request, token)).await)
}

#[tokio::test]
async fn explaining_or_replacing_access_with_another_orgs_things_is_refused_alike_and_changes_nothing() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    install_members(&server, a.org).await;
    let member = create(&server, &a.token, "members", member_values()).await;
    let theirs = create(&server, &a.token, "contacts", json!({"last_name": "Lovelace"})).await;
    let mine = create(&server, &b.token, "contacts", json!({"last_name": "Babbage"})).await;
    replace(&mut c, &a.token, &policy(a.org, "contacts")).await.unwrap();
    let before = c.access.get_access_policy(authed(apb::GetAccessPolicyRequest {}, &a.token)).await.unwrap();
    let before = before.into_inner();

    let (their_user, my_user) = (a.admin.to_string(), b.admin.to_string());
    let (ghost_user, ghost_record) = (UserId::new().to_string(), RecordId::new().to_string());
    let (their_user, my_user, ghost_user) = (their_user.as_str(), my_user.as_str(), ghost_user.as_str());
    let (theirs_id, mine_id, member_id, ghost_record) =
        (theirs.id.as_str(), mine.id.as_str(), member.id.as_str(), ghost_record.as_str());
    let asks = [
        ("ExplainAccess (user)", [their_user, "contacts", mine_id], [ghost_user, "contacts", mine_id]),
        ("ExplainAccess (record)", [my_user, "contacts", theirs_id], [my_user, "contacts", ghost_record]),
        ("ExplainAccess (module)", [my_user, "members", member_id], [my_user, "ghosts", ghost_record]),
        ("ExplainAccess (all)", [their_user, "contacts", theirs_id], [ghost_user, "contacts", ghost_record]),
    ];
    let org_a = a.org.to_string();
    let secrets = [&[org_a.as_str(), their_user, theirs_id, member_id, "Lovelace"][..], &MEMBER[..]].concat();
    for (rpc, [user, module, record], [u, m, r]) in asks {
        let foreign = explain(&mut c, &b.token, user, module, record).await;
        let unknown = explain(&mut c, &b.token, u, m, r).await;
        assert_refused_alike(rpc, &foreign, &unknown, Code::NotFound, &secrets);
    }

    // A policy naming A's organization, or a rule on A's custom module, is refused as one naming
    // an organization or module that never existed.
    let foreign = replace(&mut c, &b.token, &policy(a.org, "contacts")).await;
    let unknown = replace(&mut c, &b.token, &policy(OrgId::new(), "contacts")).await;
    assert_refused_alike("ReplaceAccessPolicy (org)", &foreign, &unknown, Code::InvalidArgument, &secrets);
    let foreign = replace(&mut c, &b.token, &policy(b.org, "members")).await;
    let unknown = replace(&mut c, &b.token, &policy(b.org, "ghosts")).await;
    assert_refused_alike("ReplaceAccessPolicy (module)", &foreign, &unknown, Code::InvalidArgument, &secrets);

    // B reads its own (starter) policy; A's is as it was.
    let own = c.access.get_access_policy(authed(apb::GetAccessPolicyRequest {}, &b.token)).await.unwrap().into_inner();
    assert_eq!(
        (own.version, serde_json::from_str::<AccessPolicy>(&own.policy_json).unwrap()),
        (0, AccessPolicy::starter(b.org))
    );
    let after = c.access.get_access_policy(authed(apb::GetAccessPolicyRequest {}, &a.token)).await.unwrap();
    assert_eq!(after.into_inner(), before);
}

/// B's policy sharing with `group` and sharing `record` (a contact) by hand with `user`.
fn sharing_policy(org: OrgId, group: GroupId, record: RecordId, user: UserId) -> AccessPolicy {
    let mut policy = policy(org, "contacts");
    policy.rules[0].share_with = ShareTarget::Group(group);
    policy.shares.push(ManualShare {
        module: "contacts".into(),
        record,
        with: ShareRecipient::User(user),
        access: ShareAccess::Read,
        expires_at: chrono::Utc::now() + chrono::Duration::days(30),
    });
    policy
}

/// A's group, contact and user; B.
async fn shares_of_two_orgs(server: &TestServer, c: &mut Clients) -> (Tenant, Tenant, GroupId, RecordId) {
    let (a, b) = (tenant(server, "acme").await, tenant(server, "globex").await);
    let group = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: String::new() };
    let group = c.groups.create_group(authed(group, &a.token)).await.unwrap().into_inner().group.unwrap().id;
    let contact = create(server, &a.token, "contacts", json!({"last_name": "Lovelace"})).await;
    create(server, &b.token, "contacts", json!({"last_name": "Babbage"})).await;
    (a, b, GroupId::parse(&group).unwrap(), RecordId::parse(&contact.id).unwrap())
}

#[tokio::test]
async fn a_policy_sharing_with_another_orgs_group_user_or_record_is_answered_as_an_unknown_one() {
    let server = TestServer::start().await;
    let mut c = Clients::new(&server);
    let (a, b, group, record) = shares_of_two_orgs(&server, &mut c).await;
    let foreign = replace(&mut c, &b.token, &sharing_policy(b.org, group, record, a.admin)).await;
    let unknown =
        replace(&mut c, &b.token, &sharing_policy(b.org, GroupId::new(), RecordId::new(), UserId::new())).await;
    assert_eq!(answer(&foreign), answer(&unknown), "nothing tells A's ids apart (the answer: see the test below)");
    let theirs = c.access.get_access_policy(authed(apb::GetAccessPolicyRequest {}, &a.token)).await.unwrap();
    assert_eq!(theirs.into_inner().version, 0, "A's policy is untouched");
}

#[tokio::test]
async fn a_policy_sharing_with_another_orgs_group_user_or_record_is_refused_by_path_and_writes_nothing() {
    let server = TestServer::start().await;
    let mut c = Clients::new(&server);
    let (a, b, group, record) = shares_of_two_orgs(&server, &mut c).await;
    let foreign = replace(&mut c, &b.token, &sharing_policy(b.org, group, record, a.admin)).await;
    let unknown =
        replace(&mut c, &b.token, &sharing_policy(b.org, GroupId::new(), RecordId::new(), UserId::new())).await;
    // A bad document is INVALID_ARGUMENT with one violation per path, the policy API's contract:
    // an id of A's is one more id B does not have, answered as one that never existed.
    let (group_id, record_id, user_id, org_a) = (group.to_string(), record.to_string(), a.admin.to_string(), a.org);
    let secrets = [group_id.as_str(), record_id.as_str(), user_id.as_str(), &org_a.to_string(), "Lovelace"];
    assert_refused_alike("ReplaceAccessPolicy (shares)", &foreign, &unknown, Code::InvalidArgument, &secrets);
    let Answer::Refused { violations, .. } = answer(&foreign) else { unreachable!() };
    assert_eq!(
        violations.iter().map(|(field, _)| field.as_str()).collect::<Vec<_>>(),
        ["policy_json.rules[0].share_with.group", "policy_json.shares[0].record", "policy_json.shares[0].with.user"]
    );

    // Nothing was written: both organizations still run their starter policies.
    for token in [&a.token, &b.token] {
        let stored = c.access.get_access_policy(authed(apb::GetAccessPolicyRequest {}, token)).await.unwrap();
        assert_eq!(stored.into_inner().version, 0);
    }

    // B's own group, contact and user are accepted.
    let team = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: String::new() };
    let team = c.groups.create_group(authed(team, &b.token)).await.unwrap().into_inner().group.unwrap().id;
    let contact = create(&server, &b.token, "contacts", json!({"last_name": "Shared"})).await;
    let own = sharing_policy(b.org, GroupId::parse(&team).unwrap(), RecordId::parse(&contact.id).unwrap(), b.admin);
    replace(&mut c, &b.token, &own).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// listone.identity.v1 (organizations, users, groups, sessions, MFA, SCIM tokens)
// ---------------------------------------------------------------------------------------------

/// A's directory read back by A's admin.
async fn directory(c: &mut Clients, a: &Tenant, ids: &IdentityIds) -> String {
    let t = &a.token;
    let crm = ipb::App::Crm as i32;
    let org = ipb::GetOrganizationRequest { organization_id: ids.org.clone() };
    let org = c.orgs.get_organization(authed(org, t)).await.unwrap().into_inner();
    let subscriptions = ipb::ListSubscriptionsRequest { organization_id: ids.org.clone() };
    let subscriptions = c.orgs.list_subscriptions(authed(subscriptions, t)).await.unwrap().into_inner();
    let user = c.users.get_user(authed(ipb::GetUserRequest { user_id: ids.user.clone() }, t)).await.unwrap();
    let roles = ipb::GetUserRolesRequest { user_id: ids.user.clone(), app: crm };
    let roles = c.users.get_user_roles(authed(roles, t)).await.unwrap().into_inner();
    let group = c.groups.get_group(authed(ipb::GetGroupRequest { group_id: ids.group.clone() }, t)).await.unwrap();
    let members = ipb::ListGroupMembersRequest { group_id: ids.group.clone() };
    let members = c.groups.list_group_members(authed(members, t)).await.unwrap().into_inner();
    let group_roles = ipb::GetGroupRolesRequest { group_id: ids.group.clone(), app: crm };
    let group_roles = c.groups.get_group_roles(authed(group_roles, t)).await.unwrap().into_inner();
    let sessions = ipb::ListSessionsRequest { user_id: ids.user.clone(), ..Default::default() };
    let sessions = c.sessions.list_sessions(authed(sessions, t)).await.unwrap().into_inner();
    let mfa = c.mfa.get_mfa_status(authed(ipb::GetMfaStatusRequest { user_id: ids.user.clone() }, t)).await.unwrap();
    let tokens = c.scim_tokens.list_scim_tokens(authed(ipb::ListScimTokensRequest {}, t)).await.unwrap();
    format!(
        "{org:?}\n{subscriptions:?}\n{:?}\n{roles:?}\n{:?}\n{members:?}\n{group_roles:?}\n{sessions:?}\n{:?}\n{:?}",
        user.into_inner(),
        group.into_inner(),
        mfa.into_inner(),
        tokens.into_inner()
    )
}

/// Organization A with one of everything the identity RPCs name, and A's sign-in steps.
struct Directory {
    ids: IdentityIds,
    invite_token: String,
    mfa_step: String,
    enrolment_step: String,
    totp_secret: String,
}

async fn directory_of(server: &TestServer, c: &mut Clients, a: &Tenant) -> Directory {
    let t = &a.token;
    let crm = ipb::App::Crm as i32;
    let alice = active_user(c, a, "alice", "okta-alice").await;
    let signed = signed_in(c, a, "alice").await;
    let own = ipb::BeginTotpEnrolmentRequest { user_id: alice.clone() };
    let enrolment = c.mfa.begin_totp_enrolment(authed(own, &signed.session_token)).await.unwrap();
    let secret = enrolment.into_inner().enrolment.unwrap().secret_base32;
    let confirm = ipb::ConfirmTotpEnrolmentRequest { user_id: alice.clone(), totp_code: totp_code(server, &secret) };
    c.mfa.confirm_totp_enrolment(authed(confirm, &signed.session_token)).await.unwrap();
    let group = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: "okta-sales".into() };
    let group = c.groups.create_group(authed(group, t)).await.unwrap().into_inner().group.unwrap().id;
    let member = ipb::AddGroupMemberRequest { group_id: group.clone(), user_id: alice.clone() };
    c.groups.add_group_member(authed(member, t)).await.unwrap();
    let roles = ipb::SetGroupRolesRequest { group_id: group.clone(), app: crm, roles: vec!["sales".into()] };
    c.groups.set_group_roles(authed(roles, t)).await.unwrap();
    c.users.assign_app(authed(ipb::AssignAppRequest { user_id: alice.clone(), app: crm }, t)).await.unwrap();
    let roles = ipb::SetUserRolesRequest { user_id: alice.clone(), app: crm, roles: vec!["sales.lead".into()] };
    c.users.set_user_roles(authed(roles, t)).await.unwrap();
    let scim = ipb::CreateScimTokenRequest { name: "Okta".into(), ttl: None };
    let scim = c.scim_tokens.create_scim_token(authed(scim, t)).await.unwrap().into_inner().scim_token.unwrap().id;

    // An invitation still open, and sign-in steps still open: alice's code, bob's enrolment.
    active_user(c, a, "bob", "").await;
    let carol = ipb::InviteUserRequest {
        user_name: "carol@acme.example".into(),
        email: "carol@acme.example".into(),
        ..Default::default()
    };
    let invite_token = c.users.invite_user(authed(carol, t)).await.unwrap().into_inner().invite_token;
    let required = ipb::UpdateOrganizationSettingsRequest {
        organization_id: a.org.to_string(),
        settings: Some(ipb::OrganizationSettings { mfa_required: true }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["mfa_required".into()] }),
    };
    c.orgs.update_organization_settings(authed(required, t)).await.unwrap();
    use ipb::sign_in_with_password_response::Result as SignIn;
    let sign_in = |name: &str| ipb::SignInWithPasswordRequest {
        organization: Some(by_slug("acme")),
        user_name: format!("{name}@acme.example"),
        password: PASSWORD.into(),
    };
    let Some(SignIn::MfaRequired(mfa_step)) =
        c.sessions.sign_in_with_password(sign_in("alice")).await.unwrap().into_inner().result
    else {
        panic!("alice has an authenticator")
    };
    let Some(SignIn::MfaEnrolmentRequired(enrolment_step)) =
        c.sessions.sign_in_with_password(sign_in("bob")).await.unwrap().into_inner().result
    else {
        panic!("bob must enrol")
    };
    let session = signed.session.unwrap().id;
    Directory {
        ids: IdentityIds { org: a.org.to_string(), user: alice, group, session, scim_token: scim },
        invite_token,
        mfa_step: mfa_step.mfa_token,
        enrolment_step: enrolment_step.mfa_token,
        totp_secret: secret,
    }
}

/// `token` with its last character changed: the same shape, never issued.
fn forged(token: &str) -> String {
    let mut forged = token.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    forged
}

/// The sign-in and invitation RPCs, which carry credentials instead of a token, naming B.
async fn call_credential_rpcs_at(c: &mut Clients, slug: &str, d: &Directory, code: &str, user: &str) -> Outcomes {
    let s = &mut c.sessions;
    let mut out: Outcomes = Vec::new();
    let accept = ipb::AcceptInviteRequest {
        organization: Some(by_slug(slug)),
        invite_token: d.invite_token.clone(),
        password: PASSWORD.into(),
    };
    out.push(("AcceptInvite", done(c.users.accept_invite(accept).await)));
    let password = ipb::SignInWithPasswordRequest {
        organization: Some(by_slug(slug)),
        user_name: format!("{user}@acme.example"),
        password: PASSWORD.into(),
    };
    out.push(("SignInWithPassword", done(s.sign_in_with_password(password).await)));
    let complete = ipb::CompleteMfaSignInRequest {
        organization: Some(by_slug(slug)),
        mfa_token: d.mfa_step.clone(),
        factor: Some(ipb::complete_mfa_sign_in_request::Factor::TotpCode(code.into())),
    };
    out.push(("CompleteMfaSignIn", done(s.complete_mfa_sign_in(complete).await)));
    let begin =
        ipb::BeginMfaEnrolmentSignInRequest { organization: Some(by_slug(slug)), mfa_token: d.enrolment_step.clone() };
    out.push(("BeginMfaEnrolmentSignIn", done(s.begin_mfa_enrolment_sign_in(begin).await)));
    let finish = ipb::CompleteMfaEnrolmentSignInRequest {
        organization: Some(by_slug(slug)),
        mfa_token: d.enrolment_step.clone(),
        totp_code: code.into(),
    };
    out.push(("CompleteMfaEnrolmentSignIn", done(s.complete_mfa_enrolment_sign_in(finish).await)));
    out
}

#[tokio::test]
async fn every_identity_rpc_naming_another_orgs_ids_is_refused_as_for_unknown_ids_and_changes_nothing() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    let d = directory_of(&server, &mut c, &a).await;
    let before = directory(&mut c, &a, &d.ids).await;
    let secrets = [
        d.ids.org.as_str(),
        &d.ids.user,
        &d.ids.group,
        &d.ids.session,
        &d.ids.scim_token,
        "alice@acme.example",
        "okta-alice",
        "okta-sales",
        "sales.lead",
    ];

    // B's administrator with every scope: NOT_FOUND, except the RPCs only a user may call for
    // themself, which refuse anyone else the same way.
    let self_only = ["BeginTotpEnrolment", "ConfirmTotpEnrolment", "RegenerateRecoveryCodes"];
    let code = |rpc: &str| if self_only.contains(&rpc) { Code::PermissionDenied } else { Code::NotFound };
    let foreign = call_identity_rpcs_naming(&mut c, &b.token, &d.ids).await;
    let unknown = call_identity_rpcs_naming(&mut c, &b.token, &IdentityIds::unknown()).await;
    assert_eq!(foreign.len(), IDENTITY_RPCS_NAMING_IDS);
    assert_all_refused_alike(&foreign, &unknown, code, &secrets);

    // A principal of B carrying A's user id (and every scope) passes the self checks and finds
    // nothing either.
    let alice_in_b = b.acting_as(&server, UserId::parse(&d.ids.user).unwrap());
    let ghost = UserId::new();
    let unknown_self = IdentityIds { user: ghost.to_string(), ..IdentityIds::unknown() };
    let foreign = call_identity_rpcs_naming(&mut c, &alice_in_b, &d.ids).await;
    let unknown = call_identity_rpcs_naming(&mut c, &b.acting_as(&server, ghost), &unknown_self).await;
    assert_all_refused_alike(&foreign, &unknown, |_| Code::NotFound, &secrets);

    // A's invitation, password and sign-in steps at B: the answer unknown credentials get. (The
    // clock moves on a TOTP step: the enrolment used up the current code.)
    server.clock().advance(chrono::Duration::seconds(30));
    let code_now = totp_code(&server, &d.totp_secret);
    let foreign = call_credential_rpcs_at(&mut c, "globex", &d, &code_now, "alice").await;
    let never = Directory {
        ids: IdentityIds::unknown(),
        invite_token: forged(&d.invite_token),
        mfa_step: forged(&d.mfa_step),
        enrolment_step: forged(&d.enrolment_step),
        totp_secret: String::new(),
    };
    let unknown = call_credential_rpcs_at(&mut c, "globex", &never, &code_now, "nobody").await;
    let code = |rpc: &str| if rpc == "AcceptInvite" { Code::FailedPrecondition } else { Code::Unauthenticated };
    let steps = [d.invite_token.as_str(), &d.mfa_step, &d.enrolment_step];
    assert_all_refused_alike(&foreign, &unknown, code, &[&secrets[..], &steps[..]].concat());

    assert_eq!(directory(&mut c, &a, &d.ids).await, before, "A is unchanged");
    let users = c.users.list_users(authed(ipb::ListUsersRequest::default(), &b.token)).await.unwrap().into_inner();
    assert!(users.users.iter().all(|u| u.id != d.ids.user && !format!("{u:?}").contains("acme")), "{users:?}");
    let groups = c.groups.list_groups(authed(ipb::ListGroupsRequest::default(), &b.token)).await.unwrap().into_inner();
    assert!(groups.groups.is_empty(), "{groups:?}");
    let tokens = c.scim_tokens.list_scim_tokens(authed(ipb::ListScimTokensRequest {}, &b.token)).await.unwrap();
    assert!(tokens.into_inner().scim_tokens.is_empty());

    // And A's steps, untouched by B's attempts, still complete in A.
    let complete = ipb::CompleteMfaSignInRequest {
        organization: Some(by_slug("acme")),
        mfa_token: d.mfa_step.clone(),
        factor: Some(ipb::complete_mfa_sign_in_request::Factor::TotpCode(code_now)),
    };
    let signed = c.sessions.complete_mfa_sign_in(complete).await.unwrap().into_inner();
    assert_eq!(signed.signed_in.unwrap().session.unwrap().user_id, d.ids.user);
    let begin =
        ipb::BeginMfaEnrolmentSignInRequest { organization: Some(by_slug("acme")), mfa_token: d.enrolment_step };
    c.sessions.begin_mfa_enrolment_sign_in(begin).await.unwrap();
}

#[tokio::test]
async fn names_unique_per_organization_are_free_in_another_and_tell_nothing() {
    let server = TestServer::start().await;
    let (a, b) = (tenant(&server, "acme").await, tenant(&server, "globex").await);
    let mut c = Clients::new(&server);
    let alice = active_user(&mut c, &a, "alice", "okta-alice").await;
    let group = ipb::CreateGroupRequest { display_name: "Sales".into(), external_id: "okta-sales".into() };
    let group = c.groups.create_group(authed(group, &a.token)).await.unwrap().into_inner().group.unwrap();
    let scim = ipb::CreateScimTokenRequest { name: "Okta".into(), ttl: None };
    c.scim_tokens.create_scim_token(authed(scim, &a.token)).await.unwrap();

    // B takes A's user name, e-mail, external ids, group name and token name: all its own to take.
    let twin = ipb::ProvisionUserRequest {
        user_name: "alice@acme.example".into(),
        email: "alice@acme.example".into(),
        external_id: "okta-alice".into(),
        ..Default::default()
    };
    let twin = c.users.provision_user(authed(twin, &b.token)).await.unwrap().into_inner().user.unwrap();
    let same = ipb::CreateGroupRequest { display_name: "sales".into(), external_id: "okta-sales".into() };
    let same = c.groups.create_group(authed(same, &b.token)).await.unwrap().into_inner().group.unwrap();
    let scim = ipb::CreateScimTokenRequest { name: "Okta".into(), ttl: None };
    c.scim_tokens.create_scim_token(authed(scim, &b.token)).await.unwrap();
    assert_ne!((twin.id.as_str(), same.id.as_str()), (alice.as_str(), group.id.as_str()));

    // Each organization lists its own.
    for (t, user, group_id) in [(&a, &alice, &group.id), (&b, &twin.id, &same.id)] {
        let users = c.users.list_users(authed(ipb::ListUsersRequest::default(), &t.token)).await.unwrap().into_inner();
        let named: Vec<_> =
            users.users.iter().filter(|u| u.profile.as_ref().unwrap().user_name == "alice@acme.example").collect();
        assert_eq!(named.iter().map(|u| &u.id).collect::<Vec<_>>(), [user]);
        let groups = c.groups.list_groups(authed(ipb::ListGroupsRequest::default(), &t.token)).await.unwrap();
        assert_eq!(groups.into_inner().groups.iter().map(|g| &g.id).collect::<Vec<_>>(), [group_id]);
        let tokens = c.scim_tokens.list_scim_tokens(authed(ipb::ListScimTokensRequest {}, &t.token)).await.unwrap();
        assert_eq!(tokens.into_inner().scim_tokens.len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// listone.audit.v1.AuditService
// ---------------------------------------------------------------------------------------------

/// `n` events of `org`, by `actor`, about records named `<actor>-record-<i>`; the last
/// `failed` of them are failed sign-ins against one account.
async fn record_log(server: &TestServer, org: OrgId, actor: &str, n: usize, failed: usize) {
    let ctx = server.ctx();
    let txn = ctx.db.begin().await.unwrap();
    for i in 0..n {
        let who = AuditActor { kind: ActorKind::User, id: Some(actor.to_owned()) };
        let now = ctx.clock.now();
        let event = if i + failed >= n {
            AuditEvent::new(org, who, "identity.signin", Outcome::Failed, now)
                .with_resource("identity.user", Some(format!("{actor}-account")))
        } else {
            AuditEvent::new(org, who, "records.record.update", Outcome::Allowed, now)
                .with_resource("contacts", Some(format!("{actor}-record-{i}")))
                .with_details(json!({ "marker": format!("{actor}-secret") }))
        };
        ctx.audit_recorder.record(&txn, event).await.unwrap();
    }
    txn.commit().await.unwrap();
    ctx.outbox.wake();
}

/// Cuts `org`'s checkpoints every `entries` and raises an incident at 3 failed sign-ins.
async fn audit_settings(server: &TestServer, org: OrgId, entries: u64) {
    let audit = &server.ctx().audit;
    let mut settings = audit.settings(org).await.unwrap();
    let version = settings.version;
    settings.checkpoint_every_entries = entries;
    settings.failed_signins_per_account = 3;
    audit.save_settings(server.ctx().db.conn(), org, &settings, version).await.unwrap();
}

/// The audit RPCs that name a position in the log, as `token`.
async fn call_audit_rpcs_naming(c: &mut Clients, token: &str, seq: u64, from: u64, to: u64) -> Outcomes {
    let a = &mut c.audit;
    let mut out: Outcomes = Vec::new();
    let entry = aupb::GetEntryRequest { seq, include_personal: true };
    out.push(("GetEntry", done(a.get_entry(authed(entry, token)).await)));
    let inclusion = aupb::GetInclusionProofRequest { seq, tree_size: to };
    out.push(("GetInclusionProof", done(a.get_inclusion_proof(authed(inclusion, token)).await)));
    let latest = aupb::GetInclusionProofRequest { seq, tree_size: 0 };
    out.push(("GetInclusionProof (latest)", done(a.get_inclusion_proof(authed(latest, token)).await)));
    let consistency = aupb::GetConsistencyProofRequest { from_tree_size: from, to_tree_size: to };
    out.push(("GetConsistencyProof", done(a.get_consistency_proof(authed(consistency, token)).await)));
    out
}

#[tokio::test]
async fn another_orgs_log_positions_are_not_found_and_its_entries_match_no_filter() {
    let server = TestServer::start().await;
    let (a, b) = (OrgId::new(), OrgId::new());
    audit_settings(&server, a, 4).await;
    audit_settings(&server, b, 2).await;
    record_log(&server, a, "acme", 12, 3).await;
    record_log(&server, b, "globex", 2, 0).await;
    wait_for_log(&server, a, 12).await;
    wait_for_log(&server, b, 2).await;
    let (token_a, token_b) = (privileged(&server, a, UserId::new()), privileged(&server, b, UserId::new()));
    let mut c = Clients::new(&server);
    let theirs = c.audit.get_latest_checkpoint(authed(aupb::GetLatestCheckpointRequest {}, &token_a)).await.unwrap();
    let theirs = theirs.into_inner().checkpoint.unwrap();
    let incidents = c.audit.list_incidents(authed(aupb::ListIncidentsRequest::default(), &token_a)).await.unwrap();
    assert_eq!(incidents.into_inner().incidents.len(), 1, "A's failed sign-ins raised an incident");
    let settings = c.audit.get_settings(authed(aupb::GetSettingsRequest {}, &token_a)).await.unwrap().into_inner();

    // Positions only A's log has (entry 9 of 12, checkpoints 4, 8 and 12; B has 2 entries and
    // one checkpoint) answer as positions beyond every log, without echoing them. A proof
    // against B's latest checkpoint says the entry is beyond B's own tree, as for any such seq.
    let foreign = call_audit_rpcs_naming(&mut c, &token_b, 9, 4, 12).await;
    let unknown = call_audit_rpcs_naming(&mut c, &token_b, 900_009, 900_004, 900_012).await;
    let secrets = ["acme", &theirs.root_hash, &theirs.signed_note, "9", "4", "12"];
    let code = |rpc: &str| if rpc.ends_with("(latest)") { Code::OutOfRange } else { Code::NotFound };
    assert_all_refused_alike(&foreign, &unknown, code, &secrets);

    // A position both logs have is B's own entry.
    let entry = aupb::GetEntryRequest { seq: 1, include_personal: true };
    let own = c.audit.get_entry(authed(entry, &token_b)).await.unwrap().into_inner().entry.unwrap();
    assert!(format!("{own:?}").contains("globex-record-1") && !format!("{own:?}").contains("acme"), "{own:?}");

    // Filters naming A's actor, records or action find nothing of A in lists or exports.
    let filters = [
        aupb::EntryFilter { actor_id: "acme".into(), ..Default::default() },
        aupb::EntryFilter {
            resource_module: "contacts".into(),
            resource_id: "acme-record-3".into(),
            ..Default::default()
        },
        aupb::EntryFilter { action: "identity.*".into(), ..Default::default() },
        aupb::EntryFilter::default(),
    ];
    for filter in filters {
        let list = aupb::ListEntriesRequest {
            filter: Some(filter.clone()),
            page_size: 1000,
            include_personal: true,
            ..Default::default()
        };
        let list = c.audit.list_entries(authed(list, &token_b)).await.unwrap().into_inner();
        assert!(!format!("{list:?}").contains("acme"), "{filter:?}: {list:?}");
        for format in [aupb::ExportFormat::OcsfJson, aupb::ExportFormat::Cef] {
            let export = aupb::ExportEntriesRequest { filter: Some(filter.clone()), format: format as i32 };
            let mut stream = c.audit.export_entries(authed(export, &token_b)).await.unwrap().into_inner();
            while let Some(chunk) = stream.next().await {
                let lines = String::from_utf8(chunk.unwrap().data).unwrap();
                assert!(!lines.contains("acme") && !lines.contains(&a.to_string()), "{filter:?}: {lines}");
            }
        }
    }
    let roots =
        |list: aupb::ListCheckpointsResponse| list.checkpoints.into_iter().map(|cp| cp.root_hash).collect::<Vec<_>>();
    let list = aupb::ListCheckpointsRequest { page_size: 1000, page_token: String::new() };
    let mine = roots(c.audit.list_checkpoints(authed(list.clone(), &token_b)).await.unwrap().into_inner());
    let all_theirs = roots(c.audit.list_checkpoints(authed(list, &token_a)).await.unwrap().into_inner());
    assert_eq!(all_theirs.len(), 3);
    assert!(!mine.is_empty() && mine.iter().all(|root| !all_theirs.contains(root)), "{mine:?}");
    let latest = c.audit.get_latest_checkpoint(authed(aupb::GetLatestCheckpointRequest {}, &token_b)).await.unwrap();
    assert_ne!(latest.into_inner().checkpoint.unwrap().root_hash, theirs.root_hash);
    let incidents = c.audit.list_incidents(authed(aupb::ListIncidentsRequest::default(), &token_b)).await.unwrap();
    assert!(incidents.into_inner().incidents.is_empty());
    let keys = c.audit.get_verification_keys(authed(aupb::GetVerificationKeysRequest {}, &token_b)).await.unwrap();
    assert!(keys.into_inner().origin.ends_with(&b.to_string()));

    // B's settings are B's: changing them leaves A's as they were.
    let mine = c.audit.get_settings(authed(aupb::GetSettingsRequest {}, &token_b)).await.unwrap().into_inner();
    let change = aupb::UpdateSettingsRequest {
        settings: Some(aupb::Settings { retention_days: 100, ..mine.settings.unwrap() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["retention_days".into()] }),
    };
    c.audit.update_settings(authed(change, &token_b)).await.unwrap();
    let after = c.audit.get_settings(authed(aupb::GetSettingsRequest {}, &token_a)).await.unwrap().into_inner();
    assert_eq!(after, settings);
}
