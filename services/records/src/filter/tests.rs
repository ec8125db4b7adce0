#![allow(clippy::unwrap_used)]
use listone_core::Error;
use listone_customization::standard_modules;
use prost_types::Value;

use super::*;

fn contacts() -> ModuleDef {
    standard_modules("EUR").into_iter().find(|m| m.key == "contacts").unwrap()
}

fn cond(field: &str, op: pb::Op, value: Option<Kind>) -> pb::Filter {
    pb::Filter {
        kind: Some(pb::filter::Kind::Condition(pb::Condition {
            field: field.into(),
            op: op as i32,
            value: value.map(|k| Value { kind: Some(k) }),
            values: Vec::new(),
        })),
    }
}

fn text(s: &str) -> Option<Kind> {
    Some(Kind::StringValue(s.into()))
}

fn and(filters: Vec<pb::Filter>) -> pb::Filter {
    pb::Filter { kind: Some(pb::filter::Kind::And(pb::FilterGroup { filters })) }
}

fn or(filters: Vec<pb::Filter>) -> pb::Filter {
    pb::Filter { kind: Some(pb::filter::Kind::Or(pb::FilterGroup { filters })) }
}

fn decode(filter: &pb::Filter) -> Result<Filter, Vec<String>> {
    let mut v = Violations::new();
    let out = filter_from_pb(filter, &contacts(), &mut v);
    match v.into_result() {
        Ok(()) => Ok(out.unwrap()),
        Err(Error::InvalidArgument { violations }) => Err(violations.into_iter().map(|v| v.field).collect()),
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn operands_take_the_form_of_their_field() {
    let filter = and(vec![
        cond("created_at", pb::Op::Gte, text("2024-01-02")),
        cond("owner_id", pb::Op::Eq, text("0192f0c1-7c1e-7000-8000-000000000001")),
        cond("email", pb::Op::Eq, text("ada@example.com")),
        cond("version", pb::Op::Gt, Some(Kind::NumberValue(1.0))),
        cond("phone", pb::Op::IsEmpty, None),
    ]);
    let Filter::And(items) = decode(&filter).unwrap() else { panic!("not an and") };
    let values: Vec<QueryValue> = items
        .into_iter()
        .map(|f| match f {
            Filter::Cmp { value, .. } => value,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(values[0], QueryValue::Time(time_us("2024-01-02T00:00:00Z").unwrap()));
    assert!(matches!(values[1], QueryValue::Id(_)));
    assert_eq!(values[2], QueryValue::Text("ada@example.com".into()));
    assert_eq!(values[3], QueryValue::Number(1.0));
    assert_eq!(values[4], QueryValue::Bool(true));
}

#[test]
fn in_takes_its_values_list() {
    let mut filter = cond("last_name", pb::Op::In, None);
    if let Some(pb::filter::Kind::Condition(c)) = &mut filter.kind {
        c.values = vec![Value { kind: text("A") }, Value { kind: text("B") }];
    }
    let Filter::Cmp { value: QueryValue::List(items), .. } = decode(&filter).unwrap() else { panic!("not a list") };
    assert_eq!(items.len(), 2);
}

#[test]
fn every_decoding_problem_is_named_by_its_request_path() {
    let filter = or(vec![
        cond("", pb::Op::Eq, text("x")),
        cond("created_at", pb::Op::Lt, text("yesterday")),
        cond("owner_id", pb::Op::Eq, text("nobody")),
        cond("last_name", pb::Op::Unspecified, text("x")),
        cond("last_name", pb::Op::Eq, None),
        pb::Filter { kind: None },
    ]);
    assert_eq!(
        decode(&filter).unwrap_err(),
        [
            "filter.or.filters[0].condition.field",
            "filter.or.filters[1].condition.value",
            "filter.or.filters[2].condition.value",
            "filter.or.filters[3].condition.op",
            "filter.or.filters[4].condition.value",
            "filter.or.filters[5]",
        ]
    );
}

#[test]
fn over_deep_or_huge_filters_are_refused_whole() {
    let mut deep = cond("last_name", pb::Op::Eq, text("x"));
    for _ in 0..=MAX_FILTER_DEPTH {
        deep = and(vec![deep]);
    }
    assert_eq!(decode(&deep).unwrap_err(), ["filter"]);
    let wide = and((0..MAX_FILTER_NODES).map(|_| cond("last_name", pb::Op::Eq, text("x"))).collect());
    assert_eq!(decode(&wide).unwrap_err(), ["filter"]);
}

#[test]
fn compiler_paths_become_request_paths() {
    let mut in_cond = cond("last_name", pb::Op::In, None);
    if let Some(pb::filter::Kind::Condition(c)) = &mut in_cond.kind {
        c.values = vec![Value { kind: text("A") }];
    }
    let filter = and(vec![cond("x", pb::Op::Eq, text("a")), or(vec![in_cond]), and(vec![])]);
    let cases = [
        ("filter", "filter"),
        ("filter.and[0].field", "filter.and.filters[0].condition.field"),
        ("filter.and[0].value", "filter.and.filters[0].condition.value"),
        ("filter.and[1].or[0].value", "filter.and.filters[1].or.filters[0].condition.values"),
        ("filter.and[1].or[0].value[3]", "filter.and.filters[1].or.filters[0].condition.values[3]"),
        ("filter.and[2].and", "filter.and.filters[2].and.filters"),
        ("sort[0].field", "sort[0].field"),
        ("filters", "filters"),
    ];
    for (domain, request) in cases {
        assert_eq!(request_path(domain, Some(&filter)), request, "{domain}");
    }
    assert_eq!(request_path("filter.value", Some(&cond("a", pb::Op::Eq, text("b")))), "filter.condition.value");
    for (_, request) in cases {
        assert_eq!(request_path(request, Some(&filter)), request, "translating twice changes nothing");
    }
}
