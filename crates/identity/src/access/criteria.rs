//! Criteria for sharing rules: a small tree of typed field conditions joined by `and` / `or`.
//!
//! There is deliberately no `not`: every test on a missing, empty or wrongly typed value is false,
//! which matches SQL's `NULL` comparisons only while the tree stays monotone. With `not`, the
//! in-memory answer and the compiled SQL would disagree on empty fields.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kind of value a field holds, as far as access rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Text of any flavour (text, e-mail, picklist value, ...), compared exactly.
    Text,
    /// A signed 64-bit integer.
    Number,
    /// True or false.
    Bool,
    /// An instant in UTC.
    Time,
}

impl ValueKind {
    /// Whether values of this kind have an order that `lt`/`gt` may use. Text has none here:
    /// its order would depend on the database's collation, so SQL and memory could disagree.
    pub fn is_ordered(self) -> bool {
        matches!(self, ValueKind::Number | ValueKind::Time)
    }
}

/// A typed value in a condition or a record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Text, compared byte for byte.
    Text(String),
    /// An integer.
    Number(i64),
    /// A boolean.
    Bool(bool),
    /// An instant (RFC 3339 in JSON).
    Time(DateTime<Utc>),
}

impl Value {
    /// The kind of this value.
    pub fn kind(&self) -> ValueKind {
        match self {
            Value::Text(_) => ValueKind::Text,
            Value::Number(_) => ValueKind::Number,
            Value::Bool(_) => ValueKind::Bool,
            Value::Time(_) => ValueKind::Time,
        }
    }

    /// The order of two values of one ordered kind; `None` for different kinds or unordered ones,
    /// which every comparison then treats as false.
    fn order(&self, other: &Value) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => Some(a.cmp(b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// What a condition tests about one field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// Equal to the value (same kind).
    Eq(Value),
    /// Present, of the same kind, and different from the value.
    Ne(Value),
    /// Equal to one of the values.
    In(Vec<Value>),
    /// Less than (numbers and times only).
    Lt(Value),
    /// Less than or equal (numbers and times only).
    Lte(Value),
    /// Greater than (numbers and times only).
    Gt(Value),
    /// Greater than or equal (numbers and times only).
    Gte(Value),
    /// The field exists on the module and holds no value.
    IsEmpty,
}

impl Test {
    /// The values this test compares against, for validation.
    pub fn operands(&self) -> &[Value] {
        match self {
            Test::Eq(v) | Test::Ne(v) | Test::Lt(v) | Test::Lte(v) | Test::Gt(v) | Test::Gte(v) => {
                std::slice::from_ref(v)
            }
            Test::In(values) => values,
            Test::IsEmpty => &[],
        }
    }

    /// Whether this test orders values (`lt`, `lte`, `gt`, `gte`).
    pub fn is_ordering(&self) -> bool {
        matches!(self, Test::Lt(_) | Test::Lte(_) | Test::Gt(_) | Test::Gte(_))
    }
}

/// One test on one field, e.g. `region eq "EMEA"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Key of the field in the rule's module.
    pub field: String,
    /// What is tested.
    pub test: Test,
}

impl Condition {
    /// A condition on `field`.
    pub fn new(field: impl Into<String>, test: Test) -> Self {
        Self { field: field.into(), test }
    }

    /// Whether the condition holds for a field looked up in a record: `None` when the record's
    /// module has no such field (always false, even for `is_empty`), `Some(None)` when it is empty.
    pub fn holds(&self, slot: Option<&Option<Value>>) -> bool {
        let Some(slot) = slot else { return false };
        let Some(actual) = slot else { return matches!(self.test, Test::IsEmpty) };
        match &self.test {
            Test::Eq(v) => actual == v,
            Test::Ne(v) => actual.kind() == v.kind() && actual != v,
            Test::In(values) => values.contains(actual),
            Test::Lt(v) => actual.order(v).is_some_and(|o| o.is_lt()),
            Test::Lte(v) => actual.order(v).is_some_and(|o| o.is_le()),
            Test::Gt(v) => actual.order(v).is_some_and(|o| o.is_gt()),
            Test::Gte(v) => actual.order(v).is_some_and(|o| o.is_ge()),
            Test::IsEmpty => false,
        }
    }

    /// Whether no record can ever satisfy this condition whatever its values (an empty `in`, an
    /// ordering of text or booleans), so a compiled predicate can drop it.
    pub fn is_unsatisfiable(&self) -> bool {
        match &self.test {
            Test::In(values) => values.is_empty(),
            test if test.is_ordering() => test.operands().iter().all(|v| !v.kind().is_ordered()),
            _ => false,
        }
    }
}

/// A condition tree: which records of a module a sharing rule covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criteria {
    /// Every branch holds; an empty `and` holds for every record.
    And(Vec<Criteria>),
    /// At least one branch holds; an empty `or` holds for none.
    Or(Vec<Criteria>),
    /// One field condition.
    Where(Condition),
}

impl Criteria {
    /// A single condition `field test`.
    pub fn test(field: impl Into<String>, test: Test) -> Self {
        Criteria::Where(Condition::new(field, test))
    }

    /// Whether a record with these field values satisfies the tree (keys absent from `fields`
    /// are fields the module does not have).
    pub fn matches(&self, fields: &BTreeMap<String, Option<Value>>) -> bool {
        match self {
            Criteria::And(all) => all.iter().all(|c| c.matches(fields)),
            Criteria::Or(any) => any.iter().any(|c| c.matches(fields)),
            Criteria::Where(condition) => condition.holds(fields.get(&condition.field)),
        }
    }

    /// Nesting depth: a single condition is 1, `and` of conditions is 2.
    pub fn depth(&self) -> usize {
        match self {
            Criteria::And(children) | Criteria::Or(children) => {
                1 + children.iter().map(Criteria::depth).max().unwrap_or(0)
            }
            Criteria::Where(_) => 1,
        }
    }

    /// Number of field conditions in the tree.
    pub fn condition_count(&self) -> usize {
        match self {
            Criteria::And(children) | Criteria::Or(children) => children.iter().map(Criteria::condition_count).sum(),
            Criteria::Where(_) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn facts(pairs: &[(&str, Option<Value>)]) -> BTreeMap<String, Option<Value>> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn equality_needs_the_same_kind_and_value() {
        let record = facts(&[("region", Some(text("EMEA"))), ("size", Some(Value::Number(5)))]);
        assert!(Criteria::test("region", Test::Eq(text("EMEA"))).matches(&record));
        assert!(!Criteria::test("region", Test::Eq(text("emea"))).matches(&record));
        assert!(!Criteria::test("size", Test::Eq(text("5"))).matches(&record));
        assert!(Criteria::test("region", Test::Ne(text("APAC"))).matches(&record));
        assert!(!Criteria::test("size", Test::Ne(text("APAC"))).matches(&record), "a wrong kind is never a match");
    }

    #[test]
    fn an_empty_or_unknown_field_satisfies_no_comparison() {
        let record = facts(&[("region", None)]);
        for test in [Test::Eq(text("EMEA")), Test::Ne(text("EMEA")), Test::In(vec![text("EMEA")])] {
            assert!(!Criteria::test("region", test.clone()).matches(&record));
            assert!(!Criteria::test("unknown", test).matches(&record));
        }
        assert!(Criteria::test("region", Test::IsEmpty).matches(&record));
        assert!(!Criteria::test("unknown", Test::IsEmpty).matches(&record), "an unknown field is not empty, it fails");
    }

    #[test]
    fn ordering_applies_to_numbers_and_times_only() {
        let t0 = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        let t1 = DateTime::<Utc>::from_timestamp(2_000, 0).unwrap();
        let record =
            facts(&[("size", Some(Value::Number(5))), ("at", Some(Value::Time(t0))), ("name", Some(text("b")))]);
        assert!(Criteria::test("size", Test::Lt(Value::Number(6))).matches(&record));
        assert!(Criteria::test("size", Test::Lte(Value::Number(5))).matches(&record));
        assert!(!Criteria::test("size", Test::Gt(Value::Number(5))).matches(&record));
        assert!(Criteria::test("size", Test::Gte(Value::Number(5))).matches(&record));
        assert!(Criteria::test("at", Test::Lt(Value::Time(t1))).matches(&record));
        assert!(!Criteria::test("name", Test::Lt(text("c"))).matches(&record));
        assert!(Condition::new("name", Test::Lt(text("c"))).is_unsatisfiable());
        assert!(Condition::new("name", Test::In(vec![])).is_unsatisfiable());
        assert!(!Condition::new("size", Test::Lt(Value::Number(1))).is_unsatisfiable());
    }

    #[test]
    fn and_or_trees_combine_and_measure_themselves() {
        let record = facts(&[("region", Some(text("EMEA"))), ("vip", Some(Value::Bool(true)))]);
        let tree = Criteria::And(vec![
            Criteria::test("region", Test::In(vec![text("EMEA"), text("APAC")])),
            Criteria::Or(vec![Criteria::test("vip", Test::Eq(Value::Bool(true))), Criteria::test("x", Test::IsEmpty)]),
        ]);
        assert!(tree.matches(&record));
        assert_eq!(tree.depth(), 3);
        assert_eq!(tree.condition_count(), 3);
        assert!(Criteria::And(vec![]).matches(&record));
        assert!(!Criteria::Or(vec![]).matches(&record));
    }

    #[test]
    fn criteria_round_trip_through_json() {
        let tree = Criteria::Or(vec![
            Criteria::test("region", Test::Eq(text("EMEA"))),
            Criteria::test("closed_at", Test::IsEmpty),
        ]);
        let json = serde_json::to_string(&tree).unwrap();
        assert_eq!(
            json,
            r#"{"or":[{"where":{"field":"region","test":{"eq":{"text":"EMEA"}}}},{"where":{"field":"closed_at","test":"is_empty"}}]}"#
        );
        assert_eq!(serde_json::from_str::<Criteria>(&json).unwrap(), tree);
        assert!(serde_json::from_str::<Criteria>(r#"{"where":{"field":"a","test":{"eq":{"number":"x"}}}}"#).is_err());
    }
}
