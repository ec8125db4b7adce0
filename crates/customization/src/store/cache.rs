//! Parsed module definitions kept in memory by (org, module id), each checked against the
//! version the caller read with its row: a reader that already knows the module's current
//! version (a record joined to its module) skips reading and parsing the definition again. A
//! version the cache does not hold is read from the database, so a changed definition is seen by
//! the next read that carries its new version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use listone_core::{ModuleId, OrgId};

use super::StoredModule;

/// Most definitions kept; past it the cache starts over (definitions are cheap to read again).
pub(crate) const MAX_CACHED_DEFINITIONS: usize = 4096;

/// Definitions by (org, module id), and which module id a key named last.
#[derive(Debug, Default)]
pub(crate) struct DefinitionCache {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    by_id: HashMap<(OrgId, ModuleId), Arc<StoredModule>>,
    by_key: HashMap<(OrgId, String), ModuleId>,
}

impl DefinitionCache {
    /// The cached definition of module `id` of `org` if it is at `version`.
    pub(crate) fn at_version(&self, org: OrgId, id: ModuleId, version: u32) -> Option<Arc<StoredModule>> {
        self.lock().by_id.get(&(org, id)).filter(|m| m.definition.version == version).cloned()
    }

    /// The definition of the module keyed `key` in `org` kept last, whatever its version.
    pub(crate) fn last_kept(&self, org: OrgId, key: &str) -> Option<Arc<StoredModule>> {
        let entries = self.lock();
        let id = entries.by_key.get(&(org, key.to_owned()))?;
        entries.by_id.get(&(org, *id)).cloned()
    }

    /// Keeps `module`, replacing an older version of it.
    pub(crate) fn keep(&self, module: Arc<StoredModule>) {
        let mut entries = self.lock();
        if entries.by_id.len() >= MAX_CACHED_DEFINITIONS {
            entries.by_id.clear();
            entries.by_key.clear();
        }
        entries.by_key.insert((module.org_id, module.definition.key.clone()), module.id);
        entries.by_id.insert((module.org_id, module.id), module);
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave a half-written entry behind.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{Layout, ModuleDef, ModuleKind};

    fn module(org: OrgId, id: ModuleId, key: &str, version: u32) -> Arc<StoredModule> {
        let definition = ModuleDef {
            key: key.into(),
            label_singular: key.into(),
            label_plural: key.into(),
            kind: ModuleKind::Custom,
            is_subject: false,
            subject_link: None,
            fields: Vec::new(),
            layout: Layout::default(),
            version,
        };
        Arc::new(StoredModule { org_id: org, id, definition, created_at: Utc::now(), updated_at: Utc::now() })
    }

    #[test]
    fn the_last_kept_definition_of_a_key_is_the_latest_of_its_org() {
        let cache = DefinitionCache::default();
        let (org, other) = (OrgId::new(), OrgId::new());
        let id = ModuleId::new();
        assert!(cache.last_kept(org, "deals").is_none());
        cache.keep(module(org, id, "deals", 1));
        cache.keep(module(org, id, "deals", 2));
        let last = cache.last_kept(org, "deals").map(|m| m.definition.version);
        assert_eq!(last, Some(2));
        assert!(cache.last_kept(other, "deals").is_none(), "another org's key is not this one's");
        assert!(cache.at_version(org, id, 1).is_none());
        // A module recreated under the same key replaces the old one for the key.
        let recreated = ModuleId::new();
        cache.keep(module(org, recreated, "deals", 1));
        assert_eq!(cache.last_kept(org, "deals").map(|m| m.id), Some(recreated));
    }
}
