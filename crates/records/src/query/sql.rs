//! SQL text for resolved predicates, sort keys and keyset conditions, with `$n` placeholders
//! (translated for SQLite by `listone_core::db::statement`).
//!
//! Custom fields are tested with `EXISTS` over `record_index` so a multi-valued field matches
//! when any of its values does, and so filter order never multiplies rows. Text matching with
//! `contains` / `starts_with` lower-cases both sides (the operand in Rust, the column with
//! `lower()`); SQLite's `lower()` folds ASCII only, so non-ASCII case folding is PostgreSQL's.

use sea_orm::Value;

use super::predicate::{CmpOp, Column, ColumnKind, Predicate, Scalar, Test};
use super::token::SortValue;

/// Bind values in placeholder order.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<Value>,
    /// The placeholders of the query's organization and module, once bound: index lookups name
    /// them rather than correlating with `r` (see [`predicate`]).
    pub(crate) scope: Option<(String, String)>,
    /// Render range tests on single-valued custom fields as primary-key probes (SQLite).
    pub(crate) probe_ranges: bool,
    /// Render every comparison and `in` on a single-valued custom field as a primary-key probe
    /// (PostgreSQL, access filters: see [`predicate`]).
    pub(crate) probe_all: bool,
}

impl Params {
    /// Binds `value` and returns its placeholder.
    pub(crate) fn push(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }
}

/// The bind value of a scalar.
pub(crate) fn scalar_value(scalar: &Scalar) -> Value {
    match scalar {
        Scalar::Text(text) => Value::String(Some(text.clone())),
        Scalar::Number(n) => Value::Double(Some(*n)),
        Scalar::Int(i) => Value::BigInt(Some(*i)),
        Scalar::Bool(b) => Value::Bool(Some(*b)),
        Scalar::Id(id) => Value::Uuid(Some(*id)),
    }
}

/// The `record_index` column holding values of `kind`.
pub(crate) fn index_column(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Number => "value_num",
        ColumnKind::Time | ColumnKind::Int => "value_time_us",
        ColumnKind::Bool => "value_bool",
        ColumnKind::Text | ColumnKind::Blind | ColumnKind::Id => "value_text",
    }
}

/// Renders a predicate over the `record r` row.
pub(crate) fn predicate(pred: &Predicate, params: &mut Params) -> String {
    match pred {
        Predicate::And(items) => group(items, " AND ", params),
        Predicate::Or(items) => group(items, " OR ", params),
        Predicate::Test { column: column @ Column::System(system), test } => {
            column_test(system.column(), column.nullable(), test, params)
        }
        Predicate::Test { column: column @ Column::Custom { key, .. }, test } => {
            let field = params.push(Value::String(Some(key.clone())));
            // The organization and module as bound values, not `r.org_id` / `r.module_id`: under
            // an OR, PostgreSQL may run the lookup once as a hashed set instead of per row, and a
            // correlated org would then be dropped from that set — every organization's index
            // rows of the field read on each query (measured: 190 ms for a page over 200,000
            // rows; 28 ms with them bound, the set then read from this org's value index).
            let (org, module) = params.scope.clone().unwrap_or_else(|| ("r.org_id".into(), "r.module_id".into()));
            let exists = format!(
                "EXISTS (SELECT 1 FROM record_index i WHERE i.org_id = {org} AND i.module_id = {module} \
                 AND i.record_id = r.id AND i.field_id = {field}"
            );
            let value = format!("i.{}", index_column(column.kind()));
            let single = column.kind().is_single_valued();
            if params.probe_all && matches!(test, Test::Cmp(CmpOp::Eq, _) | Test::In(_)) {
                // An access filter on PostgreSQL: an OR of owners, rules and shares, each lookup
                // run once as a hashed set read the org's index entries of the field in full
                // (15,000 per page under a realistic policy). A probe per row stops with the
                // page: the list walks records in order and tests each until it has enough.
                // Access criteria test single-valued fields only (`access::criteria_kind`), so
                // ordinal 0 is the value; were a field multi-valued, the probe would only narrow.
                let probe = format!(
                    "(SELECT {value} FROM record_index i WHERE i.org_id = {org} AND i.record_id = r.id \
                     AND i.field_id = {field} AND i.ordinal = 0)"
                );
                return column_test(&probe, false, test, params);
            }
            if let (true, Test::Cmp(op @ (CmpOp::Lt | CmpOp::Lte | CmpOp::Gt | CmpOp::Gte), scalar)) =
                ((params.probe_ranges && single) || params.probe_all, test)
            {
                // SQLite runs every lookup per row and, for a range, prefers the value index
                // (org, module, field, value, record), where the range stops it seeking to the
                // record: every entry in range was walked per row (a page under a `priority >= 95`
                // rule: 440 ms). Numbers and times have one value (ordinal 0), so the primary key
                // (org, record, field, ordinal) finds it in one seek; no value is NULL: false.
                return format!(
                    "(SELECT {value} FROM record_index i WHERE i.org_id = {org} AND i.record_id = r.id \
                     AND i.field_id = {field} AND i.ordinal = 0) {} {}",
                    op.sql(),
                    params.push(scalar_value(scalar))
                );
            }
            match test {
                // `ne` is "no value equals": records without the field match too.
                Test::Cmp(CmpOp::Ne, scalar) => {
                    format!("NOT {exists} AND {value} = {})", params.push(scalar_value(scalar)))
                }
                Test::IsEmpty(true) => format!("NOT {exists})"),
                Test::IsEmpty(false) => format!("{exists})"),
                // The value indexes hold only rows with a value (`WHERE value_x IS NOT NULL`). Any
                // comparison proves that to both planners, but SQLite does not take
                // `lower(value) LIKE` as proof (it fell back to another field's index), so say it.
                Test::Like(_) => {
                    format!("{exists} AND {value} IS NOT NULL AND {})", column_test(&value, false, test, params))
                }
                other => format!("{exists} AND {})", column_test(&value, false, other, params)),
            }
        }
    }
}

fn group(items: &[Predicate], joiner: &str, params: &mut Params) -> String {
    let parts: Vec<String> = items.iter().map(|p| predicate(p, params)).collect();
    format!("({})", parts.join(joiner))
}

/// A test on one column expression.
fn column_test(column: &str, nullable: bool, test: &Test, params: &mut Params) -> String {
    match test {
        Test::Cmp(CmpOp::Ne, scalar) if nullable => {
            format!("({column} IS NULL OR {column} <> {})", params.push(scalar_value(scalar)))
        }
        Test::Cmp(op, scalar) => format!("{column} {} {}", op.sql(), params.push(scalar_value(scalar))),
        Test::In(scalars) => {
            let list: Vec<String> = scalars.iter().map(|s| params.push(scalar_value(s))).collect();
            format!("{column} IN ({})", list.join(", "))
        }
        Test::Like(pattern) => {
            format!("lower({column}) LIKE {} ESCAPE '\\'", params.push(Value::String(Some(pattern.clone()))))
        }
        Test::IsEmpty(true) => format!("{column} IS NULL"),
        Test::IsEmpty(false) => format!("{column} IS NOT NULL"),
    }
}

/// One resolved sort key: its SQL expression, direction and the type its values read as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortColumn {
    pub(crate) expr: String,
    pub(crate) kind: ColumnKind,
    pub(crate) descending: bool,
}

/// The `ORDER BY` list: every key with nulls last, then the id.
pub(crate) fn order_by(sort: &[SortColumn]) -> String {
    let mut parts: Vec<String> =
        sort.iter().map(|s| format!("{} {} NULLS LAST", s.expr, if s.descending { "DESC" } else { "ASC" })).collect();
    parts.push("r.id ASC".to_owned());
    parts.join(", ")
}

/// The bind value of a sort value (`None` for null, which is tested with `IS NULL`).
fn sort_value(value: &SortValue) -> Option<Value> {
    match value {
        SortValue::Null => None,
        SortValue::Text(text) => Some(Value::String(Some(text.clone()))),
        SortValue::Number(n) => Some(Value::Double(Some(*n))),
        SortValue::Int(i) => Some(Value::BigInt(Some(*i))),
        SortValue::Bool(b) => Some(Value::Bool(Some(*b))),
        SortValue::Id(id) => Some(Value::Uuid(Some(*id))),
    }
}

/// Rows strictly after (`values`, `last_id`) in `order_by(sort)` order: the lexicographic
/// expansion "k1 after, or k1 equal and k2 after, ..., or all equal and id after", where
/// "after" a value includes nulls (they sort last) and nothing is after a null but ties.
pub(crate) fn keyset(sort: &[SortColumn], values: &[SortValue], last_id: uuid::Uuid, params: &mut Params) -> String {
    let mut alternatives = Vec::new();
    let mut equal_prefix: Vec<String> = Vec::new();
    for (column, value) in sort.iter().zip(values) {
        let expr = &column.expr;
        match sort_value(value) {
            Some(bound) => {
                let p = params.push(bound);
                let cmp = if column.descending { "<" } else { ">" };
                let mut terms = equal_prefix.clone();
                terms.push(format!("({expr} {cmp} {p} OR {expr} IS NULL)"));
                alternatives.push(terms.join(" AND "));
                equal_prefix.push(format!("{expr} = {p}"));
            }
            None => equal_prefix.push(format!("{expr} IS NULL")),
        }
    }
    let mut last = equal_prefix;
    last.push(format!("r.id > {}", params.push(Value::Uuid(Some(last_id)))));
    alternatives.push(last.join(" AND "));
    format!("({})", alternatives.into_iter().map(|a| format!("({a})")).collect::<Vec<_>>().join(" OR "))
}

/// A stable byte form of bind values, for the query binding.
pub(crate) fn values_fingerprint(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::String(Some(s)) => {
                out.push(1);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Double(Some(n)) => {
                out.push(2);
                out.extend_from_slice(&n.to_bits().to_be_bytes());
            }
            Value::BigInt(Some(i)) => {
                out.push(3);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Value::Bool(Some(b)) => out.extend_from_slice(&[4, u8::from(*b)]),
            Value::Uuid(Some(id)) => {
                out.push(5);
                out.extend_from_slice(id.as_bytes());
            }
            other => {
                // Not produced by this compiler; still fingerprinted, just less compactly.
                let text = format!("{other:?}");
                out.push(9);
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}
