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

/// Definitions by (org, module id).
#[derive(Debug, Default)]
pub(crate) struct DefinitionCache {
    entries: Mutex<HashMap<(OrgId, ModuleId), Arc<StoredModule>>>,
}

impl DefinitionCache {
    /// The cached definition of module `id` of `org` if it is at `version`.
    pub(crate) fn at_version(&self, org: OrgId, id: ModuleId, version: u32) -> Option<Arc<StoredModule>> {
        self.lock().get(&(org, id)).filter(|m| m.definition.version == version).cloned()
    }

    /// Keeps `module`, replacing an older version of it.
    pub(crate) fn keep(&self, module: Arc<StoredModule>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_DEFINITIONS {
            entries.clear();
        }
        entries.insert((module.org_id, module.id), module);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(OrgId, ModuleId), Arc<StoredModule>>> {
        // A panic while holding the lock cannot leave a half-written entry behind.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
