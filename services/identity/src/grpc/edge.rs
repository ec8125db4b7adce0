//! What every identity service shares: the stores, the authenticator, and the steps each RPC
//! starts with — who is calling, whether they hold the scope (a denial is audited), and the
//! audit actor and request facts the stores record.

use std::sync::Arc;

use listone_audit::{AuditActor, AuditEvent, AuditRecorder, Outcome, RequestContext};
use listone_core::auth::{Authenticator, RequestMeta};
use listone_core::{Database, Error, OrgId, Principal, SharedClock, UserId};
use listone_identity::Identity;
use tonic::{Request, Status};

/// The audit action of a refused call (a missing scope, or someone else's self-only action).
pub const ACCESS_DENIED_ACTION: &str = "identity.access.denied";

/// Stores and collaborators shared by every identity service.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub(crate) identity: Identity,
    pub(crate) clock: SharedClock,
    db: Database,
    audit: AuditRecorder,
    auth: Arc<dyn Authenticator>,
}

/// An authenticated caller and the facts of its request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) principal: Principal,
    pub(crate) meta: RequestMeta,
}

impl Caller {
    /// The caller's organization: the tenant of every store call.
    pub(crate) fn org(&self) -> OrgId {
        self.principal.org_id
    }

    /// Who the audit log names as acting.
    pub(crate) fn actor(&self) -> AuditActor {
        actor_of(&self.principal)
    }

    /// The request facts the audit log records.
    pub(crate) fn context(&self) -> RequestContext {
        context_of(&self.meta)
    }
}

/// The audit actor for a principal: the user, the service client, or the platform.
pub fn actor_of(principal: &Principal) -> AuditActor {
    AuditActor::from(principal)
}

/// The audit request context for request facts.
pub fn context_of(meta: &RequestMeta) -> RequestContext {
    RequestContext::from(meta.clone())
}

impl Edge {
    pub(crate) fn new(
        identity: Identity,
        db: Database,
        clock: SharedClock,
        audit: AuditRecorder,
        auth: Arc<dyn Authenticator>,
    ) -> Self {
        Self { identity, clock, db, audit, auth }
    }

    /// The caller behind the request's credentials, or UNAUTHENTICATED.
    pub(crate) async fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let principal = self.auth.authenticate(request.metadata()).await?;
        Ok(Caller { principal, meta: RequestMeta::from_request(request) })
    }

    /// The caller, who must hold `scope`; a denial is audited.
    pub(crate) async fn authorize<T>(
        &self,
        request: &Request<T>,
        scope: &'static str,
        rpc: &str,
    ) -> Result<Caller, Status> {
        let caller = self.caller(request).await?;
        let denial =
            (!listone_identity::scopes::holds(&caller.principal, scope)).then_some(Denial::MissingScope(scope));
        self.refuse(&caller, denial, rpc).await?;
        Ok(caller)
    }

    /// Refuses the call when there is a `denial`: it is audited in the caller's own organization,
    /// in its own transaction, and the answer is PERMISSION_DENIED naming the rule.
    pub(crate) async fn refuse(&self, caller: &Caller, denial: Option<Denial>, rpc: &str) -> Result<(), Status> {
        let Some(denial) = denial else { return Ok(()) };
        let details = match denial {
            Denial::MissingScope(scope) => serde_json::json!({ "missing_scope": scope, "rpc": rpc }),
            Denial::NotSelf => serde_json::json!({ "rule": "self_only", "rpc": rpc }),
        };
        let event =
            AuditEvent::new(caller.org(), caller.actor(), ACCESS_DENIED_ACTION, Outcome::Denied, self.clock.now())
                .with_resource("identity.api", None)
                .with_context(caller.context())
                .with_details(details);
        let txn = self.db.begin().await.map_err(Error::from)?;
        self.audit.record(&txn, event).await?;
        txn.commit().await.map_err(Error::from)?;
        Err(denial.error().into())
    }
}

/// Why a call is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// The caller lacks this scope.
    MissingScope(&'static str),
    /// Only the user themself may do this (their authenticator's secret, their recovery codes).
    NotSelf,
}

impl Denial {
    /// The denial for acting on `user`'s own things: none for the user themself, otherwise a
    /// missing `scope`.
    pub(crate) fn unless_self_or(principal: &Principal, user: UserId, scope: &'static str) -> Option<Self> {
        listone_identity::scopes::missing_for_user(principal, user, scope).map(Denial::MissingScope)
    }

    /// The denial for what only `user` themself may do.
    pub(crate) fn unless_self(principal: &Principal, user: UserId) -> Option<Self> {
        (!listone_identity::scopes::is_self(principal, user)).then_some(Denial::NotSelf)
    }

    fn error(self) -> Error {
        match self {
            Denial::MissingScope(scope) => Error::missing_scope(scope),
            Denial::NotSelf => Error::PermissionDenied {
                reason: "SELF_ONLY",
                field: None,
                message: "only the user themself may do this".to_owned(),
            },
        }
    }
}
