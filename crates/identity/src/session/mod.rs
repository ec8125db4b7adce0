//! Sign-in sessions: created on sign-in, checked on every request (idle and absolute timeouts
//! from [`crate::signin::SessionPolicy`]), listed and revoked by users and admins, and all
//! revoked at once when a user is deactivated.
//!
//! - [`store`]: [`SessionStore`] and [`revoke_user_sessions`].

pub mod store;

pub use store::{Session, SessionStore, revoke_user_sessions};
