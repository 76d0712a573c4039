//! How long the reactor waits for its nearest timer: up to the deadline, less what the
//! kernel may add to the wait.
//!
//! # The kernel's slack
//!
//! Linux ends a timed wait (`epoll_wait`, `epoll_pwait2`, `select`, `poll`) not at its
//! timeout but anywhere up to a *slack* after it, so that it can serve nearby wake-ups
//! with one interrupt. The slack of a wait of `t` is (`select_estimate_accuracy` in
//! `fs/select.c`):
//!
//! ```text
//!   slack(t) = max(timer_slack, min(t / 1000, 100 ms))    nice <= 0
//!   slack(t) = max(timer_slack, min(t / 200,  100 ms))    nice > 0
//!   slack(t) = 0                                          real-time scheduling
//! ```
//!
//! `timer_slack` is the thread's own (`prctl(PR_SET_TIMERSLACK)`, 50 µs by default), which
//! the runtime lowers to 1 µs while `block_on` runs (`runtime/context.rs`). That covers
//! short waits only: a wait of 500 ms may end 0.5 ms late, 2.5 ms at nice 19, whatever
//! the thread's slack.
//!
//! # Waiting in steps
//!
//! So a timer due in `t` of more than `PRECISE_WAIT` (1 ms) is not waited for in one go.
//! The reactor waits until shortly before the deadline, leaving a margin of
//! `min(t / 200, 100 ms)`, and at the next turn waits for what is left, the same way. The
//! margin is the most slack the kernel can add to that wait, niced or not (the wait is
//! shorter than `t`), so no wait ends after the deadline; and what is left is at most the
//! margin, so after one or two such waits it is 1 ms or less, and the last wait takes all
//! of it with 1 µs of slack (5 µs niced):
//!
//! ```text
//!   timer due in   first wait   its slack, nice 0 (nice > 0)   epoll_waits, at most
//!   <= 1 ms        all of it    1 µs (5 µs)                    1
//!   200 ms         199 ms       0.2 ms (1 ms)                  2
//!   1 s            995 ms       1 ms (5 ms)                    3
//!   1 hour         3599.9 s     100 ms (100 ms)                3
//! ```
//!
//! The steps cost nothing when no timer is pending, and a turn that I/O ends early simply
//! recomputes the wait from the deadline: the reactor keeps no state for them. With the
//! millisecond `epoll_wait` fallback (no `epoll_pwait2`, see `sys/epoll.rs`) every wait is
//! rounded up to a whole millisecond, so timers are up to a millisecond late, never early.
//!
//! These steps serve the deadlines within a millisecond, and every deadline of a runtime
//! whose alarm could not be made: a further one is left to the reactor's alarm, a timerfd,
//! which the kernel fires with no slack at all (`alarm.rs`). tokio rounds its deadlines up
//! to the millisecond and leaves the slack as it is.

use std::time::Duration;

/// The longest wait the kernel ends within the thread's timer slack: its share of 1 ms is
/// 1 µs, the runtime's timer slack (5 µs at a positive nice value).
const PRECISE_WAIT: Duration = Duration::from_millis(1);

/// The kernel's share of a wait at a positive nice value, the larger one: 1 / 200.
const NICED_SHARE: u32 = 200;

/// The most slack the kernel adds to any wait (`MAX_SLACK` in `fs/select.c`).
const MAX_SLACK: Duration = Duration::from_millis(100);

/// How long to wait for a timer due in `until`: all of it if that is short enough for the
/// kernel to add no more than the thread's timer slack, otherwise up to the margin before
/// the deadline that the kernel's slack cannot eat (see the module docs).
#[inline]
pub(super) fn wait_for(until: Duration) -> Duration {
    if until <= PRECISE_WAIT {
        return until;
    }
    until - (until / NICED_SHARE).min(MAX_SLACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slack Linux adds to a wait of `wait` (see the module docs).
    fn kernel_slack(wait: Duration, niced: bool, timer_slack: Duration) -> Duration {
        let share = if niced { wait / 200 } else { wait / 1000 };
        share.min(MAX_SLACK).max(timer_slack)
    }

    /// The runtime's timer slack (`runtime/context.rs`).
    const TIMER_SLACK: Duration = Duration::from_micros(1);

    /// Remaining times from 1 ns to over a day, spread over every order of magnitude.
    fn untils() -> impl Iterator<Item = Duration> {
        (0..=14).flat_map(|exp| {
            [1u64, 2, 3, 5, 7, 9].map(move |m| Duration::from_nanos(m * 10u64.pow(exp)))
        })
    }

    #[test]
    fn no_wait_ends_after_the_deadline_whatever_the_nice_value() {
        for until in untils().filter(|u| *u > PRECISE_WAIT) {
            let wait = wait_for(until);
            for niced in [false, true] {
                let latest = wait + kernel_slack(wait, niced, TIMER_SLACK);
                assert!(
                    latest <= until,
                    "a timer due in {until:?}: a wait of {wait:?} may end {:?} late (niced: {niced})",
                    latest - until
                );
            }
        }
    }

    #[test]
    fn a_timer_takes_at_most_three_waits_the_last_one_precise() {
        for until in untils() {
            // The most waits: each ends exactly at its timeout, with no slack used, so
            // the whole margin is left for the next.
            let mut left = until;
            let mut waits = 1;
            while left > PRECISE_WAIT {
                left -= wait_for(left);
                waits += 1;
            }
            assert!(waits <= 3, "a timer due in {until:?} took {waits} waits");
            // The last wait is the whole remaining time, with little slack.
            assert_eq!(wait_for(left), left);
            assert!(kernel_slack(left, false, TIMER_SLACK) <= TIMER_SLACK);
            assert!(kernel_slack(left, true, TIMER_SLACK) <= Duration::from_micros(5));
        }
    }
}
