//! What the record benchmarks run against: the record store wired as the server wires it, and
//! an org of contacts created through it (shared by the get and list benchmarks and their raw
//! baselines, built once per engine pass).
//!
//! Setup is kept apart from the operations so a gRPC variant can reuse it: the fixtures hold
//! orgs, modules and record ids, never a way of calling the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use listone_audit::{ActorKind, AuditActor, RequestContext};
use listone_core::db;
use listone_core::{Database, Engine, ModuleId, OrgId, RecordId};
use listone_customization::ModuleStore;
use listone_records::query::RecordQuery;
use listone_records::{ChangeSource, MAX_BULK_RECORDS, Reader, RecordStore, read_batching_pays};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value as Json};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::catalog::EngineContext;
use crate::error::BenchError;

/// Module of the contact-like records: plain names, a searchable e-mail, an encrypted note.
pub const CONTACTS: &str = "contacts";
/// Contacts in the org the get and list benchmarks read.
pub const READ_CONTACTS: usize = 2_000;
/// Records per page in the list benchmarks.
pub const PAGE_SIZE: u32 = 50;
/// Processing purpose claimed by the benchmark's reads (recorded with personal reads).
const PURPOSE: &str = "crm.sales";
/// Currency of the standard catalog installed for benchmark orgs.
const CURRENCY: &str = "EUR";
/// The benchmark's signed-in user (the `created_by` of what it writes).
const USER_ID: &str = "0192f0c1-7c1e-7000-8000-00000000be0c";

/// The record and module stores over the benchmark server's database, with the caller every
/// benchmark acts as.
#[derive(Debug, Clone)]
pub struct RecordsEnv {
    /// The record store, with the server's key ring, audit recorder and clock.
    pub store: RecordStore,
    /// Module definitions.
    pub modules: ModuleStore,
    /// The server's database (raw baselines run here).
    pub db: Database,
    /// A signed-in user.
    pub actor: AuditActor,
    /// Request origin of every call.
    pub ctx: RequestContext,
    /// Owner of every record written.
    pub owner: Uuid,
}

impl RecordsEnv {
    /// The stores over `ctx`'s server, wired like the server wires them.
    pub fn new(ctx: &EngineContext) -> Self {
        let app = ctx.server.ctx();
        let modules = ModuleStore::new(app.db.clone(), app.audit_recorder.clone(), app.clock.clone());
        let store = RecordStore::new(
            app.db.clone(),
            app.keyring.clone(),
            app.audit_recorder.clone(),
            app.clock.clone(),
            modules.clone(),
        )
        // As the server runs it: personal reads audited through the group-commit batcher,
        // concurrent creates sharing transactions, concurrent single reads sharing statements where that pays.
        .with_read_audit(app.audit_batcher.clone())
        .with_create_batching();
        let store = if read_batching_pays(app.db.engine()) { store.with_read_batching() } else { store };
        let owner = Uuid::parse_str(USER_ID).unwrap_or_default();
        Self {
            store,
            modules,
            db: app.db.clone(),
            actor: AuditActor { kind: ActorKind::User, id: Some(owner.to_string()) },
            ctx: RequestContext::default(),
            owner,
        }
    }

    /// Who reads, for the store's read calls.
    pub fn reader(&self) -> Reader<'_> {
        Reader { actor: &self.actor, ctx: &self.ctx, purpose: PURPOSE }
    }

    /// A fresh org with the standard catalog installed, and the id of its contacts module.
    pub async fn org_with_catalog(&self) -> Result<(OrgId, ModuleId), BenchError> {
        let org = OrgId::new();
        let platform = AuditActor { kind: ActorKind::System, id: None };
        self.modules.install_standard(org, CURRENCY, platform, RequestContext::default()).await?;
        Ok((org, self.modules.get_module(org, CONTACTS).await?.id))
    }

    /// Creates `count` contacts in `org` through the store, [`MAX_BULK_RECORDS`] per call.
    pub async fn create_contacts(&self, org: OrgId, count: usize) -> Result<Vec<RecordId>, BenchError> {
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            let batch = (ids.len()..count.min(ids.len() + MAX_BULK_RECORDS)).map(|n| contact(n as u64)).collect();
            let created = self
                .store
                .bulk_create(org, CONTACTS, batch, self.owner, self.actor.clone(), self.ctx.clone(), ChangeSource::Api)
                .await?;
            ids.extend(created.into_iter().map(|r| r.id));
        }
        Ok(ids)
    }
}

/// The values of contact number `n`: plain names, a searchable e-mail, an encrypted note.
pub fn contact(n: u64) -> Map<String, Json> {
    let mut values = Map::new();
    values.insert("first_name".to_owned(), Json::from("Ada"));
    values.insert("last_name".to_owned(), Json::from(format!("Lovelace {n}")));
    values.insert("email".to_owned(), Json::from(format!("ada.lovelace.{n}@example.com")));
    values.insert(
        "notes".to_owned(),
        Json::from(format!("Met at the analytical engine fair, visit {n}; prefers e-mail.")),
    );
    values
}

/// Where one page of the contacts list starts.
#[derive(Debug, Clone)]
pub struct PageStart {
    /// The store's page token (empty for the first page).
    pub token: String,
    /// The id the page starts after (nil for the first page), for the raw baseline.
    pub after: Uuid,
}

/// [`READ_CONTACTS`] contacts of one org, created through the store.
#[derive(Debug)]
pub struct ContactsFixture {
    /// The stores.
    pub env: Arc<RecordsEnv>,
    /// The org.
    pub org: OrgId,
    /// Its contacts module.
    pub module: ModuleId,
    /// Every contact.
    pub ids: Vec<RecordId>,
    /// Every full page of the list ordered by id (the store's default order).
    pub pages: Vec<PageStart>,
}

/// Built on first use; one server per process (each engine pass is its own child process).
static READ_FIXTURE: OnceCell<Arc<ContactsFixture>> = OnceCell::const_new();

/// The contacts the get and list benchmarks read, created on first use.
pub async fn read_fixture(ctx: &EngineContext) -> Result<Arc<ContactsFixture>, BenchError> {
    READ_FIXTURE.get_or_try_init(|| build_read_fixture(ctx)).await.cloned()
}

async fn build_read_fixture(ctx: &EngineContext) -> Result<Arc<ContactsFixture>, BenchError> {
    let env = Arc::new(RecordsEnv::new(ctx));
    let (org, module) = env.org_with_catalog().await?;
    let started = Instant::now();
    let ids = env.create_contacts(org, READ_CONTACTS).await?;
    eprintln!(
        "records: created {READ_CONTACTS} contacts through the store for the get and list benchmarks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Walk the list once (no fields asked for: nothing personal read) to learn every page start.
    let mut pages = Vec::new();
    let mut start = PageStart { token: String::new(), after: Uuid::nil() };
    loop {
        let query = RecordQuery { page_size: PAGE_SIZE, page_token: start.token.clone(), ..RecordQuery::default() };
        let page = env.store.list(org, CONTACTS, &query, Some(&[]), env.reader()).await?;
        let Some(last) = page.records.last() else { break };
        let after = last.id.as_uuid();
        if page.records.len() == PAGE_SIZE as usize {
            pages.push(start);
        }
        match page.next_page_token {
            Some(token) => start = PageStart { token, after },
            None => break,
        }
    }
    if pages.is_empty() {
        return Err(BenchError("the contacts fixture has no full page".to_owned()));
    }
    Ok(Arc::new(ContactsFixture { env, org, module, ids, pages }))
}

/// Longest [`settle`] waits for the outbox to drain.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);

/// Waits until the outbox dispatcher has delivered every pending event (the audit entries of
/// earlier setup and benchmarks), so a timed phase does not pay for another one's backlog.
pub async fn settle(db: &Database) -> Result<(), BenchError> {
    let started = Instant::now();
    let mut found = None;
    loop {
        let pending = db::count(db.conn(), "SELECT COUNT(*) AS n FROM outbox_event WHERE pending", []).await?;
        let found = *found.get_or_insert(pending);
        if pending == 0 {
            // What the phase before left undelivered: more than a dispatcher batch or two means
            // the audit log did not keep up with it.
            if found > 0 {
                eprintln!("records: {found} outbox events pending at settle, delivered in {:?}", started.elapsed());
            }
            break;
        }
        if started.elapsed() > SETTLE_LIMIT {
            eprintln!("records: {pending} outbox events still pending after {SETTLE_LIMIT:?}; measuring anyway");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Freshly written PostgreSQL tables: vacuum and analyze them now, so neither the baseline
    // nor the measured call pays for first-touch hint bits or a background autovacuum of the
    // seed rows (measured: the raw primary-key select ran at 7.7k/s or 26k/s from run to run).
    // The outbox dispatcher's and the audit log's tables too: planned on statistics taken while
    // they were empty, the dispatcher's probe of a page's delivery rows read every delivery row
    // of the sink (10-20 ms a pass, seen with auto_explain) until autovacuum first analyzed them.
    // SQLite is left as the server leaves it: an ANALYZE there (sqlite_stat1) made single-record
    // reads 10x slower in one measurement, not investigated yet.
    if db.engine() == Engine::Postgres {
        db.conn()
            .execute_unprepared(
                "VACUUM (ANALYZE) record, record_index, subject_key, outbox_event, outbox_delivery, audit_entry, \
                 audit_node",
            )
            .await?;
    }
    Ok(())
}

/// A deterministic pseudo-random sequence (SplitMix64) for picking records: cheap, and the
/// same picks in every run.
#[derive(Debug, Clone)]
pub struct Picker(u64);

impl Picker {
    /// The sequence of client task `task`.
    pub fn new(task: usize) -> Self {
        Self(0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(task as u64 + 1))
    }

    /// An index below `len` (0 when `len` is 0).
    pub fn below(&mut self, len: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        if len == 0 { 0 } else { (z % len as u64) as usize }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picker_stays_in_range_and_differs_per_task() {
        let (mut a, mut b) = (Picker::new(0), Picker::new(1));
        let (xs, ys): (Vec<usize>, Vec<usize>) = (0..100).map(|_| (a.below(10), b.below(10))).unzip();
        assert!(xs.iter().chain(&ys).all(|&i| i < 10));
        assert_ne!(xs, ys);
        assert_eq!(Picker::new(3).below(0), 0);
    }

    #[test]
    fn contacts_differ_by_number() {
        assert_ne!(contact(1)["email"], contact(2)["email"]);
        assert_eq!(contact(1).len(), 4);
    }
}
