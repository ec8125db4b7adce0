//! The changes: installing (and reconciling) the standard catalog, creating, updating and
//! deleting modules. Each runs in one transaction with its history row and audit event.

use listone_audit::{AuditActor, AuditEvent, Outcome, RequestContext};
use listone_core::{Error, ModuleId, OrgId};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::plan::{
    adopt_standard_flags, creation_details, lookups_targeting, merge, reconcile_standard, summarize_change,
};
use super::{InstallReport, MAX_CUSTOM_MODULES_PER_ORG, ModuleStore, StoredModule, changed_by, not_found, rows};
use crate::error::{Report, Violation};
use crate::module::{ModuleDef, ModuleKind};
use crate::standard::standard_modules;
use crate::validate::{validate_change, validate_module};

/// Resource name of audit entries about module definitions.
const AUDIT_RESOURCE: &str = "customization.module";

fn stale_version() -> Error {
    Error::Aborted {
        reason: "STALE_VERSION",
        message: "the module changed since it was read; read it again".to_owned(),
    }
}

/// The violations of one module of a batch, their paths prefixed with `modules.<key>.`.
fn prefixed(key: &str, result: Result<(), Report>) -> Vec<Violation> {
    match result {
        Ok(()) => Vec::new(),
        Err(report) => report
            .violations
            .into_iter()
            .map(|v| Violation { field: format!("modules.{key}.{}", v.field), ..v })
            .collect(),
    }
}

/// A standard module to add to the org, or an existing one with missing standard fields.
enum Step {
    Create(ModuleDef),
    Reconcile(Box<Reconciliation>),
}

/// An existing standard module and its definition with the missing standard fields added.
struct Reconciliation {
    id: ModuleId,
    old: ModuleDef,
    new: ModuleDef,
    added: Vec<String>,
    skipped: Vec<String>,
}

impl Step {
    /// The definition the org will have after this step.
    fn definition(&self) -> &ModuleDef {
        match self {
            Step::Create(def) => def,
            Step::Reconcile(r) => &r.new,
        }
    }
}

impl ModuleStore {
    /// Creates the standard modules `org` lacks (amounts in `currency`) and adds missing
    /// standard fields to the ones it has, by stable key, in one transaction. Custom modules
    /// and custom fields are never touched; a second call changes nothing and records nothing.
    pub async fn install_standard(
        &self,
        org: OrgId,
        currency: &str,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<InstallReport, Error> {
        let txn = self.db.begin().await?;
        let existing: Vec<StoredModule> = rows::all_locked(&txn, org).await?;
        let mut steps = Vec::new();
        for catalog in standard_modules(currency) {
            match existing.iter().find(|m| m.definition.key == catalog.key) {
                None => steps.push(Step::Create(catalog)),
                // A standard key is reserved, so an org module holding it is standard; the guard
                // only keeps reconciliation away from anything else.
                Some(stored) if stored.definition.kind == ModuleKind::Standard => {
                    if let Some(r) = reconcile_standard(&stored.definition, &catalog) {
                        let mut new = r.module;
                        new.version = next_version(stored.definition.version)?;
                        steps.push(Step::Reconcile(Box::new(Reconciliation {
                            id: stored.id,
                            old: stored.definition.clone(),
                            new,
                            added: r.added,
                            skipped: r.skipped,
                        })));
                    }
                }
                Some(_) => {}
            }
        }
        // Validate against the catalog as it will be, so new modules' lookups to each other
        // resolve; a bad currency code is reported here, before anything is written.
        let future: Vec<ModuleDef> = existing
            .iter()
            .map(|m| m.definition.clone())
            .filter(|d| !steps.iter().any(|s| s.definition().key == d.key))
            .chain(steps.iter().map(|s| s.definition().clone()))
            .collect();
        let mut report = Report::new();
        for step in &steps {
            let violations = match step {
                Step::Create(def) => prefixed(&def.key, validate_module(def, &future)),
                Step::Reconcile(r) => {
                    prefixed(&r.new.key, merge(validate_change(&r.old, &r.new), validate_module(&r.new, &future)))
                }
            };
            report.violations.extend(violations);
        }
        report.into_result()?;

        let now = self.clock.now().timestamp_micros();
        let by = changed_by(&actor);
        let mut outcome = InstallReport::default();
        for step in steps {
            match step {
                Step::Create(def) => {
                    let id = ModuleId::new();
                    rows::insert(&txn, org, id, &def, now).await?;
                    rows::insert_version(&txn, org, id, &def, by, now).await?;
                    let details = creation_details(&def);
                    self.record(&txn, org, id, "customization.module.created", &actor, &ctx, details).await?;
                    outcome.created.push(def.key);
                }
                Step::Reconcile(r) => {
                    let Reconciliation { id, old, new, added, skipped } = *r;
                    if !rows::replace(&txn, org, id, &new, old.version, now).await? {
                        return Err(rows::concurrent_change());
                    }
                    rows::insert_version(&txn, org, id, &new, by, now).await?;
                    let details = serde_json::json!({
                        "module": new.key,
                        "version": new.version,
                        "fields_added": added,
                        "fields_skipped": skipped,
                    });
                    self.record(&txn, org, id, "customization.module.reconciled", &actor, &ctx, details).await?;
                    outcome.reconciled.push(new.key);
                }
            }
        }
        txn.commit().await?;
        Ok(outcome)
    }

    /// Creates a custom module at version 1. The whole definition is validated against the
    /// org's other modules and every problem reported at once; a key the org already uses is
    /// ALREADY_EXISTS (`key`); past [`MAX_CUSTOM_MODULES_PER_ORG`] it is RESOURCE_EXHAUSTED.
    pub async fn create_module(
        &self,
        org: OrgId,
        def: ModuleDef,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<StoredModule, Error> {
        // The store numbers versions; whatever the caller sent, a new module starts at 1.
        let def = ModuleDef { version: 1, ..def };
        let txn = self.db.begin().await?;
        let catalog: Vec<ModuleDef> = rows::all_locked(&txn, org).await?.into_iter().map(|m| m.definition).collect();
        let mut report = Report::new();
        if def.kind != ModuleKind::Custom {
            report.add("kind", "custom_only", "only custom modules can be created; standard ones come with the org");
        }
        merge(report.into_result(), validate_module(&def, &catalog))?;
        if catalog.iter().any(|m| m.key == def.key) {
            return Err(Error::AlreadyExists { resource: "module", field: "key".to_owned() });
        }
        if rows::custom_count(&txn, org).await? >= MAX_CUSTOM_MODULES_PER_ORG {
            return Err(Error::ResourceExhausted { limit: "MAX_CUSTOM_MODULES_PER_ORG" });
        }
        let id = ModuleId::new();
        let now = self.clock.now().timestamp_micros();
        rows::insert(&txn, org, id, &def, now).await?;
        rows::insert_version(&txn, org, id, &def, changed_by(&actor), now).await?;
        self.record(&txn, org, id, "customization.module.created", &actor, &ctx, creation_details(&def)).await?;
        let stored = read_back(&txn, org, &def.key).await?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Replaces module `key`'s definition if it is still at `expected_version` (else ABORTED,
    /// `STALE_VERSION`). The change and the new definition are validated together and every
    /// problem reported at once. Which fields are standard comes from the stored definition.
    pub async fn update_module(
        &self,
        org: OrgId,
        key: &str,
        new_def: ModuleDef,
        expected_version: u32,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<StoredModule, Error> {
        let txn = self.db.begin().await?;
        let (stored, others) = take_module(rows::all_locked(&txn, org).await?, key)?;
        let old = stored.definition;
        if old.version != expected_version {
            return Err(stale_version());
        }
        let mut new = adopt_standard_flags(&old, new_def);
        new.version = next_version(old.version)?;
        merge(validate_change(&old, &new), validate_module(&new, &others))?;
        let now = self.clock.now().timestamp_micros();
        if !rows::replace(&txn, org, stored.id, &new, expected_version, now).await? {
            return Err(stale_version());
        }
        rows::insert_version(&txn, org, stored.id, &new, changed_by(&actor), now).await?;
        let details = summarize_change(&old, &new).to_details(key, new.version);
        self.record(&txn, org, stored.id, "customization.module.updated", &actor, &ctx, details).await?;
        let updated = read_back(&txn, org, key).await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Deletes custom module `key`. Refused (FAILED_PRECONDITION) for standard modules
    /// (`STANDARD_MODULE`), for a module another module's lookup targets (`MODULE_REFERENCED`,
    /// naming each `module.field`) and for a module that still has records (`MODULE_HAS_RECORDS`).
    /// The history rows are kept for audit.
    pub async fn delete_module(
        &self,
        org: OrgId,
        key: &str,
        actor: AuditActor,
        ctx: RequestContext,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        let (stored, others) = take_module(rows::all_locked(&txn, org).await?, key)?;
        if stored.definition.kind == ModuleKind::Standard {
            return Err(Error::FailedPrecondition {
                reason: "STANDARD_MODULE",
                message: "standard modules cannot be deleted".to_owned(),
            });
        }
        let referencing = lookups_targeting(&others, key);
        if !referencing.is_empty() {
            return Err(Error::FailedPrecondition {
                reason: "MODULE_REFERENCED",
                message: format!("lookup fields target this module: {}", referencing.join(", ")),
            });
        }
        // Records are data the org controls; dropping them with a definition change would be
        // an erasure without its ledger, so they must be deleted (or erased) first.
        if rows::record_count(&txn, org, stored.id).await? > 0 {
            return Err(Error::FailedPrecondition {
                reason: "MODULE_HAS_RECORDS",
                message: "the module still has records; delete them first".to_owned(),
            });
        }
        rows::delete(&txn, org, stored.id).await?;
        let details = serde_json::json!({ "module": key, "version": stored.definition.version });
        self.record(&txn, org, stored.id, "customization.module.deleted", &actor, &ctx, details).await?;
        txn.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn record<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        module: ModuleId,
        action: &str,
        actor: &AuditActor,
        ctx: &RequestContext,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(org, actor.clone(), action, Outcome::Allowed, self.clock.now())
            .with_resource(AUDIT_RESOURCE, Some(module.to_string()))
            .with_context(ctx.clone())
            .with_details(details);
        self.audit.record(conn, event).await.map(|_| ())
    }
}

/// Module `key` out of the org's modules, and the other modules' definitions; NOT_FOUND when
/// the org has no such module.
fn take_module(all: Vec<StoredModule>, key: &str) -> Result<(StoredModule, Vec<ModuleDef>), Error> {
    let mut found = None;
    let mut others = Vec::with_capacity(all.len());
    for module in all {
        if module.definition.key == key {
            found = Some(module);
        } else {
            others.push(module.definition);
        }
    }
    found.map(|m| (m, others)).ok_or_else(not_found)
}

fn next_version(version: u32) -> Result<u32, Error> {
    version.checked_add(1).ok_or_else(|| Error::internal("module version overflow"))
}

async fn read_back(txn: &DatabaseTransaction, org: OrgId, key: &str) -> Result<StoredModule, Error> {
    rows::find(txn, org, key).await?.ok_or_else(|| Error::internal("written module not readable"))
}
