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

use std::cell::Cell;
use std::task::{Context, Poll};

/// Operations a task may complete per poll.
pub(crate) const PER_POLL: u32 = 128;

thread_local! {
    /// What is left of the current task poll's budget.
    static BUDGET: Cell<u32> = const { Cell::new(u32::MAX) };
}

/// Gives the task about to be polled a fresh budget.
pub(crate) fn reset() {
    BUDGET.set(PER_POLL);
}

/// Lifts the limit, when the runtime stops polling tasks.
pub(crate) fn unlimited() {
    BUDGET.set(u32::MAX);
}

/// Spends one unit: `Ready` if the operation may proceed, or `Pending` (with the task
/// already woken to run again later) if the budget is spent.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let left = BUDGET.get();
    if left == 0 {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    BUDGET.set(left - 1);
    Poll::Ready(())
}
