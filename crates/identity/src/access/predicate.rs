//! The compiled form of the policy for lists and queries: an engine-neutral boolean tree over a
//! record's facts (owner, id, field values) that the records crate turns into SQL.
//!
//! Rules for a translator, so SQL answers as [`super::decide::eval`] does in memory:
//! - `Field` on a field the module does not have is `FALSE`;
//! - every comparison with an empty (`NULL`) value is false, `ne` included (`col <> v` does
//!   that on its own); only `is_empty` holds for `NULL`;
//! - a value of another kind than the column's never matches; text compares byte for byte.
//!
//! There is no `Not`: the tree stays monotone so SQL's three-valued logic and the in-memory
//! two-valued one cannot drift apart.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use listone_core::{RecordId, UserId};
use serde::{Deserialize, Serialize};

use super::criteria::{Condition, Criteria};
use super::policy::AccessPolicy;
use super::policy::ObjectRight;
use super::principal::AccessPrincipal;

/// Which records of a module a principal may act on, as a boolean tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessPredicate {
    /// Every record.
    True,
    /// No record.
    False,
    /// Records owned by one of these users.
    OwnerIn(BTreeSet<UserId>),
    /// These records.
    RecordIn(BTreeSet<RecordId>),
    /// Records whose field satisfies the condition.
    Field(Condition),
    /// Every part holds.
    And(Vec<AccessPredicate>),
    /// At least one part holds.
    Or(Vec<AccessPredicate>),
}

impl AccessPredicate {
    /// The conjunction of `parts`, simplified: nested `and`s flattened, `True` dropped, `False`
    /// absorbing, one part returned as is.
    pub fn and(parts: impl IntoIterator<Item = AccessPredicate>) -> Self {
        let mut kept = Vec::new();
        for part in parts {
            match part {
                AccessPredicate::True => {}
                AccessPredicate::False => return AccessPredicate::False,
                AccessPredicate::And(inner) => kept.extend(inner),
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => AccessPredicate::True,
            1 => kept.pop().unwrap_or(AccessPredicate::True),
            _ => AccessPredicate::And(kept),
        }
    }

    /// The disjunction of `parts`, simplified: nested `or`s flattened, `False` and empty sets
    /// dropped, `True` absorbing, one part returned as is.
    pub fn or(parts: impl IntoIterator<Item = AccessPredicate>) -> Self {
        let mut kept = Vec::new();
        for part in parts {
            match part {
                AccessPredicate::False => {}
                AccessPredicate::True => return AccessPredicate::True,
                AccessPredicate::Or(inner) => kept.extend(inner),
                other => kept.push(other),
            }
        }
        match kept.len() {
            0 => AccessPredicate::False,
            1 => kept.pop().unwrap_or(AccessPredicate::False),
            _ => AccessPredicate::Or(kept),
        }
    }

    /// Records owned by `owners`; `False` when there are none.
    pub fn owner_in(owners: BTreeSet<UserId>) -> Self {
        if owners.is_empty() { AccessPredicate::False } else { AccessPredicate::OwnerIn(owners) }
    }

    /// The records `records`; `False` when there are none.
    pub fn record_in(records: BTreeSet<RecordId>) -> Self {
        if records.is_empty() { AccessPredicate::False } else { AccessPredicate::RecordIn(records) }
    }

    /// The predicate of a sharing rule's criteria, with conditions no record can meet folded
    /// to `False`.
    pub fn from_criteria(criteria: &Criteria) -> Self {
        match criteria {
            Criteria::And(all) => AccessPredicate::and(all.iter().map(AccessPredicate::from_criteria)),
            Criteria::Or(any) => AccessPredicate::or(any.iter().map(AccessPredicate::from_criteria)),
            Criteria::Where(condition) if condition.is_unsatisfiable() => AccessPredicate::False,
            Criteria::Where(condition) => AccessPredicate::Field(condition.clone()),
        }
    }
}

/// What a list of `module` must filter by for `principal` to use `right` on its records at
/// `now`: `False` without the object right (or for another org), `True` when the org-wide default
/// opens every record, otherwise owned, reports', rule-shared and manually shared records.
pub fn compile(
    policy: &AccessPolicy,
    principal: &AccessPrincipal,
    module: &str,
    right: ObjectRight,
    now: DateTime<Utc>,
) -> AccessPredicate {
    if !policy.has_right(principal, module, right) {
        return AccessPredicate::False;
    }
    let Some(need) = right.record_access() else {
        // Creating touches no existing record: the object right is the whole answer.
        return AccessPredicate::True;
    };
    if policy.org_default(module).grants(need) {
        return AccessPredicate::True;
    }
    let mut owners = principal.subordinates.clone();
    owners.insert(principal.user);
    let rules = policy
        .rules
        .iter()
        .filter(|r| r.module == module && r.access.covers(need) && policy.target_includes(&r.share_with, principal))
        .map(|r| AccessPredicate::from_criteria(&r.criteria));
    let shared: BTreeSet<RecordId> = policy
        .shares
        .iter()
        .filter(|s| s.module == module && s.access.covers(need) && s.is_active(now) && s.reaches(principal))
        .map(|s| s.record)
        .collect();
    AccessPredicate::or(
        std::iter::once(AccessPredicate::owner_in(owners)).chain(rules).chain([AccessPredicate::record_in(shared)]),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::access::criteria::{Test, Value};

    fn field(key: &str) -> AccessPredicate {
        AccessPredicate::Field(Condition::new(key, Test::IsEmpty))
    }

    #[test]
    fn constants_fold_and_nesting_flattens() {
        use AccessPredicate as P;
        assert_eq!(P::and([P::True, field("a")]), field("a"));
        assert_eq!(P::and([field("a"), P::False]), P::False);
        assert_eq!(P::or([P::False, field("a")]), field("a"));
        assert_eq!(P::or([field("a"), P::True]), P::True);
        assert_eq!(P::and([]), P::True);
        assert_eq!(P::or([]), P::False);
        assert_eq!(
            P::or([P::Or(vec![field("a"), field("b")]), field("c")]),
            P::Or(vec![field("a"), field("b"), field("c")])
        );
        assert_eq!(P::owner_in(BTreeSet::new()), P::False);
        assert_eq!(P::record_in(BTreeSet::new()), P::False);
    }

    #[test]
    fn criteria_no_record_can_meet_compile_to_false() {
        let impossible = Criteria::And(vec![
            Criteria::test("a", Test::IsEmpty),
            Criteria::test("name", Test::Gt(Value::Text("m".into()))),
        ]);
        assert_eq!(AccessPredicate::from_criteria(&impossible), AccessPredicate::False);
        assert_eq!(AccessPredicate::from_criteria(&Criteria::test("a", Test::In(vec![]))), AccessPredicate::False);
        assert_eq!(AccessPredicate::from_criteria(&Criteria::And(vec![])), AccessPredicate::True);
        assert_eq!(AccessPredicate::from_criteria(&Criteria::Or(vec![])), AccessPredicate::False);
    }
}
