//! Session lifetime: idle and absolute timeouts, revocation, and the per-user session cap.
//!
//! The store keeps a [`SessionTimes`] per session; every request asks [`session_state`] before
//! trusting the session and then records activity with [`touch`]. Creating a session first evicts
//! what [`sessions_to_evict`] names.

use chrono::{DateTime, Duration, Utc};
use listone_core::{Error, SessionId, Violations};
use serde::{Deserialize, Serialize};

/// A session unused for this long ends.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however active.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Live sessions one user may hold; signing in once more evicts the least recently used.
pub const DEFAULT_MAX_SESSIONS_PER_USER: u32 = 20;
/// The shortest timeout accepted: anything shorter signs people out mid-sentence.
pub const MIN_SESSION_TIMEOUT: Duration = Duration::minutes(1);
/// The longest absolute timeout accepted: a stolen cookie must stop working eventually.
pub const MAX_ABSOLUTE_TIMEOUT: Duration = Duration::days(30);

/// How long sessions live and how many a user may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after creation.
    pub absolute_timeout: Duration,
    /// Live sessions one user may hold.
    pub max_sessions_per_user: u32,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_timeout: DEFAULT_ABSOLUTE_TIMEOUT,
            max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
        }
    }
}

impl SessionPolicy {
    /// Checks every field and reports every problem at once.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(self.idle_timeout < MIN_SESSION_TIMEOUT, "idle_timeout", "must be at least 1 minute");
        v.check(self.idle_timeout > self.absolute_timeout, "idle_timeout", "must be at most absolute_timeout");
        v.check(self.absolute_timeout < MIN_SESSION_TIMEOUT, "absolute_timeout", "must be at least 1 minute");
        v.check(self.absolute_timeout > MAX_ABSOLUTE_TIMEOUT, "absolute_timeout", "must be at most 30 days");
        v.check(self.max_sessions_per_user == 0, "max_sessions_per_user", "must be at least 1");
        v.into_result()
    }
}

/// The instants that decide a session's fate; the store persists them with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTimes {
    /// Sign-in; the absolute timeout counts from here.
    pub created_at: DateTime<Utc>,
    /// Latest request; the idle timeout counts from here.
    pub last_seen_at: DateTime<Utc>,
    /// Set when the user, an admin or a deactivation revoked the session.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl SessionTimes {
    /// A session signed in at `now`.
    pub fn started(now: DateTime<Utc>) -> Self {
        Self { created_at: now, last_seen_at: now, revoked_at: None }
    }
}

/// Whether a session may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Usable; ends at `expires_at` unless touched again (and never after the absolute timeout).
    Active {
        /// The earlier of the idle and the absolute deadline.
        expires_at: DateTime<Utc>,
    },
    /// Unused for the idle timeout.
    IdleExpired,
    /// Older than the absolute timeout.
    AbsoluteExpired,
    /// Revoked by the user, an admin or a deactivation.
    Revoked,
}

impl SessionState {
    /// Whether the session may be used.
    pub fn is_active(&self) -> bool {
        matches!(self, SessionState::Active { .. })
    }
}

/// The session's state at `now`. A deadline is exclusive: at the exact instant it is expired.
///
/// Revocation wins whatever its recorded time, so a revoke cuts access at once even when the node
/// that wrote it runs slightly ahead. When both deadlines have passed, the one that passed first
/// names the state (the absolute one on a tie).
pub fn session_state(policy: &SessionPolicy, times: &SessionTimes, now: DateTime<Utc>) -> SessionState {
    if times.revoked_at.is_some() {
        return SessionState::Revoked;
    }
    let idle_deadline = times.last_seen_at + policy.idle_timeout;
    let absolute_deadline = times.created_at + policy.absolute_timeout;
    let expires_at = idle_deadline.min(absolute_deadline);
    if now < expires_at {
        SessionState::Active { expires_at }
    } else if absolute_deadline <= idle_deadline {
        SessionState::AbsoluteExpired
    } else {
        SessionState::IdleExpired
    }
}

/// The new `last_seen_at` for activity at `now`, or `None` when it would not move forward (a
/// request racing an earlier one, or a clock behind), so the store skips the write.
///
/// Touch only a session [`session_state`] found active: touching never revives an expired one.
pub fn touch(times: &SessionTimes, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (now > times.last_seen_at).then_some(now)
}

/// The sessions to end before a user signs in once more, least recently used first, so that the
/// new session keeps the user at `max_sessions_per_user`.
///
/// `active_sessions` holds the user's live sessions with their `last_seen_at`. Ties are broken by
/// id, which for UUIDv7 ids means the older session goes first.
pub fn sessions_to_evict(policy: &SessionPolicy, active_sessions: &[(SessionId, DateTime<Utc>)]) -> Vec<SessionId> {
    let keep = usize::try_from(policy.max_sessions_per_user).unwrap_or(usize::MAX).saturating_sub(1);
    let excess = active_sessions.len().saturating_sub(keep);
    let mut by_last_seen: Vec<_> = active_sessions.to_vec();
    by_last_seen.sort_by_key(|(id, last_seen)| (*last_seen, *id));
    by_last_seen.into_iter().take(excess).map(|(id, _)| id).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use uuid::Uuid;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-01T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn mins(n: i64) -> Duration {
        Duration::minutes(n)
    }

    fn id(n: u128) -> SessionId {
        SessionId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn default_policy_is_valid() {
        let policy = SessionPolicy::default();
        assert!(policy.validate().is_ok());
        assert_eq!((policy.idle_timeout, policy.absolute_timeout), (mins(30), Duration::hours(12)));
        assert_eq!(policy.max_sessions_per_user, 20);
    }

    #[test]
    fn validate_reports_every_bad_field() {
        let policy = SessionPolicy {
            idle_timeout: Duration::seconds(30),
            absolute_timeout: Duration::seconds(10),
            max_sessions_per_user: 0,
        };
        let Err(Error::InvalidArgument { violations }) = policy.validate() else { panic!("expected violations") };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["idle_timeout", "idle_timeout", "absolute_timeout", "max_sessions_per_user"]);
        let too_long = SessionPolicy { absolute_timeout: Duration::days(31), ..SessionPolicy::default() };
        assert!(too_long.validate().is_err());
        let edges =
            SessionPolicy { idle_timeout: mins(1), absolute_timeout: Duration::days(30), max_sessions_per_user: 1 };
        assert!(edges.validate().is_ok());
    }

    #[test]
    fn fresh_session_is_active_until_the_idle_deadline() {
        let policy = SessionPolicy::default();
        let times = SessionTimes::started(t0());
        assert_eq!(session_state(&policy, &times, t0()), SessionState::Active { expires_at: t0() + mins(30) });
        let just_before = t0() + mins(30) - Duration::nanoseconds(1);
        assert!(session_state(&policy, &times, just_before).is_active());
    }

    #[test]
    fn exactly_at_the_idle_timeout_the_session_is_idle_expired() {
        let policy = SessionPolicy::default();
        let times = SessionTimes { last_seen_at: t0() + mins(60), ..SessionTimes::started(t0()) };
        assert!(session_state(&policy, &times, t0() + mins(89)).is_active());
        assert_eq!(session_state(&policy, &times, t0() + mins(90)), SessionState::IdleExpired);
    }

    #[test]
    fn an_active_session_still_ends_at_the_absolute_timeout() {
        let policy = SessionPolicy::default();
        let end = t0() + Duration::hours(12);
        let busy = SessionTimes { last_seen_at: end - mins(10), ..SessionTimes::started(t0()) };
        assert_eq!(session_state(&policy, &busy, end - mins(1)), SessionState::Active { expires_at: end });
        assert_eq!(session_state(&policy, &busy, end), SessionState::AbsoluteExpired);
    }

    #[test]
    fn when_both_deadlines_passed_the_earlier_one_names_the_state() {
        let policy = SessionPolicy::default();
        let end = t0() + Duration::hours(12);
        let went_idle_first = SessionTimes { last_seen_at: t0() + mins(60), ..SessionTimes::started(t0()) };
        assert_eq!(session_state(&policy, &went_idle_first, end + mins(1)), SessionState::IdleExpired);
        let tie = SessionTimes { last_seen_at: end - mins(30), ..SessionTimes::started(t0()) };
        assert_eq!(session_state(&policy, &tie, end), SessionState::AbsoluteExpired);
    }

    #[test]
    fn revocation_wins_immediately_even_if_recorded_slightly_ahead() {
        let policy = SessionPolicy::default();
        let revoked = SessionTimes { revoked_at: Some(t0() + mins(2)), ..SessionTimes::started(t0()) };
        assert_eq!(session_state(&policy, &revoked, t0() + mins(1)), SessionState::Revoked);
        assert_eq!(session_state(&policy, &revoked, t0() + Duration::days(1)), SessionState::Revoked);
    }

    #[test]
    fn touch_moves_last_seen_only_forward() {
        let times = SessionTimes { last_seen_at: t0() + mins(5), ..SessionTimes::started(t0()) };
        assert_eq!(touch(&times, t0() + mins(6)), Some(t0() + mins(6)));
        assert_eq!(touch(&times, t0() + mins(5)), None);
        assert_eq!(touch(&times, t0() + mins(4)), None);
    }

    #[test]
    fn touching_extends_the_idle_deadline() {
        let policy = SessionPolicy::default();
        let mut times = SessionTimes::started(t0());
        times.last_seen_at = touch(&times, t0() + mins(29)).unwrap();
        assert_eq!(
            session_state(&policy, &times, t0() + mins(45)),
            SessionState::Active { expires_at: t0() + mins(59) }
        );
    }

    #[test]
    fn under_the_cap_nothing_is_evicted() {
        let policy = SessionPolicy { max_sessions_per_user: 3, ..SessionPolicy::default() };
        assert!(sessions_to_evict(&policy, &[]).is_empty());
        assert!(sessions_to_evict(&policy, &[(id(1), t0()), (id(2), t0())]).is_empty());
    }

    #[test]
    fn at_the_cap_the_least_recently_used_go_first() {
        let policy = SessionPolicy { max_sessions_per_user: 3, ..SessionPolicy::default() };
        let sessions = [(id(1), t0() + mins(9)), (id(2), t0() + mins(1)), (id(3), t0() + mins(5))];
        assert_eq!(sessions_to_evict(&policy, &sessions), [id(2)]);
        // Already over the cap (the policy was lowered): evict down to one below it, oldest first.
        let more = [(id(4), t0() + mins(3)), (id(5), t0() + mins(7))];
        let all: Vec<_> = sessions.iter().chain(&more).copied().collect();
        assert_eq!(sessions_to_evict(&policy, &all), [id(2), id(4), id(3)]);
    }

    #[test]
    fn ties_in_last_seen_evict_the_older_id_first() {
        let policy = SessionPolicy { max_sessions_per_user: 2, ..SessionPolicy::default() };
        let sessions = [(id(7), t0()), (id(3), t0())];
        assert_eq!(sessions_to_evict(&policy, &sessions), [id(3)]);
    }

    #[test]
    fn a_cap_of_one_replaces_the_existing_session() {
        let policy = SessionPolicy { max_sessions_per_user: 1, ..SessionPolicy::default() };
        assert_eq!(sessions_to_evict(&policy, &[(id(1), t0())]), [id(1)]);
    }

    #[test]
    fn session_times_round_trip_through_serde() {
        let times = SessionTimes { revoked_at: Some(t0() + mins(3)), ..SessionTimes::started(t0()) };
        let json = serde_json::to_string(&times).unwrap();
        assert_eq!(serde_json::from_str::<SessionTimes>(&json).unwrap(), times);
    }
}
