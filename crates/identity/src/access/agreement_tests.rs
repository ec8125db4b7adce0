//! The property the engine rests on: on random (also invalid) policies, principals and records,
//! the compiled predicate evaluated in memory, the direct decision and the explanation give the
//! same answer, so the SQL a list runs and the check a single read runs cannot disagree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use listone_core::{GroupId, OrgId, RecordId, UserId};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::Config;
use uuid::Uuid;

use super::*;

const ROLES: [&str; 4] = ["r0", "r1", "r2", "r3"];
const MODULES: [&str; 2] = ["contacts", "deals"];
/// `ghost` is a field no record has: rules naming it must never match.
const FIELDS: [&str; 5] = ["region", "score", "vip", "at", "ghost"];

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap()
}

// Small id pools so owners, members, shares and records collide often enough to matter.
fn org(i: u8) -> OrgId {
    OrgId::from_uuid(Uuid::from_u128(0x100 + u128::from(i)))
}
fn user(i: u8) -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x200 + u128::from(i)))
}
fn group(i: u8) -> GroupId {
    GroupId::from_uuid(Uuid::from_u128(0x300 + u128::from(i)))
}
fn record(i: u8) -> RecordId {
    RecordId::from_uuid(Uuid::from_u128(0x400 + u128::from(i)))
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec!["EMEA", "APAC", ""]).prop_map(|s| Value::Text(s.to_owned())),
        (-2i64..3).prop_map(Value::Number),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..3).prop_map(|m| Value::Time(now() + Duration::minutes(m))),
    ]
}

fn test() -> impl Strategy<Value = Test> {
    prop_oneof![
        value().prop_map(Test::Eq),
        value().prop_map(Test::Ne),
        prop::collection::vec(value(), 0..3).prop_map(Test::In),
        value().prop_map(Test::Lt),
        value().prop_map(Test::Lte),
        value().prop_map(Test::Gt),
        value().prop_map(Test::Gte),
        Just(Test::IsEmpty),
    ]
}

fn criteria() -> impl Strategy<Value = Criteria> {
    let leaf = (select(FIELDS.to_vec()), test()).prop_map(|(field, test)| Criteria::test(field, test));
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Criteria::And),
            prop::collection::vec(inner, 0..3).prop_map(Criteria::Or),
        ]
    })
}

fn rights() -> impl Strategy<Value = BTreeSet<ObjectRight>> {
    subsequence(ObjectRight::ALL.to_vec(), 0..=5).prop_map(|r| r.into_iter().collect())
}

fn share_access() -> impl Strategy<Value = ShareAccess> {
    prop_oneof![Just(ShareAccess::Read), Just(ShareAccess::ReadWrite)]
}

fn org_default() -> impl Strategy<Value = OrgDefault> {
    prop_oneof![Just(OrgDefault::Private), Just(OrgDefault::PublicRead), Just(OrgDefault::PublicReadWrite)]
}

/// Roles may repeat keys and report in cycles: the engine must stay consistent on bad data too.
fn role() -> impl Strategy<Value = RoleProfile> {
    let fields = || subsequence(FIELDS.to_vec(), 0..=FIELDS.len());
    (
        select(ROLES.to_vec()),
        prop::option::of(select(ROLES.to_vec())),
        prop::option::of(rights()),
        prop::option::of(rights()),
        select(MODULES.to_vec()),
        fields(),
        fields(),
    )
        .prop_map(|(key, reports_to, contacts, deals, listed_module, read, write)| {
            let mut role = RoleProfile::new(key).allow_fields(listed_module, read, write);
            role.reports_to = reports_to.map(str::to_owned);
            for (module, rights) in MODULES.into_iter().zip([contacts, deals]) {
                if let Some(rights) = rights {
                    role.objects.insert(module.to_owned(), rights);
                }
            }
            role
        })
}

fn rule() -> impl Strategy<Value = SharingRule> {
    let target = prop_oneof![
        (0u8..3).prop_map(|g| ShareTarget::Group(group(g))),
        (select(ROLES.to_vec()), any::<bool>())
            .prop_map(|(key, with_subordinates)| ShareTarget::Role { key: key.to_owned(), with_subordinates }),
    ];
    (select(MODULES.to_vec()), criteria(), target, share_access()).prop_map(|(module, criteria, share_with, access)| {
        SharingRule { module: module.to_owned(), criteria, share_with, access }
    })
}

fn manual_share() -> impl Strategy<Value = ManualShare> {
    let with = prop_oneof![
        (0u8..4).prop_map(|u| ShareRecipient::User(user(u))),
        (0u8..3).prop_map(|g| ShareRecipient::Group(group(g))),
    ];
    (select(MODULES.to_vec()), 0u8..4, with, share_access(), -2i64..3).prop_map(|(module, r, with, access, minutes)| {
        ManualShare {
            module: module.to_owned(),
            record: record(r),
            with,
            access,
            expires_at: now() + Duration::minutes(minutes),
        }
    })
}

fn policy() -> impl Strategy<Value = AccessPolicy> {
    (
        prop::collection::vec(role(), 0..5),
        prop::option::of(org_default()),
        prop::option::of(org_default()),
        prop::collection::vec(rule(), 0..4),
        prop::collection::vec(manual_share(), 0..4),
    )
        .prop_map(|(roles, contacts, deals, rules, shares)| {
            let mut policy = AccessPolicy::new(org(0));
            policy.roles = roles;
            for (module, default) in MODULES.into_iter().zip([contacts, deals]) {
                if let Some(default) = default {
                    policy.defaults.insert(module.to_owned(), default);
                }
            }
            policy.rules = rules;
            policy.shares = shares;
            policy
        })
}

fn principal() -> impl Strategy<Value = AccessPrincipal> {
    (
        prop::bool::weighted(0.9),
        0u8..4,
        subsequence(ROLES.to_vec(), 0..=4),
        subsequence(vec![0u8, 1, 2], 0..=3),
        subsequence(vec![0u8, 1, 2, 3], 0..=4),
    )
        .prop_map(|(same_org, me, roles, groups, reports)| {
            AccessPrincipal::new(if same_org { org(0) } else { org(1) }, user(me), roles)
                .in_groups(groups.into_iter().map(group))
                .managing(reports.into_iter().map(user))
        })
}

fn record_facts() -> impl Strategy<Value = RecordFacts> {
    // Outer `None`: the module lacks the field; inner `None`: the field is empty.
    let slot = || prop::option::of(prop::option::of(value()));
    (0u8..4, prop::option::of(0u8..4), slot(), slot(), slot(), slot()).prop_map(|(id, owner, a, b, c, d)| {
        let mut facts = RecordFacts::new(record(id), owner.map(user));
        for (field, slot) in FIELDS.into_iter().zip([a, b, c, d]) {
            if let Some(value) = slot {
                facts.fields.insert(field.to_owned(), value);
            }
        }
        facts
    })
}

/// Checks the three readings agree for `right`, and that explaining a field matches
/// `field_access` on top of the record decision.
fn agree(
    policy: &AccessPolicy,
    who: &AccessPrincipal,
    module: &str,
    right: ObjectRight,
    facts: &RecordFacts,
    field: &str,
) -> Result<(), TestCaseError> {
    let decided = decide(policy, who, module, right, facts, now());
    let predicate = compile(policy, who, module, right, now());
    prop_assert_eq!(eval(&predicate, facts), decided.allowed, "{:?} {:?} via {:?}", right, decided, predicate);
    let explained = explain(policy, who, module, right, facts, None, now());
    prop_assert_eq!(explained.allowed, decided.allowed, "{:?}", explained.steps);
    let with_field = explain(policy, who, module, right, facts, Some(field), now()).allowed;
    let access = field_access(policy, who, module, field);
    let field_ok = match right {
        ObjectRight::Read | ObjectRight::Export => access.read,
        ObjectRight::Create | ObjectRight::Update => access.write,
        ObjectRight::Delete => true,
    };
    prop_assert_eq!(with_field, decided.allowed && field_ok);
    Ok(())
}

fn config() -> Config {
    // No regression files in the source tree: a failure prints its minimal case instead.
    Config { cases: 256, failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn compiled_and_direct_decisions_agree_on_reading(
        policy in policy(),
        who in principal(),
        facts in record_facts(),
        module in select(MODULES.to_vec()),
        field in select(FIELDS.to_vec()),
    ) {
        for right in [ObjectRight::Read, ObjectRight::Export] {
            agree(&policy, &who, module, right, &facts, field)?;
        }
    }

    #[test]
    fn compiled_and_direct_decisions_agree_on_writing(
        policy in policy(),
        who in principal(),
        facts in record_facts(),
        module in select(MODULES.to_vec()),
        field in select(FIELDS.to_vec()),
    ) {
        for right in [ObjectRight::Update, ObjectRight::Delete, ObjectRight::Create] {
            agree(&policy, &who, module, right, &facts, field)?;
        }
    }
}
