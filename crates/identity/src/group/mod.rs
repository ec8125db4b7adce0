//! Groups of users inside one organization, for group-based access and SCIM `/Groups`.
//!
//! - [`store`]: [`GroupStore`]: create, rename, delete, add and remove members; audited.

pub mod store;

pub use store::{Group, GroupStore};
