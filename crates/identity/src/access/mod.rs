//! CRM access control as pure logic: an organization's [`AccessPolicy`] (object rights and field
//! allow-lists per role, role hierarchy, org-wide defaults, sharing rules, manual shares),
//! validated against a [`FieldCatalog`], and one engine reading it two ways that must agree:
//! [`compile()`] turns it into an [`AccessPredicate`] a list filters by (SQL comes later, in the
//! records crate), [`decide()`] answers for one record in memory. [`explain()`] says why.
//!
//! Everything fails closed: no roles, another org, a missing object right, a condition on an
//! unknown field, on an empty value (save `is_empty`) or with a value of the wrong kind grants
//! nothing.
//!
//! - [`policy`]: the policy as data (serde), rights, defaults, shares, hierarchy queries.
//! - [`validate`]: [`AccessPolicy::validate`] reports every problem at once; named limits.
//! - [`references`]: the user, group and record ids a policy names, resolved in its organization
//!   ([`AccessPolicy::check_references`]); records through the [`RecordCatalog`] port.
//! - [`criteria`]: the condition tree of sharing rules and typed [`Value`]s.
//! - [`principal`]: [`AccessPrincipal`], who asks, with roles, groups and reports resolved.
//! - [`predicate`]: [`AccessPredicate`] and [`compile()`].
//! - [`decide`](mod@decide): [`RecordFacts`], [`decide()`], [`eval`], [`field_access`].
//! - [`explain`](mod@explain): [`Explanation`], the ordered [`Step`]s behind an answer.
//! - [`store`]: [`AccessPolicyStore`], the stored policy per (org, app) and principal resolution.

pub mod criteria;
pub mod decide;
pub mod explain;
pub mod policy;
pub mod predicate;
pub mod principal;
pub mod references;
pub mod store;
pub mod validate;

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod spec_tests;

pub use criteria::{Condition, Criteria, Test, Value, ValueKind};
pub use decide::{Decision, FieldAccess, Ground, RecordFacts, decide, eval, field_access};
pub use explain::{Explanation, Step, explain};
pub use policy::{
    ANY, AccessPolicy, FieldAllowList, ManualShare, ObjectRight, OrgDefault, RecordAccess, RoleProfile,
    STARTER_ADMIN_ROLE, ShareAccess, ShareRecipient, ShareTarget, SharingRule,
};
pub use predicate::{AccessPredicate, compile};
pub use principal::AccessPrincipal;
pub use references::{PolicyReferences, RecordCatalog};
pub use store::{AccessPolicyStore, PolicyInForce, StoredPolicy};
pub use validate::{
    FieldCatalog, MAX_CRITERIA_CONDITIONS, MAX_CRITERIA_DEPTH, MAX_EXACT_NUMBER, MAX_IN_VALUES, MAX_MANUAL_SHARES,
    MAX_ROLES, MAX_SHARING_RULES, MAX_TEXT_VALUE_CHARS,
};
