//! Group commit for single creates: one writer task puts concurrent [`RecordStore::create`]
//! calls into one transaction, each record prepared on its own and all written with one
//! multi-row insert per table, so create throughput is bound by statements, not by round trips
//! and commits per record. Batches gather like the audit batcher's ([`GroupQueue`]).
//!
//! Each call still succeeds or fails on its own and resolves only after its transaction
//! committed. A refusal while preparing (bad input, a lookup to a missing record) answers that
//! call and leaves the rest of the batch alone. Anything that stops the batch's transaction (a
//! unique value claimed twice, a database error) rolls it back and the batch's calls are run
//! again one by one, each in a transaction of its own, so every caller gets its own outcome:
//! the second of two records claiming the same unique value gets ALREADY_EXISTS naming the
//! field, exactly as without batching.

use listone_core::Error;
use listone_core::group_commit::GroupQueue;
use tokio::sync::{mpsc, oneshot};

use super::create::{NewRecord, PreparedCreate};
use super::{RecordStore, StoredRecord};
use crate::codec::RequestKeys;

/// Most creates written in one transaction.
pub const MAX_CREATE_BATCH: usize = 64;
/// Most creates waiting for the writer; when full, callers wait (never dropped).
const CREATE_QUEUE: usize = 4096;
/// Scheduler turns the writer yields to let in-flight creates join a batch.
const GATHER_YIELDS: usize = 4;

/// Handle to the create writer task; the task exits when the store's last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct CreateBatcher {
    queue: mpsc::Sender<Pending>,
}

#[derive(Debug)]
struct Pending {
    request: NewRecord,
    reply: oneshot::Sender<Result<StoredRecord, Error>>,
}

impl CreateBatcher {
    /// Starts the writer over `store` (a store without a batcher) on the current tokio runtime.
    pub(crate) fn spawn(store: RecordStore) -> CreateBatcher {
        let (queue, receiver) = mpsc::channel(CREATE_QUEUE);
        let gather = GroupQueue::new(receiver, MAX_CREATE_BATCH, GATHER_YIELDS);
        tokio::spawn(run(store, gather));
        CreateBatcher { queue }
    }

    /// Queues `request`; resolves once its transaction committed (or with its refusal).
    pub(crate) async fn create(&self, request: NewRecord) -> Result<StoredRecord, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Pending { request, reply }).await.map_err(|_| Error::internal("create batcher has stopped"))?;
        answer.await.map_err(|_| Error::internal("create batcher stopped before answering"))?
    }
}

async fn run(store: RecordStore, mut gather: GroupQueue<Pending>) {
    while let Some(batch) = gather.next_batch().await {
        // A transaction acts in one organization (behind PostgreSQL's tenant wall), so creates
        // of several organizations gathered together are written org by org.
        for mut batch in by_org(batch) {
            if batch.len() == 1 {
                if let Some(pending) = batch.pop() {
                    let outcome = store.create_alone(pending.request).await;
                    // A caller that gave up has nobody to answer; its record is written all the same.
                    let _ = pending.reply.send(outcome);
                }
                continue;
            }
            store.create_batch(batch).await;
        }
    }
}

/// `batch` split by organization, each part in arrival order, parts in order of first arrival.
fn by_org(batch: Vec<Pending>) -> Vec<Vec<Pending>> {
    let mut parts: Vec<Vec<Pending>> = Vec::new();
    for pending in batch {
        match parts.iter_mut().find(|part| part.first().is_some_and(|p| p.request.org == pending.request.org)) {
            Some(part) => part.push(pending),
            None => parts.push(vec![pending]),
        }
    }
    parts
}

/// A refusal of one call's input, as opposed to trouble that stops the whole transaction.
fn is_refusal(err: &Error) -> bool {
    matches!(
        err,
        Error::InvalidArgument { .. }
            | Error::NotFound { .. }
            | Error::ReferenceNotFound { .. }
            | Error::FailedPrecondition { .. }
            | Error::OutOfRange { .. }
            | Error::PermissionDenied { .. }
    )
}

impl RecordStore {
    /// Creates every record of `batch` in one transaction and answers each caller; when that
    /// transaction fails, the calls it held are run again one by one.
    async fn create_batch(&self, batch: Vec<Pending>) {
        let (requests, replies): (Vec<NewRecord>, Vec<_>) = batch.into_iter().map(|p| (p.request, p.reply)).unzip();
        match self.try_batch(&requests).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(err) => {
                tracing::debug!(error = ?err.code(), creates = requests.len(), "create batch rolled back; creating one by one");
                for (request, reply) in requests.into_iter().zip(replies) {
                    let _ = reply.send(self.create_alone(request).await);
                }
            }
        }
    }

    /// One outcome per request, in order, once the batch committed; `Err` when the transaction
    /// failed and nothing of it was written.
    async fn try_batch(&self, requests: &[NewRecord]) -> Result<Vec<Result<StoredRecord, Error>>, Error> {
        let org = match requests {
            [first, rest @ ..] if rest.iter().all(|r| r.org == first.org) => first.org,
            _ => return Err(Error::internal("a create batch spans organizations")),
        };
        let (catalog, txn) = self.catalog_and_transaction(org).await?;
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        let mut outcomes: Vec<Option<Result<StoredRecord, Error>>> = Vec::with_capacity(requests.len());
        let mut prepared: Vec<PreparedCreate> = Vec::with_capacity(requests.len());
        let mut written_at: Vec<usize> = Vec::with_capacity(requests.len());
        for (position, request) in requests.iter().enumerate() {
            let writer = request.writer(String::new());
            let attempt = match catalog.get(&request.module_key) {
                Ok(module) => {
                    self.prepare_create(&txn, &mut keys, &catalog, module, &request.values, request.owner, &writer)
                        .await
                }
                Err(err) => Err(err),
            };
            match attempt {
                Ok(record) => {
                    prepared.push(record);
                    written_at.push(position);
                    outcomes.push(None);
                }
                Err(err) if is_refusal(&err) => outcomes.push(Some(Err(err))),
                Err(err) => return Err(err),
            }
        }
        let created = self.write_created(&txn, &mut keys, prepared).await?;
        txn.commit().await?;
        for (position, record) in written_at.into_iter().zip(created) {
            outcomes[position] = Some(Ok(record));
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(Error::internal("a batched create has no outcome"))))
            .collect())
    }

    /// The same store with concurrent [`RecordStore::create`] calls sharing transactions through
    /// a writer task (group commit); spawns it on the current tokio runtime.
    pub fn with_create_batching(mut self) -> Self {
        let mut writer = self.clone();
        writer.create_batcher = None;
        self.create_batcher = Some(CreateBatcher::spawn(writer));
        self
    }
}
