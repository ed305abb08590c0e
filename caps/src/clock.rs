//! The clock gateway behind clock keys: `now()` and `sleep(seconds)`.
//!
//! [`Clock::Host`] reads the host's wall clock; its sleeps go on the [`IoPool`]'s timer (one
//! thread and a deadline heap for all sleeps, not a worker per sleep) and complete through the
//! pool's channel, so the kernel's thread never waits.
//!
//! [`Clock::Virtual`] is the deterministic mode: a [`VirtualClock`] whose time starts at a given
//! value and moves only when sleeps end. A sleep registers a virtual deadline and returns; when
//! no process can run, the kernel calls [`VirtualClock::advance`], which moves time to the
//! earliest deadline and completes every sleep due then (in the order they were asked) through
//! the pool's channel like any other completion. Two processes sleeping 2 s and 1 s therefore
//! wake at virtual times +1 and +2, in that order, on every machine. Virtual time does not wait
//! for real I/O: `advance` is for when nothing is ready, whatever else is pending.
//!
//! **Invariant: virtual time never goes backwards, and it changes only in `advance`, to a
//! deadline some sleep asked for.** Durations are validated first ([`sleep_duration`]): NaN,
//! negative and longer than [`MAX_SLEEP_SECONDS`] are refused with a [`ClockError`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::pool::{lock, IoPool, Outcome, PoolError};

/// The longest sleep accepted, in seconds (366 days): longer waits are far more likely a unit
/// mistake than an intent, and a program can sleep in steps.
pub const MAX_SLEEP_SECONDS: f64 = 366.0 * 24.0 * 3600.0;

/// A refused clock operation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ClockError {
    #[error("sleep: the duration is not a number")]
    NotANumber,
    #[error("sleep: negative duration {0}")]
    Negative(f64),
    #[error("sleep: duration {0} s is longer than the limit ({MAX_SLEEP_SECONDS} s)")]
    TooLong(f64),
    #[error("virtual clock: start time {0} is not a finite, non-negative number of seconds")]
    BadStart(f64),
    #[error("virtual clock: time would pass the largest time it can represent")]
    Overflow,
}

/// Why a sleep did not start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SleepError {
    #[error(transparent)]
    Clock(#[from] ClockError),
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// What a clock's sleep completes with: the pool's `T` is made `From` it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slept;

/// Validates a sleep's duration.
///
/// # Errors
/// `ClockError` for NaN, a negative duration, or one longer than [`MAX_SLEEP_SECONDS`]
/// (infinity included).
pub fn sleep_duration(seconds: f64) -> Result<Duration, ClockError> {
    if seconds.is_nan() {
        return Err(ClockError::NotANumber);
    }
    if seconds < 0.0 {
        return Err(ClockError::Negative(seconds));
    }
    if seconds > MAX_SLEEP_SECONDS {
        return Err(ClockError::TooLong(seconds));
    }
    // In range by the checks above; `try_` keeps this total anyway.
    Duration::try_from_secs_f64(seconds).map_err(|_| ClockError::TooLong(seconds))
}

/// The host's wall clock as seconds since the Unix epoch (negative before it).
///
/// # Ambient Authority
/// Reads the host's clock.
pub fn host_now() -> f64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The gateway behind a clock key.
#[derive(Clone, Debug)]
pub enum Clock {
    /// The host's clock; sleeps wait in real time on the pool's timer.
    Host,
    /// Deterministic time (see the module documentation).
    Virtual(VirtualClock),
}

impl Clock {
    /// Seconds since the Unix epoch.
    pub fn now(&self) -> f64 {
        match self {
            Clock::Host => host_now(),
            Clock::Virtual(v) => v.now(),
        }
    }

    /// Starts a sleep whose end arrives from `pool` as `(ticket, T::from(Slept))`. Never
    /// blocks. For a virtual clock the end comes from [`VirtualClock::advance`].
    ///
    /// # Errors
    /// `SleepError::Clock` for a duration `sleep_duration` refuses or a virtual deadline past
    /// the representable time; `SleepError::Pool` if the pool refuses the deadline or is
    /// shutting down.
    pub fn sleep<T: Outcome + From<Slept>>(
        &self,
        pool: &IoPool<T>,
        ticket: u64,
        seconds: f64,
    ) -> Result<(), SleepError> {
        match self {
            Clock::Host => Ok(pool.after(ticket, sleep_duration(seconds)?, T::from(Slept))?),
            Clock::Virtual(v) => Ok(v.sleep(ticket, seconds)?),
        }
    }
}

/// A deterministic clock. Clones share the same time and sleepers (one per process tree).
#[derive(Clone, Debug)]
pub struct VirtualClock {
    inner: Arc<Mutex<VirtualState>>,
}

#[derive(Debug)]
struct VirtualState {
    /// Time since the Unix epoch.
    now: Duration,
    /// `(deadline, arrival, ticket)`: earliest deadline first, then first asked.
    sleepers: BinaryHeap<Reverse<(Duration, u64, u64)>>,
    next_seq: u64,
}

impl VirtualClock {
    /// A clock reading `seconds` since the Unix epoch.
    ///
    /// # Errors
    /// `ClockError::BadStart` for NaN, infinite or negative `seconds`.
    pub fn starting_at(seconds: f64) -> Result<VirtualClock, ClockError> {
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(ClockError::BadStart(seconds));
        }
        let now =
            Duration::try_from_secs_f64(seconds).map_err(|_| ClockError::BadStart(seconds))?;
        Ok(VirtualClock::at(now))
    }

    /// A clock reading `now` since the Unix epoch, exactly (for restoring a snapshot).
    pub fn at(now: Duration) -> VirtualClock {
        VirtualClock {
            inner: Arc::new(Mutex::new(VirtualState {
                now,
                sleepers: BinaryHeap::new(),
                next_seq: 0,
            })),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> f64 {
        self.now_exact().as_secs_f64()
    }

    /// The time exactly, as a duration since the Unix epoch.
    pub fn now_exact(&self) -> Duration {
        lock(&self.inner).now
    }

    /// Registers a sleep ending at `now + seconds`; [`VirtualClock::advance`] completes it.
    ///
    /// # Errors
    /// `ClockError` for a duration `sleep_duration` refuses, or a deadline past the largest
    /// representable time.
    pub fn sleep(&self, ticket: u64, seconds: f64) -> Result<(), ClockError> {
        let d = sleep_duration(seconds)?;
        let mut state = lock(&self.inner);
        let deadline = state.now.checked_add(d).ok_or(ClockError::Overflow)?;
        let seq = state.next_seq;
        state.next_seq += 1;
        state.sleepers.push(Reverse((deadline, seq, ticket)));
        Ok(())
    }

    /// Whether `other` is a clone of this clock (the same time and sleepers).
    pub fn same_as(&self, other: &VirtualClock) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Sleeps not yet ended.
    pub fn sleepers(&self) -> usize {
        lock(&self.inner).sleepers.len()
    }

    /// Moves time to the earliest deadline and completes, through `pool`, every sleep due then
    /// (in the order they were asked). Returns the new time, or `None` (time unchanged) if no
    /// sleep is pending.
    pub fn advance<T: Outcome + From<Slept>>(&self, pool: &IoPool<T>) -> Option<f64> {
        let mut state = lock(&self.inner);
        let Reverse((at, _, _)) = *state.sleepers.peek()?;
        // Deadlines are never before `now` (they are `now + d` with `d >= 0`).
        state.now = state.now.max(at);
        while let Some(&Reverse((deadline, _, ticket))) = state.sleepers.peek() {
            if deadline > at {
                break;
            }
            state.sleepers.pop();
            pool.complete(ticket, T::from(Slept));
        }
        Some(state.now.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::Panicked;

    /// What the tests' pool carries.
    #[derive(Debug)]
    enum Woke {
        Slept,
        Panicked,
    }

    impl From<Slept> for Woke {
        fn from(_: Slept) -> Woke {
            Woke::Slept
        }
    }

    impl From<Panicked> for Woke {
        fn from(_: Panicked) -> Woke {
            Woke::Panicked
        }
    }

    fn pool() -> IoPool<Woke> {
        IoPool::new().expect("the default sizes are valid")
    }

    const WAIT: Duration = Duration::from_secs(60);

    #[test]
    fn durations_are_validated() {
        assert_eq!(sleep_duration(0.0), Ok(Duration::ZERO));
        assert_eq!(sleep_duration(-0.0), Ok(Duration::ZERO));
        assert_eq!(sleep_duration(1.5), Ok(Duration::from_millis(1500)));
        assert_eq!(sleep_duration(f64::NAN), Err(ClockError::NotANumber));
        assert_eq!(sleep_duration(-1.0), Err(ClockError::Negative(-1.0)));
        assert_eq!(
            sleep_duration(f64::INFINITY),
            Err(ClockError::TooLong(f64::INFINITY))
        );
        assert_eq!(sleep_duration(1e300), Err(ClockError::TooLong(1e300)));
        assert!(sleep_duration(MAX_SLEEP_SECONDS).is_ok());
        let msg = sleep_duration(-2.5).unwrap_err().to_string();
        assert_eq!(msg, "sleep: negative duration -2.5");
    }

    #[test]
    fn host_clock_reads_the_epoch_scale_and_refuses_bad_sleeps() {
        // After 2020-01-01: a sanity check on the unit, not a timing assertion.
        assert!(Clock::Host.now() > 1_577_836_800.0);
        let pool = pool();
        for bad in [f64::NAN, -1.0, f64::INFINITY, 1e12] {
            let err = Clock::Host.sleep(&pool, 1, bad).unwrap_err();
            assert!(matches!(err, SleepError::Clock(_)), "{err}");
        }
        assert_eq!(pool.pending(), 0);
    }

    #[test]
    fn host_sleep_completes_through_the_pool_timer_in_deadline_order() {
        let pool = pool();
        let clock = Clock::Host;
        // A long sleep first, then a short one: the short one ends first. The long one is
        // still pending when the pool is dropped, and the drop does not wait for it.
        clock.sleep(&pool, 1, 3600.0).unwrap();
        // Half a second apart: only a scheduler stall that long between two calls could
        // reorder them.
        clock.sleep(&pool, 2, 0.5).unwrap();
        clock.sleep(&pool, 3, 0.0).unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            let (ticket, c) = pool.recv_timeout(WAIT).expect("a short sleep ends");
            assert!(matches!(c, Woke::Slept));
            got.push(ticket);
        }
        assert_eq!(got, [3, 2]);
        assert_eq!(pool.pending(), 1);
        assert!(pool.try_recv().is_none());
        drop(pool);
    }

    #[test]
    fn virtual_clock_refuses_bad_starts() {
        for bad in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(matches!(
                VirtualClock::starting_at(bad),
                Err(ClockError::BadStart(_))
            ));
        }
    }

    #[test]
    fn virtual_clock_advances_exactly_by_sleeps() {
        let pool = pool();
        let v = VirtualClock::starting_at(1000.0).unwrap();
        let clock = Clock::Virtual(v.clone());
        assert_eq!(clock.now(), 1000.0);
        assert_eq!(v.advance(&pool), None);
        assert_eq!(clock.now(), 1000.0);
        // One sleeper at a time: time is the start plus the sum of the sleeps, exactly.
        let mut expected = Duration::from_secs(1000);
        for (ticket, d) in [(1, 0.25), (2, 0.5), (3, 0.1), (4, 0.1), (5, 0.1), (6, 0.0)] {
            clock.sleep(&pool, ticket, d).unwrap();
            assert_eq!(
                clock.now(),
                expected.as_secs_f64(),
                "sleeping does not move time"
            );
            expected += Duration::from_secs_f64(d);
            assert_eq!(v.advance(&pool), Some(expected.as_secs_f64()));
            let (t, c) = pool
                .recv_timeout(WAIT)
                .expect("advance completes the sleep");
            assert_eq!(t, ticket);
            assert!(matches!(c, Woke::Slept));
        }
        assert_eq!(v.now_exact(), Duration::from_millis(1_001_050));
        assert_eq!(clock.now(), 1001.05);
        assert_eq!(pool.pending(), 0);
    }

    #[test]
    fn virtual_sleepers_wake_in_deadline_order_then_arrival_order() {
        let pool = pool();
        let v = VirtualClock::starting_at(0.0).unwrap();
        v.sleep(10, 2.0).unwrap();
        v.sleep(11, 1.0).unwrap();
        v.sleep(12, 2.0).unwrap();
        v.sleep(13, 1.0).unwrap();
        assert_eq!(v.sleepers(), 4);
        assert_eq!(v.advance(&pool), Some(1.0));
        assert_eq!(pool.try_recv().map(|c| c.0), Some(11));
        assert_eq!(pool.try_recv().map(|c| c.0), Some(13));
        assert!(pool.try_recv().is_none());
        // A sleep asked at time 1 for 0.5 ends before the ones due at 2.
        v.sleep(14, 0.5).unwrap();
        assert_eq!(v.advance(&pool), Some(1.5));
        assert_eq!(pool.try_recv().map(|c| c.0), Some(14));
        assert_eq!(v.advance(&pool), Some(2.0));
        assert_eq!(pool.try_recv().map(|c| c.0), Some(10));
        assert_eq!(pool.try_recv().map(|c| c.0), Some(12));
        assert_eq!(v.advance(&pool), None);
        assert_eq!(v.now(), 2.0);
    }

    #[test]
    fn virtual_clock_refuses_overflow_and_bad_durations() {
        let v = VirtualClock::at(Duration::MAX - Duration::from_secs(1));
        assert_eq!(v.sleep(1, 10.0), Err(ClockError::Overflow));
        assert_eq!(v.sleep(1, f64::NAN), Err(ClockError::NotANumber));
        assert_eq!(v.sleep(1, -3.0), Err(ClockError::Negative(-3.0)));
        assert_eq!(v.sleepers(), 0);
    }
}
