//! Abort handles: the right to cancel a task, apart from the right to await it, and
//! usable from any thread.
//!
//! An [`AbortHandle`] holds only the task's header, which is `Send + Sync` already (its
//! wakers cross threads): aborting marks the header and wakes the task. From another
//! thread the wake takes the remote queue, and the scheduler, reading the mark at the
//! start of the poll the wake causes, drops the task instead of polling it.

use std::fmt;
use std::sync::Arc;

use futures_task::ArcWake;

use super::Header;

/// A handle that cancels a task, from any thread, without awaiting it. Made by
/// [`JoinHandle::abort_handle`](crate::JoinHandle::abort_handle); dropping it does
/// nothing to the task.
///
/// ```
/// use std::future::pending;
///
/// epoll_rt::block_on(async {
///     let handle = epoll_rt::spawn(pending::<()>());
///     let abort = handle.abort_handle();
///     // `AbortHandle` is `Send`: another thread cancels the task.
///     std::thread::spawn(move || abort.abort()).join().unwrap();
///     assert!(handle.await.unwrap_err().is_cancelled());
/// });
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    /// The task's header: marked, then woken.
    task: Arc<Header>,
}

impl AbortHandle {
    /// An abort handle on the task whose header is `task`.
    pub(crate) fn new(task: Arc<Header>) -> Self {
        Self { task }
    }

    /// Cancels the task, as [`JoinHandle::abort`](crate::JoinHandle::abort) does: it is not
    /// polled again, its future is dropped at the next turn of its runtime's loop, and
    /// its handle yields a cancelled [`JoinError`](crate::JoinError). A task that has
    /// already finished keeps its output.
    pub fn abort(&self) {
        self.task.abort();
        ArcWake::wake_by_ref(&self.task);
    }

    /// Whether the task has finished (completed, panicked or been cancelled) and been
    /// dropped by its runtime.
    pub fn is_finished(&self) -> bool {
        self.task.state().is_complete()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
