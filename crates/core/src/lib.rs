//! List One core: the vocabulary every other crate shares.
//!
//! - [`ids`]: UUIDv7 newtypes (`OrgId`, `UserId`, `RecordId`, ...).
//! - [`principal`]: who is calling (`Principal`, `Actor`, `App`).
//! - [`error`]: the platform [`Error`] and its single mapping onto `tonic::Status`.
//! - [`auth`]: the [`auth::Authenticator`] port and [`auth::RequestMeta`] (request id, IP, user agent).
//! - [`clock`]: the [`Clock`] port (system and test clocks).
//! - [`secret`]: [`Secret`], a wrapper whose Debug never prints personal data or credentials.
//! - [`config`]: flags, environment and TOML file, with documented precedence.
//! - [`db`]: SQLite / PostgreSQL connection through sea-orm.
//! - [`outbox`]: transactional outbox and its at-least-once [`outbox::Dispatcher`].
//! - [`group_commit`]: [`group_commit::GroupQueue`], how a single writer gathers concurrent requests into batches.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod group_commit;
pub mod ids;
pub mod outbox;
pub mod principal;
pub mod secret;

pub use clock::{Clock, SharedClock, SystemClock, TestClock};
pub use db::{Database, Engine};
pub use error::{Error, FieldViolation, Violations};
pub use ids::{EventId, FieldId, GroupId, ModuleId, OrgId, RecordId, RequestId, RoleId, SessionId, SubjectId, UserId};
pub use principal::{Actor, App, Principal};
pub use secret::Secret;

/// Result with the platform error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
