//! Brute-force protection: pure decisions over the failure counters a store keeps.
//!
//! The store persists one [`FailureCounter`] per (org, normalized username) and one per source IP.
//! Before checking a password the caller asks [`decide`]; after the check it writes back
//! [`record_failure`] or [`record_success`], and audits every [`LockEvent`] it is handed.
//!
//! A decision never reveals whether an account exists: the account counter is keyed by the
//! normalized username typed, user or not, so a made-up name backs off and locks like a real one.

use chrono::{DateTime, Duration, Utc};
use listone_core::{Error, Violations};
use serde::{Deserialize, Serialize};

/// Failures per account allowed without delay inside one window.
pub const DEFAULT_ACCOUNT_FREE_ATTEMPTS: u32 = 5;
/// Failures per account inside one window that lock it.
pub const DEFAULT_ACCOUNT_LOCKOUT_AFTER: u32 = 10;
/// How long a lock lasts, for an account or an IP.
pub const DEFAULT_LOCKOUT_DURATION: Duration = Duration::minutes(15);
/// Failures per source IP allowed without delay inside one window; higher than per account
/// because offices and carrier NAT put many users behind one address.
pub const DEFAULT_IP_FREE_ATTEMPTS: u32 = 20;
/// Failures per source IP inside one window that lock it.
pub const DEFAULT_IP_LOCKOUT_AFTER: u32 = 100;
/// Failures older than this, counted from the first of them, are forgotten.
pub const DEFAULT_WINDOW: Duration = Duration::minutes(15);
/// Delay after the first failure beyond the free ones; doubles with each further failure.
pub const DEFAULT_BASE_BACKOFF: Duration = Duration::seconds(1);
/// The longest backoff delay.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::minutes(5);
/// Upper bound for the lockout duration and the window: past a day a lock is a denial of service.
pub const MAX_THROTTLE_PERIOD: Duration = Duration::days(1);

/// Thresholds and delays for brute-force protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per account allowed without delay inside one window.
    pub account_free_attempts: u32,
    /// Failures per account inside one window that lock it.
    pub account_lockout_after: u32,
    /// How long a lock lasts.
    pub lockout_duration: Duration,
    /// Failures per source IP allowed without delay inside one window.
    pub ip_free_attempts: u32,
    /// Failures per source IP inside one window that lock it.
    pub ip_lockout_after: u32,
    /// How long failures are remembered, from the first failure of the window.
    pub window: Duration,
    /// First backoff delay once the free attempts are used.
    pub base_backoff: Duration,
    /// Cap on the backoff delay.
    pub max_backoff: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_free_attempts: DEFAULT_ACCOUNT_FREE_ATTEMPTS,
            account_lockout_after: DEFAULT_ACCOUNT_LOCKOUT_AFTER,
            lockout_duration: DEFAULT_LOCKOUT_DURATION,
            ip_free_attempts: DEFAULT_IP_FREE_ATTEMPTS,
            ip_lockout_after: DEFAULT_IP_LOCKOUT_AFTER,
            window: DEFAULT_WINDOW,
            base_backoff: DEFAULT_BASE_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
        }
    }
}

impl ThrottlePolicy {
    /// Checks every field and reports every problem at once.
    pub fn validate(&self) -> Result<(), Error> {
        let mut v = Violations::new();
        v.check(self.account_lockout_after == 0, "account_lockout_after", "must be at least 1");
        v.check(
            self.account_free_attempts > self.account_lockout_after,
            "account_free_attempts",
            "must be at most account_lockout_after",
        );
        v.check(self.ip_lockout_after == 0, "ip_lockout_after", "must be at least 1");
        v.check(self.ip_free_attempts > self.ip_lockout_after, "ip_free_attempts", "must be at most ip_lockout_after");
        for (field, period) in [("lockout_duration", self.lockout_duration), ("window", self.window)] {
            v.check(period <= Duration::zero(), field, "must be positive");
            v.check(period > MAX_THROTTLE_PERIOD, field, "must be at most 1 day");
        }
        v.check(self.base_backoff <= Duration::zero(), "base_backoff", "must be positive");
        v.check(self.max_backoff < self.base_backoff, "max_backoff", "must be at least base_backoff");
        v.into_result()
    }

    /// (free attempts, lockout threshold) for one scope.
    fn limits(&self, scope: LockScope) -> (u32, u32) {
        match scope {
            LockScope::Account => (self.account_free_attempts, self.account_lockout_after),
            LockScope::Ip => (self.ip_free_attempts, self.ip_lockout_after),
        }
    }

    /// `base * 2^(failures - free)`, capped at `max_backoff`; none while attempts are free.
    fn backoff(&self, failures: u32, free: u32) -> Option<Duration> {
        let excess = failures.checked_sub(free)?;
        let delay = 1_i32
            .checked_shl(excess)
            .filter(|factor| *factor > 0)
            .and_then(|factor| self.base_backoff.checked_mul(factor))
            .unwrap_or(self.max_backoff);
        Some(delay.min(self.max_backoff))
    }
}

/// What a lock applies to: the account typed, or the address the attempts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockScope {
    /// The (org, normalized username) counter, known user or not.
    Account,
    /// The source IP counter, across every account.
    Ip,
}

/// Failed sign-ins remembered for one account or one source IP; the store persists it as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCounter {
    /// Failures since `window_start`.
    pub failures: u32,
    /// When the first failure of the current window happened; meaningless while `failures` is 0.
    pub window_start: DateTime<Utc>,
    /// The latest failure; backoff is measured from it.
    pub last_failure: Option<DateTime<Utc>>,
    /// Set while locked; a lock in the past no longer applies.
    pub locked_until: Option<DateTime<Utc>>,
}

impl Default for FailureCounter {
    fn default() -> Self {
        Self { failures: 0, window_start: DateTime::<Utc>::UNIX_EPOCH, last_failure: None, locked_until: None }
    }
}

impl FailureCounter {
    /// The lock in force at `now`, if any.
    pub fn active_lock(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| now < *until)
    }

    /// The counter as it stands at `now`: an expired lock or an expired window starts afresh.
    pub fn current(&self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> FailureCounter {
        if self.active_lock(now).is_some() {
            return *self;
        }
        let lock_expired = self.locked_until.is_some();
        let window_expired = self.failures > 0 && now >= self.window_start + policy.window;
        if lock_expired || window_expired { FailureCounter::default() } else { *self }
    }

    /// What this counter alone says about an attempt at `now`.
    fn decide(&self, policy: &ThrottlePolicy, scope: LockScope, now: DateTime<Utc>) -> Decision {
        if let Some(until) = self.active_lock(now) {
            return Decision::Locked { until, scope };
        }
        let counter = self.current(policy, now);
        let delay = policy.backoff(counter.failures, policy.limits(scope).0);
        match counter.last_failure.zip(delay).map(|(last, delay)| last + delay) {
            Some(retry_at) if now < retry_at => Decision::Backoff { retry_after: retry_at - now },
            _ => Decision::Allow,
        }
    }
}

/// Whether a sign-in attempt may proceed to the password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the password.
    Allow,
    /// Refuse without checking; the client may retry after this delay.
    Backoff {
        /// Time left until the next attempt is allowed.
        retry_after: Duration,
    },
    /// Refuse without checking until the lock ends.
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
        /// Which counter is locked.
        scope: LockScope,
    },
}

/// A lock that has just begun; the caller writes it to the audit log with the account or IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEvent {
    /// Which counter locked.
    pub scope: LockScope,
    /// The failure that caused the lock.
    pub locked_at: DateTime<Utc>,
    /// When the lock ends.
    pub until: DateTime<Utc>,
    /// Failures counted in the window, the last one included.
    pub failures: u32,
}

/// Whether an attempt may proceed, given the account's and the source IP's counters at `now`.
///
/// A lock wins over a backoff; with two locks or two backoffs, the longer one is reported, since
/// the client has to wait for both.
pub fn decide(policy: &ThrottlePolicy, account: &FailureCounter, ip: &FailureCounter, now: DateTime<Utc>) -> Decision {
    let by_account = account.decide(policy, LockScope::Account, now);
    let by_ip = ip.decide(policy, LockScope::Ip, now);
    match (by_account, by_ip) {
        (Decision::Locked { until: a, .. }, Decision::Locked { until: i, .. }) if i > a => by_ip,
        (Decision::Locked { .. }, _) => by_account,
        (_, Decision::Locked { .. }) => by_ip,
        (Decision::Backoff { retry_after: a }, Decision::Backoff { retry_after: i }) if i > a => by_ip,
        (Decision::Backoff { .. }, _) => by_account,
        (Decision::Allow, _) => by_ip,
    }
}

/// The counter after a failed attempt at `now`, and the lock event when this failure locks it.
///
/// `scope` picks the thresholds: call it once with the account counter and once with the IP
/// counter. A failure recorded while a lock is in force changes nothing, so a lock is neither
/// extended by hammering nor reported twice.
pub fn record_failure(
    policy: &ThrottlePolicy,
    scope: LockScope,
    counter: &FailureCounter,
    now: DateTime<Utc>,
) -> (FailureCounter, Option<LockEvent>) {
    if counter.active_lock(now).is_some() {
        return (*counter, None);
    }
    let current = counter.current(policy, now);
    let window_start = if current.failures == 0 { now } else { current.window_start };
    let failures = current.failures.saturating_add(1);
    let locked_until = (failures >= policy.limits(scope).1).then(|| now + policy.lockout_duration);
    let next = FailureCounter { failures, window_start, last_failure: Some(now), locked_until };
    (next, locked_until.map(|until| LockEvent { scope, locked_at: now, until, failures }))
}

/// The account counter after a successful sign-in: failures are forgotten, a lock is not (only time
/// or an administrator lifts it; a success during one means the caller skipped [`decide`]).
///
/// The IP counter is never reset on success: an attacker guessing across many accounts from one
/// address would otherwise wipe its record with one sign-in to an account of its own.
pub fn record_success(counter: &FailureCounter) -> FailureCounter {
    FailureCounter { locked_until: counter.locked_until, ..FailureCounter::default() }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-01T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn secs(n: i64) -> Duration {
        Duration::seconds(n)
    }

    /// `n` account failures, each at the moment its backoff allows; returns the last one's instant.
    fn fail_account(policy: &ThrottlePolicy, n: u32) -> (FailureCounter, DateTime<Utc>) {
        let (mut counter, mut now) = (FailureCounter::default(), t0());
        for _ in 0..n {
            if let Decision::Backoff { retry_after } = decide(policy, &counter, &FailureCounter::default(), now) {
                now += retry_after;
            }
            counter = record_failure(policy, LockScope::Account, &counter, now).0;
        }
        (counter, now)
    }

    #[test]
    fn validate_accepts_the_defaults_and_reports_every_bad_field() {
        assert!(ThrottlePolicy::default().validate().is_ok());
        let mut policy = ThrottlePolicy { account_free_attempts: 11, ip_lockout_after: 0, ..ThrottlePolicy::default() };
        (policy.lockout_duration, policy.window) = (Duration::zero(), Duration::days(2));
        (policy.base_backoff, policy.max_backoff) = (secs(-1), secs(-2));
        let Err(Error::InvalidArgument { violations }) = policy.validate() else { panic!("expected violations") };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields[..4], ["account_free_attempts", "ip_lockout_after", "ip_free_attempts", "lockout_duration"]);
        assert_eq!(fields[4..], ["window", "base_backoff", "max_backoff"]);
    }

    #[test]
    fn free_attempts_are_allowed_without_delay() {
        let policy = ThrottlePolicy::default();
        for n in 0..5 {
            let (account, last) = fail_account(&policy, n);
            assert_eq!((last, decide(&policy, &account, &FailureCounter::default(), last)), (t0(), Decision::Allow));
        }
    }

    #[test]
    fn backoff_doubles_from_the_last_failure_and_caps() {
        let policy = ThrottlePolicy { account_lockout_after: 30, ..ThrottlePolicy::default() };
        let clean = FailureCounter::default();
        for (failures, wait) in [(5, 1), (6, 2), (7, 4), (8, 8), (9, 16), (13, 256), (14, 300), (29, 300)] {
            let (account, last) = fail_account(&policy, failures);
            assert_eq!(decide(&policy, &account, &clean, last), Decision::Backoff { retry_after: secs(wait) });
            let halfway = Decision::Backoff { retry_after: secs(wait - wait / 2) };
            assert_eq!(decide(&policy, &account, &clean, last + secs(wait / 2)), halfway);
            assert_eq!(decide(&policy, &account, &clean, last + secs(wait)), Decision::Allow);
        }
        assert_eq!(policy.backoff(u32::MAX, 0), Some(policy.max_backoff), "saturates, never overflows");
        assert_eq!(policy.backoff(36, 5), Some(policy.max_backoff));
    }

    #[test]
    fn lockout_at_threshold_lasts_exactly_lockout_duration_then_counting_starts_afresh() {
        let (policy, clean) = (ThrottlePolicy::default(), FailureCounter::default());
        let (nine, at) = fail_account(&policy, 9);
        let tenth = at + secs(16);
        let (locked, event) = record_failure(&policy, LockScope::Account, &nine, tenth);
        let until = tenth + Duration::minutes(15);
        assert_eq!(event, Some(LockEvent { scope: LockScope::Account, locked_at: tenth, until, failures: 10 }));
        let refused = Decision::Locked { until, scope: LockScope::Account };
        assert_eq!(decide(&policy, &locked, &clean, tenth), refused);
        assert_eq!(decide(&policy, &locked, &clean, until - secs(1)), refused);
        assert_eq!(decide(&policy, &locked, &clean, until), Decision::Allow);
        let (next, event) = record_failure(&policy, LockScope::Account, &locked, until);
        let fresh = FailureCounter { failures: 1, window_start: until, last_failure: Some(until), locked_until: None };
        assert_eq!((next, event), (fresh, None));
    }

    #[test]
    fn lock_event_is_emitted_exactly_once() {
        let policy = ThrottlePolicy::default();
        let (mut counter, mut now) = fail_account(&policy, 9);
        let mut events = Vec::new();
        for _ in 0..5 {
            now += secs(30);
            let (next, event) = record_failure(&policy, LockScope::Account, &counter, now);
            counter = next;
            events.extend(event);
        }
        assert_eq!(events.len(), 1);
        assert_eq!(counter.failures, 10, "failures during a lock are not counted");
        assert_eq!(counter.locked_until, Some(events[0].until), "hammering does not extend the lock");
    }

    #[test]
    fn window_expiry_resets_the_count() {
        let policy = ThrottlePolicy::default();
        let (eight, _) = fail_account(&policy, 8);
        let expiry = eight.window_start + policy.window;
        assert_eq!(eight.current(&policy, expiry - secs(1)).failures, 8);
        assert_eq!(eight.current(&policy, expiry), FailureCounter::default());
        let (next, event) = record_failure(&policy, LockScope::Account, &eight, expiry);
        assert_eq!((next.failures, next.window_start, event), (1, expiry, None));
    }

    #[test]
    fn ip_lockout_is_independent_of_accounts() {
        let (policy, clean) = (ThrottlePolicy::default(), FailureCounter::default());
        let (mut ip, mut events) = (clean, Vec::new());
        // One address tries one password on each of 100 accounts: each account sees one failure.
        for n in 0..100 {
            if n == 20 {
                assert_eq!(decide(&policy, &clean, &ip, t0() + secs(19)), Decision::Backoff { retry_after: secs(1) });
            }
            let (next, event) = record_failure(&policy, LockScope::Ip, &ip, t0() + secs(n));
            ip = next;
            events.extend(event);
        }
        let (last, until) = (t0() + secs(99), t0() + secs(99) + policy.lockout_duration);
        assert_eq!(events, [LockEvent { scope: LockScope::Ip, locked_at: last, until, failures: 100 }]);
        assert_eq!(decide(&policy, &clean, &ip, last), Decision::Locked { until, scope: LockScope::Ip });
        assert_eq!(decide(&policy, &clean, &clean, last), Decision::Allow, "other addresses are unaffected");
    }

    #[test]
    fn the_longer_wait_of_account_and_ip_is_reported() {
        let policy = ThrottlePolicy::default();
        let (account, at) = fail_account(&policy, 7); // 4 s to wait at `at`
        let ip = FailureCounter { failures: 23, window_start: at, last_failure: Some(at), locked_until: None }; // 8 s
        assert_eq!(decide(&policy, &account, &ip, at), Decision::Backoff { retry_after: secs(8) });
        let account_lock = FailureCounter { locked_until: Some(at + secs(60)), ..account };
        let by_account = Decision::Locked { until: at + secs(60), scope: LockScope::Account };
        assert_eq!(decide(&policy, &account_lock, &ip, at), by_account, "a lock wins over a backoff");
        let ip_lock = FailureCounter { locked_until: Some(at + secs(90)), ..ip };
        let by_ip = Decision::Locked { until: at + secs(90), scope: LockScope::Ip };
        assert_eq!(decide(&policy, &account_lock, &ip_lock, at), by_ip);
    }

    #[test]
    fn success_resets_the_account_counter_but_not_the_ip_or_a_lock() {
        let (policy, clean) = (ThrottlePolicy::default(), FailureCounter::default());
        let (seven, _) = fail_account(&policy, 7);
        assert_eq!(record_success(&seven), clean);
        let ip = FailureCounter { failures: 21, window_start: t0(), last_failure: Some(t0()), locked_until: None };
        let backoff = Decision::Backoff { retry_after: secs(2) };
        assert_eq!(decide(&policy, &record_success(&seven), &ip, t0()), backoff, "the IP still waits");
        let (locked, at) = fail_account(&policy, 10);
        assert!(matches!(decide(&policy, &record_success(&locked), &clean, at), Decision::Locked { .. }));
    }
}
