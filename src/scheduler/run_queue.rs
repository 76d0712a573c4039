//! The run queue: ids of the tasks ready to be polled, in wake order.
//!
//! It holds ids, not tasks (as blog_os's executor does): the tasks stay in the scheduler's
//! slab, and an id whose task has finished since it was queued finds an empty slot there.
//! Only the runtime's thread touches it; wakes from other threads reach it through the
//! remote queue (`remote.rs`).

use std::cell::RefCell;
use std::collections::VecDeque;

use super::TaskId;
use crate::util::stats::Counter;

/// The ready tasks of one runtime. Runtime thread only.
#[derive(Debug, Default)]
pub(crate) struct RunQueue {
    /// Ids of tasks to poll, in wake order.
    ids: RefCell<VecDeque<TaskId>>,
    /// Tasks queued by [`wake`](Self::wake) (statistics).
    local_wakes: Counter,
}

impl RunQueue {
    /// Queues task `id`.
    pub(crate) fn push(&self, id: TaskId) {
        self.ids.borrow_mut().push_back(id);
    }

    /// Queues task `id`, woken on the runtime's thread, or during its poll.
    pub(crate) fn wake(&self, id: TaskId) {
        self.local_wakes.bump();
        self.push(id);
    }

    /// The next task to poll, if any.
    ///
    /// Inlined into the executor's loop: once per poll, and the call cost about 11 of a
    /// wake's 300 instructions (callgrind, `cargo bench --bench wake`).
    #[inline]
    pub(crate) fn pop(&self) -> Option<TaskId> {
        self.ids.borrow_mut().pop_front()
    }

    /// The ids `near` and `far` places behind the front one (1: the next), if queued.
    #[inline]
    pub(crate) fn ahead(&self, near: usize, far: usize) -> (Option<TaskId>, Option<TaskId>) {
        let ids = self.ids.borrow();
        (ids.get(near - 1).copied(), ids.get(far - 1).copied())
    }

    /// Whether some task waits to be polled.
    pub(crate) fn is_empty(&self) -> bool {
        self.ids.borrow().is_empty()
    }

    /// Appends the ids in `woken` (tasks woken from other threads).
    pub(crate) fn extend(&self, woken: impl IntoIterator<Item = TaskId>) {
        self.ids.borrow_mut().extend(woken);
    }

    /// Forgets every queued id.
    pub(crate) fn clear(&self) {
        self.ids.borrow_mut().clear();
    }

    /// Wakes counted by [`wake`](Self::wake).
    pub(crate) fn local_wakes(&self) -> u64 {
        self.local_wakes.get()
    }
}
