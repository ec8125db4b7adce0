//! Lists under access rules (issue 7): a technician's first page of work orders in an org of
//! 100,000 (owned by 50 users, seeded in the store's format) through the record store acting for
//! them (a guard per call: the policy compiled, translated and ANDed into the list, field-level
//! security applied), beside the same list by the platform with no rules.
//!
//! The policy: work orders private by default; a lead with technicians reporting to them; the
//! technician owns a fiftieth of the records, manages two colleagues, is in a group that two
//! categories (of twenty) are shared with, reaches the lead's "priority ≥ 95" rule through the
//! hierarchy, and has 20 records shared by hand. About a fifth of the org's records are visible.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use listone_core::db::statement;
use listone_core::{GroupId, OrgId, RecordId, UserId};
use listone_customization::StoredModule;
use listone_identity::access::{
    AccessPolicy, AccessPrincipal, Criteria, ManualShare, ObjectRight, OrgDefault, RoleProfile, ShareAccess,
    ShareRecipient, ShareTarget, SharingRule, Test, Value as RuleValue, compile, eval,
};
use listone_records::access::{AccessGuard, CriteriaFields};
use listone_records::query::RecordQuery;
use sea_orm::{ConnectionTrait, Value};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::fixture::{PAGE_SIZE, RecordsEnv, settle};
use super::seed::{FILTER_FIELD, MODULE, add_module, finish_seeding, prepare_templates, seed_org};
use crate::catalog::{BenchFuture, EngineContext};
use crate::error::BenchError;
use crate::measure;

/// Overrides how many records the org holds.
pub const ACCESS_RECORDS_ENV: &str = "LISTONE_BENCH_ACCESS_RECORDS";
/// Records in the org unless [`ACCESS_RECORDS_ENV`] says otherwise.
pub const DEFAULT_ACCESS_RECORDS: u64 = 100_000;
/// Users owning the records, round robin.
const OWNERS: usize = 50;
/// Records shared by hand with the technician.
const SHARED: u64 = 20;

/// The seeded org, the technician's policy and principal.
struct AccessFixture {
    env: Arc<RecordsEnv>,
    org: OrgId,
    module: StoredModule,
    policy: Arc<AccessPolicy>,
    principal: AccessPrincipal,
}

static ACCESS_FIXTURE: OnceCell<Arc<AccessFixture>> = OnceCell::const_new();

async fn access_fixture(ctx: &EngineContext) -> Result<Arc<AccessFixture>, BenchError> {
    ACCESS_FIXTURE.get_or_try_init(|| build(ctx)).await.cloned()
}

fn access_records() -> Result<u64, BenchError> {
    match std::env::var(ACCESS_RECORDS_ENV) {
        Err(_) => Ok(DEFAULT_ACCESS_RECORDS),
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1_000..=10_000_000).contains(n))
            .ok_or_else(|| BenchError(format!("{ACCESS_RECORDS_ENV} must be a number from 1000 to 10000000"))),
    }
}

async fn build(ctx: &EngineContext) -> Result<Arc<AccessFixture>, BenchError> {
    let env = Arc::new(RecordsEnv::new(ctx));
    let records = access_records()?;
    let started = Instant::now();
    prepare_templates(&env).await?;
    let org = OrgId::new();
    let module = add_module(&env, org).await?;
    let owners: Vec<Uuid> = (0..OWNERS).map(|_| Uuid::now_v7()).collect();
    seed_org(&env, org, &module, records, &owners).await?;
    finish_seeding(&env).await?;
    eprintln!("records_list_access: seeded {records} records in {:.1} s", started.elapsed().as_secs_f64());

    let conn = env.db.conn();
    let stmt = statement(
        conn.get_database_backend(),
        "SELECT id FROM record WHERE org_id = $1 AND module_id = $2 ORDER BY id DESC LIMIT $3",
        [Value::from(org.as_uuid()), Value::from(module.id.as_uuid()), Value::from(SHARED as i64)],
    );
    let shared: Vec<RecordId> = conn
        .query_all_raw(stmt)
        .await?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "id").map(RecordId::from_uuid))
        .collect::<Result<_, _>>()?;
    let (me, group) = (UserId::from_uuid(owners[0]), GroupId::new());
    let policy = policy(org, group, me, &shared);
    let principal = AccessPrincipal::new(org, me, ["ops.tech"])
        .in_groups([group])
        .managing([UserId::from_uuid(owners[1]), UserId::from_uuid(owners[2])]);
    let fixture = AccessFixture { env, org, module, policy: Arc::new(policy), principal };
    check(&fixture).await?;
    Ok(Arc::new(fixture))
}

fn policy(org: OrgId, group: GroupId, me: UserId, shared: &[RecordId]) -> AccessPolicy {
    let mut policy = AccessPolicy::new(org);
    // Every role reads every field: the list returns what the baseline returns.
    let reads = |role: RoleProfile| role.allow_fields(MODULE, ["*"], []);
    policy.roles.push(reads(RoleProfile::new("ops.lead").grant(MODULE, [ObjectRight::Read, ObjectRight::Update])));
    policy.roles.push(reads(RoleProfile::new("ops.tech").reporting_to("ops.lead").grant(MODULE, [ObjectRight::Read])));
    policy.roles.push(reads(RoleProfile::new("ops.dispatch").grant(MODULE, [ObjectRight::Read])));
    policy.defaults.insert(MODULE.to_owned(), OrgDefault::Private);
    let categories = ["category_03", "category_07"].map(|c| RuleValue::Text(c.to_owned())).to_vec();
    policy.rules.push(SharingRule {
        module: MODULE.to_owned(),
        criteria: Criteria::test(FILTER_FIELD, Test::In(categories)),
        share_with: ShareTarget::Group(group),
        access: ShareAccess::Read,
    });
    policy.rules.push(SharingRule {
        module: MODULE.to_owned(),
        criteria: Criteria::test("priority", Test::Gte(RuleValue::Number(95))),
        share_with: ShareTarget::Role { key: "ops.lead".into(), with_subordinates: true },
        access: ShareAccess::Read,
    });
    let expires_at = Utc::now() + Duration::days(7);
    for record in shared {
        policy.shares.push(ManualShare {
            module: MODULE.to_owned(),
            record: *record,
            with: ShareRecipient::User(me),
            access: ShareAccess::Read,
            expires_at,
        });
    }
    policy
}

/// The technician's guard: what a record call acting for them builds.
fn guard(fixture: &AccessFixture) -> AccessGuard {
    AccessGuard::new(Arc::clone(&fixture.policy), fixture.principal.clone())
}

fn page_query() -> RecordQuery {
    RecordQuery { page_size: PAGE_SIZE, ..RecordQuery::default() }
}

/// The first page under the rules is full and holds only records the engine admits in memory.
async fn check(fixture: &AccessFixture) -> Result<(), BenchError> {
    let predicate = compile(&fixture.policy, &fixture.principal, MODULE, ObjectRight::Read, Utc::now());
    let env = &fixture.env;
    let fields = CriteriaFields::of(&fixture.module.definition);
    let store = env.store.acting_for(guard(fixture));
    let page = store.list(fixture.org, MODULE, &page_query(), None, env.reader()).await?;
    let admitted = page.records.iter().filter(|r| eval(&predicate, &fields.facts(r))).count();
    if page.records.len() != PAGE_SIZE as usize || admitted != page.records.len() {
        return Err(BenchError(format!(
            "the rules' first page holds {} records, {admitted} admitted in memory",
            page.records.len()
        )));
    }
    Ok(())
}

/// Baseline: the first page of the module's work orders, no access filter.
pub fn list_all(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = access_fixture(ctx).await?;
        settle(&fixture.env.db).await?;
        let query = Arc::new(page_query());
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
            let (fixture, query) = (fixture.clone(), query.clone());
            move || {
                let (fixture, query) = (fixture.clone(), query.clone());
                async move {
                    let env = &fixture.env;
                    let page = env.store.list(fixture.org, MODULE, &query, None, env.reader()).await?;
                    full(page.records.len())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

/// The technician's first page through the store acting for them.
pub fn list_with_rules(ctx: &EngineContext) -> BenchFuture<'_> {
    Box::pin(async move {
        let fixture = access_fixture(ctx).await?;
        settle(&fixture.env.db).await?;
        let sample = measure::concurrent(ctx.concurrency, &ctx.budget, |_| {
            let fixture = fixture.clone();
            move || {
                let fixture = fixture.clone();
                async move {
                    let env = &fixture.env;
                    let store = env.store.acting_for(guard(&fixture));
                    let page = store.list(fixture.org, MODULE, &page_query(), None, env.reader()).await?;
                    full(page.records.len())
                }
            }
        })
        .await?;
        Ok(sample.figures())
    })
}

fn full(records: usize) -> Result<(), BenchError> {
    if records == PAGE_SIZE as usize { Ok(()) } else { Err(BenchError(format!("a page of {records} records"))) }
}
