//! Users of an organization: provisioning, invitations, activation, deactivation, deletion, and
//! assignment to subscribed apps within their seats.
//!
//! - [`provisioning`]: [`NewUser`] and its rules (pure).
//! - [`store`]: [`UserStore`]; every change commits with its audit event.

pub mod provisioning;
pub mod store;

pub use provisioning::NewUser;
pub use store::{Invite, User, UserStatus, UserStore};
