//! The CRM access policy enforced on every record RPC, over the server's real socket, with users
//! whose roles come from their tokens and a hierarchy resolved from the directory: object rights,
//! record access (ownership, reports, sharing rules, manual shares with expiry, org defaults),
//! field-level security on reads, lists, filters, sorts, history and writes, and a policy change
//! applying to the very next call. Service clients act within their scopes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access_support;
mod records_support;

use std::collections::BTreeSet;

use chrono::Duration;
use listone_core::{Clock, OrgId, RecordId, UserId};
use listone_identity::access::{
    AccessPolicy, Condition, Criteria, ManualShare, ObjectRight, OrgDefault, RoleProfile, ShareAccess, ShareRecipient,
    ShareTarget, SharingRule, Test, Value,
};
use listone_proto::records::v1 as pb;
use listone_testkit::{TestServer, authed};
use records_support::{
    READ, WRITE, client, cond, create_request, fields, get_request, keys, list_request, reason, role_token,
    service_token, update_request,
};
use serde_json::json;
use tonic::Code;

use ObjectRight::{Create, Delete, Read, Update};

/// Managers work contacts (and read accounts); reps report to them, read and change contacts but
/// see fewer fields and no phone; auditors read last names; finance accounts are shared with reps.
fn policy(org: OrgId) -> AccessPolicy {
    let mut policy = AccessPolicy::starter(org);
    policy.defaults.clear();
    policy.roles.push(
        RoleProfile::new("sales.manager")
            .grant("contacts", [Read, Create, Update, Delete])
            .grant("accounts", [Read])
            .allow_fields("contacts", [], ["first_name", "last_name", "job_title", "email", "account", "phone"])
            .allow_fields("accounts", ["*"], []),
    );
    policy.roles.push(
        RoleProfile::new("sales.rep")
            .reporting_to("sales.manager")
            .grant("contacts", [Read, Create, Update])
            .grant("accounts", [Read])
            .allow_fields("contacts", ["email"], ["first_name", "last_name", "job_title"])
            .allow_fields("accounts", ["name", "industry"], []),
    );
    policy.roles.push(RoleProfile::new("auditor").grant("contacts", [Read]).allow_fields(
        "contacts",
        ["last_name"],
        [],
    ));
    policy.rules.push(SharingRule {
        module: "accounts".into(),
        criteria: Criteria::Where(Condition::new("industry", Test::Eq(Value::Text("finance".into())))),
        share_with: ShareTarget::Role { key: "sales.rep".into(), with_subordinates: false },
        access: ShareAccess::Read,
    });
    policy
}

struct Acme {
    org: OrgId,
    admin: String,
    service: String,
    manager: (UserId, String),
    rep: (UserId, String),
    peer: (UserId, String),
    auditor: (UserId, String),
    stranger: String,
}

/// Acme with the policy above in force (version 1) and a token per user.
async fn acme(server: &TestServer) -> Acme {
    let users = [("mia", "sales.manager"), ("rob", "sales.rep"), ("pat", "sales.rep"), ("aud", "auditor")];
    let (org, ids) = access_support::org_with_users(server, "acme", &users).await;
    let scopes = [READ, WRITE, access_support::ADMIN];
    let admin = role_token(server, org, UserId::new(), &["admin"], &scopes);
    access_support::replace(server, &admin, &policy(org), 0).await.unwrap();
    let user = |i: usize| (ids[i], role_token(server, org, ids[i], &[users[i].1], &[READ, WRITE]));
    Acme {
        org,
        service: service_token(server, org, &[READ, WRITE]),
        manager: user(0),
        rep: user(1),
        peer: user(2),
        auditor: (ids[3], role_token(server, org, ids[3], &["auditor"], &[READ, WRITE])),
        // A CRM user whose role the policy does not know.
        stranger: role_token(server, org, UserId::new(), &["support"], &[READ, WRITE]),
        admin,
    }
}

/// A record of `module` owned by `owner`, created by the import client.
async fn owned(server: &TestServer, acme: &Acme, module: &str, owner: UserId, values: serde_json::Value) -> pb::Record {
    let mut request = create_request(module, values);
    request.owner_id = Some(owner.to_string());
    client(server).create_record(authed(request, &acme.service)).await.unwrap().into_inner()
}

fn denied(status: &tonic::Status, why: &str) {
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(reason(status), why, "{status:?}");
}

/// The field an ErrorInfo names.
fn named_field(status: &tonic::Status) -> String {
    let info = tonic_types::StatusExt::get_details_error_info(status).expect("error info");
    info.metadata.get("field").cloned().unwrap_or_default()
}

fn id_set(records: &[pb::Record]) -> BTreeSet<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

async fn list(server: &TestServer, token: &str, module: &str) -> Result<Vec<pb::Record>, tonic::Status> {
    let mut request = list_request(module, None);
    request.page_size = 500;
    client(server).list_records(authed(request, token)).await.map(|r| r.into_inner().records)
}

async fn count(server: &TestServer, token: &str, module: &str) -> Result<u64, tonic::Status> {
    let request = pb::CountRecordsRequest { module: module.into(), ..Default::default() };
    client(server).count_records(authed(request, token)).await.map(|r| r.into_inner().count)
}

async fn get(server: &TestServer, token: &str, module: &str, id: &str) -> Result<pb::Record, tonic::Status> {
    client(server).get_record(authed(get_request(module, id), token)).await.map(|r| r.into_inner())
}

#[tokio::test]
async fn object_rights_record_access_and_field_security_hold_on_every_rpc() {
    let server = TestServer::start().await;
    let acme = acme(&server).await;
    let (rep_id, rep) = (&acme.rep.0, acme.rep.1.as_str());
    let (mia_id, mia) = (&acme.manager.0, acme.manager.1.as_str());
    let phone = "+44 20 7946 0000";
    let mias = owned(&server, &acme, "contacts", *mia_id, json!({"last_name": "Manager", "phone": phone})).await;
    let robs = owned(&server, &acme, "contacts", *rep_id, json!({"last_name": "Rep", "phone": phone})).await;
    let pats = owned(&server, &acme, "contacts", acme.peer.0, json!({"last_name": "Peer"})).await;
    let mut r = client(&server);

    // Create: the object right, then every written field must be writable.
    let mine = r.create_record(authed(create_request("contacts", json!({"last_name": "Own"})), rep)).await;
    let mine = mine.unwrap().into_inner();
    let readable: BTreeSet<&str> = ["first_name", "last_name", "job_title", "email"].into();
    assert!(keys(&mine).iter().all(|k| readable.contains(k.as_str())), "{:?}", keys(&mine));
    let phoned = create_request("contacts", json!({"last_name": "Own", "phone": phone}));
    let err = r.create_record(authed(phoned, rep)).await.unwrap_err();
    denied(&err, "FIELD_NOT_WRITABLE");
    assert_eq!(named_field(&err), "fields.phone");
    assert!(!err.message().contains(phone));
    let err = r.create_record(authed(create_request("contacts", json!({"last_name": "X"})), &acme.auditor.1)).await;
    denied(&err.unwrap_err(), "NO_OBJECT_RIGHT");

    // Get: own records with readable fields only; a report's for the manager; others not found.
    let own = get(&server, rep, "contacts", &robs.id).await.unwrap();
    assert_eq!(records_support::field(&own, "last_name"), json!("Rep"));
    assert!(!keys(&own).contains(&"phone".to_owned()), "the rep may not read phone");
    let as_manager = get(&server, mia, "contacts", &robs.id).await.unwrap();
    assert_eq!(records_support::field(&as_manager, "phone"), json!("+442079460000"), "a report's record, with phone");
    let missing = get(&server, rep, "contacts", &RecordId::new().to_string()).await.unwrap_err();
    for hidden in [&mias.id, &pats.id] {
        let err = get(&server, rep, "contacts", hidden).await.unwrap_err();
        assert_eq!((err.code(), err.message()), (Code::NotFound, missing.message()), "like a missing record");
    }
    denied(&get(&server, &acme.stranger, "contacts", &robs.id).await.unwrap_err(), "NO_OBJECT_RIGHT");

    // Update: writable fields of reachable records; delete needs its right.
    let renamed = update_request("contacts", &robs, json!({"job_title": "Lead"}), &["job_title"]);
    let robs = r.update_record(authed(renamed, rep)).await.unwrap().into_inner();
    let err = r.update_record(authed(update_request("contacts", &robs, json!({"phone": phone}), &["phone"]), rep));
    let err = err.await.unwrap_err();
    denied(&err, "FIELD_NOT_WRITABLE");
    assert_eq!(named_field(&err), "fields.phone");
    let err =
        r.update_record(authed(update_request("contacts", &mias, json!({"job_title": "x"}), &["job_title"]), rep));
    assert_eq!(err.await.unwrap_err().code(), Code::NotFound);
    let delete =
        |id: &str| pb::DeleteRecordRequest { module: "contacts".into(), id: id.into(), expected_version: None };
    denied(&r.delete_record(authed(delete(&robs.id), rep)).await.unwrap_err(), "NO_OBJECT_RIGHT");
    assert_eq!(
        r.delete_record(authed(delete(&mias.id), &acme.peer.1)).await.unwrap_err().code(),
        Code::PermissionDenied
    );

    // Bulk writes name the record and field.
    let bulk = pb::BulkUpdateRecordsRequest {
        module: "contacts".into(),
        records: vec![pb::RecordUpdate {
            id: robs.id.clone(),
            fields: Some(fields(json!({"phone": phone}))),
            update_mask: vec!["phone".into()],
            expected_version: robs.version,
        }],
    };
    let err = r.bulk_update_records(authed(bulk, rep)).await.unwrap_err();
    assert_eq!(named_field(&err), "records[0].fields.phone");
    let bulk = pb::BulkCreateRecordsRequest {
        module: "contacts".into(),
        records: vec![fields(json!({"last_name": "A"})), fields(json!({"last_name": "B", "phone": phone}))],
        owner_id: None,
    };
    let err = r.bulk_create_records(authed(bulk, rep)).await.unwrap_err();
    assert_eq!(named_field(&err), "records[1].fields.phone");

    // Lists and counts: exactly the reachable records, readable fields only.
    let listed = list(&server, rep, "contacts").await.unwrap();
    assert_eq!(id_set(&listed), [robs.id.clone(), mine.id.clone()].into());
    assert!(listed.iter().all(|c| keys(c).iter().all(|k| readable.contains(k.as_str()))));
    assert_eq!(count(&server, rep, "contacts").await.unwrap(), 2);
    let team = list(&server, mia, "contacts").await.unwrap();
    assert_eq!(id_set(&team), [mias.id.clone(), robs.id.clone(), pats.id.clone(), mine.id.clone()].into());
    assert!(list(&server, &acme.auditor.1, "contacts").await.unwrap().is_empty(), "auditors own nothing");
    denied(&list(&server, &acme.stranger, "contacts").await.unwrap_err(), "NO_OBJECT_RIGHT");
    denied(&count(&server, &acme.stranger, "contacts").await.unwrap_err(), "NO_OBJECT_RIGHT");

    // Filtering or sorting by a field the caller cannot read would reveal it.
    let by_phone = list_request("contacts", Some(cond("phone", pb::Op::Eq, json!(phone))));
    let err = r.list_records(authed(by_phone, rep)).await.unwrap_err();
    denied(&err, "FIELD_NOT_READABLE");
    assert_eq!(named_field(&err), "phone");
    let mut sorted = list_request("contacts", None);
    sorted.sort = vec![pb::SortKey { field: "phone".into(), descending: false }];
    denied(&r.list_records(authed(sorted, rep)).await.unwrap_err(), "FIELD_NOT_READABLE");
    let counted = pb::CountRecordsRequest {
        module: "contacts".into(),
        filter: Some(cond("phone", pb::Op::Eq, json!(phone))),
        ..Default::default()
    };
    denied(&r.count_records(authed(counted, rep)).await.unwrap_err(), "FIELD_NOT_READABLE");

    // History leaves out changes of unreadable fields.
    let rephone = update_request("contacts", &robs, json!({"phone": "+44 20 7946 0001"}), &["phone"]);
    r.update_record(authed(rephone, mia)).await.unwrap();
    let history = |token: &str| {
        let request =
            pb::ListFieldHistoryRequest { module: "contacts".into(), id: robs.id.clone(), ..Default::default() };
        let mut r = client(&server);
        let token = token.to_owned();
        async move { r.list_field_history(authed(request, &token)).await.unwrap().into_inner().changes }
    };
    let fields_changed = |changes: Vec<pb::FieldChange>| changes.into_iter().map(|c| c.field).collect::<BTreeSet<_>>();
    assert_eq!(fields_changed(history(mia).await), ["job_title".to_owned(), "phone".to_owned()].into());
    assert_eq!(fields_changed(history(rep).await), ["job_title".to_owned()].into());
    let hidden = pb::ListFieldHistoryRequest { module: "contacts".into(), id: mias.id.clone(), ..Default::default() };
    assert_eq!(r.list_field_history(authed(hidden, rep)).await.unwrap_err().code(), Code::NotFound);

    // A related list hangs off a readable record and needs the related module's read right.
    let related = |id: &str| pb::ListRelatedRecordsRequest {
        module: "contacts".into(),
        id: id.into(),
        related_module: "activities".into(),
        via_field: "contact".into(),
        ..Default::default()
    };
    assert_eq!(r.list_related_records(authed(related(&mias.id), rep)).await.unwrap_err().code(), Code::NotFound);
    denied(&r.list_related_records(authed(related(&robs.id), rep)).await.unwrap_err(), "NO_OBJECT_RIGHT");

    // The manager deletes a report's record; service clients see everything within their scopes.
    r.delete_record(authed(delete(&pats.id), mia)).await.unwrap();
    assert_eq!(count(&server, &acme.service, "contacts").await.unwrap(), 3);
}

#[tokio::test]
async fn sharing_rules_manual_shares_and_policy_changes_apply_on_the_next_call() {
    let server = TestServer::start().await;
    let acme = acme(&server).await;
    let (mia_id, rep) = (acme.manager.0, acme.rep.1.as_str());
    let bank = owned(&server, &acme, "accounts", mia_id, json!({"name": "Bank", "industry": "finance"})).await;
    let shop = owned(&server, &acme, "accounts", mia_id, json!({"name": "Shop", "industry": "retail"})).await;
    let contact = owned(&server, &acme, "contacts", mia_id, json!({"last_name": "Shared"})).await;

    // The rule shares finance accounts with reps, read-only, with the fields reps may read.
    let accounts = list(&server, rep, "accounts").await.unwrap();
    assert_eq!(id_set(&accounts), [bank.id.clone()].into());
    assert_eq!(keys(&accounts[0]), ["industry", "name"]);
    assert_eq!(get(&server, rep, "accounts", &shop.id).await.unwrap_err().code(), Code::NotFound);

    // A lookup may name only a record the writer can read: another's is refused like a missing one.
    let hidden = owned(&server, &acme, "accounts", acme.auditor.0, json!({"name": "Hidden"})).await;
    let mia = acme.manager.1.as_str();
    let linked = |account: &str| update_request("contacts", &contact, json!({"account": account}), &["account"]);
    let err = client(&server).update_record(authed(linked(&hidden.id), mia)).await.unwrap_err();
    let unknown = client(&server).update_record(authed(linked(&RecordId::new().to_string()), mia)).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::NotFound, unknown.message()), "like a missing record");
    let contact = client(&server).update_record(authed(linked(&shop.id), mia)).await.unwrap().into_inner();

    // A manual share for an hour: readable, not writable; gone once it expired.
    let mut shared = policy(acme.org);
    shared.shares.push(ManualShare {
        module: "contacts".into(),
        record: contact.id.parse().unwrap(),
        with: ShareRecipient::User(acme.rep.0),
        access: ShareAccess::Read,
        expires_at: server.clock().now() + Duration::hours(1),
    });
    access_support::replace(&server, &acme.admin, &shared, 1).await.unwrap();
    assert_eq!(get(&server, rep, "contacts", &contact.id).await.unwrap().id, contact.id);
    let change = update_request("contacts", &contact, json!({"job_title": "x"}), &["job_title"]);
    denied(&client(&server).update_record(authed(change, rep)).await.unwrap_err(), "RECORD_NOT_WRITABLE");
    assert_eq!(id_set(&list(&server, rep, "contacts").await.unwrap()), [contact.id.clone()].into());
    server.clock().advance(Duration::hours(2));
    assert_eq!(get(&server, rep, "contacts", &contact.id).await.unwrap_err().code(), Code::NotFound);
    assert!(list(&server, rep, "contacts").await.unwrap().is_empty());

    // Opening contacts to every reader applies to the next call: auditors read every last name.
    let mut open = shared.clone();
    open.defaults.insert("contacts".into(), OrgDefault::PublicRead);
    access_support::replace(&server, &acme.admin, &open, 2).await.unwrap();
    let seen = list(&server, &acme.auditor.1, "contacts").await.unwrap();
    assert_eq!(id_set(&seen), [contact.id.clone()].into());
    assert_eq!(keys(&seen[0]), ["last_name"]);
    // Public read is not public write.
    let change = update_request("contacts", &contact, json!({"job_title": "x"}), &["job_title"]);
    denied(&client(&server).update_record(authed(change, rep)).await.unwrap_err(), "RECORD_NOT_WRITABLE");
}
