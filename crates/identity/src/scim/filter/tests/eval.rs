//! How filters decide on a resource.

use super::*;
use crate::scim::filter::default_case_exact;

#[test]
fn eq_and_ne_on_strings() {
    let user = bjensen();
    assert!(matches("userName eq \"bjensen@example.com\"", &user));
    assert!(!matches("userName eq \"bjensen\"", &user));
    assert!(matches("userName ne \"bjensen\"", &user));
    assert!(!matches("userName ne \"bjensen@example.com\"", &user));
}

#[test]
fn substring_operators() {
    let user = bjensen();
    assert!(matches("displayName co \"bs Jen\"", &user));
    assert!(!matches("displayName co \"Smith\"", &user));
    assert!(matches("displayName sw \"Babs\"", &user));
    assert!(!matches("displayName sw \"Jensen\"", &user));
    assert!(matches("displayName ew \"Jensen\"", &user));
    assert!(!matches("displayName ew \"Babs\"", &user));
    assert!(matches("displayName co \"\"", &user));
}

#[test]
fn ordering_operators_on_strings_are_lexicographic() {
    let user = bjensen();
    assert!(matches("title gt \"Tour\"", &user));
    assert!(matches("title ge \"Tour Guide\"", &user));
    assert!(!matches("title gt \"Tour Guide\"", &user));
    assert!(matches("title lt \"Zebra\"", &user));
    assert!(matches("title le \"tour guide\"", &user));
    assert!(!matches("title lt \"Tour\"", &user));
}

#[test]
fn ordering_operators_on_numbers_are_numeric() {
    let user = bjensen();
    assert!(matches("loginCount gt 9", &user));
    assert!(matches("loginCount ge 42", &user));
    assert!(matches("loginCount lt 42.5", &user));
    assert!(matches("loginCount le 42", &user));
    assert!(matches("loginCount eq 42.0", &user));
    assert!(!matches("loginCount lt 42", &user));
    assert!(!matches("loginCount eq \"42\"", &user), "a string never equals a number");
}

#[test]
fn timestamps_compare_as_instants() {
    let (babs, john) = (bjensen(), jsmith());
    assert!(matches("meta.lastModified gt \"2011-05-13T04:42:33Z\"", &babs));
    assert!(!matches("meta.lastModified gt \"2011-05-13T04:42:34Z\"", &babs));
    // 06:42:34+02:00 is the same instant as 04:42:34Z, though the text sorts later.
    assert!(!matches("meta.lastModified gt \"2011-05-13T04:42:34Z\"", &john));
    assert!(matches("meta.lastModified eq \"2011-05-13T04:42:34.000Z\"", &john));
    assert!(matches("meta.created lt \"2011-01-01T00:00:00+01:00\"", &babs));
}

#[test]
fn booleans_compare_for_equality() {
    let (babs, john) = (bjensen(), jsmith());
    assert!(matches("active eq true", &babs));
    assert!(!matches("active eq true", &john));
    assert!(matches("active ne true", &john));
    assert!(!matches("active eq \"true\"", &babs), "a string never equals a boolean");
}

#[test]
fn strings_ignore_case_unless_the_attribute_is_case_exact() {
    let user = bjensen();
    assert!(matches("userName eq \"BJENSEN@EXAMPLE.COM\"", &user));
    assert!(matches("emails.value co \"JENSEN.ORG\"", &user));
    assert!(matches("name.familyName sw \"jen\"", &user));
    assert!(matches("id eq \"2819c223-7f76-453a-919d-413861904646\"", &user));
    assert!(!matches("id eq \"2819C223-7F76-453A-919D-413861904646\"", &user));
    assert!(!matches("meta.resourceType eq \"user\"", &user));
    assert!(!matches("groups[$ref sw \"HTTPS:\"]", &user));
}

#[test]
fn default_case_exactness_follows_rfc_7643() {
    for exact in
        ["id", "externalId", "EXTERNALID", "meta.version", "meta.location", "groups.$ref", "x509Certificates.value"]
    {
        assert!(default_case_exact(&path(exact)), "{exact}");
    }
    for inexact in ["userName", "emails.value", "name.familyName", "displayName", "meta.lastModified", "schemas"] {
        assert!(!default_case_exact(&path(inexact)), "{inexact}");
    }
}

#[test]
fn a_custom_case_exact_rule_is_honoured() {
    let user = bjensen();
    let filter = parse("userName eq \"BJENSEN@example.com\"");
    assert!(filter.matches(&user));
    let user_name_exact = |path: &AttrPath| path.refers_to("userName", None);
    assert!(!filter.matches_with(&user, &user_name_exact));
    // Inside a value filter the rule sees the qualified path `emails.type`.
    let emails_type_exact = |path: &AttrPath| path.refers_to("emails", Some("type"));
    assert!(!parse("emails[type eq \"WORK\"]").matches_with(&user, &emails_type_exact));
    assert!(parse("emails[type eq \"WORK\"]").matches(&user));
}

#[test]
fn attribute_names_ignore_case() {
    let user = bjensen();
    assert!(matches("USERNAME eq \"bjensen@example.com\"", &user));
    assert!(matches("Name.FamilyName eq \"Jensen\"", &user));
    assert!(matches("EMAILS[TYPE eq \"work\"]", &user));
    assert!(matches("URN:IETF:params:scim:schemas:extension:enterprise:2.0:User:EMPLOYEENUMBER eq \"701984\"", &user));
}

#[test]
fn multi_valued_attributes_match_when_any_value_does() {
    let user = bjensen();
    assert!(matches("emails.value eq \"babs@jensen.org\"", &user));
    assert!(matches("emails.type eq \"home\"", &user));
    assert!(!matches("emails.type eq \"other\"", &user));
    assert!(matches("schemas eq \"urn:ietf:params:scim:schemas:core:2.0:User\"", &user));
}

#[test]
fn complex_values_without_sub_attribute_compare_their_value() {
    let user = bjensen();
    assert!(matches("emails eq \"babs@jensen.org\"", &user));
    assert!(matches("emails co \"example.com\"", &user));
    assert!(!matches("emails co \"work\"", &user), "only `value`, not `type`, is compared");
}

#[test]
fn value_paths_require_one_element_to_match_every_condition() {
    let john = jsmith();
    // The work address is at example.org; the example.com one is home.
    assert!(!matches("emails[type eq \"work\" and value co \"@example.com\"]", &john));
    assert!(matches("emails.type eq \"work\" and emails.value co \"@example.com\"", &john));
    assert!(matches("emails[type eq \"home\" and value co \"@example.com\"]", &john));
    assert!(matches("emails[not (type eq \"work\")]", &john));
    assert!(!matches("phoneNumbers[type pr]", &john));
}

#[test]
fn value_paths_apply_to_single_complex_attributes() {
    let user = bjensen();
    assert!(matches("name[givenName eq \"Barbara\" and familyName eq \"Jensen\"]", &user));
    assert!(!matches("name[givenName eq \"Barbara\" and familyName eq \"Smith\"]", &user));
    assert!(!matches("nickName[value pr]", &user));
}

#[test]
fn present_is_false_for_missing_null_and_empty_values() {
    let resource = json!({
        "text": "x", "zero": 0, "no": false, "nothing": null, "blank": "", "none": [], "empty": {},
        "blanks": ["", null], "sparse": { "a": null }, "list": [{ "value": "v" }]
    });
    for present in ["text", "zero", "no", "list", "list.value"] {
        assert!(matches(&format!("{present} pr"), &resource), "{present}");
    }
    for absent in ["missing", "nothing", "blank", "none", "empty", "blanks", "sparse", "list.type", "text.sub"] {
        assert!(!matches(&format!("{absent} pr"), &resource), "{absent}");
    }
}

#[test]
fn null_means_absent_and_ne_matches_a_missing_attribute() {
    let john = jsmith();
    assert!(matches("nickName eq null", &john));
    assert!(matches("title eq null", &john), "an empty string is unassigned");
    assert!(!matches("userName eq null", &john));
    assert!(matches("userName ne null", &john));
    assert!(matches("nickName ne \"x\"", &john));
    assert!(!matches("nickName eq \"x\"", &john));
}

#[test]
fn logical_operators_combine_results() {
    let user = bjensen();
    assert!(matches("userType eq \"Employee\" and active eq true", &user));
    assert!(!matches("userType eq \"Employee\" and active eq false", &user));
    assert!(matches("userType eq \"Intern\" or active eq true", &user));
    assert!(!matches("not (active eq true)", &user));
    assert!(matches("not (userType eq \"Intern\")", &user));
    // and before or: false or (true and true).
    assert!(matches("title eq \"x\" or userType eq \"Employee\" and active eq true", &user));
    assert!(!matches("(title eq \"x\" or userType eq \"Employee\") and active eq false", &user));
}

#[test]
fn schema_qualified_paths_look_in_the_right_place() {
    let (babs, john) = (bjensen(), jsmith());
    let number = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"";
    assert!(matches(number, &babs));
    assert!(!matches("employeeNumber eq \"701984\"", &babs), "extension attributes are not top-level");
    assert!(!matches(number, &john));
    let manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName co \"Smith\"";
    assert!(matches(manager, &babs));
    assert!(matches("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq \"John\"", &john));
    assert!(!matches("urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr", &babs));
    let without_schemas = json!({ "userName": "x" });
    assert!(matches("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"x\"", &without_schemas));
    assert!(!matches("urn:example:custom:userName eq \"x\"", &without_schemas));
}

#[test]
fn non_objects_match_nothing_but_negations() {
    for resource in [json!(null), json!("userName"), json!([{ "userName": "x" }])] {
        assert!(!matches("userName eq \"x\"", &resource));
        assert!(!matches("userName pr", &resource));
        assert!(matches("not (userName pr)", &resource));
    }
}
