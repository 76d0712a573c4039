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
//! up to `limit`: zero-timeout `epoll_wait`s in a loop, before the real, sleeping one.
//! Under load the next request usually arrives within microseconds and no one sleeps; the
//! price is the CPU time of the looking, which `top` shows as the server's. So the spin is
//! bounded three ways:
//!
//! - it happens only while traffic flows: after a wait that returned events (an idle
//!   runtime, whose last wait ran out or found nothing, goes straight to sleep);
//! - it lasts at most `limit`, and no longer than the wait itself would (a timer due
//!   sooner is not delayed);
//! - it is off by default (`limit` zero), as in tokio and smol; glommio's
//!   `spin_before_park` and Seastar's idle polling are the same idea, on by choice.
//!
//! So a lone request arriving at an idle server costs, after it is handled, one spin of
//! `limit` that finds nothing, then the sleep. `bench/redis.sh` shows what the spin buys
//! `examples/kv_server` (its `--spin` flag) against redis-server, which does not spin.

use std::io;
use std::time::{Duration, Instant};

use super::Reactor;
use crate::sys::epoll::{Epoll, Events};

impl Reactor {
    /// Spins for at most `limit` before each sleep that follows a wait with events; zero
    /// (the default) never spins.
    pub(crate) fn spin_before_sleep(&self, limit: Duration) {
        self.spin_limit.set(limit);
    }

    /// Waits for events on `epoll` for at most `timeout` (`None`: no limit; a `now` given
    /// is when that timeout was computed, see [`Epoll::poll_since`]), spinning first if
    /// the runtime is busy and spins (see the module docs). Returns how many events.
    pub(super) fn wait(
        &self,
        epoll: &Epoll,
        events: &mut Events,
        timeout: Option<Duration>,
        now: Option<Instant>,
    ) -> io::Result<usize> {
        let limit = self.spin_limit.get();
        let could_sleep = timeout != Some(Duration::ZERO);
        let mut timeout = timeout;
        let mut now = now;
        if self.busy.get() && could_sleep && !limit.is_zero() {
            self.spins.bump();
            let limit = timeout.map_or(limit, |timeout| timeout.min(limit));
            let start = Instant::now();
            loop {
                let n = epoll.poll(events, Some(Duration::ZERO))?;
                self.waits.bump();
                if n > 0 {
                    self.sleeps_avoided.bump();
                    return Ok(n);
                }
                let spun = start.elapsed();
                if spun >= limit {
                    // What is left of the wait, from this clock reading.
                    timeout = timeout.map(|timeout| timeout.saturating_sub(spun));
                    now = Some(start + spun);
                    break;
                }
                std::hint::spin_loop();
            }
        }
        let n = epoll.poll_since(events, timeout, now)?;
        self.waits.bump();
        if timeout.is_some_and(|t| !t.is_zero()) {
            self.timed_waits.bump();
        }
        // Traffic flows if a wait found events; it stopped if one that could sleep found
        // none. (A zero-timeout look that finds nothing, between polls, says neither.)
        if n > 0 {
            self.busy.set(true);
        } else if could_sleep {
            self.busy.set(false);
        }
        Ok(n)
    }
}
