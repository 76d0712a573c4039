//! The cooperative budget: how many I/O operations a task may complete in one poll.
//!
//! A task only gives the thread back when it returns `Pending`. A task reading a socket
//! that always has data (a fast peer, a loop on `/dev/zero`) would never see `WouldBlock`,
//! never return `Pending`, and keep every other task and the reactor from running. So each
//! poll of a task starts with a budget of [`PER_POLL`] operations; every I/O readiness check
//! that lets an operation proceed spends one, and when none is left the check answers
//! `Pending` (after waking the task, so it goes to the back of the run queue) even though
//! the descriptor is ready. tokio has the same mechanism, with the same number.
//!
//! Outside a task poll the budget is unlimited.
//!
//! The budget is a field of the runtime, shared by its scheduler (which grants a fresh one
//! before each poll) and its I/O objects (each `AsyncFd` keeps a handle to it, taken when
//! it is created, and spends it with the polling task's `Context`), rather than a
//! thread-local as in tokio. A thread-local is reached through an accessor call on every
//! use; a handle held by the object is one pointer away, which saves about 10
//! instructions per poll and per I/O operation (callgrind). The reactor knows nothing of
//! it: waiting for the kernel and sharing the thread fairly are separate concerns.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Operations a task may complete per poll.
pub(crate) const PER_POLL: u32 = 128;

/// What is left of the current task poll's budget, for one runtime.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Operations left; `u32::MAX` (no limit) while no task of the runtime is polled.
    left: Cell<u32>,
}

impl Budget {
    /// An unlimited budget: no poll is in progress.
    pub(crate) fn new() -> Self {
        Self {
            left: Cell::new(u32::MAX),
        }
    }

    /// Gives the task about to be polled a fresh budget.
    pub(crate) fn reset(&self) {
        self.left.set(PER_POLL);
    }

    /// Lifts the limit, when the runtime stops polling tasks.
    pub(crate) fn unlimited(&self) {
        self.left.set(u32::MAX);
    }

    /// Runs `f` with the limit lifted, then puts back what was left.
    ///
    /// For an operation done with a context that is not the polled task's, such as a
    /// signal hub reading its signalfd with a waker that fans out to every listener: a
    /// refusal there would wake that waker instead of the task, and re-queue no one. The
    /// caller spends the task's budget itself, with the task's own context. (If `f`
    /// panics, the limit stays lifted until the next poll's [`reset`](Self::reset).)
    pub(crate) fn unconstrained<R>(&self, f: impl FnOnce() -> R) -> R {
        let left = self.left.replace(u32::MAX);
        let result = f();
        self.left.set(left);
        result
    }

    /// Spends one unit: `Ready` if the operation may proceed, or `Pending` (with the task
    /// already woken to run again later) if the budget is spent.
    #[inline]
    pub(crate) fn poll_proceed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let left = self.left.get();
        if left == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.left.set(left - 1);
        Poll::Ready(())
    }
}
