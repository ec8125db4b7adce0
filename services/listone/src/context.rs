//! The shared state every service is built from.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use listone_audit::store::AuditStore;
use listone_audit::{AuditBatcher, AuditRecorder};
use listone_core::auth::Authenticator;
use listone_core::outbox::OutboxWaker;
use listone_core::{Database, SharedClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_identity::Identity;
use listone_identity::oidc::keys::SigningKeys;

/// Database, clock, keys and outbox handle, shared by every service in the process.
#[derive(Debug, Clone)]
pub struct AppContext {
    /// The database pool.
    pub db: Database,
    /// The clock all time-based rules read.
    pub clock: SharedClock,
    /// The root of the key hierarchy; never leaves the crypto crate unwrapped.
    pub master_key: Arc<MasterKey>,
    /// True when running on a generated development key.
    pub development_key: bool,
    /// Org and subject keys, wrapped under the master key.
    pub keyring: Arc<KeyRing>,
    /// Turns request credentials into principals.
    pub authenticator: Arc<dyn Authenticator>,
    /// The audit log.
    pub audit: AuditStore,
    /// Records audit events through the outbox.
    pub audit_recorder: AuditRecorder,
    /// Group commit for audit events of hot paths (token issues, personal-data reads).
    pub audit_batcher: AuditBatcher,
    /// Organizations, users, groups, credentials and sessions.
    pub identity: Identity,
    /// OIDC token-signing keys (RS256, ES256), rotated by maintenance; published as the JWKS.
    pub signing_keys: SigningKeys,
    /// The OpenID Connect provider (authorize, token, userinfo, introspection, revocation, logout).
    pub provider: listone_identity::oidc::provider::Provider,
    /// Wakes the outbox dispatcher after a commit.
    pub outbox: OutboxWaker,
    /// The newest applied migration.
    pub schema_version: String,
    /// When this process started serving.
    pub started_at: DateTime<Utc>,
}
