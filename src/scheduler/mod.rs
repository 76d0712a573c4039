//! The scheduler: every spawned task of one runtime, and the queue of those ready to run.
//!
//! Tasks live in a slab keyed by [`TaskId`]; the run queue (`run_queue.rs`) holds ids, not
//! tasks (as in blog_os's executor). A woken task's id is pushed at the back; the executor
//! pops from the front and polls. An id whose task has finished since it was queued finds
//! an empty slot (the slab's generation check) and is skipped.
//!
//! A spawned future is split in two, because a waker must be `Send + Sync` (any thread may
//! wake any task) while the future itself need not be `Send` (this runtime never moves it
//! off its thread):
//!
//! ```text
//!   scheduler's slab (this thread only)          anywhere
//!   ┌────────────────────────────────┐        ┌──────────────────────┐
//!   │ Spawned<F>: the future, plus   │        │ Header (Arc):        │
//!   │ the Rc<JoinState> it completes │        │  id, state,          │◀── Waker
//!   │ Arc<Header> ───────────────────┼───────▶│  runtime id, remote  │
//!   └────────────────────────────────┘        └──────────────────────┘
//!                 │ Rc
//!                 ▼
//!   JoinState: output slot + joiner's waker ◀── JoinHandle
//! ```
//!
//! A task spawned detached (`spawn_detached`) has no handle, so no join state: its future
//! is wrapped in `Detached<F>`, which drops the outcome where it happens.
//!
//! Waking moves the header's state (`state.rs`): an idle task becomes scheduled and the
//! waker pushes its id on a run queue; a task woken while it is being polled becomes
//! notified, and the scheduler queues it again when the poll ends; any other wake changes
//! nothing. So a task sits in the run queue at most once, and a wake is never lost.
//!
//! This layer knows nothing of epoll or timers: it is woken through wakers, like any
//! executor, and the runtime above ties it to the driver. (Its remote queue only carries
//! timer changes from other threads, for the runtime to hand to the driver.)

mod abort;
pub(crate) mod current;
mod header;
mod join;
mod lookahead;
mod remote;
mod run_queue;
mod spawned;
mod state;

pub use abort::AbortHandle;
pub(crate) use header::{Header, TaskId};
pub use join::{JoinError, JoinHandle};
pub(crate) use remote::Remote;
pub(crate) use run_queue::RunQueue;
use spawned::{Detached, spawned};

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use futures_task::waker_ref;

use std::time::Instant;

use crate::util::budget::Budget;
use crate::util::slab::Slab;
use crate::util::stats::{Counter, RuntimeStats};
use crate::util::trace::Tracer;

/// A spawned task as the scheduler stores it.
struct Task {
    /// The user's future, wrapped to deliver its outcome to the `JoinHandle`.
    future: Pin<Box<dyn Future<Output = ()>>>,
    /// What the task's wakers point to.
    header: Arc<Header>,
}

/// The tasks of one runtime and its run queue. Runtime thread only.
pub(crate) struct Scheduler {
    /// The runtime's id, stamped into each task's header.
    runtime_id: u32,
    /// The runtime's remote queue, for the wakers of new tasks.
    remote: Weak<Remote>,
    /// The runtime's tracer, when tracing.
    tracer: Option<Arc<Tracer>>,
    /// Tasks spawned.
    spawned: Counter,
    /// Tasks finished.
    finished: Counter,
    /// Polls, the future of `block_on` included.
    polls: Counter,
    /// The cooperative budget, renewed before each poll (shared with the I/O objects,
    /// which spend it).
    budget: Rc<Budget>,
    /// Every live task. A task is taken out of its slot while it is polled (the slot stays
    /// reserved), so that it can spawn (which inserts into this slab) mid-poll.
    tasks: RefCell<Slab<Task>>,
    /// Whether there are enough tasks for the executor to look ahead (`lookahead.rs`):
    /// a flag kept up to date as tasks come and go, so that with few tasks the executor
    /// pays one test per poll.
    looks_ahead: Cell<bool>,
    /// Ids of tasks to poll, in wake order; shared with this thread's wakers while the
    /// runtime runs (`current.rs`).
    run_queue: Rc<RunQueue>,
}

impl Scheduler {
    /// A scheduler with no task, for runtime `runtime_id`.
    pub(crate) fn new(
        runtime_id: u32,
        remote: Weak<Remote>,
        tracer: Option<Arc<Tracer>>,
        budget: Rc<Budget>,
    ) -> Self {
        Self {
            runtime_id,
            remote,
            tracer,
            spawned: Counter::default(),
            finished: Counter::default(),
            polls: Counter::default(),
            budget,
            tasks: RefCell::default(),
            looks_ahead: Cell::new(false),
            run_queue: Rc::default(),
        }
    }

    /// A header for task `id` of this runtime.
    pub(crate) fn header(&self, id: TaskId, name: Option<Box<str>>) -> Arc<Header> {
        // Names serve only traces: without one, the name is dropped now rather than kept
        // for the task's whole life (a connection's task can live for hours).
        if let Some(tracer) = &self.tracer {
            let label = if id == TaskId::RESERVED {
                "block_on".to_owned()
            } else {
                crate::util::trace::task_label(id.index(), name.as_deref())
            };
            tracer.name_task(id.to_u64(), label);
        }
        let traced = self.tracer.is_some();
        Arc::new(Header::new(
            id,
            self.runtime_id,
            self.remote.clone(),
            traced,
        ))
    }

    /// Adds a task running `future` and queues it for its first poll.
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let mut handle = None;
        self.insert(name, |header| {
            let (future, join) = spawned(future, header.clone());
            handle = Some(join);
            Box::pin(future)
        });
        handle.expect("insert calls its closure exactly once")
    }

    /// Adds a task running `future` that nobody will join (see `Detached`), and queues it
    /// for its first poll.
    pub(crate) fn spawn_detached<F>(&self, future: F, name: Option<Box<str>>)
    where
        F: Future + 'static,
    {
        self.insert(name, |_| Box::pin(Detached::new(future)));
    }

    /// Adds a task whose future `wrap` makes from its header, and queues it.
    fn insert(
        &self,
        name: Option<Box<str>>,
        wrap: impl FnOnce(&Arc<Header>) -> Pin<Box<dyn Future<Output = ()>>>,
    ) {
        self.spawned.bump();
        let mut tasks = self.tasks.borrow_mut();
        let id = tasks.insert_with(|id| {
            let header = self.header(id, name);
            Task {
                future: wrap(&header),
                header,
            }
        });
        self.count_tasks(tasks.len());
        drop(tasks);
        self.push(id);
    }

    /// Queues task `id`.
    pub(crate) fn push(&self, id: TaskId) {
        self.run_queue.push(id);
    }

    /// Polls `future` as task `header`, counting and tracing the poll, and moves the
    /// task's state around it: a task woken during the poll is queued again, one that
    /// completed is marked so. Returns `None` without polling if the task is not scheduled
    /// (a stale queue entry: a task is polled only for a wake).
    pub(crate) fn poll_as<F: Future + ?Sized>(
        &self,
        header: &Arc<Header>,
        future: Pin<&mut F>,
    ) -> Option<Poll<F::Output>> {
        if !header.state().start_poll() {
            return None;
        }
        Some(self.poll_started(header, future))
    }

    /// The poll of [`poll_as`](Self::poll_as), once the task's state says it runs.
    #[inline]
    fn poll_started<F: Future + ?Sized>(
        &self,
        header: &Arc<Header>,
        future: Pin<&mut F>,
    ) -> Poll<F::Output> {
        self.budget.reset();
        self.polls.bump();
        let waker = waker_ref(header);
        let mut cx = Context::from_waker(&waker);
        // Which task is polled, for the yields that set its wake aside.
        let before = self
            .budget
            .deferred()
            .start_poll(Arc::as_ptr(header).cast());
        let poll = match &self.tracer {
            // Not tracing: nothing to time, nothing to report.
            None => future.poll(&mut cx),
            Some(tracer) => {
                let started = Instant::now();
                let poll = future.poll(&mut cx);
                tracer.poll(header.id().to_u64(), started, poll.is_ready());
                poll
            }
        };
        self.budget.deferred().end_poll(before);
        if poll.is_ready() {
            // Late wakes of a finished task must do nothing.
            header.state().complete();
        } else if header.state().end_poll() {
            // Woken during the poll: queued now, once however many wakes came.
            self.run_queue.wake(header.id());
        }
        poll
    }

    /// Lifts the budget: no task is being polled until the next `block_on`.
    pub(crate) fn stop_polling(&self) {
        self.budget.unlimited();
    }

    /// Adds this scheduler's counts to `stats`.
    pub(crate) fn add_stats(&self, stats: &mut RuntimeStats) {
        stats.tasks_spawned = self.spawned.get();
        stats.tasks_finished = self.finished.get();
        stats.polls = self.polls.get();
        stats.local_wakes = self.run_queue.local_wakes();
    }

    /// The next task to poll, if any.
    #[inline]
    pub(crate) fn pop(&self) -> Option<TaskId> {
        let id = self.run_queue.pop()?;
        self.look_ahead();
        Some(id)
    }

    /// Whether some task waits to be polled, or to be woken after the next look at epoll
    /// (it yielded).
    pub(crate) fn has_ready(&self) -> bool {
        !self.run_queue.is_empty() || !self.budget.deferred().is_empty()
    }

    /// Wakes the tasks that yielded (see `util/deferred.rs`): called after each look at
    /// epoll.
    pub(crate) fn wake_deferred(&self) {
        self.budget.deferred().wake_all();
    }

    /// The run queue: remotely woken tasks are appended to it, and this thread's wakers
    /// push on it while the runtime runs.
    pub(crate) fn run_queue(&self) -> &Rc<RunQueue> {
        &self.run_queue
    }

    /// Number of live tasks.
    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Polls task `id` once; removes it if it finished.
    pub(crate) fn run_task(&self, id: TaskId) {
        // Take the task out of its slot, so no borrow of the slab is held while user code
        // runs. A stale id (the task finished after this wake was queued) finds nothing.
        let Some(mut task) = self.tasks.borrow_mut().take(id) else {
            return;
        };

        // A task is polled only for a wake: an entry it no longer has (it was queued,
        // then polled through another entry) is stale, and skipped.
        let done = if !task.header.state().start_poll() {
            false
        // An aborted task is not polled again: dropping it (below) delivers "cancelled" to
        // its handle, through the `Completion` inside it. The mark is read after the
        // start of the poll, never before: an abort from another thread (an
        // `AbortHandle`) marks the task and then wakes it, and it is the wake, a
        // read-modify-write of the state that `start_poll` reads (or, if the task was
        // running, that `end_poll` reads, queuing it again), that publishes the mark. Read
        // before `start_poll`, the mark could be stale while the wake found the task
        // already scheduled and did nothing more: the abort would be lost. (A loom model
        // in `state.rs` checks this.)
        } else if task.header.is_aborted() {
            if let Some(tracer) = &self.tracer {
                tracer.cancel(id.to_u64());
            }
            task.header.state().complete();
            true
        } else {
            self.poll_started(&task.header, task.future.as_mut())
                .is_ready()
        };

        if done {
            self.finished.bump();
            if let Some(tracer) = &self.tracer {
                tracer.forget_task(id.to_u64());
            }
            let mut tasks = self.tasks.borrow_mut();
            tasks.remove(id);
            self.count_tasks(tasks.len());
            drop(tasks);
            drop_quietly(task);
        } else {
            self.tasks.borrow_mut().put_back(id, task);
        }
    }

    /// Drops every task's future (running their destructors) and empties the run queue.
    ///
    /// One pass drops them all: no destructor can add a task here. This runs as the
    /// `Runtime` is dropped, never inside its `block_on` (which borrows it), so a
    /// destructor's `epoll_rt::spawn` finds either no runtime on the thread, and panics (a
    /// panic `drop_quietly` contains, like any destructor's), or another runtime's
    /// `block_on`, which gets the task; and `Runtime::spawn` needs the `Runtime`, which
    /// nothing else can reach while it is being dropped.
    pub(crate) fn shutdown(&self) {
        let tasks = self.tasks.borrow_mut().drain();
        self.count_tasks(0);
        // Mark them all complete first, so that a destructor's wake of a task not yet
        // dropped does nothing, rather than queue it on the remote queue.
        for task in &tasks {
            task.header.state().complete();
            if let Some(tracer) = &self.tracer {
                tracer.forget_task(task.header.id().to_u64());
            }
        }
        for task in tasks {
            drop_quietly(task);
        }
        debug_assert_eq!(
            self.task_count(),
            0,
            "a destructor added a task at shutdown"
        );
        self.run_queue.clear();
        self.budget.deferred().clear();
    }
}

/// What one detached task of future `F` costs the scheduler, in bytes, for the memory
/// tests: the future's box, the header's `Arc` (counts included), and the task's slot in
/// the slab. (No join state: see `Detached`.)
#[cfg(test)]
pub(crate) fn detached_task_sizes<F: Future>() -> [(&'static str, usize); 3] {
    use std::mem::size_of;
    [
        (
            "task future (Box<Detached<F>>)",
            size_of::<spawned::Detached<F>>(),
        ),
        ("task header (Arc<Header>)", 16 + size_of::<Header>()),
        ("scheduler slab slot", Slab::<Task>::SLOT_SIZE),
    ]
}

/// What one task of future `F` costs the scheduler, in bytes, for the memory tests:
/// the future's box, the header's and the join state's `Arc` and `Rc` (counts included),
/// and the task's slot in the slab.
#[cfg(test)]
pub(crate) fn task_sizes<F: Future>() -> [(&'static str, usize); 4] {
    use std::mem::size_of;
    [
        (
            "task future (Box<Spawned<F>>)",
            size_of::<spawned::Spawned<F>>(),
        ),
        ("task header (Arc<Header>)", 16 + size_of::<Header>()),
        (
            "join state (Rc<JoinState>)",
            16 + size_of::<join::JoinState<F::Output>>(),
        ),
        ("scheduler slab slot", Slab::<Task>::SLOT_SIZE),
    ]
}

/// Drops a task's future, containing a panic from its destructors: a task's failure is
/// reported through its `JoinHandle` and must not take the runtime down.
fn drop_quietly(task: Task) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
}
