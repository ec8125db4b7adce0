//! Concurrent single-record reads through the read batcher (one statement per batch): each call
//! gets exactly what it gets without batching — its own record, or NOT_FOUND for another org's
//! record, a record asked under another module, a deleted record or an unknown id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use listone_core::{Error, OrgId, RecordId};
use listone_records::StoredRecord;
use serde_json::json;
use support::{Fixture, get_all, json_of, user};

/// The fields of a read, as JSON.
fn values(record: &StoredRecord, keys: &[&str]) -> Vec<serde_json::Value> {
    keys.iter().map(|key| json_of(record, key)).collect()
}

#[tokio::test]
async fn batched_reads_answer_each_call_exactly_as_a_read_of_its_own() {
    let f = Fixture::new().await;
    let batching = f.store.clone().with_read_batching();
    let mut members = Vec::new();
    for n in 0..12 {
        let created =
            f.create(f.org, "members", json!({"name": format!("Member {n}"), "email": format!("m{n}@example.com")}));
        members.push(created.await.unwrap().id);
    }
    let contact =
        f.create(f.org, "contacts", json!({"last_name": "Lovelace", "email": "ada@example.com"})).await.unwrap();
    let theirs = f.create(f.other_org, "members", json!({"name": "Theirs", "email": "t@example.com"})).await.unwrap();
    let deleted = f.create(f.org, "members", json!({"name": "Gone", "email": "gone@example.com"})).await.unwrap();
    f.store.delete(f.org, "members", deleted.id, None, user(), f.ctx.clone()).await.unwrap();

    let mut asks: Vec<(OrgId, &'static str, RecordId)> = members.iter().map(|&id| (f.org, "members", id)).collect();
    asks.push((f.org, "members", members[0])); // the same record twice in one batch
    asks.push((f.org, "contacts", contact.id));
    asks.push((f.org, "members", contact.id)); // a contact asked as a member
    asks.push((f.org, "members", theirs.id)); // another org's record
    asks.push((f.other_org, "members", members[1])); // this org's record, asked by the other
    asks.push((f.other_org, "members", theirs.id));
    asks.push((f.org, "members", deleted.id));
    asks.push((f.org, "members", RecordId::new()));
    asks.push((f.org, "no_such_module", members[2]));

    // Spawned together on the test's single thread, the reads queue before the reader runs, so
    // they are served in batches; the store without a batcher answers each on its own.
    let batched = get_all(&f, &batching, &asks).await;
    let alone = get_all(&f, &f.store, &asks).await;
    for (position, (b, a)) in batched.iter().zip(&alone).enumerate() {
        match (b, a) {
            (Ok(b), Ok(a)) => {
                assert_eq!((b.id, b.version, b.module_id, b.subject_id), (a.id, a.version, a.module_id, a.subject_id));
                let keys: &[&str] =
                    if b.fields.get("last_name").is_some() { &["last_name", "email"] } else { &["name", "email"] };
                assert_eq!(values(b, keys), values(a, keys), "read {position} opens the same values");
            }
            (Err(b), Err(a)) => assert_eq!(format!("{b:?}"), format!("{a:?}"), "read {position} is refused alike"),
            _ => panic!(
                "read {position}: batched {:?} but alone {:?}",
                b.as_ref().map(|r| r.id),
                a.as_ref().map(|r| r.id)
            ),
        }
    }
    let found: Vec<bool> = batched.iter().map(Result::is_ok).collect();
    let expected: Vec<bool> = (0..asks.len()).map(|p| p <= 13 || p == 17).collect();
    assert_eq!(found, expected);
    assert_eq!(json_of(batched[12].as_ref().unwrap(), "name"), json!("Member 0"));
    assert_eq!(json_of(batched[17].as_ref().unwrap(), "name"), json!("Theirs"));
    for refused in [14, 15, 16, 18, 19] {
        assert!(matches!(&batched[refused], Err(Error::NotFound { resource: "record" })), "read {refused}");
    }
    assert!(matches!(&batched[20], Err(Error::NotFound { resource: "module" })));
}

#[tokio::test]
async fn batched_reads_are_audited_like_reads_of_their_own() {
    let f = Fixture::new().await;
    let batching = f.store.clone().with_read_batching();
    let mut asks = Vec::new();
    for n in 0..8 {
        let created =
            f.create(f.org, "members", json!({"name": format!("M {n}"), "email": format!("a{n}@example.com")}));
        asks.push((f.org, "members", created.await.unwrap().id));
    }
    let before = f.audited("records.record.read").await.len();
    let outcomes = get_all(&f, &batching, &asks).await;
    assert!(outcomes.iter().all(Result::is_ok));
    // Without the audit batcher every personal read has an entry of its own, batched or not.
    let entries = f.audited("records.record.read").await;
    assert_eq!(entries.len() - before, asks.len());
}
