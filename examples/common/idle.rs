//! Idle and header timeouts at no cost per request, shared by the async example servers
//! (included with `#[path]`, so it is not an example of its own).
//!
//! A server that lets a connection sit forever lets an attacker hold all its descriptors
//! with idle sockets. So connections get deadlines: Redis's `timeout`, nginx's
//! `client_header_timeout` and `keepalive_timeout`. The obvious way, a timer re-armed at
//! every request, touches the timer heap at every request. Instead, as Redis and nginx do:
//!
//! - a [`Clock`] task reads the time every [`RESOLUTION`] and keeps it in a `Cell`;
//! - a connection notes the (coarse) time of its last activity with
//!   [`Watchdog::restart`]: a copy from one `Cell` to another, no system call, no timer;
//! - its [`Watchdog`] timer is armed once, and when it fires, it compares the last
//!   activity with the limit: expired, or re-armed for the rest of the time. An active
//!   connection re-arms it once per limit, not once per request.
//!
//! Deadlines are kept late rather than early: a connection is closed between `limit` and
//! `limit` + [`RESOLUTION`] after its last activity.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use epoll_rt::spawn;
use epoll_rt::time::{MissedTickBehavior, Sleep, interval, sleep_until};

use crate::shutdown::Unless;

/// How often the [`Clock`] reads the time: the precision of every deadline.
pub const RESOLUTION: Duration = Duration::from_millis(250);

/// A coarse clock: the time as of the last tick, shared by the connections of a runtime.
#[derive(Clone)]
pub struct Clock(Rc<Cell<Instant>>);

impl Clock {
    /// Starts the clock's task on the current runtime.
    pub fn start() -> Self {
        let now = Rc::new(Cell::new(Instant::now()));
        let cell = now.clone();
        spawn(async move {
            let mut ticks = interval(RESOLUTION);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                cell.set(Instant::now());
            }
        });
        Self(now)
    }

    /// The time as of the last tick: at most [`RESOLUTION`] old.
    pub fn now(&self) -> Instant {
        self.0.get()
    }
}

/// One connection's deadline: ready once `limit` has passed since the last
/// [`restart`](Self::restart) (or since it was made). Without a limit, never ready.
pub struct Watchdog {
    /// The clock activity is stamped with.
    clock: Clock,
    /// The last activity, by the coarse clock.
    since: Instant,
    /// How long the connection may stay inactive; `None`: for ever.
    limit: Option<Duration>,
    /// The timer, armed at the earliest moment the deadline could have passed.
    timer: Sleep,
}

impl Watchdog {
    /// A deadline `limit` from now.
    pub fn new(clock: Clock, limit: Option<Duration>) -> Self {
        let since = clock.now();
        let timer = sleep_until(Self::due(since, limit));
        Self {
            clock,
            since,
            limit,
            timer,
        }
    }

    /// Notes activity: the deadline is now `limit` from the present. Two `Cell` writes;
    /// the timer is left alone and finds out when it fires.
    #[inline]
    pub fn restart(&mut self, limit: Option<Duration>) {
        self.since = self.clock.now();
        self.limit = limit;
    }

    /// Runs `work` unless the deadline passes first; then returns `None`, and `work` is
    /// dropped. Work that is ready wins. The race is `shutdown.rs`'s (every server with
    /// timeouts shuts down gracefully too): inlined into the caller's loop, it costs a
    /// request a look at the timer.
    pub fn unless<F: Future>(&mut self, work: F) -> Unless<'_, Self, F> {
        Unless::new(self, work)
    }

    /// When the deadline of an activity at `since` has surely passed, by a clock up to
    /// [`RESOLUTION`] behind; for no limit, a time far away.
    fn due(since: Instant, limit: Option<Duration>) -> Instant {
        let limit = limit.unwrap_or(Duration::from_secs(86_400 * 365));
        since + limit + RESOLUTION
    }
}

impl Future for Watchdog {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if Pin::new(&mut self.timer).poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The timer fired: has the deadline passed, or was there activity since?
            let due = Self::due(self.since, self.limit);
            if self.limit.is_some() && Instant::now() >= due {
                return Poll::Ready(());
            }
            self.timer.reset(due);
        }
    }
}

/// [`Watchdog::unless`] for an optional watchdog: without one, `work` runs alone.
#[allow(dead_code)] // for the servers whose timeout may be off
pub async fn unless_idle<F: Future>(watchdog: Option<&mut Watchdog>, work: F) -> Option<F::Output> {
    match watchdog {
        Some(watchdog) => watchdog.unless(work).await,
        None => Some(work.await),
    }
}

/// The process's limit on open descriptors (the soft `RLIMIT_NOFILE`), read from
/// `/proc/self/limits`, which needs no `unsafe` call; `None` if it cannot be read.
pub fn descriptor_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Descriptors kept back from connections for the rest of the process (listener, epoll,
/// eventfd, signalfds, logs), as Redis keeps 32 (`CONFIG_MIN_RESERVED_FDS`).
pub const RESERVED_DESCRIPTORS: usize = 32;

/// The default connection limit: Redis's default `maxclients`, 10,000, or fewer if the
/// descriptor limit minus [`RESERVED_DESCRIPTORS`] is lower.
pub fn default_max_clients() -> usize {
    descriptor_limit().map_or(10_000, |limit| {
        limit.saturating_sub(RESERVED_DESCRIPTORS).clamp(1, 10_000)
    })
}
