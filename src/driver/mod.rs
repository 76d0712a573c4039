//! The driver: the layer that waits for the outside world. Its one type, the
//! [`Reactor`], is what the executor calls when no task is ready.
//!
//! It owns the epoll instance and, for every registered descriptor, an [`IoState`] with the
//! descriptor's readiness and the wakers of the tasks waiting on it; it also keeps the
//! pending timers. One call to [`Reactor::turn`] is one trip to the kernel:
//!
//! ```text
//!   turn(timeout)
//!     │  timeout = min(timeout, time to the nearest timer, less the kernel's slack)
//!     ▼
//!   epoll_wait ──▶ for each event: token ──▶ slab slot ──▶ set readiness bits,
//!     │                                                    wake the waiting tasks
//!     ▼
//!   fire due timers (take their wakers) ──▶ wake them
//! ```
//!
//! Dispatching never runs user code: waking a task only puts it on the executor's run
//! queue. No borrow of the reactor's tables is held while a waker runs (an event's state is
//! an `Rc` cloned out of the slab first; due timers are taken out before they are woken),
//! or while a waker is dropped (a timer's replaced or cancelled waker is dropped after the
//! timer queue is released), so even a foreign waker that re-enters the reactor finds it
//! consistent.
//!
//! A timer fires at its deadline, not up to a millisecond later as the kernel's slack on a
//! long wait would make it: the reactor stops waiting shortly before a far deadline and
//! waits out the rest in a short, precise wait, at most three `epoll_wait`s per timer
//! (`slack.rs`).
//!
//! Unlike tokio's I/O driver, which is shared by the threads of a multi-threaded runtime
//! and so stores readiness in atomics, this reactor belongs to one thread and uses `Cell`s.

mod readiness;
mod registration;
mod slack;
mod timers;
mod waiters;

pub(crate) use readiness::Direction;
pub(crate) use registration::Registration;
pub(crate) use timers::TimerKey;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::sys::epoll::{Epoll, EventFlags, Events};
use crate::util::budget::Budget;
use crate::util::slab::{Key, Slab};
use crate::util::stats::{Counter, RuntimeStats};
use crate::util::trace::Tracer;
use readiness::Readiness;
use registration::IoState;
use timers::TimerQueue;

/// The epoll token of the runtime's eventfd. No slab key can equal it: that would take
/// 2^32 - 1 live registrations.
const NOTIFY_TOKEN: u64 = u64::MAX;

/// Most events taken from the kernel per `epoll_wait`; more stay queued for the next turn.
const EVENTS_CAPACITY: usize = 1024;

/// The interest every descriptor is registered with, once: both directions, peer
/// half-close, edge-triggered.
fn interest() -> EventFlags {
    EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::ET
}

/// The reactor of one runtime. See the module docs.
pub(crate) struct Reactor {
    /// The epoll instance every descriptor of this runtime is registered with.
    epoll: Epoll,
    /// Buffer for `epoll_wait`, reused every turn.
    events: RefCell<Events>,
    /// Registered descriptors; an event's token is a key into this slab.
    sources: RefCell<Slab<Rc<IoState>>>,
    /// Pending timers.
    timers: RefCell<TimerQueue>,
    /// Wakers of the timers due in a turn; kept to reuse its allocation.
    wake_list: Cell<Vec<Waker>>,
    /// The runtime's tracer, when tracing.
    tracer: Option<Arc<Tracer>>,
    /// The cooperative budget of the task being polled, spent by registrations (shared
    /// with the scheduler, which renews it).
    budget: Rc<Budget>,
    /// `epoll_wait` calls.
    waits: Counter,
    /// Events they returned.
    events_seen: Counter,
    /// `epoll_ctl` calls.
    ctls: Counter,
    /// I/O syscalls tried by registrations, per direction.
    io_calls: [Counter; 2],
    /// Those that returned `WouldBlock`.
    would_blocks: Counter,
}

impl Reactor {
    /// A reactor with a new epoll instance and nothing registered.
    pub(crate) fn new(tracer: Option<Arc<Tracer>>, budget: Rc<Budget>) -> io::Result<Self> {
        Ok(Self {
            epoll: Epoll::new()?,
            events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
            sources: RefCell::new(Slab::new()),
            timers: RefCell::new(TimerQueue::default()),
            wake_list: Cell::new(Vec::new()),
            tracer,
            budget,
            waits: Counter::default(),
            events_seen: Counter::default(),
            ctls: Counter::default(),
            io_calls: Default::default(),
            would_blocks: Counter::default(),
        })
    }

    /// The cooperative budget of the task being polled.
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Counts one I/O syscall in `dir`, and whether it would have blocked.
    pub(crate) fn count_io(&self, dir: Direction, would_block: bool) {
        self.io_calls[dir as usize].bump();
        if would_block {
            self.would_blocks.bump();
        }
    }

    /// Adds this reactor's counts to `stats`.
    pub(crate) fn add_stats(&self, stats: &mut RuntimeStats) {
        stats.epoll_waits = self.waits.get();
        stats.epoll_events = self.events_seen.get();
        stats.epoll_ctls = self.ctls.get();
        stats.read_calls = self.io_calls[Direction::Read as usize].get();
        stats.write_calls = self.io_calls[Direction::Write as usize].get();
        stats.would_blocks = self.would_blocks.get();
    }

    /// Registers the runtime's eventfd: its events make [`turn`](Self::turn) return `true`.
    pub(crate) fn add_notifier(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.epoll
            .register_with_token(fd, EventFlags::IN | EventFlags::ET, NOTIFY_TOKEN)
    }

    /// Registers `fd`, whose readiness will be recorded in `state`.
    pub(super) fn add_source(&self, fd: BorrowedFd<'_>, state: Rc<IoState>) -> io::Result<Key> {
        let key = self.sources.borrow_mut().insert(state);
        self.ctls.bump();
        if let Err(e) = self.epoll.register_with_token(fd, interest(), key.to_u64()) {
            self.sources.borrow_mut().remove(key);
            return Err(e);
        }
        Ok(key)
    }

    /// Deregisters a descriptor that is still open.
    pub(super) fn remove_source(&self, key: Key, fd: std::os::fd::RawFd) {
        // The descriptor is open (its owner closes it after dropping the registration), so
        // this cannot fail in a way worth reporting; a drop has nowhere to report it anyway.
        self.ctls.bump();
        let _ = self.epoll.unregister_raw(fd);
        self.sources.borrow_mut().remove(key);
    }

    /// The epoll instance's descriptor, for tests that read what it watches in `/proc`.
    #[cfg(test)]
    pub(crate) fn epoll_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.epoll.as_raw_fd()
    }

    /// Number of registered descriptors (the eventfd excluded).
    pub(crate) fn source_count(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Adds a timer that wakes `waker` at `deadline`.
    pub(crate) fn add_timer(&self, deadline: Instant, waker: Waker) -> TimerKey {
        self.timers.borrow_mut().insert(deadline, waker)
    }

    /// Updates the waker of a pending timer; `false` if it already fired.
    pub(crate) fn update_timer(&self, key: TimerKey, waker: &Waker) -> bool {
        // Bound to a local, so that the queue's borrow ends with this statement and the
        // replaced waker is dropped after it: its drop may cancel another timer.
        let replaced = self.timers.borrow_mut().update_waker(key, waker);
        replaced.is_ok()
    }

    /// Moves a pending timer to `deadline`, keeping its waker; returns its new key, or
    /// `None` if it has already fired.
    pub(crate) fn reset_timer(&self, key: TimerKey, deadline: Instant) -> Option<TimerKey> {
        self.timers.borrow_mut().reset(key, deadline)
    }

    /// Removes a timer, fired or not.
    pub(crate) fn remove_timer(&self, key: TimerKey) {
        // As in `update_timer`: the waker is dropped once the queue is released.
        let waker = self.timers.borrow_mut().remove(key);
        drop(waker);
    }

    /// Number of pending timers.
    pub(crate) fn timer_count(&self) -> usize {
        self.timers.borrow().len()
    }

    /// Waits for events at most `timeout` (`None`: until something happens), records them
    /// and wakes the tasks they concern. Returns whether the runtime's eventfd was rung.
    ///
    /// An error means the runtime's own epoll instance failed, which no correct program
    /// causes (see [`Epoll::poll`]: `EINTR` is retried, and a kernel or sandbox without
    /// `epoll_pwait2` only costs precision): its descriptor was closed or replaced behind
    /// the runtime's back. Nothing was recorded or woken then.
    pub(crate) fn turn(&self, timeout: Option<Duration>) -> io::Result<bool> {
        // 1. The nearest timer bounds the wait: up to shortly before its deadline, if the
        // kernel's slack could otherwise make it late (see `slack.rs`).
        let timeout = match self.timers.borrow_mut().next_deadline() {
            None => timeout,
            Some(deadline) => {
                let until = deadline.saturating_duration_since(Instant::now());
                let wait = slack::wait_for(until);
                Some(timeout.map_or(wait, |t| t.min(wait)))
            }
        };

        // 2. Sleep in the kernel.
        let mut events = self.events.borrow_mut();
        let started = self.tracer.as_ref().map(|_| Instant::now());
        let n = self.epoll.poll(&mut events, timeout)?;
        self.waits.bump();
        self.events_seen.add(n as u64);
        if let (Some(tracer), Some(started)) = (&self.tracer, started) {
            tracer.epoll_wait(started, timeout, n);
        }

        // 3. Record readiness and wake the tasks it concerns. The state is cloned out of
        // the slab (a non-atomic increment) so that the slab is not borrowed while wakers
        // run. (Collecting the wakers in a list to wake after the loop, as this reactor once
        // did, cost about 50 instructions more per request in the echo benchmark.)
        let mut notified = false;
        for event in events.iter() {
            if event.token() == NOTIFY_TOKEN {
                notified = true;
                continue;
            }
            let state = self
                .sources
                .borrow()
                .get(Key::from_u64(event.token()))
                .cloned();
            // No slot: the descriptor was deregistered after the kernel queued the event.
            if let Some(state) = state {
                let ready = Readiness::from_epoll(event.flags());
                if let Some(tracer) = &self.tracer {
                    state.trace(tracer, ready);
                }
                state.on_event(ready);
            }
        }
        drop(events);

        // 4. Fire the timers that are due: take them out, then wake them, once the queue
        // is no longer borrowed.
        let mut wake_list = self.wake_list.take();
        let mut timers = self.timers.borrow_mut();
        if timers.len() > 0 {
            timers.fire_expired(Instant::now(), &mut wake_list);
        }
        drop(timers);
        for waker in wake_list.drain(..) {
            waker.wake();
        }
        self.wake_list.set(wake_list);
        Ok(notified)
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("epoll", &self.epoll)
            .field("sources", &self.source_count())
            .field("timers", &self.timer_count())
            .finish()
    }
}

#[cfg(test)]
mod tests;
