//! Record access in lists: the access engine's [`AccessPredicate`] translated into this crate's
//! filter language, so a list, count or export ANDs it with the caller's filter and the database
//! answers exactly as [`listone_identity::access::eval`] does in memory.
//!
//! Criteria test only the fields SQL sees as memory does ([`criteria_kind`]): plain, indexed and
//! single-valued. Every other field is absent from a record's [`RecordFacts`]
//! ([`CriteriaFields::facts`]) and `FALSE` in SQL alike.
//!
//! Where the filter language differs from the engine, the translation makes them agree:
//! - `ne` holds only for a present value: `ne v AND NOT is_empty` (booleans: `eq !v`);
//! - booleans have no `in`: it becomes `eq`, or "present" when both values are listed;
//! - numbers are indexed as doubles: an operand within ±2^53 compares exactly whatever the stored
//!   integer; a larger one becomes a strict comparison with its double, which can hide a record
//!   memory would show but never the reverse (`eq` and `in` drop it);
//! - times are indexed in microseconds: an operand between two equals no stored value, and
//!   `lt t` / `lte t` become `lte floor(t)`, `gt t` / `gte t` become `gt floor(t)`;
//! - text is indexed up to 500 characters: where values may be longer (URLs, text formulas), an
//!   operand of 500 or more cannot be told from longer values sharing its start, so `eq` and `in`
//!   drop it and `ne` excludes every value with that start (hiding only); elsewhere a longer
//!   operand equals no stored value. Text with NUL cannot be bound on PostgreSQL: `FALSE`;
//! - a condition on another kind of value than the field's, or ordering text or booleans, is
//!   `FALSE`, as in memory.
//!
//! A translation beyond the filter language's size limits is an error, never a wider filter.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveTime};
use listone_core::{Error, RecordId, UserId};
use listone_customization::{FieldDef, FieldType, FieldValue, FormulaResult, ModuleDef};
use listone_identity::access::{AccessPredicate, Condition, RecordFacts, Test, Value, ValueKind};
use uuid::Uuid;

use crate::codec::{Decoded, index_kind};
use crate::query::{
    FieldRef, Filter, IndexKind, MAX_FILTER_CLAUSES, MAX_FILTER_DEPTH, MAX_IN_VALUES, MAX_TEXT_VALUE_CHARS, Op,
    QueryValue, SystemField,
};
use crate::store::StoredRecord;

/// 2^53: every integer of smaller magnitude is a double, and no other integer rounds onto one.
const EXACT_DOUBLE: u64 = 1 << 53;

/// The kind of value access criteria compare `field` as, or `None` when SQL cannot test it as
/// memory does: not plain and indexed (encrypted fields have no index; a blind index hashes a
/// normalised form and has no `ne`), multi-valued, or decimal (the engine's numbers are integers).
pub fn criteria_kind(field: &FieldDef) -> Option<ValueKind> {
    criterion(field).map(|c| c.kind)
}

/// How criteria compare one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Criterion {
    kind: ValueKind,
    /// Text that may be longer than the index keeps: the index holds its first characters only.
    cut: bool,
}

fn criterion(field: &FieldDef) -> Option<Criterion> {
    let (kind, index, cut) = match &field.field_type {
        t if t.is_textual() => (ValueKind::Text, IndexKind::Text, t.max_text_len() > MAX_TEXT_VALUE_CHARS),
        FieldType::Formula { result: FormulaResult::Text, .. } => (ValueKind::Text, IndexKind::Text, true),
        FieldType::Picklist { .. } | FieldType::Lookup { .. } | FieldType::User => {
            (ValueKind::Text, IndexKind::Text, false)
        }
        FieldType::Number | FieldType::Formula { result: FormulaResult::Number, .. } => {
            (ValueKind::Number, IndexKind::Number, false)
        }
        FieldType::Boolean | FieldType::Formula { result: FormulaResult::Boolean, .. } => {
            (ValueKind::Bool, IndexKind::Bool, false)
        }
        FieldType::Date | FieldType::DateTime => (ValueKind::Time, IndexKind::Time, false),
        _ => return None,
    };
    (index_kind(field) == Some(index)).then_some(Criterion { kind, cut })
}

mod guard;

pub use guard::AccessGuard;

/// The fields of one module that access criteria can test, with their kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CriteriaFields {
    fields: BTreeMap<String, Criterion>,
}

impl CriteriaFields {
    /// The criteria fields of `module` (see [`criteria_kind`]).
    pub fn of(module: &ModuleDef) -> Self {
        let fields = module.fields.iter().filter_map(|f| Some((f.key.clone(), criterion(f)?))).collect();
        Self { fields }
    }

    /// The kind of criteria field `key`, `None` when criteria cannot test it.
    pub fn kind(&self, key: &str) -> Option<ValueKind> {
        self.fields.get(key).map(|c| c.kind)
    }

    /// The keys of the criteria fields: the fields to read for [`Self::facts`].
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// What the engine knows of `record` for a single-record decision, agreeing with the SQL of
    /// [`access_filter`]: its owner and every criteria field it was read with (`None` when
    /// empty). A criteria field not read, or holding a value not of its kind, is left out, so
    /// every test on it fails.
    pub fn facts(&self, record: &StoredRecord) -> RecordFacts {
        self.facts_with(record.id, record.owner_id, |key| match record.fields.get(key) {
            Some(Decoded::Value(value)) => Some(value.expose()),
            _ => None,
        })
    }

    /// [`Self::facts`] of record `id` owned by `owner`, whose field values `value_of` gives
    /// (`None` for a field not read or erased).
    pub fn facts_with<'a>(
        &self,
        id: RecordId,
        owner: Uuid,
        value_of: impl Fn(&str) -> Option<&'a FieldValue>,
    ) -> RecordFacts {
        let mut facts = RecordFacts::new(id, Some(UserId::from_uuid(owner)));
        for (key, criterion) in &self.fields {
            let Some(value) = value_of(key) else { continue };
            if let Some(fact) = fact(value, criterion.kind) {
                facts.fields.insert(key.clone(), fact);
            }
        }
        facts
    }
}

/// A stored value as the index holds it: `Some(None)` when empty, `None` when not of `kind`.
fn fact(value: &FieldValue, kind: ValueKind) -> Option<Option<Value>> {
    let value = match (value, kind) {
        (FieldValue::Null, _) => return Some(None),
        (FieldValue::Text(text) | FieldValue::Picklist(text), ValueKind::Text) => Value::Text(text.clone()),
        (FieldValue::Lookup(id), ValueKind::Text) => Value::Text(id.to_string()),
        (FieldValue::User(id), ValueKind::Text) => Value::Text(id.to_string()),
        (FieldValue::Number(n), ValueKind::Number) => Value::Number(*n),
        (FieldValue::Bool(b), ValueKind::Bool) => Value::Bool(*b),
        (FieldValue::Date(date), ValueKind::Time) => Value::Time(date.and_time(NaiveTime::MIN).and_utc()),
        // The index keeps whole microseconds (values are stored truncated to them anyway).
        (FieldValue::DateTime(t), ValueKind::Time) => {
            Value::Time(DateTime::from_timestamp_micros(t.timestamp_micros())?)
        }
        _ => return None,
    };
    Some(Some(value))
}

/// Which records of a module a list may return, in the records' filter language.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessFilter {
    /// Every record: nothing to add to the caller's filter.
    All,
    /// No record: the answer is empty without asking the database.
    Nothing,
    /// The records matching this filter.
    Where(Filter),
}

impl AccessFilter {
    /// The filter to add to a query: `None` for [`AccessFilter::All`] and for
    /// [`AccessFilter::Nothing`] (which asks no database at all).
    pub fn condition(&self) -> Option<&Filter> {
        match self {
            AccessFilter::Where(filter) => Some(filter),
            AccessFilter::All | AccessFilter::Nothing => None,
        }
    }

    /// The records both this filter and the caller's `filter` let through: the caller's filter
    /// first and untouched, so its own problems are still reported, as one filter under one size
    /// budget. Guarded lists do not use it: they pass [`Self::condition`] to
    /// `query::compile_restricted`, which keeps the caller's budget whole.
    pub fn restrict(self, filter: Option<Filter>) -> AccessFilter {
        match (self, filter) {
            (AccessFilter::Nothing, _) => AccessFilter::Nothing,
            (access, None) => access,
            (AccessFilter::All, Some(own)) => AccessFilter::Where(own),
            (AccessFilter::Where(access), Some(own)) => {
                let mut parts = vec![own];
                match access {
                    Filter::And(inner) => parts.extend(inner),
                    other => parts.push(other),
                }
                AccessFilter::Where(Filter::And(parts))
            }
        }
    }
}

/// The filter that lets through exactly the records `predicate` holds for, testing criteria on
/// `fields` only. Fails closed: a condition SQL cannot evaluate as memory does is `FALSE`.
/// A predicate too large for the filter language's limits is FAILED_PRECONDITION.
pub fn access_filter(predicate: &AccessPredicate, fields: &CriteriaFields) -> Result<AccessFilter, Error> {
    let filter = translate(predicate, fields);
    if let AccessFilter::Where(f) = &filter
        && (depth(f) > MAX_FILTER_DEPTH || clauses(f) > MAX_FILTER_CLAUSES)
    {
        return Err(Error::FailedPrecondition {
            reason: "ACCESS_RULES_TOO_LARGE",
            message: format!(
                "the access rules of this module need more than {MAX_FILTER_CLAUSES} comparisons or \
                 {MAX_FILTER_DEPTH} levels of and / or to filter a list"
            ),
        });
    }
    Ok(filter)
}

fn translate(predicate: &AccessPredicate, fields: &CriteriaFields) -> AccessFilter {
    match predicate {
        AccessPredicate::True => AccessFilter::All,
        AccessPredicate::False => AccessFilter::Nothing,
        AccessPredicate::OwnerIn(owners) => ids_in(SystemField::OwnerId, owners.iter().map(|u| u.as_uuid())),
        AccessPredicate::RecordIn(records) => ids_in(SystemField::Id, records.iter().map(|r| r.as_uuid())),
        AccessPredicate::Field(condition) => condition_filter(condition, fields),
        AccessPredicate::And(parts) => all_of(parts.iter().map(|p| translate(p, fields))),
        AccessPredicate::Or(parts) => {
            // Sibling id sets merge into one list each: fewer comparisons for the same records.
            let (mut owners, mut records, mut rest) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
            for part in parts {
                match part {
                    AccessPredicate::OwnerIn(ids) => owners.extend(ids.iter().map(|u| u.as_uuid())),
                    AccessPredicate::RecordIn(ids) => records.extend(ids.iter().map(|r| r.as_uuid())),
                    other => rest.push(translate(other, fields)),
                }
            }
            rest.push(ids_in(SystemField::OwnerId, owners));
            rest.push(ids_in(SystemField::Id, records));
            any_of(rest)
        }
    }
}

/// The conjunction, simplified: `All` dropped, `Nothing` absorbing, nested `and`s flattened.
fn all_of(parts: impl IntoIterator<Item = AccessFilter>) -> AccessFilter {
    let mut kept = Vec::new();
    for part in parts {
        match part {
            AccessFilter::All => {}
            AccessFilter::Nothing => return AccessFilter::Nothing,
            AccessFilter::Where(Filter::And(inner)) => kept.extend(inner),
            AccessFilter::Where(filter) => kept.push(filter),
        }
    }
    group(kept, AccessFilter::All, Filter::And)
}

/// The disjunction, simplified: `Nothing` dropped, `All` absorbing, nested `or`s flattened.
fn any_of(parts: impl IntoIterator<Item = AccessFilter>) -> AccessFilter {
    let mut kept = Vec::new();
    for part in parts {
        match part {
            AccessFilter::Nothing => {}
            AccessFilter::All => return AccessFilter::All,
            AccessFilter::Where(Filter::Or(inner)) => kept.extend(inner),
            AccessFilter::Where(filter) => kept.push(filter),
        }
    }
    group(kept, AccessFilter::Nothing, Filter::Or)
}

fn group(mut kept: Vec<Filter>, empty: AccessFilter, join: fn(Vec<Filter>) -> Filter) -> AccessFilter {
    match kept.len() {
        0 => empty,
        1 => kept.pop().map_or(empty, AccessFilter::Where),
        _ => AccessFilter::Where(join(kept)),
    }
}

/// `field in (ids)`, in lists of at most [`MAX_IN_VALUES`]; `Nothing` for no ids.
fn ids_in(field: SystemField, ids: impl IntoIterator<Item = Uuid>) -> AccessFilter {
    let ids: Vec<QueryValue> = ids.into_iter().map(QueryValue::Id).collect();
    any_of(ids.chunks(MAX_IN_VALUES).map(|chunk| {
        AccessFilter::Where(Filter::cmp(FieldRef::System(field), Op::In, QueryValue::List(chunk.to_vec())))
    }))
}

/// An operand as the index can compare it.
enum Operand {
    /// Compares in SQL exactly as in memory.
    Exact(QueryValue),
    /// An integer of magnitude 2^53 or more, as its nearest double: only strict comparisons with it
    /// are sound.
    Rounded(QueryValue),
    /// A time between two microseconds, after `floor`: no stored value equals it.
    BetweenMicros(i64),
    /// Text longer than any stored value of the field: no stored value equals it.
    NeverStored,
    /// Text of the index's length or more on a field whose index cuts values: its indexed start.
    /// Every stored value with that start looks equal to SQL.
    Prefix(QueryValue),
    /// Text with NUL, which PostgreSQL can neither bind nor store.
    Unbindable,
    /// Another kind than the field's, or beyond the index's range: no test holds.
    OtherKind,
}

fn operand(field: Criterion, value: &Value) -> Operand {
    match (field.kind, value) {
        (ValueKind::Text, Value::Text(text)) if text.contains('\0') => Operand::Unbindable,
        (ValueKind::Text, Value::Text(text)) => match text.chars().count() {
            n if n < MAX_TEXT_VALUE_CHARS || (n == MAX_TEXT_VALUE_CHARS && !field.cut) => {
                Operand::Exact(QueryValue::Text(text.clone()))
            }
            _ if field.cut => Operand::Prefix(QueryValue::Text(text.chars().take(MAX_TEXT_VALUE_CHARS).collect())),
            _ => Operand::NeverStored,
        },
        (ValueKind::Number, Value::Number(n)) if n.unsigned_abs() < EXACT_DOUBLE => {
            Operand::Exact(QueryValue::Number(*n as f64))
        }
        (ValueKind::Number, Value::Number(n)) => Operand::Rounded(QueryValue::Number(*n as f64)),
        (ValueKind::Bool, Value::Bool(b)) => Operand::Exact(QueryValue::Bool(*b)),
        (ValueKind::Time, Value::Time(t)) => {
            let nanos = t.timestamp_subsec_nanos();
            // A leap second's nanoseconds run past 10^9: it comes after every microsecond of its second.
            let (micros, exact) =
                if nanos >= 1_000_000_000 { (999_999, false) } else { (i64::from(nanos / 1_000), nanos % 1_000 == 0) };
            match t.timestamp().checked_mul(1_000_000).and_then(|us| us.checked_add(micros)) {
                Some(us) if exact => Operand::Exact(QueryValue::Time(us)),
                Some(us) => Operand::BetweenMicros(us),
                None => Operand::OtherKind,
            }
        }
        _ => Operand::OtherKind,
    }
}

/// One condition on a custom field, `Nothing` when criteria cannot test the field.
fn condition_filter(condition: &Condition, fields: &CriteriaFields) -> AccessFilter {
    let Some(&field) = fields.fields.get(&condition.field) else { return AccessFilter::Nothing };
    let kind = field.kind;
    let cmp = |op: Op, value: QueryValue| {
        AccessFilter::Where(Filter::cmp(FieldRef::custom(condition.field.as_str()), op, value))
    };
    let present = || cmp(Op::IsEmpty, QueryValue::Bool(false));
    let ordering = |op: Op, value: &Value| {
        if !kind.is_ordered() {
            return AccessFilter::Nothing;
        }
        let below = matches!(op, Op::Lt | Op::Lte);
        match operand(field, value) {
            Operand::Exact(q) => cmp(op, q),
            Operand::Rounded(q) => cmp(if below { Op::Lt } else { Op::Gt }, q),
            Operand::BetweenMicros(floor) => cmp(if below { Op::Lte } else { Op::Gt }, QueryValue::Time(floor)),
            Operand::NeverStored | Operand::Prefix(_) | Operand::Unbindable | Operand::OtherKind => {
                AccessFilter::Nothing
            }
        }
    };
    match &condition.test {
        Test::IsEmpty => cmp(Op::IsEmpty, QueryValue::Bool(true)),
        Test::Eq(value) => match operand(field, value) {
            Operand::Exact(q) => cmp(Op::Eq, q),
            _ => AccessFilter::Nothing,
        },
        Test::Ne(value) => match operand(field, value) {
            Operand::Exact(QueryValue::Bool(b)) => cmp(Op::Eq, QueryValue::Bool(!b)),
            Operand::Exact(q) | Operand::Rounded(q) | Operand::Prefix(q) => all_of([cmp(Op::Ne, q), present()]),
            Operand::BetweenMicros(_) | Operand::NeverStored => present(),
            Operand::Unbindable | Operand::OtherKind => AccessFilter::Nothing,
        },
        Test::In(values) => {
            let mut exact: Vec<QueryValue> = Vec::new();
            for value in values {
                if let Operand::Exact(q) = operand(field, value)
                    && !exact.contains(&q)
                {
                    exact.push(q);
                }
            }
            match (kind, exact.as_slice()) {
                (ValueKind::Bool, [one]) => cmp(Op::Eq, one.clone()),
                (ValueKind::Bool, [_, _]) => present(),
                (ValueKind::Bool, _) => AccessFilter::Nothing,
                _ => any_of(exact.chunks(MAX_IN_VALUES).map(|chunk| cmp(Op::In, QueryValue::List(chunk.to_vec())))),
            }
        }
        Test::Lt(value) => ordering(Op::Lt, value),
        Test::Lte(value) => ordering(Op::Lte, value),
        Test::Gt(value) => ordering(Op::Gt, value),
        Test::Gte(value) => ordering(Op::Gte, value),
    }
}

/// Nesting of `and` / `or` groups, as the query checker counts it.
fn depth(filter: &Filter) -> usize {
    match filter {
        Filter::And(items) | Filter::Or(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Filter::Cmp { .. } => 0,
    }
}

/// Comparisons, as the query checker counts them.
fn clauses(filter: &Filter) -> usize {
    match filter {
        Filter::And(items) | Filter::Or(items) => items.iter().map(clauses).sum(),
        Filter::Cmp { .. } => 1,
    }
}

#[cfg(test)]
mod tests;
