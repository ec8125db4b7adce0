//! The recording API every service calls: validates an [`AuditEvent`], seals its personal
//! details under the subject's key, and writes it to the outbox in the caller's transaction —
//! so a committed change always gets its entry, and a rolled-back one never does.

use std::sync::Arc;

use base64::Engine as _;
use listone_core::outbox::{self, NewEvent};
use listone_core::{Error, EventId, OrgId, SharedClock, SubjectId, Violations};
use listone_crypto::{Aad, KeyRing};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use crate::entry::{ActorKind, AuditEntry, AuditEvent, Outcome};

/// Outbox topic carrying audit entries to the log.
pub const AUDIT_TOPIC: &str = "audit.entry";
/// Longest action name.
pub const MAX_ACTION_LEN: usize = 128;
/// Longest actor, resource, module, request id or purpose value.
pub const MAX_FIELD_LEN: usize = 128;
/// Largest non-personal details (canonical JSON).
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// Largest personal details (JSON, before sealing).
pub const MAX_PERSONAL_BYTES: usize = 64 * 1024;

/// An entry on its way through the outbox: everything but its position in the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RecordedEntry {
    pub occurred_at_us: i64,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub action: String,
    pub resource_module: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub purpose: Option<String>,
    pub personal_data: bool,
    pub details: String,
    pub subject_id: Option<SubjectId>,
    /// Base64 of the sealed personal details.
    pub personal_sealed: Option<String>,
}

impl RecordedEntry {
    /// The stored entry at position `seq`, and the sealed bytes to store beside it.
    pub(crate) fn into_entry(self, org_id: OrgId, seq: u64, event_id: EventId) -> (AuditEntry, Option<Vec<u8>>) {
        let sealed = self.personal_sealed.and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        let entry = AuditEntry {
            org_id,
            seq,
            event_id,
            occurred_at_us: self.occurred_at_us,
            actor_kind: self.actor_kind,
            actor_id: self.actor_id,
            action: self.action,
            resource_module: self.resource_module,
            resource_id: self.resource_id,
            outcome: self.outcome,
            request_id: self.request_id,
            source_ip: self.source_ip,
            user_agent: self.user_agent,
            purpose: self.purpose,
            personal_data: self.personal_data,
            details: self.details,
            subject_id: if sealed.is_some() { self.subject_id } else { None },
            personal_digest: sealed.as_deref().map(listone_crypto::sha256),
        };
        (entry, sealed)
    }
}

/// Associated data binding sealed personal details to their org, subject and event.
pub(crate) fn personal_aad(org: OrgId, subject: SubjectId, event: EventId) -> Aad {
    Aad::new("listone.audit.personal")
        .with("org", org.to_string())
        .with("subject", subject.to_string())
        .with("event", event.to_string())
}

/// A call refused for a missing scope, as [`AuditRecorder::record_scope_denial`] records it.
#[derive(Debug, Clone, Copy)]
pub struct ScopeDenial<'a> {
    /// Audit action, `<service>.access.denied`.
    pub action: &'a str,
    /// Resource type, `<service>.api`.
    pub resource: &'a str,
    /// The scope the caller lacked.
    pub scope: &'a str,
    /// The RPC refused.
    pub rpc: &'a str,
}

/// Records audit events through the outbox.
#[derive(Debug, Clone)]
pub struct AuditRecorder {
    keyring: Arc<KeyRing>,
    clock: SharedClock,
}

impl AuditRecorder {
    /// A recorder sealing with `keyring`.
    pub fn new(keyring: Arc<KeyRing>, clock: SharedClock) -> Self {
        Self { keyring, clock }
    }

    /// Records, in a transaction of its own on `db`, that `principal` was refused `rpc` for
    /// lacking `scope`: the denial every service edge audits, in the caller's own organization,
    /// as `action` (e.g. `records.access.denied`) on `resource` (e.g. `records.api`).
    pub async fn record_scope_denial(
        &self,
        db: &listone_core::Database,
        principal: &listone_core::Principal,
        ctx: &crate::entry::RequestContext,
        denial: ScopeDenial<'_>,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(
            principal.org_id,
            crate::entry::AuditActor::from(principal),
            denial.action,
            Outcome::Denied,
            self.clock.now(),
        )
        .with_resource(denial.resource, None)
        .with_context(ctx.clone())
        .with_details(serde_json::json!({ "missing_scope": denial.scope, "rpc": denial.rpc }));
        let txn = db.begin().await?;
        self.record(&txn, event).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Validates and records `event` in `conn` (the caller's transaction). Returns its event id.
    pub async fn record<C: ConnectionTrait>(&self, conn: &C, event: AuditEvent) -> Result<EventId, Error> {
        let new = self.prepare(conn, event).await?;
        outbox::enqueue(conn, self.clock.as_ref(), new).await
    }

    /// Writes events [`AuditRecorder::prepare`]d earlier, in `conn` (the caller's transaction),
    /// in multi-row inserts: what a batch of [`AuditRecorder::record`] calls writes, in fewer
    /// statements. Nothing is written if one breaks an outbox limit.
    pub async fn record_prepared<C: ConnectionTrait>(
        &self,
        conn: &C,
        events: Vec<NewEvent>,
    ) -> Result<Vec<EventId>, Error> {
        outbox::enqueue_all(conn, self.clock.as_ref(), events).await
    }

    /// Validates `event` and seals its personal details (creating the subject key in `conn` when
    /// needed), giving the outbox event [`AuditRecorder::record`] would write.
    pub async fn prepare<C: ConnectionTrait>(&self, conn: &C, event: AuditEvent) -> Result<NewEvent, Error> {
        let details = validate(&event)?;
        let id = EventId::new();
        let personal_sealed = match &event.personal {
            None => None,
            Some(personal) => {
                let plaintext = serde_json::to_vec(personal.details.expose())
                    .map_err(|e| Error::internal(format!("encode personal details: {e}")))?;
                let aad = personal_aad(event.org_id, personal.subject_id, id);
                let sealed = self
                    .keyring
                    .seal_for_subject(conn, event.org_id, personal.subject_id, &plaintext, &aad, self.clock.now())
                    .await?;
                Some(base64::engine::general_purpose::STANDARD.encode(sealed))
            }
        };
        outbox_event(event, id, details, personal_sealed)
    }

    /// [`prepare`](Self::prepare) for an event without personal details, which needs no
    /// connection (nothing is sealed); an event with them is refused (INTERNAL).
    pub fn prepare_plain(&self, event: AuditEvent) -> Result<NewEvent, Error> {
        if event.personal.is_some() {
            return Err(Error::internal("an audit event with personal details must be sealed"));
        }
        let details = validate(&event)?;
        outbox_event(event, EventId::new(), details, None)
    }
}

/// The outbox event carrying `event` (validated, its canonical `details` given) as entry `id`.
fn outbox_event(
    event: AuditEvent,
    id: EventId,
    details: String,
    personal_sealed: Option<String>,
) -> Result<NewEvent, Error> {
    let recorded = RecordedEntry {
        occurred_at_us: event.occurred_at.timestamp_micros(),
        actor_kind: event.actor.kind,
        actor_id: event.actor.id,
        action: event.action,
        resource_module: event.resource.as_ref().map(|r| r.module.clone()),
        resource_id: event.resource.and_then(|r| r.id),
        outcome: event.outcome,
        request_id: event.context.request_id.clone(),
        source_ip: event.context.source_ip,
        user_agent: event.context.user_agent,
        purpose: event.purpose,
        personal_data: event.personal_data,
        details,
        subject_id: event.personal.as_ref().map(|p| p.subject_id),
        personal_sealed,
    };
    let payload = serde_json::to_value(&recorded).map_err(|e| Error::internal(format!("encode audit entry: {e}")))?;
    let mut new = NewEvent::new(Some(event.org_id), AUDIT_TOPIC, payload);
    new.id = id;
    new.request_id = event.context.request_id.as_deref().and_then(|r| listone_core::RequestId::parse(r).ok());
    Ok(new)
}

/// Checks every rule at once; returns the canonical details JSON.
fn validate(event: &AuditEvent) -> Result<String, Error> {
    let mut v = Violations::new();
    let action_ok = !event.action.is_empty()
        && event.action.len() <= MAX_ACTION_LEN
        && event.action.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    v.check(!action_ok, "action", "must be 1 to 128 characters of a-z, 0-9, '_' and '.'");
    let too_long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.chars().count() > MAX_FIELD_LEN || s.is_empty());
    v.check(too_long(&event.actor.id), "actor.id", "must be 1 to 128 characters");
    v.check(
        event.actor.kind != ActorKind::System && event.actor.id.is_none(),
        "actor.id",
        "is required for users, services and scripts",
    );
    if let Some(resource) = &event.resource {
        v.check(
            resource.module.is_empty() || resource.module.chars().count() > MAX_FIELD_LEN,
            "resource.module",
            "must be 1 to 128 characters",
        );
        v.check(too_long(&resource.id), "resource.id", "must be 1 to 128 characters");
    }
    v.check(too_long(&event.purpose), "purpose", "must be 1 to 128 characters");
    v.check(
        event.context.source_ip.as_ref().is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err()),
        "context.source_ip",
        "must be an IPv4 or IPv6 address",
    );
    v.check(
        event
            .context
            .user_agent
            .as_ref()
            .is_some_and(|ua| ua.chars().count() > listone_core::auth::MAX_USER_AGENT_CHARS),
        "context.user_agent",
        "must be at most 512 characters",
    );
    v.check(!event.details.is_object(), "details", "must be a JSON object");
    // serde_json maps are ordered by key, so this text is canonical.
    let details = event.details.to_string();
    v.check(details.len() > MAX_DETAILS_BYTES, "details", "must be at most 16384 bytes of JSON");
    if let Some(personal) = &event.personal {
        let size = personal.details.expose().to_string().len();
        v.check(size > MAX_PERSONAL_BYTES, "personal.details", "must be at most 65536 bytes of JSON");
    }
    v.into_result()?;
    Ok(details)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::entry::AuditActor;

    fn event() -> AuditEvent {
        AuditEvent::new(
            OrgId::new(),
            AuditActor { kind: ActorKind::User, id: Some("u1".into()) },
            "records.record.read",
            Outcome::Allowed,
            chrono::Utc::now(),
        )
    }

    #[test]
    fn a_well_formed_event_passes_with_canonical_details() {
        let e = event().with_details(serde_json::json!({"b": 1, "a": [2]}));
        assert_eq!(validate(&e).unwrap(), r#"{"a":[2],"b":1}"#);
    }

    #[test]
    fn every_bad_field_is_reported_and_values_are_not_echoed() {
        let mut e = event().with_details(serde_json::json!({"blob": "x".repeat(20_000)}));
        e.action = "Records Read".into();
        e.actor.id = None;
        e.context.source_ip = Some("not-an-ip".into());
        let Error::InvalidArgument { violations } = validate(&e).unwrap_err() else { panic!() };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["action", "actor.id", "context.source_ip", "details"]);
        assert!(violations.iter().all(|v| !v.description.contains("not-an-ip")));
    }

    #[test]
    fn system_actor_needs_no_id() {
        let mut e = event();
        e.actor = AuditActor { kind: ActorKind::System, id: None };
        validate(&e).unwrap();
    }
}
