//! Graceful shutdown on `SIGINT` and `SIGTERM`, shared by the async example servers
//! (included with `#[path]`, so it is not an example of its own).
//!
//! What a server does, as redis-server and nginx do:
//!
//! 1. The first `SIGINT` (Ctrl-C) or `SIGTERM` (what `kill` and service managers send)
//!    fires the server's [`Stop`]: it stops accepting (the listener closes, so new
//!    clients are refused) and each connection finishes the work it has in hand, then
//!    ends.
//! 2. The server waits for its connections for at most the grace period (`--grace SECS`,
//!    default [`DEFAULT_GRACE`]), then closes the rest and exits with status 0.
//! 3. A second signal during the grace period means "now": the process exits at once,
//!    with the status a shell reports for a death by that signal, 128 + its number (130
//!    for `SIGINT`, 143 for `SIGTERM`).
//!
//! Connections learn of the stop through [`Stop::wait`], a future they race with their
//! read ([`Stopped::unless`]). It registers its waker once per connection; the race costs
//! a request a look at the stop's flag and at that waker.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use epoll_rt::signal::{self, SIGINT, SIGTERM};
use epoll_rt::time::timeout;

use crate::log::log;

/// How long connections may take to finish after the first signal, unless `--grace`
/// says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// Blocks `SIGINT` and `SIGTERM`, so that they wait for [`watch_signals`] instead of
/// killing the process. Call it first in `main`, before any thread exists: threads
/// inherit the mask.
pub fn block_signals() -> io::Result<()> {
    signal::block(&[SIGINT, SIGTERM])
}

/// Parses the value of a command-line option in seconds, such as `--grace SECS`.
pub fn parse_secs(option: &str, value: Option<String>) -> io::Result<Duration> {
    value
        .and_then(|secs| secs.parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && (0.0..1e9).contains(secs))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            let message = format!("{option} needs a number of seconds");
            io::Error::new(io::ErrorKind::InvalidInput, message)
        })
}

/// Waits for the first `SIGINT` or `SIGTERM` and calls `on_first`; then waits for a
/// second one and exits the process at once, with status 128 + its number.
pub async fn watch_signals(on_first: impl FnOnce()) -> io::Result<()> {
    let mut signals = [signal::signal(SIGINT)?, signal::signal(SIGTERM)?];
    let first = next_signal(&mut signals).await?;
    log(format!(
        "{}: shutting down (a second signal exits at once)",
        name(first)
    ));
    on_first();
    let second = next_signal(&mut signals).await?;
    log(format!("{}: exiting now", name(second)));
    std::process::exit(128 + second);
}

/// Waits for the next of `signals`; returns its number.
async fn next_signal(signals: &mut [signal::Signal]) -> io::Result<i32> {
    poll_fn(|cx| {
        for signal in signals.iter_mut() {
            if let Poll::Ready(received) = signal.poll_recv(cx) {
                return Poll::Ready(received.map(|()| signal.signum()));
            }
        }
        Poll::Pending
    })
    .await
}

/// The name of a signal [`watch_signals`] receives.
fn name(signum: i32) -> &'static str {
    if signum == SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

/// A server's stop: an event fired once, by the first signal, that every connection
/// can wait for; and the count of connections still running, for the grace period.
///
/// Single-threaded, shared as `Rc<Stop>` by the tasks of one runtime.
#[derive(Default)]
pub struct Stop {
    /// Set once the stop has fired.
    fired: Cell<bool>,
    /// The tasks waiting in [`wait`](Self::wait), by the id of their `Stopped` future.
    waiters: RefCell<HashMap<u64, Waker>>,
    /// The id for the next `Stopped` future.
    next_id: Cell<u64>,
    /// Connections running: the [`Live`] guards not yet dropped.
    live: Cell<usize>,
    /// The task waiting for `live` to reach zero, if any.
    idle_waiter: RefCell<Option<Waker>>,
}

impl Stop {
    /// Fires the stop: every `Stopped` future completes.
    pub fn fire(&self) {
        self.fired.set(true);
        // Take the wakers out first: waking with the map borrowed could re-enter it.
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        waiters.into_values().for_each(Waker::wake);
    }

    /// Whether the stop has fired.
    pub fn fired(&self) -> bool {
        self.fired.get()
    }

    /// A future that completes once the stop has fired. Keep it for the connection's
    /// life (pinned) rather than making one per read: it registers its waker once.
    pub fn wait(self: &Rc<Self>) -> Stopped {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        Stopped {
            stop: self.clone(),
            id,
            registered: None,
        }
    }

    /// How many connections are live: the [`Live`] guards not yet dropped.
    #[allow(dead_code)] // for the servers with a connection limit
    pub fn live_count(&self) -> usize {
        self.live.get()
    }

    /// Counts a connection as live until the returned guard is dropped.
    pub fn live(self: &Rc<Self>) -> Live {
        self.live.set(self.live.get() + 1);
        Live(self.clone())
    }

    /// Runs `accept_loop` until the stop fires, then drops it (which closes the
    /// listener it owns) and waits up to `grace` for the live connections to end.
    /// Returns the accept loop's error if it failed first.
    pub async fn serve(
        self: &Rc<Self>,
        grace: Duration,
        accept_loop: impl Future<Output = io::Result<()>>,
    ) -> io::Result<()> {
        // The accept loop lives in this block: leaving it drops the loop and the listener
        // it owns, so the kernel refuses new clients from here on.
        {
            let mut stopped = self.wait();
            if let Some(result) = stopped.unless(accept_loop).await {
                return result; // the accept loop failed before any signal
            }
        }
        let idle = poll_fn(|cx| {
            if self.live.get() == 0 {
                Poll::Ready(())
            } else {
                *self.idle_waiter.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        });
        if timeout(grace, idle).await.is_err() {
            log(format!(
                "grace period over: closing {} connection(s)",
                self.live.get()
            ));
        }
        Ok(())
    }
}

/// Ready once its [`Stop`] has fired; see [`Stop::wait`].
pub struct Stopped {
    /// The stop it waits for.
    stop: Rc<Stop>,
    /// Its key in the stop's waiters.
    id: u64,
    /// The waker last registered, so a poll by the same task registers nothing.
    registered: Option<Waker>,
}

impl Stopped {
    /// Runs `work` unless the stop fires first; then returns `None`, and `work` is
    /// dropped. Work that is ready wins over the stop.
    pub fn unless<F: Future>(&mut self, work: F) -> Unless<'_, Self, F> {
        Unless::new(self, work)
    }
}

pin_project_lite::pin_project! {
    /// A race of `work` with a stop (a [`Stopped`], or `idle.rs`'s `Watchdog`): `work`'s
    /// output, or `None` if the stop is ready first. Work that is ready wins.
    ///
    /// A future of its own rather than an `async fn`, so that the compiler can inline the
    /// race into the caller's loop: raced with every read of a connection, it then costs
    /// a request a poll of the stop (a look at a flag and a registered waker, or at a
    /// timer), and no state machine of its own.
    pub struct Unless<'a, S, F> {
        // The stop to race with.
        stop: &'a mut S,
        // The work.
        #[pin]
        work: F,
    }
}

impl<'a, S, F> Unless<'a, S, F> {
    /// `work` raced with `stop`.
    pub fn new(stop: &'a mut S, work: F) -> Self {
        Self { stop, work }
    }
}

impl<S: Future<Output = ()> + Unpin, F: Future> Future for Unless<'_, S, F> {
    type Output = Option<F::Output>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.work.poll(cx) {
            return Poll::Ready(Some(output));
        }
        Pin::new(&mut **this.stop).poll(cx).map(|()| None)
    }
}

impl Future for Stopped {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.stop.fired() {
            return Poll::Ready(());
        }
        if !self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            let waker = cx.waker().clone();
            let old = self
                .stop
                .waiters
                .borrow_mut()
                .insert(self.id, waker.clone());
            self.registered = Some(waker);
            drop(old); // dropped after the borrow ended
        }
        Poll::Pending
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.registered.is_some() {
            let waker = self.stop.waiters.borrow_mut().remove(&self.id);
            drop(waker); // dropped after the borrow ended
        }
    }
}

/// A live connection, counted by its [`Stop`] until dropped.
pub struct Live(Rc<Stop>);

impl Drop for Live {
    fn drop(&mut self) {
        let stop = &self.0;
        stop.live.set(stop.live.get() - 1);
        if stop.live.get() == 0 {
            let waker = stop.idle_waiter.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}
