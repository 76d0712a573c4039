//! `sleep`: a future that completes at a deadline.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::driver::{Reactor, TimerKey};
use crate::runtime::context;

/// Waits until `duration` has passed.
///
/// A zero duration completes at the first poll, without waiting.
///
/// ```
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::sleep;
///
/// epoll_rt::block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    // A duration too large to add to now is, for every practical purpose, forever.
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(far_future);
    sleep_until(deadline)
}

/// Waits until `deadline`. A deadline in the past completes at the first poll.
///
/// ```
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::sleep_until;
///
/// epoll_rt::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        timer: None,
    }
}

/// An instant about thirty years ahead: "never" for a timer.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It registers its timer with the current runtime at its first poll, so it may be
/// created anywhere but must be polled inside a runtime. Dropping it removes the timer.
///
/// ```
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::sleep;
///
/// let nap = sleep(Duration::from_millis(5)); // no runtime needed yet
/// let deadline = nap.deadline();
/// epoll_rt::block_on(nap); // registers its timer at the first poll
/// assert!(Instant::now() >= deadline);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    /// When the sleep completes.
    deadline: Instant,
    /// The registered timer, once polled: the reactor that holds it and its key.
    timer: Option<(Rc<Reactor>, TimerKey)>,
}

impl Sleep {
    /// When this sleep completes.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::sleep;
    ///
    /// let before = Instant::now();
    /// let nap = sleep(Duration::from_secs(1));
    /// assert!(nap.deadline() >= before + Duration::from_secs(1));
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::{sleep, sleep_until};
    ///
    /// assert!(sleep_until(Instant::now()).is_elapsed());
    /// assert!(!sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline, as if the sleep had been created anew with `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::sleep;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut nap = sleep(Duration::from_secs(3600));
    ///     nap.reset(Instant::now());
    ///     nap.await; // completes at once
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    /// Removes the registered timer, if any.
    fn cancel(&mut self) {
        if let Some((reactor, key)) = self.timer.take() {
            reactor.remove_timer(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.is_elapsed() {
            this.cancel();
            return Poll::Ready(());
        }
        let reactor = context::current_reactor()
            .unwrap_or_else(|e| panic!("epoll_rt::time::Sleep polled outside a runtime: {e}"));
        // Registered already with this runtime: make sure the timer wakes the task polling
        // us now.
        if let Some((registered, key)) = &this.timer {
            if Rc::ptr_eq(registered, &reactor) && registered.update_timer(*key, cx.waker()) {
                return Poll::Pending;
            }
        }
        // First poll, or polled on another runtime than before (whose reactor would never
        // wake us here): register with the current runtime.
        this.cancel();
        let key = reactor.add_timer(this.deadline, cx.waker().clone());
        this.timer = Some((reactor, key));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
