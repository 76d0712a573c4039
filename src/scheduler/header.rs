//! The task header: the part of a task that its wakers hold, and that may cross threads.
//!
//! Wakers are built with [`futures_task::ArcWake`], which turns an `Arc<Header>` into a
//! `Waker` without a hand-written vtable. A wake moves the task's state (`state.rs`) and,
//! when that says so, queues the task: on its runtime's run queue if the wake happens on
//! the runtime's own thread while it runs (no lock, no syscall), on the remote queue
//! otherwise (a mutex and the eventfd).

use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_task::ArcWake;

use super::Remote;
use super::current;
use super::state::{TaskState, Wake};
use crate::util::slab::Key;

/// A task's key in its runtime's slab.
pub(crate) type TaskId = Key;

/// What a waker needs to schedule a task: which task, on which runtime.
#[derive(Debug)]
pub(crate) struct Header {
    /// The task's key in the scheduler's slab.
    id: TaskId,
    /// Idle, scheduled, running, notified or complete: what a wake must do, and whether
    /// the task sits in a run queue (at most once).
    state: TaskState,
    /// Set by `JoinHandle::abort`. The scheduler checks it before each poll and drops an
    /// aborted task instead of polling it. It lives here, in the padding after `state`,
    /// rather than in the join state, where it would cost 8 bytes.
    aborted: AtomicBool,
    /// Whether the runtime traces (`EPOLL_RT_TRACE`): then wakes are reported, and the
    /// tracer knows the task's name. (The name lives in the tracer: here it took 8 bytes
    /// of every task, and the header 64 bytes of malloc's where it now takes 48.)
    traced: bool,
    /// The runtime the task belongs to, to recognise a wake on its own thread.
    runtime_id: u32,
    /// The runtime's cross-thread queue. Weak: a waker that outlives its runtime must not
    /// keep the runtime's eventfd open, and waking it does nothing.
    remote: Weak<Remote>,
}

impl Header {
    /// A header for task `id`, scheduled: its creator queues it at once. `traced` if
    /// the runtime traces.
    pub(crate) fn new(id: TaskId, runtime_id: u32, remote: Weak<Remote>, traced: bool) -> Self {
        Self {
            id,
            state: TaskState::new(),
            aborted: AtomicBool::new(false),
            traced,
            runtime_id,
            remote,
        }
    }

    /// The task's key in the scheduler's slab.
    pub(crate) fn id(&self) -> TaskId {
        self.id
    }

    /// The task's state, which the scheduler moves at the start and end of each poll.
    pub(crate) fn state(&self) -> &TaskState {
        &self.state
    }

    /// Asks for the task to be dropped instead of polled again. Runtime thread only (the
    /// `JoinHandle` is not `Send`), hence `Relaxed`.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::Relaxed);
    }

    /// Whether [`abort`](Self::abort) was called.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Relaxed)
    }
}

impl ArcWake for Header {
    // Inlined into the waker's `wake` (futures-task's vtable function), which otherwise
    // makes one more call per wake, with its own prologue: about 12 instructions
    // (callgrind, `cargo bench --bench wake`). `always`, because the compiler declines a
    // plain `#[inline]` here; the rare paths (remote, traced) stay out of line, in calls.
    #[inline(always)]
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let header = &**arc_self;
        // Anywhere but on the runtime's own thread while it runs: the remote path.
        if !current::is_running(header.runtime_id) {
            header.wake_remote();
            return;
        }
        // Here the state's local shortcut applies, and a task to queue goes on the run
        // queue: no lock, no syscall.
        match header.state.wake_local() {
            // Already scheduled or notified, or complete.
            Wake::Nothing => return,
            // Woken during its poll: the scheduler queues it when the poll ends.
            Wake::Notified => {}
            Wake::Queue => {
                if !current::push(header.id) {
                    // This thread's queue is gone: it is exiting.
                    header.queue_remote();
                }
            }
        }
        if header.traced {
            header.trace_wake(true);
        }
    }
}

impl Header {
    /// A wake from another thread, or from this one while the runtime is not running.
    #[inline(never)]
    fn wake_remote(&self) {
        match self.state.wake() {
            Wake::Nothing => return,
            Wake::Notified => {}
            Wake::Queue => self.queue_remote(),
        }
        if self.traced {
            self.trace_wake(false);
        }
    }

    /// Queues the task on the remote queue, which rings the eventfd. A runtime that is
    /// gone has no queue, and then nothing happens. Out of line: the wake on the runtime's
    /// thread calls it only as that thread exits.
    #[inline(never)]
    fn queue_remote(&self) {
        if let Some(remote) = self.remote.upgrade() {
            remote.push(self.id);
        }
    }

    /// Reports a wake to the runtime's tracer (`local`: from the runtime's own thread).
    #[cold]
    fn trace_wake(&self, local: bool) {
        let remote = self.remote.upgrade();
        if let Some(tracer) = remote.as_ref().and_then(|remote| remote.tracer()) {
            tracer.wake(self.id.to_u64(), local);
        }
    }
}
