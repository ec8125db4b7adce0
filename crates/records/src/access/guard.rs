//! [`AccessGuard`]: one caller's access policy applied to record operations. The record store
//! holds one when it acts for a user ([`crate::RecordStore::acting_for`]) and asks it at every
//! point where records are read, listed, counted, written or leave the store:
//!
//! - object rights first: a module the caller may not read (create, update, delete) is
//!   PERMISSION_DENIED `NO_OBJECT_RIGHT`, whether or not the module exists;
//! - record access for one record in memory ([`decide`] over the record's criteria fields): a
//!   record the caller cannot read is NOT_FOUND, exactly like a missing one; one it reads but
//!   may not change is PERMISSION_DENIED `RECORD_NOT_WRITABLE`;
//! - record access for lists and counts as a filter ([`access_filter`]) the query compiler ANDs
//!   with the caller's own;
//! - field-level security: unreadable fields are dropped from what is returned, a filter or sort
//!   on one is PERMISSION_DENIED `FIELD_NOT_READABLE`, and writing one the caller may not write
//!   is PERMISSION_DENIED `FIELD_NOT_WRITABLE`, each naming the field.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use listone_core::Error;
use listone_customization::ModuleDef;
use listone_identity::access::{
    AccessPolicy, AccessPrincipal, Decision, Ground, ObjectRight, RecordFacts, compile, decide, field_access,
};

use super::{AccessFilter, CriteriaFields, access_filter};
use crate::codec::DecodedRecord;
use crate::query::{FieldRef, Filter, SortKey};

/// A user's access policy and who they are to it, ready to guard record operations.
#[derive(Debug, Clone)]
pub struct AccessGuard {
    policy: Arc<AccessPolicy>,
    principal: AccessPrincipal,
}

impl AccessGuard {
    /// The guard of `principal` under `policy` (a policy of another organization grants nothing).
    pub fn new(policy: Arc<AccessPolicy>, principal: AccessPrincipal) -> Self {
        Self { policy, principal }
    }

    /// The policy applied.
    pub fn policy(&self) -> &AccessPolicy {
        &self.policy
    }

    /// Who the guard acts for.
    pub fn principal(&self) -> &AccessPrincipal {
        &self.principal
    }

    /// PERMISSION_DENIED `NO_OBJECT_RIGHT` unless the caller holds `right` on `module` (every
    /// right needs read too).
    pub fn require(&self, module: &str, right: ObjectRight) -> Result<(), Error> {
        if self.policy.has_right(&self.principal, module, right) {
            return Ok(());
        }
        Err(Error::PermissionDenied {
            reason: "NO_OBJECT_RIGHT",
            field: None,
            message: format!("no role of the caller grants {} on module {module}", right_name(right)),
        })
    }

    /// Whether the caller may read `field` of `module`.
    pub fn can_read(&self, module: &str, field: &str) -> bool {
        field_access(&self.policy, &self.principal, module, field).read
    }

    /// The caller's decision on one record at `now`: NOT_FOUND when it cannot read the record,
    /// PERMISSION_DENIED when it lacks the object right or reads the record but may not change it.
    pub fn check_record(
        &self,
        module: &str,
        right: ObjectRight,
        facts: &RecordFacts,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let decision = decide(&self.policy, &self.principal, module, right, facts, now);
        if decision.allowed {
            return Ok(());
        }
        match decision.ground {
            Ground::NoObjectRight { right } => self.require(module, right),
            _ if right != ObjectRight::Read && self.reads(module, facts, now).allowed => Err(Error::PermissionDenied {
                reason: "RECORD_NOT_WRITABLE",
                field: None,
                message: "the caller may read this record but not change or delete it".to_owned(),
            }),
            _ => Err(Error::NotFound { resource: "record" }),
        }
    }

    fn reads(&self, module: &str, facts: &RecordFacts, now: DateTime<Utc>) -> Decision {
        decide(&self.policy, &self.principal, module, ObjectRight::Read, facts, now)
    }

    /// Which records of `module` a list or count may return at `now`, as a filter over the
    /// module's criteria fields (FAILED_PRECONDITION `ACCESS_RULES_TOO_LARGE` when the policy
    /// cannot be expressed within the filter language's limits).
    pub fn list_filter(&self, module: &ModuleDef, now: DateTime<Utc>) -> Result<AccessFilter, Error> {
        let predicate = compile(&self.policy, &self.principal, &module.key, ObjectRight::Read, now);
        access_filter(&predicate, &CriteriaFields::of(module))
    }

    /// PERMISSION_DENIED `FIELD_NOT_WRITABLE` naming `{prefix}fields.<key>` for the first field of
    /// `module` among `keys` the caller may not write. Keys the module does not have are left to
    /// validation, which reports them as INVALID_ARGUMENT.
    pub fn check_writes<'a>(
        &self,
        module: &ModuleDef,
        keys: impl IntoIterator<Item = &'a String>,
        prefix: &str,
    ) -> Result<(), Error> {
        for key in keys {
            if module.field(key).is_some() && !field_access(&self.policy, &self.principal, &module.key, key).write {
                return Err(Error::PermissionDenied {
                    reason: "FIELD_NOT_WRITABLE",
                    field: Some(format!("{prefix}fields.{key}")),
                    message: format!("the caller may not write field {key}"),
                });
            }
        }
        Ok(())
    }

    /// PERMISSION_DENIED `FIELD_NOT_READABLE` for a filter or sort on a field of `module` the
    /// caller may not read: matching on a hidden value would reveal it one guess at a time.
    pub fn check_query(&self, module: &ModuleDef, filter: Option<&Filter>, sort: &[SortKey]) -> Result<(), Error> {
        let mut refs = Vec::new();
        if let Some(filter) = filter {
            custom_fields(filter, &mut refs);
        }
        refs.extend(sort.iter().filter_map(|s| match &s.field {
            FieldRef::Custom(key) => Some(key.as_str()),
            FieldRef::System(_) => None,
        }));
        match refs.into_iter().find(|key| module.field(key).is_some() && !self.can_read(&module.key, key)) {
            Some(key) => Err(Error::PermissionDenied {
                reason: "FIELD_NOT_READABLE",
                field: Some(key.to_owned()),
                message: format!("the caller may not read field {key}, so it cannot filter or sort by it"),
            }),
            None => Ok(()),
        }
    }

    /// `fields` without the fields of `module` the caller may not read (keys the module does not
    /// have stay, for the read to refuse them as it always does).
    pub fn readable<'a>(&self, module: &ModuleDef, fields: &[&'a str]) -> Vec<&'a str> {
        fields.iter().copied().filter(|key| module.field(key).is_none() || self.can_read(&module.key, key)).collect()
    }

    /// `record` without the fields of `module` the caller may not read.
    pub fn redact(&self, module: &ModuleDef, record: &mut DecodedRecord) {
        record.fields.retain(|key, _| self.can_read(&module.key, key));
    }
}

fn right_name(right: ObjectRight) -> &'static str {
    match right {
        ObjectRight::Read => "read",
        ObjectRight::Create => "create",
        ObjectRight::Update => "update",
        ObjectRight::Delete => "delete",
        ObjectRight::Export => "export",
    }
}

/// The custom field keys `filter` compares.
fn custom_fields<'a>(filter: &'a Filter, out: &mut Vec<&'a str>) {
    match filter {
        Filter::And(items) | Filter::Or(items) => items.iter().for_each(|f| custom_fields(f, out)),
        Filter::Cmp { field: FieldRef::Custom(key), .. } => out.push(key),
        Filter::Cmp { .. } => {}
    }
}
