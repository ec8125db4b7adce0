//! Shared helpers for the audit integration tests: record events through the real recorder and
//! outbox, wait for the server to append them, and authenticate as an auditor.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use listone_audit::entry::{ActorKind, AuditActor, AuditEvent, Outcome, RequestContext};
use listone_core::{Actor, App, Clock, OrgId, Principal, UserId};
use listone_proto::audit::v1::audit_service_client::AuditServiceClient;
use listone_testkit::TestServer;
use tonic::transport::Channel;

pub const ALL_SCOPES: &[&str] = &["audit.read", "audit.personal.read", "audit.export", "audit.admin"];

pub fn principal(org: OrgId, scopes: &[&str]) -> Principal {
    Principal {
        org_id: org,
        actor: Actor::User { user_id: UserId::new() },
        app: App::Identity,
        roles: BTreeSet::new(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

pub fn client(server: &TestServer) -> AuditServiceClient<Channel> {
    AuditServiceClient::new(server.channel())
}

/// A token for an auditor of `org` with every audit scope.
pub fn auditor(server: &TestServer, org: OrgId) -> String {
    server.token_for(principal(org, ALL_SCOPES))
}

pub fn event(server: &TestServer, org: OrgId, action: &str, n: usize) -> AuditEvent {
    AuditEvent::new(
        org,
        AuditActor { kind: ActorKind::User, id: Some(format!("user-{}", n % 3)) },
        action,
        if n % 5 == 4 { Outcome::Denied } else { Outcome::Allowed },
        server.clock().now(),
    )
    .with_resource("contacts", Some(format!("rec-{n}")))
    .with_context(RequestContext {
        request_id: None,
        source_ip: Some("192.0.2.10".to_owned()),
        user_agent: Some("test-agent/1.0".to_owned()),
    })
    .with_details(serde_json::json!({ "n": n }))
}

/// Records `events` in one committed transaction, as a service would beside its change.
pub async fn record_all(server: &TestServer, events: Vec<AuditEvent>) {
    let ctx = server.ctx();
    let txn = ctx.db.begin().await.unwrap();
    for e in events {
        ctx.audit_recorder.record(&txn, e).await.unwrap();
    }
    txn.commit().await.unwrap();
    ctx.outbox.wake();
}

/// Records `n` ordinary events for `org`.
pub async fn record_n(server: &TestServer, org: OrgId, n: usize) {
    let events = (0..n).map(|i| event(server, org, "records.record.update", i)).collect();
    record_all(server, events).await;
}

/// Waits until `org`'s log holds `size` entries.
pub async fn wait_for_size(server: &TestServer, org: OrgId, size: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let head = server.ctx().audit.head(org).await.unwrap();
        if head.size >= size {
            assert_eq!(head.size, size, "no more entries than recorded");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "log reached only {} of {size} entries", head.size);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sets `org`'s checkpoint cadence so tests control when checkpoints are cut.
pub async fn checkpoint_every(server: &TestServer, org: OrgId, entries: u64) {
    let audit = &server.ctx().audit;
    let mut settings = audit.settings(org).await.unwrap();
    let version = settings.version;
    settings.checkpoint_every_entries = entries;
    audit.save_settings(server.ctx().db.conn(), org, &settings, version).await.unwrap();
}

/// Runs `sql` with `$n` placeholders on the server's database.
pub async fn sql(server: &TestServer, sql: &str, values: Vec<sea_orm::Value>) -> u64 {
    listone_core::db::execute(server.ctx().db.conn(), sql, values).await.unwrap()
}

/// Verifies `org`'s log with the server's own published keys.
pub async fn verify(server: &TestServer, org: OrgId) -> listone_audit::verify::VerificationReport {
    let audit = &server.ctx().audit;
    let verifiers = listone_audit::signer::stored_verifiers(&server.ctx().db).await.unwrap();
    audit.verify(org, &verifiers).await.unwrap()
}
