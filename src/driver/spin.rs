//! Spinning before sleeping: an opt-in trade of CPU time for the cost of waking up.
//!
//! When no task is ready, the reactor sleeps in `epoll_wait` until something happens.
//! Whoever makes something happen pays for the sleep: a client on another CPU whose write
//! makes the server's socket readable also wakes the server's thread, and if that thread's
//! CPU has gone idle, waking it takes an inter-processor interrupt. On a virtual machine
//! that is an exit to the hypervisor on both sides, several microseconds each, and a busy
//! server that keeps catching up with its clients sleeps, and is woken, over and over.
//!
//! `runtime::Builder::spin_before_sleep(limit)` makes the reactor look again instead, for
//! up to `limit`: zero-timeout `epoll_wait`s in a loop, a `sched_yield` between two, before
//! the real, sleeping one.
//! Under load the next request usually arrives within microseconds and no one sleeps; the
//! price is the CPU time of the looking, which `top` shows as the server's. So the spin is
//! bounded three ways:
//!
//! - it happens only while traffic flows: after a wait that returned events (an idle
//!   runtime, whose last wait ran out or found nothing, goes straight to sleep);
//! - it lasts at most `limit`, and no longer than the wait itself would (a timer due
//!   sooner is not delayed);
//! - it is off by default (`limit` zero). tokio and smol have no such setting; glommio has
//!   one (`spin_before_park`), and Seastar polls for a while before it sleeps
//!   (`--idle-poll-time-us`).
//!
//! So a lone request arriving at an idle server costs, after it is handled, one spin of
//! `limit` that finds nothing, then the sleep. And the spin helps only senders on other
//! CPUs. Between two looks it yields the CPU (`sched_yield`), so that a sender sharing
//! the runtime's CPU can run, but the kernel's scheduler does not always give it the CPU
//! at once, and such a sender loses some of its rate. `bench/redis.sh` shows what the spin buys
//! `examples/kv_server` (its `--spin` flag) against redis-server, which does not spin.

use std::cell::Cell;
use std::io;
use std::time::{Duration, Instant};

use super::Reactor;
use crate::sys::epoll::{Epoll, Events};
use crate::util::stats::{Counter, RuntimeStats};

/// A reactor's spinning: how long, whether traffic flows, and the counts.
#[derive(Default)]
pub(super) struct Spin {
    /// How long to spin before sleeping; zero, the default: never.
    limit: Cell<Duration>,
    /// Whether the last wait that could sleep, or any since, returned events.
    busy: Cell<bool>,
    /// Waits that began with a spin.
    spins: Counter,
    /// Spins that found events, so the runtime did not sleep.
    sleeps_avoided: Counter,
}

impl Spin {
    /// Whether the reactor never spins (the default).
    #[inline]
    pub(super) fn is_off(&self) -> bool {
        self.limit.get().is_zero()
    }

    /// Adds the counts to `stats`.
    pub(super) fn add_stats(&self, stats: &mut RuntimeStats) {
        stats.spins = self.spins.get();
        stats.sleeps_avoided = self.sleeps_avoided.get();
    }
}

impl Reactor {
    /// Spins for at most `limit` before each sleep that follows a wait with events; zero
    /// (the default) never spins.
    pub(crate) fn spin_before_sleep(&self, limit: Duration) {
        self.spin.limit.set(limit);
    }

    /// Waits for events on `epoll` for at most `timeout`, as [`sleep`](Self::sleep) does,
    /// spinning first if traffic flows: the path of a runtime that spins (see the module
    /// docs). Out of line, so that a runtime that does not spin pays one test per turn.
    #[inline(never)]
    pub(super) fn spin_then_sleep(
        &self,
        epoll: &Epoll,
        events: &mut Events,
        timeout: Option<Duration>,
        now: Option<Instant>,
    ) -> io::Result<usize> {
        let could_sleep = timeout != Some(Duration::ZERO);
        let mut timeout = timeout;
        let mut now = now;
        if self.spin.busy.get() && could_sleep {
            self.spin.spins.bump();
            let limit = self.spin.limit.get();
            let limit = timeout.map_or(limit, |timeout| timeout.min(limit));
            // Look without waiting until events come or the limit has passed.
            let start = Instant::now();
            loop {
                let n = self.sleep(epoll, events, Some(Duration::ZERO), None)?;
                if n > 0 {
                    self.spin.sleeps_avoided.bump();
                    return Ok(n);
                }
                let spun = start.elapsed();
                if spun >= limit {
                    // What is left of the wait, from this clock reading.
                    timeout = timeout.map(|timeout| timeout.saturating_sub(spun));
                    now = Some(start + spun);
                    break;
                }
                // Give the CPU to any other thread waiting for it (`sched_yield`): a
                // client on this same CPU can only send while the spin lets it run.
                std::thread::yield_now();
            }
        }
        // Nothing came: sleep, for what is left of the wait.
        let n = self.sleep(epoll, events, timeout, now)?;
        // Traffic flows if a wait found events; it stopped if one that could sleep found
        // none. (A zero-timeout look that finds nothing, between polls, says neither.)
        if n > 0 {
            self.spin.busy.set(true);
        } else if could_sleep {
            self.spin.busy.set(false);
        }
        Ok(n)
    }
}
