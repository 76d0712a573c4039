//! The remote queue: how a waker on another thread schedules a task, how another thread
//! spawns one, and how it changes a timer.
//!
//! The run queue proper (`run_queue.rs`) is a plain `VecDeque` that only the runtime's
//! thread touches. A wake from any other thread (or from this thread while the runtime is not running) goes
//! through here instead: the task id is pushed under a mutex, and the runtime's eventfd is
//! rung so that an `epoll_wait` in progress returns. A future spawned from another thread
//! (`runtime::Handle::spawn`) takes the same way: the runtime spawns it when it drains
//! the queue. Once the runtime shuts down, the queue is closed, and a spawn is refused.
//!
//! The `notified` flag keeps the eventfd to one write per turn of the loop, however many
//! wakes arrive: the first wake after the runtime drained the queue rings, later ones see
//! the flag and only push.
//!
//! Timers travel the same way. A `Sleep` is `Send + Sync`, so it may be dropped or reset on
//! any thread, but its timer lives in the reactor, which only the runtime's thread
//! touches: from elsewhere, the change is pushed here as a [`TimerOp`] and rings the same
//! eventfd, and the runtime hands it to the reactor when it drains this queue.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::TaskId;
use super::run_queue::RunQueue;
use crate::driver::TimerOp;
use crate::sys::eventfd::EventFd;
use crate::util::trace::Tracer;

/// A future spawned from another thread, to become a task of the runtime. It delivers its
/// own outcome (through a channel it owns).
pub(crate) type Injected = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What other threads leave for the runtime.
#[derive(Default)]
struct Inbox {
    /// Ids of tasks woken from elsewhere, not yet moved to the run queue.
    woken: Vec<TaskId>,
    /// Futures spawned from elsewhere, not yet spawned on the runtime.
    spawns: Vec<Injected>,
    /// Changes to timers asked for from elsewhere, in the order they were asked, not yet
    /// applied.
    timer_ops: Vec<TimerOp>,
    /// Set when the runtime shuts down: no spawn is taken any more.
    closed: bool,
}

/// Cross-thread scheduling for one runtime. Shared by `Arc` with its tasks' wakers.
pub(crate) struct Remote {
    /// What other threads left, not yet taken by the runtime.
    queue: Mutex<Inbox>,
    /// Set while the inbox holds timer ops (written under its lock): lets the runtime's
    /// thread skip the lock when there is nothing to apply.
    has_timer_ops: AtomicBool,
    /// Rung to interrupt `epoll_wait`; registered with the runtime's reactor.
    eventfd: EventFd,
    /// Set when the eventfd has been rung and the runtime has not drained it yet.
    notified: AtomicBool,
    /// Wakes pushed here (statistics).
    pushes: AtomicU64,
    /// Rings of the eventfd (statistics).
    rings: AtomicU64,
    /// The runtime's tracer, when tracing: wakes from any thread report to it.
    tracer: Option<Arc<Tracer>>,
}

impl Remote {
    /// A remote queue with a new eventfd.
    pub(crate) fn new(tracer: Option<Arc<Tracer>>) -> io::Result<Self> {
        Ok(Self {
            queue: Mutex::new(Inbox::default()),
            has_timer_ops: AtomicBool::new(false),
            eventfd: EventFd::new()?,
            notified: AtomicBool::new(false),
            pushes: AtomicU64::new(0),
            rings: AtomicU64::new(0),
            tracer,
        })
    }

    /// The runtime's tracer, if it traces.
    pub(crate) fn tracer(&self) -> Option<&Tracer> {
        self.tracer.as_deref()
    }

    /// How many wakes came through here, and how many rang the eventfd.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.pushes.load(Ordering::Relaxed),
            self.rings.load(Ordering::Relaxed),
        )
    }

    /// Locks the inbox. A panic elsewhere while holding this lock cannot leave a `Vec`
    /// half-pushed; poisoning carries no information here.
    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Schedules task `id` from any thread.
    pub(crate) fn push(&self, id: TaskId) {
        self.inbox().woken.push(id);
        self.pushes.fetch_add(1, Ordering::Relaxed);
        self.ring();
    }

    /// Asks the runtime to apply `op` to one of its timers, from any thread. Ops are
    /// applied in the order they were pushed.
    pub(crate) fn push_timer_op(&self, op: TimerOp) {
        let mut inbox = self.inbox();
        inbox.timer_ops.push(op);
        self.has_timer_ops.store(true, Ordering::Release);
        drop(inbox);
        self.ring();
    }

    /// Leaves `future` for the runtime to spawn, from any thread. Gives it back if the
    /// runtime has shut down.
    pub(crate) fn spawn(&self, future: Injected) -> Result<(), Injected> {
        {
            let mut inbox = self.inbox();
            if inbox.closed {
                return Err(future);
            }
            inbox.spawns.push(future);
        }
        self.ring();
        Ok(())
    }

    /// Rings the eventfd, unless it was rung since the runtime last drained the queue.
    fn ring(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.rings.fetch_add(1, Ordering::Relaxed);
            self.eventfd.ring();
        }
    }

    /// Takes the timer ops pushed so far, oldest first; none (and no lock taken) if there
    /// are none. Runtime thread only.
    #[inline]
    pub(crate) fn take_timer_ops(&self) -> Option<Vec<TimerOp>> {
        if !self.has_timer_ops.load(Ordering::Acquire) {
            return None;
        }
        let mut inbox = self.inbox();
        self.has_timer_ops.store(false, Ordering::Relaxed);
        Some(std::mem::take(&mut inbox.timer_ops))
    }

    /// Refuses every later spawn, and returns the futures left unspawned, for the caller to
    /// drop (with the lock released: their destructors may run any code). Called as the
    /// runtime shuts down.
    pub(crate) fn close(&self) -> Vec<Injected> {
        let mut inbox = self.inbox();
        inbox.closed = true;
        std::mem::take(&mut inbox.spawns)
    }

    /// Moves every remotely woken task onto `run_queue`, and returns the futures spawned
    /// from elsewhere, for the caller to spawn. Runtime thread only; the caller then takes
    /// the timer ops ([`take_timer_ops`](Self::take_timer_ops)).
    pub(crate) fn drain_into(&self, run_queue: &RunQueue) -> Vec<Injected> {
        // Order matters: reset the eventfd, then clear the flag, then take the queue (and,
        // after this, the timer ops). A push that finds the flag clear rings *after* the
        // reset, so the ring survives to the next turn; one that finds it set pushed
        // before the take. (Clearing the flag first would let a ring land before the
        // reset and be swallowed by it, leaving the flag set with no ring pending: every
        // later wake would be lost.)
        self.eventfd.drain();
        self.notified.store(false, Ordering::Release);
        let mut inbox = self.inbox();
        run_queue.extend(inbox.woken.drain(..));
        std::mem::take(&mut inbox.spawns)
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("eventfd", &self.eventfd)
            .field("notified", &self.notified)
            .finish_non_exhaustive()
    }
}

impl AsFd for Remote {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.eventfd.as_fd()
    }
}
