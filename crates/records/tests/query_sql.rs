//! The compiled queries run on a real database (SQLite by default, PostgreSQL when
//! `LISTONE_TEST_DATABASE_URL` is set) over rows inserted directly into `record` and
//! `record_index`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use listone_core::db::execute;
use listone_core::{Error, ModuleId, OrgId};
use listone_records::query::{
    FieldIndex, FieldRef, Filter, IndexKind, Op, QueryScope, QueryValue, RecordQuery, SortKey, SystemField, compile,
    compile_count, count, fetch_page,
};
use listone_testdb::TestDatabase;
use sea_orm::Value;
use uuid::Uuid;

/// One record of the fixture; `None` fields have no index row.
struct Row {
    label: &'static str,
    name: Option<&'static str>,
    amount: Option<f64>,
    due: Option<i64>,
    active: Option<bool>,
    email: Option<&'static str>,
    tags: &'static [&'static str],
    subject: bool,
}

const ROWS: [Row; 6] = [
    Row {
        label: "r1",
        name: Some("Alice Smith"),
        amount: Some(10.0),
        due: Some(1000),
        active: Some(true),
        email: Some("alice@x"),
        tags: &["red", "blue"],
        subject: true,
    },
    Row {
        label: "r2",
        name: Some("bob_jones"),
        amount: Some(20.5),
        due: Some(2000),
        active: Some(false),
        email: Some("bob@x"),
        tags: &["red"],
        subject: false,
    },
    Row {
        label: "r3",
        name: Some("Carol 100%"),
        amount: Some(-5.0),
        due: Some(3000),
        active: Some(true),
        email: None,
        tags: &[],
        subject: false,
    },
    Row {
        label: "r4",
        name: Some("dave"),
        amount: None,
        due: Some(4000),
        active: None,
        email: Some("dave@x"),
        tags: &["green"],
        subject: false,
    },
    Row {
        label: "r5",
        name: None,
        amount: Some(20.5),
        due: None,
        active: Some(false),
        email: None,
        tags: &["blue"],
        subject: true,
    },
    Row {
        label: "r6",
        name: Some("alice cooper"),
        amount: Some(7.0),
        due: Some(1500),
        active: Some(true),
        email: None,
        tags: &[],
        subject: false,
    },
];

const ALL: [&str; 6] = ["r1", "r2", "r3", "r4", "r5", "r6"];

fn blind(field: &str, plaintext: &str) -> Result<String, Error> {
    Ok(format!("{field}:{plaintext}"))
}

fn fields() -> FieldIndex {
    FieldIndex::new()
        .with("name", IndexKind::Text)
        .with("amount", IndexKind::Number)
        .with("due", IndexKind::Time)
        .with("active", IndexKind::Bool)
        .with("email", IndexKind::BlindIndex)
        .with("tags", IndexKind::Text)
}

struct Fixture {
    db: TestDatabase,
    scope: QueryScope,
    labels: HashMap<Uuid, &'static str>,
    ids: HashMap<&'static str, Uuid>,
    owner: Uuid,
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n)
}

impl Fixture {
    async fn new() -> Self {
        let db = TestDatabase::create().await;
        let scope = QueryScope { org_id: OrgId::new(), module_id: ModuleId::new(), engine: db.database().engine() };
        let mut fixture = Self { db, scope, labels: HashMap::new(), ids: HashMap::new(), owner: id(999) };
        for (i, row) in ROWS.iter().enumerate() {
            let n = i as u128 + 1;
            fixture.insert(scope, id(n), row, n as i64 * 100, None).await;
        }
        // Rows that no query of `scope` may return: deleted, another module, another org.
        let stray = Row {
            label: "stray",
            name: Some("alice stray"),
            amount: Some(10.0),
            due: Some(1000),
            active: Some(true),
            email: Some("alice@x"),
            tags: &["red"],
            subject: true,
        };
        fixture.insert(scope, id(50), &stray, 5000, Some(6000)).await;
        let other_module = QueryScope { module_id: ModuleId::new(), ..scope };
        fixture.insert(other_module, id(51), &stray, 5000, None).await;
        let other_org = QueryScope { org_id: OrgId::new(), ..scope };
        fixture.insert(other_org, id(52), &stray, 5000, None).await;
        fixture
    }

    async fn insert(&mut self, scope: QueryScope, record: Uuid, row: &Row, created: i64, deleted: Option<i64>) {
        let conn = self.db.conn();
        let org = scope.org_id.as_uuid();
        let module = scope.module_id.as_uuid();
        let subject = row.subject.then(Uuid::now_v7);
        execute(
            conn,
            "INSERT INTO record (org_id, id, module_id, owner_id, subject_id, version, data, created_by, created_at_us, \
             updated_by, updated_at_us, deleted_at_us, restricted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            [
                Value::Uuid(Some(org)),
                Value::Uuid(Some(record)),
                Value::Uuid(Some(module)),
                Value::Uuid(Some(self.owner)),
                Value::Uuid(subject),
                Value::BigInt(Some(created / 100)),
                Value::String(Some(format!("{{\"label\":\"{}\"}}", row.label))),
                Value::Uuid(Some(self.owner)),
                Value::BigInt(Some(created)),
                Value::Uuid(Some(self.owner)),
                Value::BigInt(Some(created)),
                Value::BigInt(deleted),
                Value::Bool(Some(false)),
            ],
        )
        .await
        .unwrap();
        let mut index: Vec<(&str, i32, Value)> = Vec::new();
        if let Some(name) = row.name {
            index.push(("name", 0, Value::String(Some(name.into()))));
        }
        if let Some(amount) = row.amount {
            index.push(("amount", 0, Value::Double(Some(amount))));
        }
        if let Some(due) = row.due {
            index.push(("due", 0, Value::BigInt(Some(due))));
        }
        if let Some(active) = row.active {
            index.push(("active", 0, Value::Bool(Some(active))));
        }
        if let Some(email) = row.email {
            index.push(("email", 0, Value::String(Some(blind("email", email).unwrap()))));
        }
        for (ordinal, tag) in row.tags.iter().enumerate() {
            index.push(("tags", ordinal as i32, Value::String(Some((*tag).into()))));
        }
        for (field, ordinal, value) in index {
            let mut values = [Value::String(None), Value::Double(None), Value::BigInt(None), Value::Bool(None)];
            let slot = match value {
                Value::String(_) => 0,
                Value::Double(_) => 1,
                Value::BigInt(_) => 2,
                _ => 3,
            };
            values[slot] = value;
            let [text, num, time, flag] = values;
            execute(
                conn,
                "INSERT INTO record_index (org_id, module_id, field_id, record_id, ordinal, value_text, value_num, \
                 value_time_us, value_bool) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                [
                    Value::Uuid(Some(org)),
                    Value::Uuid(Some(module)),
                    Value::String(Some(field.into())),
                    Value::Uuid(Some(record)),
                    Value::Int(Some(ordinal)),
                    text,
                    num,
                    time,
                    flag,
                ],
            )
            .await
            .unwrap();
        }
        if scope == self.scope && deleted.is_none() {
            self.labels.insert(record, row.label);
            self.ids.insert(row.label, record);
        }
    }

    /// Every page of `filter` in `sort` order, `page_size` at a time, as labels.
    async fn pages(&self, filter: Option<Filter>, sort: Vec<SortKey>, page_size: u32) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let query = RecordQuery { filter: filter.clone(), sort: sort.clone(), page_size, page_token: token };
            let compiled = compile(self.scope, &query, &fields(), &blind).unwrap();
            let page = fetch_page(self.db.conn(), &compiled).await.unwrap();
            assert!(page.rows.len() <= page_size as usize);
            for row in &page.rows {
                let label = self.labels.get(&row.id.as_uuid()).copied();
                out.push(label.expect("only live rows of the queried org and module are returned"));
            }
            match page.next_page_token {
                Some(next) => token = next,
                None => return out,
            }
        }
    }

    /// The labels `filter` matches, in id order.
    async fn matching(&self, filter: Filter) -> Vec<&'static str> {
        self.pages(Some(filter), Vec::new(), 500).await
    }
}

fn f(key: &str, op: Op, value: QueryValue) -> Filter {
    Filter::cmp(FieldRef::parse(key), op, value)
}

fn text(s: &str) -> QueryValue {
    QueryValue::Text(s.into())
}

fn num(n: f64) -> QueryValue {
    QueryValue::Number(n)
}

#[tokio::test]
async fn every_operator_matches_the_expected_records() {
    let fx = Fixture::new().await;
    let cases: Vec<(Filter, Vec<&str>)> = vec![
        (f("name", Op::Eq, text("dave")), vec!["r4"]),
        (f("name", Op::Ne, text("dave")), vec!["r1", "r2", "r3", "r5", "r6"]),
        (f("amount", Op::Lt, num(10.0)), vec!["r3", "r6"]),
        (f("amount", Op::Lte, num(10.0)), vec!["r1", "r3", "r6"]),
        (f("amount", Op::Gt, num(10.0)), vec!["r2", "r5"]),
        (f("amount", Op::Gte, num(20.5)), vec!["r2", "r5"]),
        (f("due", Op::In, QueryValue::List(vec![QueryValue::Time(1000), QueryValue::Time(3000)])), vec!["r1", "r3"]),
        (f("due", Op::Gte, QueryValue::Time(3000)), vec!["r3", "r4"]),
        (f("name", Op::Contains, text("ALICE")), vec!["r1", "r6"]),
        (f("name", Op::Contains, text("_")), vec!["r2"]),
        (f("name", Op::Contains, text("0%")), vec!["r3"]),
        (f("name", Op::StartsWith, text("ali")), vec!["r1", "r6"]),
        (f("name", Op::StartsWith, text("%")), vec![]),
        (f("name", Op::IsEmpty, QueryValue::Bool(true)), vec!["r5"]),
        (f("name", Op::IsEmpty, QueryValue::Bool(false)), vec!["r1", "r2", "r3", "r4", "r6"]),
        (f("active", Op::Eq, QueryValue::Bool(true)), vec!["r1", "r3", "r6"]),
        (f("active", Op::Ne, QueryValue::Bool(true)), vec!["r2", "r4", "r5"]),
        (f("email", Op::Eq, text("bob@x")), vec!["r2"]),
        (f("email", Op::In, QueryValue::List(vec![text("alice@x"), text("dave@x")])), vec!["r1", "r4"]),
        (f("email", Op::IsEmpty, QueryValue::Bool(true)), vec!["r3", "r5", "r6"]),
        (f("tags", Op::Eq, text("blue")), vec!["r1", "r5"]),
        (f("tags", Op::Ne, text("red")), vec!["r3", "r4", "r5", "r6"]),
        (f("subject_id", Op::IsEmpty, QueryValue::Bool(false)), vec!["r1", "r5"]),
        (f("created_at", Op::Lt, QueryValue::Time(300)), vec!["r1", "r2"]),
        (f("version", Op::Gte, num(5.0)), vec!["r5", "r6"]),
        (f("owner_id", Op::Eq, QueryValue::Id(fx.owner)), ALL.to_vec()),
        (f("id", Op::Eq, QueryValue::Id(fx.ids["r3"])), vec!["r3"]),
        (f("id", Op::In, QueryValue::List(vec![QueryValue::Id(fx.ids["r2"]), QueryValue::Id(id(52))])), vec!["r2"]),
        (f("updated_by", Op::Ne, QueryValue::Id(fx.owner)), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(fx.matching(filter.clone()).await, expected, "{filter:?}");
    }
}

#[tokio::test]
async fn and_or_nest() {
    let fx = Fixture::new().await;
    let filter = Filter::Or(vec![
        Filter::And(vec![f("name", Op::StartsWith, text("ali")), f("amount", Op::Gt, num(8.0))]),
        Filter::And(vec![
            f("active", Op::Eq, QueryValue::Bool(false)),
            Filter::Or(vec![f("tags", Op::Eq, text("blue")), f("due", Op::IsEmpty, QueryValue::Bool(true))]),
        ]),
    ]);
    assert_eq!(fx.matching(filter).await, ["r1", "r5"]);
}

#[tokio::test]
async fn sorts_both_directions_with_nulls_last_and_id_ties() {
    let fx = Fixture::new().await;
    let asc = fx.pages(None, vec![SortKey::asc(FieldRef::custom("amount"))], 500).await;
    assert_eq!(asc, ["r3", "r6", "r1", "r2", "r5", "r4"]);
    let desc = fx.pages(None, vec![SortKey::desc(FieldRef::custom("amount"))], 500).await;
    assert_eq!(desc, ["r2", "r5", "r1", "r6", "r3", "r4"]);
    let newest = fx.pages(None, vec![SortKey::desc(FieldRef::System(SystemField::CreatedAt))], 500).await;
    assert_eq!(newest, ["r6", "r5", "r4", "r3", "r2", "r1"]);
}

#[tokio::test]
async fn keyset_pages_cover_the_whole_set_once_in_every_order() {
    let fx = Fixture::new().await;
    let sorts = vec![
        vec![],
        vec![SortKey::asc(FieldRef::custom("amount"))],
        vec![SortKey::desc(FieldRef::custom("amount"))],
        vec![SortKey::asc(FieldRef::custom("name"))],
        vec![SortKey::desc(FieldRef::custom("name"))],
        vec![SortKey::desc(FieldRef::custom("active")), SortKey::asc(FieldRef::custom("due"))],
        vec![SortKey::asc(FieldRef::custom("tags")), SortKey::desc(FieldRef::System(SystemField::Version))],
        vec![SortKey::asc(FieldRef::System(SystemField::SubjectId))],
    ];
    for sort in sorts {
        let whole = fx.pages(None, sort.clone(), 500).await;
        assert_eq!(whole.iter().copied().collect::<BTreeSet<_>>(), ALL.into_iter().collect(), "{sort:?}");
        for page_size in [1, 2, 4] {
            assert_eq!(fx.pages(None, sort.clone(), page_size).await, whole, "{sort:?} by {page_size}");
        }
    }
    let filter = f("amount", Op::Gt, num(0.0));
    let sort = vec![SortKey::desc(FieldRef::custom("amount"))];
    assert_eq!(fx.pages(Some(filter), sort, 1).await, ["r2", "r5", "r1", "r6"]);
}

#[tokio::test]
async fn a_page_token_cannot_be_replayed_against_another_query() {
    let fx = Fixture::new().await;
    let query = RecordQuery { page_size: 2, ..RecordQuery::default() };
    let compiled = compile(fx.scope, &query, &fields(), &blind).unwrap();
    let token = fetch_page(fx.db.conn(), &compiled).await.unwrap().next_page_token.unwrap();
    let other = RecordQuery {
        page_token: token,
        page_size: 2,
        filter: Some(f("name", Op::IsEmpty, QueryValue::Bool(false))),
        ..RecordQuery::default()
    };
    let err = compile(fx.scope, &other, &fields(), &blind).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { violations } if violations[0].field == "page_token"));
}

#[tokio::test]
async fn counts_are_capped() {
    let fx = Fixture::new().await;
    let conn = fx.db.conn();
    let all = count(conn, &compile_count(fx.scope, None, 10, &fields(), &blind).unwrap()).await.unwrap();
    assert_eq!((all.value, all.capped), (6, false));
    let capped = count(conn, &compile_count(fx.scope, None, 3, &fields(), &blind).unwrap()).await.unwrap();
    assert_eq!((capped.value, capped.capped), (3, true));
    let exact = count(conn, &compile_count(fx.scope, None, 6, &fields(), &blind).unwrap()).await.unwrap();
    assert_eq!((exact.value, exact.capped), (6, false));
    let filter = f("tags", Op::Eq, text("red"));
    let some = count(conn, &compile_count(fx.scope, Some(&filter), 0, &fields(), &blind).unwrap()).await.unwrap();
    assert_eq!((some.value, some.capped), (2, false));
}

#[tokio::test]
async fn another_orgs_rows_are_never_returned() {
    let fx = Fixture::new().await;
    let stranger = QueryScope { org_id: OrgId::new(), ..fx.scope };
    let filter = f("name", Op::Contains, text("alice"));
    let query = RecordQuery { filter: Some(filter.clone()), ..RecordQuery::default() };
    let page = fetch_page(fx.db.conn(), &compile(stranger, &query, &fields(), &blind).unwrap()).await.unwrap();
    assert!(page.rows.is_empty());
    // The stray rows match the filter in their own org / module / deleted state only.
    assert_eq!(fx.matching(filter).await, ["r1", "r6"]);
    let n = count(fx.db.conn(), &compile_count(stranger, None, 0, &fields(), &blind).unwrap()).await.unwrap();
    assert_eq!(n.value, 0);
}
