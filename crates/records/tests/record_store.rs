//! The record store on a real database, happy paths: records of the standard modules created,
//! read, changed with history, listed, related through lookups, deleted and purged, each change
//! with its outbox event and audit entry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use listone_core::{Error, RecordId};
use listone_customization::{FieldDef, FieldType};
use listone_records::query::{FieldRef, Filter, Op, QueryValue, RecordQuery};
use listone_records::{BulkUpdate, ChangeSource, Decoded, HistoryPage, StoredRecord};
use serde_json::{Value as Json, json};
use support::{ALL_HISTORY, Fixture, json_of, object, owner};

fn ada() -> serde_json::Value {
    json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "Ada@Example.com",
        "phone": "+44 20 7946 0958",
        "notes": "prefers analytical engines",
        "date_of_birth": "1815-12-10",
    })
}

#[tokio::test]
async fn create_then_get_returns_the_values_and_audits_the_personal_read() {
    let f = Fixture::new().await;
    let created = f.create(f.org, "contacts", ada()).await.unwrap();
    assert_eq!(created.version, 1);
    assert!(created.subject_id.is_some(), "a contact is its own data subject");
    assert_eq!(f.events("records.record.created").await.len(), 1);
    assert_eq!(f.audited("records.record.created").await.len(), 1);

    let got = f.store.get(f.org, "contacts", created.id, None, f.reader()).await.unwrap();
    assert_eq!(json_of(&got, "email"), json!("Ada@example.com"));
    assert_eq!(json_of(&got, "notes"), json!("prefers analytical engines"));
    assert_eq!(json_of(&got, "date_of_birth"), json!("1815-12-10"));
    assert_eq!(got.subject_id, created.subject_id);
    let reads = f.audited("records.record.read").await;
    assert_eq!(reads.len(), 1);
    assert!(reads[0]["fields"].as_array().unwrap().contains(&json!("email")));
    assert!(!reads[0].to_string().contains("ada@"), "field keys, never values");

    let only = f.store.get(f.org, "contacts", created.id, Some(&["account"]), f.reader()).await.unwrap();
    assert_eq!(only.fields.fields.len(), 1);
    assert_eq!(f.audited("records.record.read").await.len(), 1, "no personal field read, no entry");
}

#[tokio::test]
async fn update_changes_only_masked_fields_and_records_history() {
    let f = Fixture::new().await;
    let created = f.create(f.org, "contacts", ada()).await.unwrap();
    let changes = json!({"notes": "wrote the first program", "job_title": "ignored: not in the mask"});
    let updated = f.update(f.org, "contacts", &created, changes, &["notes", "phone"]).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(json_of(&updated, "notes"), json!("wrote the first program"));
    assert_eq!(json_of(&updated, "phone"), json!(null), "masked without a value: cleared");
    assert!(updated.fields.get("email").is_none(), "the reply carries the masked fields only");
    let stored = f.store.get(f.org, "contacts", created.id, None, f.reader()).await.unwrap();
    assert_eq!(json_of(&stored, "job_title"), json!(null), "not in the mask: unchanged");
    assert_eq!(json_of(&stored, "email"), json!("Ada@example.com"));
    assert_eq!(json_of(&stored, "notes"), json!("wrote the first program"));

    let events = f.events("records.record.updated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["fields"], json!(["notes", "phone"]));
    let history = f.store.history(f.org, "contacts", created.id, ALL_HISTORY, f.reader()).await.unwrap().0;
    assert_eq!(history.len(), 2);
    let notes = history.iter().find(|c| c.field == "notes").unwrap();
    let value = |d: &Decoded| match d {
        Decoded::Value(v) => v.expose().to_json(),
        Decoded::Erased => panic!("erased"),
    };
    assert_eq!(value(&notes.old), json!("prefers analytical engines"));
    assert_eq!(value(&notes.new), json!("wrote the first program"));
    assert_eq!((notes.actor_kind.as_str(), notes.source.as_str()), ("user", "ui"));
    let phone = history.iter().find(|c| c.field == "phone").unwrap();
    assert_eq!(value(&phone.new), json!(null));

    let again = f.update(f.org, "contacts", &updated, json!({"notes": "wrote the first program"}), &[]).await.unwrap();
    assert_eq!(again.version, 2, "no change, nothing written");
}

#[tokio::test]
async fn formulas_are_computed_on_create_and_recomputed_on_update() {
    let f = Fixture::new().await;
    let deal = f.create(f.org, "deals", json!({"name": "Villa", "amount": "1000", "probability": 50})).await.unwrap();
    assert_eq!(json_of(&deal, "expected_amount"), json!("500.00"));
    let deal = f.update(f.org, "deals", &deal, json!({"probability": 10}), &[]).await.unwrap();
    let got = f.store.get(f.org, "deals", deal.id, Some(&["expected_amount"]), f.reader()).await.unwrap();
    assert_eq!(json_of(&got, "expected_amount"), json!("100.00"));
}

#[tokio::test]
async fn an_activity_belongs_to_its_contacts_subject() {
    let f = Fixture::new().await;
    let contact = f.create(f.org, "contacts", ada()).await.unwrap();
    let activity = f
        .create(
            f.org,
            "activities",
            json!({"subject": "Call", "activity_type": "call", "contact": contact.id.to_string(), "description": "x"}),
        )
        .await
        .unwrap();
    assert_eq!(activity.subject_id, contact.subject_id);
    let other = f.create(f.org, "contacts", json!({"last_name": "Babbage"})).await.unwrap();
    let moved = f.update(f.org, "activities", &activity, json!({"contact": other.id.to_string()}), &[]).await.unwrap();
    assert_eq!(moved.subject_id, other.subject_id, "re-linking moves the record to the new subject");
    let got = f.store.get(f.org, "activities", activity.id, Some(&["description"]), f.reader()).await.unwrap();
    assert_eq!(json_of(&got, "description"), json!("x"), "re-sealed under the new subject's key");
    let unlinked = f.create(f.org, "activities", json!({"subject": "Call", "activity_type": "call"})).await.unwrap();
    assert_eq!(unlinked.subject_id, None);
}

#[tokio::test]
async fn list_filters_by_a_searchable_field_and_related_lists_follow_lookups() {
    let f = Fixture::new().await;
    let account = f.create(f.org, "accounts", json!({"name": "Analytical Engines Ltd"})).await.unwrap();
    let mut with_account = ada();
    with_account["account"] = json!(account.id.to_string());
    let linked = f.create(f.org, "contacts", with_account).await.unwrap();
    f.create(f.org, "contacts", json!({"last_name": "Babbage", "email": "charles@example.com"})).await.unwrap();

    let by_email = Filter::Cmp {
        field: FieldRef::Custom("email".into()),
        op: Op::Eq,
        value: QueryValue::Text("ADA@example.com".into()),
    };
    let query = RecordQuery { filter: Some(by_email), ..Default::default() };
    let page = f.store.list(f.org, "contacts", &query, Some(&["last_name", "email"]), f.reader()).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(json_of(&page.records[0], "last_name"), json!("Lovelace"));
    let listed = f.audited("records.record.read").await;
    assert_eq!(listed.last().unwrap()["records"], json!([linked.id.to_string()]));

    let all = f.store.list(f.org, "contacts", &RecordQuery::default(), None, f.reader()).await.unwrap();
    assert_eq!(all.records.len(), 2);
    let related = f
        .store
        .list_related(f.org, "contacts", "account", account.id, &RecordQuery::default(), None, f.reader())
        .await
        .unwrap();
    assert_eq!(related.records.iter().map(|r| r.id).collect::<Vec<_>>(), vec![linked.id]);
    let n = f.store.count(f.org, "contacts", None, 10).await.unwrap();
    assert_eq!((n.value, n.capped), (2, false));
}

#[tokio::test]
async fn delete_hides_the_record_frees_its_unique_value_and_purge_removes_every_row() {
    let f = Fixture::new().await;
    let member = f.create(f.org, "members", json!({"name": "Ada", "email": "ada@example.com"})).await.unwrap();
    let member = f.update(f.org, "members", &member, json!({"name": "Ada L."}), &[]).await.unwrap();
    let before = f.rows().await;
    assert!(before[3] > 0, "history written");

    f.store.delete(f.org, "members", member.id, Some(member.version), f.actor.clone(), f.ctx.clone()).await.unwrap();
    assert_eq!(f.events("records.record.deleted").await.len(), 1);
    assert_eq!(f.audited("records.record.deleted").await, vec![json!({"module": "members"})]);
    let err = f.store.get(f.org, "members", member.id, None, f.reader()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    let page = f.store.list(f.org, "members", &RecordQuery::default(), None, f.reader()).await.unwrap();
    assert!(page.records.is_empty());
    let again = f.create(f.org, "members", json!({"name": "Ada 2", "email": "ADA@example.com"})).await;
    assert!(again.is_ok(), "the deleted record's unique value is free");

    let id = member.id.as_uuid();
    let tables = [
        ("record", "id"),
        ("record_index", "record_id"),
        ("record_unique", "record_id"),
        ("record_history", "record_id"),
    ];
    let mut kept_until_purge = Vec::new();
    for (table, column) in tables {
        kept_until_purge.push(f.count_with(table, column, id).await);
    }
    // The unique claim went with the delete; the row, its index and its history wait for the purge.
    assert!(kept_until_purge[0] == 1 && kept_until_purge[1] > 0 && kept_until_purge[2] == 0 && kept_until_purge[3] > 0);

    f.clock.advance(chrono::Duration::seconds(10));
    let cutoff = listone_core::Clock::now(&f.clock);
    let purged = f.store.purge_deleted(f.org, cutoff, f.actor.clone(), f.ctx.clone()).await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(f.audited("records.record.purged").await[0]["purged"], json!(1));
    for (table, column) in tables {
        assert_eq!(f.count_with(table, column, id).await, 0, "{table}");
    }
}

#[tokio::test]
async fn maintenance_purges_every_org_in_batches_and_only_past_the_grace_period() {
    let f = Fixture::new().await;
    let store = f.store.clone().with_purge_batch(2);
    let mut doomed = Vec::new();
    for (org, n) in [(f.org, 3), (f.other_org, 2)] {
        for i in 0..n {
            let r = f.create(org, "members", json!({"name": format!("R{i}")})).await.unwrap();
            store.delete(org, "members", r.id, Some(r.version), f.actor.clone(), f.ctx.clone()).await.unwrap();
            doomed.push(r.id);
        }
    }
    f.clock.advance(chrono::Duration::seconds(10));
    let cutoff = listone_core::Clock::now(&f.clock);
    // Deleted after the cutoff: still inside its grace period.
    let young = f.create(f.org, "members", json!({"name": "Young"})).await.unwrap();
    f.clock.advance(chrono::Duration::seconds(1));
    store.delete(f.org, "members", young.id, Some(young.version), f.actor.clone(), f.ctx.clone()).await.unwrap();
    let live = f.create(f.org, "members", json!({"name": "Live"})).await.unwrap();

    assert_eq!(store.purge_all_deleted(cutoff).await.unwrap(), 5);
    // Three records in batches of two: two audited transactions in the first org.
    let batches: Vec<i64> =
        f.audited("records.record.purged").await.iter().map(|d| d["purged"].as_i64().unwrap()).collect();
    assert_eq!(batches.iter().sum::<i64>(), 5);
    assert_eq!(batches.len(), 3, "{batches:?}");
    for id in doomed {
        assert_eq!(f.count_with("record", "id", id.as_uuid()).await, 0);
    }
    for kept in [young.id, live.id] {
        assert_eq!(f.count_with("record", "id", kept.as_uuid()).await, 1);
    }
    assert_eq!(store.purge_all_deleted(cutoff).await.unwrap(), 0, "nothing left to purge");
}

#[tokio::test]
async fn bulk_create_and_update_write_all_or_nothing() {
    let f = Fixture::new().await;
    let batch = vec![object(json!({"name": "A", "email": "a@example.com"})), object(json!({"name": "B"}))];
    let created = f
        .store
        .bulk_create(f.org, "members", batch, owner(), f.actor.clone(), f.ctx.clone(), ChangeSource::Import)
        .await
        .unwrap();
    assert_eq!(created.len(), 2);
    let before = f.rows().await;
    let bad = vec![object(json!({"name": "C"})), object(json!({"name": "D", "email": "A@example.com"}))];
    let err = f
        .store
        .bulk_create(f.org, "members", bad, owner(), f.actor.clone(), f.ctx.clone(), ChangeSource::Import)
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::AlreadyExists { field, .. } if field == "records[1].fields.email"), "{err:?}");
    assert_eq!(f.rows().await, before, "nothing of the batch written");
    let bad =
        vec![object(json!({"email": "not an email"})), object(json!({"name": "fine"})), object(json!({"name": 7}))];
    let err = f
        .store
        .bulk_create(f.org, "members", bad, owner(), f.actor.clone(), f.ctx.clone(), ChangeSource::Import)
        .await
        .unwrap_err();
    let Error::InvalidArgument { violations } = &err else { panic!("{err:?}") };
    let mut paths: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["records[0].fields.email", "records[0].fields.name", "records[2].fields.name"]);
    assert_eq!(f.rows().await, before, "every bad record reported at once, nothing written");

    let updates = created
        .iter()
        .map(|r| BulkUpdate {
            id: r.id,
            changes: object(json!({"name": "renamed"})),
            field_mask: vec![],
            expected_version: r.version,
        })
        .collect();
    let updated = f
        .store
        .bulk_update(f.org, "members", updates, f.actor.clone(), f.ctx.clone(), ChangeSource::Api)
        .await
        .unwrap();
    assert!(updated.iter().all(|r| r.version == 2));
    let missing = vec![BulkUpdate {
        id: RecordId::new(),
        changes: object(json!({"name": "x"})),
        field_mask: vec![],
        expected_version: 1,
    }];
    let err = f.store.bulk_update(f.org, "members", missing, f.actor.clone(), f.ctx.clone(), ChangeSource::Api).await;
    assert!(matches!(err, Err(Error::NotFound { .. })));
    let bad = |r: &StoredRecord, name: Json| BulkUpdate {
        id: r.id,
        changes: object(json!({ "name": name })),
        field_mask: vec![],
        expected_version: r.version,
    };
    let before = f.rows().await;
    let both = vec![bad(&updated[0], json!(1)), bad(&updated[1], json!(""))];
    let err = f.store.bulk_update(f.org, "members", both, f.actor.clone(), f.ctx.clone(), ChangeSource::Api).await;
    let Err(Error::InvalidArgument { violations }) = &err else { panic!("{err:?}") };
    let paths: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(paths, ["records[0].fields.name", "records[1].fields.name"]);
    assert_eq!(f.rows().await, before);
}

#[tokio::test]
async fn a_read_after_a_definition_change_uses_the_new_definition() {
    let f = Fixture::new().await;
    let member = f.create(f.org, "members", json!({"name": "Ada", "email": "ada@example.com"})).await.unwrap();
    let first = f.store.get(f.org, "members", member.id, None, f.reader()).await.unwrap();
    assert!(!first.fields.fields.contains_key("nickname"));
    let unknown = f.store.get(f.org, "members", member.id, Some(&["nickname"]), f.reader()).await.unwrap_err();
    assert!(matches!(unknown, Error::InvalidArgument { .. }), "{unknown:?}");

    let mut changed = support::members();
    changed.fields.push(FieldDef::new("nickname", "Nickname", FieldType::Text));
    f.modules.update_module(f.org, "members", changed, 1, f.actor.clone(), f.ctx.clone()).await.unwrap();

    let read = f.store.get(f.org, "members", member.id, Some(&["nickname", "name"]), f.reader()).await.unwrap();
    // With the cached first definition this read would be INVALID_ARGUMENT (unknown field).
    assert!(read.fields.fields.contains_key("name"), "the field added since the last read is known at once");
    let missing = f.store.get(f.org, "no_such_module", member.id, None, f.reader()).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { resource: "module" }), "{missing:?}");
}

#[tokio::test]
async fn delete_without_an_expected_version_deletes_whatever_the_version() {
    let f = Fixture::new().await;
    let member = f.create(f.org, "members", json!({"name": "Ada", "email": "ada@example.com"})).await.unwrap();
    let changed = f.update(f.org, "members", &member, json!({"name": "Ada L."}), &[]).await.unwrap();
    assert_eq!(changed.version, 2);
    let stale = f.store.delete(f.org, "members", member.id, Some(1), f.actor.clone(), f.ctx.clone()).await;
    assert!(matches!(stale, Err(Error::Aborted { .. })), "a stale expected version is still refused");
    f.store.delete(f.org, "members", member.id, None, f.actor.clone(), f.ctx.clone()).await.unwrap();
    let gone = f.store.get(f.org, "members", member.id, None, f.reader()).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { resource: "record" }));
    let again = f.store.delete(f.org, "members", member.id, None, f.actor.clone(), f.ctx.clone()).await.unwrap_err();
    assert!(matches!(again, Error::NotFound { resource: "record" }), "a deleted record is not deleted twice");
}

#[tokio::test]
async fn a_history_page_opens_and_audits_only_the_changes_it_returns() {
    let f = Fixture::new().await;
    let created = f.create(f.org, "contacts", ada()).await.unwrap();
    let first = f.update(f.org, "contacts", &created, json!({"notes": "wrote the first program"}), &[]).await.unwrap();
    let account = f.create(f.org, "accounts", json!({"name": "Analytical Engines Ltd"})).await.unwrap();
    f.update(f.org, "contacts", &first, json!({"account": account.id.to_string()}), &[]).await.unwrap();
    let reads_before = f.audited("records.record.read").await.len();

    let page = |skip| HistoryPage { skip, size: 1 };
    let (oldest, more) = f.store.history(f.org, "contacts", created.id, page(0), f.reader()).await.unwrap();
    assert_eq!((oldest.len(), more), (1, true));
    assert_eq!(oldest[0].field, "notes");
    let reads = f.audited("records.record.read").await;
    assert_eq!(reads.len(), reads_before + 1);
    assert_eq!(reads.last().unwrap()["fields"], json!(["notes"]), "the page's personal fields only");

    let (newest, more) = f.store.history(f.org, "contacts", created.id, page(1), f.reader()).await.unwrap();
    assert_eq!((newest.len(), more), (1, false));
    assert_eq!(newest[0].field, "account");
    let reads = f.audited("records.record.read").await.len();
    assert_eq!(reads, reads_before + 1, "a change of a field without personal data is no personal read");
    let (past_the_end, more) = f.store.history(f.org, "contacts", created.id, page(5), f.reader()).await.unwrap();
    assert!(past_the_end.is_empty() && !more);
}
