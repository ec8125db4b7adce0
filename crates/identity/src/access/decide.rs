//! Single-record decisions computed straight from the policy, the in-memory evaluation of a
//! compiled predicate, and field-level access. `decide` deliberately does not go through
//! `compile`: the two are independent readings of the policy that the property tests compare.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use listone_core::{RecordId, UserId};
use serde::{Deserialize, Serialize};

use super::criteria::Value;
use super::policy::{AccessPolicy, FieldAllowList, ObjectRight, OrgDefault};
use super::predicate::AccessPredicate;
use super::principal::AccessPrincipal;

/// What the engine knows of one record: its id, its owner and its field values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFacts {
    /// The record.
    pub id: RecordId,
    /// Its owner; a record without one is nobody's own.
    pub owner: Option<UserId>,
    /// Every field of the record's module: `Some(value)`, or `None` when empty. A key absent
    /// here is a field the module does not have, and any condition on it fails.
    pub fields: BTreeMap<String, Option<Value>>,
}

impl RecordFacts {
    /// A record with no field values yet.
    pub fn new(id: RecordId, owner: Option<UserId>) -> Self {
        Self { id, owner, fields: BTreeMap::new() }
    }

    /// The same record with `field` set to `value` (`None` for empty).
    #[must_use]
    pub fn with(mut self, field: impl Into<String>, value: Option<Value>) -> Self {
        self.fields.insert(field.into(), value);
        self
    }
}

/// Why a decision came out as it did: the first ground found, in the engine's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ground", rename_all = "snake_case")]
pub enum Ground {
    /// Denied: the principal belongs to another organization than the policy.
    OtherOrg,
    /// Denied: no role of the principal grants this object right (read is always needed too).
    NoObjectRight {
        /// The right that is missing.
        right: ObjectRight,
    },
    /// Allowed: creating needs only the object right.
    CreateRight,
    /// Allowed: the module's org-wide default opens every record.
    OrgDefault {
        /// The default in force.
        default: OrgDefault,
    },
    /// Allowed: the principal owns the record.
    Owner,
    /// Allowed: one of the principal's reports owns the record.
    OwnedByReport,
    /// Allowed: a sharing rule shares the record with the principal.
    SharingRule {
        /// Position of the rule in the policy.
        rule: usize,
    },
    /// Allowed: the record is shared by hand with the principal and the share has not expired.
    ManualShare {
        /// Position of the share in the policy.
        share: usize,
    },
    /// Denied: nothing gives the principal access to this record.
    NoRecordAccess,
}

/// The answer for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the principal may use the right on the record.
    pub allowed: bool,
    /// Why.
    pub ground: Ground,
}

impl Decision {
    fn allow(ground: Ground) -> Self {
        Self { allowed: true, ground }
    }

    fn deny(ground: Ground) -> Self {
        Self { allowed: false, ground }
    }
}

/// Whether `principal` may use `right` on `record` of `module` at `now`, read from the policy.
pub fn decide(
    policy: &AccessPolicy,
    principal: &AccessPrincipal,
    module: &str,
    right: ObjectRight,
    record: &RecordFacts,
    now: DateTime<Utc>,
) -> Decision {
    if principal.org != policy.org {
        return Decision::deny(Ground::OtherOrg);
    }
    for needed in [ObjectRight::Read, right] {
        if !policy.has_right(principal, module, needed) {
            return Decision::deny(Ground::NoObjectRight { right: needed });
        }
    }
    let Some(need) = right.record_access() else { return Decision::allow(Ground::CreateRight) };
    let default = policy.org_default(module);
    if default.grants(need) {
        return Decision::allow(Ground::OrgDefault { default });
    }
    if record.owner == Some(principal.user) {
        return Decision::allow(Ground::Owner);
    }
    if principal.owns_or_manages(record.owner) {
        return Decision::allow(Ground::OwnedByReport);
    }
    let by_rule = policy.rules.iter().position(|rule| {
        rule.module == module
            && rule.access.covers(need)
            && policy.target_includes(&rule.share_with, principal)
            && rule.criteria.matches(&record.fields)
    });
    if let Some(rule) = by_rule {
        return Decision::allow(Ground::SharingRule { rule });
    }
    let by_share = policy.shares.iter().position(|share| {
        share.module == module
            && share.record == record.id
            && share.access.covers(need)
            && share.is_active(now)
            && share.reaches(principal)
    });
    match by_share {
        Some(share) => Decision::allow(Ground::ManualShare { share }),
        None => Decision::deny(Ground::NoRecordAccess),
    }
}

/// Whether `record` satisfies a compiled predicate, as the SQL translation must.
pub fn eval(predicate: &AccessPredicate, record: &RecordFacts) -> bool {
    match predicate {
        AccessPredicate::True => true,
        AccessPredicate::False => false,
        AccessPredicate::OwnerIn(owners) => record.owner.is_some_and(|o| owners.contains(&o)),
        AccessPredicate::RecordIn(records) => records.contains(&record.id),
        AccessPredicate::Field(condition) => condition.holds(record.fields.get(&condition.field)),
        AccessPredicate::And(parts) => parts.iter().all(|p| eval(p, record)),
        AccessPredicate::Or(parts) => parts.iter().any(|p| eval(p, record)),
    }
}

/// What a principal may do with one field of a module's records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldAccess {
    /// The field may be shown.
    pub read: bool,
    /// The field may be set on create or update.
    pub write: bool,
}

/// Field-level security: reading needs the module's read right and a role allow-listing the
/// field for reading or writing; writing needs create or update on the module and a role
/// allow-listing the field for writing. Rights are the union over the principal's roles.
pub fn field_access(policy: &AccessPolicy, principal: &AccessPrincipal, module: &str, field: &str) -> FieldAccess {
    let listed = |allowed: fn(&FieldAllowList, &str) -> bool| {
        policy.profiles_of(principal).any(|r| r.field_lists(module).any(|list| allowed(list, field)))
    };
    let can_change = policy.has_right(principal, module, ObjectRight::Create)
        || policy.has_right(principal, module, ObjectRight::Update);
    FieldAccess {
        read: policy.has_right(principal, module, ObjectRight::Read) && listed(FieldAllowList::allows_read),
        write: can_change && listed(FieldAllowList::allows_write),
    }
}
