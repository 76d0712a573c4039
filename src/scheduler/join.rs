//! Join handles: how a spawner gets a task's output, or learns that it panicked or was
//! cancelled.
//!
//! The task and its handle share a [`JoinState`] (`Rc`: both live on the runtime's
//! thread). The task writes its outcome there exactly once, through its [`Completion`];
//! the handle takes it. Dropping the handle detaches the task, which then runs to
//! completion on its own and its output is dropped, a panic from its destructor contained.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_task::ArcWake;

use super::{AbortHandle, Header};

/// Where a task's outcome is in its life.
enum Stage<T> {
    /// Not finished yet.
    Running,
    /// Finished; the outcome waits to be taken by the handle.
    Finished(Result<T, JoinError>),
    /// The handle took the outcome.
    Taken,
}

/// State shared by a task and its [`JoinHandle`].
pub(crate) struct JoinState<T> {
    /// The task's outcome, once it has one.
    stage: Cell<Stage<T>>,
    /// The task awaiting the handle, to wake when the outcome arrives.
    joiner: Cell<Option<Waker>>,
}

impl<T> JoinState<T> {
    /// A state for a task that has not run yet.
    pub(crate) fn new() -> Self {
        Self {
            stage: Cell::new(Stage::Running),
            joiner: Cell::new(None),
        }
    }

    /// Whether the task has an outcome (taken or not).
    fn is_finished(&self) -> bool {
        let stage = self.stage.replace(Stage::Running);
        let finished = !matches!(stage, Stage::Running);
        self.stage.set(stage);
        finished
    }
}

/// The task's side of the [`JoinState`]: delivers the outcome exactly once. If the task is
/// dropped without finishing (its runtime shut down), the outcome is "cancelled".
pub(crate) struct Completion<T> {
    /// The state shared with the handle.
    state: Rc<JoinState<T>>,
}

impl<T> Completion<T> {
    /// The task's side of `state`.
    pub(crate) fn new(state: Rc<JoinState<T>>) -> Self {
        Self { state }
    }

    /// Stores the outcome and wakes the joiner. Only the first call counts.
    pub(crate) fn complete(&self, outcome: Result<T, JoinError>) {
        if self.state.is_finished() {
            return;
        }
        self.state.stage.set(Stage::Finished(outcome));
        if let Some(joiner) = self.state.joiner.take() {
            joiner.wake();
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        self.complete(Err(JoinError::cancelled()));
    }
}

/// An owned permission to await a spawned task's output.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] if the task panicked or was
/// cancelled. Dropping it *detaches* the task: it keeps running, and its output is dropped
/// (by the handle if the task has finished, by the runtime otherwise). Either way a panic
/// from the output's destructor is caught, like a panic of the task itself, and goes no
/// further.
///
/// ```
/// epoll_rt::block_on(async {
///     let handle = epoll_rt::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
pub struct JoinHandle<T> {
    /// The state shared with the task.
    state: Rc<JoinState<T>>,
    /// The task's header: `abort` marks it, and wakes the task so that the scheduler
    /// sees the mark and drops it.
    task: Arc<Header>,
}

impl<T> JoinHandle<T> {
    /// A handle on the task whose header is `task`.
    pub(crate) fn new(state: Rc<JoinState<T>>, task: Arc<Header>) -> Self {
        Self { state, task }
    }

    /// Cancels the task: it is not polled again, its future is dropped at the next turn of
    /// the executor, and awaiting this handle yields a cancelled [`JoinError`]. A task that
    /// has already finished keeps its output.
    ///
    /// ```
    /// use std::future::pending;
    ///
    /// epoll_rt::block_on(async {
    ///     let handle = epoll_rt::spawn(pending::<()>());
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        if !self.state.is_finished() {
            self.task.abort();
            ArcWake::wake_by_ref(&self.task);
        }
    }

    /// An [`AbortHandle`] on the task: it cancels the task like [`abort`](Self::abort),
    /// and, unlike this handle, may be sent to and used on another thread.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle::new(self.task.clone())
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    ///
    /// ```
    /// epoll_rt::block_on(async {
    ///     let handle = epoll_rt::spawn(async {});
    ///     assert!(!handle.is_finished()); // spawned, not run yet
    ///     epoll_rt::yield_now().await;
    ///     assert!(handle.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.state.stage.replace(Stage::Taken) {
            Stage::Finished(outcome) => Poll::Ready(outcome),
            Stage::Running => {
                self.state.stage.set(Stage::Running);
                // The waker replaced is dropped with nothing borrowed (a `Cell`), and the
                // stage consistent again: its drop may run any code.
                self.state.joiner.set(Some(cx.waker().clone()));
                Poll::Pending
            }
            Stage::Taken => panic!("JoinHandle polled again after it returned Ready"),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // Detached: no task awaits this one any more. Its waker goes now, rather than be
        // woken for nothing when the task ends (and keep what it owns alive until then).
        // A `Cell` holds it, so nothing is borrowed while it drops.
        drop(self.state.joiner.take());

        // A finished task's outcome that was never taken is dropped here, in the code that
        // drops the handle. A panic from its destructor is the task's failure, not that
        // code's: contain it, as the scheduler does for the task's own destructors (and as
        // tokio does). A task still running drops its output itself, in the scheduler.
        match self.state.stage.replace(Stage::Taken) {
            Stage::Running => self.state.stage.set(Stage::Running),
            Stage::Finished(outcome) => {
                let _ = catch_unwind(AssertUnwindSafe(move || drop(outcome)));
            }
            Stage::Taken => {}
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task produced no output: it panicked, or it was cancelled.
///
/// Converts into an `io::Error` (kind `Other`), so `handle.await?` works in functions that
/// return `io::Result`.
///
/// ```
/// use std::future::pending;
///
/// epoll_rt::block_on(async {
///     let aborted = epoll_rt::spawn(pending::<()>());
///     aborted.abort();
///     let err = aborted.await.unwrap_err();
///     assert_eq!(err.to_string(), "task was cancelled");
///     let err = epoll_rt::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert_eq!(err.to_string(), "task panicked: boom");
///     assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::Other);
/// });
/// ```
///
/// It is `Send + Sync`, like most error types, so `?` also boxes it into the usual
/// `Box<dyn Error + Send + Sync>`:
///
/// ```
/// use std::error::Error;
///
/// async fn sum_of_tasks() -> Result<u32, Box<dyn Error + Send + Sync>> {
///     let forty = epoll_rt::spawn(async { 40 }).await?;
///     let two = epoll_rt::spawn(async { 2 }).await?;
///     Ok(forty + two)
/// }
///
/// async fn failing_task() -> Result<(), Box<dyn Error + Send + Sync>> {
///     epoll_rt::spawn(async { panic!("boom") }).await?;
///     Ok(())
/// }
///
/// assert_eq!(epoll_rt::block_on(sum_of_tasks()).unwrap(), 42);
/// let err = epoll_rt::block_on(failing_task()).unwrap_err();
/// assert_eq!(err.to_string(), "task panicked: boom");
/// ```
pub struct JoinError {
    /// What happened.
    repr: Repr,
}

/// The two ways a task can fail to finish.
enum Repr {
    /// [`JoinHandle::abort`] was called, or the runtime shut down first.
    Cancelled,
    /// The task panicked; the payload given to `panic!`.
    ///
    /// A payload is `Send` but need not be `Sync`. Behind a `Mutex` it is both, which
    /// makes `JoinError` `Sync` (tokio wraps it in a `SyncWrapper` for the same reason,
    /// with unsafe code). Boxed, so that `JoinError` is one pointer wide (a bare `Mutex`
    /// would make it three), which keeps every task's join state small: a panic is rare,
    /// and pays for the second allocation.
    Panic(Box<Mutex<Payload>>),
}

/// What a panic carries: the value given to `panic!`.
type Payload = Box<dyn Any + Send + 'static>;

impl JoinError {
    /// The error of a cancelled task.
    pub(crate) fn cancelled() -> Self {
        Self {
            repr: Repr::Cancelled,
        }
    }

    /// The error of a task that panicked with `payload`.
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> Self {
        Self {
            repr: Repr::Panic(Box::new(Mutex::new(payload))),
        }
    }

    /// Whether the task was cancelled (aborted, or its runtime shut down first).
    ///
    /// ```
    /// use std::future::pending;
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::new()?;
    /// let handle = rt.spawn(pending::<()>());
    /// drop(rt); // the runtime shuts down with the task still pending
    /// let err = epoll_rt::block_on(handle).unwrap_err();
    /// assert!(err.is_cancelled() && !err.is_panic());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// epoll_rt::block_on(async {
    ///     let err = epoll_rt::spawn(async { panic!("boom") }).await.unwrap_err();
    ///     assert!(err.is_panic() && !err.is_cancelled());
    ///     // The panic stayed in its task: this code goes on running.
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume the panic with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task did not panic; check [`is_panic`](Self::is_panic) first, or use
    /// [`try_into_panic`](Self::try_into_panic).
    ///
    /// ```
    /// let payload = epoll_rt::block_on(async {
    ///     let err = epoll_rt::spawn(async { std::panic::panic_any(7_u32) }).await.unwrap_err();
    ///     err.into_panic()
    /// });
    /// assert_eq!(*payload.downcast::<u32>().unwrap(), 7);
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("JoinError::into_panic called on a cancelled task's error"))
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// ```
    /// epoll_rt::block_on(async {
    ///     let err = epoll_rt::spawn(async { panic!("boom") }).await.unwrap_err();
    ///     let payload = err.try_into_panic().unwrap();
    ///     assert_eq!(*payload.downcast::<&str>().unwrap(), "boom");
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => {
                Ok(payload.into_inner().unwrap_or_else(PoisonError::into_inner))
            }
            Repr::Cancelled => Err(self),
        }
    }
}

/// A panic payload, locked to be looked at. The lock is poisoned only if a formatter
/// panicked while writing its message, which leaves the payload intact: used as is.
fn lock(payload: &Mutex<Payload>) -> MutexGuard<'_, Payload> {
    payload.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The panic message, when the payload is a string (as `panic!` makes it).
fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(payload) => match panic_message(&**lock(payload)) {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic(payload) => {
                let payload = lock(payload);
                let msg = panic_message(&**payload).unwrap_or("..");
                write!(f, "JoinError::Panic({msg:?})")
            }
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> Self {
        io::Error::other(err.to_string())
    }
}
#[cfg(test)]
mod tests {
    use std::io;
    use std::mem::size_of;

    use super::JoinState;
    use crate::scheduler::Header;

    /// Every task costs one `Arc<Header>` and one `Rc<JoinState>` (a connection's task
    /// lives as long as the connection). With the 16 bytes of reference counts, the header
    /// must stay within 24 bytes so that malloc serves it from a 48-byte chunk, and the
    /// join state within 40, for a 64-byte one: this test guards the budget of the README's
    /// memory figure (`net/memory.rs` adds up the whole connection).
    #[test]
    fn per_task_allocations_fit_their_malloc_chunks() {
        assert!(size_of::<Header>() <= 24, "Header: {}", size_of::<Header>());
        let join = size_of::<JoinState<io::Result<()>>>();
        assert!(join <= 40, "JoinState<io::Result<()>>: {join}");
    }
}
