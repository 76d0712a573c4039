//! `sleep`: a future that completes at a deadline.
//!
//! A `Sleep` is `Send + Sync` (hyper's `Timer`, for one, asks for that), but its timer
//! lives in the reactor of the runtime that polled it, which only that runtime's thread
//! touches. So a `Sleep` keeps, besides its timer's key, the id of that runtime: polled,
//! reset or dropped on the runtime's thread while it runs, it works on the reactor
//! directly, as a non-`Send` timer would; anywhere else, a reset or a drop is sent through
//! that runtime's remote queue, and the runtime applies it at its next turn.
//!
//! tokio's timer wheel is shared by the threads of a runtime and taken under a lock to
//! register or cancel a timer; here the thread that owns the timer takes no lock.

use std::future::Future;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::driver::{TimerKey, TimerOp};
use crate::runtime::{Core, context};

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
    sleep_until(after(Instant::now(), duration))
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

/// `instant + duration`, or, if that does not fit in an `Instant`, an instant about thirty
/// years from now: for every practical purpose, never (as in tokio).
pub(crate) fn after(instant: Instant, duration: Duration) -> Instant {
    instant.checked_add(duration).unwrap_or_else(|| {
        // Cannot overflow: an Instant counts seconds since boot in an i64, so thirty years
        // from now fits for the next 292 billion years.
        Instant::now() + Duration::from_secs(86400 * 365 * 30)
    })
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It registers its timer with the current runtime at its first poll, so it may be
/// created anywhere but must be polled inside a runtime. Dropping it removes the timer.
///
/// It is `Send + Sync`: it may be reset or dropped on any thread. Away from the thread of
/// the runtime that holds its timer (or while that runtime is not running), the change
/// reaches the timer at that runtime's next turn:
///
/// ```
/// use std::future::{Future, poll_fn};
/// use std::sync::{Arc, Mutex};
/// use std::time::{Duration, Instant};
/// use epoll_rt::time::sleep;
///
/// epoll_rt::block_on(async {
///     let nap = Arc::new(Mutex::new(Box::pin(sleep(Duration::from_secs(3600)))));
///     let waiter = epoll_rt::spawn({
///         let nap = nap.clone();
///         async move { poll_fn(|cx| nap.lock().unwrap().as_mut().poll(cx)).await }
///     });
///     epoll_rt::yield_now().await; // the waiter registers its hour-long timer
///     let start = Instant::now();
///     std::thread::spawn(move || nap.lock().unwrap().as_mut().reset(Instant::now()))
///         .join()
///         .unwrap();
///     waiter.await.unwrap(); // woken now, not in an hour
///     assert!(start.elapsed() < Duration::from_secs(60));
/// });
/// ```
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
    /// The registered timer, once polled.
    timer: Option<Registered>,
}

/// A `Sleep`'s timer, registered with one runtime's reactor.
#[derive(Debug)]
struct Registered {
    /// The id of the runtime that holds the timer: changes made away from its thread go
    /// to its remote queue.
    owner: NonZeroU64,
    /// The timer's key in that runtime's reactor; a reset keeps it.
    key: TimerKey,
}

/// Whether `sleep` is `Send + Sync`, checked at compile time.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Sleep>();
};

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
    /// A task already waiting on this sleep stays registered: it is woken at the new
    /// deadline (at the next turn of the loop, if that has passed), even when another task
    /// did the reset.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::future::poll_fn;
    /// use std::rc::Rc;
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::time::sleep;
    ///
    /// epoll_rt::block_on(async {
    ///     let nap = Rc::new(RefCell::new(Box::pin(sleep(Duration::from_secs(3600)))));
    ///     let waiter = epoll_rt::spawn({
    ///         let nap = nap.clone();
    ///         async move { poll_fn(|cx| nap.borrow_mut().as_mut().poll(cx)).await }
    ///     });
    ///     epoll_rt::yield_now().await; // the waiter registers its hour-long timer
    ///     let start = Instant::now();
    ///     nap.borrow_mut().as_mut().reset(Instant::now()); // from this task
    ///     waiter.await.unwrap(); // woken now, not in an hour
    ///     assert!(start.elapsed() < Duration::from_secs(60));
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        // Move the timer rather than cancel it: its waker belongs to the task awaiting
        // this sleep, which is not necessarily the one resetting it, and nothing else
        // would wake that task at the new deadline.
        let Some(timer) = &self.timer else { return };
        let here = context::with_current(|core| {
            (core.timer_owner() == timer.owner).then(|| core.reset_timer(timer.key, deadline))
        });
        match here {
            // The timer has fired: its task was woken, and registers again when it polls
            // the sleep.
            Some(Some(false)) => self.timer = None,
            Some(Some(true)) => {}
            // Not on the runtime's thread while it runs: its next turn moves the timer (or
            // finds it fired, and does nothing).
            _ => Core::send_timer_op(timer.owner, TimerOp::Reset(timer.key, deadline)),
        }
    }

    /// Removes the registered timer, if any.
    fn cancel(&mut self) {
        let Some(timer) = self.timer.take() else {
            return;
        };
        let here = context::with_current(|core| {
            (core.timer_owner() == timer.owner).then(|| core.reactor().remove_timer(timer.key))
        });
        if here.flatten().is_none() {
            Core::send_timer_op(timer.owner, TimerOp::Cancel(timer.key));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Registered already with this runtime, and not fired: pending, without a look at
        // the clock (a sleep raced with every read of a connection is polled once per
        // request). The timer fires at the reactor's first turn after its deadline and
        // wakes the task; so make sure it wakes the task polling us now. tokio's sleep,
        // too, is ready only once its timer has fired.
        let pending = this.timer.as_ref().is_some_and(|timer| {
            context::with_current(|core| {
                core.timer_owner() == timer.owner
                    && core.reactor().update_timer(timer.key, cx.waker())
            })
            .unwrap_or(false)
        });
        if pending {
            return Poll::Pending;
        }
        // First poll, a timer that has fired (perhaps early: its sleep was reset to later
        // from another thread), or polled on another runtime than before (whose reactor
        // would never wake us here): done if the deadline has passed, else register with
        // the current runtime.
        if this.is_elapsed() {
            this.cancel();
            return Poll::Ready(());
        }
        let registered = context::with_current(|core| Registered {
            owner: core.timer_owner(),
            key: core.reactor().add_timer(this.deadline, cx.waker().clone()),
        });
        let Some(new) = registered else {
            panic!(
                "epoll_rt::time::Sleep polled outside a runtime: {}",
                context::no_runtime()
            )
        };
        // Cancels the old timer, if any, here or on its runtime.
        this.cancel();
        this.timer = Some(new);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
