//! `compile` and `compile_count`: a checked query over one module, as SQL text and bind values.

use listone_core::db::statement;
use listone_core::{Engine, Error, ModuleId, OrgId, Violations};
use sea_orm::{DatabaseBackend, QueryResult, Statement, Value};
use uuid::Uuid;

use super::fields::{BlindIndexer, FieldIndex};
use super::filter::{Filter, SortKey};
use super::limits::{DEFAULT_COUNT_CAP, DEFAULT_PAGE_SIZE, MAX_COUNT_CAP, MAX_PAGE_SIZE, MAX_SORT_KEYS};
use super::predicate::{Column, ColumnKind};
use super::resolve::resolve_filter;
use super::sql::{Params, SortColumn, index_column, keyset, order_by, predicate, values_fingerprint};
use super::token::{BINDING_LEN, Binding, PageToken, SortValue};

/// The `record` columns every page returns.
pub(crate) const RECORD_COLUMNS: &str = "r.id, r.module_id, r.owner_id, r.subject_id, r.version, r.data, \
     r.created_by, r.created_at_us, r.updated_by, r.updated_at_us, r.restricted";

/// The tenant and module a query reads; always the first two conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryScope {
    /// The caller's organization.
    pub org_id: OrgId,
    /// The module listed.
    pub module_id: ModuleId,
    /// The engine the query runs on: the SQL of some tests differs to suit its planner.
    pub engine: Engine,
}

/// One page of a list, as the caller asked for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordQuery {
    /// Which records; `None` for all (not deleted) records of the module.
    pub filter: Option<Filter>,
    /// Order; the record id always breaks ties.
    pub sort: Vec<SortKey>,
    /// Records per page; 0 for [`DEFAULT_PAGE_SIZE`].
    pub page_size: u32,
    /// The previous page's `next_page_token`; empty for the first page.
    pub page_token: String,
}

/// A compiled page query: SQL with `$n` placeholders, its values, and what is needed to make
/// the next page's token from the last row.
#[derive(Debug, Clone)]
pub struct CompiledQuery {
    /// `SELECT ... LIMIT page_size + 1`: one extra row tells whether another page exists.
    pub sql: String,
    /// Bind values, in placeholder order.
    pub values: Vec<Value>,
    /// Records per page.
    pub page_size: u32,
    sort: Vec<SortColumn>,
    binding: Binding,
}

impl CompiledQuery {
    /// The statement for `backend`.
    pub fn statement(&self, backend: DatabaseBackend) -> Statement {
        statement(backend, &self.sql, self.values.clone())
    }

    /// The token for the page after `last_row` (a row this query returned).
    pub fn next_page_token(&self, last_row: &QueryResult) -> Result<String, Error> {
        let read = |e: sea_orm::DbErr| Error::internal(format!("record page token: {e}"));
        let mut values = Vec::with_capacity(self.sort.len());
        for (i, column) in self.sort.iter().enumerate() {
            let name = format!("sort_{i}");
            let value = match column.kind {
                ColumnKind::Text | ColumnKind::Blind => {
                    last_row.try_get::<Option<String>>("", &name).map_err(read)?.map(SortValue::Text)
                }
                ColumnKind::Number => last_row.try_get::<Option<f64>>("", &name).map_err(read)?.map(SortValue::Number),
                ColumnKind::Int | ColumnKind::Time => {
                    last_row.try_get::<Option<i64>>("", &name).map_err(read)?.map(SortValue::Int)
                }
                ColumnKind::Bool => last_row.try_get::<Option<bool>>("", &name).map_err(read)?.map(SortValue::Bool),
                ColumnKind::Id => last_row.try_get::<Option<Uuid>>("", &name).map_err(read)?.map(SortValue::Id),
            };
            values.push(value.unwrap_or(SortValue::Null));
        }
        let last_id: Uuid = last_row.try_get("", "id").map_err(read)?;
        Ok(PageToken { values, last_id }.encode(&self.binding))
    }
}

/// Checks `query` against the module's indexed `fields` and compiles it. Searchable fields'
/// operands go through `indexer` first. Every problem is reported in one `InvalidArgument`.
pub fn compile(
    scope: QueryScope,
    query: &RecordQuery,
    fields: &FieldIndex,
    indexer: &dyn BlindIndexer,
) -> Result<CompiledQuery, Error> {
    compile_restricted(scope, query, None, fields, indexer)
}

/// [`compile`], restricted further by `access`: the records a caller's access policy lets it
/// see, in the same filter language. The access part is the platform's, not the caller's: it is
/// checked on its own (the caller's filter keeps its whole size budget) and a problem in it is an
/// internal error, never a violation reported against the caller's request.
pub fn compile_restricted(
    scope: QueryScope,
    query: &RecordQuery,
    access: Option<&Filter>,
    fields: &FieldIndex,
    indexer: &dyn BlindIndexer,
) -> Result<CompiledQuery, Error> {
    let mut v = Violations::new();
    v.check(query.page_size > MAX_PAGE_SIZE, "page_size", &format!("must be at most {MAX_PAGE_SIZE}"));
    let mut params = Params::default();
    let base = base_conditions(scope, &mut params);
    let (joins, sort) = resolve_sort(&query.sort, fields, &mut params, &mut v);
    let filter_sql = match &query.filter {
        Some(filter) => resolve_filter(filter, "filter", fields, indexer, &mut v)?.map(|p| predicate(&p, &mut params)),
        None => None,
    };
    v.into_result()?;
    let order = order_by(&sort);
    // A page token is bound to the caller's query, not to its access part: a share expiring or
    // a policy changing between pages changes which records follow, not whether the token holds.
    let binding = bind(&joins, filter_sql.as_deref(), &order, &params.values);
    let access_sql = access_condition(scope, access, fields, indexer, &mut params)?;

    let mut conditions = vec![base];
    conditions.extend(filter_sql);
    conditions.extend(access_sql);
    if !query.page_token.is_empty() {
        let kinds: Vec<ColumnKind> = sort.iter().map(|s| s.kind).collect();
        let Some(token) = PageToken::decode(&query.page_token, &binding, &kinds) else {
            return Err(Error::invalid("page_token", "is not a page token of this query"));
        };
        conditions.push(keyset(&sort, &token.values, token.last_id, &mut params));
    }
    let page_size = if query.page_size == 0 { DEFAULT_PAGE_SIZE } else { query.page_size };
    let sort_select: String = sort.iter().enumerate().map(|(i, s)| format!(", {} AS sort_{i}", s.expr)).collect();
    let sql = format!(
        "SELECT {RECORD_COLUMNS}{sort_select} FROM record r{joins} WHERE {} ORDER BY {order} LIMIT {}",
        conditions.join(" AND "),
        u64::from(page_size) + 1,
    );
    Ok(CompiledQuery { sql, values: params.values, page_size, sort, binding })
}

/// A compiled capped count.
#[derive(Debug, Clone)]
pub struct CompiledCount {
    /// `SELECT COUNT(*) AS n FROM (SELECT 1 ... LIMIT cap + 1)`.
    pub sql: String,
    /// Bind values, in placeholder order.
    pub values: Vec<Value>,
    /// The cap.
    pub cap: u32,
}

impl CompiledCount {
    /// The statement for `backend`.
    pub fn statement(&self, backend: DatabaseBackend) -> Statement {
        statement(backend, &self.sql, self.values.clone())
    }
}

/// How many records match, up to a cap: counting stops at `cap + 1` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// The count, at most the cap.
    pub value: u64,
    /// More records than the cap match.
    pub capped: bool,
}

impl Count {
    /// The count from the inner query's row count `n` (at most `cap + 1`).
    pub fn from_rows(n: i64, cap: u32) -> Self {
        let n = u64::try_from(n).unwrap_or(0);
        Self { value: n.min(u64::from(cap)), capped: n > u64::from(cap) }
    }
}

/// Compiles a count of the records `filter` matches, stopping at `cap` (0 for
/// [`DEFAULT_COUNT_CAP`]).
pub fn compile_count(
    scope: QueryScope,
    filter: Option<&Filter>,
    cap: u32,
    fields: &FieldIndex,
    indexer: &dyn BlindIndexer,
) -> Result<CompiledCount, Error> {
    compile_count_restricted(scope, filter, None, cap, fields, indexer)
}

/// [`compile_count`], restricted further by `access` as [`compile_restricted`] is.
pub fn compile_count_restricted(
    scope: QueryScope,
    filter: Option<&Filter>,
    access: Option<&Filter>,
    cap: u32,
    fields: &FieldIndex,
    indexer: &dyn BlindIndexer,
) -> Result<CompiledCount, Error> {
    let mut v = Violations::new();
    v.check(cap > MAX_COUNT_CAP, "count_cap", &format!("must be at most {MAX_COUNT_CAP}"));
    let mut params = Params::default();
    let mut conditions = vec![base_conditions(scope, &mut params)];
    if let Some(filter) = filter
        && let Some(p) = resolve_filter(filter, "filter", fields, indexer, &mut v)?
    {
        conditions.push(predicate(&p, &mut params));
    }
    v.into_result()?;
    conditions.extend(access_condition(scope, access, fields, indexer, &mut params)?);
    let cap = if cap == 0 { DEFAULT_COUNT_CAP } else { cap };
    let sql = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM record r WHERE {} LIMIT {}) capped",
        conditions.join(" AND "),
        u64::from(cap) + 1,
    );
    Ok(CompiledCount { sql, values: params.values, cap })
}

/// The SQL of an access restriction, checked apart from the caller's filter. On PostgreSQL its
/// custom-field tests are per-row probes (the caller's filter keeps its semi-joins, which suit a
/// selective condition).
fn access_condition(
    scope: QueryScope,
    access: Option<&Filter>,
    fields: &FieldIndex,
    indexer: &dyn BlindIndexer,
    params: &mut Params,
) -> Result<Option<String>, Error> {
    let Some(access) = access else { return Ok(None) };
    let mut v = Violations::new();
    let resolved = resolve_filter(access, "access", fields, indexer, &mut v)?;
    match (resolved, v.into_result()) {
        (Some(p), Ok(())) => {
            params.probe_all = scope.engine == Engine::Postgres;
            let sql = predicate(&p, params);
            params.probe_all = false;
            Ok(Some(sql))
        }
        _ => Err(Error::internal("the access filter does not compile over the module's fields")),
    }
}

/// Tenant, module and not soft-deleted: the conditions every query starts with.
fn base_conditions(scope: QueryScope, params: &mut Params) -> String {
    let org = params.push(Value::Uuid(Some(scope.org_id.as_uuid())));
    let module = params.push(Value::Uuid(Some(scope.module_id.as_uuid())));
    let sql = format!("r.org_id = {org} AND r.module_id = {module} AND r.deleted_at_us IS NULL");
    params.scope = Some((org, module));
    params.probe_ranges = scope.engine == Engine::Sqlite;
    sql
}

/// Resolves sort keys into expressions; custom fields join their first index row (ordinal 0,
/// so a multi-valued field sorts by its first value).
fn resolve_sort(
    keys: &[SortKey],
    fields: &FieldIndex,
    params: &mut Params,
    v: &mut Violations,
) -> (String, Vec<SortColumn>) {
    if keys.len() > MAX_SORT_KEYS {
        v.add("sort", format!("must have at most {MAX_SORT_KEYS} keys"));
        return (String::new(), Vec::new());
    }
    let mut joins = String::new();
    let mut sort = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let path = format!("sort[{i}].field");
        if keys[..i].iter().any(|earlier| earlier.field == key.field) {
            v.add(path, "is already a sort key");
            continue;
        }
        let Some(column) = Column::resolve(&key.field, fields) else {
            v.add(path, "is not a system field or an indexed field of this module");
            continue;
        };
        let kind = column.kind();
        let expr = match &column {
            Column::System(system) => system.column().to_owned(),
            Column::Custom { .. } if kind == ColumnKind::Blind => {
                v.add(path, "is a searchable field, which cannot be sorted");
                continue;
            }
            Column::Custom { key, .. } => {
                let field = params.push(Value::String(Some(key.clone())));
                joins.push_str(&format!(
                    " LEFT JOIN record_index s{i} ON s{i}.org_id = r.org_id AND s{i}.record_id = r.id \
                     AND s{i}.field_id = {field} AND s{i}.ordinal = 0"
                ));
                format!("s{i}.{}", index_column(kind))
            }
        };
        sort.push(SortColumn { expr, kind, descending: key.descending });
    }
    (joins, sort)
}

/// The hash that ties page tokens to this org, module, filter and sort.
fn bind(joins: &str, filter: Option<&str>, order: &str, values: &[Value]) -> Binding {
    let mut bytes = b"listone.records.page.v1\0".to_vec();
    for part in [joins, filter.unwrap_or(""), order] {
        bytes.extend_from_slice(part.as_bytes());
        bytes.push(0);
    }
    // The org and module are the first two values, so the fingerprint covers them.
    bytes.extend_from_slice(&values_fingerprint(values));
    let digest = listone_crypto::sha256(&bytes);
    let mut binding = [0u8; BINDING_LEN];
    binding.copy_from_slice(&digest[..BINDING_LEN]);
    binding
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::fields::{IndexKind, NoBlindIndex};
    use crate::query::filter::{FieldRef, Op, QueryValue, SystemField};
    use crate::query::token::PageToken;

    fn scope() -> QueryScope {
        QueryScope { org_id: OrgId::new(), module_id: ModuleId::new(), engine: Engine::Postgres }
    }

    fn fields() -> FieldIndex {
        FieldIndex::new()
            .with("name", IndexKind::Text)
            .with("amount", IndexKind::Number)
            .with("email", IndexKind::BlindIndex)
    }

    fn query(filter: Option<Filter>, sort: Vec<SortKey>) -> RecordQuery {
        RecordQuery { filter, sort, ..RecordQuery::default() }
    }

    fn invalid_fields(err: Error) -> Vec<String> {
        match err {
            Error::InvalidArgument { violations } => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn every_query_is_scoped_to_org_module_and_live_rows() {
        let q = compile(scope(), &RecordQuery::default(), &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains("WHERE r.org_id = $1 AND r.module_id = $2 AND r.deleted_at_us IS NULL ORDER BY"));
        assert!(q.sql.ends_with("ORDER BY r.id ASC LIMIT 51"));
        assert_eq!(q.values.len(), 2);
        assert_eq!(q.page_size, DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn custom_field_tests_are_exists_subqueries_on_the_index() {
        let filter = Filter::Or(vec![
            Filter::cmp(FieldRef::custom("amount"), Op::Gte, QueryValue::Number(10.0)),
            Filter::cmp(FieldRef::custom("name"), Op::Ne, QueryValue::Text("x".into())),
        ]);
        let q = compile(scope(), &query(Some(filter), Vec::new()), &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains(
            "(EXISTS (SELECT 1 FROM record_index i WHERE i.org_id = $1 AND i.module_id = $2 \
             AND i.record_id = r.id AND i.field_id = $3 AND i.value_num >= $4) OR NOT EXISTS (SELECT 1 FROM \
             record_index i WHERE i.org_id = $1 AND i.module_id = $2 AND i.record_id = r.id \
             AND i.field_id = $5 AND i.value_text = $6))"
        ));
        assert_eq!(q.values.len(), 6);
        assert_eq!(q.values[2], Value::String(Some("amount".into())));
    }

    #[test]
    fn on_sqlite_a_range_on_a_number_is_a_primary_key_probe() {
        let filter = Filter::And(vec![
            Filter::cmp(FieldRef::custom("amount"), Op::Gte, QueryValue::Number(10.0)),
            Filter::cmp(FieldRef::custom("name"), Op::Eq, QueryValue::Text("x".into())),
        ]);
        let sqlite = QueryScope { engine: Engine::Sqlite, ..scope() };
        let q = compile(sqlite, &query(Some(filter), Vec::new()), &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains(
            "(SELECT i.value_num FROM record_index i WHERE i.org_id = $1 AND i.record_id = r.id \
             AND i.field_id = $3 AND i.ordinal = 0) >= $4"
        ));
        // Text may be multi-valued: it keeps the EXISTS lookup.
        assert!(q.sql.contains("EXISTS (SELECT 1 FROM record_index i WHERE i.org_id = $1 AND i.module_id = $2"));
    }

    #[test]
    fn contains_uses_lower_and_an_escape_clause() {
        let filter = Filter::cmp(FieldRef::custom("name"), Op::Contains, QueryValue::Text("5%".into()));
        let q = compile(scope(), &query(Some(filter), Vec::new()), &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains("AND lower(i.value_text) LIKE $4 ESCAPE '\\')"));
        assert_eq!(q.values[3], Value::String(Some("%5\\%%".into())));
    }

    #[test]
    fn nullable_system_field_ne_also_matches_null() {
        let filter = Filter::cmp(FieldRef::System(SystemField::SubjectId), Op::Ne, QueryValue::Id(uuid::Uuid::nil()));
        let q = compile(scope(), &query(Some(filter), Vec::new()), &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains("(r.subject_id IS NULL OR r.subject_id <> $3)"));
    }

    #[test]
    fn custom_sort_joins_the_first_index_row_and_orders_nulls_last() {
        let sort =
            vec![SortKey::desc(FieldRef::custom("amount")), SortKey::asc(FieldRef::System(SystemField::CreatedAt))];
        let q = compile(scope(), &query(None, sort), &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains(
            "FROM record r LEFT JOIN record_index s0 ON s0.org_id = r.org_id AND s0.record_id = r.id \
             AND s0.field_id = $3 AND s0.ordinal = 0 WHERE"
        ));
        assert!(q.sql.contains(", s0.value_num AS sort_0, r.created_at_us AS sort_1 FROM"));
        assert!(q.sql.contains("ORDER BY s0.value_num DESC NULLS LAST, r.created_at_us ASC NULLS LAST, r.id ASC"));
    }

    #[test]
    fn sort_problems_and_page_size_are_reported_together() {
        let sort = vec![
            SortKey::asc(FieldRef::custom("email")),
            SortKey::asc(FieldRef::custom("missing")),
            SortKey::asc(FieldRef::custom("email")),
        ];
        let q = RecordQuery { sort, page_size: MAX_PAGE_SIZE + 1, ..RecordQuery::default() };
        let err = compile(scope(), &q, &fields(), &NoBlindIndex).unwrap_err();
        assert_eq!(invalid_fields(err), ["page_size", "sort[0].field", "sort[1].field", "sort[2].field"]);
    }

    #[test]
    fn page_token_adds_a_keyset_condition() {
        let scope = scope();
        let sort = vec![SortKey::asc(FieldRef::custom("name"))];
        let first = compile(scope, &query(None, sort.clone()), &fields(), &NoBlindIndex).unwrap();
        let token =
            PageToken { values: vec![SortValue::Text("m".into())], last_id: Uuid::nil() }.encode(&first.binding);
        let next = RecordQuery { page_token: token, ..query(None, sort) };
        let q = compile(scope, &next, &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains(
            "AND (((s0.value_text > $4 OR s0.value_text IS NULL)) OR (s0.value_text = $4 AND r.id > $5)) ORDER BY"
        ));
    }

    #[test]
    fn keyset_after_a_null_only_continues_among_nulls() {
        let scope = scope();
        let sort = vec![SortKey::desc(FieldRef::custom("amount"))];
        let first = compile(scope, &query(None, sort.clone()), &fields(), &NoBlindIndex).unwrap();
        let token = PageToken { values: vec![SortValue::Null], last_id: Uuid::nil() }.encode(&first.binding);
        let q =
            compile(scope, &RecordQuery { page_token: token, ..query(None, sort) }, &fields(), &NoBlindIndex).unwrap();
        assert!(q.sql.contains("AND ((s0.value_num IS NULL AND r.id > $4)) ORDER BY"));
    }

    #[test]
    fn page_token_of_another_filter_sort_or_org_is_rejected() {
        let scope1 = scope();
        let sort = vec![SortKey::asc(FieldRef::custom("name"))];
        let filter = Filter::cmp(FieldRef::custom("amount"), Op::Gt, QueryValue::Number(1.0));
        let first = compile(scope1, &query(Some(filter.clone()), sort.clone()), &fields(), &NoBlindIndex).unwrap();
        let token =
            PageToken { values: vec![SortValue::Text("m".into())], last_id: Uuid::nil() }.encode(&first.binding);
        let other_filter = Filter::cmp(FieldRef::custom("amount"), Op::Gt, QueryValue::Number(2.0));
        let attempts = [
            (scope1, query(Some(other_filter), sort.clone())),
            (scope1, query(Some(filter.clone()), vec![SortKey::desc(FieldRef::custom("name"))])),
            (scope(), query(Some(filter), sort)),
        ];
        for (scope, q) in attempts {
            let q = RecordQuery { page_token: token.clone(), ..q };
            assert_eq!(invalid_fields(compile(scope, &q, &fields(), &NoBlindIndex).unwrap_err()), ["page_token"]);
        }
    }

    #[test]
    fn count_is_capped_with_one_extra_row() {
        let c = compile_count(scope(), None, 0, &fields(), &NoBlindIndex).unwrap();
        assert!(c.sql.starts_with("SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM record r WHERE r.org_id = $1"));
        assert!(c.sql.ends_with(&format!("LIMIT {}) capped", DEFAULT_COUNT_CAP + 1)));
        assert_eq!(Count::from_rows(11, 10), Count { value: 10, capped: true });
        assert_eq!(Count::from_rows(10, 10), Count { value: 10, capped: false });
        let err = compile_count(scope(), None, MAX_COUNT_CAP + 1, &fields(), &NoBlindIndex).unwrap_err();
        assert_eq!(invalid_fields(err), ["count_cap"]);
    }

    #[test]
    fn sqlite_statements_use_numbered_question_marks() {
        let q = compile(scope(), &RecordQuery::default(), &fields(), &NoBlindIndex).unwrap();
        let stmt = q.statement(DatabaseBackend::Sqlite);
        assert!(stmt.sql.contains("r.org_id = ?1 AND r.module_id = ?2"));
    }
}
