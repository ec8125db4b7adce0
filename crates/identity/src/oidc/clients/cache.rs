//! A short-lived in-memory cache of what client authentication reads: the client, its stored
//! secret digest and the org's digest key. The token endpoint authenticates a client on every
//! request; without the cache that is two queries and an org-key unwrap each time.
//!
//! Entries live [`CREDENTIAL_CACHE_TTL`] on the platform clock. Changes made through this
//! process's [`super::ClientStore`] (disable, new secret, redirect URIs) drop the entry at once;
//! changes made by another replica take effect there within the TTL.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};
use listone_crypto::{BlindIndex, BlindIndexKey};

use super::Client;

/// How long a cached credential is trusted.
pub const CREDENTIAL_CACHE_TTL: Duration = Duration::seconds(5);
/// Most clients cached; beyond it the cache starts over (a flood of distinct ids cannot grow it).
const MAX_ENTRIES: usize = 10_000;

/// What authenticating one client needs.
#[derive(Clone)]
pub(super) struct Credential {
    pub client: Client,
    /// The stored HMAC of the secret and the key that makes it; `None` for public clients.
    pub digest: Option<(BlindIndex, BlindIndexKey)>,
    pub loaded_at: DateTime<Utc>,
}

/// Credentials by client id.
#[derive(Default)]
pub(super) struct CredentialCache {
    entries: RwLock<HashMap<String, Credential>>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.read().map_or(0, |e| e.len());
        write!(f, "CredentialCache({len} entries)")
    }
}

impl CredentialCache {
    /// The fresh entry for `id` at `now`.
    pub fn get(&self, id: &str, now: DateTime<Utc>) -> Option<Credential> {
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(id).filter(|c| now - c.loaded_at < CREDENTIAL_CACHE_TTL && c.loaded_at <= now).cloned()
    }

    /// Keeps `credential`.
    pub fn put(&self, credential: Credential) {
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(credential.client.id.clone(), credential);
    }

    /// Drops `id` (it changed).
    pub fn forget(&self, id: &str) {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(id);
    }
}
