//! `yield_now`: give the other tasks (and the reactor) a turn.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Suspends the current task once, letting every other ready task run before it resumes.
///
/// The task is re-queued at the back of the run queue; the reactor is checked for I/O
/// at least once every few dozen polls, so a loop that yields does not starve I/O either.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// epoll_rt::block_on(async {
///     let ran = Rc::new(Cell::new(false));
///     let flag = ran.clone();
///     let _task = epoll_rt::spawn(async move { flag.set(true) });
///     assert!(!ran.get());
///     epoll_rt::yield_now().await;
///     assert!(ran.get()); // the spawned task ran while we yielded
/// });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

/// The future behind [`yield_now`]: `Pending` once, `Ready` the next time.
struct YieldNow {
    /// Whether the one `Pending` was returned already.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Returning Pending obliges us to arrange a wake: we do it ourselves, at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
