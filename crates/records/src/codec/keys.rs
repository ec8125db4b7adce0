//! The keys one request unwrapped, and the database-facing encode / decode entry points.
//!
//! [`RequestKeys`] is a plain struct owned by the request: each org and subject key is unwrapped
//! from the key ring at most once per request and zeroized when the request drops it. There is
//! deliberately no process-wide cache of subject keys, so an erased subject stops decoding as
//! soon as the next request starts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use listone_core::{Error, ModuleId, OrgId, SubjectId};
use listone_crypto::{DataKey, KeyRing, MintedSubjectKey};
use listone_customization::{FieldValue, ModuleDef, Protection};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value as Json};

use super::decode::{DecodedRecord, OpeningKeys, SubjectKeyState, decode_record, needed_scopes};
use super::encode::{SealedRecord, SealingKeys, encode_record, sealing_scope};
use super::index::blind_index_for;
use super::{KeyScope, RecordPlace};
use crate::query::BlindIndexer;

/// Keys unwrapped for one request, by org and subject; dropped (and zeroized) with the request.
///
/// Use one per request and transaction: keys the key ring creates (the org key on first use, a
/// subject key on first write) live in the caller's transaction, so a cache that outlived a
/// rollback could hand out a key that was never stored. Writing for a subject whose key was
/// destroyed creates a fresh key; the store checks the erasure ledger before writing.
pub struct RequestKeys<'r> {
    ring: &'r KeyRing,
    now: DateTime<Utc>,
    orgs: HashMap<OrgId, DataKey>,
    /// `None`: the subject has no key (erased, or never had sealed data).
    subjects: HashMap<(OrgId, SubjectId), Option<DataKey>>,
    /// Subjects minted by this request ([`RequestKeys::mint_subject`]): no key to look for.
    minted: HashSet<(OrgId, SubjectId)>,
    /// Keys made for minted subjects, to be stored with what they sealed ([`RequestKeys::store_minted`]).
    unstored: Vec<MintedSubjectKey>,
}

impl<'r> RequestKeys<'r> {
    /// An empty cache over `ring`; `now` is the request's time, used when a key is created.
    pub fn new(ring: &'r KeyRing, now: DateTime<Utc>) -> Self {
        Self { ring, now, orgs: HashMap::new(), subjects: HashMap::new(), minted: HashSet::new(), unstored: Vec::new() }
    }

    /// The org's key (created on first use).
    pub async fn org_key<C: ConnectionTrait>(&mut self, conn: &C, org: OrgId) -> Result<DataKey, Error> {
        if let Some(key) = self.orgs.get(&org) {
            return Ok(key.clone());
        }
        let key = self.ring.org_key(conn, org, self.now).await?;
        self.orgs.insert(org, key.clone());
        Ok(key)
    }

    /// The subject's key for reading; `None` once it has been destroyed.
    pub async fn subject_key_to_read<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
    ) -> Result<Option<DataKey>, Error> {
        if let Some(known) = self.subjects.get(&(org, subject)) {
            return Ok(known.clone());
        }
        let key = self.ring.existing_subject_key(conn, org, subject).await?;
        self.subjects.insert((org, subject), key.clone());
        Ok(key)
    }

    /// Caches the subject's key from the `subject_key.wrapped` bytes read with its record
    /// (`None`: the subject has no key), so [`Self::subject_key_to_read`] needs no query.
    pub async fn accept_stored_subject_key<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
        stored: Option<&[u8]>,
    ) -> Result<(), Error> {
        if !self.subjects.contains_key(&(org, subject)) {
            let key = self.ring.open_stored_subject_key(conn, org, subject, stored).await?;
            self.subjects.insert((org, subject), key);
        }
        Ok(())
    }

    /// Loads the keys of `subjects` not cached yet in one query (a page of records), so that
    /// [`Self::subject_key_to_read`] answers from the cache; a subject without a key is cached
    /// as having none.
    pub async fn prefetch_subjects<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        org: OrgId,
        subjects: impl IntoIterator<Item = SubjectId>,
    ) -> Result<(), Error> {
        let mut missing: Vec<SubjectId> =
            subjects.into_iter().filter(|s| !self.subjects.contains_key(&(org, *s))).collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let mut found = self.ring.existing_subject_keys(conn, org, &missing).await?;
        for subject in missing {
            self.subjects.insert((org, subject), found.remove(&subject));
        }
        Ok(())
    }

    /// A new data subject of `org` (a record of a subject module being created): its key, made
    /// on first write, is stored without first looking for one.
    pub fn mint_subject(&mut self, org: OrgId) -> SubjectId {
        let subject = SubjectId::new();
        self.minted.insert((org, subject));
        subject
    }

    /// The subject's key for sealing new data, created on first use.
    pub async fn subject_key_to_write<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        org: OrgId,
        subject: SubjectId,
    ) -> Result<DataKey, Error> {
        if let Some(Some(key)) = self.subjects.get(&(org, subject)) {
            return Ok(key.clone());
        }
        let key = if self.minted.remove(&(org, subject)) {
            let org_key = self.org_key(conn, org).await?;
            let (key, unstored) = self.ring.mint_subject_key(org, &org_key, subject, self.now)?;
            self.unstored.push(unstored);
            key
        } else {
            self.ring.subject_key(conn, org, subject, self.now).await?
        };
        self.subjects.insert((org, subject), Some(key.clone()));
        Ok(key)
    }

    /// Stores the keys made for the minted subjects among `subjects` since the last call, in one
    /// insert: call it in the transaction that writes what they sealed, before it commits. Keys
    /// of other minted subjects (their records were refused) are dropped unstored.
    pub async fn store_minted<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        subjects: &HashSet<(OrgId, SubjectId)>,
    ) -> Result<(), Error> {
        let mut keep = std::mem::take(&mut self.unstored);
        keep.retain(|key| subjects.contains(&key.owner()));
        if keep.is_empty() {
            return Ok(());
        }
        Ok(self.ring.store_minted(conn, keep).await?)
    }

    /// Forgets a subject's key, e.g. right after the request destroyed it.
    pub fn forget_subject(&mut self, org: OrgId, subject: SubjectId) {
        self.subjects.remove(&(org, subject));
    }

    /// A [`BlindIndexer`] for filters on the searchable fields of `module` (id `module_id`).
    pub async fn blind_indexer<'m, C: ConnectionTrait>(
        &mut self,
        conn: &C,
        org: OrgId,
        module_id: ModuleId,
        module: &'m ModuleDef,
    ) -> Result<ModuleBlindIndex<'m>, Error> {
        Ok(ModuleBlindIndex { org_key: self.org_key(conn, org).await?, module_id, module })
    }
}

impl fmt::Debug for RequestKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestKeys")
            .field("orgs", &self.orgs.len())
            .field("subjects", &self.subjects.len())
            .field("unstored", &self.unstored.len())
            .finish()
    }
}

/// Encodes a record's validated values for storage, loading only the keys it needs (the org key
/// for searchable fields or subject-less records, the subject key, created on first use).
pub async fn seal_record<C: ConnectionTrait>(
    conn: &C,
    keys: &mut RequestKeys<'_>,
    place: &RecordPlace,
    module: &ModuleDef,
    values: &BTreeMap<String, FieldValue>,
) -> Result<SealedRecord, Error> {
    let present = |wanted: fn(Protection) -> bool| {
        values.iter().any(|(key, value)| {
            !value.is_null() && module.field(key).is_some_and(|field| wanted(field.tags.protection))
        })
    };
    let any_sealed = present(|p| p.is_sealed());
    let any_searchable = present(|p| p == Protection::Searchable);
    let org_key = if any_searchable || (any_sealed && sealing_scope(place) == KeyScope::Org) {
        Some(keys.org_key(conn, place.org).await?)
    } else {
        None
    };
    let subject_key = match (any_sealed, place.subject) {
        (true, Some(subject)) => Some(keys.subject_key_to_write(conn, place.org, subject).await?),
        _ => None,
    };
    encode_record(place, module, values, SealingKeys { org: org_key.as_ref(), subject: subject_key.as_ref() })
}

/// Decodes the `requested` fields of a record's stored `data` text, loading only the keys the
/// sealed ones among them need. Values sealed under an erased subject's key are
/// [`super::Decoded::Erased`].
pub async fn open_record<C: ConnectionTrait>(
    conn: &C,
    keys: &mut RequestKeys<'_>,
    place: &RecordPlace,
    module: &ModuleDef,
    data: &str,
    requested: &[&str],
) -> Result<DecodedRecord, Error> {
    let data: Map<String, Json> =
        serde_json::from_str(data).map_err(|_| Error::internal("record data is not a JSON object"))?;
    let scopes = needed_scopes(module, &data, requested)?;
    let org_key = if scopes.contains(&KeyScope::Org) { Some(keys.org_key(conn, place.org).await?) } else { None };
    let subject_key = match (scopes.contains(&KeyScope::Subject), place.subject) {
        (true, Some(subject)) => keys.subject_key_to_read(conn, place.org, subject).await?,
        _ => None,
    };
    let subject = match (&subject_key, scopes.contains(&KeyScope::Subject) && place.subject.is_some()) {
        (Some(key), _) => SubjectKeyState::Present(key),
        (None, true) => SubjectKeyState::Erased,
        (None, false) => SubjectKeyState::NotLoaded,
    };
    decode_record(place, module, &data, requested, OpeningKeys { org: org_key.as_ref(), subject })
}

/// Blind indexes of one module's searchable fields under one org key, for the query compiler.
pub struct ModuleBlindIndex<'m> {
    org_key: DataKey,
    module_id: ModuleId,
    module: &'m ModuleDef,
}

impl BlindIndexer for ModuleBlindIndex<'_> {
    fn blind_index(&self, field_key: &str, plaintext: &str) -> Result<String, Error> {
        let field = self
            .module
            .field(field_key)
            .ok_or_else(|| Error::internal(format!("blind index asked for unknown field {field_key}")))?;
        Ok(blind_index_for(&self.org_key, self.module_id, field, plaintext))
    }
}

impl fmt::Debug for ModuleBlindIndex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleBlindIndex").field("module_id", &self.module_id).finish_non_exhaustive()
    }
}
