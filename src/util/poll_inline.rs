//! `poll_inline`: `std::future::poll_fn`, with a `poll` that is always inlined into the
//! future that awaits it.
//!
//! The streams' reads and writes are `poll_fn` closures (see `net/byte_stream.rs` for
//! why not `async fn`s). With the whole read path inlined into the closure, std's
//! `PollFn::poll` grew too large for the compiler to inline it into the task's future,
//! so each read and write became a call, with its own prologue and epilogue and its
//! arguments spilled around it: 47 instructions per echo request and 30 per HTTP
//! request, against this (`bench/instructions.sh`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that polls `f`, as `std::future::poll_fn(f)` does, inlined into its caller.
/// `f` must be `Unpin`: the closures of the streams' operations hold references and a
/// `Waiter`, which are.
pub(crate) fn poll_inline<T, F>(f: F) -> PollInline<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<T> + Unpin,
{
    PollInline(f)
}

/// The future of [`poll_inline`].
pub(crate) struct PollInline<F>(F);

impl<T, F> Future for PollInline<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<T> + Unpin,
{
    type Output = T;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        (self.get_mut().0)(cx)
    }
}
