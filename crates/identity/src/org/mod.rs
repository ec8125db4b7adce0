//! Organizations (the tenants) and their app subscriptions.
//!
//! - [`registration`]: what an organization registers with and the rules it must meet.
//! - [`store`]: [`OrgStore`]: register, read, suspend and reactivate, require MFA, list
//!   subscriptions; audited.

pub mod registration;
pub mod store;

pub use registration::{Jurisdiction, OrgRegistration, SubscriptionRequest};
pub use store::{Org, OrgStatus, OrgStore, Subscription};
