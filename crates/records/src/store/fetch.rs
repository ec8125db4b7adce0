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
//!
//! On PostgreSQL the same statement also writes the reads' personal-read audit entries when the
//! callers could state them ahead ([`ReadAudit`]): grouped as the audit batcher groups them, and
//! each inserted only if every record it lists is found live at the module version it was stated
//! from ([`audited_read::find_live_audited`]). A call learns whether its entry went in
//! ([`Fetched::audited`]); if not, it records its read afterwards the ordinary way. Entries that
//! would take the statement past the byte budget are left to that ordinary way too.

use std::collections::BTreeSet;

use listone_audit::{AuditEvent, AuditRecorder};
use listone_core::db::MAX_STATEMENT_BYTES;
use listone_core::group_commit::GroupQueue;
use listone_core::{Database, Engine, Error, EventId, ModuleId, OrgId, RecordId, SharedClock, outbox};
use tokio::sync::{mpsc, oneshot};

use super::RecordStore;
use super::audited_read::{self, ExpectedEntry};
use super::rows::{self, LiveRecord};

/// Most reads served by one statement.
pub const MAX_READ_BATCH: usize = 64;
/// Most reads waiting for the reader; when full, callers wait (never dropped).
const READ_QUEUE: usize = 4096;
/// Scheduler turns the reader yields to let in-flight reads join a batch.
const GATHER_YIELDS: usize = 2;
/// Room a batched read keeps in its statement for the SQL text and each key it reads; the
/// audit entries it writes share the rest of the statement byte budget.
const READ_ROOM_BYTES: usize = 2 * 1024;
const KEY_BYTES: usize = 2 * 37;
/// What an entry takes in the statement beside its outbox row: the module it expects, dates.
const ENTRY_ROOM_BYTES: usize = 256;

/// Handle to the reader task; the task exits when the store's last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct ReadBatcher {
    queue: mpsc::Sender<Pending>,
}

/// The personal-read audit entry of a read, stated before the read from the definition of the
/// module the store knew last (`module_id` at `module_version`): the reader writes it in the
/// read's own statement, when the read finds the record of that module at that version.
pub(crate) struct ReadAudit {
    /// The entry, as [`listone_audit::AuditBatcher::record_grouped`] would take it.
    pub event: AuditEvent,
    /// The read's item in a grouped entry.
    pub item: serde_json::Value,
    pub module_id: ModuleId,
    pub module_version: u32,
}

/// What a read found, and whether its audit entry was written with it.
pub(crate) struct Fetched {
    pub live: Option<LiveRecord>,
    /// The read's [`ReadAudit`] committed in the read's statement: nothing is left to record.
    pub audited: bool,
}

/// One caller's read and where to send its row (no `Debug`: the row holds stored values).
struct Pending {
    org: OrgId,
    module_key: String,
    id: RecordId,
    audit: Option<ReadAudit>,
    reply: oneshot::Sender<Result<Fetched, Error>>,
}

/// What the reader task needs beside the queue.
struct Reader {
    db: Database,
    recorder: AuditRecorder,
    clock: SharedClock,
}

impl ReadBatcher {
    /// Starts the reader over `db` on the current tokio runtime; audit entries written with
    /// reads are prepared by `recorder`, dated by `clock`.
    fn spawn(db: Database, recorder: AuditRecorder, clock: SharedClock) -> ReadBatcher {
        let (queue, receiver) = mpsc::channel(READ_QUEUE);
        let gather = GroupQueue::new(receiver, MAX_READ_BATCH, GATHER_YIELDS);
        tokio::spawn(Reader { db, recorder, clock }.run(gather));
        ReadBatcher { queue }
    }

    /// What [`rows::find_live`] answers for the record, read in the next batch, with `audit`
    /// written in the same statement when the read finds what it expects (PostgreSQL).
    pub(crate) async fn find_live(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
        audit: Option<ReadAudit>,
    ) -> Result<Fetched, Error> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending { org, module_key: module_key.to_owned(), id, audit, reply };
        self.queue.send(pending).await.map_err(|_| Error::internal("read batcher has stopped"))?;
        answer.await.map_err(|_| Error::internal("read batcher stopped before answering"))?
    }
}

impl Reader {
    async fn run(self, mut gather: GroupQueue<Pending>) {
        while let Some(batch) = gather.next_batch().await {
            self.serve(batch).await;
        }
    }

    /// Reads `batch` with one statement and answers every caller.
    async fn serve(&self, mut batch: Vec<Pending>) {
        let audits = if self.db.engine() == Engine::Postgres { self.expected_entries(&mut batch) } else { Vec::new() };
        if audits.is_empty()
            && let [lone] = batch.as_slice()
        {
            let found = rows::find_live(self.db.conn(), lone.org, &lone.module_key, lone.id).await;
            if let Some(p) = batch.pop() {
                // A caller that gave up has nobody to answer.
                let _ = p.reply.send(found.map(|live| Fetched { live, audited: false }));
            }
            return;
        }
        let keys: BTreeSet<(OrgId, RecordId)> = batch.iter().map(|p| (p.org, p.id)).collect();
        let keys: Vec<(OrgId, RecordId)> = keys.into_iter().collect();
        let (entries, entry_of): (Vec<ExpectedEntry>, Vec<Option<EventId>>) = {
            let mut entry_of = vec![None; batch.len()];
            let entries = audits
                .into_iter()
                .map(|(entry, members)| {
                    members.iter().for_each(|&m| entry_of[m] = Some(entry.event.id));
                    entry
                })
                .collect();
            (entries, entry_of)
        };
        let outcome = if entries.is_empty() {
            rows::find_live_many(self.db.conn(), &keys).await.map(|found| (found, Vec::new()))
        } else {
            audited_read::find_live_audited(self.db.conn(), &keys, &entries, self.clock.now()).await
        };
        match outcome {
            Ok((found, written)) => {
                for (p, entry) in batch.into_iter().zip(entry_of) {
                    let live = found
                        .iter()
                        .find(|(org, key, live)| *org == p.org && live.row.id == p.id && *key == p.module_key)
                        .map(|(_, _, live)| live.clone());
                    let audited = live.is_some() && entry.is_some_and(|id| written.contains(&id));
                    let _ = p.reply.send(Ok(Fetched { live, audited }));
                }
            }
            Err(err) => {
                for p in batch {
                    let _ = p.reply.send(Err(err.for_batch_waiter("batched read")));
                }
            }
        }
    }

    /// The audit entries the batch's reads state, grouped as the audit batcher groups them
    /// (one entry per reader, fields, purpose and module version, listing each read), each with
    /// the positions of the reads it lists; taken out of `batch`. An entry that fails the
    /// recorder's checks, or does not fit the statement byte budget, is left out: its reads are
    /// answered unaudited and their callers record them the ordinary way.
    fn expected_entries(&self, batch: &mut [Pending]) -> Vec<(ExpectedEntry, Vec<usize>)> {
        // Per module version: the batch positions of its reads, and their calls in that order.
        type Calls = Vec<(AuditEvent, serde_json::Value)>;
        let mut by_module: Vec<((ModuleId, u32), Vec<usize>, Calls)> = Vec::new();
        for (position, pending) in batch.iter_mut().enumerate() {
            let Some(audit) = pending.audit.take() else { continue };
            let module = (audit.module_id, audit.module_version);
            let call = (audit.event, audit.item);
            match by_module.iter_mut().find(|(m, _, _)| *m == module) {
                Some((_, positions, calls)) => {
                    positions.push(position);
                    calls.push(call);
                }
                None => by_module.push((module, vec![position], vec![call])),
            }
        }
        let mut budget = MAX_STATEMENT_BYTES.saturating_sub(READ_ROOM_BYTES + KEY_BYTES * batch.len());
        let mut entries = Vec::new();
        for ((module_id, module_version), positions, calls) in by_module {
            for (event, members) in listone_audit::batcher::group::group_calls(calls) {
                let members: Vec<usize> = members.into_iter().filter_map(|m| positions.get(m).copied()).collect();
                let Some(first) = members.first().and_then(|&m| batch.get(m)) else { continue };
                let module_key = first.module_key.clone();
                // Preparing an entry without personal details runs no statement.
                let Ok(new) = self.recorder.prepare_plain(event) else { continue };
                let mut records: Vec<RecordId> = members.iter().filter_map(|&m| batch.get(m).map(|p| p.id)).collect();
                records.sort_unstable();
                records.dedup();
                let Ok(bytes) = outbox::checked_size(&new) else { continue };
                let bytes = bytes + ENTRY_ROOM_BYTES + KEY_BYTES * records.len();
                if bytes > budget {
                    continue;
                }
                budget -= bytes;
                entries.push((ExpectedEntry { event: new, module_key, module_id, module_version, records }, members));
            }
        }
        entries
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
        self.read_batcher = Some(ReadBatcher::spawn(self.db.clone(), self.audit.clone(), self.clock.clone()));
        self
    }

    /// The live record `id` of module `module_key` in `org` with what opening it needs
    /// ([`rows::find_live`]), through the read batcher when the store has one, which writes
    /// `audit` in the read's statement when it can.
    pub(crate) async fn find_live(
        &self,
        org: OrgId,
        module_key: &str,
        id: RecordId,
        audit: Option<ReadAudit>,
    ) -> Result<Fetched, Error> {
        match &self.read_batcher {
            Some(batcher) => batcher.find_live(org, module_key, id, audit).await,
            None => {
                rows::find_live(self.db.conn(), org, module_key, id).await.map(|live| Fetched { live, audited: false })
            }
        }
    }
}
