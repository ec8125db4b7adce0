//! The engine's behaviour as specifications: every scenario is checked three ways (the direct
//! decision, the compiled predicate evaluated in memory, and the explanation's answer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use listone_core::{GroupId, OrgId, RecordId, UserId};

use super::*;

const CONTACTS: &str = "contacts";

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn catalog() -> BTreeMap<String, BTreeMap<String, ValueKind>> {
    let fields = [("region", ValueKind::Text), ("score", ValueKind::Number), ("email", ValueKind::Text)];
    BTreeMap::from([(CONTACTS.to_owned(), fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())])
}

/// A sales org: a manager above reps, a read-only viewer, and a role granted nothing.
fn policy() -> AccessPolicy {
    use ObjectRight::*;
    let mut policy = AccessPolicy::new(OrgId::new());
    policy.roles = vec![
        RoleProfile::new("sales.manager").grant(CONTACTS, ObjectRight::ALL).allow_fields(CONTACTS, [], ["region"]),
        RoleProfile::new("sales.rep")
            .reporting_to("sales.manager")
            .grant(CONTACTS, [Read, Create, Update])
            .allow_fields(CONTACTS, ["region", "score"], ["score"]),
        RoleProfile::new("viewer").grant(CONTACTS, [Read]).allow_fields(CONTACTS, ["region"], []),
        RoleProfile::new("intern"),
    ];
    policy.validate(&catalog()).unwrap();
    policy
}

fn user(policy: &AccessPolicy, role: &str) -> AccessPrincipal {
    AccessPrincipal::new(policy.org, UserId::new(), [role])
}

fn contact(owner: Option<UserId>, region: Option<&str>) -> RecordFacts {
    RecordFacts::new(RecordId::new(), owner)
        .with("region", region.map(text))
        .with("score", Some(Value::Number(10)))
        .with("email", None)
}

/// The answer, after checking that all three readings of the policy agree on it.
fn may(policy: &AccessPolicy, who: &AccessPrincipal, right: ObjectRight, record: &RecordFacts) -> bool {
    let decided = decide(policy, who, CONTACTS, right, record, now()).allowed;
    let listed = eval(&compile(policy, who, CONTACTS, right, now()), record);
    let explained = explain(policy, who, CONTACTS, right, record, None, now()).allowed;
    assert_eq!(decided, listed, "decide and compile disagree on {right:?}");
    assert_eq!(decided, explained, "decide and explain disagree on {right:?}");
    decided
}

fn emea_rule(with: ShareTarget, access: ShareAccess) -> SharingRule {
    SharingRule {
        module: CONTACTS.into(),
        criteria: Criteria::test("region", Test::Eq(text("EMEA"))),
        share_with: with,
        access,
    }
}

#[test]
fn a_new_role_has_no_rights() {
    let policy = policy();
    let intern = user(&policy, "intern");
    let own = contact(Some(intern.user), Some("EMEA"));
    for right in ObjectRight::ALL {
        assert!(!may(&policy, &intern, right, &own), "{right:?}");
    }
    assert_eq!(field_access(&policy, &intern, CONTACTS, "region"), FieldAccess::default());
}

#[test]
fn a_principal_without_roles_has_no_rights() {
    let mut policy = policy();
    policy.defaults.insert(CONTACTS.into(), OrgDefault::PublicReadWrite);
    let nobody = AccessPrincipal::new(policy.org, UserId::new(), Vec::<String>::new());
    assert!(!may(&policy, &nobody, ObjectRight::Read, &contact(Some(nobody.user), None)));
    assert_eq!(compile(&policy, &nobody, CONTACTS, ObjectRight::Read, now()), AccessPredicate::False);
}

#[test]
fn a_principal_of_another_org_gets_nothing() {
    let mut policy = policy();
    policy.defaults.insert(CONTACTS.into(), OrgDefault::PublicReadWrite);
    let stranger = AccessPrincipal::new(OrgId::new(), UserId::new(), ["sales.manager"]);
    assert!(!may(&policy, &stranger, ObjectRight::Read, &contact(Some(stranger.user), None)));
    assert_eq!(
        decide(&policy, &stranger, CONTACTS, ObjectRight::Read, &contact(None, None), now()).ground,
        Ground::OtherOrg
    );
    assert_eq!(field_access(&policy, &stranger, CONTACTS, "region"), FieldAccess::default());
}

#[test]
fn without_the_read_right_sharing_grants_nothing() {
    let mut policy = policy();
    let group = GroupId::new();
    policy.rules.push(emea_rule(ShareTarget::Group(group), ShareAccess::ReadWrite));
    let intern = user(&policy, "intern").in_groups([group]);
    assert!(!may(&policy, &intern, ObjectRight::Read, &contact(None, Some("EMEA"))));
}

#[test]
fn a_private_module_shows_only_own_records() {
    let policy = policy();
    let rep = user(&policy, "sales.rep");
    assert!(may(&policy, &rep, ObjectRight::Read, &contact(Some(rep.user), None)));
    assert!(may(&policy, &rep, ObjectRight::Update, &contact(Some(rep.user), None)));
    assert!(!may(&policy, &rep, ObjectRight::Read, &contact(Some(UserId::new()), None)));
    assert_eq!(
        compile(&policy, &rep, CONTACTS, ObjectRight::Read, now()),
        AccessPredicate::OwnerIn([rep.user].into()),
        "the list filter is just the owner"
    );
}

#[test]
fn a_record_without_owner_is_nobodys_own() {
    let policy = policy();
    let rep = user(&policy, "sales.rep");
    assert!(!may(&policy, &rep, ObjectRight::Read, &contact(None, None)));
}

#[test]
fn public_read_lets_everyone_read_but_only_owners_write() {
    let mut policy = policy();
    policy.defaults.insert(CONTACTS.into(), OrgDefault::PublicRead);
    let rep = user(&policy, "sales.rep");
    let theirs = contact(Some(UserId::new()), None);
    assert!(may(&policy, &rep, ObjectRight::Read, &theirs));
    assert!(!may(&policy, &rep, ObjectRight::Update, &theirs));
    assert!(may(&policy, &rep, ObjectRight::Update, &contact(Some(rep.user), None)));
}

#[test]
fn public_read_write_opens_every_record_to_those_with_the_rights() {
    let mut policy = policy();
    policy.defaults.insert(CONTACTS.into(), OrgDefault::PublicReadWrite);
    let rep = user(&policy, "sales.rep");
    let theirs = contact(Some(UserId::new()), None);
    assert!(may(&policy, &rep, ObjectRight::Update, &theirs));
    assert!(!may(&policy, &rep, ObjectRight::Delete, &theirs), "the rep has no delete right");
    assert!(!may(&policy, &user(&policy, "viewer"), ObjectRight::Update, &theirs));
}

#[test]
fn a_manager_reads_what_their_reports_own() {
    let policy = policy();
    let rep = user(&policy, "sales.rep");
    let manager = user(&policy, "sales.manager").managing([rep.user]);
    let reps_contact = contact(Some(rep.user), None);
    assert!(may(&policy, &manager, ObjectRight::Read, &reps_contact));
    assert!(may(&policy, &manager, ObjectRight::Update, &reps_contact));
    assert!(!may(&policy, &rep, ObjectRight::Read, &contact(Some(manager.user), None)), "not the other way round");
    let why = explain(&policy, &manager, CONTACTS, ObjectRight::Read, &reps_contact, None, now());
    assert!(why.steps.contains(&Step::OwnedByReport { owner: rep.user, through: vec!["sales.manager".into()] }));
}

#[test]
fn emea_contacts_are_shared_read_only_with_the_emea_sales_group() {
    let mut policy = policy();
    let emea_sales = GroupId::new();
    policy.rules.push(emea_rule(ShareTarget::Group(emea_sales), ShareAccess::Read));
    let member = user(&policy, "sales.rep").in_groups([emea_sales]);
    let outsider = user(&policy, "sales.rep");
    let emea = contact(Some(UserId::new()), Some("EMEA"));
    let apac = contact(Some(UserId::new()), Some("APAC"));
    assert!(may(&policy, &member, ObjectRight::Read, &emea));
    assert!(!may(&policy, &member, ObjectRight::Update, &emea), "the rule shares read-only");
    assert!(!may(&policy, &member, ObjectRight::Read, &apac));
    assert!(!may(&policy, &outsider, ObjectRight::Read, &emea));
    assert_eq!(
        decide(&policy, &member, CONTACTS, ObjectRight::Read, &emea, now()).ground,
        Ground::SharingRule { rule: 0 }
    );
}

#[test]
fn a_rule_shared_with_a_role_and_its_subordinates_reaches_lower_roles() {
    let mut policy = policy();
    policy.rules.push(emea_rule(
        ShareTarget::Role { key: "sales.manager".into(), with_subordinates: true },
        ShareAccess::ReadWrite,
    ));
    let emea = contact(Some(UserId::new()), Some("EMEA"));
    assert!(may(&policy, &user(&policy, "sales.rep"), ObjectRight::Update, &emea));
    assert!(may(&policy, &user(&policy, "sales.manager"), ObjectRight::Delete, &emea));
    policy.rules[0].share_with = ShareTarget::Role { key: "sales.manager".into(), with_subordinates: false };
    assert!(!may(&policy, &user(&policy, "sales.rep"), ObjectRight::Read, &emea));
}

#[test]
fn a_manual_share_grants_until_it_expires() {
    let mut policy = policy();
    let viewer = user(&policy, "viewer");
    let record = contact(Some(UserId::new()), None);
    policy.shares.push(ManualShare {
        module: CONTACTS.into(),
        record: record.id,
        with: ShareRecipient::User(viewer.user),
        access: ShareAccess::ReadWrite,
        expires_at: now() + Duration::hours(1),
    });
    assert!(may(&policy, &viewer, ObjectRight::Read, &record));
    assert!(!may(&policy, &viewer, ObjectRight::Update, &record), "the viewer's role has no update right");
    assert!(!may(&policy, &viewer, ObjectRight::Read, &contact(Some(UserId::new()), None)), "only that record");
    policy.shares[0].expires_at = now();
    assert!(!may(&policy, &viewer, ObjectRight::Read, &record), "a share ends at its expiry instant");
}

#[test]
fn an_expired_manual_share_grants_nothing() {
    let mut policy = policy();
    let team = GroupId::new();
    let rep = user(&policy, "sales.rep").in_groups([team]);
    let record = contact(Some(UserId::new()), None);
    policy.shares.push(ManualShare {
        module: CONTACTS.into(),
        record: record.id,
        with: ShareRecipient::Group(team),
        access: ShareAccess::ReadWrite,
        expires_at: now() - Duration::seconds(1),
    });
    assert!(!may(&policy, &rep, ObjectRight::Read, &record));
    let why = explain(&policy, &rep, CONTACTS, ObjectRight::Read, &record, None, now());
    assert!(why.steps.contains(&Step::ExpiredShareIgnored { share: 0, expired_at: now() - Duration::seconds(1) }));
    assert_eq!(why.steps.last(), Some(&Step::NoRecordAccess));
    policy.shares[0].expires_at = now() + Duration::days(7);
    assert!(may(&policy, &rep, ObjectRight::Update, &record), "a group share reaches its members");
}

#[test]
fn a_rule_on_an_unknown_field_denies() {
    let mut policy = policy();
    let group = GroupId::new();
    for test in [Test::Eq(text("x")), Test::Ne(text("x")), Test::IsEmpty] {
        let mut rule = emea_rule(ShareTarget::Group(group), ShareAccess::Read);
        rule.criteria = Criteria::test("nickname", test);
        policy.rules = vec![rule];
        assert!(policy.validate(&catalog()).is_err(), "validation refuses it");
        let rep = user(&policy, "sales.rep").in_groups([group]);
        assert!(!may(&policy, &rep, ObjectRight::Read, &contact(None, Some("x"))), "evaluation denies it");
    }
}

#[test]
fn a_value_of_the_wrong_kind_denies() {
    let mut policy = policy();
    let group = GroupId::new();
    let mut rule = emea_rule(ShareTarget::Group(group), ShareAccess::Read);
    rule.criteria = Criteria::test("score", Test::Ne(text("10")));
    policy.rules.push(rule);
    let rep = user(&policy, "sales.rep").in_groups([group]);
    assert!(!may(&policy, &rep, ObjectRight::Read, &contact(None, None)));
}

#[test]
fn an_empty_field_compared_with_eq_or_ne_denies() {
    let mut policy = policy();
    let group = GroupId::new();
    policy.rules.push(emea_rule(ShareTarget::Group(group), ShareAccess::Read));
    let mut ne = emea_rule(ShareTarget::Group(group), ShareAccess::Read);
    ne.criteria = Criteria::test("region", Test::Ne(text("EMEA")));
    policy.rules.push(ne);
    let rep = user(&policy, "sales.rep").in_groups([group]);
    assert!(!may(&policy, &rep, ObjectRight::Read, &contact(None, None)));
    assert!(may(&policy, &rep, ObjectRight::Read, &contact(None, Some("APAC"))));
}

#[test]
fn creating_needs_only_the_object_right() {
    let policy = policy();
    let blank = contact(None, None);
    assert!(may(&policy, &user(&policy, "sales.rep"), ObjectRight::Create, &blank));
    assert!(!may(&policy, &user(&policy, "viewer"), ObjectRight::Create, &blank));
    assert_eq!(
        compile(&policy, &user(&policy, "sales.rep"), CONTACTS, ObjectRight::Create, now()),
        AccessPredicate::True
    );
}

#[test]
fn field_security_is_an_allow_list_where_write_implies_read() {
    let policy = policy();
    let manager = user(&policy, "sales.manager");
    let rep = user(&policy, "sales.rep");
    let viewer = user(&policy, "viewer");
    assert_eq!(field_access(&policy, &manager, CONTACTS, "region"), FieldAccess { read: true, write: true });
    assert_eq!(field_access(&policy, &manager, CONTACTS, "email"), FieldAccess { read: false, write: false });
    assert_eq!(field_access(&policy, &rep, CONTACTS, "score"), FieldAccess { read: true, write: true });
    assert_eq!(field_access(&policy, &viewer, CONTACTS, "region"), FieldAccess { read: true, write: false });
    assert_eq!(field_access(&policy, &viewer, CONTACTS, "nickname"), FieldAccess::default(), "unknown field");
    let both = AccessPrincipal::new(policy.org, UserId::new(), ["viewer", "sales.rep"]);
    assert_eq!(field_access(&policy, &both, CONTACTS, "score"), FieldAccess { read: true, write: true }, "union");
}

#[test]
fn explain_names_the_granting_roles_and_the_field_decision() {
    let policy = policy();
    let both = AccessPrincipal::new(policy.org, UserId::new(), ["viewer", "sales.rep"]);
    let own = contact(Some(both.user), Some("EMEA"));
    let why = explain(&policy, &both, CONTACTS, ObjectRight::Update, &own, Some("region"), now());
    assert!(!why.allowed, "region is readable but not writable for these roles");
    assert_eq!(
        why.steps,
        vec![
            Step::ObjectRightGranted { right: ObjectRight::Read, by: vec!["sales.rep".into(), "viewer".into()] },
            Step::ObjectRightGranted { right: ObjectRight::Update, by: vec!["sales.rep".into()] },
            Step::OrgDefault { default: OrgDefault::Private, grants: false },
            Step::Owner,
            Step::Field {
                field: "region".into(),
                needs: RecordAccess::Write,
                readable_by: vec!["sales.rep".into(), "viewer".into()],
                writable_by: vec![],
                granted: false,
            },
        ]
    );
    let score = explain(&policy, &both, CONTACTS, ObjectRight::Update, &own, Some("score"), now());
    assert!(score.allowed);
}

#[test]
fn explain_stops_at_a_missing_object_right_and_carries_no_values() {
    let mut policy = policy();
    let group = GroupId::new();
    policy.rules.push(emea_rule(ShareTarget::Group(group), ShareAccess::Read));
    let viewer = user(&policy, "viewer").in_groups([group]);
    let record = contact(Some(UserId::new()), Some("EMEA"));
    let denied = explain(&policy, &viewer, CONTACTS, ObjectRight::Delete, &record, None, now());
    assert_eq!(denied.steps.last(), Some(&Step::ObjectRightMissing { right: ObjectRight::Delete }));
    let read = explain(&policy, &viewer, CONTACTS, ObjectRight::Read, &record, Some("region"), now());
    assert!(read.allowed);
    let json = serde_json::to_string(&read).unwrap();
    assert!(json.contains("shared_by_rule"));
    assert!(!json.contains("EMEA"), "an explanation names keys and ids, never values: {json}");
}

/// The permission matrix: org-wide default × how the principal relates to the record × right.
#[test]
fn permission_matrix() {
    #[derive(Debug, Clone, Copy)]
    enum Relation {
        Owner,
        Manager,
        ReadRule,
        WriteRule,
        ReadShare,
        Stranger,
    }
    use ObjectRight::{Create as C, Delete as D, Export as E, Read as R, Update as U};
    use OrgDefault::{Private, PublicRead, PublicReadWrite};
    use Relation::*;
    // The principal holds `sales.manager` (every right). Columns: R, C, U, D, E.
    let table: [(OrgDefault, Relation, [bool; 5]); 18] = [
        (Private, Owner, [true, true, true, true, true]),
        (Private, Manager, [true, true, true, true, true]),
        (Private, ReadRule, [true, true, false, false, true]),
        (Private, WriteRule, [true, true, true, true, true]),
        (Private, ReadShare, [true, true, false, false, true]),
        (Private, Stranger, [false, true, false, false, false]),
        (PublicRead, Owner, [true, true, true, true, true]),
        (PublicRead, Manager, [true, true, true, true, true]),
        (PublicRead, ReadRule, [true, true, false, false, true]),
        (PublicRead, WriteRule, [true, true, true, true, true]),
        (PublicRead, ReadShare, [true, true, false, false, true]),
        (PublicRead, Stranger, [true, true, false, false, true]),
        (PublicReadWrite, Owner, [true; 5]),
        (PublicReadWrite, Manager, [true; 5]),
        (PublicReadWrite, ReadRule, [true; 5]),
        (PublicReadWrite, WriteRule, [true; 5]),
        (PublicReadWrite, ReadShare, [true; 5]),
        (PublicReadWrite, Stranger, [true; 5]),
    ];
    for (default, relation, expected) in table {
        let mut policy = policy();
        policy.defaults.insert(CONTACTS.into(), default);
        let group = GroupId::new();
        let report = UserId::new();
        let me = user(&policy, "sales.manager").in_groups([group]).managing([report]);
        let mut record = contact(Some(UserId::new()), Some("APAC"));
        match relation {
            Owner => record.owner = Some(me.user),
            Manager => record.owner = Some(report),
            ReadRule | WriteRule => {
                let access = if matches!(relation, ReadRule) { ShareAccess::Read } else { ShareAccess::ReadWrite };
                policy.rules.push(emea_rule(ShareTarget::Group(group), access));
                record.fields.insert("region".into(), Some(text("EMEA")));
            }
            ReadShare => policy.shares.push(ManualShare {
                module: CONTACTS.into(),
                record: record.id,
                with: ShareRecipient::Group(group),
                access: ShareAccess::Read,
                expires_at: now() + Duration::minutes(5),
            }),
            Stranger => {}
        }
        for (right, want) in [R, C, U, D, E].into_iter().zip(expected) {
            assert_eq!(may(&policy, &me, right, &record), want, "{default:?} {relation:?} {right:?}");
        }
    }
}
