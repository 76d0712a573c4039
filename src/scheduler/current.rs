//! The run queue of the runtime running on this thread, if any: what lets a waker tell a
//! wake on its own runtime's thread (push on the run queue: no lock, no syscall) from a
//! wake anywhere else (the remote queue).
//!
//! The runtime sets it for as long as its `block_on` runs (`runtime/context.rs`). It is
//! the scheduler's own thread-local, so that a task's waker, which lives in this layer,
//! never has to reach up into the runtime to find its queue.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::TaskId;
use super::run_queue::RunQueue;

thread_local! {
    /// The id of the runtime running on this thread, 0 if none. Wakers check it on every
    /// wake: a `Cell<u32>` has no destructor, so reading it needs neither `QUEUE`'s check
    /// that its destructor is registered nor a `RefCell` borrow.
    static ID: Cell<u32> = const { Cell::new(0) };

    /// That runtime's run queue.
    static QUEUE: RefCell<Option<Rc<RunQueue>>> = const { RefCell::new(None) };
}

/// Makes `queue`, of runtime `id`, the one local wakes go to on this thread.
pub(crate) fn set(id: u32, queue: Rc<RunQueue>) {
    ID.set(id);
    QUEUE.with(|current| *current.borrow_mut() = Some(queue));
}

/// Ends what [`set`] started: wakes on this thread take the remote path again.
pub(crate) fn clear() {
    ID.set(0);
    let queue = QUEUE.with(|current| current.borrow_mut().take());
    drop(queue);
}

/// Whether runtime `runtime_id` is running on this thread.
#[inline]
pub(crate) fn is_running(runtime_id: u32) -> bool {
    // The id alone answers, without touching `QUEUE`.
    ID.try_with(Cell::get) == Ok(runtime_id)
}

/// Pushes task `id` on the run queue of the runtime running on this thread, as a wake.
/// Returns `false` if there is none (or the thread is exiting), and the caller takes the
/// remote path.
#[inline]
pub(crate) fn push(id: TaskId) -> bool {
    QUEUE
        .try_with(|current| match &*current.borrow() {
            Some(queue) => {
                queue.wake(id);
                true
            }
            None => false,
        })
        .unwrap_or(false)
}
