//! Unit tests of the translation: each predicate shape, each fail-closed case, and that every
//! translation passes the query compiler.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use chrono::{NaiveDate, NaiveDateTime, Utc};
use listone_core::{ModuleId, OrgId, RecordId, Secret};
use listone_customization::{Decimal, Layout, ModuleKind, PersonalCategory, Protection};

use super::*;
use crate::codec::{DecodedRecord, field_index};
use crate::query::{NoBlindIndex, QueryScope, RecordQuery, compile};

fn module() -> ModuleDef {
    let picklist = FieldType::Picklist { values: vec!["EMEA".into(), "APAC".into()] };
    let field = |key: &str, field_type: FieldType| FieldDef::new(key, key, field_type).indexed();
    ModuleDef {
        key: "probe".into(),
        label_singular: "Probe".into(),
        label_plural: "Probes".into(),
        kind: ModuleKind::Custom,
        is_subject: false,
        subject_link: None,
        fields: vec![
            field("region", picklist),
            field("name", FieldType::Text),
            field("score", FieldType::Number),
            field("vip", FieldType::Boolean),
            field("due", FieldType::Date),
            field("seen", FieldType::DateTime),
            field("rep", FieldType::User),
            field("amount", FieldType::Decimal { scale: 2 }),
            FieldDef::new("notes", "notes", FieldType::LongText),
            field("site", FieldType::Url),
            field("tags", FieldType::MultiPicklist { values: vec!["a".into()] }),
            FieldDef::new("plain", "plain", FieldType::Text),
            FieldDef::new("secret", "secret", FieldType::Text)
                .tagged(PersonalCategory::Identity, Protection::Encrypted),
            FieldDef::new("email", "email", FieldType::Email).tagged(PersonalCategory::Contact, Protection::Searchable),
        ],
        layout: Layout::default(),
        version: 1,
    }
}

fn filter(predicate: AccessPredicate) -> AccessFilter {
    access_filter(&predicate, &CriteriaFields::of(&module())).unwrap()
}

fn on(field: &str, test: Test) -> AccessPredicate {
    AccessPredicate::Field(Condition::new(field, test))
}

fn cmp(key: &str, op: Op, value: QueryValue) -> Filter {
    Filter::cmp(FieldRef::custom(key), op, value)
}

fn present(key: &str) -> Filter {
    cmp(key, Op::IsEmpty, QueryValue::Bool(false))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn at_micros(us: i64, extra_nanos: u32) -> Value {
    let t = DateTime::from_timestamp_micros(us).unwrap();
    Value::Time(t + chrono::Duration::nanoseconds(i64::from(extra_nanos)))
}

fn user(i: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(i))
}

fn ids(range: std::ops::Range<u128>) -> QueryValue {
    QueryValue::List(range.map(|i| QueryValue::Id(Uuid::from_u128(i))).collect())
}

#[test]
fn criteria_test_only_plain_indexed_single_valued_fields_sql_sees_exactly() {
    let fields = CriteriaFields::of(&module());
    let kinds: Vec<(&str, ValueKind)> = fields.keys().map(|k| (k, fields.kind(k).unwrap())).collect();
    assert_eq!(
        kinds,
        [
            ("due", ValueKind::Time),
            ("name", ValueKind::Text),
            ("region", ValueKind::Text),
            ("rep", ValueKind::Text),
            ("score", ValueKind::Number),
            ("seen", ValueKind::Time),
            ("site", ValueKind::Text),
            ("vip", ValueKind::Bool),
        ]
    );
    let formula = |result| FieldType::Formula { expression: "1".into(), result };
    let indexed = |t: FieldType| FieldDef::new("f", "f", t).indexed();
    assert_eq!(criteria_kind(&indexed(formula(FormulaResult::Number))), Some(ValueKind::Number));
    assert_eq!(criteria_kind(&indexed(formula(FormulaResult::Boolean))), Some(ValueKind::Bool));
    assert_eq!(criteria_kind(&indexed(formula(FormulaResult::Text))), Some(ValueKind::Text));
    assert_eq!(criteria_kind(&indexed(formula(FormulaResult::Decimal { scale: 2 }))), None);
    assert_eq!(criteria_kind(&indexed(FieldType::Lookup { target: "x".into() })), Some(ValueKind::Text));
}

#[test]
fn constants_and_empty_groups_need_no_filter() {
    assert_eq!(filter(AccessPredicate::True), AccessFilter::All);
    assert_eq!(filter(AccessPredicate::False), AccessFilter::Nothing);
    assert_eq!(filter(AccessPredicate::And(vec![])), AccessFilter::All);
    assert_eq!(filter(AccessPredicate::Or(vec![])), AccessFilter::Nothing);
    assert_eq!(filter(AccessPredicate::OwnerIn(BTreeSet::new())), AccessFilter::Nothing);
    let or_true = AccessPredicate::Or(vec![on("ghost", Test::IsEmpty), AccessPredicate::True]);
    assert_eq!(filter(or_true), AccessFilter::All);
    let and_false = AccessPredicate::And(vec![on("name", Test::IsEmpty), on("ghost", Test::IsEmpty)]);
    assert_eq!(filter(and_false), AccessFilter::Nothing);
}

#[test]
fn id_sets_merge_and_split_into_in_lists_of_at_most_the_limit() {
    let owners = |r: std::ops::Range<u128>| AccessPredicate::OwnerIn(r.map(user).collect());
    let records = AccessPredicate::RecordIn([RecordId::from_uuid(Uuid::from_u128(7))].into());
    let found = filter(AccessPredicate::Or(vec![owners(0..150), records, owners(150..250)]));
    let owner_in = |r| Filter::cmp(FieldRef::System(SystemField::OwnerId), Op::In, ids(r));
    let id_in = Filter::cmp(FieldRef::System(SystemField::Id), Op::In, ids(7..8));
    assert_eq!(
        found,
        AccessFilter::Where(Filter::Or(vec![owner_in(0..100), owner_in(100..200), owner_in(200..250), id_in]))
    );
}

#[test]
fn ne_holds_only_for_a_present_value() {
    let ne = filter(on("name", Test::Ne(text("Ann"))));
    assert_eq!(
        ne,
        AccessFilter::Where(Filter::And(vec![cmp("name", Op::Ne, QueryValue::Text("Ann".into())), present("name")]))
    );
    assert_eq!(
        filter(on("vip", Test::Ne(Value::Bool(true)))),
        AccessFilter::Where(cmp("vip", Op::Eq, QueryValue::Bool(false)))
    );
    assert_eq!(
        filter(on("name", Test::IsEmpty)),
        AccessFilter::Where(cmp("name", Op::IsEmpty, QueryValue::Bool(true)))
    );
}

#[test]
fn every_test_on_a_field_criteria_cannot_test_is_false() {
    let tests = [Test::IsEmpty, Test::Eq(text("x")), Test::Ne(text("x")), Test::In(vec![text("x")])];
    for field in ["ghost", "amount", "notes", "tags", "plain", "secret", "email", "owner_id"] {
        for test in &tests {
            assert_eq!(filter(on(field, test.clone())), AccessFilter::Nothing, "{field} {test:?}");
        }
    }
}

#[test]
fn other_kinds_and_orderings_of_text_or_booleans_are_false() {
    let cases = [
        on("name", Test::Eq(Value::Number(1))),
        on("name", Test::Ne(Value::Bool(true))),
        on("score", Test::Eq(text("1"))),
        on("score", Test::Gt(at_micros(0, 0))),
        on("seen", Test::Lt(Value::Number(1))),
        on("vip", Test::In(vec![Value::Number(1)])),
        on("name", Test::Lt(text("m"))),
        on("vip", Test::Gte(Value::Bool(false))),
    ];
    for case in cases {
        assert_eq!(filter(case.clone()), AccessFilter::Nothing, "{case:?}");
    }
}

#[test]
fn integers_beyond_two_to_the_53_can_only_narrow() {
    let big = 1_i64 << 53;
    let double = QueryValue::Number(big as f64);
    assert_eq!(filter(on("score", Test::Eq(Value::Number(big)))), AccessFilter::Nothing);
    assert_eq!(
        filter(on("score", Test::Lte(Value::Number(big)))),
        AccessFilter::Where(cmp("score", Op::Lt, double.clone()))
    );
    assert_eq!(
        filter(on("score", Test::Gte(Value::Number(big)))),
        AccessFilter::Where(cmp("score", Op::Gt, double.clone()))
    );
    assert_eq!(
        filter(on("score", Test::Ne(Value::Number(big)))),
        AccessFilter::Where(Filter::And(vec![cmp("score", Op::Ne, double), present("score")]))
    );
    let below = QueryValue::Number((big - 1) as f64);
    assert_eq!(filter(on("score", Test::Eq(Value::Number(big - 1)))), AccessFilter::Where(cmp("score", Op::Eq, below)));
    let list = on("score", Test::In(vec![Value::Number(-big), Value::Number(3), Value::Number(3)]));
    assert_eq!(
        filter(list),
        AccessFilter::Where(cmp("score", Op::In, QueryValue::List(vec![QueryValue::Number(3.0)])))
    );
}

#[test]
fn times_between_microseconds_round_to_the_bound_that_keeps_the_answer() {
    let between = at_micros(1_000, 500);
    let at = |op, us| AccessFilter::Where(cmp("seen", op, QueryValue::Time(us)));
    assert_eq!(filter(on("seen", Test::Eq(between.clone()))), AccessFilter::Nothing);
    assert_eq!(filter(on("seen", Test::Ne(between.clone()))), AccessFilter::Where(present("seen")));
    assert_eq!(filter(on("seen", Test::Lt(between.clone()))), at(Op::Lte, 1_000));
    assert_eq!(filter(on("seen", Test::Gte(between))), at(Op::Gt, 1_000));
    assert_eq!(filter(on("seen", Test::Gt(at_micros(-1, 500)))), at(Op::Gt, -1));
    assert_eq!(filter(on("seen", Test::Lte(at_micros(5, 0)))), at(Op::Lte, 5));
    let leap = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
    let last_us = NaiveDateTime::and_utc(&leap).timestamp() * 1_000_000 + 999_999;
    assert_eq!(filter(on("seen", Test::Lt(Value::Time(leap.and_utc())))), at(Op::Lte, last_us));
}

#[test]
fn text_no_stored_value_can_equal_matches_nothing_and_nul_fails_closed() {
    let long = text(&"x".repeat(MAX_TEXT_VALUE_CHARS + 1));
    assert_eq!(filter(on("name", Test::Eq(long.clone()))), AccessFilter::Nothing);
    assert_eq!(filter(on("name", Test::Ne(long.clone()))), AccessFilter::Where(present("name")));
    assert_eq!(filter(on("name", Test::Eq(text("a\0")))), AccessFilter::Nothing);
    assert_eq!(filter(on("name", Test::Ne(text("a\0")))), AccessFilter::Nothing);
    let list = on("name", Test::In(vec![long, text("a\0"), Value::Number(1), text("Ann")]));
    assert_eq!(
        filter(list),
        AccessFilter::Where(cmp("name", Op::In, QueryValue::List(vec![QueryValue::Text("Ann".into())])))
    );
}

#[test]
fn long_operands_on_fields_whose_index_cuts_values_can_only_narrow() {
    let prefix = "u".repeat(MAX_TEXT_VALUE_CHARS);
    let (at_limit, beyond) = (text(&prefix), text(&format!("{prefix}more")));
    let just_below = text(&prefix[1..]);
    let start = QueryValue::Text(prefix.clone());
    assert_eq!(filter(on("site", Test::Eq(at_limit.clone()))), AccessFilter::Nothing);
    assert_eq!(filter(on("site", Test::In(vec![beyond.clone()]))), AccessFilter::Nothing);
    assert_eq!(
        filter(on("site", Test::Ne(beyond.clone()))),
        AccessFilter::Where(Filter::And(vec![cmp("site", Op::Ne, start.clone()), present("site")]))
    );
    let exact = QueryValue::Text(prefix[1..].to_owned());
    assert_eq!(filter(on("site", Test::Eq(just_below))), AccessFilter::Where(cmp("site", Op::Eq, exact)));
    // An uncut field holds no value that long, so equality at the limit is exact.
    assert_eq!(filter(on("name", Test::Eq(at_limit))), AccessFilter::Where(cmp("name", Op::Eq, start)));
    assert_eq!(filter(on("name", Test::Ne(beyond))), AccessFilter::Where(present("name")));
}

#[test]
fn boolean_in_lists_become_eq_or_present_and_long_lists_split() {
    let vip = |values: Vec<Value>| filter(on("vip", Test::In(values)));
    assert_eq!(vip(vec![Value::Bool(true)]), AccessFilter::Where(cmp("vip", Op::Eq, QueryValue::Bool(true))));
    assert_eq!(vip(vec![Value::Bool(true), Value::Bool(false)]), AccessFilter::Where(present("vip")));
    assert_eq!(vip(vec![]), AccessFilter::Nothing);
    let AccessFilter::Where(Filter::Or(lists)) = filter(on("score", Test::In((0..150).map(Value::Number).collect())))
    else {
        panic!("expected two in lists");
    };
    assert_eq!(lists.len(), 2);
}

#[test]
fn a_predicate_beyond_the_filter_limits_is_refused_not_widened() {
    let wide =
        AccessPredicate::Or((0..=MAX_FILTER_CLAUSES as i64).map(|i| on("score", Test::Gt(Value::Number(i)))).collect());
    let fields = CriteriaFields::of(&module());
    assert!(matches!(access_filter(&wide, &fields), Err(Error::FailedPrecondition { .. })));
    let mut deep = on("score", Test::IsEmpty);
    for level in 0..=MAX_FILTER_DEPTH as i64 {
        let sibling = on("score", Test::Eq(Value::Number(level)));
        deep = if level % 2 == 0 {
            AccessPredicate::Or(vec![deep, sibling])
        } else {
            AccessPredicate::And(vec![deep, sibling])
        };
    }
    assert!(matches!(access_filter(&deep, &fields), Err(Error::FailedPrecondition { .. })));
}

#[test]
fn every_translation_compiles_against_the_modules_index() {
    let def = module();
    let predicates = [
        on("region", Test::In(vec![text("EMEA"), text("APAC")])),
        on("score", Test::Ne(Value::Number(1 << 60))),
        on("seen", Test::Lt(at_micros(7, 1))),
        on("due", Test::Gte(at_micros(0, 0))),
        on("rep", Test::Eq(text(&user(1).to_string()))),
        AccessPredicate::Or(vec![
            AccessPredicate::OwnerIn((0..120).map(user).collect()),
            AccessPredicate::And(vec![on("vip", Test::Ne(Value::Bool(false))), on("name", Test::Ne(text("Ann")))]),
        ]),
    ];
    let scope = QueryScope { org_id: OrgId::new(), module_id: ModuleId::new(), engine: listone_core::Engine::Postgres };
    for predicate in predicates {
        let AccessFilter::Where(access) = filter(predicate.clone()) else { panic!("{predicate:?} needs a filter") };
        let caller = cmp("name", Op::StartsWith, QueryValue::Text("a".into()));
        let AccessFilter::Where(both) = AccessFilter::Where(access).restrict(Some(caller)) else { panic!() };
        let query = RecordQuery { filter: Some(both), ..RecordQuery::default() };
        compile(scope, &query, &field_index(&def), &NoBlindIndex).unwrap();
    }
}

#[test]
fn restrict_ands_the_callers_filter_and_keeps_nothing_empty() {
    let own = cmp("name", Op::Eq, QueryValue::Text("Ann".into()));
    assert_eq!(AccessFilter::All.restrict(Some(own.clone())), AccessFilter::Where(own.clone()));
    assert_eq!(AccessFilter::All.restrict(None), AccessFilter::All);
    assert_eq!(AccessFilter::Nothing.restrict(Some(own.clone())), AccessFilter::Nothing);
    let access = Filter::And(vec![present("vip"), present("name")]);
    assert_eq!(
        AccessFilter::Where(access).restrict(Some(own.clone())),
        AccessFilter::Where(Filter::And(vec![own, present("vip"), present("name")]))
    );
}

#[test]
fn facts_hold_the_criteria_fields_read_as_the_index_holds_them() {
    let value = |v: FieldValue| Decoded::Value(Secret::new(v));
    let seen = DateTime::from_timestamp_micros(1_234_567).unwrap();
    let fields: BTreeMap<String, Decoded> = [
        ("name", value(FieldValue::Text("Ann".into()))),
        ("score", value(FieldValue::Null)),
        ("due", value(FieldValue::Date(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()))),
        ("seen", value(FieldValue::DateTime(seen))),
        ("rep", value(FieldValue::User(user(3)))),
        ("vip", value(FieldValue::Text("not a bool".into()))),
        ("amount", value(FieldValue::Decimal("1.50".parse::<Decimal>().unwrap()))),
        ("secret", Decoded::Erased),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let record = StoredRecord {
        id: RecordId::new(),
        module_id: ModuleId::new(),
        owner_id: Uuid::from_u128(9),
        subject_id: None,
        version: 1,
        created_by: Uuid::nil(),
        created_at_us: 0,
        updated_by: Uuid::nil(),
        updated_at_us: 0,
        restricted: false,
        fields: DecodedRecord { fields },
    };
    let facts = CriteriaFields::of(&module()).facts(&record);
    let expected = RecordFacts::new(record.id, Some(user(9)))
        .with("name", Some(text("Ann")))
        .with("score", None)
        .with("due", Some(Value::Time(DateTime::<Utc>::from_timestamp(86_400, 0).unwrap())))
        .with("seen", Some(Value::Time(seen)))
        .with("rep", Some(text(&user(3).to_string())));
    assert_eq!(facts, expected, "vip holds another kind, region was not read, amount and secret are no criteria");
}
