//! Tamper-evident audit log, one per organization.
//!
//! Services record [`AuditEvent`]s with the [`AuditRecorder`] inside their own transaction; the
//! event travels through the outbox and the [`sink::AuditSink`] appends it to the org's log as an
//! [`AuditEntry`]: an RFC 6962 Merkle leaf, with signed checkpoints (C2SP tlog-checkpoint notes,
//! Ed25519) cut every N entries or T seconds. Personal details are sealed under the data
//! subject's key; the leaf commits to their digest, so erasure never breaks a proof.
//!
//! - [`entry`]: [`AuditEvent`] (what services record) and [`AuditEntry`] (what is stored and hashed).
//! - [`recorder`]: [`AuditRecorder`], the recording API every service calls.
//! - [`batcher`]: [`AuditBatcher`], group commit for hot paths; answers after the commit.
//! - [`sink`]: the outbox consumer that appends.
//! - [`store`]: [`store::AuditStore`]: appends, queries, checkpoints, proofs, retention, erasure.
//! - [`merkle`]: RFC 6962 tree math, proof plans and client-side proof verification.
//! - [`checkpoint`]: C2SP signed-note checkpoints; [`signer`]: the platform's signing key.
//! - [`verify`]: full-log verification that names the first bad entry.
//! - [`detection`]: rules raising incidents (failed sign-ins, personal-data volume).
//! - [`export`]: OCSF (API Activity) and CEF lines for SIEMs.
//! - [`settings`]: per-org cadence, retention and thresholds.

pub mod batcher;
pub mod checkpoint;
pub mod detection;
pub mod entry;
pub mod export;
pub mod merkle;
pub mod recorder;
pub mod settings;
pub mod signer;
pub mod sink;
pub mod store;
pub mod verify;

pub use batcher::{AuditBatcher, BatcherConfig, BatcherStats};
pub use checkpoint::{Checkpoint, CheckpointError, NoteSigner, NoteVerifier};
pub use entry::{ActorKind, AuditActor, AuditEntry, AuditEvent, Hash, Outcome, RequestContext, Resource};
pub use export::{ExportFormat, ProductInfo, format_entry};
pub use merkle::{Frontier, MerkleError, NodePosition, NodeSource};
pub use recorder::{AuditRecorder, ScopeDenial};

/// OAuth scopes the audit API checks.
pub mod scopes {
    /// Read entries, checkpoints, proofs, incidents and settings.
    pub const READ: &str = "audit.read";
    /// Decrypt personal details in entries (each such read is itself audited).
    pub const PERSONAL_READ: &str = "audit.personal.read";
    /// Stream SIEM exports (audited).
    pub const EXPORT: &str = "audit.export";
    /// Change the org's audit settings (audited).
    pub const ADMIN: &str = "audit.admin";
}
