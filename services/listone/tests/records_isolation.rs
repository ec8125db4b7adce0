//! Tenant isolation and encryption at rest, over the real server socket: another
//! organization's record id answers NOT_FOUND on every RPC that takes one and leaks nothing,
//! and no record table (nor, on SQLite, any byte of the database files) holds the plaintext of
//! an encrypted or searchable field, while an exact lookup by e-mail still finds the record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod records_support;

use listone_core::OrgId;
use listone_proto::records::v1 as pb;
use listone_testkit::{TestServer, authed};
use records_support::{
    READ, WRITE, client, cond, contains_bytes, create, field, fields, get_request, install_members, list_request,
    listed, raw_text, sqlite_bytes, token, update_request,
};
use serde_json::json;
use tonic::Code;

#[tokio::test]
async fn another_orgs_record_id_is_not_found_for_every_rpc_and_leaks_nothing() {
    let server = TestServer::start().await;
    let owner = token(&server, OrgId::new(), &[WRITE]);
    let stranger = token(&server, OrgId::new(), &[WRITE]);
    let contact =
        create(&server, &owner, "contacts", json!({"last_name": "Lovelace", "email": "ada@example.com"})).await;
    let change = update_request("contacts", &contact, json!({"job_title": "Countess"}), &["job_title"]);
    let contact = client(&server).update_record(authed(change, &owner)).await.unwrap().into_inner();
    let mut r = client(&server);

    let get = r.get_record(authed(get_request("contacts", &contact.id), &stranger)).await.unwrap_err();
    let update = update_request("contacts", &contact, json!({"job_title": "Spy"}), &["job_title"]);
    let update = r.update_record(authed(update, &stranger)).await.unwrap_err();
    let delete = pb::DeleteRecordRequest { module: "contacts".into(), id: contact.id.clone(), expected_version: None };
    let delete = r.delete_record(authed(delete, &stranger)).await.unwrap_err();
    let versioned =
        pb::DeleteRecordRequest { module: "contacts".into(), id: contact.id.clone(), expected_version: Some(2) };
    let versioned = r.delete_record(authed(versioned, &stranger)).await.unwrap_err();
    let related = pb::ListRelatedRecordsRequest {
        module: "contacts".into(),
        id: contact.id.clone(),
        related_module: "activities".into(),
        via_field: "contact".into(),
        ..Default::default()
    };
    let related = r.list_related_records(authed(related, &stranger)).await.unwrap_err();
    let history =
        pb::ListFieldHistoryRequest { module: "contacts".into(), id: contact.id.clone(), ..Default::default() };
    let history = r.list_field_history(authed(history, &stranger)).await.unwrap_err();
    let bulk = pb::BulkUpdateRecordsRequest {
        module: "contacts".into(),
        records: vec![pb::RecordUpdate {
            id: contact.id.clone(),
            fields: Some(fields(json!({"job_title": "Spy"}))),
            update_mask: vec!["job_title".into()],
            expected_version: 2,
        }],
    };
    let bulk = r.bulk_update_records(authed(bulk, &stranger)).await.unwrap_err();
    for err in [&get, &update, &delete, &versioned, &related, &history, &bulk] {
        assert_eq!(err.code(), Code::NotFound, "{err:?}");
        assert!(!err.message().contains(&contact.id), "the id is not echoed");
    }
    // The same answer as for an id that never existed: nothing tells the two apart.
    let missing = r.get_record(authed(get_request("contacts", &listone_core::RecordId::new().to_string()), &stranger));
    assert_eq!(missing.await.unwrap_err().message(), get.message());

    // Lists and counts of the stranger's org do not hold it, even when filtered by its id.
    assert!(listed(&server, &stranger, "contacts", cond("id", pb::Op::Eq, json!(contact.id))).await.is_empty());
    let count = pb::CountRecordsRequest { module: "contacts".into(), ..Default::default() };
    assert_eq!(r.count_records(authed(count, &stranger)).await.unwrap().into_inner().count, 0);
    let page = r.list_records(authed(list_request("contacts", None), &stranger)).await.unwrap().into_inner();
    assert!(page.records.is_empty());

    // And the owner's record is untouched.
    let own = r.get_record(authed(get_request("contacts", &contact.id), &owner)).await.unwrap().into_inner();
    assert_eq!((own.version, field(&own, "job_title")), (2, json!("Countess")));
}

/// Values of encrypted and searchable fields, as stored after normalisation.
const SECRETS: [&str; 7] = [
    "ada.lovelace@analytical.example",
    "+442079460958",
    "2079460958",
    "Prefers tea with Babbage",
    "12 St James's Square",
    "grace.hopper@navy.example",
    "Debugged the Mark II",
];

#[tokio::test]
async fn no_plaintext_of_protected_fields_is_stored_yet_email_lookup_finds_the_record() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    install_members(&server, org).await;
    let writer = token(&server, org, &[WRITE]);
    let ada = create(
        &server,
        &writer,
        "contacts",
        json!({
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada.lovelace@Analytical.example",
            "phone": "+44 20 7946 0958",
            "notes": "Prefers tea with Babbage",
            "address": "12 St James's Square",
        }),
    )
    .await;
    let activity = json!({"subject": "Call", "activity_type": "call", "contact": ada.id, "description": "Prefers tea with Babbage"});
    create(&server, &writer, "activities", activity).await;
    let grace = create(
        &server,
        &writer,
        "members",
        json!({"name": "Grace", "email": "grace.hopper@navy.example", "note": "Debugged the Mark II"}),
    )
    .await;
    // History rows hold old and new values of the changed protected fields.
    let change = update_request(
        "contacts",
        &ada,
        json!({"email": "ada@analytical.example", "notes": "Debugged the Mark II"}),
        &["email", "notes"],
    );
    let ada = client(&server).update_record(authed(change, &writer)).await.unwrap().into_inner();
    let change = update_request("members", &grace, json!({"note": "Prefers tea with Babbage"}), &["note"]);
    client(&server).update_record(authed(change, &writer)).await.unwrap();

    let text = raw_text(&server).await;
    assert!(text.contains("Lovelace"), "the scan reads the plain fields it should");
    let bytes = sqlite_bytes(&server);
    for secret in SECRETS {
        assert!(!text.contains(secret), "a record table holds plaintext of a protected field");
        assert!(!contains_bytes(&bytes, secret), "the SQLite files hold plaintext of a protected field");
    }

    // The blind index still finds each record by its exact e-mail, in any case.
    let reader = token(&server, org, &[READ]);
    let by_email = listed(&server, &reader, "contacts", cond("email", pb::Op::Eq, json!("ADA@analytical.example")));
    assert_eq!(by_email.await, [ada.id.as_str()]);
    let old = listed(&server, &reader, "contacts", cond("email", pb::Op::Eq, json!("ada.lovelace@analytical.example")));
    assert!(old.await.is_empty(), "the old address no longer matches");
    let member = listed(&server, &reader, "members", cond("email", pb::Op::Eq, json!("grace.hopper@navy.example")));
    assert_eq!(member.await, [grace.id.as_str()]);
    let got = client(&server).get_record(authed(get_request("contacts", &ada.id), &reader)).await.unwrap().into_inner();
    assert_eq!(field(&got, "notes"), json!("Debugged the Mark II"));
    assert_eq!(field(&got, "address"), json!("12 St James's Square"));
}
