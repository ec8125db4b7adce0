//! The key ring: the master key wraps one key per org, which wraps one key per data subject.
//!
//! Wrapped keys live in the `org_key` and `subject_key` tables; every method
//! takes the caller's connection or transaction, so a key is created in the same
//! transaction as the data it seals. Deleting a subject's row crypto-shreds
//! everything sealed with that subject's key.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use listone_core::db::{execute, insert_many, statement};
use listone_core::{OrgId, SubjectId};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use zeroize::Zeroizing;

use crate::{Aad, CryptoError, DataKey, MasterKey, WrappedKey};

/// AAD domain of an org key wrapped by the master key.
const ORG_KEY_DOMAIN: &str = "listone.org_key";
/// AAD domain of a subject key wrapped by its org key.
const SUBJECT_KEY_DOMAIN: &str = "listone.subject_key";

/// Master key, org keys and subject keys, stored wrapped in the database.
///
/// Unwrapped org keys are cached in memory. The cache is never trusted to
/// create anything: a key that encrypts new data (`org_key`, a new subject key)
/// is checked against the stored row first, so an org key created in a
/// transaction that later rolled back is never used. Reading existing subject
/// keys trusts the cache and reloads the org key only if unwrapping fails.
pub struct KeyRing {
    master: Arc<MasterKey>,
    org_keys: Mutex<HashMap<OrgId, CachedOrgKey>>,
}

/// An unwrapped org key and the stored form it came from.
struct CachedOrgKey {
    wrapped: WrappedKey,
    key: DataKey,
}

/// Most subjects [`KeyRing::existing_subject_keys`] reads at once (bound parameters stay well
/// under every engine's limit).
pub const MAX_SUBJECTS_PER_READ: usize = 500;

/// An `org_key` row.
struct StoredOrgKey {
    wrapped: WrappedKey,
    master_key_id: String,
}

impl KeyRing {
    /// A key ring whose org keys are wrapped by `master`.
    pub fn new(master: Arc<MasterKey>) -> KeyRing {
        KeyRing { master, org_keys: Mutex::new(HashMap::new()) }
    }

    /// The org's key, created on first use; racing creators converge on one stored key.
    pub async fn org_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        now: DateTime<Utc>,
    ) -> Result<DataKey, CryptoError> {
        let stored = match load_org_key(conn, org).await? {
            Some(stored) => stored,
            None => self.create_org_key(conn, org, now).await?,
        };
        self.unwrap_org_key(org, &stored)
    }

    /// The subject's key, created (wrapped by the org key) on first use.
    pub async fn subject_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
        now: DateTime<Utc>,
    ) -> Result<DataKey, CryptoError> {
        if let Some(key) = self.existing_subject_key(conn, org, subject).await? {
            return Ok(key);
        }
        let org_key = self.org_key(conn, org, now).await?;
        let (key, minted) = self.mint_subject_key(org, &org_key, subject, now)?;
        if insert_subject_key(conn, minted).await? {
            return Ok(key);
        }
        // Another creator won the race: theirs is the key.
        let stored = load_subject_key(conn, org, subject)
            .await?
            .ok_or_else(|| vanished("subject key disappeared right after it was created"))?;
        org_key.unwrap(&stored, &subject_key_context(org, subject))
    }

    /// A fresh key for `subject`, a subject id minted by the caller that no stored row names
    /// yet, wrapped by `org_key` (what [`KeyRing::org_key`] gave for `org`) in memory. Nothing is
    /// stored: the caller must pass the [`MintedSubjectKey`] to [`KeyRing::store_minted`] in the
    /// transaction that writes what the key sealed.
    pub fn mint_subject_key(
        &self,
        org: OrgId,
        org_key: &DataKey,
        subject: SubjectId,
        now: DateTime<Utc>,
    ) -> Result<(DataKey, MintedSubjectKey), CryptoError> {
        let key = DataKey::generate()?;
        let wrapped = org_key.wrap(&key, &subject_key_context(org, subject))?;
        Ok((key, MintedSubjectKey { org, subject, wrapped, created_at: now }))
    }

    /// Stores minted subject keys in multi-row inserts. A subject that already has a key fails
    /// the insert (its id was not fresh): a key is never silently replaced or shared.
    pub async fn store_minted<C: ConnectionTrait>(
        &self,
        conn: &C,
        keys: Vec<MintedSubjectKey>,
    ) -> Result<(), CryptoError> {
        let rows = keys
            .into_iter()
            .map(|k| {
                vec![
                    uuid(k.org.as_uuid()),
                    uuid(k.subject.as_uuid()),
                    Value::from(k.wrapped.to_bytes()),
                    Value::from(k.created_at),
                ]
            })
            .collect();
        let columns = ["org_id", "subject_id", "wrapped", "created_at"];
        insert_many(conn, "subject_key", &columns, rows).await.map_err(storage("create subject key"))?;
        Ok(())
    }

    /// The subject's key if it exists; `None` when it was never created or has been destroyed.
    pub async fn existing_subject_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
    ) -> Result<Option<DataKey>, CryptoError> {
        let Some(wrapped) = load_subject_key(conn, org, subject).await? else {
            return Ok(None);
        };
        self.unwrap_subject_key(conn, org, subject, &wrapped).await.map(Some)
    }

    /// The subject's key from its stored `subject_key.wrapped` bytes, which the caller read with
    /// its own row (a record joined to its subject's key: one query instead of two); `None` for
    /// a subject without a stored key (never created, or destroyed). The wrapped form is no
    /// secret: only the org key, which never leaves this crate, opens it.
    pub async fn open_stored_subject_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
        stored: Option<&[u8]>,
    ) -> Result<Option<DataKey>, CryptoError> {
        let Some(bytes) = stored else {
            return Ok(None);
        };
        let wrapped = WrappedKey::from_bytes(bytes)?;
        self.unwrap_subject_key(conn, org, subject, &wrapped).await.map(Some)
    }

    /// Unwraps a stored subject key with the org key: the cached one, else the stored one.
    async fn unwrap_subject_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
        wrapped: &WrappedKey,
    ) -> Result<DataKey, CryptoError> {
        let context = subject_key_context(org, subject);
        if let Some(key) = self.cached_org_key(org).and_then(|org_key| org_key.unwrap(wrapped, &context).ok()) {
            return Ok(key);
        }
        // Not cached, or cached from a row that no longer exists: reload from storage.
        let Some(stored) = load_org_key(conn, org).await? else {
            return Err(vanished("subject key exists but its org key does not"));
        };
        let org_key = self.unwrap_org_key(org, &stored)?;
        org_key.unwrap(wrapped, &context)
    }

    /// The existing keys of `subjects`, read [`MAX_SUBJECTS_PER_READ`] at a time: a page of
    /// records opens with one query instead of one per subject. Subjects without a key (never
    /// created, or destroyed) are absent from the map.
    pub async fn existing_subject_keys<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subjects: &[SubjectId],
    ) -> Result<HashMap<SubjectId, DataKey>, CryptoError> {
        let mut keys = HashMap::with_capacity(subjects.len());
        for chunk in subjects.chunks(MAX_SUBJECTS_PER_READ) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT subject_id, wrapped FROM subject_key WHERE org_id = $1 AND subject_id IN ({})",
                placeholders.join(", ")
            );
            let values = std::iter::once(uuid(org.as_uuid())).chain(chunk.iter().map(|s| uuid(s.as_uuid())));
            let stmt = statement(conn.get_database_backend(), &sql, values);
            let rows = conn.query_all_raw(stmt).await.map_err(storage("read subject keys"))?;
            for row in rows {
                let subject: uuid::Uuid = row.try_get("", "subject_id").map_err(storage("read subject keys"))?;
                let wrapped: Vec<u8> = row.try_get("", "wrapped").map_err(storage("read subject keys"))?;
                let subject = SubjectId::from_uuid(subject);
                let wrapped = WrappedKey::from_bytes(&wrapped)?;
                keys.insert(subject, self.unwrap_subject_key(conn, org, subject, &wrapped).await?);
            }
        }
        Ok(keys)
    }

    /// Deletes the subject's key (crypto-shredding); `true` if a key existed.
    pub async fn destroy_subject_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
    ) -> Result<bool, CryptoError> {
        let sql = "DELETE FROM subject_key WHERE org_id = $1 AND subject_id = $2";
        let deleted = execute(conn, sql, [uuid(org.as_uuid()), uuid(subject.as_uuid())])
            .await
            .map_err(storage("destroy subject key"))?;
        Ok(deleted > 0)
    }

    /// Deletes the org's key and every subject key under it (tenant deletion); `true` if the org key existed.
    pub async fn destroy_org_key<C: ConnectionTrait>(&self, conn: &C, org: OrgId) -> Result<bool, CryptoError> {
        let org_id = uuid(org.as_uuid());
        execute(conn, "DELETE FROM subject_key WHERE org_id = $1", [org_id.clone()])
            .await
            .map_err(storage("destroy subject keys"))?;
        let deleted = execute(conn, "DELETE FROM org_key WHERE org_id = $1", [org_id])
            .await
            .map_err(storage("destroy org key"))?;
        self.cache().remove(&org);
        Ok(deleted > 0)
    }

    /// Seals `plaintext` with the subject's key (created on first use), bound to `aad`.
    pub async fn seal_for_subject<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
        plaintext: &[u8],
        aad: &Aad,
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, CryptoError> {
        self.subject_key(conn, org, subject, now).await?.seal(plaintext, aad)
    }

    /// Opens data sealed for the subject; `None` once the subject's key is destroyed.
    pub async fn open_for_subject<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
        sealed: &[u8],
        aad: &Aad,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, CryptoError> {
        match self.existing_subject_key(conn, org, subject).await? {
            Some(key) => key.open(sealed, aad).map(Some),
            None => Ok(None),
        }
    }

    /// Generates, wraps and inserts an org key unless one exists, then reads back the winner.
    async fn create_org_key<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrgId,
        now: DateTime<Utc>,
    ) -> Result<StoredOrgKey, CryptoError> {
        let wrapped = self.master.wrap(&DataKey::generate()?, &org_key_context(org))?;
        let sql = "INSERT INTO org_key (org_id, wrapped, master_key_id, created_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (org_id) DO NOTHING";
        let master_key_id = self.master.key_id().as_str().to_owned();
        let values =
            [uuid(org.as_uuid()), Value::from(wrapped.to_bytes()), Value::from(master_key_id), Value::from(now)];
        execute(conn, sql, values).await.map_err(storage("create org key"))?;
        load_org_key(conn, org).await?.ok_or_else(|| vanished("org key disappeared right after it was created"))
    }

    /// Unwraps a stored org key, reusing the cached key when the stored form is unchanged.
    fn unwrap_org_key(&self, org: OrgId, stored: &StoredOrgKey) -> Result<DataKey, CryptoError> {
        let current = self.master.key_id();
        if stored.master_key_id != current.as_str() {
            return Err(CryptoError::MasterKeyMismatch {
                stored: stored.master_key_id.clone(),
                current: current.as_str().to_owned(),
            });
        }
        let mut cache = self.cache();
        if let Some(cached) = cache.get(&org).filter(|cached| cached.wrapped == stored.wrapped) {
            return Ok(cached.key.clone());
        }
        let key = self.master.unwrap(&stored.wrapped, &org_key_context(org))?;
        cache.insert(org, CachedOrgKey { wrapped: stored.wrapped.clone(), key: key.clone() });
        Ok(key)
    }

    fn cached_org_key(&self, org: OrgId) -> Option<DataKey> {
        self.cache().get(&org).map(|cached| cached.key.clone())
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<OrgId, CachedOrgKey>> {
        // A panic while holding the lock cannot leave a half-written entry behind, so keep going.
        self.org_keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("master_key_id", &self.master.key_id())
            .field("cached_org_keys", &self.cache().len())
            .finish()
    }
}

/// A subject key made by [`KeyRing::mint_subject_key`], wrapped by its org key and waiting
/// for [`KeyRing::store_minted`]. Holds no plaintext key.
pub struct MintedSubjectKey {
    org: OrgId,
    subject: SubjectId,
    wrapped: WrappedKey,
    created_at: DateTime<Utc>,
}

impl MintedSubjectKey {
    /// The org and subject the key is for.
    pub fn owner(&self) -> (OrgId, SubjectId) {
        (self.org, self.subject)
    }
}

impl fmt::Debug for MintedSubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedSubjectKey")
            .field("org", &self.org)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// What an org key is bound to when wrapped by the master key.
fn org_key_context(org: OrgId) -> Aad {
    Aad::new(ORG_KEY_DOMAIN).with("org", org.as_uuid().as_bytes())
}

/// What a subject key is bound to when wrapped by its org key.
fn subject_key_context(org: OrgId, subject: SubjectId) -> Aad {
    Aad::new(SUBJECT_KEY_DOMAIN).with("org", org.as_uuid().as_bytes()).with("subject", subject.as_uuid().as_bytes())
}

async fn load_org_key<C: ConnectionTrait>(conn: &C, org: OrgId) -> Result<Option<StoredOrgKey>, CryptoError> {
    let sql = "SELECT wrapped, master_key_id FROM org_key WHERE org_id = $1";
    let Some(row) = query_one(conn, sql, [uuid(org.as_uuid())]).await.map_err(storage("read org key"))? else {
        return Ok(None);
    };
    let wrapped: Vec<u8> = row.try_get("", "wrapped").map_err(storage("read org key"))?;
    let master_key_id: String = row.try_get("", "master_key_id").map_err(storage("read org key"))?;
    Ok(Some(StoredOrgKey { wrapped: WrappedKey::from_bytes(&wrapped)?, master_key_id }))
}

/// Stores a minted key unless its subject already has one; whether it was stored.
async fn insert_subject_key<C: ConnectionTrait>(conn: &C, key: MintedSubjectKey) -> Result<bool, CryptoError> {
    let sql = "INSERT INTO subject_key (org_id, subject_id, wrapped, created_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (org_id, subject_id) DO NOTHING";
    let values = [
        uuid(key.org.as_uuid()),
        uuid(key.subject.as_uuid()),
        Value::from(key.wrapped.to_bytes()),
        Value::from(key.created_at),
    ];
    Ok(execute(conn, sql, values).await.map_err(storage("create subject key"))? == 1)
}

async fn load_subject_key<C: ConnectionTrait>(
    conn: &C,
    org: OrgId,
    subject: SubjectId,
) -> Result<Option<WrappedKey>, CryptoError> {
    let sql = "SELECT wrapped FROM subject_key WHERE org_id = $1 AND subject_id = $2";
    let values = [uuid(org.as_uuid()), uuid(subject.as_uuid())];
    let Some(row) = query_one(conn, sql, values).await.map_err(storage("read subject key"))? else {
        return Ok(None);
    };
    let wrapped: Vec<u8> = row.try_get("", "wrapped").map_err(storage("read subject key"))?;
    WrappedKey::from_bytes(&wrapped).map(Some)
}

async fn query_one<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<Option<QueryResult>, DbErr> {
    conn.query_one_raw(statement(conn.get_database_backend(), sql, values)).await
}

fn uuid(id: uuid::Uuid) -> Value {
    Value::from(id)
}

fn storage(operation: &'static str) -> impl Fn(DbErr) -> CryptoError {
    move |source| CryptoError::Storage { operation, source }
}

/// A row missing where the key ring just wrote or found one (a concurrent deletion).
fn vanished(what: &'static str) -> CryptoError {
    CryptoError::Storage { operation: "find a key", source: DbErr::RecordNotFound(what.to_owned()) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn master_key_cannot_open_an_org_key_bound_to_another_org() {
        let master = MasterKey::generate().unwrap();
        let (a, b) = (OrgId::new(), OrgId::new());
        let wrapped = master.wrap(&DataKey::generate().unwrap(), &org_key_context(a)).unwrap();
        assert!(master.unwrap(&wrapped, &org_key_context(a)).is_ok());
        assert!(matches!(master.unwrap(&wrapped, &org_key_context(b)), Err(CryptoError::KeyWrap)));
    }

    #[test]
    fn subject_key_context_binds_both_org_and_subject() {
        let org_key = DataKey::generate().unwrap();
        let (a, b, s, s2) = (OrgId::new(), OrgId::new(), SubjectId::new(), SubjectId::new());
        let wrapped = org_key.wrap(&DataKey::generate().unwrap(), &subject_key_context(a, s)).unwrap();
        assert!(org_key.unwrap(&wrapped, &subject_key_context(a, s)).is_ok());
        assert!(matches!(org_key.unwrap(&wrapped, &subject_key_context(b, s)), Err(CryptoError::KeyWrap)));
        assert!(matches!(org_key.unwrap(&wrapped, &subject_key_context(a, s2)), Err(CryptoError::KeyWrap)));
    }

    #[test]
    fn org_and_subject_contexts_never_coincide() {
        let id = uuid::Uuid::now_v7();
        let org_ctx = org_key_context(OrgId::from_uuid(id));
        let subject_ctx = subject_key_context(OrgId::from_uuid(id), SubjectId::from_uuid(id));
        assert_ne!(org_ctx, subject_ctx);
    }

    #[test]
    fn cache_reuses_the_key_for_the_same_stored_form_and_rejects_another_master_key() {
        let master = Arc::new(MasterKey::generate().unwrap());
        let ring = KeyRing::new(Arc::clone(&master));
        let org = OrgId::new();
        let stored = StoredOrgKey {
            wrapped: master.wrap(&DataKey::generate().unwrap(), &org_key_context(org)).unwrap(),
            master_key_id: master.key_id().as_str().to_owned(),
        };
        let first = ring.unwrap_org_key(org, &stored).unwrap();
        let second = ring.unwrap_org_key(org, &stored).unwrap();
        assert_eq!(first.secret(), second.secret());
        assert!(format!("{ring:?}").contains("cached_org_keys: 1"));

        let other = KeyRing::new(Arc::new(MasterKey::generate().unwrap()));
        assert!(matches!(other.unwrap_org_key(org, &stored), Err(CryptoError::MasterKeyMismatch { .. })));
    }

    #[test]
    fn a_replaced_org_key_row_is_not_served_from_cache() {
        let master = Arc::new(MasterKey::generate().unwrap());
        let ring = KeyRing::new(Arc::clone(&master));
        let org = OrgId::new();
        let stored = |key: &DataKey| StoredOrgKey {
            wrapped: master.wrap(key, &org_key_context(org)).unwrap(),
            master_key_id: master.key_id().as_str().to_owned(),
        };
        let (old, new) = (DataKey::generate().unwrap(), DataKey::generate().unwrap());
        assert_eq!(ring.unwrap_org_key(org, &stored(&old)).unwrap().secret(), old.secret());
        assert_eq!(ring.unwrap_org_key(org, &stored(&new)).unwrap().secret(), new.secret());
        assert_eq!(ring.cached_org_key(org).unwrap().secret(), new.secret());
    }
}
