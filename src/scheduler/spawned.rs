//! The future the executor actually stores for a spawned task: the user's future wrapped
//! so that its outcome (output, panic, or cancellation) reaches the [`JoinHandle`], or,
//! for a detached task, which has no handle, is dropped where it happens.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::Header;
use super::join::{Completion, JoinError, JoinHandle, JoinState};

pin_project! {
    /// A spawned future (`future`) and the completion it delivers its outcome to
    /// (`completion`, the task's side of the join state). (The fields have no docs of
    /// their own: `pin_project!` takes none.)
    pub(crate) struct Spawned<F: Future> {
        #[pin]
        future: F,
        completion: Completion<F::Output>,
    }
}

/// Wraps `future` for the executor, and returns the handle that will receive its outcome.
/// `task` is the header of the task the wrapper will become (for `JoinHandle::abort`).
pub(crate) fn spawned<F: Future>(
    future: F,
    task: Arc<Header>,
) -> (Spawned<F>, JoinHandle<F::Output>) {
    let state = Rc::new(JoinState::new());
    let handle = JoinHandle::new(state.clone(), task);
    let spawned = Spawned {
        future,
        completion: Completion::new(state),
    };
    (spawned, handle)
}

impl<F: Future> Future for Spawned<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // A panic inside the task ends the task, not the runtime: catch it, report it
        // through the JoinHandle, and let the executor drop what is left.
        match catch_unwind(AssertUnwindSafe(|| this.future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                this.completion.complete(Ok(output));
                Poll::Ready(())
            }
            Err(payload) => {
                this.completion.complete(Err(JoinError::panic(payload)));
                Poll::Ready(())
            }
        }
    }
}

pin_project! {
    /// A spawned future (`future`) that nobody will join (`spawn_detached`): no join state
    /// to deliver to, which saves a task an allocation and 64 bytes of memory for its whole
    /// life.
    pub(crate) struct Detached<F> {
        #[pin]
        future: F,
    }
}

impl<F> Detached<F> {
    /// Wraps `future` for the executor.
    pub(crate) fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F: Future> Future for Detached<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let future = self.project().future;
        // As `Spawned`, a panic ends the task, not the runtime; with no handle to report
        // to, its payload is dropped here (the panic hook has printed the message). The
        // output is dropped inside the catch too, and so is the payload: either one's
        // destructor may panic.
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx).map(drop))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(()),
            Err(payload) => {
                let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
                Poll::Ready(())
            }
        }
    }
}
