//! [`RefreshGate`]: the single-flight, rate-limited door every key refresh goes through, so a
//! flood of tokens naming unknown keys costs at most one reload per interval.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use listone_core::{Clock, Error};

/// Lets one refresh run at a time and at most one start per `min_interval` of the clock.
#[derive(Debug)]
pub(super) struct RefreshGate {
    min_interval: Duration,
    /// When the last refresh started; held while a refresh runs, so callers queue behind it.
    last_started: tokio::sync::Mutex<Option<DateTime<Utc>>>,
    /// Counts finished refreshes: a caller that waited while one ran shares its result.
    finished: AtomicU64,
}

impl RefreshGate {
    /// A gate letting a refresh start at most once per `min_interval`.
    pub(super) fn new(min_interval: Duration) -> Self {
        Self { min_interval, last_started: tokio::sync::Mutex::new(None), finished: AtomicU64::new(0) }
    }

    /// Runs `refresh` unless one finished while this caller waited for the gate (its result is
    /// shared) or one started less than `min_interval` ago; `Ok(false)` when it did not run.
    pub(super) async fn run<F, Fut>(&self, clock: &dyn Clock, refresh: F) -> Result<bool, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), Error>>,
    {
        let seen = self.finished.load(Ordering::Acquire);
        let mut last_started = self.last_started.lock().await;
        if self.finished.load(Ordering::Acquire) != seen {
            return Ok(false);
        }
        let now = clock.now();
        if last_started.is_some_and(|at| now < at + self.min_interval) {
            return Ok(false);
        }
        // Counted as started even if it fails: a failing source is not retried in a loop.
        *last_started = Some(now);
        let result = refresh().await;
        self.finished.fetch_add(1, Ordering::Release);
        result.map(|()| true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use listone_core::TestClock;

    use super::*;

    #[tokio::test]
    async fn refreshes_are_rate_limited_on_the_clock_and_failures_count() {
        let clock = TestClock::starting_now();
        let gate = RefreshGate::new(Duration::seconds(30));
        let runs = AtomicUsize::new(0);
        let ok = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        assert!(gate.run(&clock, ok).await.unwrap());
        assert!(!gate.run(&clock, ok).await.unwrap());
        clock.advance(Duration::seconds(29));
        assert!(!gate.run(&clock, ok).await.unwrap());
        clock.advance(Duration::seconds(1));
        assert!(gate.run(&clock, || async { Err(Error::internal("down")) }).await.is_err());
        assert!(!gate.run(&clock, ok).await.unwrap(), "a failed refresh also waits out the interval");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh_even_without_an_interval() {
        let clock = TestClock::starting_now();
        let gate = Arc::new(RefreshGate::new(Duration::zero()));
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, wait) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (gate, runs, clock, mut wait) = (gate.clone(), runs.clone(), clock.clone(), wait.clone());
            tasks.push(tokio::spawn(async move {
                gate.run(&clock, || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    // Hold the gate until every caller has queued behind it.
                    wait.wait_for(|go| *go).await.unwrap();
                    Ok(())
                })
                .await
                .unwrap()
            }));
        }
        // On the single-threaded test runtime, yielding lets every task reach the gate.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        let mut ran = 0;
        for task in tasks {
            ran += usize::from(task.await.unwrap());
        }
        assert_eq!(runs.load(Ordering::SeqCst), ran);
        assert_eq!(ran, 1);
    }
}
