//! Issue 7's agreement property at the record store (SQLite, or PostgreSQL with
//! LISTONE_TEST_DATABASE_URL): for random policies and principals, a store acting for the user
//! finds with `get` exactly the records its `list` returns across pages, `count` counts them, and
//! both equal the in-memory decision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "access_guard_support.rs"]
mod scene;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use listone_core::{Error, OrgId, RecordId};
use listone_identity::access::{
    ANY, AccessPolicy, AccessPrincipal, Criteria, ManualShare, ObjectRight, OrgDefault, RecordFacts, RoleProfile,
    ShareAccess, ShareRecipient, ShareTarget, SharingRule, Test, Value, decide,
};
use listone_records::access::{AccessGuard, CriteriaFields};
use listone_records::query::RecordQuery;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use scene::*;

// ---------------------------------------------------------------------------------------------
// Agreement of get, list and count under random policies
// ---------------------------------------------------------------------------------------------

const RECORDS: usize = 30;
/// Cases per run; `PROPTEST_CASES` raises it for a longer search.
const CASES: u32 = 128;
const ROLES: [&str; 4] = ["r0", "r1", "r2", "r3"];
const REGIONS: [&str; 3] = ["EMEA", "APAC", "AMER"];
const NAMES: [&str; 3] = ["Ann", "Bob", "Cy"];

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_366_400, 0).unwrap() // 2026-03-01T12:00:00Z
}

/// One record's owner and criteria values; `None` is empty.
#[derive(Debug, Clone)]
struct Sample {
    owner: u8,
    name: Option<&'static str>,
    region: Option<&'static str>,
    tier: Option<i64>,
    vip: Option<bool>,
}

fn sample() -> impl Strategy<Value = Sample> {
    use prop::option::of;
    (0u8..4, of(select(NAMES.to_vec())), of(select(REGIONS.to_vec())), of(0i64..5), of(any::<bool>()))
        .prop_map(|(owner, name, region, tier, vip)| Sample { owner, name, region, tier, vip })
}

impl Sample {
    fn input(&self) -> Json {
        json!({ "name": self.name, "region": self.region, "tier": self.tier, "vip": self.vip })
    }
}

/// A condition on a criteria field with operands of its kind, or on a field criteria cannot test.
fn condition() -> impl Strategy<Value = Criteria> {
    let region = || select(REGIONS.to_vec());
    prop_oneof![
        region().prop_map(|r| Criteria::test("region", Test::Eq(text(r)))),
        region().prop_map(|r| Criteria::test("region", Test::Ne(text(r)))),
        subsequence(REGIONS.to_vec(), 0..=2)
            .prop_map(|rs| Criteria::test("region", Test::In(rs.into_iter().map(text).collect()))),
        (0i64..5).prop_map(|n| Criteria::test("tier", Test::Gte(Value::Number(n)))),
        (0i64..5).prop_map(|n| Criteria::test("tier", Test::Lt(Value::Number(n)))),
        any::<bool>().prop_map(|b| Criteria::test("vip", Test::Eq(Value::Bool(b)))),
        select(NAMES.to_vec()).prop_map(|n| Criteria::test("name", Test::Eq(text(n)))),
        select(vec!["name", "region", "tier", "vip", "notes"]).prop_map(|k| Criteria::test(k, Test::IsEmpty)),
    ]
}

fn criteria() -> impl Strategy<Value = Criteria> {
    condition().prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Criteria::And),
            prop::collection::vec(inner, 0..3).prop_map(Criteria::Or),
        ]
    })
}

fn share_access() -> impl Strategy<Value = ShareAccess> {
    prop_oneof![Just(ShareAccess::Read), Just(ShareAccess::ReadWrite)]
}

/// Role `i` with random rights on the module or on every module, perhaps reporting to a role
/// before it (so the hierarchy has no cycle).
fn role(i: usize) -> impl Strategy<Value = RoleProfile> {
    let boss = prop::option::weighted(0.5, select(ROLES[..i.max(1)].to_vec())).prop_map(move |b| b.filter(|_| i > 0));
    // Mostly with the read right, without which no other right counts.
    let rights = (prop::bool::weighted(0.8), subsequence(CRUD[1..].to_vec(), 0..=3));
    (boss, select(vec![MODULE, MODULE, ANY]), rights).prop_map(move |(boss, key, (read, mut rights))| {
        if read {
            rights.push(ObjectRight::Read);
        }
        let mut role = RoleProfile::new(ROLES[i]).grant(key, rights);
        role.reports_to = boss.map(str::to_owned);
        role
    })
}

/// A policy of `org` (now and then of `other_org`) over the module: four random roles, mostly no
/// default (private), sharing rules with random criteria to groups and roles, and manual shares
/// of `records` (and of a missing one) expiring around [`t0`].
fn policy(org: OrgId, other_org: OrgId, records: Vec<RecordId>) -> impl Strategy<Value = AccessPolicy> {
    let roles = (role(0), role(1), role(2), role(3)).prop_map(|(a, b, c, d)| vec![a, b, c, d]);
    let defaults = vec![OrgDefault::Private, OrgDefault::PublicRead, OrgDefault::PublicReadWrite];
    let default = prop_oneof![3 => Just(None), 1 => (select(vec![MODULE, ANY]), select(defaults)).prop_map(Some)];
    let target = prop_oneof![
        (0u8..3).prop_map(|g| ShareTarget::Group(group(g))),
        (select(vec!["r0", "r1", "r2", "r3", "ghost"]), any::<bool>())
            .prop_map(|(key, with_subordinates)| ShareTarget::Role { key: key.into(), with_subordinates }),
    ];
    let rule = (select(vec![MODULE, MODULE, MODULE, "accounts"]), criteria(), target, share_access()).prop_map(
        |(module, criteria, share_with, access)| SharingRule { module: module.into(), criteria, share_with, access },
    );
    let mut shared = records;
    shared.push(RecordId::from_uuid(Uuid::from_u128(7))); // no such record
    let recipient = prop_oneof![
        (0u8..5).prop_map(|u| ShareRecipient::User(user(u))),
        (0u8..3).prop_map(|g| ShareRecipient::Group(group(g))),
    ];
    let expiry =
        select(vec![-3_600_000_000_i64, -1, 0, 1, 3_600_000_000]).prop_map(|us| t0() + TimeDelta::microseconds(us));
    let share = (select(vec![MODULE, MODULE, MODULE, "accounts"]), select(shared), recipient, share_access(), expiry)
        .prop_map(|(module, record, with, access, expires_at)| ManualShare {
            module: module.into(),
            record,
            with,
            access,
            expires_at,
        });
    let foreign = prop::bool::weighted(1.0 / 16.0);
    (roles, default, prop::collection::vec(rule, 0..4), prop::collection::vec(share, 0..6), foreign).prop_map(
        move |(roles, default, rules, shares, foreign)| {
            let mut policy = AccessPolicy::new(if foreign { other_org } else { org });
            policy.roles = roles;
            policy.defaults.extend(default.map(|(key, d)| (key.to_owned(), d)));
            policy.rules = rules;
            policy.shares = shares;
            policy
        },
    )
}

/// A user of `org` with one to three roles (perhaps one the policy lacks), groups and reports.
fn principal(org: OrgId) -> impl Strategy<Value = AccessPrincipal> {
    let roles = subsequence(vec!["r0", "r1", "r2", "r3", "ghost"], 1..=3);
    let groups = subsequence((0u8..3).map(group).collect::<Vec<_>>(), 0..=2);
    let reports = subsequence((0u8..5).map(user).collect::<Vec<_>>(), 0..=2);
    (0u8..5, roles, groups, reports).prop_map(move |(who, roles, groups, reports)| {
        AccessPrincipal::new(org, user(who), roles).in_groups(groups).managing(reports)
    })
}

/// What a guarded store answered for one policy and principal.
struct Answers {
    listed: Result<Vec<RecordId>, Error>,
    count: Result<u64, Error>,
    got: Vec<(RecordId, Result<(), Error>)>,
}

struct Probe {
    s: Scene,
    facts: Vec<RecordFacts>,
}

impl Probe {
    async fn new() -> Self {
        let s = Scene::new().await;
        s.f.clock.set(t0());
        let mut runner = TestRunner::deterministic();
        for _ in 0..RECORDS {
            let sample = sample().new_tree(&mut runner).unwrap().current();
            s.seed(sample.owner, sample.input()).await;
        }
        // The facts a single-record decision reads, as the platform lists them.
        let def = s.f.modules.get_module(s.f.org, MODULE).await.unwrap().definition;
        let criteria = CriteriaFields::of(&def);
        let keys: Vec<&str> = criteria.keys().collect();
        let query = RecordQuery { page_size: 100, ..RecordQuery::default() };
        let page = s.f.store.list(s.f.org, MODULE, &query, Some(&keys), s.f.reader()).await.unwrap();
        assert_eq!(page.records.len(), RECORDS);
        let facts = page.records.iter().map(|r| criteria.facts(r)).collect();
        Self { s, facts }
    }

    async fn answers(&self, guard: AccessGuard) -> Answers {
        let store = self.s.f.store.acting_for(guard);
        let org = self.s.f.org;
        let listed = async {
            let mut ids = Vec::new();
            let mut page_token = String::new();
            loop {
                let query = RecordQuery { filter: None, sort: Vec::new(), page_size: PAGE_SIZE, page_token };
                let page = store.list(org, MODULE, &query, Some(&[]), self.s.f.reader()).await?;
                ids.extend(page.records.iter().map(|r| r.id));
                match page.next_page_token {
                    Some(next) => page_token = next,
                    None => return Ok(ids),
                }
            }
        }
        .await;
        let count = store.count(org, MODULE, None, COUNT_CAP).await.map(|c| c.value);
        let mut got = Vec::with_capacity(self.facts.len());
        for fact in &self.facts {
            got.push((fact.id, store.get(org, MODULE, fact.id, Some(&[]), self.s.f.reader()).await.map(drop)));
        }
        Answers { listed, count, got }
    }
}

fn is_no_object_right<T>(result: &Result<T, Error>) -> bool {
    matches!(result, Err(Error::PermissionDenied { reason: "NO_OBJECT_RIGHT", .. }))
}

#[test]
fn under_random_policies_get_finds_exactly_the_records_list_returns_and_count_counts_them() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let probe = runtime.block_on(Probe::new());
    let (org, other_org) = (probe.s.f.org, probe.s.f.other_org);
    let ids: Vec<RecordId> = probe.facts.iter().map(|f| f.id).collect();
    let (refused, none, some, all) = (Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0));
    let started = std::time::Instant::now();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (policy(org, other_org, ids), principal(org));
    let result = runner.run(&strategy, |(policy, principal)| {
        let guard = AccessGuard::new(Arc::new(policy.clone()), principal.clone());
        let answers = runtime.block_on(probe.answers(guard));
        if !policy.has_right(&principal, MODULE, ObjectRight::Read) || policy.org != org {
            prop_assert!(is_no_object_right(&answers.listed), "list: {:?}", answers.listed);
            prop_assert!(is_no_object_right(&answers.count), "count: {:?}", answers.count);
            for (id, got) in &answers.got {
                prop_assert!(is_no_object_right(got), "get {}: {:?}", id, got);
            }
            refused.set(refused.get() + 1);
            return Ok(());
        }
        let listed = match answers.listed {
            Ok(listed) => listed,
            Err(err) => return Err(TestCaseError::fail(format!("list failed: {err:?}"))),
        };
        let unique: BTreeSet<RecordId> = listed.iter().copied().collect();
        prop_assert_eq!(unique.len(), listed.len(), "a record came back twice across pages");
        for (id, got) in &answers.got {
            match got {
                Ok(()) => prop_assert!(unique.contains(id), "get finds {} but list does not return it", id),
                Err(Error::NotFound { resource: "record" }) => {
                    prop_assert!(!unique.contains(id), "list returns {} but get does not find it", id)
                }
                Err(other) => return Err(TestCaseError::fail(format!("get {id}: {other:?}"))),
            }
        }
        match &answers.count {
            Ok(n) => prop_assert_eq!(*n, listed.len() as u64, "count and list disagree"),
            Err(err) => return Err(TestCaseError::fail(format!("count failed: {err:?}"))),
        }
        // Both are what the engine decides from each record's facts.
        let decided: BTreeSet<RecordId> = probe
            .facts
            .iter()
            .filter(|f| decide(&policy, &principal, MODULE, ObjectRight::Read, f, t0()).allowed)
            .map(|f| f.id)
            .collect();
        prop_assert_eq!(&unique, &decided);
        let bucket = match unique.len() {
            0 => &none,
            n if n == RECORDS => &all,
            _ => &some,
        };
        bucket.set(bucket.get() + 1);
        Ok(())
    });
    result.unwrap();
    eprintln!(
        "access guard agreement: {} cases in {:?}; {} refused, {} saw none, {} some, {} all",
        cases,
        started.elapsed(),
        refused.get(),
        none.get(),
        some.get(),
        all.get()
    );
    assert!(some.get() >= cases as usize / 4, "too few cases tell records apart");
}
