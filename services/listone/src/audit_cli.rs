//! `listone audit verify`: operator-side verification of the audit logs, straight from the
//! database. Reads only: it needs no master key and writes nothing.

use listone_audit::checkpoint::NoteVerifier;
use listone_audit::signer::stored_verifiers;
use listone_audit::verify::{logged_orgs, verify_log};
use listone_core::{Database, OrgId};

use crate::startup::StartupError;

/// Verifies one or every org's log; prints a line (or JSON) per org. Returns whether all are valid.
pub async fn verify(
    db: Database,
    org: Option<String>,
    verifier_keys: Vec<String>,
    json: bool,
) -> Result<bool, StartupError> {
    let setup = |what: &'static str, e: String| StartupError::Setup { component: what, reason: e };
    let verifiers = if verifier_keys.is_empty() {
        stored_verifiers(&db).await.map_err(|e| setup("the stored verifier keys", crate::startup::describe(&e)))?
    } else {
        verifier_keys
            .iter()
            .map(|k| NoteVerifier::from_verifier_key(k).map_err(|e| setup("--verifier-key", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?
    };
    let orgs = match org {
        Some(text) => vec![OrgId::parse(&text).map_err(|e| setup("--org", e.to_string()))?],
        None => logged_orgs(&db).await.map_err(|e| setup("the list of audit logs", crate::startup::describe(&e)))?,
    };
    if orgs.is_empty() && !json {
        println!("no audit logs yet");
    }
    let mut reports = Vec::with_capacity(orgs.len());
    for org in orgs {
        let report =
            verify_log(&db, org, &verifiers).await.map_err(|e| setup("verification", crate::startup::describe(&e)))?;
        if !json {
            print_report(&report);
        }
        reports.push(report);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports).unwrap_or_else(|_| "[]".to_owned()));
    }
    Ok(reports.iter().all(|r| r.is_valid()))
}

fn print_report(report: &listone_audit::verify::VerificationReport) {
    if report.is_valid() {
        println!(
            "org {}: ok — {} entries and {} signed checkpoints verified (anchor {})",
            report.org_id, report.entries_checked, report.checkpoints_checked, report.anchor_size
        );
        return;
    }
    let first = report.first_bad_seq.map(|s| s.to_string()).unwrap_or_else(|| "-".to_owned());
    println!("org {}: FAILED — first bad entry {first}", report.org_id);
    for p in &report.problems {
        let seq = p.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".to_owned());
        println!("  entry {seq}: {} — {}", p.kind, p.message);
    }
}
