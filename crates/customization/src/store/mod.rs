//! The module-definition store: each org's modules as versioned JSON definitions in
//! `module_def`, every accepted version in `module_def_version`, each change committed with its
//! audit event in one transaction.
//!
//! - Every method takes the org first and filters by it; another org's module answers
//!   NOT_FOUND exactly like a missing one.
//! - Definitions are validated as a whole against the org's catalog read in the same
//!   transaction, so lookups to the org's other modules resolve and every problem is reported
//!   at once (INVALID_ARGUMENT, one violation per problem).
//! - The store assigns versions (1 on create, previous + 1 on change) and decides which fields
//!   are standard (from the stored definition), whatever the caller sent.
//! - Deleting a custom module keeps its history rows: they are the record of what the org
//!   defined and when, and history is keyed by module id, so a new module reusing the key starts
//!   a history of its own.

mod cache;
mod plan;
mod rows;
mod write;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use listone_audit::{AuditActor, AuditRecorder};
use listone_core::{Database, Error, ModuleId, OrgId, SharedClock, UserId};

use crate::module::ModuleDef;

/// Most custom modules one org may define; keeps catalogs (loaded whole for validation) small.
pub const MAX_CUSTOM_MODULES_PER_ORG: usize = 200;

/// One module of an org as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredModule {
    /// Tenant.
    pub org_id: OrgId,
    /// Id, stable for the module's life (records point at it).
    pub id: ModuleId,
    /// The current definition; its `version` is the optimistic-concurrency version.
    pub definition: ModuleDef,
    /// When the module was created.
    pub created_at: DateTime<Utc>,
    /// When the definition last changed.
    pub updated_at: DateTime<Utc>,
}

/// One accepted version of a module definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleVersion {
    /// The definition as accepted; its `version` numbers it.
    pub definition: ModuleDef,
    /// The user who made the change; `None` for the platform or a service client (the audit
    /// log names those).
    pub changed_by: Option<UserId>,
    /// When it was accepted.
    pub changed_at: DateTime<Utc>,
}

/// What [`ModuleStore::install_standard`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// Keys of the standard modules created.
    pub created: Vec<String>,
    /// Keys of the standard modules that gained missing standard fields.
    pub reconciled: Vec<String>,
}

impl InstallReport {
    /// Whether the org already had the whole catalog.
    pub fn is_noop(&self) -> bool {
        self.created.is_empty() && self.reconciled.is_empty()
    }
}

/// Whether an organization's modules lack the standard catalog entirely (a new organization):
/// standard modules cannot be deleted, so having none means they were never installed.
pub fn needs_standard_catalog(modules: &[StoredModule]) -> bool {
    !modules.iter().any(|m| m.definition.kind == crate::module::ModuleKind::Standard)
}

/// The module definitions of every org.
#[derive(Debug, Clone)]
pub struct ModuleStore {
    db: Database,
    audit: AuditRecorder,
    clock: SharedClock,
    definitions: Arc<cache::DefinitionCache>,
}

fn not_found() -> Error {
    Error::NotFound { resource: "module" }
}

/// The `changed_by` column is a UUID: a user's id, or the nil UUID for the platform and for
/// service clients (whose ids are strings); the audit entry names every actor exactly.
fn changed_by(actor: &AuditActor) -> uuid::Uuid {
    match (actor.kind, actor.id.as_deref()) {
        (listone_audit::ActorKind::User, Some(id)) => uuid::Uuid::parse_str(id).unwrap_or_default(),
        _ => uuid::Uuid::nil(),
    }
}

impl ModuleStore {
    /// A store recording every change with `audit`.
    pub fn new(db: Database, audit: AuditRecorder, clock: SharedClock) -> Self {
        Self { db, audit, clock, definitions: Arc::default() }
    }

    /// The module `key` of `org`; NOT_FOUND when absent or another org's.
    pub async fn get_module(&self, org: OrgId, key: &str) -> Result<StoredModule, Error> {
        rows::find(self.db.conn(), org, key).await?.ok_or_else(not_found)
    }

    /// The module with id `id` of `org` (records point at modules by id); NOT_FOUND when absent
    /// or another org's.
    pub async fn get_module_by_id(&self, org: OrgId, id: ModuleId) -> Result<StoredModule, Error> {
        rows::find_by_id(self.db.conn(), org, id).await?.ok_or_else(not_found)
    }

    /// Module `id` of `org` at `version`, the version the caller just read beside it (e.g. with
    /// a record joined to its module): from memory when already parsed, else read. A module
    /// that is gone is NOT_FOUND; one changed since is returned as it now is.
    pub async fn definition(&self, org: OrgId, id: ModuleId, version: u32) -> Result<Arc<StoredModule>, Error> {
        if let Some(module) = self.definitions.at_version(org, id, version) {
            return Ok(module);
        }
        let module = Arc::new(self.get_module_by_id(org, id).await?);
        self.definitions.keep(Arc::clone(&module));
        Ok(module)
    }

    /// The definition of module `key` of `org` this store parsed last, from memory only and
    /// possibly outdated: a guess for a caller that checks it against the version it then reads
    /// (the record store builds a read's audit entry from it before the read). `None` when the
    /// store has not seen the module.
    pub fn last_known(&self, org: OrgId, key: &str) -> Option<Arc<StoredModule>> {
        self.definitions.last_kept(org, key)
    }

    /// Every module of `org`, ordered by key.
    pub async fn list_modules(&self, org: OrgId) -> Result<Vec<StoredModule>, Error> {
        rows::all(self.db.conn(), org).await
    }

    /// Every module of `org`, ordered by key, as it now is: one light query for each module's
    /// current version, with the parsed definitions taken from memory where the cache holds that
    /// version. When one is missing or changed, the whole catalog is read and parsed again (one
    /// query) and kept. What record writes validate against, batch after batch.
    pub async fn catalog(&self, org: OrgId) -> Result<Vec<Arc<StoredModule>>, Error> {
        let current = rows::versions_of(self.db.conn(), org).await?;
        let cached: Option<Vec<Arc<StoredModule>>> =
            current.iter().map(|(id, version)| self.definitions.at_version(org, *id, *version)).collect();
        if let Some(modules) = cached {
            return Ok(modules);
        }
        let modules: Vec<Arc<StoredModule>> = self.list_modules(org).await?.into_iter().map(Arc::new).collect();
        for module in &modules {
            self.definitions.keep(Arc::clone(module));
        }
        Ok(modules)
    }

    /// Installs the standard catalog (amounts in `currency`) when `org` has none of it, by the
    /// platform actor, and says whether this call installed it. Organizations get the catalog
    /// when they are created; this covers ones created before it existed or by other paths, so
    /// every API that names modules can call it on a miss. Concurrent first calls converge: the
    /// loser of the race finds the catalog installed, or completes what is still missing.
    pub async fn ensure_standard(
        &self,
        org: OrgId,
        currency: &str,
        ctx: &listone_audit::RequestContext,
    ) -> Result<bool, Error> {
        if !needs_standard_catalog(&self.list_modules(org).await?) {
            return Ok(false);
        }
        let platform = AuditActor { kind: listone_audit::ActorKind::System, id: None };
        match self.install_standard(org, currency, platform.clone(), ctx.clone()).await {
            Ok(report) => Ok(!report.is_noop()),
            Err(_) if !needs_standard_catalog(&self.list_modules(org).await?) => Ok(false),
            Err(_) => self.install_standard(org, currency, platform, ctx.clone()).await.map(|r| !r.is_noop()),
        }
    }

    /// Every accepted version of module `key` of `org`, oldest first.
    pub async fn module_versions(&self, org: OrgId, key: &str) -> Result<Vec<ModuleVersion>, Error> {
        let module = self.get_module(org, key).await?;
        rows::versions(self.db.conn(), org, module.id, None).await
    }

    /// Version `version` of module `key` of `org`; NOT_FOUND when either is unknown.
    pub async fn module_at_version(&self, org: OrgId, key: &str, version: u32) -> Result<ModuleVersion, Error> {
        let module = self.get_module(org, key).await?;
        rows::versions(self.db.conn(), org, module.id, Some(version))
            .await?
            .into_iter()
            .next()
            .ok_or(Error::NotFound { resource: "module_version" })
    }
}

#[cfg(test)]
mod tests {
    use listone_audit::ActorKind;

    use super::*;

    #[test]
    fn only_users_with_uuid_ids_are_recorded_as_changed_by() {
        let id = uuid::Uuid::now_v7();
        let user = AuditActor { kind: ActorKind::User, id: Some(id.to_string()) };
        assert_eq!(changed_by(&user), id);
        let service = AuditActor { kind: ActorKind::Service, id: Some(id.to_string()) };
        assert!(changed_by(&service).is_nil());
        let odd = AuditActor { kind: ActorKind::User, id: Some("admin-1".into()) };
        assert!(changed_by(&odd).is_nil());
        assert!(changed_by(&AuditActor { kind: ActorKind::System, id: None }).is_nil());
    }

    fn stored(kind: crate::module::ModuleKind) -> StoredModule {
        let mut definition = crate::standard::standard_modules("EUR").remove(0);
        definition.kind = kind;
        StoredModule {
            org_id: OrgId::new(),
            id: ModuleId::new(),
            definition,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn an_org_without_standard_modules_needs_the_catalog() {
        use crate::module::ModuleKind::{Custom, Standard};
        assert!(needs_standard_catalog(&[]));
        assert!(needs_standard_catalog(&[stored(Custom)]));
        assert!(!needs_standard_catalog(&[stored(Custom), stored(Standard)]));
    }
}
