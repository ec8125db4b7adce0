//! The access engine on one thread, over a realistic organization's policy: 12 roles in a
//! three-level sales hierarchy plus support and finance, 3 modules, 24 criteria sharing rules
//! (a region, a stage, a score), 500 manual shares. The principal is a sales rep with two groups
//! and no reports; the record is someone else's and matches no rule or share, so the engine
//! walks every rule and share before it denies (the costly path).
//!
//! - `access_decide_record`: `decide` (read) for one record in memory — what a single-record
//!   read or write pays.
//! - `access_compile_list`: `compile` (read) for a module — what a list pays before its SQL.

use chrono::{Duration, Utc};
use listone_core::{GroupId, OrgId, RecordId, UserId};
use listone_identity::access::{
    AccessPolicy, AccessPrincipal, Criteria, ManualShare, ObjectRight, OrgDefault, RecordFacts, RoleProfile,
    ShareAccess, ShareRecipient, ShareTarget, SharingRule, Test, Value, compile, decide,
};

use crate::error::BenchError;
use crate::measure::{self, Budget, Figures};

const MODULES: [&str; 3] = ["contacts", "accounts", "deals"];
const REGIONS: [&str; 4] = ["EMEA", "AMER", "APAC", "LATAM"];

struct Scene {
    policy: AccessPolicy,
    principal: AccessPrincipal,
    record: RecordFacts,
}

fn scene() -> Scene {
    let org = OrgId::new();
    let mut policy = AccessPolicy::new(org);
    let all = [ObjectRight::Read, ObjectRight::Create, ObjectRight::Update, ObjectRight::Delete];
    policy.roles.push(RoleProfile::new("sales.director"));
    for region in REGIONS {
        let manager = format!("sales.manager.{}", region.to_lowercase());
        policy.roles.push(RoleProfile::new(manager.clone()).reporting_to("sales.director"));
        let mut rep = RoleProfile::new(format!("sales.rep.{}", region.to_lowercase())).reporting_to(manager);
        for module in MODULES {
            rep = rep.grant(module, all);
        }
        policy.roles.push(rep);
    }
    for key in ["support", "finance", "marketing"] {
        policy.roles.push(RoleProfile::new(key).grant("contacts", [ObjectRight::Read]));
    }
    for module in MODULES {
        policy.defaults.insert(module.to_owned(), OrgDefault::Private);
    }
    let groups: Vec<GroupId> = (0..6).map(|_| GroupId::new()).collect();
    for (i, region) in REGIONS.iter().enumerate() {
        for module in MODULES {
            let by_region = Criteria::test("region", Test::Eq(Value::Text((*region).to_owned())));
            let scored = Criteria::And(vec![
                Criteria::test("stage", Test::In(vec![Value::Text("won".into()), Value::Text("negotiation".into())])),
                Criteria::test("score", Test::Gte(Value::Number(80))),
            ]);
            policy.rules.push(SharingRule {
                module: module.to_owned(),
                criteria: by_region,
                share_with: ShareTarget::Group(groups[i]),
                access: ShareAccess::Read,
            });
            policy.rules.push(SharingRule {
                module: module.to_owned(),
                criteria: scored,
                share_with: ShareTarget::Role { key: "sales.director".into(), with_subordinates: true },
                access: ShareAccess::ReadWrite,
            });
        }
    }
    let expires_at = Utc::now() + Duration::days(30);
    for n in 0..500 {
        policy.shares.push(ManualShare {
            module: MODULES[n % MODULES.len()].to_owned(),
            record: RecordId::new(),
            with: if n % 2 == 0 { ShareRecipient::User(UserId::new()) } else { ShareRecipient::Group(groups[n % 6]) },
            access: ShareAccess::Read,
            expires_at,
        });
    }
    let principal = AccessPrincipal::new(org, UserId::new(), ["sales.rep.emea"]).in_groups([groups[1], groups[4]]);
    // Owned by another rep, in a region shared with neither of the principal's groups, won but
    // scored below the director's rule (which reaches reps through with_subordinates).
    let record = RecordFacts::new(RecordId::new(), Some(UserId::new()))
        .with("region", Some(Value::Text("APAC".into())))
        .with("stage", Some(Value::Text("won".into())))
        .with("score", Some(Value::Number(61)));
    Scene { policy, principal, record }
}

/// `decide(read)` of one record.
pub fn decide_record(budget: &Budget) -> Result<Figures, BenchError> {
    let Scene { policy, principal, record } = scene();
    let now = Utc::now();
    if decide(&policy, &principal, "contacts", ObjectRight::Read, &record, now).allowed {
        return Err(BenchError("the benchmark record should be out of the rep's reach".into()));
    }
    let sample = measure::sequential(budget, || {
        let decision = decide(&policy, &principal, "contacts", ObjectRight::Read, &record, now);
        std::hint::black_box(decision);
    });
    Ok(sample.figures())
}

/// `compile(read)` of a module for a list.
pub fn compile_list(budget: &Budget) -> Result<Figures, BenchError> {
    let Scene { policy, principal, .. } = scene();
    let now = Utc::now();
    let sample = measure::sequential(budget, || {
        std::hint::black_box(compile(&policy, &principal, "contacts", ObjectRight::Read, now));
    });
    Ok(sample.figures())
}
