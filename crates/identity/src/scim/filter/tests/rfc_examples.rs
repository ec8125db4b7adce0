//! The example filters of RFC 7644 §3.4.2.2, on Babs Jensen, John Smith and a minimal user.

use super::*;

/// RFC 7643 §8.1, the minimal user, modified later than the others.
fn minimal() -> Json {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "Bjensen",
        "meta": { "resourceType": "User", "lastModified": "2012-01-01T00:00:00Z" }
    })
}

/// Each example with whether it matches `[bjensen(), jsmith(), minimal()]`.
const EXAMPLES: [(&str, [bool; 3]); 17] = [
    (r#"userName eq "bjensen""#, [false, false, true]),
    (r#"name.familyName co "O'Malley""#, [false, true, false]),
    (r#"userName sw "J""#, [false, true, false]),
    (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#, [false, true, false]),
    ("title pr", [true, false, false]),
    (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, [false, false, true]),
    (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, [true, true, true]),
    (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, [false, false, false]),
    (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, [true, true, false]),
    (r#"title pr and userType eq "Employee""#, [true, false, false]),
    (r#"title pr or userType eq "Intern""#, [true, true, false]),
    (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, [true, false, false]),
    (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, [true, false, false]),
    (
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        [false, false, true],
    ),
    (r#"userType eq "Employee" and (emails.type eq "work")"#, [true, false, false]),
    (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, [true, false, false]),
    (
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        [true, true, false],
    ),
];

#[test]
fn rfc_7644_example_filters_parse_and_evaluate() {
    let resources = [bjensen(), jsmith(), minimal()];
    for (text, expected) in EXAMPLES {
        let filter = parse(text);
        let found: Vec<bool> = resources.iter().map(|resource| filter.matches(resource)).collect();
        assert_eq!(found, expected, "{text}");
    }
}

#[test]
fn rfc_7644_not_example_parses_with_not_above_and() {
    let filter = parse(r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#);
    let Filter::And(left, right) = filter else { panic!("and at the top") };
    assert!(matches!(*left, Filter::Compare { op: CompareOp::Ne, .. }));
    assert!(matches!(*right, Filter::Not(ref inner) if matches!(**inner, Filter::Or(_, _))));
}

#[test]
fn rfc_7644_value_path_or_example_parses_into_two_value_paths() {
    let filter =
        parse(r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#);
    let Filter::Or(left, right) = filter else { panic!("or at the top") };
    assert!(matches!(*left, Filter::ValuePath { ref path, .. } if path.attr == "emails"));
    assert!(matches!(*right, Filter::ValuePath { ref path, .. } if path.attr == "ims"));
}
