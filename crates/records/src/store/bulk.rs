//! Bulk create and update: all or nothing in one transaction; the bad input of every record
//! is reported at once, each violation prefixed with `records[i].`.

use listone_audit::{AuditActor, RequestContext};
use listone_core::{Error, OrgId, RecordId};
use listone_identity::access::ObjectRight;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::change::{ChangeSource, masked_input};
use super::people::NamedPeople;
use super::write::Writer;
use super::{RecordStore, StoredRecord};
use crate::codec::RequestKeys;

/// Most records one bulk call may write; larger imports are split by the caller.
pub const MAX_BULK_RECORDS: usize = 500;

/// One record of a bulk update.
#[derive(Debug, Clone)]
pub struct BulkUpdate {
    /// The record.
    pub id: RecordId,
    /// New values of the masked fields.
    pub changes: Map<String, Json>,
    /// Fields to change (every key of `changes` when empty).
    pub field_mask: Vec<String>,
    /// The version the caller read.
    pub expected_version: i64,
}

fn check_size(n: usize) -> Result<(), Error> {
    if n == 0 {
        return Err(Error::invalid("records", "must name at least one record"));
    }
    if n > MAX_BULK_RECORDS {
        return Err(Error::ResourceExhausted { limit: "MAX_BULK_RECORDS" });
    }
    Ok(())
}

impl RecordStore {
    /// Creates every record of `records` (each like [`Self::create`]) in one transaction, or
    /// none. Bad input of every record is reported at once, paths prefixed `records[i].`; any
    /// other refusal (a duplicate, a missing lookup target, an owner or user field naming nobody
    /// of `org`) is the first one met. The owner and user fields of every record are checked
    /// together, with one query.
    #[allow(clippy::too_many_arguments)]
    pub async fn bulk_create(
        &self,
        org: OrgId,
        module_key: &str,
        records: Vec<Map<String, Json>>,
        owner: Uuid,
        actor: AuditActor,
        ctx: RequestContext,
        source: ChangeSource,
    ) -> Result<Vec<StoredRecord>, Error> {
        check_size(records.len())?;
        self.require(module_key, ObjectRight::Create)?;
        let (catalog, txn) = self.catalog_and_transaction(org).await?;
        let module = catalog.get(module_key)?;
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        let mut prepared = Vec::with_capacity(records.len());
        let mut invalid = Vec::new();
        for (i, input) in records.iter().enumerate() {
            let prefix = format!("records[{i}].");
            let writer = Writer { actor: &actor, ctx: &ctx, source, prefix, guard: self.guard() };
            match self.prepare_create(&txn, &mut keys, &catalog, module, input, owner, &writer).await {
                Ok(record) => prepared.push(record),
                Err(Error::InvalidArgument { violations }) => invalid.extend(violations),
                Err(other) => return Err(other),
            }
        }
        if !invalid.is_empty() {
            return Err(Error::InvalidArgument { violations: invalid });
        }
        let created = self.write_created(&txn, &mut keys, prepared).await?;
        txn.commit().await?;
        Ok(created)
    }

    /// Updates every record of `updates` (each like [`Self::update`]) in one transaction, or
    /// none, reporting bad input like [`Self::bulk_create`]. The user-field values of every
    /// record are checked together, with one query.
    pub async fn bulk_update(
        &self,
        org: OrgId,
        module_key: &str,
        updates: Vec<BulkUpdate>,
        actor: AuditActor,
        ctx: RequestContext,
        source: ChangeSource,
    ) -> Result<Vec<StoredRecord>, Error> {
        check_size(updates.len())?;
        self.require(module_key, ObjectRight::Update)?;
        let (catalog, txn) = self.catalog_and_transaction(org).await?;
        let module = catalog.get(module_key)?;
        let mut keys = RequestKeys::new(&self.keys, self.clock.now());
        let mut updated = Vec::with_capacity(updates.len());
        let mut invalid = Vec::new();
        let mut people = NamedPeople::default();
        for (i, update) in updates.iter().enumerate() {
            let prefix = format!("records[{i}].");
            let writer = Writer { actor: &actor, ctx: &ctx, source, prefix, guard: self.guard() };
            let input = masked_input(&update.changes, &update.field_mask);
            // A record with bad input writes nothing (it is validated before any statement), so
            // the rest can still be checked; the transaction is rolled back below.
            let expected = update.expected_version;
            match self
                .update_in(&txn, &mut keys, &catalog, module, update.id, &input, expected, &writer, &mut people)
                .await
            {
                Ok(record) => updated.push(record),
                Err(Error::InvalidArgument { violations }) => invalid.extend(violations),
                Err(other) => return Err(other),
            }
        }
        if !invalid.is_empty() {
            return Err(Error::InvalidArgument { violations: invalid });
        }
        people.check(&txn, org).await?;
        txn.commit().await?;
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_sizes_are_bounded_on_both_sides() {
        assert!(check_size(1).is_ok() && check_size(MAX_BULK_RECORDS).is_ok());
        assert!(matches!(check_size(0), Err(Error::InvalidArgument { .. })));
        assert!(matches!(check_size(MAX_BULK_RECORDS + 1), Err(Error::ResourceExhausted { .. })));
    }
}
