//! `listone.records.v1.RecordService`: the gRPC edge of records. Thin: authenticate, check the
//! scope, decode, call [`RecordStore`], encode. The organization always comes from the caller's
//! principal, never from the request.
//!
//! - [`scopes`]: `records.read` for reads, `records.write` for writes.
//! - `decode`: ids, purposes, field lists, update masks, owners and value structs, every problem
//!   of a request reported at once.
//! - [`filter`]: proto filters to the records crate's query language over the module's field
//!   kinds, and the compiler's violation paths back in the request's terms.
//! - `values` / `encode`: google.protobuf.Struct <-> JSON field values; records and field
//!   changes as returned.
//! - `service`: the RPCs.
//!
//! Access: a user's calls go through the record store acting for them ([`RecordStore::acting_for`])
//! under the organization's CRM access policy in force ([`AccessPolicyStore::in_force`]), with
//! the CRM roles their token carries (a token of another app: the roles stored now). Service
//! clients act within their OAuth scopes, without a policy.
//!
//! Standard modules: an organization that has none of the standard catalog gets it installed
//! (by the platform actor) the first time a call names a standard module, as the module API
//! does, because organizations are created outside this service.

pub mod access;
mod decode;
mod encode;
pub mod filter;
pub mod scopes;
mod service;
mod values;

use std::sync::Arc;

use listone_audit::{AuditBatcher, AuditRecorder, RequestContext, ScopeDenial};
use listone_core::auth::{Authenticator, RequestMeta};
use listone_core::{App, Database, Error, FieldViolation, OrgId, Principal, SharedClock};
use listone_crypto::KeyRing;
use listone_customization::{FALLBACK_CURRENCY, ModuleStore, STANDARD_MODULE_KEYS};
use listone_identity::access::AccessPolicyStore;
use listone_proto::records::v1::record_service_server::RecordServiceServer;
use listone_records::access::AccessGuard;
use listone_records::{RecordStore, read_batching_pays};
use tonic::{Request, Status};

pub use decode::{DEFAULT_PURPOSE, MAX_FIELD_KEYS, MAX_PURPOSE_CHARS};

/// The audit action of a call refused for a missing scope.
pub const ACCESS_DENIED_ACTION: &str = "records.access.denied";

/// The records service.
#[derive(Debug, Clone)]
pub struct RecordApi {
    store: RecordStore,
    modules: ModuleStore,
    db: Database,
    audit: AuditRecorder,
    auth: Arc<dyn Authenticator>,
    policies: AccessPolicyStore,
    default_currency: String,
}

impl RecordApi {
    /// Builds the service over the local record and module stores of `db`, sealing with `keys`,
    /// auditing changes, personal reads and refusals with `audit`, and applying the access
    /// policies of `policies` to users. Call it inside a tokio runtime: it starts the store's
    /// create batcher.
    pub fn local(
        db: Database,
        keys: Arc<KeyRing>,
        audit: AuditRecorder,
        clock: SharedClock,
        auth: Arc<dyn Authenticator>,
        policies: AccessPolicyStore,
    ) -> Self {
        let modules = ModuleStore::new(db.clone(), audit.clone(), clock.clone());
        // Concurrent creates share transactions (group commit) and concurrent single reads share
        // statements on PostgreSQL; each call still answers on its own.
        let store =
            RecordStore::new(db.clone(), keys, audit.clone(), clock.clone(), modules.clone()).with_create_batching();
        let store = if read_batching_pays(db.engine()) { store.with_read_batching() } else { store };
        Self { store, modules, db, audit, auth, policies, default_currency: FALLBACK_CURRENCY.to_owned() }
    }

    /// The same service, recording personal-data reads through `batcher` (group commit) rather
    /// than a transaction per read.
    pub fn with_read_audit(mut self, batcher: AuditBatcher) -> Self {
        self.store = self.store.with_read_audit(batcher);
        self
    }

    /// The same service, installing a missing standard catalog with amounts in `currency`.
    pub fn with_default_currency(mut self, currency: impl Into<String>) -> Self {
        self.default_currency = currency.into();
        self
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> RecordServiceServer<Self> {
        RecordServiceServer::new(self)
    }

    /// The caller, who must hold `scope`; a refusal is audited in the caller's own organization.
    async fn principal<T>(
        &self,
        request: &Request<T>,
        scope: &'static str,
        rpc: &str,
    ) -> Result<(Principal, RequestContext), Status> {
        let principal = self.auth.authenticate(request.metadata()).await?;
        let ctx = RequestContext::from(RequestMeta::from_request(request));
        if let Err(denied) = scopes::SCOPES.require(&principal, scope) {
            let denial = ScopeDenial { action: ACCESS_DENIED_ACTION, resource: "records.api", scope, rpc };
            self.audit.record_scope_denial(&self.db, &principal, &ctx, denial).await?;
            return Err(denied.into());
        }
        Ok((principal, ctx))
    }

    /// The record store as `principal` may use it: acting for a user under the CRM access policy
    /// in force; as it is for service clients, whose scopes were checked already.
    async fn store_for(&self, principal: &Principal) -> Result<RecordStore, Status> {
        if principal.user_id().is_none() {
            return Ok(self.store.clone());
        }
        let in_force = self.policies.in_force(principal.org_id, App::Crm).await?;
        match self.policies.principal_of(&in_force.policy, principal, App::Crm).await? {
            Some(access) => Ok(self.store.acting_for(AccessGuard::new(Arc::clone(&in_force.policy), access))),
            None => Ok(self.store.clone()),
        }
    }

    /// Runs `op`, and once more after installing the standard catalog when it found no module
    /// among `modules` that is a standard one (an organization that never had the catalog).
    /// (`op` is a plain closure returning a future, not an async closure: the futures of a
    /// generic async closure cannot be proven `Send`, which tonic requires.)
    async fn in_catalog<T, F, Fut>(&self, org: OrgId, modules: &[&str], ctx: &RequestContext, op: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        match op().await {
            Err(Error::NotFound { resource: "module" }) if modules.iter().any(|m| STANDARD_MODULE_KEYS.contains(m)) => {
                // A concurrent first call may have installed it; either way, look again.
                self.modules.ensure_standard(org, &self.default_currency, ctx).await?;
                op().await
            }
            other => other,
        }
    }
}

/// `err` with every violation path renamed by `rename`; other errors unchanged.
pub(crate) fn renamed(err: Error, rename: impl Fn(&str) -> String) -> Error {
    match err {
        Error::InvalidArgument { violations } => Error::InvalidArgument {
            violations: violations.into_iter().map(|v| FieldViolation { field: rename(&v.field), ..v }).collect(),
        },
        other => other,
    }
}
