//! What an audit entry holds, and the canonical bytes its Merkle leaf commits to.

use chrono::{DateTime, Utc};
use listone_core::{EventId, OrgId, Secret, SubjectId};
use serde::{Deserialize, Serialize};

/// A SHA-256 hash (leaf, node or root).
pub type Hash = [u8; 32];

/// Domain label at the start of every leaf's bytes; a new layout gets a new label.
pub const LEAF_FORMAT: &str = "listone.audit.entry.v1";

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in person.
    User,
    /// A service or machine client.
    Service,
    /// A sandboxed automation script (runs with its owner's rights).
    Script,
    /// The platform itself.
    System,
}

impl ActorKind {
    /// Stable key stored and hashed.
    pub const fn key(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Service => "service",
            ActorKind::Script => "script",
            ActorKind::System => "system",
        }
    }

    /// Parses a stable key.
    pub fn from_key(key: &str) -> Option<Self> {
        [ActorKind::User, ActorKind::Service, ActorKind::Script, ActorKind::System].into_iter().find(|k| k.key() == key)
    }
}

/// The acting party: kind plus id (absent for the system).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditActor {
    /// Kind of actor.
    pub kind: ActorKind,
    /// User id, client id or script id.
    pub id: Option<String>,
}

/// How the attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Permitted and done.
    Allowed,
    /// Refused by a permission or policy check.
    Denied,
    /// Permitted but failed (bad input, error, wrong password).
    Failed,
}

impl Outcome {
    /// Stable key stored and hashed.
    pub const fn key(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }

    /// Parses a stable key.
    pub fn from_key(key: &str) -> Option<Self> {
        [Outcome::Allowed, Outcome::Denied, Outcome::Failed].into_iter().find(|o| o.key() == key)
    }
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Module or resource type, e.g. `contacts`, `identity.user`.
    pub module: String,
    /// The record or object id, when there is one.
    pub id: Option<String>,
}

/// Where the request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// Correlates with logs and the caller (1..64 of `[A-Za-z0-9._-]`).
    pub request_id: Option<String>,
    /// Client IP as seen by the server.
    pub source_ip: Option<String>,
    /// User agent / device description.
    pub user_agent: Option<String>,
}

impl From<listone_core::auth::RequestMeta> for RequestContext {
    fn from(meta: listone_core::auth::RequestMeta) -> Self {
        Self { request_id: meta.request_id, source_ip: meta.source_ip, user_agent: meta.user_agent }
    }
}

impl From<&listone_core::Principal> for AuditActor {
    /// Who a caller is, as recorded: the person, the service client, or the platform.
    fn from(principal: &listone_core::Principal) -> Self {
        match &principal.actor {
            listone_core::Actor::User { user_id } => Self { kind: ActorKind::User, id: Some(user_id.to_string()) },
            listone_core::Actor::Service { client_id } => {
                Self { kind: ActorKind::Service, id: Some(client_id.to_string()) }
            }
            listone_core::Actor::System => Self { kind: ActorKind::System, id: None },
        }
    }
}

/// Personal details about one data subject; sealed with that subject's key before it is stored.
#[derive(Debug, Clone)]
pub struct PersonalDetails {
    /// Whose data it is; erasing the subject destroys the key and so these details.
    pub subject_id: SubjectId,
    /// The details (e.g. old and new values of a changed field).
    pub details: Secret<serde_json::Value>,
}

/// An event a service records. Build with [`AuditEvent::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// The tenant whose log receives the entry.
    pub org_id: OrgId,
    /// Who acted.
    pub actor: AuditActor,
    /// Dotted action name, e.g. `identity.signin`, `records.record.read`.
    pub action: String,
    /// What was acted on.
    pub resource: Option<Resource>,
    /// How it ended.
    pub outcome: Outcome,
    /// The processing purpose claimed, when personal data is involved.
    pub purpose: Option<String>,
    /// True when the action read, changed or exported personal data.
    pub personal_data: bool,
    /// Non-personal details (ids, field names, counts). Never put personal values here.
    pub details: serde_json::Value,
    /// Personal details, sealed under the subject's key.
    pub personal: Option<PersonalDetails>,
    /// Request origin.
    pub context: RequestContext,
    /// When it happened (the recorder's clock).
    pub occurred_at: DateTime<Utc>,
}

impl AuditEvent {
    /// An event with no resource, purpose or details.
    pub fn new(
        org_id: OrgId,
        actor: AuditActor,
        action: impl Into<String>,
        outcome: Outcome,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            org_id,
            actor,
            action: action.into(),
            resource: None,
            outcome,
            purpose: None,
            personal_data: false,
            details: serde_json::Value::Object(Default::default()),
            personal: None,
            context: RequestContext::default(),
            occurred_at: at,
        }
    }

    /// Sets the resource.
    pub fn with_resource(mut self, module: impl Into<String>, id: Option<String>) -> Self {
        self.resource = Some(Resource { module: module.into(), id });
        self
    }

    /// Sets the request context.
    pub fn with_context(mut self, context: RequestContext) -> Self {
        self.context = context;
        self
    }

    /// Sets non-personal details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// Marks the action as touching personal data for `purpose`.
    pub fn with_personal_data(mut self, purpose: impl Into<String>) -> Self {
        self.personal_data = true;
        self.purpose = Some(purpose.into());
        self
    }

    /// Attaches personal details about `subject_id` (sealed before storage).
    pub fn with_personal_details(mut self, subject_id: SubjectId, details: serde_json::Value) -> Self {
        self.personal = Some(PersonalDetails { subject_id, details: Secret::new(details) });
        self
    }
}

/// An entry as stored in an organization's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The tenant.
    pub org_id: OrgId,
    /// Position in the org's log, from 0, without gaps.
    pub seq: u64,
    /// The outbox event that produced it (idempotency key).
    pub event_id: EventId,
    /// When it happened, microseconds since the Unix epoch.
    pub occurred_at_us: i64,
    /// Actor kind.
    pub actor_kind: ActorKind,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Dotted action.
    pub action: String,
    /// Resource module.
    pub resource_module: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Outcome.
    pub outcome: Outcome,
    /// Request id.
    pub request_id: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Whether personal data was touched.
    pub personal_data: bool,
    /// Non-personal details as canonical JSON text (hashed byte for byte).
    pub details: String,
    /// The subject whose key seals `personal_sealed`.
    pub subject_id: Option<SubjectId>,
    /// SHA-256 of the sealed personal details; the leaf commits to this, not to the details.
    pub personal_digest: Option<Hash>,
}

impl AuditEntry {
    /// The exact bytes the Merkle leaf hashes: a domain label, then every field length-prefixed.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.details.len());
        put(&mut out, LEAF_FORMAT.as_bytes());
        put(&mut out, self.org_id.to_string().as_bytes());
        put(&mut out, &self.seq.to_be_bytes());
        put(&mut out, self.event_id.to_string().as_bytes());
        put(&mut out, &self.occurred_at_us.to_be_bytes());
        put(&mut out, self.actor_kind.key().as_bytes());
        put_opt(&mut out, self.actor_id.as_deref().map(str::as_bytes));
        put(&mut out, self.action.as_bytes());
        put_opt(&mut out, self.resource_module.as_deref().map(str::as_bytes));
        put_opt(&mut out, self.resource_id.as_deref().map(str::as_bytes));
        put(&mut out, self.outcome.key().as_bytes());
        put_opt(&mut out, self.request_id.as_deref().map(str::as_bytes));
        put_opt(&mut out, self.source_ip.as_deref().map(str::as_bytes));
        put_opt(&mut out, self.user_agent.as_deref().map(str::as_bytes));
        put_opt(&mut out, self.purpose.as_deref().map(str::as_bytes));
        put(&mut out, &[u8::from(self.personal_data)]);
        put(&mut out, self.details.as_bytes());
        put_opt(&mut out, self.subject_id.map(|s| s.to_string()).as_deref().map(str::as_bytes));
        put_opt(&mut out, self.personal_digest.as_ref().map(|d| d.as_slice()));
        out
    }

    /// When it happened.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.occurred_at_us).unwrap_or_default()
    }
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            put(out, b);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            org_id: OrgId::new(),
            seq: 7,
            event_id: EventId::new(),
            occurred_at_us: 1_700_000_000_000_000,
            actor_kind: ActorKind::User,
            actor_id: Some("u1".into()),
            action: "records.record.read".into(),
            resource_module: Some("contacts".into()),
            resource_id: None,
            outcome: Outcome::Allowed,
            request_id: None,
            source_ip: Some("192.0.2.1".into()),
            user_agent: None,
            purpose: Some("sales".into()),
            personal_data: true,
            details: "{}".into(),
            subject_id: None,
            personal_digest: None,
        }
    }

    #[test]
    fn every_field_changes_the_leaf_bytes() {
        let base = entry();
        let mut variants = vec![];
        let mut e = base.clone();
        e.seq += 1;
        variants.push(e);
        let mut e = base.clone();
        e.resource_id = Some(String::new());
        variants.push(e);
        let mut e = base.clone();
        e.personal_data = false;
        variants.push(e);
        let mut e = base.clone();
        e.outcome = Outcome::Denied;
        variants.push(e);
        let mut e = base.clone();
        e.details = "{ }".into();
        variants.push(e);
        for v in variants {
            assert_ne!(v.leaf_bytes(), base.leaf_bytes());
        }
    }

    #[test]
    fn absent_and_empty_optional_fields_differ() {
        let mut a = entry();
        a.actor_id = None;
        let mut b = entry();
        b.actor_id = Some(String::new());
        assert_ne!(a.leaf_bytes(), b.leaf_bytes());
    }

    #[test]
    fn keys_round_trip() {
        for k in [ActorKind::User, ActorKind::Service, ActorKind::Script, ActorKind::System] {
            assert_eq!(ActorKind::from_key(k.key()), Some(k));
        }
        for o in [Outcome::Allowed, Outcome::Denied, Outcome::Failed] {
            assert_eq!(Outcome::from_key(o.key()), Some(o));
        }
    }
}
