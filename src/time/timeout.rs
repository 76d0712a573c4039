//! `timeout` and `timeout_at`: give any future a deadline.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::sleep::{Sleep, sleep, sleep_until};

/// Runs `future`, but gives up after `duration`: the result is `Ok(output)` if the future
/// completed first, `Err(Elapsed)` otherwise (and the future is dropped).
///
/// The future is polled before the timer is checked, so a future that is ready at once
/// succeeds even with a zero duration.
///
/// ```
/// use std::future::pending;
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::timeout;
///
/// epoll_rt::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
///     let never = pending::<()>();
///     assert!(timeout(Duration::from_millis(5), never).await.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// [`timeout`] with a deadline instead of a duration: runs `future`, but gives up at
/// `deadline` (a deadline already past still lets a future that is ready at once
/// succeed). Handy for one deadline shared by several steps.
///
/// ```
/// use std::future::pending;
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::{sleep, timeout_at};
///
/// epoll_rt::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(20);
///     // Two steps against one deadline: the first fits, the second does not.
///     assert_eq!(timeout_at(deadline, sleep(Duration::from_millis(1))).await, Ok(()));
///     assert!(timeout_at(deadline, pending::<()>()).await.is_err());
///     assert!(Instant::now() >= deadline); // never early
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::{sleep, timeout, Timeout};
    ///
    /// epoll_rt::block_on(async {
    ///     let nap = sleep(Duration::from_millis(1));
    ///     let quick: Timeout<_> = timeout(Duration::from_secs(5), nap);
    ///     assert_eq!(quick.await, Ok(())); // the sleep finished first
    ///     let slow = timeout(Duration::from_millis(1), sleep(Duration::from_secs(5)));
    ///     assert!(slow.await.is_err());
    /// });
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] whose deadline passed first.
///
/// Converts into an `io::Error` of kind `TimedOut`.
///
/// ```
/// use std::future::pending;
/// use std::io;
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::{timeout, Elapsed};
///
/// epoll_rt::block_on(async {
///     let err: Elapsed = timeout(Duration::from_millis(1), pending::<()>()).await.unwrap_err();
///     assert_eq!(err.to_string(), "deadline has elapsed");
///     assert_eq!(io::Error::from(err).kind(), io::ErrorKind::TimedOut);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(e: Elapsed) -> Self {
        io::Error::new(io::ErrorKind::TimedOut, e)
    }
}
