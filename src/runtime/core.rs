//! The core of one runtime: its reactor, its scheduler, its remote queue and its blocking
//! pool, behind the `Rc` that the thread-local context and the
//! [`Runtime`](super::Runtime) handle share.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::num::{NonZeroU32, NonZeroU64};
use std::os::fd::AsFd;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::blocking::{BlockingPool, Config, Job};
use crate::driver::{Reactor, TimerKey, TimerOp};
use crate::scheduler::{Header, JoinHandle, Remote, Scheduler, TaskId};
use crate::util::budget::Budget;
use crate::util::oneshot;
use crate::util::stats::RuntimeStats;
use crate::util::trace::Tracer;

/// Source of runtime ids, which let a waker tell its own runtime's thread from another.
/// Counted in 64 bits, handed out in 32 (4 bytes in every task header): once the count
/// passes `u32::MAX`, no runtime can be created any more, rather than two share an id.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The remote queue of every live runtime, by id: how a `Sleep` reset or dropped away from
/// its runtime's thread reaches that runtime. Only that cold path takes this lock; a
/// `Sleep` keeps its runtime's id (a plain integer) rather than a `Weak` to its queue,
/// whose reference counts would cost two atomic operations per timer on the hot path.
static REMOTES: Mutex<BTreeMap<u64, Weak<Remote>>> = Mutex::new(BTreeMap::new());

/// Everything one runtime owns.
pub(crate) struct Core {
    /// Unique among the runtimes of this process.
    id: NonZeroU32,
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
    /// Threads for blocking closures; none until the first `spawn_blocking`.
    blocking: BlockingPool,
}

impl Core {
    /// A runtime core with a new epoll instance and eventfd, and a blocking pool with the
    /// limits of `blocking` (and no thread).
    pub(crate) fn new(blocking: Config) -> io::Result<Self> {
        let id = u32::try_from(NEXT_ID.fetch_add(1, Ordering::Relaxed))
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                io::Error::other("runtime ids exhausted: this process created 2^32 - 1 runtimes")
            })?;
        // Decided once, here: with tracing off, every trace point tests a `None`.
        let tracer = Tracer::from_env();
        let remote = Arc::new(Remote::new(tracer.clone())?);
        // The scheduler grants the cooperative budget before each poll; the I/O objects
        // created on this runtime spend it.
        let budget = Rc::new(Budget::new());
        let reactor = Reactor::new(tracer.clone(), budget.clone())?;
        reactor.add_notifier(remote.as_fd())?;
        REMOTES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(u64::from(id.get()), Arc::downgrade(&remote));
        Ok(Self {
            id,
            reactor: Rc::new(reactor),
            scheduler: Scheduler::new(
                id.get(),
                Arc::downgrade(&remote),
                tracer.clone(),
                budget.clone(),
            ),
            remote,
            budget,
            tracer,
            blocking: BlockingPool::new(blocking),
        })
    }

    /// A snapshot of this runtime's counters.
    pub(crate) fn stats(&self) -> RuntimeStats {
        let mut stats = RuntimeStats::default();
        self.scheduler.add_stats(&mut stats);
        self.reactor.add_stats(&mut stats);
        (stats.remote_wakes, stats.eventfd_rings) = self.remote.counts();
        stats.blocking_threads = self.blocking.thread_count() as u64;
        stats
    }

    /// This runtime's id.
    pub(crate) fn id(&self) -> u32 {
        self.id.get()
    }

    /// This runtime's id, for a timer registered with it.
    #[inline]
    pub(crate) fn timer_owner(&self) -> NonZeroU64 {
        NonZeroU64::from(self.id)
    }

    /// This runtime's reactor.
    pub(crate) fn reactor(&self) -> &Rc<Reactor> {
        &self.reactor
    }

    /// This runtime's cooperative budget, for `yield_now`, which gives back what is left
    /// of it. (The I/O objects reach it through the reactor, which holds it for them.)
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

    /// Spawns `future` as a task of this runtime that nobody will join.
    pub(crate) fn spawn_detached<F: Future + 'static>(&self, future: F, name: Option<Box<str>>) {
        self.scheduler.spawn_detached(future, name);
    }

    /// Runs `f` on the blocking pool, and returns a handle on a task of this runtime that
    /// awaits its result: `f`'s panic becomes the task's.
    pub(crate) fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_blocking_job(false, f)
    }

    /// [`spawn_blocking`](Self::spawn_blocking); with `must_run`, `f` runs even if the
    /// runtime shuts down before a pool thread has taken it ([`Job::must_run`]): for work
    /// whose effect must not be lost with the task that asked for it (a file's write).
    pub(crate) fn spawn_blocking_job<F, T>(&self, must_run: bool, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // The pool thread sends the outcome; the send wakes the task below from there,
        // through the remote queue.
        let (outcome, result) = oneshot::channel();
        let run = move || outcome.send(catch_unwind(AssertUnwindSafe(f)));
        let job = if must_run {
            Job::must_run(run)
        } else {
            Job::new(run)
        };
        let failed = self.blocking.spawn(job).err();
        self.spawn(
            async move {
                match result.await {
                    Some(Ok(output)) => output,
                    // Reported as the task's panic: its handle yields the payload.
                    Some(Err(payload)) => resume_unwind(payload),
                    // The pool dropped the closure unrun: it could not start a thread (or
                    // the runtime shut down, and then this task is gone too).
                    None => resume_unwind(Box::new(match failed {
                        Some(e) => format!("spawn_blocking: cannot start a thread: {e}"),
                        None => "spawn_blocking: the closure was dropped unrun".to_owned(),
                    })),
                }
            },
            None,
        )
    }

    /// The remote queue, for a [`Handle`](super::Handle): weak, so that a handle does not
    /// keep the runtime's eventfd open.
    pub(crate) fn remote(&self) -> Weak<Remote> {
        Arc::downgrade(&self.remote)
    }

    /// Moves tasks woken from other threads onto the run queue, and spawns the futures
    /// spawned from other threads.
    ///
    /// Never inlined: `park` calls it only when the eventfd rang, and inlined there it
    /// made every `park` save and restore the registers it needs (12 instructions per
    /// turn, callgrind).
    #[inline(never)]
    pub(crate) fn drain_remote(&self) {
        let spawns = self.remote.drain_into(self.scheduler.run_queue());
        for future in spawns {
            // Detached: the future sends its outcome to its handle itself.
            drop(self.scheduler.spawn(future, None));
        }
        self.apply_timer_ops();
    }

    /// Applies the timer changes asked for from other threads, in order.
    #[inline]
    fn apply_timer_ops(&self) {
        if let Some(ops) = self.remote.take_timer_ops() {
            // The queue's lock is released by now: a cancelled timer's waker is dropped
            // under no lock and no borrow.
            for op in ops {
                self.reactor.apply_timer_op(op);
            }
        }
    }

    /// Moves timer `key` of this runtime to `deadline`; `false` if it has fired.
    pub(crate) fn reset_timer(&self, key: TimerKey, deadline: std::time::Instant) -> bool {
        // A reset asked for on another thread and not applied yet must not land after
        // this one and undo it (the sleep may have come back to this thread since).
        self.apply_timer_ops();
        self.reactor.reset_timer(key, deadline)
    }

    /// Asks runtime `owner` (from any thread) to apply `op` to one of its timers; nothing
    /// if that runtime is gone (its timers went with it).
    pub(crate) fn send_timer_op(owner: NonZeroU64, op: TimerOp) {
        let remote = REMOTES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&owner.get())
            .and_then(Weak::upgrade);
        // Pushed with the registry released: the push may ring the eventfd.
        if let Some(remote) = remote {
            remote.push_timer_op(op);
        }
    }

    /// One trip to the kernel: a quick look for events while tasks are ready (or have
    /// yielded), otherwise sleep until an event, a timer or a remote wake; then the tasks
    /// that yielded are woken.
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
        // Tasks that yielded run again now that I/O and timers have had their turn,
        // behind the tasks those woke.
        self.scheduler.wake_deferred();
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

    /// Drops every task, stops the blocking pool (waiting for its running closures, for
    /// at most `timeout` if given), then shuts the reactor down: its epoll instance
    /// closes, tasks still waiting on its objects are woken, stored wakers are dropped,
    /// and its objects fail from then on (see "Shutdown" in `driver/mod.rs`). Called when
    /// the `Runtime` is dropped; a second call changes nothing.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        // No more spawns from other threads; those not spawned yet are dropped, which
        // tells their handles they were cancelled.
        drop(self.remote.close());
        // Tasks first: their destructors may drop I/O objects, which deregister while the
        // epoll instance is still there to deregister from.
        self.scheduler.shutdown();
        // Then the pool: idle threads end, running closures are waited for (their tasks
        // are gone, so their results are dropped).
        self.blocking.shutdown(timeout);
        self.reactor.shutdown();
        // Timers of this runtime reset or dropped from now on have nothing to reach.
        REMOTES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&u64::from(self.id.get()));
        if let Some(tracer) = &self.tracer {
            tracer.close();
        }
    }
}
