//! Every malformed filter is a 400 `invalidFilter` whose detail quotes no value.

use super::*;
use crate::scim::filter::{MAX_DEPTH, MAX_FILTER_LEN};

fn assert_invalid_filter(text: &str) -> ScimError {
    let err = refusal(text);
    assert_eq!(err.status, 400, "{text:?}");
    assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{text:?}");
    assert_eq!(err.to_json()["scimType"], "invalidFilter");
    err
}

#[test]
fn empty_and_blank_filters_are_refused() {
    assert_invalid_filter("");
    assert_invalid_filter("   \t ");
}

#[test]
fn unterminated_string_is_refused() {
    let err = assert_invalid_filter("userName eq \"bjensen");
    assert!(err.detail.contains("unterminated string"), "{}", err.detail);
    assert_invalid_filter(r#"userName eq "bjensen\""#);
}

#[test]
fn missing_value_is_refused() {
    let err = assert_invalid_filter("userName eq");
    assert!(err.detail.contains("expected a value"), "{}", err.detail);
    assert!(err.detail.contains("found the end of the filter"), "{}", err.detail);
    assert_invalid_filter("userName eq and title pr");
    assert_invalid_filter("userName eq )");
}

#[test]
fn unknown_operator_is_refused() {
    let err = assert_invalid_filter("userName xx \"bjensen\"");
    assert!(err.detail.contains("expected an operator"), "{}", err.detail);
    assert!(err.detail.contains("position 9"), "{}", err.detail);
    assert_invalid_filter("userName == \"bjensen\"");
    assert_invalid_filter("userName");
    assert_invalid_filter("userName \"bjensen\"");
}

#[test]
fn logical_operator_without_operand_is_refused() {
    for text in [
        "userName eq \"b\" and",
        "userName eq \"b\" or",
        "and userName eq \"b\"",
        "userName eq \"b\" and or title pr",
        "userName eq \"b\" or or title pr",
        "not",
        "not ()",
        "()",
    ] {
        assert_invalid_filter(text);
    }
}

#[test]
fn not_needs_parentheses() {
    assert_invalid_filter("not userName eq \"b\"");
    assert_invalid_filter("not title pr");
}

#[test]
fn unbalanced_parentheses_are_refused() {
    for text in ["(userName eq \"b\"", "userName eq \"b\")", "((title pr)", "(title pr))", ")(", "(", ")"] {
        assert_invalid_filter(text);
    }
}

#[test]
fn nesting_beyond_max_depth_is_refused() {
    let parens = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    let err = assert_invalid_filter(&parens);
    assert!(err.detail.contains("deeper than 32"), "{}", err.detail);
    let nots = format!("{}a eq 1{}", "not (".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert_invalid_filter(&nots);
    let with_value_path = format!("{}emails[type pr]{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_invalid_filter(&with_value_path);
}

#[test]
fn filters_longer_than_max_len_are_refused_by_characters() {
    let pad = |target: usize, fill: &str| {
        let prefix = "title eq \"";
        let fill_count = target - prefix.chars().count() - 1;
        format!("{prefix}{}\"", fill.repeat(fill_count))
    };
    assert!(parse_filter(&pad(MAX_FILTER_LEN, "x")).is_ok());
    // Characters, not bytes: 2048 two-byte characters still fit.
    assert!(parse_filter(&pad(MAX_FILTER_LEN, "é")).is_ok());
    let err = assert_invalid_filter(&pad(MAX_FILTER_LEN + 1, "x"));
    assert!(err.detail.contains("2049 characters"), "{}", err.detail);
}

#[test]
fn trailing_garbage_is_refused() {
    for text in ["userName eq \"b\" garbage", "userName eq \"b\" \"c\"", "title pr pr", "title pr 1", "title pr ]"] {
        let err = assert_invalid_filter(text);
        assert!(err.detail.contains("expected `and`, `or` or the end"), "{text:?}: {}", err.detail);
    }
}

#[test]
fn value_path_without_closing_bracket_is_refused() {
    let err = assert_invalid_filter("emails[type eq \"work\"");
    assert!(err.detail.contains("expected `]`"), "{}", err.detail);
    assert_invalid_filter("emails[type eq \"work\")");
    assert_invalid_filter("emails type eq \"work\"]");
    assert_invalid_filter("emails[]");
}

#[test]
fn misplaced_value_paths_are_refused() {
    assert_invalid_filter("emails[type eq \"work\" and members[value pr]]");
    assert_invalid_filter("name.givenName[value pr]");
    assert_invalid_filter("emails[emails.type eq \"work\"]");
    assert_invalid_filter("emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq \"work\"]");
    assert_invalid_filter("emails[type pr] [value pr]");
}

#[test]
fn ordering_a_boolean_or_null_is_refused() {
    for text in ["active gt true", "active ge false", "title lt null", "title le NULL"] {
        let err = assert_invalid_filter(text);
        assert!(err.detail.contains("needs a string or a number"), "{text:?}: {}", err.detail);
    }
}

#[test]
fn substring_operators_need_a_string() {
    for text in ["loginCount co 4", "active sw true", "title ew null"] {
        let err = assert_invalid_filter(text);
        assert!(err.detail.contains("needs a string"), "{text:?}: {}", err.detail);
    }
}

#[test]
fn unquoted_values_and_bad_literals_are_refused() {
    for text in [
        "userName eq bjensen",
        "userName eq 'bjensen'",
        "loginCount eq 1.2.3",
        "loginCount eq --1",
        "loginCount eq 01",
        "loginCount eq 1e999",
        r#"userName eq "bad \x escape""#,
        "userName eq \"raw\ttab\"",
        "userName eq \"b\" & title pr",
        "\"bjensen\" eq userName",
        "42 eq loginCount",
    ] {
        assert_invalid_filter(text);
    }
}

#[test]
fn malformed_attribute_paths_are_refused() {
    for text in ["a.b.c eq 1", "urn:foo: eq 1", "foo:bar eq 1", "name. pr", "$x pr", "a$b pr"] {
        let err = assert_invalid_filter(text);
        assert!(err.detail.contains("malformed attribute path at position 0"), "{text:?}: {}", err.detail);
    }
}

#[test]
fn details_name_positions_and_kinds_never_values() {
    let err = assert_invalid_filter("userName eq \"jane.doe@example.com\" \"secret\"");
    assert_eq!(err.detail, "expected `and`, `or` or the end of the filter at position 35, found a string");
    let err = assert_invalid_filter("userName eq jane.doe");
    assert!(!err.detail.contains("jane"), "{}", err.detail);
    let err = assert_invalid_filter("userName eq \"jane\\q\"");
    assert!(!err.detail.contains("jane"), "{}", err.detail);
}
