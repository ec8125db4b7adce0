//! [`Identity`]: every identity store wired once over one database, clock, key ring and audit
//! recorder — the way the server, the admin CLI and the tests build them.

use std::sync::Arc;

use listone_audit::AuditRecorder;
use listone_core::{Database, Error, SharedClock};
use listone_crypto::KeyRing;

use crate::authn::PasswordSignIn;
use crate::credentials::password::{HashCost, PasswordHasher, PasswordPolicy};
use crate::group::GroupStore;
use crate::mfa::MfaStore;
use crate::oidc::clients::ClientStore;
use crate::oidc::grants::GrantStore;
use crate::org::OrgStore;
use crate::role::RoleStore;
use crate::scim::{ScimProvider, ScimTokenStore};
use crate::session::SessionStore;
use crate::signin::{SessionPolicy, ThrottlePolicy};
use crate::user::UserStore;

/// Tunable identity policies; the defaults are the production ones.
#[derive(Debug, Clone, Default)]
pub struct IdentityConfig {
    /// Argon2id parameters for new password hashes ([`HashCost::OWASP`] by default).
    pub hash_cost: HashCost,
    /// What a new password must satisfy.
    pub password_policy: PasswordPolicy,
    /// Session idle and absolute timeouts, sessions per user.
    pub session_policy: SessionPolicy,
    /// Brute-force protection per account and per IP.
    pub throttle: ThrottlePolicy,
}

/// The identity stores of one process.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Organizations and subscriptions.
    pub orgs: OrgStore,
    /// Users, invitations, app assignments.
    pub users: UserStore,
    /// Groups and members.
    pub groups: GroupStore,
    /// Sign-in sessions.
    pub sessions: SessionStore,
    /// Roles per app, for users and groups.
    pub roles: RoleStore,
    /// Password sign-in and its MFA step.
    pub signin: PasswordSignIn,
    /// TOTP enrolment and recovery codes.
    pub mfa: MfaStore,
    /// The password hasher every store shares (also used by benchmarks).
    pub hasher: Arc<PasswordHasher>,
    /// SCIM bearer tokens, per organization.
    pub scim_tokens: ScimTokenStore,
    /// SCIM provisioning of users and groups (the `/scim/v2/` operations).
    pub scim: ScimProvider,
    /// OAuth clients: first-party apps and those organizations register.
    pub clients: ClientStore,
    /// OAuth grants: authorization codes, refresh-token families, consents, revoked access tokens.
    pub grants: GrantStore,
    /// For operations spanning several stores in one transaction ([`crate::onboarding`]).
    pub(crate) db: Database,
    /// The clock those operations read.
    pub(crate) clock: SharedClock,
}

impl Identity {
    /// Wires every store; invalid policies are INVALID_ARGUMENT naming the field.
    pub fn new(
        db: Database,
        clock: SharedClock,
        keyring: Arc<KeyRing>,
        audit: AuditRecorder,
        config: IdentityConfig,
    ) -> Result<Self, Error> {
        let hasher = Arc::new(PasswordHasher::new(config.hash_cost)?);
        let sessions = SessionStore::new(db.clone(), clock.clone(), audit.clone(), config.session_policy)?;
        let clients = ClientStore::new(db.clone(), clock.clone(), audit.clone(), keyring.clone());
        let grants = GrantStore::new(db.clone(), clock.clone(), audit.clone());
        let mfa = MfaStore::new(db.clone(), clock.clone(), audit.clone(), keyring, hasher.clone());
        let signin = PasswordSignIn::new(
            db.clone(),
            clock.clone(),
            audit.clone(),
            hasher.clone(),
            config.throttle,
            sessions.clone(),
            mfa.clone(),
        )?;
        let users = UserStore::new(db.clone(), clock.clone(), audit.clone(), hasher.clone(), config.password_policy);
        let scim_tokens = ScimTokenStore::new(db.clone(), clock.clone(), audit.clone());
        let scim_groups = GroupStore::new(db.clone(), clock.clone(), audit.clone());
        let scim = ScimProvider::new(db.clone(), clock.clone(), audit.clone(), users.clone(), scim_groups);
        Ok(Self {
            orgs: OrgStore::new(db.clone(), clock.clone(), audit.clone()),
            roles: RoleStore::new(db.clone(), clock.clone(), audit.clone(), users.clone()),
            users,
            groups: GroupStore::new(db.clone(), clock.clone(), audit),
            sessions,
            signin,
            mfa,
            hasher,
            scim_tokens,
            scim,
            clients,
            grants,
            db,
            clock,
        })
    }
}
