//! The core of one runtime: its reactor, its scheduler and its remote queue, behind the
//! `Rc` that the thread-local context and the [`Runtime`](super::Runtime) handle share.

use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::driver::Reactor;
use crate::scheduler::{Header, JoinHandle, Remote, Scheduler, TaskId};
use crate::util::budget::Budget;
use crate::util::stats::RuntimeStats;
use crate::util::trace::Tracer;

/// Source of runtime ids, which let a waker tell its own runtime's thread from another.
/// Counted in 64 bits, handed out in 32 (4 bytes in every task header): once the count
/// passes `u32::MAX`, no runtime can be created any more, rather than two share an id.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Everything one runtime owns.
pub(crate) struct Core {
    /// Unique among the runtimes of this process.
    id: u32,
    /// Waits for I/O and timers.
    reactor: Rc<Reactor>,
    /// Tasks and the run queue.
    scheduler: Scheduler,
    /// Wakes from other threads. The only strong reference: wakers hold `Weak`s, so the
    /// eventfd closes with the runtime.
    remote: Arc<Remote>,
    /// The cooperative budget of the task being polled: the scheduler renews it before
    /// each poll, the runtime's I/O objects spend it.
    budget: Rc<Budget>,
    /// The runtime's tracer, when tracing: closed at shutdown, even if an I/O object that
    /// outlives the runtime still holds it.
    tracer: Option<Arc<Tracer>>,
}

impl Core {
    /// A runtime core with a new epoll instance and eventfd.
    pub(crate) fn new() -> io::Result<Self> {
        let id = u32::try_from(NEXT_ID.fetch_add(1, Ordering::Relaxed)).map_err(|_| {
            io::Error::other("runtime ids exhausted: this process created 2^32 - 1 runtimes")
        })?;
        // Decided once, here: with tracing off, every trace point tests a `None`.
        let tracer = Tracer::from_env();
        let remote = Arc::new(Remote::new(tracer.clone())?);
        // The scheduler grants the cooperative budget before each poll; the I/O objects
        // created on this runtime spend it.
        let budget = Rc::new(Budget::new());
        let reactor = Reactor::new(tracer.clone())?;
        reactor.add_notifier(remote.as_fd())?;
        Ok(Self {
            id,
            reactor: Rc::new(reactor),
            scheduler: Scheduler::new(id, Arc::downgrade(&remote), tracer.clone(), budget.clone()),
            remote,
            budget,
            tracer,
        })
    }

    /// A snapshot of this runtime's counters.
    pub(crate) fn stats(&self) -> RuntimeStats {
        let mut stats = RuntimeStats::default();
        self.scheduler.add_stats(&mut stats);
        self.reactor.add_stats(&mut stats);
        (stats.remote_wakes, stats.eventfd_rings) = self.remote.counts();
        stats
    }

    /// This runtime's id.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// This runtime's reactor.
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// This runtime's cooperative budget, for the I/O objects created on it.
    pub(crate) fn budget(&self) -> &Rc<Budget> {
        &self.budget
    }

    /// This runtime's scheduler.
    pub(crate) fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// A header for a task of this runtime that lives outside the scheduler (the future
    /// given to `block_on`).
    pub(crate) fn main_header(&self) -> Arc<Header> {
        self.scheduler.header(TaskId::RESERVED, None)
    }

    /// Spawns `future` as a task of this runtime.
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.scheduler.spawn(future, name)
    }

    /// Moves tasks woken from other threads onto the run queue.
    ///
    /// Never inlined: `park` calls it only when the eventfd rang, and inlined there it
    /// made every `park` save and restore the registers it needs (12 instructions per
    /// turn, callgrind).
    #[inline(never)]
    pub(crate) fn drain_remote(&self) {
        self.remote.drain_into(self.scheduler.run_queue());
    }

    /// One trip to the kernel: a quick look for events while tasks are ready, otherwise
    /// sleep until an event, a timer or a remote wake.
    ///
    /// # Panics
    ///
    /// If the runtime's epoll instance fails (see `Reactor::turn`: only when its descriptor
    /// was closed behind its back). `block_on` has no error to return it as, and a runtime
    /// that cannot wait can never wake a task again: going on would spin or hang.
    pub(crate) fn park(&self) {
        let timeout = if self.scheduler.has_ready() {
            Some(Duration::ZERO)
        } else {
            None
        };
        let notified = self.reactor.turn(timeout).unwrap_or_else(|e| {
            panic!(
                "epoll_rt: the runtime's epoll instance failed ({e}); was its descriptor closed?"
            )
        });
        if notified {
            self.drain_remote();
        }
    }

    /// Marks the start of a `block_on`: the runtime runs on this thread, and tasks may
    /// wait on its I/O objects.
    pub(crate) fn start_polling(&self) {
        self.reactor.set_running(true);
    }

    /// Marks the end of a `block_on`: no task of this runtime is being polled, so its I/O
    /// objects, if used elsewhere, are not limited by a budget left over from a poll, and
    /// may not wait (nothing would wake them) until the runtime runs again.
    pub(crate) fn stop_polling(&self) {
        self.scheduler.stop_polling();
        self.reactor.set_running(false);
    }

    /// Drops every task, then shuts the reactor down: its epoll instance closes, tasks
    /// still waiting on its objects are woken, stored wakers are dropped, and its objects
    /// fail from then on (see "Shutdown" in `driver/mod.rs`). Called when the `Runtime` is
    /// dropped.
    pub(crate) fn shutdown(&self) {
        // Tasks first: their destructors may drop I/O objects, which deregister while the
        // epoll instance is still there to deregister from.
        self.scheduler.shutdown();
        self.reactor.shutdown();
        if let Some(tracer) = &self.tracer {
            tracer.close();
        }
    }
}
