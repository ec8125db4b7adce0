//! The transactional outbox on a real database: events commit and roll back with the change,
//! survive restarts, are retried on the clock, and drain on shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use listone_core::outbox::{self, Dispatcher, DispatcherConfig, EventSink, NewEvent, OutboxEvent, SinkError};
use listone_core::{Clock, EventId, OrgId, SharedClock, TestClock};
use listone_testkit::{TestDatabase, TestServer, TestServerOptions};
use sea_orm::ConnectionTrait;

/// Records what it is given; fails the first `failures` calls; takes one topic or all.
#[derive(Debug)]
struct RecordingSink {
    name: &'static str,
    seen: Mutex<Vec<EventId>>,
    failures: Mutex<u32>,
    topic: Option<&'static str>,
}

impl RecordingSink {
    fn new(name: &'static str, failures: u32) -> Arc<Self> {
        Arc::new(Self { name, seen: Mutex::new(Vec::new()), failures: Mutex::new(failures), topic: None })
    }
    fn taking(name: &'static str, failures: u32, topic: &'static str) -> Arc<Self> {
        Arc::new(Self { name, seen: Mutex::new(Vec::new()), failures: Mutex::new(failures), topic: Some(topic) })
    }
    fn seen(&self) -> Vec<EventId> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl EventSink for RecordingSink {
    fn name(&self) -> &str {
        self.name
    }
    fn accepts(&self, topic: &str) -> bool {
        self.topic.is_none_or(|t| t == topic)
    }
    async fn deliver(&self, events: &[OutboxEvent]) -> Result<(), SinkError> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(SinkError("consumer offline".into()));
        }
        self.seen.lock().unwrap().extend(events.iter().map(|e| e.id));
        Ok(())
    }
}

fn event(org: OrgId, n: u32) -> NewEvent {
    NewEvent::new(Some(org), "test.thing.changed", serde_json::json!({ "n": n }))
}

fn dispatcher(db: &TestDatabase, clock: &TestClock, sinks: Vec<Arc<dyn EventSink>>) -> Dispatcher {
    let clock: SharedClock = Arc::new(clock.clone());
    Dispatcher::new(db.database().clone(), clock, sinks, DispatcherConfig::default())
}

async fn scratch_table(db: &TestDatabase) {
    db.database().conn().execute_unprepared("CREATE TABLE scratch_change (id VARCHAR(64) PRIMARY KEY)").await.unwrap();
}

async fn count(db: &TestDatabase, table: &str) -> i64 {
    listone_core::db::count(db.database().conn(), &format!("SELECT COUNT(*) AS n FROM {table}"), []).await.unwrap()
}

#[tokio::test]
async fn event_commits_with_the_change_and_rolls_back_with_it() {
    let db = TestDatabase::create().await;
    scratch_table(&db).await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();

    let txn = db.database().begin().await.unwrap();
    listone_core::db::execute(&txn, "INSERT INTO scratch_change (id) VALUES ($1)", ["a".into()]).await.unwrap();
    outbox::enqueue(&txn, &clock, event(org, 1)).await.unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(count(&db, "scratch_change").await, 0);
    assert_eq!(count(&db, "outbox_event").await, 0, "a rolled-back change leaves no event");

    let txn = db.database().begin().await.unwrap();
    listone_core::db::execute(&txn, "INSERT INTO scratch_change (id) VALUES ($1)", ["b".into()]).await.unwrap();
    let id = outbox::enqueue(&txn, &clock, event(org, 2)).await.unwrap();
    txn.commit().await.unwrap();

    let sink = RecordingSink::new("audit", 0);
    let report = dispatcher(&db, &clock, vec![sink.clone()]).drain().await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(sink.seen(), vec![id], "the event id is the idempotency key");
}

#[tokio::test]
async fn many_large_events_are_written_in_several_statements_all_or_nothing_and_in_order() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();
    // 150 events of about 1 KiB: past the rows one insert takes and past its byte budget.
    let big = |n: u32| {
        NewEvent::new(Some(org), "test.thing.changed", serde_json::json!({ "n": n, "text": "x".repeat(1000) }))
    };
    const { assert!(150 > outbox::MAX_ROWS_PER_INSERT && 150 * 1000 > 2 * listone_core::db::MAX_STATEMENT_BYTES) };

    let txn = db.database().begin().await.unwrap();
    outbox::enqueue_all(&txn, &clock, (0..150).map(big).collect()).await.unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(count(&db, "outbox_event").await, 0, "every statement rolls back with the change");

    let txn = db.database().begin().await.unwrap();
    let ids = outbox::enqueue_all(&txn, &clock, (0..150).map(big).collect()).await.unwrap();
    txn.commit().await.unwrap();
    let sink = RecordingSink::new("audit", 0);
    dispatcher(&db, &clock, vec![sink.clone()]).drain().await.unwrap();
    assert_eq!(sink.seen(), ids, "every event, once, in the order given");
    let stored: i64 = listone_core::db::count(
        db.database().conn(),
        "SELECT COUNT(*) AS n FROM outbox_event WHERE topic = $1",
        ["test.thing.changed".into()],
    )
    .await
    .unwrap();
    assert_eq!(stored, 150);
}

#[tokio::test]
async fn undelivered_events_survive_a_restart_and_arrive_in_order_once() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(outbox::enqueue(db.database().conn(), &clock, event(org, n)).await.unwrap());
    }
    // A dispatcher that never ran (the process died) loses nothing.
    drop(dispatcher(&db, &clock, vec![RecordingSink::new("audit", 0)]));

    let sink = RecordingSink::new("audit", 0);
    let restarted = dispatcher(&db, &clock, vec![sink.clone()]);
    restarted.drain().await.unwrap();
    assert_eq!(sink.seen(), ids);
    // Delivered events are not offered again, also after another restart.
    let again = dispatcher(&db, &clock, vec![sink.clone()]);
    assert_eq!(again.drain().await.unwrap().delivered, 0);
    assert_eq!(sink.seen().len(), 5);
}

#[tokio::test]
async fn failed_delivery_is_retried_after_backoff_on_the_clock() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let id = outbox::enqueue(db.database().conn(), &clock, event(OrgId::new(), 1)).await.unwrap();
    let sink = RecordingSink::new("automation", 1);
    let d = dispatcher(&db, &clock, vec![sink.clone()]);

    let first = d.dispatch_once().await.unwrap();
    assert_eq!((first.delivered, first.failed), (0, 1));
    let too_soon = d.dispatch_once().await.unwrap();
    assert_eq!((too_soon.delivered, too_soon.failed), (0, 0), "waits out its backoff");
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(d.dispatch_once().await.unwrap().delivered, 1);
    assert_eq!(sink.seen(), vec![id]);
}

#[tokio::test]
async fn each_sink_progresses_independently() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    outbox::enqueue(db.database().conn(), &clock, event(OrgId::new(), 1)).await.unwrap();
    let healthy = RecordingSink::new("audit", 0);
    let broken = RecordingSink::new("automation", 100);
    let d = dispatcher(&db, &clock, vec![healthy.clone(), broken.clone()]);
    let report = d.dispatch_once().await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 1));
    assert_eq!(healthy.seen().len(), 1);
    assert!(broken.seen().is_empty());
}

#[tokio::test]
async fn a_poison_event_is_parked_after_max_attempts() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    outbox::enqueue(db.database().conn(), &clock, event(OrgId::new(), 1)).await.unwrap();
    let sink = RecordingSink::new("audit", u32::MAX);
    let config = DispatcherConfig { max_attempts: 3, ..DispatcherConfig::default() };
    let shared: SharedClock = Arc::new(clock.clone());
    let d = Dispatcher::new(db.database().clone(), shared, vec![sink.clone()], config);
    for _ in 0..3 {
        assert_eq!(d.dispatch_once().await.unwrap().failed, 1);
        clock.advance(chrono::Duration::hours(2));
    }
    assert_eq!(d.dispatch_once().await.unwrap(), Default::default(), "parked events are not offered again");
}

#[tokio::test]
async fn delivered_events_are_pruned_after_retention_but_pending_ones_are_kept() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();
    outbox::enqueue(db.database().conn(), &clock, event(org, 1)).await.unwrap();
    let audit = RecordingSink::new("audit", 0);
    let automation = RecordingSink::new("automation", 100);
    let d = dispatcher(&db, &clock, vec![audit.clone(), automation.clone()]);
    d.dispatch_once().await.unwrap();
    clock.advance(chrono::Duration::days(2));
    assert_eq!(d.prune().await.unwrap(), 0, "automation has not taken it yet");

    let only_audit = dispatcher(&db, &clock, vec![audit.clone()]);
    assert_eq!(only_audit.prune().await.unwrap(), 1);
    assert_eq!(count(&db, "outbox_event").await, 0);
    assert_eq!(count(&db, "outbox_delivery").await, 0);
}

#[tokio::test]
async fn bad_events_are_refused_and_nothing_is_written() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let mut bad = event(OrgId::new(), 1);
    bad.topic = String::new();
    bad.payload = serde_json::json!({ "blob": "x".repeat(300 * 1024) });
    let err = outbox::enqueue(db.database().conn(), &clock, bad).await.unwrap_err();
    let listone_core::Error::InvalidArgument { violations } = err else { panic!("expected invalid argument") };
    let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["topic", "payload"], "every problem reported at once");
    assert_eq!(count(&db, "outbox_event").await, 0);
}

#[tokio::test]
async fn server_shutdown_drains_the_outbox() {
    let sink = RecordingSink::new("audit", 0);
    let options = TestServerOptions {
        sinks: vec![sink.clone()],
        // Never polls on its own: only the shutdown drain can deliver.
        dispatcher: DispatcherConfig { poll_interval: Duration::from_secs(3600), ..DispatcherConfig::default() },
        ..Default::default()
    };
    let server = TestServer::start_with(options).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let clock = server.clock().clone();
    let id = outbox::enqueue(server.db().conn(), &clock, event(OrgId::new(), 1)).await.unwrap();
    assert!(clock.now() <= chrono::Utc::now());
    assert!(sink.seen().is_empty());
    server.shutdown().await;
    assert_eq!(sink.seen(), vec![id]);
}

#[tokio::test]
async fn a_backlog_is_delivered_batch_after_batch_without_waiting_for_the_poll() {
    let sink = RecordingSink::new("mirror", 0);
    let options = TestServerOptions {
        sinks: vec![sink.clone()],
        // Polls once at start, then never on its own: only a backlog keeps it going.
        dispatcher: DispatcherConfig {
            poll_interval: Duration::from_secs(3600),
            batch_size: 2,
            ..DispatcherConfig::default()
        },
        ..Default::default()
    };
    let server = TestServer::start_with(options).await;
    let clock = server.clock().clone();
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(event(OrgId::new(), n));
    }
    let ids = outbox::enqueue_all(server.db().conn(), &clock, ids).await.unwrap();
    // The first pass may have run before the events were written; one wake starts the backlog.
    server.ctx().outbox.wake();
    let delivered = async {
        while sink.seen().len() < ids.len() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    // A guard against a hang, not a timing assertion: the poll alone would take an hour a batch.
    tokio::time::timeout(Duration::from_secs(60), delivered).await.expect("the backlog is delivered");
    let mut seen = sink.seen();
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected);
    server.shutdown().await;
}

/// The events a dispatch pass still looks at.
async fn pending(db: &TestDatabase) -> i64 {
    listone_core::db::count(db.database().conn(), "SELECT COUNT(*) AS n FROM outbox_event WHERE pending", [])
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_stays_pending_until_every_sink_delivered_or_parked_it() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    for n in 0..3 {
        outbox::enqueue(db.database().conn(), &clock, event(OrgId::new(), n)).await.unwrap();
    }
    let audit = RecordingSink::new("audit", 0);
    let automation = RecordingSink::new("automation", 1);
    let config = DispatcherConfig { max_attempts: 2, ..DispatcherConfig::default() };
    let shared: SharedClock = Arc::new(clock.clone());
    let d = Dispatcher::new(db.database().clone(), shared, vec![audit.clone(), automation.clone()], config);
    assert_eq!(pending(&db).await, 3);

    d.dispatch_once().await.unwrap();
    assert_eq!(pending(&db).await, 3, "automation refused them: still pending");
    clock.advance(chrono::Duration::hours(2));
    d.dispatch_once().await.unwrap();
    assert_eq!(pending(&db).await, 0, "both sinks have them now");
    assert_eq!((audit.seen().len(), automation.seen().len()), (3, 3));
    assert_eq!(d.dispatch_once().await.unwrap(), Default::default(), "settled events are not looked at again");

    // A poison event parked as dead for its only sink is settled too.
    outbox::enqueue(db.database().conn(), &clock, event(OrgId::new(), 9)).await.unwrap();
    let broken = RecordingSink::new("audit", u32::MAX);
    let shared: SharedClock = Arc::new(clock.clone());
    let config = DispatcherConfig { max_attempts: 1, ..DispatcherConfig::default() };
    let d = Dispatcher::new(db.database().clone(), shared, vec![broken], config);
    assert_eq!(d.dispatch_once().await.unwrap().failed, 1);
    assert_eq!(pending(&db).await, 0);
}

#[tokio::test]
async fn a_sink_reaches_new_events_past_a_backlog_another_sink_keeps_pending() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(outbox::enqueue(db.database().conn(), &clock, event(org, n)).await.unwrap());
    }
    let audit = RecordingSink::new("audit", 0);
    let automation = RecordingSink::new("automation", u32::MAX);
    let config = DispatcherConfig { batch_size: 2, ..DispatcherConfig::default() };
    let shared: SharedClock = Arc::new(clock.clone());
    let d = Dispatcher::new(db.database().clone(), shared, vec![audit.clone(), automation.clone()], config);
    for _ in 0..3 {
        d.dispatch_once().await.unwrap();
    }
    assert_eq!(audit.seen(), ids, "audit got all five, two per pass, in order");
    assert_eq!(pending(&db).await, 5, "automation is backing off: all still pending");

    // Three more pages of backlog the audit sink is done with lie before the new events.
    for n in 5..8 {
        ids.push(outbox::enqueue(db.database().conn(), &clock, event(org, n)).await.unwrap());
    }
    let report = d.dispatch_once().await.unwrap();
    assert_eq!(report.delivered, 2, "a full batch of new events, past the five it had");
    d.dispatch_once().await.unwrap();
    assert_eq!(audit.seen(), ids, "each event once, in id order");
    assert_eq!(d.dispatch_once().await.unwrap().delivered, 0, "nothing due for audit; automation still backing off");
    assert!(automation.seen().is_empty());
}

fn topical(org: OrgId, topic: &str) -> NewEvent {
    NewEvent::new(Some(org), topic, serde_json::json!({}))
}

#[tokio::test]
async fn a_sink_gets_only_its_topics_and_events_nobody_takes_are_settled_without_delivery() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();
    let entry = outbox::enqueue(db.database().conn(), &clock, topical(org, "test.entry")).await.unwrap();
    for _ in 0..2 {
        outbox::enqueue(db.database().conn(), &clock, topical(org, "test.thing.changed")).await.unwrap();
    }
    let log = RecordingSink::taking("log", 0, "test.entry");
    let d = dispatcher(&db, &clock, vec![log.clone()]);

    let report = d.dispatch_once().await.unwrap();
    assert_eq!((report.delivered, report.skipped), (1, 2));
    assert_eq!(log.seen(), vec![entry], "the change events were not handed over");
    assert_eq!(pending(&db).await, 0, "all three settled");
    assert_eq!(count(&db, "outbox_delivery").await, 0, "settled in the delivering transaction: no rows kept");
    assert_eq!(d.dispatch_once().await.unwrap(), Default::default());

    clock.advance(chrono::Duration::days(2));
    let fresh = outbox::enqueue(db.database().conn(), &clock, topical(org, "test.thing.changed")).await.unwrap();
    assert_eq!(d.dispatch_once().await.unwrap().skipped, 1);
    assert_eq!(d.prune().await.unwrap(), 3, "settled events are pruned after retention, delivered or not");
    let left = "SELECT COUNT(*) AS n FROM outbox_event WHERE id = $1";
    let kept = listone_core::db::count(db.database().conn(), left, [fresh.as_uuid().into()]).await.unwrap();
    assert_eq!((count(&db, "outbox_event").await, kept), (1, 1), "a settled event younger than the retention stays");
}

#[tokio::test]
async fn an_event_two_sinks_take_waits_for_both_while_one_nobody_else_takes_does_not() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();
    let entry = outbox::enqueue(db.database().conn(), &clock, topical(org, "test.entry")).await.unwrap();
    let change = outbox::enqueue(db.database().conn(), &clock, topical(org, "test.thing.changed")).await.unwrap();
    let log = RecordingSink::taking("log", 0, "test.entry");
    let automation = RecordingSink::new("automation", 1);
    let d = dispatcher(&db, &clock, vec![log.clone(), automation.clone()]);

    let report = d.dispatch_once().await.unwrap();
    assert_eq!((report.delivered, report.failed, report.skipped), (1, 2, 0));
    assert_eq!(pending(&db).await, 2, "automation takes both and has neither yet");
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(d.dispatch_once().await.unwrap().delivered, 2);
    assert_eq!(pending(&db).await, 0, "the entry once both had it, the change once automation had it");
    assert_eq!((log.seen(), automation.seen()), (vec![entry], vec![entry, change]));
    assert_eq!(d.dispatch_once().await.unwrap(), Default::default(), "nothing is offered twice");
}

#[tokio::test]
async fn events_nobody_takes_do_not_hold_back_the_ones_a_sink_takes() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    let org = OrgId::new();
    for _ in 0..5 {
        outbox::enqueue(db.database().conn(), &clock, topical(org, "test.thing.changed")).await.unwrap();
    }
    let entry = outbox::enqueue(db.database().conn(), &clock, topical(org, "test.entry")).await.unwrap();
    let log = RecordingSink::taking("log", 0, "test.entry");
    let config = DispatcherConfig { batch_size: 2, ..DispatcherConfig::default() };
    let shared: SharedClock = Arc::new(clock.clone());
    let d = Dispatcher::new(db.database().clone(), shared, vec![log.clone()], config);
    let report = d.drain().await.unwrap();
    assert_eq!((report.delivered, report.skipped), (1, 5), "drained past pages of skipped events");
    assert_eq!(log.seen(), vec![entry]);
    assert_eq!(pending(&db).await, 0);
}

#[tokio::test]
async fn an_event_delivered_after_a_failure_is_recorded_delivered_though_no_other_sink_takes_it() {
    let db = TestDatabase::create().await;
    let clock = TestClock::starting_now();
    outbox::enqueue(db.database().conn(), &clock, topical(OrgId::new(), "test.entry")).await.unwrap();
    let log = RecordingSink::taking("log", 1, "test.entry");
    let d = dispatcher(&db, &clock, vec![log.clone()]);
    assert_eq!(d.dispatch_once().await.unwrap().failed, 1);
    let undelivered = "SELECT COUNT(*) AS n FROM outbox_delivery WHERE delivered_at IS NULL";
    assert_eq!(listone_core::db::count(db.database().conn(), undelivered, []).await.unwrap(), 1);

    clock.advance(chrono::Duration::hours(1));
    assert_eq!(d.dispatch_once().await.unwrap().delivered, 1);
    assert_eq!(pending(&db).await, 0);
    assert_eq!(
        listone_core::db::count(db.database().conn(), undelivered, []).await.unwrap(),
        0,
        "the failure's row now says delivered"
    );
}
