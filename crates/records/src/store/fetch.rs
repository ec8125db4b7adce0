//! Group reads for single records: one reader task serves concurrent [`RecordStore::get`] calls
//! with ONE statement per batch (the records of the batch by primary key, joined to their
//! module's version and their subject's stored key), so under load a read costs a share of a
//! round trip instead of a round trip of its own. Batches gather like the create and audit
//! batchers' ([`GroupQueue`]): a lone read is served at once, reads arriving while a batch is
//! out go into the next one together.
//!
//! What a call gets is exactly what [`rows::find_live`] answers for it: the statement matches
//! organization and id, and each call keeps only the row of its own organization, id and module
//! key (so a call never sees another organization's row, nor a record of another module).

use std::collections::BTreeSet;

use listone_core::group_commit::GroupQueue;
use listone_core::{Database, Engine, Error, OrgId, RecordId};
use tokio::sync::{mpsc, oneshot};

use super::RecordStore;
use super::rows::{self, LiveRecord};

/// Most reads served by one statement.
pub const MAX_READ_BATCH: usize = 64;
/// Most reads waiting for the reader; when full, callers wait (never dropped).
const READ_QUEUE: usize = 4096;
/// Scheduler turns the reader yields to let in-flight reads join a batch.
const GATHER_YIELDS: usize = 2;

/// Handle to the reader task; the task exits when the store's last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct ReadBatcher {
    queue: mpsc::Sender<Pending>,
}

/// One caller's read and where to send its row (no `Debug`: the row holds stored values).
struct Pending {
    org: OrgId,
    module_key: String,
    id: RecordId,
    reply: oneshot::Sender<Result<Option<LiveRecord>, Error>>,
}

impl ReadBatcher {
    /// Starts the reader over `db` on the current tokio runtime.
    fn spawn(db: Database) -> ReadBatcher {
        let (queue, receiver) = mpsc::channel(READ_QUEUE);
        let gather = GroupQueue::new(receiver, MAX_READ_BATCH, GATHER_YIELDS);
        tokio::spawn(run(db, gather));
        ReadBatcher { queue }
    }

    /// What [`rows::find_live`] answers for the record, read in the next batch.
    pub(crate) async fn find_live(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
    ) -> Result<Option<LiveRecord>, Error> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending { org, module_key: module_key.to_owned(), id, reply };
        self.queue.send(pending).await.map_err(|_| Error::internal("read batcher has stopped"))?;
        answer.await.map_err(|_| Error::internal("read batcher stopped before answering"))?
    }
}

async fn run(db: Database, mut gather: GroupQueue<Pending>) {
    while let Some(mut batch) = gather.next_batch().await {
        if batch.len() == 1 {
            if let Some(p) = batch.pop() {
                // A caller that gave up has nobody to answer.
                let _ = p.reply.send(rows::find_live(db.conn(), p.org, &p.module_key, p.id).await);
            }
            continue;
        }
        let keys: BTreeSet<(OrgId, RecordId)> = batch.iter().map(|p| (p.org, p.id)).collect();
        let keys: Vec<(OrgId, RecordId)> = keys.into_iter().collect();
        match rows::find_live_many(db.conn(), &keys).await {
            Ok(found) => {
                for p in batch {
                    let hit = found
                        .iter()
                        .find(|(org, key, live)| *org == p.org && live.row.id == p.id && *key == p.module_key)
                        .map(|(_, _, live)| live.clone());
                    let _ = p.reply.send(Ok(hit));
                }
            }
            Err(err) => {
                for p in batch {
                    let _ = p.reply.send(Err(err.for_batch_waiter("batched read")));
                }
            }
        }
    }
}

/// Whether batching single-record reads pays on `engine`: on PostgreSQL each read saved is a
/// network round trip; on SQLite a read is an in-process call on its own pooled connection, and
/// funnelling concurrent reads through one reader made them slower (measured: 5.5–6.0k/s
/// batched against 9–12k/s alone, 16 clients).
pub fn read_batching_pays(engine: Engine) -> bool {
    engine == Engine::Postgres
}

impl RecordStore {
    /// The same store with concurrent single-record reads ([`RecordStore::get`]) sharing one
    /// statement per batch through a reader task; spawns it on the current tokio runtime.
    /// Servers turn it on where it pays ([`read_batching_pays`]).
    pub fn with_read_batching(mut self) -> Self {
        self.read_batcher = Some(ReadBatcher::spawn(self.db.clone()));
        self
    }

    /// The live record `id` of module `module_key` in `org` with what opening it needs
    /// ([`rows::find_live`]), through the read batcher when the store has one.
    pub(crate) async fn find_live(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
    ) -> Result<Option<LiveRecord>, Error> {
        match &self.read_batcher {
            Some(batcher) => batcher.find_live(org, module_key, id).await,
            None => rows::find_live(self.db.conn(), org, module_key, id).await,
        }
    }
}
