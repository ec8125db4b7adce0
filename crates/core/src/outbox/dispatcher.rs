//! Delivers outbox events to sinks: at least once, in id order per sink, with backoff on failure.
//!
//! A pass looks only at events still `pending` (partial index): an event stops being pending
//! once every sink of the dispatcher delivered it or parked it as dead, so a pass costs the
//! backlog, not the day of delivered events kept for pruning. A sink added later therefore
//! receives events from when it joins, not the retained history.
//!
//! A sink takes only the topics it [accepts](EventSink::accepts). Events of a topic no sink
//! takes are settled as the dispatcher comes across them, with no delivery rows: the
//! all-in-one server's only sink is the audit log, which takes `audit.entry` events alone, so
//! a change event costs one update instead of two delivery rows and a probe.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Value};
use tokio::sync::Notify;

use super::{EventSink, OutboxEvent};
use crate::clock::SharedClock;
use crate::db::{self, Database};
use crate::error::Error;
use crate::ids::EventId;

/// Pending events, oldest first (the partial index `outbox_event_pending`).
const PENDING_EVENTS: &str =
    "SELECT e.id, e.org_id, e.topic, e.payload, e.request_id, e.created_at FROM outbox_event e WHERE e.pending";

/// Tuning of the dispatcher.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// How often to look for events when nobody wakes the dispatcher.
    pub poll_interval: Duration,
    /// Events handed to a sink in one call.
    pub batch_size: u64,
    /// Attempts before an event is parked as dead for a sink (and a warning logged).
    pub max_attempts: i32,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// How long delivered events are kept before pruning.
    pub retain_delivered: chrono::Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(200),
            batch_size: 256,
            max_attempts: 20,
            max_backoff: Duration::from_secs(3600),
            retain_delivered: chrono::Duration::days(1),
        }
    }
}

/// What one dispatch pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    /// Events accepted by a sink (counted once per sink).
    pub delivered: u64,
    /// Events a sink refused this pass (to be retried).
    pub failed: u64,
    /// Events no sink takes, settled without delivery.
    pub skipped: u64,
    /// A sink's page of events was full: more may be waiting for it.
    pub full: bool,
}

/// What one sink has to do in a pass.
#[derive(Debug, Default)]
struct Due {
    /// Events to hand it, in id order.
    events: Vec<OutboxEvent>,
    /// Pending events of topics no sink takes, met on the way.
    unwanted: Vec<OutboxEvent>,
    /// Those of `events` the sink failed before: their delivery rows are to be updated.
    retried: HashSet<EventId>,
}

/// This sink's delivery rows for a page of events.
#[derive(Debug, Default)]
struct DeliveryState {
    /// Delivered, parked as dead, or backing off: not to be handed over now.
    not_due: HashSet<EventId>,
    /// Failed before and due again.
    retried: HashSet<EventId>,
}

/// Lets writers wake the dispatcher right after they commit, instead of waiting for the poll.
#[derive(Debug, Clone, Default)]
pub struct OutboxWaker(Arc<Notify>);

impl OutboxWaker {
    /// Signals that new events were committed.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// The delivery loop.
#[derive(Debug)]
pub struct Dispatcher {
    db: Database,
    clock: SharedClock,
    sinks: Vec<Arc<dyn EventSink>>,
    config: DispatcherConfig,
    waker: OutboxWaker,
}

impl Dispatcher {
    /// A dispatcher over `db` delivering to `sinks`.
    pub fn new(db: Database, clock: SharedClock, sinks: Vec<Arc<dyn EventSink>>, config: DispatcherConfig) -> Self {
        Self { db, clock, sinks, config, waker: OutboxWaker::default() }
    }

    /// A handle writers use to wake this dispatcher.
    pub fn waker(&self) -> OutboxWaker {
        self.waker.clone()
    }

    /// Runs until `shutdown` resolves, then drains what is pending (bounded by `drain_budget`).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>, drain_budget: Duration) {
        tokio::pin!(shutdown);
        let mut last_prune = self.clock.now();
        loop {
            let backlog = match self.dispatch_once().await {
                Ok(pass) => pass.full,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox dispatch pass failed; will retry");
                    false
                }
            };
            if self.clock.now() - last_prune > chrono::Duration::minutes(10) {
                last_prune = self.clock.now();
                if let Err(err) = self.prune().await {
                    tracing::warn!(error = %err, "outbox prune failed");
                }
            }
            if backlog {
                // A full batch: deliver the next one at once. Waiting a poll interval after every
                // batch would cap delivery at `batch_size` events per interval (1,280/s by
                // default), below what writers commit under load, so the audit log would fall
                // ever further behind.
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::task::yield_now() => continue,
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.waker.0.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        match tokio::time::timeout(drain_budget, self.drain()).await {
            Ok(Ok(report)) => tracing::info!(delivered = report.delivered, "outbox drained"),
            Ok(Err(err)) => tracing::warn!(error = %err, "outbox drain stopped early"),
            Err(_) => tracing::warn!("outbox drain ran out of time; undelivered events go out on next start"),
        }
    }

    /// Delivers until no sink has a deliverable event left (events in backoff are left).
    pub async fn drain(&self) -> Result<DispatchReport, Error> {
        let mut total = DispatchReport::default();
        loop {
            let pass = self.dispatch_once().await?;
            total.delivered += pass.delivered;
            total.failed += pass.failed;
            total.skipped += pass.skipped;
            if pass.delivered == 0 && pass.skipped == 0 {
                return Ok(total);
            }
        }
    }

    /// One pass: for every sink, one batch of due events.
    pub async fn dispatch_once(&self) -> Result<DispatchReport, Error> {
        let mut report = DispatchReport::default();
        for sink in &self.sinks {
            let now = self.clock.now();
            let Due { events: batch, unwanted, retried } = self.due_events(sink.as_ref(), now).await?;
            report.full |= (batch.len() + unwanted.len()) as u64 >= self.config.batch_size.max(1);
            report.skipped += unwanted.len() as u64;
            if batch.is_empty() {
                // One statement (no sink takes them: settled by id), atomic on its own.
                self.settle(self.db.conn(), &unwanted, None).await?;
                continue;
            }
            match sink.deliver(&batch).await {
                Ok(()) => {
                    self.mark_delivered(sink.name(), &batch, &unwanted, &retried, now).await?;
                    report.delivered += batch.len() as u64;
                }
                Err(err) => {
                    tracing::warn!(sink = sink.name(), events = batch.len(), error = %err, "sink refused events; backing off");
                    self.mark_failed(sink.name(), &batch, &unwanted, now, &err.0).await?;
                    report.failed += batch.len() as u64;
                }
            }
        }
        Ok(report)
    }

    /// The next events (in id order, at most `batch_size`) `sink` takes and has neither delivered,
    /// parked as dead, nor is backing off from; and the pending events no sink takes met on the
    /// way (counted against the same limit, so a pass stays bounded however many there are).
    ///
    /// Two index lookups per page instead of one anti-join: the pending events in id order (the
    /// partial index), then this sink's delivery rows for exactly those ids (the primary key). An
    /// anti-join's plan rests on statistics; measured on PostgreSQL under load with statistics
    /// taken while the outbox was empty, it became a nested loop over every delivery row of the
    /// sink for each pending event (0.4 to 1.2 s per pass, growing with the retained deliveries),
    /// so the dispatcher alone kept a core busy. Pages after the first are read only when
    /// another sink keeps events pending that this one is done with.
    async fn due_events(&self, sink: &dyn EventSink, now: DateTime<Utc>) -> Result<Due, Error> {
        let conn = self.db.conn();
        let backend = conn.get_database_backend();
        let limit = self.config.batch_size.max(1);
        let mut due = Due::default();
        let mut after: Option<EventId> = None;
        loop {
            let (sql, values) = match after {
                None => (format!("{PENDING_EVENTS} ORDER BY e.id LIMIT $1"), vec![Value::from(limit as i64)]),
                Some(id) => (
                    format!("{PENDING_EVENTS} AND e.id > $2 ORDER BY e.id LIMIT $1"),
                    vec![Value::from(limit as i64), Value::from(id.as_uuid())],
                ),
            };
            let page = conn
                .query_all_raw(db::statement(backend, &sql, values))
                .await?
                .iter()
                .map(OutboxEvent::from_row)
                .collect::<Result<Vec<_>, _>>()?;
            let Some(last) = page.last().map(|e| e.id) else { break };
            let full_page = page.len() as u64 == limit;
            let mut taken = Vec::with_capacity(page.len());
            for event in page {
                if sink.accepts(&event.topic) {
                    taken.push(event);
                } else if !self.sinks.iter().any(|s| s.accepts(&event.topic)) {
                    due.unwanted.push(event);
                }
            }
            let state = self.delivery_state(sink.name(), &taken, now).await?;
            due.events.extend(taken.into_iter().filter(|e| !state.not_due.contains(&e.id)));
            due.retried.extend(state.retried);
            if (due.events.len() + due.unwanted.len()) as u64 >= limit || !full_page {
                break;
            }
            after = Some(last);
        }
        due.events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(due)
    }

    /// What `consumer`'s delivery rows say of the events of `page`: those it delivered, parked as
    /// dead, or retries only later, and those it failed before that are due again.
    async fn delivery_state(
        &self,
        consumer: &str,
        page: &[OutboxEvent],
        now: DateTime<Utc>,
    ) -> Result<DeliveryState, Error> {
        let mut found = DeliveryState::default();
        if page.is_empty() {
            return Ok(found);
        }
        let conn = self.db.conn();
        let sql = format!(
            "SELECT event_id, CASE WHEN delivered_at IS NOT NULL OR dead_at IS NOT NULL OR next_attempt_at > $2 \
             THEN 1 ELSE 0 END AS blocked FROM outbox_delivery WHERE consumer = $1 AND event_id IN ({})",
            marks(3, page.len())
        );
        let mut values = vec![Value::from(consumer.to_owned()), Value::from(now)];
        values.extend(page.iter().map(|e| Value::from(e.id.as_uuid())));
        for row in conn.query_all_raw(db::statement(conn.get_database_backend(), &sql, values)).await? {
            let id = EventId::from_uuid(row.try_get("", "event_id")?);
            if row.try_get::<i32>("", "blocked")? == 1 {
                found.not_due.insert(id);
            } else {
                found.retried.insert(id);
            }
        }
        Ok(found)
    }

    async fn mark_delivered(
        &self,
        consumer: &str,
        batch: &[OutboxEvent],
        unwanted: &[OutboxEvent],
        retried: &HashSet<EventId>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let txn = self.db.begin().await?;
        // A delivery row is what another sink's settling counts. An event no other sink takes is
        // settled below in this same transaction and never looked at again, so it needs none
        // (the all-in-one server writes no delivery rows at all while nothing fails), unless an
        // earlier failure left one, which must not go on saying the event is undelivered.
        let rows: Vec<Vec<Value>> = batch
            .iter()
            .filter(|event| {
                retried.contains(&event.id)
                    || self.sinks.iter().any(|s| s.name() != consumer && s.accepts(&event.topic))
            })
            .map(|event| {
                vec![
                    Value::from(consumer.to_owned()),
                    Value::from(event.id.as_uuid()),
                    Value::from(1i32),
                    Value::from(now),
                    Value::from(now),
                ]
            })
            .collect();
        // One statement per pass, not one per event.
        if !rows.is_empty() {
            db::insert_many_then(
                &txn,
                "outbox_delivery",
                &["consumer", "event_id", "attempts", "next_attempt_at", "delivered_at"],
                rows,
                "ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = outbox_delivery.attempts + 1, \
             delivered_at = excluded.delivered_at, last_error = NULL",
            )
            .await?;
        }
        // Events no sink takes fall in the same group as those only `consumer` takes: one statement.
        self.settle(&txn, batch.iter().chain(unwanted), Some(consumer)).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Clears `pending` on the events of `events` every sink that takes them has now delivered or
    /// parked as dead, so later passes no longer look at them. `delivered_by`: the sink that
    /// delivered all of `events` in this transaction, so its rows need not be counted.
    ///
    /// Events are grouped by the other sinks that take them. An event no other sink takes is
    /// settled by id alone, the case of the all-in-one server, whose only sink is the audit log;
    /// the others only where those sinks' delivery rows say so.
    async fn settle<C: ConnectionTrait>(
        &self,
        conn: &C,
        events: impl IntoIterator<Item = &OutboxEvent>,
        delivered_by: Option<&str>,
    ) -> Result<(), Error> {
        let mut groups: BTreeMap<Vec<&str>, Vec<Value>> = BTreeMap::new();
        for event in events {
            let others = self
                .sinks
                .iter()
                .filter(|s| Some(s.name()) != delivered_by && s.accepts(&event.topic))
                .map(|s| s.name())
                .collect();
            groups.entry(others).or_default().push(Value::from(event.id.as_uuid()));
        }
        for (consumers, ids) in groups {
            let (sql, values) = if consumers.is_empty() { settle_by_id(ids) } else { settle_counted(&consumers, ids) };
            db::execute(conn, &sql, values).await?;
        }
        Ok(())
    }

    async fn mark_failed(
        &self,
        consumer: &str,
        batch: &[OutboxEvent],
        unwanted: &[OutboxEvent],
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), Error> {
        let reason: String = reason.chars().take(500).collect();
        let txn = self.db.begin().await?;
        for event in batch {
            let attempts = self.attempts(&txn, consumer, event).await? + 1;
            let next = now + chrono::Duration::from_std(backoff(attempts, self.config.max_backoff)).unwrap_or_default();
            let dead = (attempts >= self.config.max_attempts).then_some(now);
            if dead.is_some() {
                tracing::warn!(sink = consumer, event_id = %event.id, topic = %event.topic, attempts, "event parked as dead after repeated failures");
            }
            db::execute(
                &txn,
                "INSERT INTO outbox_delivery (consumer, event_id, attempts, next_attempt_at, delivered_at, dead_at, last_error) \
                 VALUES ($1, $2, $3, $4, NULL, $5, $6) \
                 ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = excluded.attempts, \
                 next_attempt_at = excluded.next_attempt_at, dead_at = excluded.dead_at, last_error = excluded.last_error",
                [
                    Value::from(consumer.to_owned()),
                    Value::from(event.id.as_uuid()),
                    Value::from(attempts),
                    Value::from(next),
                    Value::from(dead),
                    Value::from(reason.clone()),
                ],
            )
            .await?;
        }
        // An event parked as dead for its last sink is no longer pending either.
        self.settle(&txn, batch.iter().chain(unwanted), None).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn attempts<C: ConnectionTrait>(&self, conn: &C, consumer: &str, event: &OutboxEvent) -> Result<i32, Error> {
        let stmt = db::statement(
            conn.get_database_backend(),
            "SELECT attempts FROM outbox_delivery WHERE consumer = $1 AND event_id = $2",
            [Value::from(consumer.to_owned()), Value::from(event.id.as_uuid())],
        );
        Ok(match conn.query_one_raw(stmt).await? {
            Some(row) => row.try_get("", "attempts")?,
            None => 0,
        })
    }

    /// Deletes events every sink has finished with, once older than the retention window.
    pub async fn prune(&self) -> Result<u64, Error> {
        if self.sinks.is_empty() {
            return Ok(0);
        }
        let cutoff = self.clock.now() - self.config.retain_delivered;
        let txn = self.db.begin().await?;
        // Settled (every sink that took them, or none took them), or else every current sink has
        // a finished delivery row: an event a sink that has since left never delivered stays
        // pending, and the current sinks' rows are what say it is done with.
        let consumers: Vec<String> = self.sinks.iter().map(|s| s.name().to_owned()).collect();
        // The id bound lets the primary key find the old events (there is no index on
        // `created_at`): ids are UUIDv7 minted when the event is made, just before `created_at`
        // is taken. `created_at` still decides, by the clock.
        let sql = format!(
            "DELETE FROM outbox_event WHERE id < $3 AND created_at < $1 AND (NOT pending OR {} = $2)",
            finished_deliveries(4, consumers.len())
        );
        let bound = v7_floor(cutoff + chrono::Duration::minutes(1));
        let mut values = vec![Value::from(cutoff), Value::from(consumers.len() as i64), Value::from(bound)];
        values.extend(consumers.into_iter().map(Value::from));
        let pruned = db::execute(&txn, &sql, values).await?;
        db::execute(
            &txn,
            "DELETE FROM outbox_delivery WHERE NOT EXISTS (SELECT 1 FROM outbox_event e WHERE e.id = outbox_delivery.event_id)",
            [],
        )
        .await?;
        txn.commit().await?;
        Ok(pruned)
    }
}

/// The smallest UUIDv7 of the millisecond `at` (every v7 id minted at `at` or later is at
/// least this; one minted earlier is below it).
fn v7_floor(at: DateTime<Utc>) -> uuid::Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0).min((1 << 48) - 1);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    uuid::Uuid::from_bytes(bytes)
}

/// Placeholders `$first`, `$first+1`, ... (`count` of them), comma separated.
fn marks(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// How many of `count` consumers (named by parameters from `$first`) delivered the
/// `outbox_event` row at hand or parked it as dead: a correlated count of their delivery rows.
fn finished_deliveries(first: usize, count: usize) -> String {
    format!(
        "(SELECT COUNT(*) FROM outbox_delivery d WHERE d.event_id = outbox_event.id \
         AND (d.delivered_at IS NOT NULL OR d.dead_at IS NOT NULL) AND d.consumer IN ({}))",
        marks(first, count)
    )
}

/// Settles `ids` outright: no sink but the one that just delivered them takes them.
fn settle_by_id(ids: Vec<Value>) -> (String, Vec<Value>) {
    (format!("UPDATE outbox_event SET pending = FALSE WHERE id IN ({})", marks(1, ids.len())), ids)
}

/// Settles those of `ids` that every one of `consumers` has delivered or parked as dead.
fn settle_counted(consumers: &[&str], ids: Vec<Value>) -> (String, Vec<Value>) {
    let sql = format!(
        "UPDATE outbox_event SET pending = FALSE WHERE id IN ({}) AND {} = $1",
        marks(consumers.len() + 2, ids.len()),
        finished_deliveries(2, consumers.len())
    );
    let mut values = vec![Value::from(consumers.len() as i64)];
    values.extend(consumers.iter().map(|c| Value::from((*c).to_owned())));
    values.extend(ids);
    (sql, values)
}

/// Exponential backoff: 1 s, 2 s, 4 s, ... capped.
pub(crate) fn backoff(attempts: i32, cap: Duration) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    Duration::from_secs(1u64 << exp).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v7_floor_orders_below_ids_of_its_millisecond_and_above_earlier_ones() {
        let now = Utc::now();
        let floor = v7_floor(now);
        assert_eq!(floor.get_version_num(), 7);
        let minted = EventId::new().as_uuid();
        assert!(v7_floor(now - chrono::Duration::seconds(1)) < minted);
        assert!(v7_floor(now + chrono::Duration::seconds(1)) > minted);
        assert!(floor <= v7_floor(now + chrono::Duration::milliseconds(1)));
        assert_eq!(
            v7_floor(DateTime::<Utc>::UNIX_EPOCH - chrono::Duration::days(1)),
            v7_floor(DateTime::<Utc>::UNIX_EPOCH)
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let cap = Duration::from_secs(3600);
        assert_eq!(backoff(1, cap), Duration::from_secs(1));
        assert_eq!(backoff(2, cap), Duration::from_secs(2));
        assert_eq!(backoff(5, cap), Duration::from_secs(16));
        assert_eq!(backoff(40, cap), cap);
        assert_eq!(backoff(0, cap), Duration::from_secs(1));
    }
}
