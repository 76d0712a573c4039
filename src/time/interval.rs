//! `interval`: a tick every period, for periodic work.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{Sleep, after, sleep_until};

/// Ticks every `period`, the first tick at once.
///
/// A tick too far ahead to fit in an `Instant` (a period of `Duration::MAX`, say) is due
/// about thirty years from now: never, in practice, rather than a panic.
///
/// # Panics
///
/// If `period` is zero (it would tick in a busy loop).
///
/// ```
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::interval;
///
/// epoll_rt::block_on(async {
///     let start = Instant::now();
///     let mut ticks = interval(Duration::from_millis(2));
///     for _ in 0..3 {
///         ticks.tick().await; // at 0, 2 and 4 ms
///     }
///     assert!(start.elapsed() >= Duration::from_millis(4));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::interval_at;
///
/// epoll_rt::block_on(async {
///     let start = Instant::now() + Duration::from_millis(5);
///     let mut ticks = interval_at(start, Duration::from_millis(5));
///     assert_eq!(ticks.tick().await, start); // the first tick is due at `start`, not now
///     assert!(Instant::now() >= start);
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "epoll_rt::time::interval: the period must be non-zero"
    );
    Interval {
        period,
        sleep: sleep_until(start),
        missed: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed, because the task awaiting them was
/// busy for longer than a period.
///
/// With a 10 ms period and a task that comes back 35 ms late, after the tick due at 0 ms:
///
/// | behavior | next ticks are due at |
/// |---|---|
/// | `Burst` (the default) | 10, 20, 30 (all at once, now), then 40, 50, ... |
/// | `Delay` | 45, 55, 65, ... (every period from now) |
/// | `Skip` | 40, 50, 60, ... (the next multiple of the period after now) |
///
/// ```
/// use std::time::Duration;
/// use epoll_rt::time::{interval, MissedTickBehavior};
///
/// epoll_rt::block_on(async {
///     let mut ticks = interval(Duration::from_millis(5));
///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     let start = ticks.tick().await;
///     std::thread::sleep(Duration::from_millis(12)); // busy: the 5 and 10 ms ticks are missed
///     ticks.tick().await; // the 5 ms tick, late
///     let next = ticks.tick().await - start;
///     assert!(next >= Duration::from_millis(15)); // the 10 ms tick was skipped...
///     assert_eq!(next.as_nanos() % 5_000_000, 0); // ...and the 5 ms grid kept
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Deliver the missed ticks at once, then resume the original schedule. Right for
    /// work that must happen a given number of times (the same default as tokio's).
    #[default]
    Burst,
    /// Restart the schedule from now: ticks stay at least a period apart.
    Delay,
    /// Drop the missed ticks and keep the original schedule's phase.
    Skip,
}

/// A stream of ticks, made by [`interval`] or [`interval_at`].
///
/// ```
/// use std::time::Duration;
/// use epoll_rt::time::interval;
///
/// epoll_rt::block_on(async {
///     let mut ticks = interval(Duration::from_millis(2));
///     let first = ticks.tick().await; // at once
///     let second = ticks.tick().await;
///     // Ticks report when they were due: exactly one period apart.
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    /// Time between ticks.
    period: Duration,
    /// Sleeps until the next tick; its deadline is the next tick's instant.
    sleep: Sleep,
    /// Catch-up policy.
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due.
    ///
    /// Cancel-safe: if the future is dropped before completing, no tick is lost.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::interval;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(3));
    ///     ticks.tick().await; // the first tick completes at once
    ///     let due = ticks.tick().await;
    ///     assert!(Instant::now() >= due); // never early
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; see [`tick`](Self::tick).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::task::Poll;
    /// use std::time::Duration;
    /// use epoll_rt::time::interval;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut ticks = interval(Duration::from_secs(60));
    ///     let first = poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx))).await;
    ///     assert!(first.is_ready()); // the first tick is due at once
    ///     let second = poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx))).await;
    ///     assert!(second.is_pending()); // the next is a minute away
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.sleep.deadline();
        let now = Instant::now();
        let on_schedule = after(due, self.period);
        let next = match self.missed {
            _ if on_schedule > now => on_schedule,
            MissedTickBehavior::Burst => on_schedule,
            MissedTickBehavior::Delay => after(now, self.period),
            MissedTickBehavior::Skip => {
                let late = now.duration_since(due).as_nanos();
                let periods = late / self.period.as_nanos() + 1;
                let skip = self
                    .period
                    .saturating_mul(u32::try_from(periods).unwrap_or(u32::MAX));
                after(due, skip)
            }
        };
        self.sleep.reset(next);
        Poll::Ready(due)
    }

    /// Sets the catch-up policy for missed ticks.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::{interval, MissedTickBehavior};
    ///
    /// epoll_rt::block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(5));
    ///     ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ///     ticks.tick().await;
    ///     std::thread::sleep(Duration::from_millis(12)); // busy: the 5 and 10 ms ticks are missed
    ///     let before = Instant::now();
    ///     ticks.tick().await; // the 5 ms tick, late
    ///     let next = ticks.tick().await;
    ///     assert!(next >= before + Duration::from_millis(5)); // a full period after it
    /// });
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The catch-up policy for missed ticks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use epoll_rt::time::{interval, MissedTickBehavior};
    ///
    /// let mut ticks = interval(Duration::from_millis(5)); // polled later, in a runtime
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst); // the default
    /// ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Time between ticks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use epoll_rt::time::interval;
    ///
    /// let ticks = interval(Duration::from_millis(250));
    /// assert_eq!(ticks.period(), Duration::from_millis(250));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick is due one period from now.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::interval;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut ticks = interval(Duration::from_millis(5));
    ///     ticks.tick().await;
    ///     std::thread::sleep(Duration::from_millis(12)); // behind schedule
    ///     let before = Instant::now();
    ///     ticks.reset(); // forget the missed ticks
    ///     assert!(ticks.tick().await >= before + Duration::from_millis(5));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.reset_after(self.period);
    }

    /// Restarts the schedule with the next tick due now: the next `tick` completes at
    /// once, and the ones after follow a period apart.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::interval;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut ticks = interval(Duration::from_secs(60));
    ///     ticks.tick().await; // the first tick; the next is a minute away...
    ///     let before = Instant::now();
    ///     ticks.reset_immediately(); // ...or now
    ///     let due = ticks.tick().await;
    ///     assert!(due >= before && due - before < Duration::from_secs(60));
    /// });
    /// ```
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Restarts the schedule with the next tick due `delay` from now, and the ones after
    /// a period apart; [`reset`](Self::reset) is `reset_after(period)`.
    pub fn reset_after(&mut self, delay: Duration) {
        self.reset_at(after(Instant::now(), delay));
    }

    /// Restarts the schedule with the next tick due at `deadline`, and the ones after a
    /// period apart.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.reset(deadline);
    }
}
