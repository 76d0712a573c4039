//! The cooperative budget: how many I/O operations a task may complete in one poll.
//!
//! A task only gives the thread back when it returns `Pending`. A task reading a socket
//! that always has data (a fast peer, a loop on `/dev/zero`) would never see `WouldBlock`,
//! never return `Pending`, and keep every other task and the reactor from running. So each
//! poll of a task starts with a budget of [`PER_POLL`] operations; every I/O readiness check
//! that lets an operation proceed spends one, and when none is left the check answers
//! `Pending` even though the descriptor is ready, with the task's wake set aside until the
//! runtime's next look at epoll (`deferred.rs`), as a yield's. tokio has the same
//! mechanism, with the same number.
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

use super::deferred::Deferred;

/// Operations a task may complete per poll.
pub(crate) const PER_POLL: u32 = 128;

/// What is left of the current task poll's budget, for one runtime.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Operations left; `u32::MAX` (no limit) while no task of the runtime is polled.
    left: Cell<u32>,
    /// The wakes of the tasks that gave the thread back, by a yield or with their budget
    /// spent, until the runtime's next look at epoll.
    deferred: Deferred,
}

impl Budget {
    /// An unlimited budget: no poll is in progress.
    pub(crate) fn new() -> Self {
        Self {
            left: Cell::new(u32::MAX),
            deferred: Deferred::default(),
        }
    }

    /// The wakes set aside until the runtime's next look at epoll.
    pub(crate) fn deferred(&self) -> &Deferred {
        &self.deferred
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

    /// Spends one unit: `Ready` if the operation may proceed, or `Pending` (with the task's
    /// wake already arranged, after the runtime's next look at epoll) if the budget is
    /// spent.
    #[inline]
    pub(crate) fn poll_proceed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let left = self.left.get();
        if left == 0 {
            self.give_back(cx);
            return Poll::Pending;
        }
        self.left.set(left - 1);
        Poll::Ready(())
    }

    /// Arranges the wake of a task that gives the thread back: after the next look at
    /// epoll if `cx` is the polled task's, at once otherwise (see `deferred.rs`).
    #[cold]
    pub(crate) fn give_back(&self, cx: &mut Context<'_>) {
        if !self.deferred.defer(cx.waker()) {
            cx.waker().wake_by_ref();
        }
    }
}
