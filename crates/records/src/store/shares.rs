//! The records crate's answer to identity's [`RecordCatalog`] port: which records an access
//! policy's manual shares may name (live records of the organization, with their module).

use std::collections::{BTreeMap, BTreeSet};

use listone_core::{Error, OrgId, RecordId};
use listone_identity::access::RecordCatalog;

use super::{RecordStore, rows};

#[async_trait::async_trait]
impl RecordCatalog for RecordStore {
    /// Ids only, on the pool: nothing of a record is read, so nothing is audited.
    async fn live_records(&self, org: OrgId, ids: &BTreeSet<RecordId>) -> Result<BTreeMap<RecordId, String>, Error> {
        let ids: Vec<RecordId> = ids.iter().copied().collect();
        Ok(rows::live_module_keys(self.db.conn(), org, &ids).await?.into_iter().collect())
    }
}
