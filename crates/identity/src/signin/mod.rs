//! Sign-in policy: brute-force protection and session lifetime, as pure decisions over the data a
//! store keeps. Time is always an argument; the caller reads it from the `Clock`.
//!
//! - [`throttle`]: [`ThrottlePolicy`] and [`decide`] turn per-account and per-IP
//!   [`FailureCounter`]s into allow, exponential backoff or lockout; [`record_failure`] hands back
//!   the [`LockEvent`] to audit. Unknown usernames are throttled like real ones.
//! - [`session_policy`]: [`SessionPolicy`] and [`session_state`] apply idle and absolute timeouts
//!   and revocation to [`SessionTimes`]; [`sessions_to_evict`] keeps a user under the session cap.

pub mod session_policy;
pub mod throttle;

pub use session_policy::{SessionPolicy, SessionState, SessionTimes, session_state, sessions_to_evict, touch};
pub use throttle::{
    Decision, FailureCounter, LockEvent, LockScope, ThrottlePolicy, decide, record_failure, record_success,
};
