//! `listone.customization.v1.ModuleService`: the gRPC edge of module definitions. Thin:
//! authenticate, check the scope, decode, call [`ModuleStore`], encode. The organization always
//! comes from the caller's principal, never from the request.
//!
//! - [`scopes`]: `customization.read` for reads, `customization.admin` for writes.
//! - `decode` / `encode`: proto <-> domain, decoding problems reported all at once.
//! - [`paging`]: keyset page tokens over module and version lists.
//! - `paths`: the domain validator's violation paths renamed to the request's proto fields.
//!
//! Standard modules: an organization that has none of the standard catalog gets it installed
//! on its first list, read or create (idempotent, by the platform actor), because organizations
//! are created outside this service; `InstallStandardModules` is the explicit repair call.

mod decode;
mod encode;
pub mod paging;
mod paths;
pub mod scopes;

use std::sync::Arc;

use listone_audit::{AuditActor, AuditRecorder, RequestContext, ScopeDenial};
use listone_core::auth::{Authenticator, RequestMeta};
use listone_core::{Database, Error, OrgId, Principal, SharedClock};
use listone_customization::{
    ModuleKind, ModuleStore, Report, STANDARD_MODULE_KEYS, StoredModule, Violation, needs_standard_catalog,
};
use listone_proto::customization::v1 as pb;
use listone_proto::customization::v1::module_service_server::{ModuleService, ModuleServiceServer};
use tonic::{Request, Response, Status};

/// Currency of the amounts in standard modules installed without one named (ISO 4217).
pub const DEFAULT_CURRENCY: &str = "USD";

/// The audit action of a call refused for a missing scope.
pub const ACCESS_DENIED_ACTION: &str = "customization.access.denied";

/// The module-definition service.
#[derive(Debug, Clone)]
pub struct ModuleApi {
    store: ModuleStore,
    db: Database,
    audit: AuditRecorder,
    auth: Arc<dyn Authenticator>,
    default_currency: String,
}

fn required_key(key: &str) -> Result<(), Error> {
    if key.is_empty() { Err(Violation::new("key", "required", "a module key is required").into()) } else { Ok(()) }
}

impl ModuleApi {
    /// Builds the service over the local module store of `db`, auditing changes and refusals
    /// with `audit`; standard modules are installed with amounts in [`DEFAULT_CURRENCY`].
    pub fn local(db: Database, audit: AuditRecorder, clock: SharedClock, auth: Arc<dyn Authenticator>) -> Self {
        let store = ModuleStore::new(db.clone(), audit.clone(), clock.clone());
        Self { store, db, audit, auth, default_currency: DEFAULT_CURRENCY.to_owned() }
    }

    /// The same service, installing standard modules with amounts in `currency` (ISO 4217).
    pub fn with_default_currency(mut self, currency: impl Into<String>) -> Self {
        self.default_currency = currency.into();
        self
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> ModuleServiceServer<Self> {
        ModuleServiceServer::new(self)
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
            let denial = ScopeDenial { action: ACCESS_DENIED_ACTION, resource: "customization.api", scope, rpc };
            self.audit.record_scope_denial(&self.db, &principal, &ctx, denial).await?;
            return Err(denied.into());
        }
        Ok((principal, ctx))
    }

    /// Installs the standard catalog when `org` has none of it (by the platform, not the caller
    /// who happened to read first).
    async fn install_if_missing(&self, org: OrgId, ctx: &RequestContext) -> Result<(), Error> {
        self.store.ensure_standard(org, &self.default_currency, ctx).await.map(|_| ())
    }

    /// Module `key` of `org`, installing the standard catalog first when `key` is a standard
    /// module the organization has never had.
    async fn module(&self, org: OrgId, key: &str, ctx: &RequestContext) -> Result<StoredModule, Error> {
        required_key(key)?;
        match self.store.get_module(org, key).await {
            Err(Error::NotFound { .. }) if STANDARD_MODULE_KEYS.contains(&key) => {
                self.install_if_missing(org, ctx).await?;
                self.store.get_module(org, key).await
            }
            other => other,
        }
    }
}

#[tonic::async_trait]
impl ModuleService for ModuleApi {
    async fn list_modules(
        &self,
        request: Request<pb::ListModulesRequest>,
    ) -> Result<Response<pb::ListModulesResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "ListModules").await?;
        let req = request.into_inner();
        let size = paging::page_size(req.page_size)?;
        let org = principal.org_id;
        let mut modules = self.store.list_modules(org).await?;
        if needs_standard_catalog(&modules) {
            self.install_if_missing(org, &ctx).await?;
            modules = self.store.list_modules(org).await?;
        }
        // Keys are lower snake case, so the last key of a page is its own token.
        let (page, next_page_token) =
            paging::page(modules, size, &req.page_token, |t| Some(t.to_owned()), |m| m.definition.key.clone())?;
        Ok(Response::new(pb::ListModulesResponse {
            modules: page.iter().map(encode::module_to_pb).collect(),
            next_page_token,
        }))
    }

    async fn get_module(
        &self,
        request: Request<pb::GetModuleRequest>,
    ) -> Result<Response<pb::GetModuleResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "GetModule").await?;
        let req = request.into_inner();
        let stored = self.module(principal.org_id, &req.key, &ctx).await?;
        let module = if req.version == 0 || req.version == stored.definition.version {
            encode::module_to_pb(&stored)
        } else {
            let version = self.store.module_at_version(principal.org_id, &req.key, req.version).await?;
            encode::definition_to_pb(&stored, &version.definition, version.changed_at)
        };
        Ok(Response::new(pb::GetModuleResponse { module: Some(module) }))
    }

    async fn list_module_versions(
        &self,
        request: Request<pb::ListModuleVersionsRequest>,
    ) -> Result<Response<pb::ListModuleVersionsResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::READ, "ListModuleVersions").await?;
        let req = request.into_inner();
        let size = paging::page_size(req.page_size)?;
        let stored = self.module(principal.org_id, &req.key, &ctx).await?;
        let versions = self.store.module_versions(principal.org_id, &req.key).await?;
        let (page, next_page_token) =
            paging::page(versions, size, &req.page_token, |t| t.parse::<u32>().ok(), |v| v.definition.version)?;
        Ok(Response::new(pb::ListModuleVersionsResponse {
            versions: page.iter().map(|v| encode::version_to_pb(&stored, v)).collect(),
            next_page_token,
        }))
    }

    async fn create_module(
        &self,
        request: Request<pb::CreateModuleRequest>,
    ) -> Result<Response<pb::CreateModuleResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::ADMIN, "CreateModule").await?;
        let req = request.into_inner();
        let definition = req
            .module
            .ok_or_else(|| Error::from(Violation::new("module", "required", "the definition is required")))?;
        let def = decode::module_from_pb(definition, ModuleKind::Custom).map_err(Error::from)?;
        // Lookups to standard modules (accounts, contacts) must resolve in a new organization.
        self.install_if_missing(principal.org_id, &ctx).await?;
        let created = self
            .store
            .create_module(principal.org_id, def.clone(), AuditActor::from(&principal), ctx)
            .await
            .map_err(|e| paths::to_request_paths(e, &def))?;
        Ok(Response::new(pb::CreateModuleResponse { module: Some(encode::module_to_pb(&created)) }))
    }

    async fn update_module(
        &self,
        request: Request<pb::UpdateModuleRequest>,
    ) -> Result<Response<pb::UpdateModuleResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::ADMIN, "UpdateModule").await?;
        let req = request.into_inner();
        let mut report = Report::new();
        if req.expected_version == 0 {
            report.add("expected_version", "required", "must be the version the change was made against");
        }
        let Some(mut definition) = req.module else {
            report.add("module", "required", "the whole new definition is required");
            return Err(Error::from(report).into());
        };
        let stored = self.module(principal.org_id, &req.key, &ctx).await?;
        if definition.key.is_empty() {
            definition.key.clone_from(&req.key);
        }
        // The kind never changes; the store refuses a switch, so take it from what is stored.
        let decoded = decode::module_from_pb(definition, stored.definition.kind);
        if let Err(more) = &decoded {
            report.violations.extend(more.violations.iter().cloned());
        }
        report.into_result().map_err(Error::from)?;
        let def = decoded.map_err(Error::from)?;
        let updated = self
            .store
            .update_module(
                principal.org_id,
                &req.key,
                def.clone(),
                req.expected_version,
                AuditActor::from(&principal),
                ctx,
            )
            .await
            .map_err(|e| paths::to_request_paths(e, &def))?;
        Ok(Response::new(pb::UpdateModuleResponse { module: Some(encode::module_to_pb(&updated)) }))
    }

    async fn delete_module(
        &self,
        request: Request<pb::DeleteModuleRequest>,
    ) -> Result<Response<pb::DeleteModuleResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::ADMIN, "DeleteModule").await?;
        let req = request.into_inner();
        required_key(&req.key)?;
        self.store.delete_module(principal.org_id, &req.key, AuditActor::from(&principal), ctx).await?;
        Ok(Response::new(pb::DeleteModuleResponse {}))
    }

    async fn install_standard_modules(
        &self,
        request: Request<pb::InstallStandardModulesRequest>,
    ) -> Result<Response<pb::InstallStandardModulesResponse>, Status> {
        let (principal, ctx) = self.principal(&request, scopes::ADMIN, "InstallStandardModules").await?;
        let req = request.into_inner();
        let currency = if req.currency.is_empty() { self.default_currency.as_str() } else { req.currency.as_str() };
        let report = self.store.install_standard(principal.org_id, currency, AuditActor::from(&principal), ctx).await?;
        Ok(Response::new(pb::InstallStandardModulesResponse { created: report.created, reconciled: report.reconciled }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_key_is_invalid() {
        assert!(matches!(required_key(""), Err(Error::InvalidArgument { .. })));
        assert!(required_key("deals").is_ok());
    }
}
