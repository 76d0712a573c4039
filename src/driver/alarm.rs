//! The reactor's alarm: a timerfd that rings at the nearest timer's deadline when that is
//! far, so that `epoll_wait` can wait with no timeout.
//!
//! A wait with a timeout costs more than one without, even when the timeout never comes:
//! the kernel starts and cancels a timer for every such wait, and the reactor works out
//! the timeout before each. A server with a coarse timer always pending (the examples'
//! idle timeouts tick every 250 ms) would pay that at every turn, that is, at every
//! request. So a deadline more than a millisecond away is left to the alarm, armed once
//! (`timerfd_settime`), and the turns before it wait without a timeout; each still reads
//! the clock once, after its wait, to fire what is due:
//!
//! ```text
//!   nearest deadline                     the turn
//!   none                                 waits as long as its caller allows
//!   at or after the alarm's              waits as long as its caller allows: the alarm
//!                                        rings by then
//!   earlier, within 1 ms                 reads the clock, waits with a timeout
//!                                        (`slack.rs`), as without an alarm
//!   earlier, further                     reads the clock, arms the alarm for it, waits
//!                                        as long as its caller allows
//! ```
//!
//! The alarm is not re-armed when the nearest deadline moves later: it rings early then,
//! the turn finds nothing due, and arms it again. That keeps a timeout set and cancelled
//! at every request (a `timeout(30 s, read)` per request) at one `timerfd_settime` per
//! 30 s rather than one per request. The timer expires exactly (the kernel adds no slack
//! to it), so a deadline is never missed by more than the time to wake up.
//!
//! The descriptor is created at the first far deadline, so a runtime without one never
//! has it. If it cannot be created (a sandbox that refuses `timerfd_create`, or no
//! descriptor left), every deadline of that runtime is waited for with timeouts from
//! then on, as above: always correct, only dearer.

use std::io;
use std::time::{Duration, Instant};

use crate::sys::epoll::{Epoll, EventFlags};
use crate::sys::timerfd::TimerFd;

/// The epoll token of the alarm's descriptor. Next to the notifier's `u64::MAX`, it is the
/// key of slot 2^32 - 2 of the reactor's slab, which would take 4 billion descriptors.
pub(super) const ALARM_TOKEN: u64 = u64::MAX - 1;

/// Deadlines this close or closer are waited for with a timeout: a `timerfd_settime`
/// would cost as much as the waits it saves.
const NEAR: Duration = Duration::from_millis(1);

/// The longest the alarm is set for at once: further deadlines ring it early, and it is
/// armed again. (It keeps the delay far from any overflow of the kernel's 64-bit
/// nanoseconds.)
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// The alarm's descriptor, once the reactor has tried to make one.
#[derive(Debug)]
enum Timer {
    /// No far deadline yet: not created.
    NotYet,
    /// Created and registered with the reactor's epoll.
    Ready(TimerFd),
    /// Could not be created or registered, or the reactor is shut down: deadlines are
    /// waited for with timeouts.
    Unavailable,
}

/// A timerfd and the time it is set to ring.
#[derive(Debug)]
pub(super) struct Alarm {
    /// The descriptor.
    timer: Timer,
    /// When it rings, if set and not yet heard ringing.
    rings_at: Option<Instant>,
}

impl Alarm {
    /// An alarm with no descriptor yet.
    pub(super) const fn new() -> Self {
        Self {
            timer: Timer::NotYet,
            rings_at: None,
        }
    }

    /// Whether the alarm rings by `deadline`: then a wait needs no timeout for it.
    #[inline]
    pub(super) fn rings_by(&self, deadline: Instant) -> bool {
        self.rings_at.is_some_and(|at| at <= deadline)
    }

    /// Sets the alarm for `deadline`, `left` after `now`, if it is far and the alarm
    /// works. `false`: the caller waits for it with a timeout.
    pub(super) fn set(
        &mut self,
        epoll: &Epoll,
        deadline: Instant,
        now: Instant,
        left: Duration,
    ) -> bool {
        if left <= NEAR {
            return false;
        }
        if let Timer::NotYet = self.timer {
            self.timer = match make(epoll) {
                Ok(timer) => Timer::Ready(timer),
                Err(_) => Timer::Unavailable,
            };
        }
        let Timer::Ready(timer) = &self.timer else {
            return false;
        };
        let after = left.min(LONGEST);
        if timer.set(after).is_err() {
            // Never seen (the arguments are valid); waiting with timeouts is always right.
            self.timer = Timer::Unavailable;
            return false;
        }
        self.rings_at = Some(if after < left { now + after } else { deadline });
        true
    }

    /// Records that the alarm rang: it is set no more.
    pub(super) fn rang(&mut self) {
        self.rings_at = None;
    }

    /// Closes the descriptor, for a reactor that shuts down; waits need no alarm after.
    pub(super) fn close(&mut self) {
        self.timer = Timer::Unavailable;
        self.rings_at = None;
    }
}

/// A new timerfd, registered with `epoll` under [`ALARM_TOKEN`]. Edge-triggered: each
/// expiry is one event, and re-arming resets the timer, so it is never read.
fn make(epoll: &Epoll) -> io::Result<TimerFd> {
    let timer = TimerFd::new()?;
    epoll.register_with_token(&timer, EventFlags::IN | EventFlags::ET, ALARM_TOKEN)?;
    Ok(timer)
}
