//! `listone.records.v1.RecordService` over the real server socket: every RPC's happy path —
//! create, get, update, delete, field history, related lists, bulk writes — on a new
//! organization whose standard modules are installed on first use. Runs on SQLite, and on
//! PostgreSQL with `LISTONE_TEST_DATABASE_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access_support;
mod records_support;

use std::time::Duration;

use listone_core::{OrgId, UserId};
use listone_proto::audit::v1 as audit_pb;
use listone_proto::audit::v1::audit_service_client::AuditServiceClient;
use listone_proto::records::v1 as pb;
use listone_testkit::{TestServer, authed};
use records_support::{
    READ, WRITE, client, create, create_request, field, fields, get_request, keys, service_token, token,
    update_request, user_token,
};
use serde_json::json;
use tonic::Code;

fn ada() -> serde_json::Value {
    json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0958",
        "notes": "Met at the analytical engine demo",
    })
}

#[tokio::test]
async fn a_record_is_created_read_changed_and_deleted() {
    let server = TestServer::start().await;
    let (org, user) = (OrgId::new(), UserId::new());
    let writer = user_token(&server, org, user, &[WRITE]);
    let mut records = client(&server);

    let created = create(&server, &writer, "contacts", ada()).await;
    assert_eq!(created.module, "contacts");
    assert_eq!(created.version, 1);
    assert_eq!(created.owner_id, user.to_string());
    assert_eq!(created.created_by, user.to_string());
    assert!(!created.subject_id.is_empty(), "a contact is its own data subject");
    assert_eq!(field(&created, "phone"), json!("+442079460958"));
    assert!(created.created_at.ends_with('Z'));

    let got = records.get_record(authed(get_request("contacts", &created.id), &writer)).await.unwrap().into_inner();
    assert_eq!(field(&got, "email"), json!("ada@example.com"));
    assert_eq!(field(&got, "notes"), json!("Met at the analytical engine demo"));
    assert_eq!(field(&got, "job_title"), json!(null));
    assert!(got.erased_fields.is_empty());
    assert_eq!(got.subject_id, created.subject_id);

    // Only the fields asked for come back.
    let mut subset = get_request("contacts", &created.id);
    subset.field_keys = vec!["last_name".into()];
    subset.purpose = "crm.sales".into();
    let narrow = records.get_record(authed(subset, &writer)).await.unwrap().into_inner();
    assert_eq!(keys(&narrow), ["last_name"]);

    // An update changes the masked fields only; an unmasked value is ignored, a masked field
    // absent from `fields` is cleared, and the reply carries the masked fields.
    let change = update_request(
        "contacts",
        &created,
        json!({"job_title": "Countess", "first_name": "Augusta"}),
        &["job_title", "notes"],
    );
    let updated = records.update_record(authed(change, &writer)).await.unwrap().into_inner();
    assert_eq!(updated.version, 2);
    assert_eq!(keys(&updated), ["job_title", "notes"]);
    assert_eq!(field(&updated, "notes"), json!(null));
    let again = records.get_record(authed(get_request("contacts", &created.id), &writer)).await.unwrap().into_inner();
    assert_eq!((field(&again, "first_name"), field(&again, "job_title")), (json!("Ada"), json!("Countess")));
    assert_eq!(again.version, 2);

    // Delete without a version deletes the current one; the record is gone for every read.
    let delete = pb::DeleteRecordRequest { module: "contacts".into(), id: created.id.clone(), expected_version: None };
    records.delete_record(authed(delete.clone(), &writer)).await.unwrap();
    let err = records.get_record(authed(get_request("contacts", &created.id), &writer)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(records.delete_record(authed(delete, &writer)).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn delete_with_a_version_needs_the_current_one() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let mut records = client(&server);
    let created = create(&server, &writer, "accounts", json!({"name": "Acme"})).await;
    let stale =
        pb::DeleteRecordRequest { module: "accounts".into(), id: created.id.clone(), expected_version: Some(2) };
    let err = records.delete_record(authed(stale, &writer)).await.unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let current = pb::DeleteRecordRequest { module: "accounts".into(), id: created.id, expected_version: Some(1) };
    records.delete_record(authed(current, &writer)).await.unwrap();
}

#[tokio::test]
async fn a_service_client_creates_unowned_records_or_names_the_owner() {
    let server = TestServer::start().await;
    let (org, users) = access_support::org_with_users(&server, "acme", &[("ann", "sales")]).await;
    let service = service_token(&server, org, &[WRITE]);
    let unowned = create(&server, &service, "accounts", json!({"name": "Acme"})).await;
    assert!(unowned.owner_id.parse::<uuid::Uuid>().unwrap().is_nil());
    assert!(unowned.created_by.parse::<uuid::Uuid>().unwrap().is_nil());
    let owner = users[0].to_string();
    let mut request = create_request("accounts", json!({"name": "Initech"}));
    request.owner_id = Some(owner.clone());
    let owned = client(&server).create_record(authed(request, &service)).await.unwrap().into_inner();
    assert_eq!(owned.owner_id, owner);
    // The owner named must be a user or group of the organization.
    let mut request = create_request("accounts", json!({"name": "Hooli"}));
    request.owner_id = Some(UserId::new().to_string());
    let refused = client(&server).create_record(authed(request, &service)).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
}

#[tokio::test]
async fn field_history_lists_each_change_with_actor_time_and_source() {
    let server = TestServer::start().await;
    let (org, user) = (OrgId::new(), UserId::new());
    let writer = user_token(&server, org, user, &[WRITE]);
    let mut records = client(&server);
    let created = create(&server, &writer, "contacts", ada()).await;
    let first = update_request("contacts", &created, json!({"email": "ada@lovelace.example"}), &["email"]);
    let v2 = records.update_record(authed(first, &writer)).await.unwrap().into_inner();
    server.clock().advance(chrono::Duration::seconds(60));
    let second = update_request(
        "contacts",
        &pb::Record { version: v2.version, ..created.clone() },
        json!({"job_title": "Countess"}),
        &["job_title"],
    );
    records.update_record(authed(second, &writer)).await.unwrap();

    let request = pb::ListFieldHistoryRequest {
        module: "contacts".into(),
        id: created.id.clone(),
        page_size: 1,
        ..Default::default()
    };
    let page = records.list_field_history(authed(request.clone(), &writer)).await.unwrap().into_inner();
    assert_eq!(page.changes.len(), 1);
    let email = &page.changes[0];
    assert_eq!(email.field, "email");
    assert_eq!(records_support::json_of(email.old_value.as_ref().unwrap()), json!("ada@example.com"));
    assert_eq!(records_support::json_of(email.new_value.as_ref().unwrap()), json!("ada@lovelace.example"));
    assert_eq!((email.actor_kind.as_str(), email.source.as_str()), ("user", "api"));
    assert_eq!(email.actor_id, user.to_string());
    assert!(!email.old_erased && !email.new_erased);

    let next = pb::ListFieldHistoryRequest { page_token: page.next_page_token.clone(), ..request };
    let rest = records.list_field_history(authed(next, &writer)).await.unwrap().into_inner();
    assert_eq!(rest.changes.len(), 1);
    assert_eq!(rest.changes[0].field, "job_title");
    assert_eq!(rest.changes[0].old_value.as_ref().map(records_support::json_of), Some(json!(null)));
    assert!(rest.changes[0].changed_at > email.changed_at);
    assert!(rest.next_page_token.is_empty());
}

#[tokio::test]
async fn related_lists_follow_a_lookup_from_a_contact_to_its_activities() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let mut records = client(&server);
    let contact = create(&server, &writer, "contacts", ada()).await;
    let other = create(&server, &writer, "contacts", json!({"last_name": "Babbage"})).await;
    let mut mine = Vec::new();
    for subject in ["Call", "Demo", "Follow-up"] {
        let activity = json!({"subject": subject, "activity_type": "call", "contact": contact.id});
        let created = create(&server, &writer, "activities", activity).await;
        // An activity belongs to its contact's data subject.
        assert_eq!(created.subject_id, contact.subject_id);
        mine.push(created.id);
    }
    create(&server, &writer, "activities", json!({"subject": "Other", "activity_type": "task", "contact": other.id}))
        .await;

    let mut request = pb::ListRelatedRecordsRequest {
        module: "contacts".into(),
        id: contact.id.clone(),
        related_module: "activities".into(),
        via_field: "contact".into(),
        page_size: 2,
        field_keys: vec!["subject".into()],
        ..Default::default()
    };
    let first = records.list_related_records(authed(request.clone(), &writer)).await.unwrap().into_inner();
    assert_eq!(first.records.len(), 2);
    assert!(first.records.iter().all(|r| r.module == "activities" && keys(r) == ["subject"]));
    request.page_token = first.next_page_token;
    let second = records.list_related_records(authed(request.clone(), &writer)).await.unwrap().into_inner();
    assert!(second.next_page_token.is_empty());
    let mut seen: Vec<String> = first.records.into_iter().chain(second.records).map(|r| r.id).collect();
    seen.sort();
    mine.sort();
    assert_eq!(seen, mine);

    // A lookup field that does not point at `module` is refused.
    request.page_token.clear();
    request.via_field = "deal".into();
    let err = records.list_related_records(authed(request, &writer)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(records_support::violated_fields(&err), ["via_field"]);
}

#[tokio::test]
async fn bulk_create_and_update_write_every_record() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let mut records = client(&server);
    let request = pb::BulkCreateRecordsRequest {
        module: "deals".into(),
        records: (1..=3).map(|i| fields(json!({"name": format!("Deal {i}"), "amount": i * 1000}))).collect(),
        owner_id: None,
    };
    let created = records.bulk_create_records(authed(request, &writer)).await.unwrap().into_inner().records;
    assert_eq!(created.len(), 3);
    assert_eq!(field(&created[1], "amount"), json!("2000.00"));
    assert_eq!(field(&created[1], "stage"), json!("qualification"));

    let updates = created
        .iter()
        .map(|r| pb::RecordUpdate {
            id: r.id.clone(),
            fields: Some(fields(json!({"probability": 50}))),
            update_mask: vec!["probability".into()],
            expected_version: r.version,
        })
        .collect();
    let request = pb::BulkUpdateRecordsRequest { module: "deals".into(), records: updates };
    let updated = records.bulk_update_records(authed(request, &writer)).await.unwrap().into_inner().records;
    assert_eq!(updated.len(), 3);
    assert!(updated.iter().all(|r| r.version == 2));
    // The formula is recomputed and returned with the masked field.
    assert_eq!(field(&updated[2], "expected_amount"), json!("1500.00"));
    let reader = token(&server, OrgId::new(), &[READ]);
    let err = records.get_record(authed(get_request("deals", &created[0].id), &reader)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "another org never sees them");
}

#[tokio::test]
async fn personal_reads_and_refusals_are_in_the_audit_log() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let admin = token(&server, org, &[WRITE, "audit.read"]);
    let created = create(&server, &admin, "contacts", ada()).await;
    let mut read = get_request("contacts", &created.id);
    read.purpose = "crm.support".into();
    client(&server).get_record(authed(read, &admin)).await.unwrap();
    let reader = token(&server, org, &[READ]);
    let refused = client(&server).create_record(authed(create_request("contacts", ada()), &reader)).await;
    assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied);

    let mut audit = AuditServiceClient::new(server.channel());
    let wanted = ["records.record.created", "records.record.read", listone_records_service::ACCESS_DENIED_ACTION];
    let mut actions = Vec::new();
    let mut entries = Vec::new();
    // Entries reach the log through the outbox, so give the dispatcher a moment.
    for _ in 0..100 {
        let filter = audit_pb::EntryFilter { action: "records.*".into(), ..Default::default() };
        let request = audit_pb::ListEntriesRequest { filter: Some(filter), page_size: 100, ..Default::default() };
        entries = audit.list_entries(authed(request, &admin)).await.unwrap().into_inner().entries;
        actions = entries.iter().map(|e| e.action.clone()).collect::<Vec<_>>();
        if wanted.iter().all(|w| actions.iter().any(|a| a == w)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for w in wanted {
        assert!(actions.iter().any(|a| a == w), "{w} missing from {actions:?}");
    }
    // The read names the record, the fields and the purpose claimed (grouped reads list each
    // record as an item).
    let read = entries.iter().find(|e| e.action == "records.record.read").unwrap();
    assert_eq!(read.purpose, "crm.support");
    let details: serde_json::Value = serde_json::from_str(&read.details_json).unwrap();
    assert_eq!(details["items"][0]["record_id"], serde_json::json!(created.id), "{details}");
    assert!(details["fields"].as_array().unwrap().iter().any(|f| f == "email"), "{details}");
}

#[tokio::test]
async fn health_lists_the_record_service() {
    let server = TestServer::start().await;
    let name = "listone.records.v1.RecordService";
    let request = tonic_health::pb::HealthCheckRequest { service: name.into() };
    let health = server.health().check(request).await.unwrap().into_inner();
    assert_eq!(health.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}
