//! The property of issue 7 on a real database (SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL): for random access predicates, the records a list returns through
//! the translated filter are exactly those `eval` admits in memory from the records' facts.
//! Predicates mix every variant, conditions on criteria fields, on fields criteria cannot test
//! and on no field at all, with values of the right and wrong kinds, empty values, integers past
//! 2^53, times between microseconds and text with NUL. The two documented narrowings (integers
//! past 2^53, `ne` with NUL text) may only hide records memory shows, never show one it hides.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "record_store_support.rs"]
mod support;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use listone_audit::{ActorKind, AuditActor};
use listone_core::{Error, RecordId, UserId};
use listone_customization::{FieldDef, FieldType, Layout, ModuleDef, ModuleKind, PersonalCategory, Protection};
use listone_identity::access::{AccessPredicate, Condition, RecordFacts, Test, Value, eval};
use listone_records::ChangeSource;
use listone_records::access::{AccessFilter, CriteriaFields, access_filter};
use listone_records::query::{FieldRef, Filter, Op, QueryValue, RecordQuery, SortKey};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value as Json, json};
use support::Fixture;
use uuid::Uuid;

const RECORDS: usize = 40;
/// Cases per run; `PROPTEST_CASES` raises it for a longer search.
const CASES: u32 = 256;
/// Small pages, so every list walks several keyset pages.
const PAGE_SIZE: u32 = 7;
const MODULE: &str = "probe";
/// Fields a condition may name: criteria fields, fields criteria cannot test, and no field.
const FIELDS: [&str; 14] = [
    "region", "name", "score", "vip", "due", "seen", "rep", "amount", "site", "tags", "plain", "secret", "email",
    "ghost",
];
const BIG: i64 = 1 << 53;

/// URLs as stored: short, and two longer than the index keeps that share their first 500
/// characters (the index cannot tell them apart).
fn urls() -> Vec<String> {
    let base = "https://example.com/";
    vec![base.to_owned(), format!("{base}{}", "a".repeat(600)), format!("{base}{}b", "a".repeat(599))]
}

fn probe_module() -> ModuleDef {
    let indexed = |key: &str, field_type: FieldType| FieldDef::new(key, key, field_type).indexed();
    let list = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
    ModuleDef {
        key: MODULE.into(),
        label_singular: "Probe".into(),
        label_plural: "Probes".into(),
        kind: ModuleKind::Custom,
        is_subject: false,
        subject_link: None,
        fields: vec![
            indexed("region", FieldType::Picklist { values: list(&["EMEA", "APAC", "AMER"]) }),
            indexed("name", FieldType::Text),
            indexed("score", FieldType::Number),
            indexed("vip", FieldType::Boolean),
            indexed("due", FieldType::Date),
            indexed("seen", FieldType::DateTime),
            indexed("rep", FieldType::User),
            indexed("amount", FieldType::Decimal { scale: 2 }),
            indexed("site", FieldType::Url),
            indexed("tags", FieldType::MultiPicklist { values: list(&["a", "b"]) }),
            FieldDef::new("plain", "plain", FieldType::Text),
            FieldDef::new("secret", "secret", FieldType::Text)
                .tagged(PersonalCategory::Identity, Protection::Encrypted),
            FieldDef::new("email", "email", FieldType::Email).tagged(PersonalCategory::Contact, Protection::Searchable),
        ],
        layout: Layout::default(),
        version: 1,
    }
}

fn user(i: u8) -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x0192_f0c1_0000_7000_8000_0000_0000_0000 + u128::from(i)))
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_366_400, 0).unwrap() // 2026-03-01T12:00:00Z
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// One record's values as created; `None` is empty.
#[derive(Debug, Clone)]
struct Sample {
    owner: UserId,
    region: Option<&'static str>,
    name: Option<&'static str>,
    score: Option<i64>,
    vip: Option<bool>,
    due: Option<NaiveDate>,
    seen: Option<DateTime<Utc>>,
    rep: Option<UserId>,
    amount: Option<&'static str>,
    site: Option<String>,
    tags: Vec<&'static str>,
    plain: Option<&'static str>,
    secret: Option<&'static str>,
    email: Option<&'static str>,
}

fn sample() -> impl Strategy<Value = Sample> {
    use prop::option::of;
    let seen = select(vec![-1_000_000_i64, 0, 1, 1_000_000]).prop_map(|us| t0() + TimeDelta::microseconds(us));
    (
        (
            (0u8..4).prop_map(user),
            of(select(vec!["EMEA", "APAC", "AMER"])),
            of(select(vec!["Ann", "ann", "Zoë", "Bob"])),
            of(select(vec![-2, -1, 0, 1, 2, BIG + 1, -BIG - 1])),
            of(any::<bool>()),
            of(select(vec![day(1), day(2)])),
            of(seen),
        ),
        (
            of((0u8..3).prop_map(user)),
            of(select(vec!["12.50", "-1.00"])),
            of(select(urls())),
            subsequence(vec!["a", "b"], 0..=2),
            of(Just("Ann")),
            of(Just("Ann")),
            of(Just("ann@example.com")),
        ),
    )
        .prop_map(
            |((owner, region, name, score, vip, due, seen), (rep, amount, site, tags, plain, secret, email))| Sample {
                owner,
                region,
                name,
                score,
                vip,
                due,
                seen,
                rep,
                amount,
                site,
                tags,
                plain,
                secret,
                email,
            },
        )
}

impl Sample {
    fn input(&self) -> Map<String, Json> {
        let mut values = Map::new();
        let mut put = |key: &str, value: Option<Json>| {
            values.insert(key.to_owned(), value.unwrap_or(Json::Null));
        };
        put("region", self.region.map(Json::from));
        put("name", self.name.map(Json::from));
        put("score", self.score.map(Json::from));
        put("vip", self.vip.map(Json::from));
        put("due", self.due.map(|d| json!(d.format("%Y-%m-%d").to_string())));
        put("seen", self.seen.map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))));
        put("rep", self.rep.map(|u| json!(u.to_string())));
        put("amount", self.amount.map(Json::from));
        put("site", self.site.clone().map(Json::from));
        put("tags", Some(json!(self.tags)));
        put("plain", self.plain.map(Json::from));
        put("secret", self.secret.map(Json::from));
        put("email", self.email.map(Json::from));
        values
    }

    /// The facts `eval` must see, written out from the values as created: criteria fields
    /// only, a date as its midnight in UTC, a user as its id's text.
    fn facts(&self, id: RecordId) -> RecordFacts {
        let text = |s: &str| Value::Text(s.to_owned());
        RecordFacts::new(id, Some(self.owner))
            .with("region", self.region.map(text))
            .with("name", self.name.map(text))
            .with("score", self.score.map(Value::Number))
            .with("vip", self.vip.map(Value::Bool))
            .with("due", self.due.map(|d| Value::Time(d.and_time(NaiveTime::MIN).and_utc())))
            .with("seen", self.seen.map(Value::Time))
            .with("rep", self.rep.map(|u| text(&u.to_string())))
            .with("site", self.site.as_deref().map(text))
    }
}

fn text() -> BoxedStrategy<Value> {
    let pool = [
        "EMEA", "APAC", "Ann", "ann", "Zoë", "Bob", "", "a\0", // NUL: fails closed
    ];
    let mut pool: Vec<String> = pool.iter().map(|s| (*s).to_owned()).collect();
    pool.extend(["x".repeat(501), user(0).to_string(), user(1).to_string()]);
    select(pool).prop_map(Value::Text).boxed()
}

fn number() -> BoxedStrategy<Value> {
    select(vec![-2, -1, 0, 1, 2, 3, BIG - 1, BIG, BIG + 1, -BIG - 1, i64::MAX]).prop_map(Value::Number).boxed()
}

fn time() -> BoxedStrategy<Value> {
    let leap = day(1).and_hms_nano_opt(11, 59, 59, 1_500_000_000).unwrap().and_utc(); // just before t0
    let nanos = select(vec![-1_000_000_000_i64, -500, 0, 500, 1_000, 1_001, 1_000_000_000]);
    prop_oneof![
        nanos.prop_map(|ns| Value::Time(t0() + TimeDelta::nanoseconds(ns))),
        select(vec![day(1), day(2)]).prop_map(|d| Value::Time(d.and_time(NaiveTime::MIN).and_utc())),
        Just(Value::Time(leap)),
    ]
    .boxed()
}

fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![text(), number(), any::<bool>().prop_map(Value::Bool), time()].boxed()
}

/// A test whose operands come from `values`.
fn test(values: BoxedStrategy<Value>) -> BoxedStrategy<Test> {
    prop_oneof![
        values.clone().prop_map(Test::Eq),
        values.clone().prop_map(Test::Ne),
        prop::collection::vec(values.clone(), 0..4).prop_map(Test::In),
        values.clone().prop_map(Test::Lt),
        values.clone().prop_map(Test::Lte),
        values.clone().prop_map(Test::Gt),
        values.prop_map(Test::Gte),
        Just(Test::IsEmpty),
    ]
    .boxed()
}

/// Mostly a condition on a criteria field with operands of its kind (so it tells records apart);
/// otherwise any field with any operand.
fn condition() -> impl Strategy<Value = AccessPredicate> {
    let typed = select(vec!["region", "name", "score", "vip", "due", "seen", "rep", "site"]).prop_flat_map(|field| {
        let values = match field {
            "site" => {
                // The stored URLs, their indexed start (500 characters) and one character less.
                let mut pool = urls();
                pool.extend([pool[1].chars().take(500).collect(), pool[1].chars().take(499).collect()]);
                prop_oneof![select(pool).prop_map(Value::Text), text()].boxed()
            }
            "score" => number(),
            "vip" => any::<bool>().prop_map(Value::Bool).boxed(),
            "due" | "seen" => time(),
            _ => text(),
        };
        test(values).prop_map(move |t| Condition::new(field, t))
    });
    let untyped = (select(FIELDS.to_vec()), test(any_value())).prop_map(|(field, t)| Condition::new(field, t));
    prop_oneof![3 => typed, 1 => untyped].prop_map(AccessPredicate::Field)
}

fn predicate(records: Vec<RecordId>) -> impl Strategy<Value = AccessPredicate> {
    let owners: Vec<UserId> = (0u8..5).map(user).collect(); // user 4 owns nothing
    let mut shared = records;
    shared.push(RecordId::from_uuid(Uuid::from_u128(7))); // no such record
    let leaf = prop_oneof![
        1 => Just(AccessPredicate::True),
        1 => Just(AccessPredicate::False),
        2 => subsequence(owners.clone(), 0..=3).prop_map(|o| AccessPredicate::OwnerIn(o.into_iter().collect())),
        2 => subsequence(shared, 0..=8).prop_map(|r| AccessPredicate::RecordIn(r.into_iter().collect())),
        8 => condition(),
    ];
    let tree = leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(AccessPredicate::And),
            prop::collection::vec(inner, 0..4).prop_map(AccessPredicate::Or),
        ]
    });
    // A quarter are one condition alone, so no sibling masks how its edge cases translate.
    prop_oneof![1 => condition(), 3 => tree]
}

/// Whether the predicate holds an operand SQL may only under-approximate: an integer past
/// 2^53 on the number field, text of 500 characters or more on the URL field (whose index keeps
/// 500), or `ne` with NUL text.
fn may_narrow(predicate: &AccessPredicate) -> bool {
    match predicate {
        AccessPredicate::And(parts) | AccessPredicate::Or(parts) => parts.iter().any(may_narrow),
        AccessPredicate::Field(Condition { field, test }) => test.operands().iter().any(|v| match v {
            Value::Number(n) => field == "score" && n.unsigned_abs() >= BIG.unsigned_abs(),
            Value::Text(t) => {
                (field == "site" && t.chars().count() >= 500) || (t.contains('\0') && matches!(test, Test::Ne(_)))
            }
            _ => false,
        }),
        _ => false,
    }
}

struct Probe {
    f: Fixture,
    criteria: CriteriaFields,
    facts: Vec<RecordFacts>,
}

impl Probe {
    async fn new() -> Self {
        let f = Fixture::new().await;
        let system = AuditActor { kind: ActorKind::System, id: None };
        let def = f.modules.create_module(f.org, probe_module(), system, Default::default()).await.unwrap();
        // Owners and reps are users of the org.
        f.enrol_users(f.org, (0u8..5).map(|i| user(i).as_uuid())).await;
        let criteria = CriteriaFields::of(&def.definition);
        let mut runner = TestRunner::deterministic();
        let mut expected = BTreeMap::new();
        for _ in 0..RECORDS {
            let s = sample().new_tree(&mut runner).unwrap().current();
            let created = f
                .store
                .create(f.org, MODULE, s.input(), s.owner.as_uuid(), f.actor.clone(), f.ctx.clone(), ChangeSource::Api)
                .await
                .unwrap();
            expected.insert(created.id, s.facts(created.id));
        }
        let mut probe = Self { f, criteria, facts: Vec::new() };
        // The facts as a single-record decision reads them from the store must be the ones written.
        let keys: Vec<&str> = probe.criteria.keys().collect();
        for record in probe.list_all(None, Some(&keys), Vec::new()).await {
            probe.facts.push(probe.criteria.facts(&record));
        }
        assert_eq!(probe.facts, expected.into_values().collect::<Vec<_>>());
        // The fixture holds what the cases need: each criteria field both empty and set, an
        // integer the index rounds, and several owners.
        for key in probe.criteria.keys() {
            let slots: Vec<_> = probe.facts.iter().filter_map(|f| f.fields.get(key)).collect();
            assert!(slots.iter().any(|v| v.is_none()) && slots.iter().any(|v| v.is_some()), "{key}");
        }
        let rounded = |f: &&RecordFacts| match f.fields.get("score") {
            Some(Some(Value::Number(n))) => n.unsigned_abs() > BIG.unsigned_abs(),
            _ => false,
        };
        assert!(probe.facts.iter().any(|f| rounded(&f)));
        assert!(probe.facts.iter().map(|f| f.owner).collect::<BTreeSet<_>>().len() >= 3);
        probe
    }

    async fn list_all(
        &self,
        filter: Option<Filter>,
        fields: Option<&[&str]>,
        sort: Vec<SortKey>,
    ) -> Vec<listone_records::StoredRecord> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let query = RecordQuery { filter: filter.clone(), sort: sort.clone(), page_size: PAGE_SIZE, page_token };
            let page = self.f.store.list(self.f.org, MODULE, &query, fields, self.f.reader()).await.unwrap();
            out.extend(page.records);
            match page.next_page_token {
                Some(next) => page_token = next,
                None => return out,
            }
        }
    }

    /// The ids a list returns with `access` ANDed into the caller's filter, every page.
    async fn listed(&self, access: AccessFilter, caller: Option<Filter>, sort: Vec<SortKey>) -> Vec<RecordId> {
        let filter = match access.restrict(caller) {
            AccessFilter::Nothing => return Vec::new(),
            AccessFilter::All => None,
            AccessFilter::Where(filter) => Some(filter),
        };
        self.list_all(filter, Some(&[]), sort).await.into_iter().map(|r| r.id).collect()
    }
}

#[test]
fn a_list_through_the_translated_filter_returns_exactly_the_records_eval_admits() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let probe = runtime.block_on(Probe::new());
    let ids: Vec<RecordId> = probe.facts.iter().map(|f| f.id).collect();
    let (exact, narrowed, hidden, partial) = (Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0));
    let started = std::time::Instant::now();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (predicate(ids), any::<bool>(), any::<bool>());
    let result = runner.run(&strategy, |(predicate, with_caller_filter, sorted)| {
        let access = match access_filter(&predicate, &probe.criteria) {
            Ok(access) => access,
            Err(Error::FailedPrecondition { .. }) => return Err(TestCaseError::reject("beyond the filter limits")),
            Err(other) => return Err(TestCaseError::fail(format!("translation failed: {other}"))),
        };
        // The caller's own filter (region not empty) and sort must not change what access admits.
        let caller =
            with_caller_filter.then(|| Filter::cmp(FieldRef::custom("region"), Op::IsEmpty, QueryValue::Bool(false)));
        let sort = if sorted { vec![SortKey::desc(FieldRef::custom("score"))] } else { Vec::new() };
        let caller_admits = |f: &RecordFacts| !with_caller_filter || matches!(f.fields.get("region"), Some(Some(_)));
        let expected: BTreeSet<RecordId> =
            probe.facts.iter().filter(|f| eval(&predicate, f) && caller_admits(f)).map(|f| f.id).collect();
        let listed = runtime.block_on(probe.listed(access, caller, sort));
        let unique: BTreeSet<RecordId> = listed.iter().copied().collect();
        prop_assert_eq!(unique.len(), listed.len(), "a record came back twice across pages");
        if may_narrow(&predicate) {
            prop_assert!(unique.is_subset(&expected), "SQL showed a record memory hides: {:?}", predicate);
            narrowed.set(narrowed.get() + 1);
        } else {
            prop_assert_eq!(&unique, &expected, "{:?}", predicate);
            exact.set(exact.get() + 1);
        }
        if expected.is_empty() {
            hidden.set(hidden.get() + 1);
        } else if expected.len() < RECORDS {
            partial.set(partial.get() + 1);
        }
        Ok(())
    });
    result.unwrap();
    eprintln!(
        "access agreement: {} exact + {} narrowing cases in {:?}; {} admitted none, {} some but not all",
        exact.get(),
        narrowed.get(),
        started.elapsed(),
        hidden.get(),
        partial.get()
    );
    assert!(exact.get() >= cases as usize / 2, "too few cases compared exactly");
    assert!(partial.get() >= cases as usize / 4, "too few cases tell records apart");
}
