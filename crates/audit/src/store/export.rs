//! Streamed SIEM export: the export is itself audited, then matching entries go out oldest
//! first as formatted lines, a chunk at a time, without holding the whole log in memory.

use listone_core::{Error, OrgId};
use tokio::sync::mpsc;

use super::AuditStore;
use super::query::{EntryFilter, PageRequest};
use crate::entry::{AuditActor, AuditEvent, Outcome, RequestContext};
use crate::export::{ExportFormat, ProductInfo, format_entry};
use crate::recorder::AuditRecorder;

/// Entries per exported chunk.
pub const EXPORT_CHUNK_ENTRIES: u32 = 500;
/// Chunks buffered ahead of a slow reader.
const EXPORT_BUFFER: usize = 4;

/// Newline-terminated lines for a run of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportChunk {
    /// The lines.
    pub lines: String,
    /// How many entries they hold.
    pub entries: u32,
}

impl AuditStore {
    /// Records the export in `org`'s log (a personal-data read by `actor`), then streams the
    /// matching entries as `format` lines. A failure mid-stream arrives as the last item.
    pub async fn export(
        &self,
        org: OrgId,
        filter: EntryFilter,
        format: ExportFormat,
        product: ProductInfo,
        actor: AuditActor,
        context: RequestContext,
    ) -> Result<mpsc::Receiver<Result<ExportChunk, Error>>, Error> {
        let event = AuditEvent::new(org, actor, "audit.log.export", Outcome::Allowed, self.clock.now())
            .with_resource("audit.log", None)
            .with_personal_data("siem_export")
            .with_details(serde_json::json!({ "format": format.key() }))
            .with_context(context);
        let txn = sea_orm::TransactionTrait::begin(self.db.conn()).await?;
        AuditRecorder::new(self.keyring.clone(), self.clock.clone()).record(&txn, event).await?;
        txn.commit().await?;

        let (tx, rx) = mpsc::channel(EXPORT_BUFFER);
        let store = self.clone();
        tokio::spawn(async move {
            let mut page = PageRequest { page_size: EXPORT_CHUNK_ENTRIES, after_seq: None, newest_first: false };
            loop {
                let chunk = match store.list_entries(org, &filter, page, false).await {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let mut lines = String::new();
                for view in &chunk.entries {
                    lines.push_str(&format_entry(&view.entry, format, &product));
                    lines.push('\n');
                }
                let entries = u32::try_from(chunk.entries.len()).unwrap_or(u32::MAX);
                page.after_seq = chunk.entries.last().map(|v| v.entry.seq);
                // A closed receiver means the client went away: stop reading the log.
                if entries > 0 && tx.send(Ok(ExportChunk { lines, entries })).await.is_err() {
                    return;
                }
                if chunk.next_page_token.is_none() {
                    return;
                }
            }
        });
        Ok(rx)
    }
}
