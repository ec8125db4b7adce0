//! Group commit for hot paths that audit every call (the OAuth token endpoint): one writer task
//! puts many callers' [`AuditEvent`]s in one transaction, so audit throughput is bound by
//! statements, not by commits.
//!
//! Durability: [`AuditBatcher::record`] resolves only after the transaction holding the event has
//! COMMITTED — exactly as durable as recording in the caller's own transaction. A caller that
//! awaits it before answering (before returning a token) never answers for an event that could
//! still be lost. An error means the event was not written.
//!
//! Batches form without timers: a writer takes the first queued event, then whatever else is
//! already queued (up to [`BatcherConfig::max_batch`]), writes them in one `Database::begin()`
//! transaction (multi-row inserts, not one statement per event) and commits. A batch of at most
//! [`outbox::MAX_ROWS_PER_INSERT`] events without personal details that fits the statement byte
//! budget ([`outbox::fits_one_insert`]) is one multi-row INSERT, atomic on its own, sent without
//! BEGIN / COMMIT: one round trip per batch instead of three. A lone event
//! commits at once; under load, events queue up while the previous batch commits and go into
//! the next one together. When the previous batch held more than one event (callers are
//! concurrent), the writer first yields to the scheduler a few times
//! ([`BatcherConfig::gather_yields`]) so requests already in flight join this batch: a few
//! scheduler turns of latency for batches several times larger (PostgreSQL's `commit_delay`
//! idea, without a timer).
//!
//! One writer: SQLite has one write lock, and on PostgreSQL (measured) more writers did not
//! raise throughput: the bound there is CPU, not the commit's WAL flush.
//!
//! Grouped entries ([`AuditBatcher::record_grouped`]): calls that state the same entry but for a
//! per-call item share ONE entry per batch that lists them all (see [`group`]).
//!
//! Failures: an event that fails validation gets its own `INVALID_ARGUMENT` and the rest of its
//! batch commits. An event with personal details is written under a savepoint, so a failure
//! sealing it (e.g. an erased subject) is also its own. Any other failure (a database error)
//! rolls the whole batch back and every waiter of that batch gets an error: nothing of it was
//! written.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use listone_core::group_commit::GroupQueue;
use listone_core::outbox;
use listone_core::{Database, Error, EventId};
use sea_orm::{ConnectionTrait, TransactionSession as _, TransactionTrait};
use tokio::sync::{mpsc, oneshot, watch};

use crate::entry::AuditEvent;
use crate::recorder::AuditRecorder;

pub mod group;

use group::{Group, join_group};

/// Default for [`BatcherConfig::max_batch`].
pub const DEFAULT_MAX_BATCH: usize = 512;
/// Default for [`BatcherConfig::queue`].
pub const DEFAULT_QUEUE: usize = 8192;
/// Default for [`BatcherConfig::gather_yields`].
pub const DEFAULT_GATHER_YIELDS: usize = 4;

/// How big batches and the queue may grow, and how batches gather.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatcherConfig {
    /// Most events written in one transaction.
    pub max_batch: usize,
    /// Most events waiting for the writer; when full, [`AuditBatcher::record`] waits (never drops).
    pub queue: usize,
    /// Scheduler turns the writer yields to let in-flight callers join a batch, when the previous
    /// batch showed concurrent callers (0: take only what is already queued).
    pub gather_yields: usize,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        Self { max_batch: DEFAULT_MAX_BATCH, queue: DEFAULT_QUEUE, gather_yields: DEFAULT_GATHER_YIELDS }
    }
}

/// What the writer has committed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatcherStats {
    /// Transactions committed.
    pub batches: u64,
    /// Events committed in them.
    pub events: u64,
}

/// Handle to the group-commit writer task; clone it freely. The task drains the queue and exits
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct AuditBatcher {
    queue: mpsc::Sender<Pending>,
    counters: Arc<Counters>,
    exited: watch::Receiver<()>,
}

/// One caller's event and where to send its outcome.
#[derive(Debug)]
struct Pending {
    event: AuditEvent,
    /// `Some` for a call recorded as an item of a grouped entry.
    item: Option<serde_json::Value>,
    reply: oneshot::Sender<Result<EventId, Error>>,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    events: AtomicU64,
}

/// Everything the writer task owns.
#[derive(Debug)]
struct Writer {
    db: Database,
    recorder: AuditRecorder,
    counters: Arc<Counters>,
}

impl AuditBatcher {
    /// Starts the writer task on the current tokio runtime (panics outside one, like `tokio::spawn`).
    pub fn spawn(db: Database, recorder: AuditRecorder, config: BatcherConfig) -> AuditBatcher {
        let (queue, receiver) = mpsc::channel(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        // The task holds the sender; receivers see it close when the task ends.
        let (exit_signal, exited) = watch::channel(());
        let writer = Writer { db, recorder, counters: Arc::clone(&counters) };
        let gather = GroupQueue::new(receiver, config.max_batch, config.gather_yields);
        tokio::spawn(writer.run(gather, exit_signal));
        AuditBatcher { queue, counters, exited }
    }

    /// Records `event`; resolves once the transaction holding it has committed (or with the
    /// error that kept it out). Waits while the queue is full.
    pub async fn record(&self, event: AuditEvent) -> Result<EventId, Error> {
        self.submit(event, None).await
    }

    /// Records one call as an `item` of a grouped entry: the calls of one batch whose `event`s are
    /// equal but for their time and request id become one entry whose details add `count` and
    /// `items` (each item with the call's `at` and `request_id`). Resolves, like [`record`](Self::record),
    /// once that entry has committed, with its id. For hot paths that audit every call (token
    /// issues); an event with personal details is recorded alone.
    pub async fn record_grouped(&self, event: AuditEvent, item: serde_json::Value) -> Result<EventId, Error> {
        self.submit(event, Some(item)).await
    }

    async fn submit(&self, event: AuditEvent, item: Option<serde_json::Value>) -> Result<EventId, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { event, item, reply })
            .await
            .map_err(|_| Error::internal("audit batcher has stopped"))?;
        answer.await.map_err(|_| Error::internal("audit batcher stopped before answering"))?
    }

    /// Committed batches and events so far.
    pub fn stats(&self) -> BatcherStats {
        BatcherStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            events: self.counters.events.load(Ordering::Relaxed),
        }
    }

    /// Resolves when the writer task has exited: after every handle is dropped and the queue is
    /// drained. A server awaits it at shutdown so no queued event is lost.
    pub fn exited(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut exited = self.exited.clone();
        async move {
            // `changed` errs only once the task has dropped the sender; nothing is ever sent.
            while exited.changed().await.is_ok() {}
        }
    }
}

/// What a batch did with one event before the commit.
enum Written {
    /// In the transaction; answered after the commit.
    Ok(EventId),
    /// Kept out of the batch; answered with this error.
    Rejected(Error),
}

impl Writer {
    async fn run(self, mut gather: GroupQueue<Pending>, _exit_signal: watch::Sender<()>) {
        while let Some(batch) = gather.next_batch().await {
            self.commit_batch(batch).await;
        }
    }

    /// Writes `batch` in one transaction and answers every waiter.
    async fn commit_batch(&self, batch: Vec<Pending>) {
        let (events, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| ((p.event, p.item), p.reply)).unzip();
        match self.write(events).await {
            Ok(written) => {
                let committed = written.iter().filter(|w| matches!(w, Written::Ok(_))).count() as u64;
                if committed > 0 {
                    // Calls committed, grouped or not: an entry listing eight calls counts eight.
                    self.counters.batches.fetch_add(1, Ordering::Relaxed);
                    self.counters.events.fetch_add(committed, Ordering::Relaxed);
                }
                for (reply, outcome) in replies.into_iter().zip(written) {
                    let outcome = match outcome {
                        Written::Ok(id) => Ok(id),
                        Written::Rejected(err) => Err(err),
                    };
                    // A waiter that gave up has nobody to answer; its event is written all the same.
                    let _ = reply.send(outcome);
                }
            }
            Err(err) => {
                tracing::warn!(error = %log_context(&err), events = replies.len(), "audit batch rolled back");
                for reply in replies {
                    let _ = reply.send(Err(err.for_batch_waiter("audit batch")));
                }
            }
        }
    }

    /// Writes `events` in one committed transaction; `Err` means nothing was written.
    async fn write(&self, events: Vec<(AuditEvent, Option<serde_json::Value>)>) -> Result<Vec<Written>, Error> {
        if events.iter().all(|(event, _)| event.personal.is_none()) {
            // Without personal details preparing runs no statement, so it needs no transaction.
            let (written, plain) = self.prepare_each(self.db.conn(), events).await?;
            if outbox::fits_one_insert(&plain) {
                // ONE multi-row INSERT commits atomically on its own: no BEGIN / COMMIT round trips.
                self.recorder.record_prepared(self.db.conn(), plain).await?;
                return Ok(written);
            }
            let txn = self.db.begin().await?;
            self.recorder.record_prepared(&txn, plain).await?;
            txn.commit().await?;
            return Ok(written);
        }
        let txn = self.db.begin().await?;
        let outcome = async {
            let (written, plain) = self.prepare_each(&txn, events).await?;
            // Every event was checked, so a failure here is the database's: the batch rolls back.
            self.recorder.record_prepared(&txn, plain).await?;
            Ok::<_, Error>(written)
        }
        .await;
        match outcome {
            Ok(written) => {
                txn.commit().await?;
                Ok(written)
            }
            Err(err) => {
                // The error is what the waiters need; a failed rollback ends with the connection.
                txn.rollback().await.ok();
                Err(err)
            }
        }
    }

    /// Answers or prepares each event on `txn`; `Err` when the transaction can no longer be
    /// committed. Events without personal details are validated one by one for the batch's
    /// multi-row statements (one round trip per [`outbox::MAX_ROWS_PER_INSERT`] events within
    /// the statement byte budget, not one per event), returned to be inserted together; grouped
    /// calls first become one event per [`Group`]. Events with personal details are written
    /// here, each under a savepoint.
    async fn prepare_each<C: ConnectionTrait + TransactionTrait>(
        &self,
        txn: &C,
        events: Vec<(AuditEvent, Option<serde_json::Value>)>,
    ) -> Result<(Vec<Written>, Vec<outbox::NewEvent>), Error> {
        let mut written: Vec<Option<Written>> = Vec::with_capacity(events.len());
        let mut plain = Vec::with_capacity(events.len());
        let mut groups: Vec<Group> = Vec::new();
        for (position, (event, item)) in events.into_iter().enumerate() {
            let outcome = match item {
                Some(item) if event.personal.is_none() => {
                    join_group(&mut groups, position, event, item);
                    None
                }
                _ if event.personal.is_some() => Some(self.write_personal(txn, event).await?),
                _ => Some(self.prepare_plain(txn, event, &mut plain).await?),
            };
            written.push(outcome);
        }
        for group in groups {
            let (event, members) = group.into_event();
            match self.prepare_plain(txn, event, &mut plain).await? {
                Written::Ok(id) => members.iter().for_each(|&m| written[m] = Some(Written::Ok(id))),
                Written::Rejected(err) => {
                    members.iter().for_each(|&m| written[m] = Some(Written::Rejected(group::copy_refusal(&err))))
                }
            }
        }
        // Every position was answered: directly, or by the group that listed it.
        let written = written
            .into_iter()
            .map(|w| w.unwrap_or_else(|| Written::Rejected(Error::internal("audit call lost"))))
            .collect();
        Ok((written, plain))
    }

    /// Validates an event without personal details for the batch's multi-row insert; preparing
    /// it runs no statement, so a refusal leaves the transaction intact.
    async fn prepare_plain<C: ConnectionTrait>(
        &self,
        txn: &C,
        event: AuditEvent,
        plain: &mut Vec<outbox::NewEvent>,
    ) -> Result<Written, Error> {
        match self.recorder.prepare(txn, event).await.and_then(|new| outbox::check(&new).map(|()| new)) {
            Ok(new) => {
                let id = new.id;
                plain.push(new);
                Ok(Written::Ok(id))
            }
            Err(err @ Error::InvalidArgument { .. }) => Ok(Written::Rejected(err)),
            Err(err) => Err(err),
        }
    }

    /// Writes an event with personal details under a savepoint: sealing reads and may create the
    /// subject's key, and its failure must not spoil the batch.
    async fn write_personal<C: TransactionTrait>(&self, txn: &C, event: AuditEvent) -> Result<Written, Error> {
        let savepoint = txn.begin().await?;
        match self.recorder.record(&savepoint, event).await {
            Ok(id) => {
                savepoint.commit().await?;
                Ok(Written::Ok(id))
            }
            Err(err) => {
                savepoint.rollback().await?;
                Ok(Written::Rejected(err))
            }
        }
    }
}

/// The loggable text of a batch-wide error (internal context included; it carries no personal data).
fn log_context(err: &Error) -> String {
    match err {
        Error::Internal { context } => context.clone(),
        other => other.to_string(),
    }
}
