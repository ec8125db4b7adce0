//! The record store's refusals: bad input reported field by field with nothing written,
//! duplicates of unique values, stale versions, lookups and reads across tenants, and no
//! plaintext of protected values in any record table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use listone_core::{Error, RecordId};
use listone_records::Decoded;
use serde_json::json;
use support::{ALL_HISTORY, Fixture, violation_fields};

#[tokio::test]
async fn every_bad_field_is_reported_at_once_and_nothing_is_written() {
    let f = Fixture::new().await;
    let before = f.rows().await;
    let err = f
        .create(
            f.org,
            "contacts",
            json!({
                "first_name": 42,
                "job_title": "x".repeat(300),
                "email": "not an email",
                "phone": "call me maybe",
                "colour": "red",
            }),
        )
        .await
        .unwrap_err();
    let mut fields = violation_fields(&err);
    fields.sort();
    let expected =
        ["fields.colour", "fields.email", "fields.first_name", "fields.job_title", "fields.last_name", "fields.phone"];
    assert_eq!(fields, expected);
    let err = f.create(f.org, "accounts", json!({"name": "A", "website": "not a url", "industry": "mining"})).await;
    assert_eq!(violation_fields(&err.unwrap_err()), vec!["fields.website", "fields.industry"]);
    assert_eq!(f.rows().await, before);
    let err = f.create(f.org, "no_such_module", json!({})).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "module" }));
}

#[tokio::test]
async fn a_duplicate_unique_value_is_already_exists_whatever_its_case() {
    let f = Fixture::new().await;
    let first = f.create(f.org, "members", json!({"name": "Ada", "email": "ada@example.com"})).await.unwrap();
    let before = f.rows().await;
    let err = f.create(f.org, "members", json!({"name": "Imposter", "email": "ADA@Example.COM"})).await.unwrap_err();
    assert!(matches!(&err, Error::AlreadyExists { field, .. } if field == "fields.email"), "{err:?}");
    assert_eq!(f.rows().await, before);

    let other = f.create(f.org, "members", json!({"name": "Bob", "email": "bob@example.com"})).await.unwrap();
    let err = f.update(f.org, "members", &other, json!({"email": "Ada@example.com"}), &[]).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }));
    // Another org may hold the same value.
    f.create(f.other_org, "members", json!({"name": "Ada", "email": "ada@example.com"})).await.unwrap();
    // A record keeps its own value across updates.
    f.update(f.org, "members", &first, json!({"name": "Ada L.", "email": "ada@example.com"}), &[]).await.unwrap();
}

#[tokio::test]
async fn a_stale_version_is_aborted_and_writes_nothing() {
    let f = Fixture::new().await;
    let read = f.create(f.org, "accounts", json!({"name": "A"})).await.unwrap();
    f.update(f.org, "accounts", &read, json!({"name": "B"}), &[]).await.unwrap();
    let before = f.rows().await;
    let err = f.update(f.org, "accounts", &read, json!({"name": "C"}), &[]).await.unwrap_err();
    assert!(matches!(err, Error::Aborted { reason: "STALE_VERSION", .. }));
    let err = f.store.delete(f.org, "accounts", read.id, Some(read.version), f.actor.clone(), f.ctx.clone()).await;
    assert!(matches!(err, Err(Error::Aborted { reason: "STALE_VERSION", .. })));
    assert_eq!(f.rows().await, before);
}

#[tokio::test]
async fn a_lookup_to_another_orgs_or_a_missing_record_is_not_found() {
    let f = Fixture::new().await;
    let foreign = f.create(f.other_org, "accounts", json!({"name": "Theirs"})).await.unwrap();
    let before = f.rows().await;
    for target in [foreign.id, RecordId::new()] {
        let err =
            f.create(f.org, "contacts", json!({"last_name": "L", "account": target.to_string()})).await.unwrap_err();
        assert!(
            matches!(&err, Error::ReferenceNotFound { resource: "record", field } if field == "fields.account"),
            "{err:?}"
        );
    }
    // A record of the wrong module is no target either.
    let contact = f.create(f.org, "contacts", json!({"last_name": "L"})).await.unwrap();
    let before_wrong = f.rows().await;
    let err = f.create(f.org, "deals", json!({"name": "D", "account": contact.id.to_string()})).await.unwrap_err();
    assert!(matches!(&err, Error::ReferenceNotFound { field, .. } if field == "fields.account"), "{err:?}");
    assert_eq!(f.rows().await, before_wrong);
    assert!(before[0] < before_wrong[0]);
}

#[tokio::test]
async fn another_orgs_record_cannot_be_read_changed_or_deleted() {
    let f = Fixture::new().await;
    let theirs = f.create(f.other_org, "contacts", json!({"last_name": "Secret"})).await.unwrap();
    let before = f.rows().await;
    let err = f.store.get(f.org, "contacts", theirs.id, None, f.reader()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "record" }));
    let err = f.update(f.org, "contacts", &theirs, json!({"last_name": "Mine"}), &[]).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "record" }));
    let err = f.store.delete(f.org, "contacts", theirs.id, Some(1), f.actor.clone(), f.ctx.clone()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "record" }));
    let err = f.store.history(f.org, "contacts", theirs.id, ALL_HISTORY, f.reader()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    assert_eq!(f.rows().await, before);
    // The wrong module of the right org is not found either.
    let err = f.store.get(f.other_org, "leads", theirs.id, None, f.reader()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { resource: "record" }));
}

#[tokio::test]
async fn no_record_table_holds_plaintext_of_protected_values() {
    let f = Fixture::new().await;
    let contact = f
        .create(
            f.org,
            "contacts",
            json!({
                "last_name": "Lovelace",
                "email": "ada.secret@example.com",
                "phone": "+44 20 7946 0958",
                "notes": "penicillin allergy",
                "address": "12 St James's Square",
            }),
        )
        .await
        .unwrap();
    f.update(
        f.org,
        "contacts",
        &contact,
        json!({"notes": "tuberculosis history", "email": "ada.other@example.com"}),
        &[],
    )
    .await
    .unwrap();
    f.create(f.org, "members", json!({"name": "M", "email": "member.secret@example.com"})).await.unwrap();
    let dump = f.raw_dump().await;
    assert!(dump.contains("Lovelace"), "plain fields are stored as is");
    for secret in ["ada.secret", "ada.other", "member.secret", "7946", "penicillin", "tuberculosis", "St James"] {
        assert!(!dump.to_lowercase().contains(&secret.to_lowercase()), "{secret} leaked");
    }
    let events = f.events("records.record.updated").await;
    assert!(!events[0].to_string().contains("tuberculosis"), "events carry ids and keys only");
}

#[tokio::test]
async fn an_erased_subjects_record_reads_as_erased_and_cannot_be_changed() {
    let f = Fixture::new().await;
    let contact = f
        .create(f.org, "contacts", json!({"last_name": "Gone", "notes": "sealed", "email": "gone@example.com"}))
        .await
        .unwrap();
    f.keys.destroy_subject_key(f.db.conn(), f.org, contact.subject_id.unwrap()).await.unwrap();
    let got = f.store.get(f.org, "contacts", contact.id, None, f.reader()).await.unwrap();
    assert_eq!(got.fields.get("notes"), Some(&Decoded::Erased));
    assert_eq!(got.fields.get("email"), Some(&Decoded::Erased));
    let err = f.update(f.org, "contacts", &contact, json!({"last_name": "Back"}), &[]).await.unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition { reason: "SUBJECT_ERASED", .. }), "{err:?}");
}
