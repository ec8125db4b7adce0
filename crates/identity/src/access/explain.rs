//! Why a principal can or cannot use a right on a record (and one of its fields): the ordered
//! steps the engine went through and the answer. Plain data for an RPC to return; it names ids,
//! role keys, module and field keys only, never a field's value.

use chrono::{DateTime, Utc};
use listone_core::{RecordId, UserId};
use serde::{Deserialize, Serialize};

use super::decide::{RecordFacts, field_access};
use super::policy::{
    AccessPolicy, FieldAllowList, ObjectRight, OrgDefault, RecordAccess, ShareAccess, ShareRecipient, ShareTarget,
};
use super::principal::AccessPrincipal;

/// One step of an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The principal belongs to another organization: nothing else is looked at.
    OtherOrg,
    /// These roles of the principal grant the object right.
    ObjectRightGranted {
        /// The right.
        right: ObjectRight,
        /// The role keys granting it.
        by: Vec<String>,
    },
    /// No role of the principal grants the object right: nothing else is looked at.
    ObjectRightMissing {
        /// The right.
        right: ObjectRight,
    },
    /// Creating touches no existing record, so record access is not needed.
    RecordAccessNotNeeded,
    /// The module's org-wide default, and whether it alone opens the record.
    OrgDefault {
        /// The default in force.
        default: OrgDefault,
        /// Whether it grants the access needed.
        grants: bool,
    },
    /// The principal owns the record.
    Owner,
    /// A report of the principal owns the record.
    OwnedByReport {
        /// The owner.
        owner: UserId,
        /// The principal's roles with roles below them, through which reports are seen.
        through: Vec<String>,
    },
    /// Neither the principal nor a report owns the record.
    NotOwned {
        /// The owner, if the record has one.
        owner: Option<UserId>,
    },
    /// A sharing rule for this module reaches the principal and covers the record.
    SharedByRule {
        /// Position of the rule in the policy.
        rule: usize,
        /// Whom the rule shares with.
        with: ShareTarget,
        /// The access it gives.
        access: ShareAccess,
        /// Whether that access is enough for what was asked.
        enough: bool,
    },
    /// A sharing rule reaches the principal but its criteria do not match the record.
    RuleDoesNotMatch {
        /// Position of the rule in the policy.
        rule: usize,
    },
    /// The record is shared by hand with the principal until `until`.
    ManualShare {
        /// Position of the share in the policy.
        share: usize,
        /// Whom it is shared with.
        with: ShareRecipient,
        /// The access it gives.
        access: ShareAccess,
        /// Whether that access is enough for what was asked.
        enough: bool,
        /// When it expires.
        until: DateTime<Utc>,
    },
    /// A manual share of the record with the principal has expired and counts for nothing.
    ExpiredShareIgnored {
        /// Position of the share in the policy.
        share: usize,
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// Nothing gives the principal the record access needed.
    NoRecordAccess,
    /// Field-level security for the field asked about.
    Field {
        /// The field key.
        field: String,
        /// The access the request needs on the field.
        needs: RecordAccess,
        /// Role keys allow-listing the field for reading (or writing, which implies it).
        readable_by: Vec<String>,
        /// Role keys allow-listing the field for writing.
        writable_by: Vec<String>,
        /// Whether the field passes.
        granted: bool,
    },
    /// Deleting a record is not a question about one of its fields.
    FieldNotConsidered,
}

/// The steps and the answer to "may this principal use this right on this record (and field)?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The module asked about.
    pub module: String,
    /// The right asked about.
    pub right: ObjectRight,
    /// The record asked about.
    pub record: RecordId,
    /// The field asked about, if any.
    pub field: Option<String>,
    /// What the engine looked at, in order.
    pub steps: Vec<Step>,
    /// The answer.
    pub allowed: bool,
}

/// Explains the decision for `right` on `record` of `module`, and for `field` when given: read
/// and export need the field readable, create and update need it writable, delete ignores it.
pub fn explain(
    policy: &AccessPolicy,
    principal: &AccessPrincipal,
    module: &str,
    right: ObjectRight,
    record: &RecordFacts,
    field: Option<&str>,
    now: DateTime<Utc>,
) -> Explanation {
    let mut steps = Vec::new();
    let record_ok = record_steps(policy, principal, module, right, record, now, &mut steps);
    let field_ok = match field {
        Some(field) if record_ok => field_step(policy, principal, module, right, field, &mut steps),
        _ => true,
    };
    Explanation {
        module: module.to_owned(),
        right,
        record: record.id,
        field: field.map(str::to_owned),
        steps,
        allowed: record_ok && field_ok,
    }
}

/// Pushes the record-level steps and returns whether record access is granted. Unlike `decide`
/// it lists every ground that applies, not only the first.
fn record_steps(
    policy: &AccessPolicy,
    principal: &AccessPrincipal,
    module: &str,
    right: ObjectRight,
    record: &RecordFacts,
    now: DateTime<Utc>,
    steps: &mut Vec<Step>,
) -> bool {
    if principal.org != policy.org {
        steps.push(Step::OtherOrg);
        return false;
    }
    let mut needed = vec![ObjectRight::Read];
    if right != ObjectRight::Read {
        needed.push(right);
    }
    for right in needed {
        let by = policy.granted_by(principal, module, right);
        if by.is_empty() {
            steps.push(Step::ObjectRightMissing { right });
            return false;
        }
        steps.push(Step::ObjectRightGranted { right, by });
    }
    let Some(need) = right.record_access() else {
        steps.push(Step::RecordAccessNotNeeded);
        return true;
    };
    let default = policy.org_default(module);
    let mut granted = default.grants(need);
    steps.push(Step::OrgDefault { default, grants: granted });

    match record.owner {
        Some(owner) if owner == principal.user => {
            steps.push(Step::Owner);
            granted = true;
        }
        Some(owner) if principal.subordinates.contains(&owner) => {
            steps.push(Step::OwnedByReport { owner, through: policy.managing_roles(principal) });
            granted = true;
        }
        owner => steps.push(Step::NotOwned { owner }),
    }

    for (rule_at, rule) in policy.rules.iter().enumerate() {
        if rule.module != module || !policy.target_includes(&rule.share_with, principal) {
            continue;
        }
        if rule.criteria.matches(&record.fields) {
            let enough = rule.access.covers(need);
            granted |= enough;
            steps.push(Step::SharedByRule {
                rule: rule_at,
                with: rule.share_with.clone(),
                access: rule.access,
                enough,
            });
        } else {
            steps.push(Step::RuleDoesNotMatch { rule: rule_at });
        }
    }

    for (share_at, share) in policy.shares.iter().enumerate() {
        if share.module != module || share.record != record.id || !share.reaches(principal) {
            continue;
        }
        if share.is_active(now) {
            let enough = share.access.covers(need);
            granted |= enough;
            steps.push(Step::ManualShare {
                share: share_at,
                with: share.with,
                access: share.access,
                enough,
                until: share.expires_at,
            });
        } else {
            steps.push(Step::ExpiredShareIgnored { share: share_at, expired_at: share.expires_at });
        }
    }

    if !granted {
        steps.push(Step::NoRecordAccess);
    }
    granted
}

/// Pushes the field step and returns whether the field passes.
fn field_step(
    policy: &AccessPolicy,
    principal: &AccessPrincipal,
    module: &str,
    right: ObjectRight,
    field: &str,
    steps: &mut Vec<Step>,
) -> bool {
    let needs = match right {
        ObjectRight::Read | ObjectRight::Export => RecordAccess::Read,
        ObjectRight::Create | ObjectRight::Update => RecordAccess::Write,
        ObjectRight::Delete => {
            steps.push(Step::FieldNotConsidered);
            return true;
        }
    };
    let roles_where = |allowed: fn(&FieldAllowList, &str) -> bool| {
        policy
            .profiles_of(principal)
            .filter(|r| r.field_lists(module).any(|list| allowed(list, field)))
            .map(|r| r.key.clone())
            .collect()
    };
    let readable_by = roles_where(FieldAllowList::allows_read);
    let writable_by = roles_where(FieldAllowList::allows_write);
    let access = field_access(policy, principal, module, field);
    let granted = match needs {
        RecordAccess::Read => access.read,
        RecordAccess::Write => access.write,
    };
    steps.push(Step::Field { field: field.to_owned(), needs, readable_by, writable_by, granted });
    granted
}
