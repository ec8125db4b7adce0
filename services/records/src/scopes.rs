//! The OAuth scopes the records API checks. [`WRITE`] includes [`READ`].

use listone_core::auth::ScopePair;

/// Read records, counts, related lists and field history.
pub const READ: &str = "records.read";
/// Create, change and delete records (single and bulk).
pub const WRITE: &str = "records.write";

/// Every scope the records API knows, narrowest first.
pub const ALL: &[&str] = &[READ, WRITE];

/// The pair the API checks: [`WRITE`] includes [`READ`].
pub const SCOPES: ScopePair = ScopePair { read: READ, write: WRITE };
