//! `listone audit verify`: operator-side verification of the audit logs, straight from the database.

use std::sync::Arc;

use listone_audit::checkpoint::NoteVerifier;
use listone_audit::signer::CheckpointSigner;
use listone_audit::store::AuditStore;
use listone_core::{Database, OrgId, SystemClock};
use listone_crypto::{KeyRing, MasterKey};

use crate::startup::StartupError;

/// Verifies one or every org's log; prints a line (or JSON) per org. Returns whether all are valid.
pub async fn verify(
    db: Database,
    master_key: MasterKey,
    org: Option<String>,
    verifier_keys: Vec<String>,
    json: bool,
) -> Result<bool, StartupError> {
    let bad_input = |what: &'static str, e: String| StartupError::Setup { component: what, reason: e };
    let master_key = Arc::new(master_key);
    let signer = CheckpointSigner::load_or_create(&db, &master_key, chrono::Utc::now())
        .await
        .map_err(|e| bad_input("the audit signing key", e.to_string()))?;
    let verifiers = if verifier_keys.is_empty() {
        signer.stored_verifiers(&db).await.map_err(|e| bad_input("the stored verifier keys", e.to_string()))?
    } else {
        verifier_keys
            .iter()
            .map(|k| NoteVerifier::from_verifier_key(k).map_err(|e| bad_input("--verifier-key", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?
    };
    let store = AuditStore::new(db, Arc::new(KeyRing::new(master_key)), Arc::new(signer), Arc::new(SystemClock));
    let orgs = match org {
        Some(text) => vec![OrgId::parse(&text).map_err(|e| bad_input("--org", e.to_string()))?],
        None => store.orgs().await.map_err(|e| bad_input("the list of audit logs", e.to_string()))?,
    };
    if orgs.is_empty() && !json {
        println!("no audit logs yet");
    }
    let mut reports = Vec::with_capacity(orgs.len());
    for org in orgs {
        let report = store.verify(org, &verifiers).await.map_err(|e| bad_input("verification", e.to_string()))?;
        if !json {
            match report.first_bad_seq {
                None if report.is_valid() => println!(
                    "org {}: ok — {} entries and {} signed checkpoints verified (anchor {})",
                    report.org_id, report.entries_checked, report.checkpoints_checked, report.anchor_size
                ),
                first => {
                    let first = first.map(|s| s.to_string()).unwrap_or_else(|| "-".to_owned());
                    println!("org {}: FAILED — first bad entry {first}", report.org_id);
                    for p in &report.problems {
                        let seq = p.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".to_owned());
                        println!("  entry {seq}: {} — {}", p.kind, p.message);
                    }
                }
            }
        }
        reports.push(report);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports).unwrap_or_else(|_| "[]".to_owned()));
    }
    Ok(reports.iter().all(|r| r.is_valid()))
}
