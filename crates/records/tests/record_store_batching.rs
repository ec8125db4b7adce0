//! Concurrent creates through the create batcher (group commit): each call gets its own outcome
//! exactly as without batching, and what committed is complete and readable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use listone_core::Error;
use listone_records::{ChangeSource, Decoded, RecordStore, StoredRecord};
use serde_json::{Value as Json, json};
use support::{Fixture, object, owner};
use tokio::task::JoinSet;

async fn create_all(
    f: &Fixture,
    store: &RecordStore,
    inputs: Vec<(&'static str, Json)>,
) -> Vec<Result<StoredRecord, Error>> {
    let mut calls = JoinSet::new();
    for (position, (module, values)) in inputs.into_iter().enumerate() {
        let (store, org, actor, ctx) = (store.clone(), f.org, f.actor.clone(), f.ctx.clone());
        calls.spawn(async move {
            let created = store.create(org, module, object(values), owner(), actor, ctx, ChangeSource::Api).await;
            (position, created)
        });
    }
    let mut outcomes: Vec<Option<Result<StoredRecord, Error>>> = Vec::new();
    while let Some(joined) = calls.join_next().await {
        let (position, created) = joined.unwrap();
        if outcomes.len() <= position {
            outcomes.resize_with(position + 1, || None);
        }
        outcomes[position] = Some(created);
    }
    outcomes.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn concurrent_creates_commit_together_and_each_refusal_stays_its_own() {
    let f = Fixture::new().await;
    let store = f.store.clone().with_create_batching();
    let mut inputs: Vec<(&'static str, Json)> = (0..20)
        .map(|n| ("members", json!({"name": format!("Member {n}"), "email": format!("m{n}@example.com")})))
        .collect();
    inputs.push(("members", json!({"name": "Bad", "email": "not an email"})));
    inputs.push(("no_such_module", json!({})));
    inputs.push(("contacts", json!({"last_name": "Lovelace", "email": "ada@example.com"})));
    let nowhere = listone_core::RecordId::new().to_string();
    inputs.push(("contacts", json!({"last_name": "Babbage", "account": nowhere})));
    let outcomes = create_all(&f, &store, inputs).await;

    let created: Vec<&StoredRecord> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(created.len(), 21, "every valid create committed");
    assert!(
        matches!(&outcomes[20], Err(Error::InvalidArgument { violations }) if violations[0].field == "fields.email")
    );
    assert!(matches!(&outcomes[21], Err(Error::NotFound { resource: "module" })));
    assert!(matches!(&outcomes[23], Err(Error::ReferenceNotFound { field, .. }) if field == "fields.account"));
    let members = f.count("SELECT COUNT(*) AS n FROM record").await;
    assert_eq!(members, 21, "refused creates wrote nothing");
    // Each subject got its own stored key; refused creates left none behind.
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM subject_key").await, 21);
    for record in created {
        let module = if record.fields.fields.contains_key("last_name") { "contacts" } else { "members" };
        let read = f.store.get(f.org, module, record.id, None, f.reader()).await.unwrap();
        assert_eq!(read.fields.fields.get("email"), record.fields.fields.get("email"), "sealed values open");
        assert!(matches!(read.fields.fields.get("email"), Some(Decoded::Value(_))));
    }
    // Created events and audit entries: two outbox events per record.
    let events = f.count("SELECT COUNT(*) AS n FROM outbox_event WHERE topic = 'records.record.created'").await;
    assert_eq!(events, 21);
}

#[tokio::test]
async fn two_concurrent_creates_of_one_unique_value_give_one_record_and_one_already_exists() {
    let f = Fixture::new().await;
    let store = f.store.clone().with_create_batching();
    let mut inputs: Vec<(&'static str, Json)> = (0..6)
        .map(|n| ("members", json!({"name": format!("Member {n}"), "email": format!("m{n}@example.com")})))
        .collect();
    inputs.push(("members", json!({"name": "Ada", "email": "ada@example.com"})));
    inputs.push(("members", json!({"name": "Imposter", "email": "ADA@example.com"})));
    let outcomes = create_all(&f, &store, inputs).await;

    assert!(outcomes[..6].iter().all(Result::is_ok), "the rest of the batch still commits");
    let duplicates = &outcomes[6..];
    assert_eq!(duplicates.iter().filter(|o| o.is_ok()).count(), 1, "{duplicates:?}");
    let refused = duplicates.iter().find_map(|o| o.as_ref().err()).unwrap();
    assert!(matches!(refused, Error::AlreadyExists { field, .. } if field == "fields.email"), "{refused:?}");
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM record").await, 7);
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM record_unique").await, 7);
    assert_eq!(f.count("SELECT COUNT(*) AS n FROM subject_key").await, 7);
}
