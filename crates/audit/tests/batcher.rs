//! The group-commit audit writer on a real database: SQLite by default, PostgreSQL when
//! `LISTONE_TEST_DATABASE_URL` is set. Callers are answered after the commit, many events share a
//! transaction, a bad event fails alone, and the writer drains and exits with its last handle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use listone_audit::entry::{ActorKind, AuditActor, AuditEvent, Outcome};
use listone_audit::recorder::AUDIT_TOPIC;
use listone_audit::{AuditBatcher, AuditRecorder, BatcherConfig, BatcherStats};
use listone_core::db::{count, execute};
use listone_core::{Clock, Database, Error, OrgId, SharedClock, SubjectId, TestClock};
use listone_crypto::{KeyRing, MasterKey};
use listone_testkit::TestDatabase;
use sea_orm::Value;
use tokio::task::JoinSet;

/// Guards against a hung writer; never a timing assertion.
const HANG_GUARD: Duration = Duration::from_secs(60);

struct Harness {
    db: TestDatabase,
    clock: TestClock,
    keyring: Arc<KeyRing>,
}

impl Harness {
    async fn new() -> Self {
        let keyring = Arc::new(KeyRing::new(Arc::new(MasterKey::generate().unwrap())));
        Self { db: TestDatabase::create().await, clock: TestClock::starting_now(), keyring }
    }

    fn database(&self) -> Database {
        self.db.database().clone()
    }

    fn recorder(&self) -> AuditRecorder {
        let clock: SharedClock = Arc::new(self.clock.clone());
        AuditRecorder::new(Arc::clone(&self.keyring), clock)
    }

    fn batcher(&self) -> AuditBatcher {
        AuditBatcher::spawn(self.database(), self.recorder(), BatcherConfig::default())
    }

    fn event(&self, org: OrgId, n: usize) -> AuditEvent {
        AuditEvent::new(
            org,
            AuditActor { kind: ActorKind::Service, id: Some("oauth-client".to_owned()) },
            "identity.token.issue",
            Outcome::Allowed,
            self.clock.now(),
        )
        .with_details(serde_json::json!({ "n": n }))
    }

    async fn audit_rows(&self) -> i64 {
        let sql = "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = $1";
        count(self.db.conn(), sql, [Value::from(AUDIT_TOPIC)]).await.unwrap()
    }
}

/// Records every event at once, each from its own task; outcomes in input order.
async fn record_concurrently(
    batcher: &AuditBatcher,
    events: Vec<AuditEvent>,
) -> Vec<Result<listone_core::EventId, Error>> {
    let mut tasks = JoinSet::new();
    for (i, event) in events.into_iter().enumerate() {
        let batcher = batcher.clone();
        tasks.spawn(async move { (i, batcher.record(event).await) });
    }
    let mut outcomes: Vec<_> = tokio::time::timeout(HANG_GUARD, tasks.join_all()).await.expect("writer hung");
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

#[tokio::test]
async fn a_thousand_concurrent_events_commit_in_fewer_transactions_than_events() {
    let h = Harness::new().await;
    let org = OrgId::new();
    let batcher = h.batcher();
    let events = (0..1000).map(|n| h.event(org, n)).collect();

    let outcomes = record_concurrently(&batcher, events).await;

    assert!(outcomes.iter().all(Result::is_ok), "every event is written");
    assert_eq!(h.audit_rows().await, 1000, "each answered event is in the outbox");
    let BatcherStats { batches, events } = batcher.stats();
    assert_eq!(events, 1000);
    assert!(batches >= 2, "no batch exceeds max_batch (512), got {batches}");
    assert!(batches < events, "events shared transactions: {batches} batches for {events} events");
}

#[tokio::test]
async fn a_lone_event_commits_at_once_in_its_own_batch() {
    let h = Harness::new().await;
    let batcher = h.batcher();

    let id = batcher.record(h.event(OrgId::new(), 0)).await.unwrap();

    let sql = "SELECT COUNT(*) AS n FROM outbox_event WHERE id = $1";
    assert_eq!(count(h.db.conn(), sql, [Value::from(id.as_uuid())]).await.unwrap(), 1);
    assert_eq!(batcher.stats(), BatcherStats { batches: 1, events: 1 });
}

#[tokio::test]
async fn an_invalid_event_fails_alone_while_the_rest_of_its_burst_commits() {
    let h = Harness::new().await;
    let org = OrgId::new();
    let batcher = h.batcher();
    let mut events: Vec<_> = (0..50).map(|n| h.event(org, n)).collect();
    events[17].action = String::new();

    let outcomes = record_concurrently(&batcher, events).await;

    let Err(Error::InvalidArgument { violations }) = &outcomes[17] else { panic!("{:?}", outcomes[17]) };
    assert_eq!(violations[0].field, "action");
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 49);
    assert_eq!(h.audit_rows().await, 49);
    assert_eq!(batcher.stats().events, 49);
}

#[tokio::test]
async fn personal_details_are_sealed_in_the_batch_and_an_unsealable_event_fails_alone() {
    let h = Harness::new().await;
    let (org, other_org) = (OrgId::new(), OrgId::new());
    let (subject, forged) = (SubjectId::new(), SubjectId::new());
    // A subject key copied from another org cannot be unwrapped: sealing for `forged` fails.
    let conn = h.db.conn();
    h.keyring.org_key(conn, org, h.clock.now()).await.unwrap();
    h.keyring.subject_key(conn, other_org, forged, h.clock.now()).await.unwrap();
    let copy = "INSERT INTO subject_key (org_id, subject_id, wrapped, created_at) \
                SELECT $1, subject_id, wrapped, created_at FROM subject_key WHERE org_id = $2 AND subject_id = $3";
    let values = [org.as_uuid(), other_org.as_uuid(), forged.as_uuid()].map(Value::from);
    assert_eq!(execute(conn, copy, values).await.unwrap(), 1);

    let batcher = h.batcher();
    let mut events: Vec<_> = (0..20).map(|n| h.event(org, n)).collect();
    events[3] = events[3].clone().with_personal_details(subject, serde_json::json!({ "email": "a@example.com" }));
    events[9] = events[9].clone().with_personal_details(forged, serde_json::json!({ "email": "b@example.com" }));

    let outcomes = record_concurrently(&batcher, events).await;

    assert!(outcomes[3].is_ok(), "{:?}", outcomes[3]);
    assert!(outcomes[9].is_err(), "an event that cannot be sealed is not written");
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 19);
    assert_eq!(h.audit_rows().await, 19);
    let keys = "SELECT COUNT(*) AS n FROM subject_key WHERE org_id = $1 AND subject_id = $2";
    let created = count(conn, keys, [org.as_uuid(), subject.as_uuid()].map(Value::from)).await.unwrap();
    assert_eq!(created, 1, "the subject's key was created in the batch's transaction");
}

#[tokio::test]
async fn the_writer_drains_its_queue_and_exits_when_the_last_handle_drops() {
    let h = Harness::new().await;
    let org = OrgId::new();
    let batcher = h.batcher();
    let exited = batcher.exited();
    let mut tasks = JoinSet::new();
    for n in 0..100 {
        let batcher = batcher.clone();
        let event = h.event(org, n);
        tasks.spawn(async move { batcher.record(event).await });
    }
    drop(batcher);

    tokio::time::timeout(HANG_GUARD, exited).await.expect("the writer exits once every handle is gone");
    let outcomes = tasks.join_all().await;
    assert!(outcomes.iter().all(Result::is_ok), "queued events were written before the exit");
    assert_eq!(h.audit_rows().await, 100);
}

#[tokio::test]
async fn recording_after_the_writer_is_gone_is_an_internal_error() {
    let h = Harness::new().await;
    // The writer runs on a runtime that is shut down before it is ever driven.
    let stopped = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let batcher = {
        let _inside = stopped.enter();
        h.batcher()
    };
    stopped.shutdown_background();

    let err = batcher.record(h.event(OrgId::new(), 0)).await.unwrap_err();
    assert!(matches!(err, Error::Internal { .. }), "{err:?}");
    tokio::time::timeout(HANG_GUARD, batcher.exited()).await.expect("a stopped writer counts as exited");
    assert_eq!(h.audit_rows().await, 0);
}

#[tokio::test]
async fn a_database_failure_fails_every_waiter_of_the_batch_and_writes_nothing() {
    let h = Harness::new().await;
    let org = OrgId::new();
    let batcher = h.batcher();
    let conn = h.db.conn();
    execute(conn, "ALTER TABLE outbox_event RENAME TO outbox_event_away", []).await.unwrap();

    let outcomes = record_concurrently(&batcher, (0..30).map(|n| h.event(org, n)).collect()).await;

    assert!(outcomes.iter().all(Result::is_err), "no waiter is told its event was written");
    execute(conn, "ALTER TABLE outbox_event_away RENAME TO outbox_event", []).await.unwrap();
    assert_eq!(h.audit_rows().await, 0);
    assert_eq!(batcher.stats(), BatcherStats::default());
    // The writer carries on with the next batch.
    batcher.record(h.event(org, 30)).await.unwrap();
    assert_eq!(h.audit_rows().await, 1);
}

#[tokio::test]
async fn a_batch_too_large_for_one_statement_still_commits_all_or_nothing() {
    let h = Harness::new().await;
    let org = OrgId::new();
    let batcher = h.batcher();
    // A trigger refuses one event's row; it goes last, so it lands in a later statement of the
    // batch than the others (20 events of ~1 KiB: past the statement byte budget).
    let refuse = match h.database().engine() {
        listone_core::Engine::Sqlite => vec![
            "CREATE TRIGGER refuse_marked BEFORE INSERT ON outbox_event WHEN NEW.payload LIKE '%refuse-me%' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ],
        listone_core::Engine::Postgres => vec![
            "CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.payload::text LIKE '%refuse-me%' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_marked BEFORE INSERT ON outbox_event FOR EACH ROW EXECUTE FUNCTION refuse_marked()",
        ],
    };
    for sql in refuse {
        execute(h.db.conn(), sql, []).await.unwrap();
    }
    let big =
        |n: usize, mark: &str| h.event(org, n).with_details(serde_json::json!({ "n": n, "text": mark.repeat(1000) }));
    let mut events: Vec<AuditEvent> = (0..19).map(|n| big(n, "x")).collect();
    events.push(big(19, "refuse-me "));

    let outcomes = record_concurrently(&batcher, events).await;

    assert!(outcomes.iter().all(Result::is_err), "no waiter is told its event was written");
    assert_eq!(h.audit_rows().await, 0, "the statements before the refused one rolled back too");
    let outcomes = record_concurrently(&batcher, (0..20).map(|n| big(n, "x")).collect()).await;
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(h.audit_rows().await, 20);
}

/// The audit outbox rows: (event id, details) of each.
async fn audit_details(h: &Harness) -> Vec<(uuid::Uuid, serde_json::Value)> {
    use sea_orm::ConnectionTrait as _;
    let conn = h.db.conn();
    let sql = "SELECT id, payload FROM outbox_event WHERE topic = $1";
    let stmt = listone_core::db::statement(conn.get_database_backend(), sql, [Value::from(AUDIT_TOPIC)]);
    let rows = conn.query_all_raw(stmt).await.unwrap();
    rows.iter()
        .map(|row| {
            let payload: serde_json::Value = row.try_get("", "payload").unwrap();
            let details = serde_json::from_str(payload["details"].as_str().unwrap()).unwrap();
            (row.try_get("", "id").unwrap(), details)
        })
        .collect()
}

#[tokio::test]
async fn grouped_calls_share_one_entry_per_batch_and_every_call_is_listed_once() {
    let h = Harness::new().await;
    let org = OrgId::new();
    let batcher = h.batcher();
    let mut tasks = JoinSet::new();
    for n in 0..300 {
        let (batcher, event) = (batcher.clone(), h.event(org, 0));
        tasks.spawn(async move { (n, batcher.record_grouped(event, serde_json::json!({ "jti": n })).await) });
    }
    let outcomes = tokio::time::timeout(HANG_GUARD, tasks.join_all()).await.expect("writer hung");

    let entries = audit_details(&h).await;
    assert!(entries.len() < 300, "calls shared entries: {} entries", entries.len());
    assert!(entries.len() >= 300 / listone_audit::batcher::group::MAX_GROUP_ITEMS, "an entry lists at most 64 calls");
    let mut listed = Vec::new();
    for (id, details) in &entries {
        assert_eq!(details["n"], 0, "the shared details are kept");
        let items = details["items"].as_array().unwrap();
        assert_eq!(details["count"], items.len());
        listed.extend(items.iter().map(|item| (item["jti"].as_i64().unwrap(), *id)));
    }
    listed.sort();
    assert_eq!(listed.iter().map(|(n, _)| *n).collect::<Vec<_>>(), (0..300).collect::<Vec<_>>());
    for (n, outcome) in outcomes {
        let id = outcome.unwrap();
        assert_eq!(listed[n as usize].1, id.as_uuid(), "call {n} is answered with the entry listing it");
    }
    assert_eq!(batcher.stats().events, 300, "the writer counts calls, not entries");
}

#[tokio::test]
async fn a_grouped_call_that_differs_or_fails_validation_gets_its_own_answer() {
    let h = Harness::new().await;
    let org = OrgId::new();
    let batcher = h.batcher();
    let mut bad = h.event(org, 0);
    bad.action = String::new();
    let other = h.event(org, 1);
    let (good, refused, alone) = tokio::join!(
        batcher.record_grouped(h.event(org, 0), serde_json::json!({ "jti": "a" })),
        batcher.record_grouped(bad, serde_json::json!({ "jti": "b" })),
        batcher.record_grouped(other, serde_json::json!({ "jti": "c" })),
    );

    let Err(Error::InvalidArgument { violations }) = refused else { panic!("{refused:?}") };
    assert_eq!(violations[0].field, "action");
    assert_ne!(good.unwrap(), alone.unwrap(), "other details, another entry");
    let entries = audit_details(&h).await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|(_, d)| d["count"] == 1), "{entries:?}");
}
