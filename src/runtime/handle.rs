//! A handle on a runtime that other threads hold: how a thread that does not run the
//! runtime gives it work.
//!
//! The runtime and its tasks stay on their thread; what crosses is a `Send` future. The
//! handle boxes it, with the sending end of a one-shot channel (`util/oneshot.rs`) for its
//! outcome, and leaves it on the runtime's remote queue, ringing its eventfd, the way a
//! wake from another thread does. The runtime spawns it when it drains the queue; the
//! caller awaits the receiving end, a [`RemoteJoinHandle`], on any thread. tokio's
//! `Handle::spawn` puts the task on its scheduler's injection queue the same way.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::Weak;
use std::task::{Context, Poll};

use crate::scheduler::{JoinError, Remote};
use crate::util::oneshot;

/// A handle on a [`Runtime`](super::Runtime) that any thread may hold and spawn with:
/// `Send + Sync + Clone`, from [`Runtime::handle`](super::Runtime::handle).
///
/// ```
/// use epoll_rt::Runtime;
///
/// let rt = Runtime::new()?;
/// let handle = rt.handle();
/// let worker = std::thread::spawn(move || {
///     // On another thread: spawn a `Send` future on the runtime.
///     handle.spawn(async { 6 * 7 })
/// });
/// let task = worker.join().unwrap()?;
/// assert_eq!(rt.block_on(task).unwrap(), 42); // the runtime runs it
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    /// The runtime's remote queue. Weak: a handle does not keep a dropped runtime's
    /// eventfd open, and finds it gone.
    remote: Weak<Remote>,
}

impl Handle {
    /// A handle on the runtime whose remote queue is `remote`.
    pub(crate) fn new(remote: Weak<Remote>) -> Self {
        Self { remote }
    }

    /// Spawns `future` on the runtime, from any thread, and returns a handle to await its
    /// output, on any thread too.
    ///
    /// The task starts at the runtime's next turn (at its next `block_on` if none runs).
    /// If the runtime is dropped before the task finishes, awaiting the handle yields a
    /// cancelled [`JoinError`].
    ///
    /// # Errors
    ///
    /// If the runtime has been dropped: nothing is spawned.
    ///
    /// ```
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::new()?;
    /// let handle = rt.handle();
    /// let pending = handle.spawn(async { "never run" })?;
    /// drop(rt); // before any block_on: the task never ran
    /// assert!(epoll_rt::block_on(pending).unwrap_err().is_cancelled());
    /// assert!(handle.spawn(async {}).is_err()); // the runtime is gone
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> io::Result<RemoteJoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let remote = self.remote.upgrade().ok_or_else(shut_down)?;
        let (outcome, result) = oneshot::channel();
        let task = Box::pin(async move {
            // The panic is caught here, where its payload can still be sent.
            let mut future = pin!(future);
            let output =
                poll_fn(
                    |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
                        Ok(Poll::Pending) => Poll::Pending,
                        Err(payload) => Poll::Ready(Err(JoinError::panic(payload))),
                    },
                )
                .await;
            outcome.send(output);
        });
        match remote.spawn(task) {
            Ok(()) => Ok(RemoteJoinHandle { result }),
            Err(refused) => {
                drop(refused);
                Err(shut_down())
            }
        }
    }
}

/// The error of a spawn on a runtime that has been dropped.
fn shut_down() -> io::Error {
    io::Error::other("the runtime is shut down: it cannot spawn a task")
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("alive", &(self.remote.strong_count() > 0))
            .finish()
    }
}

/// The output of a task spawned by [`Handle::spawn`]: a future that any thread may await
/// (it is `Send`), yielding `Ok(output)`, or a [`JoinError`] if the task panicked or its
/// runtime was dropped first. Dropping it detaches the task.
pub struct RemoteJoinHandle<T> {
    /// Where the task sends its outcome; closed unsent if the task is dropped.
    result: oneshot::Receiver<Result<T, JoinError>>,
}

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.result)
            .poll(cx)
            .map(|outcome| outcome.unwrap_or_else(|| Err(JoinError::cancelled())))
    }
}

impl<T> fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoinHandle").finish_non_exhaustive()
    }
}
