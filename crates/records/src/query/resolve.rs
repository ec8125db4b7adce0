//! Checks a filter against the module's indexed fields and turns it into typed predicates,
//! reporting every problem at once. Violations name the path (`filter.and[1].value`), never
//! the operand.

use super::fields::{BlindIndexer, FieldIndex};
use super::filter::{FieldRef, Filter, Op, QueryValue};
use super::limits::{MAX_FILTER_CLAUSES, MAX_FILTER_DEPTH, MAX_IN_VALUES, MAX_TEXT_VALUE_CHARS};
use super::predicate::{CmpOp, Column, ColumnKind, Predicate, Scalar, Test};
use listone_core::{Error, Violations};

/// Checks `filter` (at `path`) and resolves it; every violation is added to `v`. Errors from
/// the blind indexer are returned as they are (they are not the caller's mistake).
pub(crate) fn resolve_filter(
    filter: &Filter,
    path: &str,
    fields: &FieldIndex,
    indexer: &dyn BlindIndexer,
    v: &mut Violations,
) -> Result<Option<Predicate>, Error> {
    let clauses = count_clauses(filter);
    if clauses > MAX_FILTER_CLAUSES {
        v.add(path, format!("must have at most {MAX_FILTER_CLAUSES} comparisons"));
        return Ok(None);
    }
    let resolver = Resolver { fields, indexer };
    resolver.node(filter, path, 1, v)
}

fn count_clauses(filter: &Filter) -> usize {
    match filter {
        Filter::And(items) | Filter::Or(items) => items.iter().map(count_clauses).sum(),
        Filter::Cmp { .. } => 1,
    }
}

struct Resolver<'a> {
    fields: &'a FieldIndex,
    indexer: &'a dyn BlindIndexer,
}

impl Resolver<'_> {
    fn node(&self, filter: &Filter, path: &str, depth: usize, v: &mut Violations) -> Result<Option<Predicate>, Error> {
        match filter {
            Filter::And(items) => self.group(items, path, "and", depth, v).map(|p| p.map(Predicate::And)),
            Filter::Or(items) => self.group(items, path, "or", depth, v).map(|p| p.map(Predicate::Or)),
            Filter::Cmp { field, op, value } => self.cmp(field, *op, value, path, v),
        }
    }

    fn group(
        &self,
        items: &[Filter],
        path: &str,
        name: &str,
        depth: usize,
        v: &mut Violations,
    ) -> Result<Option<Vec<Predicate>>, Error> {
        if depth > MAX_FILTER_DEPTH {
            v.add(path, format!("must nest and / or at most {MAX_FILTER_DEPTH} levels deep"));
            return Ok(None);
        }
        if items.is_empty() {
            v.add(format!("{path}.{name}"), "must have at least one condition");
            return Ok(None);
        }
        let mut out = Vec::with_capacity(items.len());
        let mut complete = true;
        for (i, item) in items.iter().enumerate() {
            match self.node(item, &format!("{path}.{name}[{i}]"), depth + 1, v)? {
                Some(p) => out.push(p),
                None => complete = false,
            }
        }
        Ok(complete.then_some(out))
    }

    fn cmp(
        &self,
        field: &FieldRef,
        op: Op,
        value: &QueryValue,
        path: &str,
        v: &mut Violations,
    ) -> Result<Option<Predicate>, Error> {
        let Some(column) = Column::resolve(field, self.fields) else {
            v.add(format!("{path}.field"), "is not a system field or an indexed field of this module");
            return Ok(None);
        };
        let kind = column.kind();
        if !op_allowed(kind, op, column.nullable()) {
            v.add(format!("{path}.op"), format!("{} is not allowed on this field", op.name()));
            return Ok(None);
        }
        let key = match &column {
            Column::Custom { key, .. } => key.as_str(),
            Column::System(system) => system.name(),
        };
        let value_path = format!("{path}.value");
        let test = match op {
            Op::Eq | Op::Ne | Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
                self.scalar(kind, key, value, &value_path, v)?.map(|s| Test::Cmp(cmp_op(op), s))
            }
            Op::In => self.list(kind, key, value, &value_path, v)?.map(Test::In),
            Op::Contains | Op::StartsWith => match value {
                QueryValue::Text(text) if text.chars().count() <= MAX_TEXT_VALUE_CHARS => {
                    let escaped = escape_like(&text.to_lowercase());
                    Some(Test::Like(if op == Op::Contains { format!("%{escaped}%") } else { format!("{escaped}%") }))
                }
                QueryValue::Text(_) => {
                    v.add(value_path, format!("must be at most {MAX_TEXT_VALUE_CHARS} characters"));
                    None
                }
                other => {
                    v.add(value_path, format!("must be text, not {}", other.type_name()));
                    None
                }
            },
            Op::IsEmpty => match value {
                QueryValue::Bool(b) => Some(Test::IsEmpty(*b)),
                other => {
                    v.add(value_path, format!("must be bool, not {}", other.type_name()));
                    None
                }
            },
        };
        Ok(test.map(|test| Predicate::Test { column, test }))
    }

    fn list(
        &self,
        kind: ColumnKind,
        key: &str,
        value: &QueryValue,
        path: &str,
        v: &mut Violations,
    ) -> Result<Option<Vec<Scalar>>, Error> {
        let QueryValue::List(items) = value else {
            v.add(path, format!("must be a list, not {}", value.type_name()));
            return Ok(None);
        };
        if items.is_empty() || items.len() > MAX_IN_VALUES {
            v.add(path, format!("must have between 1 and {MAX_IN_VALUES} values"));
            return Ok(None);
        }
        let mut out = Vec::with_capacity(items.len());
        let mut complete = true;
        for (i, item) in items.iter().enumerate() {
            match self.scalar(kind, key, item, &format!("{path}[{i}]"), v)? {
                Some(s) => out.push(s),
                None => complete = false,
            }
        }
        Ok(complete.then_some(out))
    }

    fn scalar(
        &self,
        kind: ColumnKind,
        key: &str,
        value: &QueryValue,
        path: &str,
        v: &mut Violations,
    ) -> Result<Option<Scalar>, Error> {
        if let QueryValue::Text(text) = value
            && text.chars().count() > MAX_TEXT_VALUE_CHARS
        {
            v.add(path, format!("must be at most {MAX_TEXT_VALUE_CHARS} characters"));
            return Ok(None);
        }
        let scalar = match (kind, value) {
            (ColumnKind::Text, QueryValue::Text(text)) => Some(Scalar::Text(text.clone())),
            (ColumnKind::Text, QueryValue::Id(id)) => Some(Scalar::Text(id.hyphenated().to_string())),
            (ColumnKind::Blind, QueryValue::Text(text)) => Some(Scalar::Text(self.indexer.blind_index(key, text)?)),
            (ColumnKind::Number, QueryValue::Number(n)) if n.is_finite() => Some(Scalar::Number(*n)),
            (ColumnKind::Number, QueryValue::Number(_)) => {
                v.add(path, "must be a finite number");
                return Ok(None);
            }
            (ColumnKind::Int, QueryValue::Number(n)) => match whole(*n) {
                Some(i) => Some(Scalar::Int(i)),
                None => {
                    v.add(path, "must be a whole number");
                    return Ok(None);
                }
            },
            (ColumnKind::Time, QueryValue::Time(t)) => Some(Scalar::Int(*t)),
            (ColumnKind::Bool, QueryValue::Bool(b)) => Some(Scalar::Bool(*b)),
            (ColumnKind::Id, QueryValue::Id(id)) => Some(Scalar::Id(*id)),
            _ => None,
        };
        if scalar.is_none() {
            v.add(path, format!("must be {}, not {}", expected(kind), value.type_name()));
        }
        Ok(scalar)
    }
}

/// Which operators a field of `kind` accepts.
fn op_allowed(kind: ColumnKind, op: Op, nullable: bool) -> bool {
    use ColumnKind as K;
    match op {
        Op::Eq => true,
        Op::Ne => kind != K::Blind,
        Op::In => kind != K::Bool,
        Op::Lt | Op::Lte | Op::Gt | Op::Gte => matches!(kind, K::Text | K::Number | K::Int | K::Time),
        Op::Contains | Op::StartsWith => kind == K::Text,
        Op::IsEmpty => nullable,
    }
}

fn cmp_op(op: Op) -> CmpOp {
    match op {
        Op::Ne => CmpOp::Ne,
        Op::Lt => CmpOp::Lt,
        Op::Lte => CmpOp::Lte,
        Op::Gt => CmpOp::Gt,
        Op::Gte => CmpOp::Gte,
        _ => CmpOp::Eq,
    }
}

fn expected(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text | ColumnKind::Blind => "text",
        ColumnKind::Number => "a number",
        ColumnKind::Int => "a whole number",
        ColumnKind::Time => "a time",
        ColumnKind::Bool => "bool",
        ColumnKind::Id => "an id",
    }
}

/// `n` as an integer when it is one and fits.
fn whole(n: f64) -> Option<i64> {
    // 2^63 as f64 is exact; anything at or above it does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (n.is_finite() && n.fract() == 0.0 && (-LIMIT..LIMIT).contains(&n)).then_some(n as i64)
}

/// Escapes `LIKE` wildcards so the operand matches literally (`ESCAPE '\'`).
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use listone_core::FieldViolation;

    use uuid::Uuid;

    use super::*;
    use crate::query::fields::{IndexKind, NoBlindIndex};
    use crate::query::filter::SystemField;

    fn fields() -> FieldIndex {
        FieldIndex::new()
            .with("name", IndexKind::Text)
            .with("amount", IndexKind::Number)
            .with("due", IndexKind::Time)
            .with("active", IndexKind::Bool)
            .with("email", IndexKind::BlindIndex)
    }

    fn text(s: &str) -> QueryValue {
        QueryValue::Text(s.to_owned())
    }

    fn custom(key: &str, op: Op, value: QueryValue) -> Filter {
        Filter::cmp(FieldRef::custom(key), op, value)
    }

    fn violations(filter: &Filter) -> Vec<FieldViolation> {
        let mut v = Violations::new();
        let indexer = |_: &str, p: &str| Ok::<_, Error>(format!("hmac:{}", p.len()));
        resolve_filter(filter, "filter", &fields(), &indexer, &mut v).unwrap();
        match v.into_result() {
            Ok(()) => Vec::new(),
            Err(Error::InvalidArgument { violations }) => violations,
            Err(other) => panic!("unexpected {other}"),
        }
    }

    fn paths(filter: &Filter) -> Vec<String> {
        violations(filter).into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn filter_with_three_problems_reports_all_of_them_by_path() {
        let filter = Filter::And(vec![
            custom("nope", Op::Eq, text("x")),
            custom("email", Op::Contains, text("ada")),
            Filter::Or(vec![custom("amount", Op::Gt, text("ten")), custom("name", Op::Eq, text("ok"))]),
        ]);
        assert_eq!(paths(&filter), ["filter.and[0].field", "filter.and[1].op", "filter.and[2].or[0].value"]);
    }

    #[test]
    fn violations_never_echo_the_operand() {
        let filter = Filter::And(vec![
            custom("amount", Op::Eq, text("ada@example.com")),
            custom("name", Op::Eq, text(&"ada@example.com".repeat(100))),
        ]);
        let found = violations(&filter);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|v| !v.description.contains("ada")));
    }

    #[test]
    fn operators_are_limited_by_field_kind() {
        let disallowed = [
            custom("email", Op::Contains, text("a")),
            custom("email", Op::Lt, text("a")),
            custom("email", Op::Ne, text("a")),
            custom("active", Op::Lt, QueryValue::Bool(true)),
            custom("active", Op::In, QueryValue::List(vec![QueryValue::Bool(true)])),
            custom("amount", Op::StartsWith, text("1")),
            Filter::cmp(FieldRef::System(SystemField::OwnerId), Op::Lt, QueryValue::Id(Uuid::nil())),
            Filter::cmp(FieldRef::System(SystemField::OwnerId), Op::IsEmpty, QueryValue::Bool(true)),
        ];
        for filter in disallowed {
            assert_eq!(paths(&filter), ["filter.op"], "{filter:?}");
        }
        let allowed = [
            custom("email", Op::Eq, text("a")),
            custom("email", Op::In, QueryValue::List(vec![text("a"), text("b")])),
            custom("email", Op::IsEmpty, QueryValue::Bool(true)),
            custom("name", Op::StartsWith, text("a")),
            custom("due", Op::Gte, QueryValue::Time(5)),
            Filter::cmp(FieldRef::System(SystemField::SubjectId), Op::IsEmpty, QueryValue::Bool(false)),
            Filter::cmp(FieldRef::System(SystemField::Version), Op::Gt, QueryValue::Number(3.0)),
        ];
        for filter in allowed {
            assert!(paths(&filter).is_empty(), "{filter:?}");
        }
    }

    #[test]
    fn values_must_have_the_fields_type() {
        assert_eq!(paths(&custom("due", Op::Eq, QueryValue::Number(1.0))), ["filter.value"]);
        assert_eq!(paths(&custom("amount", Op::Eq, QueryValue::Number(f64::NAN))), ["filter.value"]);
        let version = FieldRef::System(SystemField::Version);
        assert_eq!(paths(&Filter::cmp(version, Op::Eq, QueryValue::Number(1.5))), ["filter.value"]);
        assert_eq!(paths(&custom("name", Op::IsEmpty, text("yes"))), ["filter.value"]);
        let list = QueryValue::List(vec![QueryValue::Number(1.0), text("2"), QueryValue::Number(3.0)]);
        assert_eq!(paths(&custom("amount", Op::In, list)), ["filter.value[1]"]);
        assert_eq!(paths(&custom("amount", Op::In, QueryValue::Number(1.0))), ["filter.value"]);
    }

    #[test]
    fn in_lists_are_bounded() {
        assert_eq!(paths(&custom("amount", Op::In, QueryValue::List(Vec::new()))), ["filter.value"]);
        let many = QueryValue::List((0..=MAX_IN_VALUES).map(|i| QueryValue::Number(i as f64)).collect());
        assert_eq!(paths(&custom("amount", Op::In, many)), ["filter.value"]);
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let mut deep = custom("name", Op::Eq, text("x"));
        for _ in 0..=MAX_FILTER_DEPTH {
            deep = Filter::And(vec![deep]);
        }
        let found = paths(&deep);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("filter.and[0]"));

        let wide = Filter::Or((0..=MAX_FILTER_CLAUSES).map(|_| custom("name", Op::Eq, text("x"))).collect());
        assert_eq!(paths(&wide), ["filter"]);
        assert_eq!(paths(&Filter::And(Vec::new())), ["filter.and"]);
    }

    #[test]
    fn blind_index_operands_are_hashed_before_compiling() {
        let mut v = Violations::new();
        let indexer = |field: &str, plain: &str| Ok::<_, Error>(format!("{field}:{}", plain.len()));
        let filter = custom("email", Op::Eq, text("ada@example.com"));
        let resolved = resolve_filter(&filter, "filter", &fields(), &indexer, &mut v).unwrap().unwrap();
        let Predicate::Test { test: Test::Cmp(CmpOp::Eq, Scalar::Text(hashed)), .. } = resolved else {
            panic!("unexpected {resolved:?}");
        };
        assert_eq!(hashed, "email:15");
    }

    #[test]
    fn a_failing_blind_indexer_is_an_error_not_a_violation() {
        let mut v = Violations::new();
        let filter = custom("email", Op::Eq, text("a"));
        assert!(resolve_filter(&filter, "filter", &fields(), &NoBlindIndex, &mut v).is_err());
    }

    #[test]
    fn like_operands_are_lowercased_and_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        let mut v = Violations::new();
        let filter = custom("name", Op::StartsWith, text("A_B"));
        let resolved = resolve_filter(&filter, "filter", &fields(), &NoBlindIndex, &mut v).unwrap().unwrap();
        assert!(matches!(resolved, Predicate::Test { test: Test::Like(p), .. } if p == "a\\_b%"));
    }
}
