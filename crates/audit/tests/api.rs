//! The audit gRPC API over a real socket: proofs that verify (and fail when tampered), queries,
//! exports, settings, checkpoints on the clock, authentication, scopes and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use listone_audit::checkpoint::NoteVerifier;
use listone_audit::merkle::{verify_consistency, verify_inclusion};
use listone_core::OrgId;
use listone_proto::audit::v1 as pb;
use listone_testkit::{TestServer, authed};
use support::*;
use tokio_stream::StreamExt;
use tonic::Code;

fn hash(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap()
}

fn root_of(cp: &pb::Checkpoint) -> [u8; 32] {
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&cp.root_hash[2 * i..2 * i + 2], 16).unwrap()).collect();
    hash(&bytes)
}

async fn server_with_log(n: usize, every: u64) -> (TestServer, OrgId, String) {
    let server = TestServer::start().await;
    let org = OrgId::new();
    checkpoint_every(&server, org, every).await;
    record_n(&server, org, n).await;
    wait_for_size(&server, org, n as u64).await;
    let token = auditor(&server, org);
    (server, org, token)
}

#[tokio::test]
async fn inclusion_proofs_verify_against_signed_checkpoints_and_fail_when_tampered() {
    let (server, _org, token) = server_with_log(21, 7).await;
    let mut audit = client(&server);
    let keys =
        audit.get_verification_keys(authed(pb::GetVerificationKeysRequest {}, &token)).await.unwrap().into_inner();
    let verifier = NoteVerifier::from_verifier_key(&keys.keys[0].verifier_key).unwrap();
    for (seq, size) in [(0, 7), (6, 7), (3, 14), (13, 21), (20, 21), (0, 21)] {
        let proof = audit
            .get_inclusion_proof(authed(pb::GetInclusionProofRequest { seq, tree_size: size }, &token))
            .await
            .unwrap()
            .into_inner();
        let cp = proof.checkpoint.unwrap();
        let signed = verifier.verify(&cp.signed_note).unwrap();
        assert_eq!(signed.origin, keys.origin);
        assert_eq!((signed.size, signed.root), (size, root_of(&cp)));
        let path: Vec<[u8; 32]> = proof.proof.iter().map(|h| hash(h)).collect();
        let leaf = hash(&proof.leaf_hash);
        verify_inclusion(&leaf, seq, size, &path, &signed.root).unwrap();
        // The leaf is the entry's own hash.
        let entry =
            audit.get_entry(authed(pb::GetEntryRequest { seq, include_personal: false }, &token)).await.unwrap();
        assert_eq!(
            entry.into_inner().entry.unwrap().leaf_hash,
            proof.leaf_hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        // Tampered proofs fail.
        if let Some(first) = path.first() {
            let mut bad = path.clone();
            bad[0][0] ^= 1;
            assert!(verify_inclusion(&leaf, seq, size, &bad, &signed.root).is_err());
            assert!(verify_inclusion(first, seq, size, &path, &signed.root).is_err(), "wrong leaf");
        }
        assert!(verify_inclusion(&leaf, seq + 1, size, &path, &signed.root).is_err() || size == 1);
    }
    // Latest checkpoint by default.
    let latest = audit
        .get_inclusion_proof(authed(pb::GetInclusionProofRequest { seq: 2, tree_size: 0 }, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(latest.tree_size, 21);
    server.shutdown().await;
}

#[tokio::test]
async fn consistency_proofs_verify_between_checkpoints_and_fail_when_tampered() {
    let (server, _org, token) = server_with_log(20, 5).await;
    let mut audit = client(&server);
    for (from, to) in [(5, 10), (5, 20), (10, 15), (15, 20), (20, 20)] {
        let p = audit
            .get_consistency_proof(authed(
                pb::GetConsistencyProofRequest { from_tree_size: from, to_tree_size: to },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        let (old_root, new_root) = (root_of(&p.from_checkpoint.unwrap()), root_of(&p.to_checkpoint.unwrap()));
        let proof: Vec<[u8; 32]> = p.proof.iter().map(|h| hash(h)).collect();
        verify_consistency(from, to, &old_root, &new_root, &proof).unwrap();
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let last = bad.len() - 1;
            bad[last][31] ^= 0x80;
            assert!(verify_consistency(from, to, &old_root, &new_root, &bad).is_err());
            assert!(verify_consistency(from, to, &new_root, &old_root, &proof).is_err());
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_proof_requests_get_typed_errors() {
    let (server, _org, token) = server_with_log(10, 5).await;
    let mut audit = client(&server);
    let out_of_range = audit
        .get_inclusion_proof(authed(pb::GetInclusionProofRequest { seq: 5, tree_size: 5 }, &token))
        .await
        .unwrap_err();
    assert_eq!(out_of_range.code(), Code::OutOfRange);
    let unknown = audit
        .get_inclusion_proof(authed(pb::GetInclusionProofRequest { seq: 1, tree_size: 7 }, &token))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "no checkpoint of size 7");
    let backwards = audit
        .get_consistency_proof(authed(pb::GetConsistencyProofRequest { from_tree_size: 10, to_tree_size: 5 }, &token))
        .await
        .unwrap_err();
    assert_eq!(backwards.code(), Code::OutOfRange);
    let zero = audit
        .get_consistency_proof(authed(pb::GetConsistencyProofRequest { from_tree_size: 0, to_tree_size: 5 }, &token))
        .await
        .unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument);
    let missing =
        audit.get_entry(authed(pb::GetEntryRequest { seq: 999, include_personal: false }, &token)).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn a_checkpoint_is_cut_when_pending_entries_wait_past_the_configured_time() {
    let (server, org, token) = server_with_log(3, 1000).await;
    let mut audit = client(&server);
    let none = audit.get_latest_checkpoint(authed(pb::GetLatestCheckpointRequest {}, &token)).await.unwrap_err();
    assert_eq!(none.code(), Code::NotFound, "3 entries are below the count threshold");
    server.clock().advance(chrono::Duration::seconds(61));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(cp) = audit.get_latest_checkpoint(authed(pb::GetLatestCheckpointRequest {}, &token)).await {
            assert_eq!(cp.into_inner().checkpoint.unwrap().tree_size, 3);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "time-based checkpoint never came");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.ctx().audit.head(org).await.unwrap().checkpoint_size, 3);
    server.shutdown().await;
}

#[tokio::test]
async fn entries_are_filtered_and_keyset_paged() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let mut events: Vec<_> = (0..30).map(|i| event(&server, org, "records.record.update", i)).collect();
    events.extend((0..5).map(|i| event(&server, org, "identity.signin", i)));
    record_all(&server, events).await;
    wait_for_size(&server, org, 35).await;
    let token = auditor(&server, org);
    let mut audit = client(&server);

    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = audit
            .list_entries(authed(
                pb::ListEntriesRequest {
                    filter: Some(pb::EntryFilter { action: "records.*".into(), ..Default::default() }),
                    page_size: 7,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.entries.iter().map(|e| e.seq));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, (0..30).collect::<Vec<u64>>());

    let denied = audit
        .list_entries(authed(
            pb::ListEntriesRequest {
                filter: Some(pb::EntryFilter {
                    outcome: pb::Outcome::Denied as i32,
                    actor_id: "user-1".into(),
                    ..Default::default()
                }),
                page_size: 100,
                newest_first: true,
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!denied.entries.is_empty());
    assert!(denied.entries.iter().all(|e| e.outcome == pb::Outcome::Denied as i32 && e.actor_id == "user-1"));
    assert!(denied.entries.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");

    let future = chrono::Utc::now() + chrono::Duration::days(1);
    let none = audit
        .list_entries(authed(
            pb::ListEntriesRequest {
                filter: Some(pb::EntryFilter { occurred_from: future.to_rfc3339(), ..Default::default() }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(none.entries.is_empty());

    let bad = audit
        .list_entries(authed(
            pb::ListEntriesRequest {
                filter: Some(pb::EntryFilter { occurred_from: "yesterday".into(), ..Default::default() }),
                page_size: 5000,
                page_token: "not-a-token".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let violations = tonic_types::StatusExt::get_details_bad_request(&bad).unwrap().field_violations;
    let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["filter.occurred_from"], "filter checked first");
    server.shutdown().await;
}

#[tokio::test]
async fn exports_stream_ocsf_and_cef_lines_and_are_themselves_audited() {
    let (server, org, token) = server_with_log(12, 1000).await;
    let mut audit = client(&server);
    let mut stream = audit
        .export_entries(authed(
            pb::ExportEntriesRequest { filter: None, format: pb::ExportFormat::OcsfJson as i32 },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut lines = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        lines.extend(String::from_utf8(chunk.data).unwrap().lines().map(str::to_owned));
    }
    assert_eq!(lines.len(), 12);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["class_uid"], 6003);
        assert_eq!(v["metadata"]["tenant_uid"], org.to_string());
    }
    let mut cef = audit
        .export_entries(authed(pb::ExportEntriesRequest { filter: None, format: pb::ExportFormat::Cef as i32 }, &token))
        .await
        .unwrap()
        .into_inner();
    let chunk = cef.next().await.unwrap().unwrap();
    let text = String::from_utf8(chunk.data).unwrap();
    assert!(text.lines().all(|l| l.starts_with("CEF:0|")));
    let bad =
        audit.export_entries(authed(pb::ExportEntriesRequest { filter: None, format: 0 }, &token)).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    // Both exports were recorded in the log (appended through the outbox).
    wait_for_size(&server, org, 14).await;
    let exported = server.ctx().audit.get_entry(org, 12, false).await.unwrap();
    assert_eq!(exported.entry.action, "audit.log.export");
    assert!(exported.entry.personal_data);
    server.shutdown().await;
}

#[tokio::test]
async fn settings_updates_are_validated_versioned_and_audited() {
    let server = TestServer::start().await;
    let org = OrgId::new();
    let token = auditor(&server, org);
    let mut audit = client(&server);
    let current =
        audit.get_settings(authed(pb::GetSettingsRequest {}, &token)).await.unwrap().into_inner().settings.unwrap();
    assert_eq!(current.retention_days, 2557);
    let mask = |paths: &[&str]| Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() });
    let updated = audit
        .update_settings(authed(
            pb::UpdateSettingsRequest {
                settings: Some(pb::Settings { retention_days: 3650, ..current }),
                update_mask: mask(&["retention_days"]),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    assert_eq!((updated.retention_days, updated.version), (3650, 1));
    let stale = audit
        .update_settings(authed(
            pb::UpdateSettingsRequest {
                settings: Some(pb::Settings { retention_days: 400, ..current }),
                update_mask: mask(&["retention_days"]),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let invalid = audit
        .update_settings(authed(
            pb::UpdateSettingsRequest {
                settings: Some(pb::Settings { retention_days: 1, checkpoint_every_entries: 0, ..updated }),
                update_mask: mask(&["retention_days", "checkpoint_every_entries", "colour"]),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(server.ctx().audit.settings(org).await.unwrap().retention_days, 3650, "nothing written");
    wait_for_size(&server, org, 1).await;
    let entry = server.ctx().audit.get_entry(org, 0, false).await.unwrap();
    assert_eq!(entry.entry.action, "audit.settings.update");
    server.shutdown().await;
}

#[tokio::test]
async fn calls_without_a_token_or_scope_are_refused() {
    let (server, org, _token) = server_with_log(2, 1).await;
    let mut audit = client(&server);
    let anonymous = audit.get_latest_checkpoint(pb::GetLatestCheckpointRequest {}).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let forged = audit.get_latest_checkpoint(authed(pb::GetLatestCheckpointRequest {}, "forged")).await.unwrap_err();
    assert_eq!(forged.code(), Code::Unauthenticated);
    let reader = server.token_for(principal(org, &["audit.read"]));
    audit.get_latest_checkpoint(authed(pb::GetLatestCheckpointRequest {}, &reader)).await.unwrap();
    for status in [
        audit
            .list_entries(authed(pb::ListEntriesRequest { include_personal: true, ..Default::default() }, &reader))
            .await
            .unwrap_err(),
        audit
            .export_entries(authed(pb::ExportEntriesRequest { filter: None, format: 1 }, &reader))
            .await
            .map(|_| ())
            .unwrap_err(),
        audit.update_settings(authed(pb::UpdateSettingsRequest::default(), &reader)).await.unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let nobody = server.token_for(principal(org, &[]));
    let denied = audit.list_incidents(authed(pb::ListIncidentsRequest::default(), &nobody)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "a principal with no scopes has no rights");
    // Every denial above is itself in the org's log, as a denied attempt.
    wait_for_size(&server, org, 2 + 4).await;
    let (page, _) = (server.ctx().audit.list_entries(
        org,
        &listone_audit::store::EntryFilter { action: Some("audit.access.denied".into()), ..Default::default() },
        listone_audit::store::PageRequest { page_size: 10, after_seq: None, newest_first: false },
        false,
    ))
    .await
    .map(|p| (p.entries, p.next_page_token))
    .unwrap();
    assert_eq!(page.len(), 4);
    assert!(page.iter().all(|e| e.entry.outcome == listone_audit::Outcome::Denied));
    server.shutdown().await;
}

#[tokio::test]
async fn another_organization_sees_nothing_of_this_log() {
    let (server, org_a, token_a) = server_with_log(10, 5).await;
    let org_b = OrgId::new();
    let token_b = auditor(&server, org_b);
    let mut audit = client(&server);
    let not_found = |s: tonic::Status| assert_eq!(s.code(), Code::NotFound, "{s:?}");
    not_found(
        audit.get_entry(authed(pb::GetEntryRequest { seq: 3, include_personal: false }, &token_b)).await.unwrap_err(),
    );
    not_found(audit.get_latest_checkpoint(authed(pb::GetLatestCheckpointRequest {}, &token_b)).await.unwrap_err());
    not_found(
        audit
            .get_inclusion_proof(authed(pb::GetInclusionProofRequest { seq: 1, tree_size: 5 }, &token_b))
            .await
            .unwrap_err(),
    );
    not_found(
        audit
            .get_consistency_proof(authed(
                pb::GetConsistencyProofRequest { from_tree_size: 5, to_tree_size: 10 },
                &token_b,
            ))
            .await
            .unwrap_err(),
    );
    let list = audit.list_entries(authed(pb::ListEntriesRequest::default(), &token_b)).await.unwrap().into_inner();
    assert!(list.entries.is_empty());
    let cps =
        audit.list_checkpoints(authed(pb::ListCheckpointsRequest::default(), &token_b)).await.unwrap().into_inner();
    assert!(cps.checkpoints.is_empty());
    let incidents =
        audit.list_incidents(authed(pb::ListIncidentsRequest::default(), &token_b)).await.unwrap().into_inner();
    assert!(incidents.incidents.is_empty());
    let mut export = audit
        .export_entries(authed(pb::ExportEntriesRequest { filter: None, format: 1 }, &token_b))
        .await
        .unwrap()
        .into_inner();
    assert!(export.next().await.is_none(), "nothing of org A is exported to org B");
    let keys_b =
        audit.get_verification_keys(authed(pb::GetVerificationKeysRequest {}, &token_b)).await.unwrap().into_inner();
    assert!(keys_b.origin.ends_with(&org_b.to_string()));
    // B's settings change leaves A's alone.
    let mask = Some(prost_types::FieldMask { paths: vec!["retention_days".into()] });
    audit
        .update_settings(authed(
            pb::UpdateSettingsRequest {
                settings: Some(pb::Settings { retention_days: 100, ..Default::default() }),
                update_mask: mask,
            },
            &token_b,
        ))
        .await
        .unwrap();
    assert_eq!(server.ctx().audit.settings(org_a).await.unwrap().retention_days, 2557);
    // A still sees its own log.
    let own = audit.get_entry(authed(pb::GetEntryRequest { seq: 3, include_personal: false }, &token_a)).await.unwrap();
    assert_eq!(own.into_inner().entry.unwrap().seq, 3);
    server.shutdown().await;
}
