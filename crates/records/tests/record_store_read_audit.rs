//! Single-record reads through the read batcher with the read-audit batcher, as the server wires
//! them: on PostgreSQL a read whose audit entry can be stated ahead (module seen before, access
//! not decided by values) is written by the read's own statement, and only when the read finds
//! the record at the definition the entry was stated from. Whatever the path, every record read
//! is listed exactly once, and nothing is listed for a read that found nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use listone_audit::{AuditBatcher, AuditRecorder, BatcherConfig};
use listone_core::{Engine, RecordId, SharedClock};
use listone_customization::{ModuleStore, PersonalCategory, Protection};
use listone_records::RecordStore;
use serde_json::{Value as Json, json};
use support::{Fixture, get_all};

/// The store as the server wires it on its engine, and its audit batcher.
fn wired(f: &Fixture) -> (RecordStore, AuditBatcher) {
    let clock: SharedClock = Arc::new(f.clock.clone());
    let batcher = AuditBatcher::spawn(
        f.db.database().clone(),
        AuditRecorder::new(f.keys.clone(), clock),
        BatcherConfig::default(),
    );
    let store = f.store.clone().with_read_batching().with_read_audit(batcher.clone());
    (store, batcher)
}

/// How many times each record is listed by the read entries after the first `skip`, and with
/// which field lists.
fn listed(entries: &[Json], skip: usize) -> BTreeMap<String, Vec<Json>> {
    let mut listed: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for entry in &entries[skip..] {
        for item in entry["items"].as_array().expect("a grouped entry") {
            let id = item["record_id"].as_str().unwrap().to_owned();
            listed.entry(id).or_default().push(entry["fields"].clone());
        }
    }
    listed
}

async fn members(f: &Fixture, n: usize) -> Vec<RecordId> {
    let mut ids = Vec::new();
    for n in 0..n {
        let values = json!({"name": format!("Member {n}"), "email": format!("m{n}@example.com")});
        ids.push(f.create(f.org, "members", values).await.unwrap().id);
    }
    ids
}

#[tokio::test]
async fn every_record_read_is_listed_once_and_on_postgres_written_by_the_read_itself() {
    let f = Fixture::new().await;
    let (store, batcher) = wired(&f);
    let ids = members(&f, 8).await;
    // Creating parsed the module's definition, so even a first read can state its entry ahead.
    store.get(f.org, "members", ids[0], None, f.reader()).await.unwrap();
    let batched_before = batcher.stats().events;
    let before = f.audited("records.record.read").await.len();

    let asks: Vec<_> = ids.iter().map(|&id| (f.org, "members", id)).collect();
    let outcomes = get_all(&f, &store, &asks).await;
    assert!(outcomes.iter().all(Result::is_ok));

    let entries = f.audited("records.record.read").await;
    let listed = listed(&entries, before);
    let mut expected: Vec<String> = ids.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(listed.keys().cloned().collect::<Vec<_>>(), expected);
    for (id, lists) in &listed {
        assert_eq!(lists, &[json!(["email"])], "record {id} is listed once, with the personal field read");
    }
    // On PostgreSQL the reads wrote their entries themselves; elsewhere the batcher did.
    let through_batcher = batcher.stats().events - batched_before;
    match f.db.database().engine() {
        Engine::Postgres => assert_eq!(through_batcher, 0),
        Engine::Sqlite => assert_eq!(through_batcher, 8),
    }
}

#[tokio::test]
async fn a_read_that_finds_nothing_is_not_listed_and_its_batch_mates_still_are() {
    let f = Fixture::new().await;
    let (store, _batcher) = wired(&f);
    let ids = members(&f, 6).await;
    let theirs = f.create(f.other_org, "members", json!({"name": "T", "email": "t@example.com"})).await.unwrap();
    let gone = ids[5];
    f.store.delete(f.org, "members", gone, None, f.actor.clone(), f.ctx.clone()).await.unwrap();
    store.get(f.org, "members", ids[0], None, f.reader()).await.unwrap();
    let before = f.audited("records.record.read").await.len();

    let mut asks: Vec<_> = ids.iter().map(|&id| (f.org, "members", id)).collect();
    asks.push((f.org, "members", RecordId::new()));
    asks.push((f.org, "members", theirs.id)); // another org's record
    asks.push((f.org, "contacts", ids[1])); // a member asked as a contact
    let outcomes = get_all(&f, &store, &asks).await;
    let found: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
    assert_eq!(found, [true, true, true, true, true, false, false, false, false]);

    let entries = f.audited("records.record.read").await;
    let listed = listed(&entries, before);
    let mut expected: Vec<String> = ids[..5].iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(listed.keys().cloned().collect::<Vec<_>>(), expected);
    assert!(listed.values().all(|lists| lists.len() == 1), "{listed:?}");
}

#[tokio::test]
async fn a_definition_changed_elsewhere_is_audited_as_it_now_is() {
    let f = Fixture::new().await;
    let (store, _batcher) = wired(&f);
    let ids = members(&f, 4).await;
    store.get(f.org, "members", ids[0], None, f.reader()).await.unwrap();

    // Another server tags `name` as personal: this store's last known definition is stale.
    let clock: SharedClock = Arc::new(f.clock.clone());
    let elsewhere = ModuleStore::new(f.db.database().clone(), AuditRecorder::new(f.keys.clone(), clock.clone()), clock);
    let mut changed = support::members();
    changed.fields[0] = changed.fields[0].clone().tagged(PersonalCategory::Identity, Protection::Plain);
    elsewhere.update_module(f.org, "members", changed, 1, f.actor.clone(), f.ctx.clone()).await.unwrap();
    let before = f.audited("records.record.read").await.len();

    let asks: Vec<_> = ids.iter().map(|&id| (f.org, "members", id)).collect();
    assert!(get_all(&f, &store, &asks).await.iter().all(Result::is_ok));
    let entries = f.audited("records.record.read").await;
    let listed = listed(&entries, before);
    assert_eq!(listed.len(), ids.len());
    for (id, lists) in &listed {
        assert_eq!(lists, &[json!(["name", "email"])], "record {id}: the fields personal now, listed once");
    }
}
