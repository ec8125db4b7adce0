//! `listone`: the all-in-one server and admin CLI. Thin wiring only; rules live in `crates/`.
//!
//! - [`context`]: [`AppContext`], what every service is built from (database, clock, keys).
//! - [`startup`]: opening keys and the database, with one-line operator errors ([`StartupError`]).
//! - [`server`]: gRPC and HTTP on one port, health, reflection, limits, graceful shutdown.
//! - [`system`]: the `listone.system.v1.SystemService` implementation.
//! - [`maintenance`]: background work on the clock (audit checkpoints, retention).
//! - [`http`]: plain HTTP endpoints (liveness and readiness probes).
//! - [`telemetry`]: tracing subscriber and request ids.
//! - [`cli`]: command-line definitions; [`audit_cli`]: `listone audit verify`; [`admin_cli`]:
//!   `listone org create`, `user create`, `group add`, `scim token create`.

pub mod admin_cli;
pub mod audit_cli;
pub mod cli;
pub mod context;
pub mod http;
pub mod maintenance;
pub mod oidc;
pub mod server;
pub mod startup;
pub mod system;
pub mod telemetry;

pub use context::AppContext;
pub use server::{RunningServer, ServerOptions};
pub use startup::StartupError;
