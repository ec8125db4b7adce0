//! The log over time: erasure destroys personal details without breaking a proof, retention
//! prunes down to a signed anchor that keeps the log verifiable, and detection rules raise
//! incidents once per window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use listone_audit::entry::{ActorKind, AuditActor, AuditEvent, Outcome, RequestContext};
use listone_audit::merkle::verify_inclusion;
use listone_audit::store::query::PersonalDetailsView;
use listone_core::{Clock, Error, OrgId, SubjectId};
use listone_proto::audit::v1 as pb;
use listone_testkit::{TestServer, authed};
use sea_orm::ConnectionTrait;
use support::*;

#[tokio::test]
async fn erasure_destroys_personal_details_and_every_proof_still_verifies() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    checkpoint_every(&server, org, 4).await;
    let subject = SubjectId::new();
    let email_change = serde_json::json!({ "field": "email", "old": "alice@example.com", "new": "alice@corp.example" });
    let events = (0..8)
        .map(|i| {
            let e = event(&server, org, "records.record.update", i);
            if i == 2 { e.with_personal_details(subject, email_change.clone()) } else { e }
        })
        .collect();
    record_all(&server, events).await;
    wait_for_size(&server, org, 8).await;

    // The sealed details are nowhere in plain text: not in the outbox, not in the log.
    for table in ["outbox_event", "audit_entry"] {
        let conn = server.ctx().db.conn();
        let stmt = listone_core::db::statement(conn.get_database_backend(), &format!("SELECT * FROM {table}"), []);
        let rows = conn.query_all_raw(stmt).await.unwrap();
        assert!(!format!("{rows:?}").contains("alice@example.com"), "plaintext in {table}");
    }

    let token = auditor(&server, org);
    let mut audit = client(&server);
    let revealed = audit
        .get_entry(authed(pb::GetEntryRequest { seq: 2, include_personal: true }, &token))
        .await
        .unwrap()
        .into_inner();
    let entry = revealed.entry.unwrap();
    assert!(entry.personal_details_json.contains("alice@example.com"));
    let proof_before = server.ctx().audit.inclusion_proof(org, 2, Some(8)).await.unwrap();

    // Erase the subject: destroy the key and drop the sealed bytes, in one transaction.
    let ctx = server.ctx();
    let txn = ctx.db.begin().await.unwrap();
    assert!(ctx.keyring.destroy_subject_key(&txn, org, subject).await.unwrap());
    assert_eq!(ctx.audit.erase_personal_details(&txn, org, subject).await.unwrap(), 1);
    txn.commit().await.unwrap();

    let after = audit
        .get_entry(authed(pb::GetEntryRequest { seq: 2, include_personal: true }, &token))
        .await
        .unwrap()
        .into_inner();
    let entry = after.entry.unwrap();
    assert!(entry.personal_details_erased);
    assert!(entry.personal_details_json.is_empty());
    assert!(!entry.personal_digest.is_empty(), "the committed digest stays");
    let view = ctx.audit.get_entry(org, 2, true).await.unwrap();
    assert!(matches!(view.personal, PersonalDetailsView::Erased));

    let proof_after = ctx.audit.inclusion_proof(org, 2, Some(8)).await.unwrap();
    assert_eq!(proof_after, proof_before, "erasure changes no leaf and no proof");
    verify_inclusion(&proof_after.leaf_hash, 2, 8, &proof_after.proof, &proof_after.checkpoint.root).unwrap();
    let report = verify(&server, org).await;
    assert!(report.is_valid(), "{:?}", report.problems);
    server.shutdown().await;
}

#[tokio::test]
async fn retention_prunes_to_a_signed_anchor_and_the_log_stays_verifiable() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    checkpoint_every(&server, org, 5).await;
    let audit = &server.ctx().audit;
    let mut settings = audit.settings(org).await.unwrap();
    settings.retention_days = 30;
    audit.save_settings(server.ctx().db.conn(), org, &settings, settings.version).await.unwrap();

    record_n(&server, org, 10).await; // old entries 0..10, checkpoints at 5 and 10
    wait_for_size(&server, org, 10).await;
    server.clock().advance(chrono::Duration::days(31));
    record_n(&server, org, 10).await; // young entries 10..20, checkpoints at 15 and 20
    wait_for_size(&server, org, 20).await;

    let report = audit.prune(org).await.unwrap();
    assert_eq!(report.anchor_size, Some(10), "the newest checkpoint with only expired entries before it");
    assert_eq!(report.pruned_entries, 10);
    let head = audit.head(org).await.unwrap();
    assert_eq!(head.anchor_size, 10);

    assert!(audit.get_entry(org, 9, false).await.is_err());
    audit.get_entry(org, 10, false).await.unwrap();

    let verified = verify(&server, org).await;
    assert!(verified.is_valid(), "{:?}", verified.problems);
    assert_eq!(verified.anchor_size, 10);

    // Proofs after the anchor still work; before it they are refused with a reason.
    let proof = audit.inclusion_proof(org, 13, Some(20)).await.unwrap();
    verify_inclusion(&proof.leaf_hash, 13, 20, &proof.proof, &proof.checkpoint.root).unwrap();
    let consistency = audit.consistency_proof(org, 10, Some(20)).await.unwrap();
    listone_audit::merkle::verify_consistency(10, 20, &consistency.from.root, &consistency.to.root, &consistency.proof)
        .unwrap();
    assert!(consistency.from.is_anchor);
    let Err(Error::FailedPrecondition { reason, .. }) = audit.inclusion_proof(org, 3, Some(20)).await else {
        panic!("pruned entries have no proof")
    };
    assert_eq!(reason, "PRUNED");
    // The prune itself is in the log.
    wait_for_size(&server, org, 21).await;
    assert_eq!(audit.get_entry(org, 20, false).await.unwrap().entry.action, "audit.log.pruned");
    // Nothing more to prune today.
    assert_eq!(audit.prune(org).await.unwrap().pruned_entries, 0);
    let verified = verify(&server, org).await;
    assert!(verified.is_valid(), "{:?}", verified.problems);
    server.shutdown().await;
}

fn failed_signin(server: &TestServer, org: OrgId, account: &str, ip: &str) -> AuditEvent {
    AuditEvent::new(
        org,
        AuditActor { kind: ActorKind::System, id: None },
        "identity.signin",
        Outcome::Failed,
        server.clock().now(),
    )
    .with_resource("identity.user", Some(account.to_owned()))
    .with_context(RequestContext { request_id: None, source_ip: Some(ip.to_owned()), user_agent: None })
}

#[tokio::test]
async fn repeated_failed_signins_raise_one_incident_per_account_and_per_ip() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let audit = &server.ctx().audit;
    let mut settings = audit.settings(org).await.unwrap();
    settings.failed_signins_per_ip = 6;
    audit.save_settings(server.ctx().db.conn(), org, &settings, settings.version).await.unwrap();

    // 4 failures on one account: below the default threshold of 5.
    record_all(&server, (0..4).map(|_| failed_signin(&server, org, "acct-1", "198.51.100.7")).collect()).await;
    wait_for_size(&server, org, 4).await;
    assert!(audit.list_incidents(org, 10, "").await.unwrap().0.is_empty());
    // The 5th crosses it; the 6th from the same IP crosses the IP threshold.
    record_all(&server, vec![failed_signin(&server, org, "acct-1", "198.51.100.7")]).await;
    record_all(&server, vec![failed_signin(&server, org, "acct-2", "198.51.100.7")]).await;
    wait_for_size(&server, org, 6).await;
    let (incidents, _) = audit.list_incidents(org, 10, "").await.unwrap();
    let mut rules: Vec<_> = incidents.iter().map(|i| (i.rule.as_str(), i.key.as_str(), i.count)).collect();
    rules.sort();
    assert_eq!(rules, [("failed_signins_account", "acct-1", 5), ("failed_signins_ip", "198.51.100.7", 6)]);

    // More failures inside the window add no duplicate incident.
    record_all(&server, (0..3).map(|_| failed_signin(&server, org, "acct-1", "198.51.100.7")).collect()).await;
    wait_for_size(&server, org, 9).await;
    assert_eq!(audit.list_incidents(org, 10, "").await.unwrap().0.len(), 2);

    // Failures spread beyond the window do not add up.
    let other = OrgId::new();
    for _ in 0..6 {
        record_all(&server, vec![failed_signin(&server, other, "acct-9", "203.0.113.1")]).await;
        server.clock().advance(chrono::Duration::minutes(4));
    }
    wait_for_size(&server, other, 6).await;
    assert!(audit.list_incidents(other, 10, "").await.unwrap().0.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn one_actor_reading_personal_data_above_the_threshold_raises_an_incident() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let audit = &server.ctx().audit;
    let mut settings = audit.settings(org).await.unwrap();
    settings.personal_data_reads_per_actor = 10;
    audit.save_settings(server.ctx().db.conn(), org, &settings, settings.version).await.unwrap();
    let read = |n: usize| {
        AuditEvent::new(
            org,
            AuditActor { kind: ActorKind::User, id: Some("bulk-reader".into()) },
            "records.record.read",
            Outcome::Allowed,
            server.clock().now(),
        )
        .with_resource("contacts", Some(format!("c{n}")))
        .with_personal_data("sales")
    };
    record_all(&server, (0..9).map(read).collect()).await;
    wait_for_size(&server, org, 9).await;
    assert!(audit.list_incidents(org, 10, "").await.unwrap().0.is_empty());
    record_all(&server, (9..12).map(read).collect()).await;
    wait_for_size(&server, org, 12).await;
    let (incidents, _) = audit.list_incidents(org, 10, "").await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!((incidents[0].rule.as_str(), incidents[0].key.as_str()), ("personal_data_volume", "bulk-reader"));
    let token = auditor(&server, org);
    let listed =
        client(&server).list_incidents(authed(pb::ListIncidentsRequest::default(), &token)).await.unwrap().into_inner();
    assert_eq!(listed.incidents.len(), 1);
    assert_eq!(listed.incidents[0].status, "open");
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_or_malformed_events_are_refused_and_nothing_is_written() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let ctx = server.ctx();
    let txn = ctx.db.begin().await.unwrap();
    let big =
        event(&server, org, "records.record.update", 0).with_details(serde_json::json!({ "x": "y".repeat(20_000) }));
    let Err(Error::InvalidArgument { violations }) = ctx.audit_recorder.record(&txn, big).await else {
        panic!("oversized details must be refused")
    };
    assert_eq!(violations[0].field, "details");
    let mut bad = event(&server, org, "Records Read!", 0);
    bad.context.source_ip = Some("999.1.1.1".into());
    assert!(ctx.audit_recorder.record(&txn, bad).await.is_err());
    txn.commit().await.unwrap();
    let conn = ctx.db.conn();
    let stmt = listone_core::db::statement(conn.get_database_backend(), "SELECT COUNT(*) AS n FROM outbox_event", []);
    let n: i64 = conn.query_one_raw(stmt).await.unwrap().unwrap().try_get("", "n").unwrap();
    assert_eq!(n, 0);
    server.shutdown().await;
}
