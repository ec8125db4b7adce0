//! Group commit for hot paths that audit every call (the OAuth token endpoint): one writer task
//! puts many callers' [`AuditEvent`]s in one transaction, so audit throughput is bound by
//! statements, not by commits.
//!
//! Durability: [`AuditBatcher::record`] resolves only after the transaction holding the event has
//! COMMITTED — exactly as durable as recording in the caller's own transaction. A caller that
//! awaits it before answering (before returning a token) never answers for an event that could
//! still be lost. An error means the event was not written.
//!
//! Batches form without timers: the task takes the first queued event, then whatever else is
//! already queued (up to [`BatcherConfig::max_batch`]), writes them in one `Database::begin()`
//! transaction (multi-row inserts, not one statement per event) and commits. A lone event commits at once; under load, events queue up while the
//! previous batch commits and go into the next one together.
//!
//! Failures: an event that fails validation gets its own `INVALID_ARGUMENT` and the rest of its
//! batch commits. An event with personal details is written under a savepoint, so a failure
//! sealing it (e.g. an erased subject) is also its own. Any other failure (a database error)
//! rolls the whole batch back and every waiter of that batch gets an error: nothing of it was
//! written.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use listone_core::outbox;
use listone_core::{Database, Error, EventId};
use sea_orm::{DatabaseTransaction, TransactionTrait as _};
use tokio::sync::{mpsc, oneshot, watch};

use crate::entry::AuditEvent;
use crate::recorder::AuditRecorder;

/// Default for [`BatcherConfig::max_batch`].
pub const DEFAULT_MAX_BATCH: usize = 512;
/// Default for [`BatcherConfig::queue`].
pub const DEFAULT_QUEUE: usize = 8192;

/// How big batches and the queue may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatcherConfig {
    /// Most events written in one transaction.
    pub max_batch: usize,
    /// Most events waiting for the writer; when full, [`AuditBatcher::record`] waits (never drops).
    pub queue: usize,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        Self { max_batch: DEFAULT_MAX_BATCH, queue: DEFAULT_QUEUE }
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
        tokio::spawn(writer.run(receiver, config.max_batch.max(1), exit_signal));
        AuditBatcher { queue, counters, exited }
    }

    /// Records `event`; resolves once the transaction holding it has committed (or with the
    /// error that kept it out). Waits while the queue is full.
    pub async fn record(&self, event: AuditEvent) -> Result<EventId, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Pending { event, reply }).await.map_err(|_| Error::internal("audit batcher has stopped"))?;
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
    async fn run(self, mut receiver: mpsc::Receiver<Pending>, max_batch: usize, _exit_signal: watch::Sender<()>) {
        let mut batch = Vec::with_capacity(max_batch);
        // `recv_many` waits for one event, then takes what is already queued: no timers.
        while receiver.recv_many(&mut batch, max_batch).await > 0 {
            self.commit_batch(std::mem::take(&mut batch)).await;
            batch.reserve(max_batch);
        }
    }

    /// Writes `batch` in one transaction and answers every waiter.
    async fn commit_batch(&self, batch: Vec<Pending>) {
        let (events, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.event, p.reply)).unzip();
        match self.write(events).await {
            Ok(written) => {
                let committed = written.iter().filter(|w| matches!(w, Written::Ok(_))).count() as u64;
                if committed > 0 {
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
                    let _ = reply.send(Err(same_error(&err)));
                }
            }
        }
    }

    /// Writes `events` in one committed transaction; `Err` means nothing was written.
    async fn write(&self, events: Vec<AuditEvent>) -> Result<Vec<Written>, Error> {
        let txn = self.db.begin().await?;
        match self.write_each(&txn, events).await {
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

    /// Writes each event in `txn`; `Err` when the transaction can no longer be committed. Events
    /// without personal details are validated one by one, then inserted together in multi-row
    /// statements (one round trip per [`outbox::MAX_ROWS_PER_INSERT`] events, not one per event).
    async fn write_each(&self, txn: &DatabaseTransaction, events: Vec<AuditEvent>) -> Result<Vec<Written>, Error> {
        let mut written = Vec::with_capacity(events.len());
        let mut plain = Vec::with_capacity(events.len());
        for event in events {
            let outcome = if event.personal.is_some() {
                self.write_personal(txn, event).await?
            } else {
                // Without personal details, preparing runs no statement.
                match self.recorder.prepare(txn, event).await.and_then(|new| outbox::check(&new).map(|()| new)) {
                    Ok(new) => {
                        let id = new.id;
                        plain.push(new);
                        Written::Ok(id)
                    }
                    // Refused before any statement ran: the transaction is intact.
                    Err(err @ Error::InvalidArgument { .. }) => Written::Rejected(err),
                    Err(err) => return Err(err),
                }
            };
            written.push(outcome);
        }
        // Every event was checked above, so a failure here is the database's: the batch rolls back.
        self.recorder.record_prepared(txn, plain).await?;
        Ok(written)
    }

    /// Writes an event with personal details under a savepoint: sealing reads and may create the
    /// subject's key, and its failure must not spoil the batch.
    async fn write_personal(&self, txn: &DatabaseTransaction, event: AuditEvent) -> Result<Written, Error> {
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

/// A copy of a batch-wide error for each waiter (errors are not `Clone`).
fn same_error(err: &Error) -> Error {
    match err {
        Error::Unavailable { what } => Error::Unavailable { what: what.clone() },
        Error::Internal { context } => Error::internal(context.clone()),
        other => Error::internal(format!("audit batch failed: {other}")),
    }
}

/// The loggable text of a batch-wide error (internal context included; it carries no personal data).
fn log_context(err: &Error) -> String {
    match err {
        Error::Internal { context } => context.clone(),
        other => other.to_string(),
    }
}
