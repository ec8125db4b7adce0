//! What `listone.records.v1.RecordService` refuses, over the real server socket: each bad input
//! of issue 6 with its status code and the request path it names, all-or-nothing bulk writes,
//! missing scopes and missing tokens. A refused write writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod records_support;

use listone_core::OrgId;
use listone_proto::records::v1 as pb;
use listone_testkit::{TestServer, authed};
use records_support::{
    READ, WRITE, client, create, create_request, fields, get_request, install_members, list_request, reason, rows,
    token, update_request, violated_fields, violations,
};
use serde_json::json;
use tonic::Code;

#[tokio::test]
async fn an_unknown_module_is_not_found_for_every_rpc() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let mut r = client(&server);
    let id = listone_core::RecordId::new().to_string();
    let record = pb::Record { id: id.clone(), version: 1, ..Default::default() };
    let related = pb::ListRelatedRecordsRequest {
        module: "nope".into(),
        id: id.clone(),
        related_module: "activities".into(),
        via_field: "contact".into(),
        ..Default::default()
    };
    let history = pb::ListFieldHistoryRequest { module: "nope".into(), id: id.clone(), ..Default::default() };
    let bulk_update = pb::BulkUpdateRecordsRequest {
        module: "nope".into(),
        records: vec![pb::RecordUpdate {
            id: id.clone(),
            fields: Some(fields(json!({"name": "x"}))),
            update_mask: vec!["name".into()],
            expected_version: 1,
        }],
    };
    let codes = [
        r.create_record(authed(create_request("nope", json!({"name": "x"})), &writer)).await.unwrap_err().code(),
        r.get_record(authed(get_request("nope", &id), &writer)).await.unwrap_err().code(),
        r.update_record(authed(update_request("nope", &record, json!({"name": "x"}), &["name"]), &writer))
            .await
            .unwrap_err()
            .code(),
        r.delete_record(authed(pb::DeleteRecordRequest { module: "nope".into(), id, expected_version: None }, &writer))
            .await
            .unwrap_err()
            .code(),
        r.list_records(authed(list_request("nope", None), &writer)).await.unwrap_err().code(),
        r.count_records(authed(pb::CountRecordsRequest { module: "nope".into(), ..Default::default() }, &writer))
            .await
            .unwrap_err()
            .code(),
        r.list_related_records(authed(related, &writer)).await.unwrap_err().code(),
        r.list_field_history(authed(history, &writer)).await.unwrap_err().code(),
        r.bulk_create_records(authed(
            pb::BulkCreateRecordsRequest { module: "nope".into(), records: vec![fields(json!({}))], owner_id: None },
            &writer,
        ))
        .await
        .unwrap_err()
        .code(),
        r.bulk_update_records(authed(bulk_update, &writer)).await.unwrap_err().code(),
    ];
    assert_eq!(codes, [Code::NotFound; 10]);
    let err = r.list_records(authed(list_request("Not A Key", None), &writer)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["module"]);
}

#[tokio::test]
async fn every_bad_field_is_reported_at_once_and_nothing_is_written() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let mut r = client(&server);
    let bad = json!({
        "shoe_size": 42,
        "first_name": "A".repeat(256),
        "last_name": 7,
        "email": "not-an-email",
        "phone": "12",
    });
    let err = r.create_record(authed(create_request("contacts", bad), &writer)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let found: Vec<(String, String)> =
        violations(&err).into_iter().map(|(f, d)| (f, d.split(':').next().unwrap().to_owned())).collect();
    let expected = [
        ("fields.shoe_size", "unknown_field"),
        ("fields.first_name", "too_long"),
        ("fields.last_name", "wrong_type"),
        ("fields.email", "invalid_email"),
        ("fields.phone", "invalid_phone"),
    ];
    assert_eq!(found, expected.map(|(f, r)| (f.to_owned(), r.to_owned())));
    assert!(!err.message().contains("not-an-email"), "values are never echoed");

    let err = r.create_record(authed(create_request("accounts", json!({"name": "A", "website": "nope"})), &writer));
    assert_eq!(violations(&err.await.unwrap_err())[0].0, "fields.website");
    let err = r.create_record(authed(create_request("leads", json!({"last_name": "X", "status": "bogus"})), &writer));
    let found = violations(&err.await.unwrap_err());
    assert_eq!(found[0].0, "fields.status");
    assert!(found[0].1.starts_with("not_in_picklist"));
    let err = r.create_record(authed(create_request("deals", json!({"name": "X", "expected_amount": "1"})), &writer));
    assert_eq!(violated_fields(&err.await.unwrap_err()), ["fields.expected_amount"]);
    let mut owned = create_request("accounts", json!({"name": "A"}));
    owned.owner_id = Some("someone".into());
    assert_eq!(violated_fields(&r.create_record(authed(owned, &writer)).await.unwrap_err()), ["owner_id"]);
    assert_eq!(rows(&server, "record").await, 0);
}

#[tokio::test]
async fn a_taken_unique_value_is_already_exists_whatever_its_case() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    install_members(&server, org).await;
    let writer = token(&server, org, &[WRITE]);
    create(&server, &writer, "members", json!({"name": "Ada", "email": "ada@example.com", "code": "A1"})).await;
    let mut r = client(&server);
    let twin = create_request("members", json!({"name": "Twin", "email": "ADA@example.com"}));
    let err = r.create_record(authed(twin, &writer)).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(violated_fields(&err), ["fields.email"]);
    let copy = create_request("members", json!({"name": "Copy", "code": "A1"}));
    assert_eq!(violated_fields(&r.create_record(authed(copy, &writer)).await.unwrap_err()), ["fields.code"]);
    assert_eq!(rows(&server, "record").await, 1);
}

#[tokio::test]
async fn updates_need_a_mask_and_the_current_version() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let mut r = client(&server);
    let account = create(&server, &writer, "accounts", json!({"name": "Acme"})).await;
    let first = update_request("accounts", &account, json!({"name": "Acme Ltd"}), &["name"]);
    r.update_record(authed(first.clone(), &writer)).await.unwrap();
    let err = r.update_record(authed(first, &writer)).await.unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_VERSION");

    let mut shapeless = update_request("accounts", &account, json!({"name": "X"}), &[]);
    shapeless.expected_version = 0;
    shapeless.id = "not-an-id".into();
    let err = r.update_record(authed(shapeless, &writer)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["id", "update_mask", "expected_version"]);
    let unknown = update_request("accounts", &pb::Record { version: 2, ..account }, json!({}), &["colour"]);
    assert_eq!(violated_fields(&r.update_record(authed(unknown, &writer)).await.unwrap_err()), ["fields.colour"]);
}

#[tokio::test]
async fn a_lookup_to_another_orgs_or_a_missing_record_is_not_found() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let stranger = token(&server, OrgId::new(), &[WRITE]);
    let theirs = create(&server, &stranger, "contacts", json!({"last_name": "Babbage"})).await;
    let mut r = client(&server);
    for target in [theirs.id.clone(), listone_core::RecordId::new().to_string()] {
        let activity = json!({"subject": "Call", "activity_type": "call", "contact": target});
        let err = r.create_record(authed(create_request("activities", activity), &writer)).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        assert_eq!(violated_fields(&err), ["fields.contact"], "the refusal names the lookup field");
    }
    assert_eq!(rows(&server, "record").await, 1);
}

#[tokio::test]
async fn bulk_writes_are_all_or_nothing() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    install_members(&server, org).await;
    let writer = token(&server, org, &[WRITE]);
    let mut r = client(&server);
    let batch = |items: Vec<serde_json::Value>| pb::BulkCreateRecordsRequest {
        module: "members".into(),
        records: items.into_iter().map(fields).collect(),
        owner_id: None,
    };
    let invalid = batch(vec![json!({"name": "A"}), json!({"name": "B"}), json!({"name": "C", "email": "nope"})]);
    let err = r.bulk_create_records(authed(invalid, &writer)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["records[2].fields.email"]);
    let twins = batch(vec![json!({"name": "A", "code": "X"}), json!({"name": "B", "code": "X"})]);
    let err = r.bulk_create_records(authed(twins, &writer)).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(violated_fields(&err), ["records[1].fields.code"]);
    assert_eq!([rows(&server, "record").await, rows(&server, "record_index").await], [0, 0]);

    let good = batch(vec![json!({"name": "A", "score": 1}), json!({"name": "B", "score": 2})]);
    let created = r.bulk_create_records(authed(good, &writer)).await.unwrap().into_inner().records;
    let update = |record: &pb::Record, version: i64| pb::RecordUpdate {
        id: record.id.clone(),
        fields: Some(fields(json!({"score": 10}))),
        update_mask: vec!["score".into()],
        expected_version: version,
    };
    let stale = pb::BulkUpdateRecordsRequest {
        module: "members".into(),
        records: vec![update(&created[0], 1), update(&created[1], 7)],
    };
    assert_eq!(r.bulk_update_records(authed(stale, &writer)).await.unwrap_err().code(), Code::Aborted);
    let twice = pb::BulkUpdateRecordsRequest {
        module: "members".into(),
        records: vec![update(&created[0], 1), update(&created[0], 1)],
    };
    assert_eq!(violated_fields(&r.bulk_update_records(authed(twice, &writer)).await.unwrap_err()), ["records[1].id"]);
    let first = r.get_record(authed(get_request("members", &created[0].id), &writer)).await.unwrap().into_inner();
    assert_eq!((first.version, records_support::field(&first, "score")), (1, json!(1)), "nothing was changed");
    assert_eq!(rows(&server, "record_history").await, 0);
}

#[tokio::test]
async fn writes_need_the_write_scope_and_reads_the_read_scope() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let writer = token(&server, org, &[WRITE]);
    let account = create(&server, &writer, "accounts", json!({"name": "Acme"})).await;
    let reader = token(&server, org, &[READ]);
    let nobody = token(&server, org, &["customization.admin"]);
    let mut r = client(&server);

    let create_err = r.create_record(authed(create_request("accounts", json!({"name": "B"})), &reader)).await;
    let update = update_request("accounts", &account, json!({"name": "C"}), &["name"]);
    let update_err = r.update_record(authed(update, &reader)).await;
    let delete = pb::DeleteRecordRequest { module: "accounts".into(), id: account.id.clone(), expected_version: None };
    let delete_err = r.delete_record(authed(delete, &reader)).await;
    let bulk = pb::BulkCreateRecordsRequest { module: "accounts".into(), records: vec![], owner_id: None };
    let bulk_err = r.bulk_create_records(authed(bulk, &reader)).await;
    let bulk_update = pb::BulkUpdateRecordsRequest { module: "accounts".into(), records: vec![] };
    let bulk_update_err = r.bulk_update_records(authed(bulk_update, &reader)).await;
    let errors = [
        create_err.map(|_| ()),
        update_err.map(|_| ()),
        delete_err.map(|_| ()),
        bulk_err.map(|_| ()),
        bulk_update_err.map(|_| ()),
    ];
    for result in errors {
        let err = result.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(reason(&err), "MISSING_SCOPE");
    }
    let get = r.get_record(authed(get_request("accounts", &account.id), &nobody)).await.unwrap_err();
    let list = r.list_records(authed(list_request("accounts", None), &nobody)).await.unwrap_err();
    let count = pb::CountRecordsRequest { module: "accounts".into(), ..Default::default() };
    let count = r.count_records(authed(count, &nobody)).await.unwrap_err();
    assert_eq!([get.code(), list.code(), count.code()], [Code::PermissionDenied; 3]);
    // The reader reads.
    r.get_record(authed(get_request("accounts", &account.id), &reader)).await.unwrap();
}

#[tokio::test]
async fn a_call_without_a_token_is_unauthenticated() {
    let server = TestServer::start().await;
    let mut r = client(&server);
    let list = r.list_records(list_request("contacts", None)).await.unwrap_err();
    let create = r.create_record(create_request("contacts", json!({"last_name": "X"}))).await.unwrap_err();
    let bogus = r.get_record(authed(get_request("contacts", "x"), "not-a-token")).await.unwrap_err();
    assert_eq!([list.code(), create.code(), bogus.code()], [Code::Unauthenticated; 3]);
}

#[tokio::test]
async fn read_options_are_checked() {
    let server = TestServer::start().await;
    let writer = token(&server, OrgId::new(), &[WRITE]);
    let contact = create(&server, &writer, "contacts", json!({"last_name": "Lovelace"})).await;
    let mut r = client(&server);
    let mut request = get_request("contacts", &contact.id);
    request.purpose = "Marketing!".into();
    request.field_keys = vec!["last_name".into(), "last_name".into()];
    let err = r.get_record(authed(request, &writer)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["field_keys[1]", "purpose"]);
    let mut unknown = get_request("contacts", &contact.id);
    unknown.field_keys = vec!["shoe_size".into()];
    assert_eq!(violated_fields(&r.get_record(authed(unknown, &writer)).await.unwrap_err()), ["field_keys"]);
    let history = pb::ListFieldHistoryRequest {
        module: "contacts".into(),
        id: contact.id,
        page_size: 0,
        page_token: "zz".into(),
        ..Default::default()
    };
    assert_eq!(violated_fields(&r.list_field_history(authed(history, &writer)).await.unwrap_err()), ["page_token"]);
}
