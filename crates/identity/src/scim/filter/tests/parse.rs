//! What each well-formed filter parses into.

use super::*;

#[test]
fn every_comparison_operator_parses() {
    let cases = [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ];
    for (keyword, op) in cases {
        let filter = parse(&format!("userName {keyword} \"b\""));
        assert_eq!(filter, Filter::Compare { path: path("userName"), op, value: string("b") });
        assert_eq!(op.as_str(), keyword);
    }
}

#[test]
fn present_parses() {
    assert_eq!(parse("title pr"), Filter::Present(path("title")));
}

#[test]
fn operator_and_keyword_case_is_ignored() {
    assert_eq!(parse("userName EQ \"b\""), parse("userName eq \"b\""));
    assert_eq!(parse("title PR"), parse("title pr"));
    assert_eq!(parse("a Eq 1 AND b eq 2 Or NOT (c eq 3)"), parse("a eq 1 and b eq 2 or not (c eq 3)"));
    assert_eq!(parse("active eq TRUE"), eq("active", Value::Boolean(true)));
    assert_eq!(CompareOp::from_keyword("gE"), Some(CompareOp::Ge));
    assert_eq!(CompareOp::from_keyword("xx"), None);
}

#[test]
fn and_binds_tighter_than_or() {
    let (a, b, c) = (eq("a", num(1)), eq("b", num(2)), eq("c", num(3)));
    assert_eq!(parse("a eq 1 or b eq 2 and c eq 3"), or(a.clone(), and(b.clone(), c.clone())));
    assert_eq!(parse("a eq 1 and b eq 2 or c eq 3"), or(and(a.clone(), b.clone()), c.clone()));
    assert_eq!(parse("(a eq 1 or b eq 2) and c eq 3"), and(or(a, b), c));
}

#[test]
fn chains_associate_to_the_left() {
    let (a, b, c) = (eq("a", num(1)), eq("b", num(2)), eq("c", num(3)));
    assert_eq!(parse("a eq 1 or b eq 2 or c eq 3"), or(or(a.clone(), b.clone()), c.clone()));
    assert_eq!(parse("a eq 1 and b eq 2 and c eq 3"), and(and(a, b), c));
}

#[test]
fn not_binds_tighter_than_and() {
    let (a, b) = (eq("a", num(1)), eq("b", num(2)));
    assert_eq!(parse("not (a eq 1) and b eq 2"), and(not(a.clone()), b.clone()));
    assert_eq!(parse("not(a eq 1 and b eq 2)"), not(and(a.clone(), b)));
    assert_eq!(parse("not (not (a eq 1))"), not(not(a)));
}

#[test]
fn nested_parentheses_are_transparent() {
    assert_eq!(parse("((a eq 1))"), eq("a", num(1)));
    assert_eq!(parse("( ( a eq 1 ) or ( (b eq 2) ) )"), or(eq("a", num(1)), eq("b", num(2))));
}

#[test]
fn nesting_up_to_max_depth_is_accepted() {
    let deep = format!("{}a eq 1{}", "(".repeat(super::super::MAX_DEPTH), ")".repeat(super::super::MAX_DEPTH));
    assert_eq!(parse(&deep), eq("a", num(1)));
    let nots = format!("{}a eq 1{}", "not (".repeat(32), ")".repeat(32));
    assert!(matches!(parse(&nots), Filter::Not(_)));
}

#[test]
fn value_path_holds_the_inner_filter() {
    let filter = parse("emails[type eq \"work\" and value co \"@example.com\"]");
    let inner = and(
        eq("type", string("work")),
        Filter::Compare { path: path("value"), op: CompareOp::Co, value: string("@example.com") },
    );
    assert_eq!(filter, Filter::ValuePath { path: path("emails"), filter: Box::new(inner) });
}

#[test]
fn value_path_combines_with_other_expressions() {
    let filter = parse("userType eq \"Employee\" and emails[type eq \"work\"] or not (title pr)");
    let Filter::Or(left, right) = filter else { panic!("or at the top") };
    assert!(matches!(*left, Filter::And(_, ref rhs) if matches!(**rhs, Filter::ValuePath { .. })));
    assert_eq!(*right, not(Filter::Present(path("title"))));
}

#[test]
fn attribute_paths_split_into_schema_attribute_and_sub_attribute() {
    assert_eq!(path("userName"), AttrPath::new("userName", None));
    assert_eq!(path("name.familyName"), AttrPath::new("name", Some("familyName")));
    assert_eq!(path("emails.value"), AttrPath::new("emails", Some("value")));
    assert_eq!(path("groups.$ref"), AttrPath::new("groups", Some("$ref")));
    let core = path("urn:ietf:params:scim:schemas:core:2.0:User:userName");
    assert_eq!(core.schema_urn.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
    assert_eq!((core.attr.as_str(), core.sub_attr), ("userName", None));
    let enterprise = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber");
    assert_eq!(enterprise.schema_urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    assert_eq!(enterprise.attr, "employeeNumber");
    let manager = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
    assert_eq!(manager.sub_attr.as_deref(), Some("value"));
    assert_eq!(manager.to_string(), "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
}

#[test]
fn malformed_attribute_paths_are_not_paths() {
    for text in ["", "a.b.c", "1abc", "a..b", "name.", ".name", "urn:", "urn::x", "foo:bar", "a$b", "$x", "urn:x:"] {
        assert_eq!(AttrPath::parse(text), None, "{text:?}");
    }
}

#[test]
fn fully_qualified_paths_parse_in_filters() {
    let filter = parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"");
    let Filter::Compare { path, .. } = filter else { panic!("a comparison") };
    assert_eq!(path.attr, "employeeNumber");
}

#[test]
fn strings_decode_json_escapes() {
    let filter = parse(r#"displayName eq "a\"b\\c\/d\u00e9\n\t\ud83d\ude00""#);
    assert_eq!(filter, eq("displayName", string("a\"b\\c/d\u{e9}\n\t\u{1f600}")));
    assert_eq!(parse(r#"title eq """#), eq("title", string("")));
    assert_eq!(parse("title eq \"Ünïcødé ✓\""), eq("title", string("Ünïcødé ✓")));
}

#[test]
fn numbers_booleans_and_null_are_values() {
    assert_eq!(
        parse("loginCount gt 42"),
        Filter::Compare { path: path("loginCount"), op: CompareOp::Gt, value: num(42) }
    );
    let Filter::Compare { value: Value::Number(n), .. } = parse("score le -1.5e2") else { panic!("a number") };
    assert_eq!(n.as_f64(), Some(-150.0));
    assert_eq!(parse("active eq false"), eq("active", Value::Boolean(false)));
    assert_eq!(parse("title eq null"), eq("title", Value::Null));
    assert_eq!(parse("title ne null"), Filter::Compare { path: path("title"), op: CompareOp::Ne, value: Value::Null });
}

#[test]
fn whitespace_is_flexible() {
    assert_eq!(parse("  userName   eq\t\"b\"  "), eq("userName", string("b")));
    assert_eq!(parse("(a eq 1)and(b eq 2)"), and(eq("a", num(1)), eq("b", num(2))));
}

#[test]
fn filters_parse_through_from_str() {
    let filter: Filter = "userName eq \"b\"".parse().unwrap();
    assert_eq!(filter, eq("userName", string("b")));
    assert!("userName eq".parse::<Filter>().is_err());
}
