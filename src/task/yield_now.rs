//! `yield_now`: give the other tasks, and the reactor, a turn.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::runtime::context;

/// Suspends the current task once, letting every other ready task run before it resumes,
/// and the runtime look at epoll.
///
/// The task is woken after the runtime's next look at epoll (a zero-timeout
/// `epoll_wait`), behind the tasks that I/O and timers woke then. So a long computation
/// cut into slices with a `yield_now` between them keeps the sockets answered within
/// about one slice. (A task that wakes itself, with `wake_by_ref` and `Pending`, goes to
/// the back of the run queue at once instead, and the runtime looks at epoll only every
/// 64 polls.) Outside a task of this thread's runtime, the future wakes its waker at once.
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
        // Returning Pending obliges us to arrange a wake: after the runtime's next look at
        // epoll for the task it polls (see `util/deferred.rs`), at once for any other
        // waker, such as another executor's, or when no runtime runs here.
        if context::with_current(|core| core.budget().give_back(cx)).is_none() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
