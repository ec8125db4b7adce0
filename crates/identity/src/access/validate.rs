//! Validation of an access policy against the modules and fields that exist: every problem is
//! reported at once, by JSON path (`roles[2].objects.contacts`), never by value.

use std::collections::{BTreeMap, BTreeSet};

use listone_core::{Error, Violations};

use super::criteria::{Criteria, Test, Value, ValueKind};
use super::policy::{ANY, AccessPolicy, ObjectRight, ShareTarget};
use crate::role::key::is_role_key;

/// Most role profiles in one policy.
pub const MAX_ROLES: usize = 200;
/// Most sharing rules in one policy.
pub const MAX_SHARING_RULES: usize = 300;
/// Most manual shares in one policy.
pub const MAX_MANUAL_SHARES: usize = 10_000;
/// Deepest criteria tree (a single condition is depth 1).
pub const MAX_CRITERIA_DEPTH: usize = 4;
/// Most field conditions in one rule's criteria.
pub const MAX_CRITERIA_CONDITIONS: usize = 20;
/// Most values in one `in` test.
pub const MAX_IN_VALUES: usize = 100;
/// Longest text value in a condition, in characters.
pub const MAX_TEXT_VALUE_CHARS: usize = 255;
/// Largest magnitude of a number in a condition: 2^53 - 1, the last integer every engine
/// compares exactly (indexed numbers are doubles).
pub const MAX_EXACT_NUMBER: u64 = (1 << 53) - 1;

/// Which modules and fields exist, and what kind of value each field holds (the customization
/// crate's metadata, seen through the little the access engine needs).
pub trait FieldCatalog {
    /// Whether a module with this key exists.
    fn has_module(&self, module: &str) -> bool;
    /// The kind of value `field` of `module` holds for sharing-rule criteria, `None` when there
    /// is no such field or criteria cannot test it.
    fn field_kind(&self, module: &str, field: &str) -> Option<ValueKind>;
    /// Whether `module` has `field` at all (field allow-lists may name any field, also one that
    /// criteria cannot test). Defaults to having a criteria kind.
    fn has_field(&self, module: &str, field: &str) -> bool {
        self.field_kind(module, field).is_some()
    }
}

/// A catalog held in memory: module key → field key → kind.
impl FieldCatalog for BTreeMap<String, BTreeMap<String, ValueKind>> {
    fn has_module(&self, module: &str) -> bool {
        self.contains_key(module)
    }

    fn field_kind(&self, module: &str, field: &str) -> Option<ValueKind> {
        self.get(module).and_then(|fields| fields.get(field)).copied()
    }
}

/// Whether a role's `objects` / `fields` key or a `defaults` key names modules: one that exists,
/// or [`ANY`]. A wildcard module's allow-list may name only the wildcard field.
fn names_modules(catalog: &dyn FieldCatalog, key: &str) -> bool {
    key == ANY || catalog.has_module(key)
}

impl AccessPolicy {
    /// Checks the whole policy against `catalog` and reports every problem in one
    /// `InvalidArgument`.
    pub fn validate(&self, catalog: &dyn FieldCatalog) -> Result<(), Error> {
        let mut v = Violations::new();
        self.check_roles(catalog, &mut v);
        for module in self.defaults.keys() {
            v.check(!names_modules(catalog, module), &format!("defaults.{module}"), "names no module");
        }
        self.check_rules(catalog, &mut v);
        v.check(self.shares.len() > MAX_MANUAL_SHARES, "shares", "at most 10000 manual shares");
        for (i, share) in self.shares.iter().enumerate() {
            v.check(!catalog.has_module(&share.module), &format!("shares[{i}].module"), "names no module");
        }
        v.into_result()
    }

    /// Reads a policy from its stored JSON and validates it; an unparsable policy is refused
    /// whole, and the error gives only the position, never the text.
    pub fn parse(json: &str, catalog: &dyn FieldCatalog) -> Result<Self, Error> {
        let policy = Self::from_json(json)?;
        policy.validate(catalog)?;
        Ok(policy)
    }

    /// Reads a policy's JSON without validating it (for a caller that validates later, such as
    /// [`super::AccessPolicyStore::replace`]); the error gives only the position, never the text.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| {
            Error::invalid("policy", format!("is not a valid access policy (line {}, column {})", e.line(), e.column()))
        })
    }

    fn check_roles(&self, catalog: &dyn FieldCatalog, v: &mut Violations) {
        v.check(self.roles.len() > MAX_ROLES, "roles", "at most 200 roles");
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, role) in self.roles.iter().enumerate() {
            let at = format!("roles[{i}]");
            v.check(!is_role_key(&role.key), &format!("{at}.key"), "is not a role key");
            if let Some(first) = seen.insert(&role.key, i) {
                v.add(format!("{at}.key"), format!("duplicates roles[{first}]"));
            }
            match role.reports_to.as_deref() {
                Some(manager) if manager == role.key => {
                    v.add(format!("{at}.reports_to"), "a role cannot report to itself")
                }
                Some(manager) if self.role(manager).is_none() => {
                    v.add(format!("{at}.reports_to"), "names no role of the policy");
                }
                Some(_) if self.is_below(&role.key, &role.key) => v.add(format!("{at}.reports_to"), "forms a cycle"),
                _ => {}
            }
            for (module, rights) in &role.objects {
                let path = format!("{at}.objects.{module}");
                if !names_modules(catalog, module) {
                    v.add(path, "names no module");
                } else if !rights.is_empty() && !rights.contains(&ObjectRight::Read) {
                    v.add(path, "create, update, delete and export need read");
                }
            }
            for (module, list) in &role.fields {
                let path = format!("{at}.fields.{module}");
                if !names_modules(catalog, module) {
                    v.add(path, "names no module");
                    continue;
                }
                for (which, keys) in [("read", &list.read), ("write", &list.write)] {
                    for field in keys {
                        v.check(
                            field != ANY && (module == ANY || !catalog.has_field(module, field)),
                            &format!("{path}.{which}.{field}"),
                            "names no field of the module",
                        );
                    }
                }
            }
        }
    }

    fn check_rules(&self, catalog: &dyn FieldCatalog, v: &mut Violations) {
        v.check(self.rules.len() > MAX_SHARING_RULES, "rules", "at most 300 sharing rules");
        let role_keys: BTreeSet<&str> = self.roles.iter().map(|r| r.key.as_str()).collect();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = format!("rules[{i}]");
            if let ShareTarget::Role { key, .. } = &rule.share_with {
                v.check(
                    !role_keys.contains(key.as_str()),
                    &format!("{at}.share_with.role.key"),
                    "names no role of the policy",
                );
            }
            if !catalog.has_module(&rule.module) {
                v.add(format!("{at}.module"), "names no module");
                continue;
            }
            let criteria_at = format!("{at}.criteria");
            v.check(rule.criteria.depth() > MAX_CRITERIA_DEPTH, &criteria_at, "at most 4 levels deep");
            v.check(rule.criteria.condition_count() > MAX_CRITERIA_CONDITIONS, &criteria_at, "at most 20 conditions");
            check_criteria(&rule.criteria, &rule.module, catalog, &criteria_at, v);
        }
    }
}

/// Checks every node of a criteria tree; paths follow the JSON shape (`criteria.and[1].where`).
fn check_criteria(criteria: &Criteria, module: &str, catalog: &dyn FieldCatalog, at: &str, v: &mut Violations) {
    let (op, children) = match criteria {
        Criteria::And(children) => ("and", children),
        Criteria::Or(children) => ("or", children),
        Criteria::Where(condition) => {
            let at = format!("{at}.where");
            let Some(kind) = catalog.field_kind(module, &condition.field) else {
                let problem = if catalog.has_field(module, &condition.field) {
                    "names a field sharing rules cannot test (only indexed, plain, single-valued fields that are not decimal or currency)"
                } else {
                    "names no field of the module"
                };
                v.add(format!("{at}.field"), problem);
                return;
            };
            check_test(&condition.test, kind, &format!("{at}.test"), v);
            return;
        }
    };
    // An empty `and` would share every record and an empty `or` none: both are mistakes.
    v.check(children.is_empty(), &format!("{at}.{op}"), "needs at least one condition");
    for (j, child) in children.iter().enumerate() {
        check_criteria(child, module, catalog, &format!("{at}.{op}[{j}]"), v);
    }
}

fn check_test(test: &Test, kind: ValueKind, at: &str, v: &mut Violations) {
    if let Test::In(values) = test {
        v.check(values.is_empty(), at, "in needs at least one value");
        v.check(values.len() > MAX_IN_VALUES, at, "in takes at most 100 values");
    }
    if test.is_ordering() && !kind.is_ordered() {
        v.add(at, "lt, lte, gt and gte apply to numbers and times only");
    }
    for value in test.operands() {
        if value.kind() != kind {
            v.add(at, "value is not of the field's kind");
            break;
        }
    }
    let too_long =
        test.operands().iter().any(|o| matches!(o, Value::Text(t) if t.chars().count() > MAX_TEXT_VALUE_CHARS));
    v.check(too_long, at, "text values are at most 255 characters");
    // Values no record can hold, or that lists could only approximate (fields are indexed as
    // doubles): refused rather than kept as a rule that silently matches less than it says.
    let control = test.operands().iter().any(|o| matches!(o, Value::Text(t) if t.chars().any(char::is_control)));
    v.check(control, at, "text values must not contain control characters");
    let inexact = test.operands().iter().any(|o| matches!(o, Value::Number(n) if n.unsigned_abs() > MAX_EXACT_NUMBER));
    v.check(inexact, at, "numbers must be within ±9007199254740991 (2^53 - 1)");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use listone_core::{GroupId, OrgId};

    use super::*;
    use crate::access::policy::{OrgDefault, RoleProfile, ShareAccess, SharingRule};

    fn catalog() -> BTreeMap<String, BTreeMap<String, ValueKind>> {
        let contacts = [("region", ValueKind::Text), ("score", ValueKind::Number), ("vip", ValueKind::Bool)];
        BTreeMap::from([(
            "contacts".to_owned(),
            contacts.into_iter().map(|(k, kind)| (k.to_owned(), kind)).collect::<BTreeMap<_, _>>(),
        )])
    }

    fn fields_of(err: Error) -> Vec<String> {
        let Error::InvalidArgument { violations } = err else { panic!("expected InvalidArgument, got {err:?}") };
        violations.into_iter().map(|v| v.field).collect()
    }

    fn rule(criteria: Criteria) -> SharingRule {
        SharingRule {
            module: "contacts".into(),
            criteria,
            share_with: ShareTarget::Group(GroupId::new()),
            access: ShareAccess::Read,
        }
    }

    #[test]
    fn a_sound_policy_validates() {
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.roles = vec![
            RoleProfile::new("sales.manager").grant("contacts", [ObjectRight::Read, ObjectRight::Update]),
            RoleProfile::new("sales.rep").reporting_to("sales.manager").allow_fields("contacts", ["region"], ["score"]),
        ];
        policy.defaults.insert("contacts".into(), OrgDefault::PublicRead);
        policy.rules.push(rule(Criteria::test("region", Test::Eq(Value::Text("EMEA".into())))));
        policy.validate(&catalog()).unwrap();
    }

    #[test]
    fn every_problem_is_reported_at_once_by_path() {
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.roles = vec![
            RoleProfile::new("Bad Key"),
            RoleProfile::new("rep").reporting_to("nobody").grant("contacts", [ObjectRight::Export]),
            RoleProfile::new("rep").grant("deals", [ObjectRight::Read]).allow_fields("contacts", ["email"], []),
        ];
        policy.defaults.insert("deals".into(), OrgDefault::Private);
        policy.rules.push(rule(Criteria::And(vec![
            Criteria::test("regio", Test::Eq(Value::Text("EMEA".into()))),
            Criteria::test("score", Test::Eq(Value::Text("high".into()))),
            Criteria::test("vip", Test::Gt(Value::Bool(true))),
            Criteria::Or(vec![]),
        ])));
        let fields = fields_of(policy.validate(&catalog()).unwrap_err());
        assert_eq!(
            fields,
            vec![
                "roles[0].key",
                "roles[1].reports_to",
                "roles[1].objects.contacts",
                "roles[2].key",
                "roles[2].objects.deals",
                "roles[2].fields.contacts.read.email",
                "defaults.deals",
                "rules[0].criteria.and[0].where.field",
                "rules[0].criteria.and[1].where.test",
                "rules[0].criteria.and[2].where.test",
                "rules[0].criteria.and[3].or",
            ]
        );
    }

    #[test]
    fn a_cycle_in_the_hierarchy_is_refused() {
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.roles = vec![
            RoleProfile::new("a").reporting_to("b"),
            RoleProfile::new("b").reporting_to("a"),
            RoleProfile::new("c").reporting_to("c"),
            RoleProfile::new("d").reporting_to("a"),
        ];
        let fields = fields_of(policy.validate(&catalog()).unwrap_err());
        assert_eq!(fields, vec!["roles[0].reports_to", "roles[1].reports_to", "roles[2].reports_to"]);
    }

    #[test]
    fn limits_are_enforced() {
        let mut policy = AccessPolicy::new(OrgId::new());
        policy.roles = (0..=MAX_ROLES).map(|i| RoleProfile::new(format!("r{i}"))).collect();
        let deep = (0..MAX_CRITERIA_DEPTH).fold(Criteria::test("vip", Test::IsEmpty), |c, _| Criteria::And(vec![c]));
        let wide = Criteria::Or((0..=MAX_CRITERIA_CONDITIONS).map(|_| Criteria::test("vip", Test::IsEmpty)).collect());
        let many = Criteria::test("score", Test::In((0..=MAX_IN_VALUES as i64).map(Value::Number).collect()));
        policy.rules = vec![rule(deep), rule(wide), rule(many)];
        let fields = fields_of(policy.validate(&catalog()).unwrap_err());
        assert_eq!(fields, vec!["roles", "rules[0].criteria", "rules[1].criteria", "rules[2].criteria.where.test"]);
    }

    #[test]
    fn values_no_record_holds_or_lists_could_only_approximate_are_refused() {
        let mut policy = AccessPolicy::new(OrgId::new());
        let exact = (1_i64 << 53) - 1;
        policy.rules = vec![
            rule(Criteria::test("region", Test::Eq(Value::Text("EM\u{0}EA".into())))),
            rule(Criteria::test("score", Test::Gte(Value::Number(exact + 1)))),
            rule(Criteria::test("score", Test::In(vec![Value::Number(-exact), Value::Number(exact)]))),
        ];
        let fields = fields_of(policy.validate(&catalog()).unwrap_err());
        assert_eq!(fields, vec!["rules[0].criteria.where.test", "rules[1].criteria.where.test"]);
    }

    #[test]
    fn parsing_refuses_malformed_json_without_echoing_it() {
        let err = AccessPolicy::parse(r#"{"org": "secret-text"}"#, &catalog()).unwrap_err();
        assert!(!err.to_string().contains("secret-text"));
        let good = serde_json::to_string(&AccessPolicy::new(OrgId::new())).unwrap();
        assert!(AccessPolicy::parse(&good, &catalog()).is_ok());
    }
}
