//! Verification detects every kind of tampering, at the entry where it happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use listone_core::{Clock, OrgId};
use listone_testkit::TestServer;
use sea_orm::{ConnectionTrait, Value};
use support::*;

async fn log_of(n: usize) -> (TestServer, OrgId) {
    let server = TestServer::start().await;
    let org = OrgId::new();
    checkpoint_every(&server, org, 8).await;
    record_n(&server, org, n).await;
    wait_for_size(&server, org, n as u64).await;
    let report = verify(&server, org).await;
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.entries_checked, n as u64);
    (server, org)
}

fn org_v(org: OrgId) -> Value {
    Value::from(org.as_uuid())
}

#[tokio::test]
async fn altering_one_byte_of_one_entry_fails_verification_at_exactly_that_entry() {
    let (server, org) = log_of(24).await;
    // {"n":13} -> {"n":93}: one byte of the details column of entry 13.
    let changed =
        sql(&server, "UPDATE audit_entry SET details = '{\"n\":93}' WHERE org_id = $1 AND seq = 13", vec![org_v(org)])
            .await;
    assert_eq!(changed, 1);
    let report = verify(&server, org).await;
    assert_eq!(report.first_bad_seq, Some(13), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.kind == "entry_altered" && p.seq == Some(13)));
    server.shutdown().await;
}

#[tokio::test]
async fn altering_an_entry_and_its_leaf_hash_together_breaks_the_signed_root() {
    let (server, org) = log_of(16).await;
    sql(&server, "UPDATE audit_entry SET outcome = 'allowed' WHERE org_id = $1 AND seq = 4", vec![org_v(org)]).await;
    // Recompute the forged leaf and store it, as an attacker with SQL access would.
    let view = server.ctx().audit.get_entry(org, 4, false).await.unwrap();
    sql(
        &server,
        "UPDATE audit_node SET hash = $2 WHERE org_id = $1 AND level = 0 AND idx = 4",
        vec![org_v(org), Value::from(view.leaf_hash.to_vec())],
    )
    .await;
    let report = verify(&server, org).await;
    assert!(!report.is_valid());
    assert!(report.problems.iter().any(|p| p.kind == "root_mismatch"), "{:?}", report.problems);
    assert_eq!(report.first_bad_seq, Some(0), "the forgery is inside the first signed range [0, 8)");
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_an_entry_is_detected_at_its_position() {
    let (server, org) = log_of(20).await;
    sql(&server, "DELETE FROM audit_entry WHERE org_id = $1 AND seq = 9", vec![org_v(org)]).await;
    let report = verify(&server, org).await;
    assert_eq!(report.first_bad_seq, Some(9), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.kind == "entry_missing"));

    sql(&server, "DELETE FROM audit_entry WHERE org_id = $1 AND seq = 19", vec![org_v(org)]).await;
    let report = verify(&server, org).await;
    assert!(report.problems.iter().any(|p| p.kind == "entry_missing" && p.seq == Some(19)), "{:?}", report.problems);
    server.shutdown().await;
}

#[tokio::test]
async fn reordering_entries_is_detected_at_the_first_moved_entry() {
    let (server, org) = log_of(12).await;
    // Swap entries 5 and 6 by renumbering them.
    sql(&server, "UPDATE audit_entry SET seq = 1000 WHERE org_id = $1 AND seq = 5", vec![org_v(org)]).await;
    sql(&server, "UPDATE audit_entry SET seq = 5 WHERE org_id = $1 AND seq = 6", vec![org_v(org)]).await;
    sql(&server, "UPDATE audit_entry SET seq = 6 WHERE org_id = $1 AND seq = 1000", vec![org_v(org)]).await;
    let report = verify(&server, org).await;
    assert_eq!(report.first_bad_seq, Some(5), "{:?}", report.problems);
    server.shutdown().await;
}

#[tokio::test]
async fn inserting_an_entry_is_detected() {
    let (server, org) = log_of(10).await;
    // Copy entry 3 as a new entry 10 with a fresh event id.
    sql(
        &server,
        "INSERT INTO audit_entry (org_id, seq, event_id, occurred_at_us, recorded_at_us, actor_kind, actor_id, action, \
         resource_module, resource_id, outcome, request_id, source_ip, user_agent, purpose, personal_data, details, \
         subject_id, personal_digest, personal_sealed) \
         SELECT org_id, 10, $2, occurred_at_us, recorded_at_us, actor_kind, actor_id, action, resource_module, \
         resource_id, outcome, request_id, source_ip, user_agent, purpose, personal_data, details, subject_id, \
         personal_digest, personal_sealed FROM audit_entry WHERE org_id = $1 AND seq = 3",
        vec![org_v(org), Value::from(uuid::Uuid::now_v7())],
    )
    .await;
    let report = verify(&server, org).await;
    assert_eq!(report.first_bad_seq, Some(10), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.kind == "entry_beyond_head"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_forged_checkpoint_signature_is_detected() {
    let (server, org) = log_of(16).await;
    sql(
        &server,
        "UPDATE audit_checkpoint SET note = REPLACE(note, '\n16\n', '\n15\n') WHERE org_id = $1 AND size = 16",
        vec![org_v(org)],
    )
    .await;
    let report = verify(&server, org).await;
    assert!(report.problems.iter().any(|p| p.kind == "checkpoint_signature"), "{:?}", report.problems);
    server.shutdown().await;
}

/// `org`'s events in the outbox, oldest first, as the dispatcher hands them to the log.
async fn outbox_events(server: &TestServer, org: OrgId) -> Vec<listone_core::outbox::OutboxEvent> {
    let conn = server.ctx().db.conn();
    let stmt = listone_core::db::statement(
        conn.get_database_backend(),
        "SELECT id, topic, payload, created_at FROM outbox_event WHERE org_id = $1 ORDER BY id",
        [org_v(org)],
    );
    let rows = conn.query_all_raw(stmt).await.unwrap();
    rows.iter()
        .map(|row| listone_core::outbox::OutboxEvent {
            id: listone_core::EventId::from_uuid(row.try_get("", "id").unwrap()),
            org_id: Some(org),
            topic: row.try_get("", "topic").unwrap(),
            payload: row.try_get("", "payload").unwrap(),
            request_id: None,
            created_at: row.try_get("", "created_at").unwrap(),
        })
        .collect()
}

#[tokio::test]
async fn events_delivered_again_are_appended_once_beside_new_ones() {
    let (server, org) = log_of(5).await;
    let delivered = outbox_events(&server, org).await;
    assert_eq!(delivered.len(), 5);
    let fresh = server
        .ctx()
        .audit_recorder
        .prepare(server.ctx().db.conn(), event(&server, org, "records.record.update", 99))
        .await
        .unwrap();
    let fresh = listone_core::outbox::OutboxEvent {
        id: fresh.id,
        org_id: Some(org),
        topic: fresh.topic,
        payload: fresh.payload,
        request_id: None,
        created_at: server.clock().now(),
    };
    // At-least-once delivery: two events the log holds arrive again with a new one.
    let batch = [delivered[1].clone(), fresh.clone(), delivered[3].clone()];
    let report = server.ctx().audit.append(&batch).await.unwrap();
    assert_eq!((report.appended, report.duplicates), (1, 2));
    let again = server.ctx().audit.append(&[fresh]).await.unwrap();
    assert_eq!((again.appended, again.duplicates), (0, 1));
    assert_eq!(server.ctx().audit.head(org).await.unwrap().size, 6);
    let report = verify(&server, org).await;
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.entries_checked, 6);
}
