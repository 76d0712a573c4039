//! The driver: the layer that waits for the outside world. Its one type, the
//! [`Reactor`], is what the executor calls when no task is ready.
//!
//! It owns the epoll instance and, for every registered descriptor, an [`IoState`] with the
//! descriptor's readiness and the wakers of the tasks waiting on it; it also keeps the
//! pending timers, and an alarm that rings at a far timer's deadline. One call to
//! [`Reactor::turn`] is one trip to the kernel:
//!
//! ```text
//!   turn(timeout)
//!     │  nearest timer far: set the alarm (a timerfd) for it, if not set already;
//!     │  near: timeout = min(timeout, time to it, less the kernel's slack)
//!     │  (if built to spin and traffic flows: zero-timeout epoll_waits first, spin.rs)
//!     ▼
//!   epoll_wait ──▶ for each event: token ──▶ slab slot ──▶ set readiness bits,
//!     │                                                    wake the waiting tasks
//!     ▼
//!   fire due timers (take their wakers) ──▶ wake them
//! ```
//!
//! Dispatching calls wakers, and nothing else. The runtime's own wakers only put a task on
//! its run queue; but a waker may come from anywhere (a task polled by another executor, a
//! combinator's waker), and run any code, the reactor's included: dropping an I/O object,
//! registering one, waiting again. So no borrow of the reactor's tables is held while a
//! waker runs (an event's state is an `Rc` cloned out of the slab first, and a waiter list
//! takes its wakers out before waking them; due timers are taken out before they are
//! woken), or while a waker is dropped (a timer's replaced or cancelled waker is dropped
//! after the timer queue is released), and such a waker finds the reactor consistent.
//!
//! # Shutdown
//!
//! A reactor lives as long as something points at it: its runtime, and every I/O object
//! and timer made on it. But it only works while its runtime does, so the runtime, when
//! dropped, shuts it down ([`Reactor::shutdown`]), and from then on that is a state its
//! objects can see:
//!
//! - the epoll instance is closed at once, whoever still holds the reactor, and no
//!   `epoll_ctl` is made afterwards (its number may belong to another runtime's epoll by
//!   then);
//! - every task waiting on one of its descriptors is woken, and every stored waker, of
//!   descriptors and of timers, is dropped (a waker may own the very object whose list
//!   holds it: dropping it breaks that cycle);
//! - every later wait on one of its objects fails with an error saying so, rather than
//!   wait for events nobody will deliver. So does a wait while the runtime is alive but
//!   not running on this thread (an object polled by another runtime, or outside any).
//!
//! A timer fires at its deadline, not up to a millisecond later as the kernel's slack on a
//! long wait would make it: the reactor stops waiting shortly before a far deadline and
//! waits out the rest in a short, precise wait, at most three `epoll_wait`s per timer
//! (`slack.rs`).
//!
//! Unlike tokio's I/O driver, which is shared by the threads of a multi-threaded runtime
//! and so stores readiness in atomics, this reactor belongs to one thread and uses `Cell`s.

mod alarm;
mod readiness;
mod registration;
mod slack;
mod spin;
mod timers;
mod waiters;

pub(crate) use readiness::{Direction, Readiness};
pub(crate) use registration::Registration;
pub(crate) use timers::{TimerKey, TimerOp};
pub(crate) use waiters::Ticket;

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
use alarm::{ALARM_TOKEN, Alarm};
use registration::IoState;
use spin::Spin;
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
    /// The epoll instance every descriptor of this runtime is registered with; `None` once
    /// the reactor is shut down (it is closed then, see the module docs). Borrowed only
    /// for the length of one syscall, never while a waker runs.
    epoll: RefCell<Option<Epoll>>,
    /// Where the runtime is in its life: what a wait on one of its objects may expect.
    phase: Cell<Phase>,
    /// Buffer for `epoll_wait`, reused every turn.
    events: RefCell<Events>,
    /// Registered descriptors; an event's token is a key into this slab.
    sources: RefCell<Slab<Rc<IoState>>>,
    /// Pending timers.
    timers: RefCell<TimerQueue>,
    /// Rings at the nearest timer's deadline when it is far, so that waits before it
    /// need no timeout (`alarm.rs`).
    alarm: RefCell<Alarm>,
    /// Wakers of the timers due in a turn; kept to reuse its allocation.
    wake_list: Cell<Vec<Waker>>,
    /// The runtime's tracer, when tracing.
    tracer: Option<Arc<Tracer>>,
    /// The runtime's cooperative budget, which the I/O objects registered here spend
    /// before each operation (see `util/budget.rs`). The reactor never looks at it: it
    /// holds it for them, so that an I/O object, which keeps the reactor, reaches it
    /// without a pointer of its own, 8 bytes of every connection.
    budget: Rc<Budget>,
    /// `epoll_wait` calls.
    waits: Counter,
    /// Events they returned.
    events_seen: Counter,
    /// Those with a finite, non-zero timeout.
    timed_waits: Counter,
    /// `timerfd_settime` calls of the alarm.
    alarms_set: Counter,
    /// `epoll_ctl` calls.
    ctls: Counter,
    /// I/O syscalls tried by registrations, per direction.
    io_calls: [Counter; 2],
    /// Those that returned `WouldBlock`.
    would_blocks: Counter,
    /// Whether and how long to spin before sleeping, and the counts of it (`spin.rs`).
    spin: Spin,
}

impl Reactor {
    /// A reactor with a new epoll instance and nothing registered, holding the runtime's
    /// `budget` for its I/O objects.
    pub(crate) fn new(tracer: Option<Arc<Tracer>>, budget: Rc<Budget>) -> io::Result<Self> {
        Ok(Self {
            epoll: RefCell::new(Some(Epoll::new()?)),
            phase: Cell::new(Phase::Idle),
            events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
            sources: RefCell::new(Slab::new()),
            timers: RefCell::new(TimerQueue::default()),
            alarm: RefCell::new(Alarm::new()),
            wake_list: Cell::new(Vec::new()),
            tracer,
            budget,
            waits: Counter::default(),
            events_seen: Counter::default(),
            timed_waits: Counter::default(),
            alarms_set: Counter::default(),
            ctls: Counter::default(),
            io_calls: Default::default(),
            would_blocks: Counter::default(),
            spin: Spin::default(),
        })
    }

    /// The runtime's cooperative budget, for the I/O objects registered here.
    #[inline]
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
        stats.timed_waits = self.timed_waits.get();
        stats.alarms_set = self.alarms_set.get();
        self.spin.add_stats(stats);
        stats.epoll_ctls = self.ctls.get();
        stats.read_calls = self.io_calls[Direction::Read as usize].get();
        stats.write_calls = self.io_calls[Direction::Write as usize].get();
        stats.would_blocks = self.would_blocks.get();
    }

    /// Registers the runtime's eventfd: its events make [`turn`](Self::turn) return `true`.
    pub(crate) fn add_notifier(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let epoll = self.epoll.borrow();
        let epoll = epoll.as_ref().ok_or_else(shut_down)?;
        epoll.register_with_token(fd, EventFlags::IN | EventFlags::ET, NOTIFY_TOKEN)
    }

    /// Registers `fd`, whose readiness will be recorded in `state`.
    pub(super) fn add_source(&self, fd: BorrowedFd<'_>, state: Rc<IoState>) -> io::Result<Key> {
        let key = self.sources.borrow_mut().insert(state);
        self.ctls.bump();
        let registered = match &*self.epoll.borrow() {
            Some(epoll) => epoll.register_with_token(fd, interest(), key.to_u64()),
            None => Err(shut_down()),
        };
        if let Err(e) = registered {
            let state = self.sources.borrow_mut().remove(key);
            drop(state);
            return Err(e);
        }
        Ok(key)
    }

    /// Removes `fd` from the epoll set. Its owner calls this before closing it (or handing
    /// it back), with the descriptor it owns at that moment. After the shutdown, there is
    /// no epoll set any more, and nothing to do.
    pub(super) fn deregister(&self, fd: BorrowedFd<'_>) {
        if let Some(epoll) = &*self.epoll.borrow() {
            // The descriptor is open, so this can fail only if epoll does not watch it (its
            // owner replaced the registered object: the old descriptor left the set when it
            // was closed), which is what was wanted; a drop has nowhere to report it anyway.
            self.ctls.bump();
            let _ = epoll.unregister(fd);
        }
    }

    /// Frees the slot of a registration: events still queued for it find nothing.
    pub(super) fn remove_source(&self, key: Key) {
        self.sources.borrow_mut().remove(key);
    }

    /// The epoll instance's descriptor, for tests that read what it watches in `/proc`.
    #[cfg(test)]
    pub(crate) fn epoll_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        let epoll = self.epoll.borrow();
        epoll.as_ref().expect("not shut down").as_raw_fd()
    }

    /// Records whether the runtime is running on this thread (inside its `block_on`): only
    /// then may a task wait on one of its objects. Set by the runtime as it enters and
    /// leaves `block_on`; ignored after the shutdown.
    pub(crate) fn set_running(&self, running: bool) {
        if self.phase.get() != Phase::ShutDown {
            let phase = if running { Phase::Running } else { Phase::Idle };
            self.phase.set(phase);
        }
    }

    /// Whether a task may wait on one of this reactor's descriptors now: only while the
    /// runtime runs. Otherwise the error to return instead of waiting for events nobody
    /// will deliver. Checked only on the way to `Pending`, so a ready operation pays
    /// nothing for it.
    #[inline]
    pub(super) fn can_wait(&self) -> io::Result<()> {
        match self.phase.get() {
            Phase::Running => Ok(()),
            Phase::Idle => Err(not_running()),
            Phase::ShutDown => Err(shut_down()),
        }
    }

    /// Shuts the reactor down, when its runtime is dropped: see "Shutdown" in the module
    /// docs. Objects and timers that still point at the reactor keep it allocated, but
    /// empty: no descriptor, no waker.
    pub(crate) fn shutdown(&self) {
        self.phase.set(Phase::ShutDown);
        // 1. Close the epoll instance now, whoever still holds the reactor; its number is
        //    free for the next `epoll_create`, so nothing may name it again. Its event
        //    buffer goes too.
        let epoll = self.epoll.borrow_mut().take();
        drop(epoll);
        self.events.replace(Events::with_capacity(0));
        self.alarm.borrow_mut().close();

        // 2. Take every registration's state and every timer out of the tables, so that
        //    nothing is borrowed while wakers run or are dropped below (a waker may own an
        //    I/O object, whose drop reaches back into the reactor).
        let sources = self.sources.borrow_mut().drain();
        let timers = std::mem::take(&mut *self.timers.borrow_mut());

        // 3. Wake every task waiting on a descriptor: polled again, it finds the shutdown
        //    and fails. Waking takes the wakers out of the waiter lists; the timers' are
        //    dropped with their queue.
        for state in &sources {
            state.shut_down();
        }
        drop(timers);
        drop(sources);
    }

    /// Number of registered descriptors (the eventfd excluded).
    pub(crate) fn source_count(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Sets the alarm for `deadline`, `left` after `now`, if it is far: see `alarm.rs`.
    /// `false`: the turn waits for it with a timeout.
    fn set_alarm(&self, deadline: Instant, now: Instant, left: Duration) -> bool {
        let set = match &*self.epoll.borrow() {
            Some(epoll) => self.alarm.borrow_mut().set(epoll, deadline, now, left),
            None => false,
        };
        if set {
            self.alarms_set.bump();
        }
        set
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

    /// Moves a pending timer to `deadline`, keeping its key and waker; `false` if it has
    /// already fired.
    pub(crate) fn reset_timer(&self, key: TimerKey, deadline: Instant) -> bool {
        self.timers.borrow_mut().reset(key, deadline)
    }

    /// Applies a change to a timer asked for on another thread.
    pub(crate) fn apply_timer_op(&self, op: TimerOp) {
        match op {
            TimerOp::Cancel(key) => self.remove_timer(key),
            // A timer that has fired since stays fired: its task was woken, and registers
            // again, at the new deadline, when it polls its sleep.
            TimerOp::Reset(key, deadline) => {
                self.reset_timer(key, deadline);
            }
        }
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

    /// One `epoll_wait` on `epoll` for at most `timeout` (`None`: no limit; a `now` given is
    /// when that timeout was computed, from which a wait cut short by a signal resumes:
    /// see [`Epoll::poll_since`]), counted. Returns how many events.
    #[inline(always)]
    fn sleep(
        &self,
        epoll: &Epoll,
        events: &mut Events,
        timeout: Option<Duration>,
        now: Option<Instant>,
    ) -> io::Result<usize> {
        let n = epoll.poll_since(events, timeout, now)?;
        self.waits.bump();
        if timeout.is_some_and(|t| !t.is_zero()) {
            self.timed_waits.bump();
        }
        Ok(n)
    }

    /// Waits for events at most `timeout` (`None`: until something happens), records them
    /// and wakes the tasks they concern. Returns whether the runtime's eventfd was rung.
    ///
    /// An error means the runtime's own epoll instance failed, which no correct program
    /// causes (see [`Epoll::poll`]: `EINTR` is retried, and a kernel or sandbox without
    /// `epoll_pwait2` only costs precision): its descriptor was closed or replaced behind
    /// the runtime's back. Nothing was recorded or woken then.
    // Forced inline into `Core::park`, its one caller: as a call of its own it cost 17
    // instructions more per echo request at one connection, where every request is a turn,
    // and 13 per HTTP request (`bench/instructions.sh`). (`park` itself stays a call:
    // inlined into `block_on`'s loop, it cost 36 more.)
    #[inline(always)]
    pub(crate) fn turn(&self, timeout: Option<Duration>) -> io::Result<bool> {
        // 1. The nearest timer bounds the wait: if the alarm rings by its deadline, that is
        // done already; if it is far, the alarm is set for it; otherwise the wait stops
        // shortly before it, if the kernel's slack could make it late (see `alarm.rs` and
        // `slack.rs`). The clock is read here only in the last two cases; in the first,
        // once the wait is over (step 4).
        let mut now = None;
        let timeout = match self.timers.borrow_mut().next_deadline() {
            None => timeout,
            Some(deadline) if self.alarm.borrow().rings_by(deadline) => timeout,
            Some(deadline) => {
                let reading = Instant::now();
                now = Some(reading);
                let left = deadline.saturating_duration_since(reading);
                if self.set_alarm(deadline, reading, left) {
                    timeout
                } else {
                    let wait = slack::wait_for(left);
                    Some(timeout.map_or(wait, |t| t.min(wait)))
                }
            }
        };

        // 2. Sleep in the kernel, after a spin if the runtime spins (`spin.rs`). (A reactor
        // that is shut down has no epoll instance to sleep on; its runtime, the only
        // caller, is gone anyway.) The clock read above is where a wait cut short by a
        // signal resumes from.
        let mut events = self.events.borrow_mut();
        let started = self.tracer.as_ref().map(|_| Instant::now());
        let n = match &*self.epoll.borrow() {
            Some(epoll) if self.spin.is_off() => self.sleep(epoll, &mut events, timeout, now)?,
            Some(epoll) => self.spin_then_sleep(epoll, &mut events, timeout, now)?,
            None => return Ok(false),
        };
        self.events_seen.add(n as u64);
        if let (Some(tracer), Some(started)) = (&self.tracer, started) {
            tracer.epoll_wait(started, timeout, n);
        }

        // 3. Record readiness and wake the tasks it concerns. The state is cloned out of
        // the slab (a non-atomic increment) so that the slab is not borrowed while wakers
        // run. (Collecting the wakers in a list to wake after the loop, as this reactor once
        // did, cost about 50 instructions more per request in the echo benchmark.)
        let (mut notified, mut rang) = (false, false);
        for event in events.iter() {
            if event.token() == NOTIFY_TOKEN {
                notified = true;
                continue;
            }
            if event.token() == ALARM_TOKEN {
                rang = true;
                continue;
            }
            let state = self
                .sources
                .borrow()
                .get(Key::from_u64(event.token()))
                .cloned();
            // No slot: the descriptor was deregistered after this `epoll_wait` returned the
            // event (by a waker earlier in the batch). `EPOLL_CTL_DEL` takes back events
            // still queued in the kernel, not those already in `events`.
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
        // is no longer borrowed. The clock is read again only if step 1 did not (the alarm
        // rings by the nearest deadline), if the wait ran out (no events after a wait that
        // was not a mere look), or if the alarm rang; otherwise the turn's first reading
        // decides, and a timer whose deadline came during the wait (events arriving with
        // it) fires at the next turn, which does not wait: its first reading finds the
        // deadline passed. So a busy loop, woken by events at every turn, reads the clock
        // once per turn, and a timer fires at the first turn after its deadline, whether
        // the alarm has rung by then or not.
        // With no timer pending (a keep-alive request sets none), none of this runs: the
        // empty list's drain alone cost about 20 instructions per request (callgrind).
        if rang {
            self.alarm.borrow_mut().rang();
        }
        let mut timers = self.timers.borrow_mut();
        if timers.len() > 0 {
            let now = match now {
                Some(now) if !rang && (n > 0 || timeout == Some(Duration::ZERO)) => now,
                _ => Instant::now(),
            };
            let mut wake_list = self.wake_list.take();
            timers.fire_expired(now, &mut wake_list);
            drop(timers);
            if !wake_list.is_empty() {
                for waker in wake_list.drain(..) {
                    waker.wake();
                }
            }
            self.wake_list.set(wake_list);
        }
        Ok(notified)
    }
}

/// Where a reactor's runtime is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// The runtime lives, but is not running on this thread: nothing would deliver an
    /// event to a task waiting on its objects.
    Idle,
    /// The runtime is inside `block_on` on this thread.
    Running,
    /// The runtime was dropped. Final.
    ShutDown,
}

/// The error of an operation on an object whose runtime has shut down.
#[cold]
fn shut_down() -> io::Error {
    io::Error::other(
        "the epoll-rt runtime this I/O object was created on has shut down: \
         an I/O object works only on the runtime that created it",
    )
}

/// The error of a wait on an object whose runtime is not running on this thread.
#[cold]
fn not_running() -> io::Error {
    io::Error::other(
        "the epoll-rt runtime this I/O object was created on is not running: \
         an I/O object can wait only inside its own runtime's block_on (or a task it runs)",
    )
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

/// What one registered descriptor costs the reactor, in bytes, for the memory tests: its
/// state's `Rc` (counts included) and its slot in the reactor's slab.
#[cfg(test)]
pub(crate) fn registration_sizes() -> [(&'static str, usize); 2] {
    [
        (
            "descriptor state (Rc<IoState>)",
            16 + std::mem::size_of::<registration::IoState>(),
        ),
        (
            "reactor slab slot",
            Slab::<Rc<registration::IoState>>::SLOT_SIZE,
        ),
    ]
}
