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
    Answer, Clients, Outcomes, Tenant, answer, assert_all_refused_alike, assert_refused_alike, done, tenant,
};
use listone_core::{GroupId, OrgId, RecordId, UserId};
use listone_identity::access::{
    AccessPolicy, Condition, Criteria, ManualShare, ObjectRight, RoleProfile, ShareAccess, ShareRecipient, ShareTarget,
    SharingRule, Test, Value,
};
use listone_proto::access::v1 as apb;
use listone_proto::customization::v1 as cpb;
use listone_proto::identity::v1 as ipb;
use listone_proto::records::v1 as rpb;
use listone_proto::records::v1::record_service_client::RecordServiceClient;
use listone_testkit::{TestServer, authed};
use records_support::{cond, create, fields, get_request, install_members, list_request, listed, one_of};
use serde_json::json;
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
