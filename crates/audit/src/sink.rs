//! The outbox consumer that turns committed `audit.entry` events into log entries.

use listone_core::outbox::{EventSink, OutboxEvent, SinkError};

use crate::recorder::AUDIT_TOPIC;
use crate::store::AuditStore;

/// Consumer name under which the outbox tracks audit delivery.
pub const AUDIT_SINK_NAME: &str = "audit";

/// Appends delivered events to the log (idempotent on event id, so redelivery is harmless).
#[derive(Debug, Clone)]
pub struct AuditSink {
    store: AuditStore,
}

impl AuditSink {
    /// A sink appending to `store`.
    pub fn new(store: AuditStore) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl EventSink for AuditSink {
    fn name(&self) -> &str {
        AUDIT_SINK_NAME
    }

    /// `audit.entry` events only: change events are for automation and other consumers, and
    /// handing them over would only make the dispatcher track deliveries the log ignores.
    fn accepts(&self, topic: &str) -> bool {
        topic == AUDIT_TOPIC
    }

    async fn deliver(&self, events: &[OutboxEvent]) -> Result<(), SinkError> {
        self.store.append(events).await.map(|_| ()).map_err(|e| SinkError(e.to_string()))
    }
}
