//! The task header: the part of a task that its wakers hold, and that may cross threads.
//!
//! Wakers are built with [`futures_task::ArcWake`], which turns an `Arc<Header>` into a
//! `Waker` without a hand-written vtable.

use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_task::ArcWake;

use super::Remote;
use super::current;
use crate::util::slab::Key;

/// A task's key in its runtime's slab.
pub(crate) type TaskId = Key;

/// What a waker needs to schedule a task: which task, on which runtime.
#[derive(Debug)]
pub(crate) struct Header {
    /// The task's key in the scheduler's slab.
    id: TaskId,
    /// Set while the task sits in a run queue, and forever once it has finished. A wake
    /// that finds it set does nothing: this is what keeps a task from being queued twice
    /// (but for one rare race, harmless, described in `wake_by_ref`).
    scheduled: AtomicBool,
    /// Set by `JoinHandle::abort`. The scheduler checks it before each poll and drops an
    /// aborted task instead of polling it. It lives here, in the padding after
    /// `scheduled`, rather than in the join state, where it would cost 8 bytes.
    aborted: AtomicBool,
    /// The runtime the task belongs to, to recognise a wake on its own thread.
    runtime_id: u64,
    /// The runtime's cross-thread queue. Weak: a waker that outlives its runtime must not
    /// keep the runtime's eventfd open, and waking it does nothing.
    remote: Weak<Remote>,
    /// How traces name the task, when the runtime traces (`EPOLL_RT_TRACE`); `None`
    /// otherwise, and then wakes are not reported. A `Box<String>` is a thin pointer: 8
    /// bytes per task where a name and a flag took 24, on every task of a runtime that
    /// does not trace.
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer: 8 bytes in every task, where a String takes 24"
    )]
    label: Option<Box<String>>,
}

impl Header {
    /// A header for task `id`, marked as queued: its creator queues it at once. `label`
    /// is `Some` only on a traced runtime.
    pub(crate) fn new(
        id: TaskId,
        runtime_id: u64,
        remote: Weak<Remote>,
        label: Option<String>,
    ) -> Self {
        Self {
            id,
            scheduled: AtomicBool::new(true),
            aborted: AtomicBool::new(false),
            runtime_id,
            remote,
            label: label.map(Box::new),
        }
    }

    /// How traces name this task.
    pub(crate) fn label(&self) -> &str {
        self.label.as_deref().map_or("task", String::as_str)
    }

    /// Marks the task as about to be polled: a wake from now on queues it again.
    pub(crate) fn start_poll(&self) {
        self.scheduled.store(false, Ordering::Release);
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

    /// Marks the task finished: every later wake is ignored.
    pub(crate) fn retire(&self) {
        self.scheduled.store(true, Ordering::Release);
    }
}

impl ArcWake for Header {
    // Inlined into the waker's `wake` (futures-task's vtable function), which otherwise
    // makes one more call per wake: about 7 instructions (callgrind).
    #[inline]
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let header = &**arc_self;
        // Already queued (or finished): nothing to do. A plain load settles the repeated
        // wakes of a queued task without a locked instruction.
        if header.scheduled.load(Ordering::Acquire) {
            return;
        }
        // On the runtime's own thread, while it runs: push on the local queue, no lock, no
        // syscall. The flag is set with a plain store, not a swap, saving a locked
        // instruction (about a fifth of a wake's cost): only this thread ever clears it
        // (`start_poll`), so it cannot change under us, except set by a wake racing in from
        // another thread. Then both queue the task, and it is polled once for nothing.
        let local = current::schedule_local(header.runtime_id, || {
            header.scheduled.store(true, Ordering::Release);
            header.id
        });
        // Anywhere else: the remote queue, which rings the eventfd. Here a swap decides
        // which of several racing wakes queues the task.
        let remote = if local {
            if header.label.is_none() {
                return;
            }
            header.remote.upgrade()
        } else if header.scheduled.swap(true, Ordering::AcqRel) {
            return;
        } else {
            let remote = header.remote.upgrade();
            if let Some(remote) = &remote {
                remote.push(header.id);
            }
            remote
        };
        if let Some(tracer) = remote.as_ref().and_then(|remote| remote.tracer()) {
            tracer.wake(header.label(), local);
        }
    }
}
