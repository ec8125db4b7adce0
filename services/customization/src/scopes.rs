//! The OAuth scopes the module-definition API checks. [`ADMIN`] includes [`READ`].

use listone_core::auth::ScopePair;

/// Read module definitions and their history.
pub const READ: &str = "customization.read";
/// Create, change and delete module definitions; install the standard catalog.
pub const ADMIN: &str = "customization.admin";

/// Every scope the customization API knows, narrowest first.
pub const ALL: &[&str] = &[READ, ADMIN];

/// The pair the API checks: [`ADMIN`] includes [`READ`].
pub const SCOPES: ScopePair = ScopePair { read: READ, write: ADMIN };
