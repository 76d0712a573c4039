//! Unix signals as async events: [`ctrl_c`], and [`signal`] for any other signal.
//!
//! ```
//! use epoll_rt::signal::{self, SIGTERM};
//!
//! fn main() -> std::io::Result<()> {
//!     // First thing in main, before any thread exists, so every thread inherits the mask
//!     // (see "Threads and the signal mask" below).
//!     signal::block(&[SIGTERM])?;
//!
//!     // For the example, the process sends itself the signal that `kill` would send.
//!     // SAFETY: raise has no preconditions; SIGTERM is blocked, so it stays pending.
//!     unsafe { libc::raise(SIGTERM) };
//!
//!     epoll_rt::block_on(async {
//!         let mut terminate = signal::signal(SIGTERM)?;
//!         // ... spawn the program's tasks here ...
//!         terminate.recv().await?;
//!         eprintln!("SIGTERM: shutting down");
//!         Ok(())
//!     })
//! }
//! ```
//!
//! # How a signal reaches a task
//!
//! No signal handler is installed. The signal is *blocked* in the runtime's thread, so
//! when it arrives the kernel leaves it pending instead of acting on it, and a signalfd
//! (`src/sys/signalfd.rs`) turns "pending" into "readable":
//!
//! ```text
//!  kill -TERM <pid>
//!        │  SIGTERM is blocked: the kernel keeps it pending
//!        ▼
//!  signalfd readable ──▶ epoll event ──▶ reactor wakes the hub's fan-out waker
//!                                                   │
//!                                                   ▼
//!  every waiting listener's task is woken; the first one polled reads the signal and
//!  counts it; each listener's recv() returns once the count passes what it has seen
//! ```
//!
//! All the listeners of one signal on one runtime share one signalfd through that *hub*,
//! so every [`Signal`] of a runtime sees every signal, whichever task holds it.
//!
//! # Threads and the signal mask
//!
//! A signal sent to a *process* (by `kill`, or by the terminal for Ctrl-C) is delivered
//! to any one of its threads that does not block it, and only if every thread blocks it
//! does it stay pending for a signalfd. A signal sent to a *thread* (`pthread_kill`,
//! `raise`) concerns that thread alone. And a thread's mask can only be changed by the
//! thread itself, or inherited: a new thread starts with its creator's mask.
//!
//! [`signal`] and [`ctrl_c`] block the signal in the calling thread, the runtime's. Threads
//! spawned from it afterwards inherit the mask, but a thread that already existed does not
//! block the signal, and the kernel may pick that thread: it then takes the signal's
//! default action, which for `SIGINT` and `SIGTERM` ends the process, listener or not.
//! Hence the rule:
//!
//! **Block the signals you will listen for before spawning threads**: call [`block`]
//! first thing in `main` (it needs no runtime), or create the listeners before the
//! threads. Threads started by other libraries before that point are out of reach: no
//! call can change another thread's mask.
//!
//! tokio makes the other choice: it installs a handler with `sigaction`, which writes a
//! byte to a pipe that its reactor watches. A handler works whichever thread the kernel
//! picks to run it, so no mask needs managing. The price is process-wide and permanent:
//! once a program has listened for `SIGINT`, Ctrl-C never again ends it by default, even
//! after the last listener is gone, and the handler is global state shared by every
//! runtime and library in the process. Here the process's dispositions are left
//! untouched, and the price is the mask discipline above.
//!
//! # What to expect
//!
//! - **The mask is never restored.** A signal stays blocked in a thread once it has been
//!   listened for there. A signal that arrives while no listener exists stays pending,
//!   and the next listener created on that thread receives it at once. (Unblocking it
//!   instead would run the default action of a signal that arrived meanwhile.)
//! - **Signals merge.** The kernel keeps at most one pending instance of a standard signal
//!   (`SIGINT`, `SIGTERM`, ...), so a burst can be received as one. Realtime signals
//!   (`SIGRTMIN()` to `SIGRTMAX()`) queue, one [`Signal::recv`] each. A listener that is
//!   not waiting when several are read for it receives them as one.
//! - **Receiving counts against the task's budget.** Each signal received spends a unit of
//!   the task's cooperative budget, as an I/O operation does (`src/util/budget.rs`): a
//!   task that has spent its budget in the current poll receives the signal at its next.
//! - **Several runtimes, several threads.** Each runtime has its own signalfd. A
//!   process-directed signal is read by one of them, whichever gets to it first; to stop a
//!   runtime per thread, listen in one thread and tell the others.
//! - **Child processes inherit the mask** across `fork` and `exec`, and
//!   `std::process::Command` passes it on as it is: a program started that way while
//!   `SIGINT` is blocked ignores Ctrl-C until it unblocks the signal itself.
//!   [`process::Command`](crate::process::Command) clears the mask in the child before
//!   `exec`, so its children start with none blocked.
//!
//! The most common signals are re-exported from `libc` ([`SIGINT`], [`SIGTERM`], ...);
//! any other signal number from `libc` works as well.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::mem;
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use futures_task::ArcWake;
use libc::c_int;

use crate::AsyncFd;
use crate::driver::Reactor;
use crate::runtime::context;
use crate::sys::signalfd::{self, SignalFd};

/// The signals programs most often listen for, re-exported from `libc` so that
/// `use epoll_rt::signal::{signal, SIGTERM};` is all a program needs.
///
/// ```
/// use epoll_rt::signal::{self, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
///
/// epoll_rt::block_on(async {
///     for signum in [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2] {
///         assert_eq!(signal::signal(signum)?.signum(), signum);
///     }
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub use libc::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// Waits for one `SIGINT`, the signal a terminal sends when the user presses Ctrl-C.
///
/// Listening starts when the future is first polled. A `SIGINT` that arrived earlier,
/// while the signal was blocked and nothing listened for it, is still pending and
/// completes the future at once. The [module docs](self) explain why to call [`block`]
/// early.
///
/// ```
/// use epoll_rt::signal::{self, SIGINT};
///
/// fn main() -> std::io::Result<()> {
///     signal::block(&[SIGINT])?; // before spawning any thread
///
///     // For the example, the process presses Ctrl-C itself.
///     // SAFETY: raise has no preconditions; SIGINT is blocked, so it stays pending.
///     unsafe { libc::raise(SIGINT) };
///
///     epoll_rt::block_on(async {
///         signal::ctrl_c().await?;
///         eprintln!("Ctrl-C: shutting down");
///         Ok(())
///     })
/// }
/// ```
///
/// # Errors
///
/// Outside a runtime, or if the signalfd cannot be created.
pub async fn ctrl_c() -> io::Result<()> {
    signal(SIGINT)?.recv().await
}

/// Listens for signal `signum` on the runtime running on this thread.
///
/// Blocks the signal in this thread (the first time), so that it is received here
/// instead of taking its default action. Read the [module docs](self) before using it in
/// a program with threads.
///
/// ```
/// use epoll_rt::signal::{self, SIGUSR1};
///
/// epoll_rt::block_on(async {
///     let mut usr1 = signal::signal(SIGUSR1)?;
///     // SAFETY: raise has no preconditions; `signal` has blocked SIGUSR1 in this thread.
///     unsafe { libc::raise(SIGUSR1) };
///     usr1.recv().await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// `InvalidInput` for a number that is not a signal, or names one that cannot be received
/// this way: `SIGKILL` and `SIGSTOP` (the kernel acts on them, whatever the mask),
/// `SIGSEGV`, `SIGBUS`, `SIGILL` and `SIGFPE` (faults of the thread itself), and the
/// numbers the C library reserves between the standard and the realtime signals. Any
/// error outside a runtime, or if the signalfd cannot be created.
pub fn signal(signum: c_int) -> io::Result<Signal> {
    let hub = Hub::get_or_create(signum)?;
    let id = hub.next_id.get();
    hub.next_id.set(id + 1);
    Ok(Signal {
        seen: hub.received.get(),
        hub,
        id,
    })
}

/// Blocks `signals` in the calling thread and in the threads it spawns from now on, so
/// that they wait, pending, for a listener instead of taking their default action.
///
/// Call it at the top of `main`, before any thread is spawned: see the
/// [module docs](self). It needs no runtime. [`signal`] and [`ctrl_c`] block their signal
/// too, but only in the runtime's thread and only once they run.
///
/// ```
/// use epoll_rt::signal::{self, SIGHUP, SIGINT, SIGTERM};
///
/// signal::block(&[SIGINT, SIGTERM, SIGHUP])?;
/// let worker = std::thread::spawn(|| {
///     // This thread inherited the mask: a SIGINT sent to it stays pending.
///     // SAFETY: raise has no preconditions.
///     unsafe { libc::raise(SIGINT) };
/// });
/// worker.join().expect("the worker does not panic");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// `InvalidInput` for the numbers [`signal`] refuses; nothing is blocked then.
pub fn block(signals: &[c_int]) -> io::Result<()> {
    signalfd::block(signals)
}

/// A listener for one signal, made by [`signal`]: a stream of "the signal arrived".
///
/// Every listener of a runtime receives every signal that arrives after it is created,
/// and any still pending in the kernel (see the [module docs](self) for how signals
/// merge). Dropping the listener does not unblock the signal.
///
/// Like the runtime's other I/O objects, a listener stays on the runtime's thread: it is
/// not `Send`.
///
/// ```
/// use epoll_rt::signal::{self, SIGUSR1};
///
/// epoll_rt::block_on(async {
///     // Two listeners of one signal: each receives it.
///     let mut a = signal::signal(SIGUSR1)?;
///     let mut b = signal::signal(SIGUSR1)?;
///     // SAFETY: raise has no preconditions; `signal` has blocked SIGUSR1 in this thread.
///     unsafe { libc::raise(SIGUSR1) };
///     a.recv().await?;
///     b.recv().await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signal {
    /// The signalfd shared with the other listeners of this signal on this runtime.
    hub: Rc<Hub>,
    /// This listener's key among the hub's waiting wakers.
    id: u64,
    /// The hub's count of received signals when this listener last returned from
    /// `recv` (or was created): it has seen every signal up to that count.
    seen: u64,
}

impl Signal {
    /// Waits until the signal arrives.
    ///
    /// Cancel-safe: if the future is dropped before completing, no signal is lost; the
    /// next `recv` receives it.
    ///
    /// ```
    /// use epoll_rt::signal::{self, SIGUSR2};
    ///
    /// epoll_rt::block_on(async {
    ///     let mut usr2 = signal::signal(SIGUSR2)?;
    ///     for _ in 0..3 {
    ///         // SAFETY: raise has no preconditions; SIGUSR2 is blocked in this thread.
    ///         unsafe { libc::raise(SIGUSR2) };
    ///         usr2.recv().await?;
    ///     }
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Only if reading the signalfd fails, which the kernel does not do for a valid one.
    pub async fn recv(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll form of [`recv`](Self::recv), for implementing poll-based traits.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use epoll_rt::signal::{self, SIGHUP};
    ///
    /// epoll_rt::block_on(async {
    ///     let mut hup = signal::signal(SIGHUP)?;
    ///     // Nothing has arrived: the first poll is pending.
    ///     let first = poll_fn(|cx| std::task::Poll::Ready(hup.poll_recv(cx))).await;
    ///     assert!(first.is_pending());
    ///     // SAFETY: raise has no preconditions; SIGHUP is blocked in this thread.
    ///     unsafe { libc::raise(SIGHUP) };
    ///     poll_fn(|cx| hup.poll_recv(cx)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let hub = &*self.hub;
        let budget = hub.reactor.budget();
        loop {
            // 1. Another listener may already have read a signal this one has not seen.
            //    Receiving it spends a unit of the task's cooperative budget, with the
            //    task's own context: with the budget spent, this task is re-queued, and the
            //    signal, counted, waits for its next poll.
            let received = hub.received.get();
            if received != self.seen {
                ready!(budget.poll_proceed(cx));
                self.seen = received;
                return Poll::Ready(Ok(()));
            }
            // 2. Otherwise read one from the signalfd. The reactor is handed the hub's
            //    fan-out waker, not this task's, so that whichever listeners are waiting
            //    when the signal arrives are woken, even if this one is gone by then.
            //    The read itself is exempt from the budget: refused, it would wake the
            //    fan-out waker instead of this task, and leave the fan-out unarmed, so
            //    that the signal reached no one. Step 1 charges the task instead.
            let mut fan_out = Context::from_waker(&hub.fan_out);
            let read = budget.unconstrained(|| hub.fd.poll_read_with(&mut fan_out, SignalFd::read));
            match read {
                Poll::Ready(Ok(_signum)) => {
                    // Count it for every listener; step 1 then returns it to this one.
                    // The others need no wake-up from here: a listener waits only after
                    // finding the signalfd drained, with the fan-out armed, so the event
                    // that made this read possible has already woken every waiting one.
                    hub.received.set(received + 1);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    hub.waiting.insert(self.id, cx.waker());
                    return Poll::Pending;
                }
            }
        }
    }

    /// The signal this listener receives.
    ///
    /// ```
    /// use epoll_rt::signal::{self, SIGTERM};
    ///
    /// epoll_rt::block_on(async {
    ///     let term = signal::signal(SIGTERM)?;
    ///     assert_eq!(term.signum(), SIGTERM);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn signum(&self) -> c_int {
        self.hub.signum
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.hub.waiting.remove(self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("signum", &self.hub.signum)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The hubs of this thread: one per runtime and signal that has listeners. Weak, so a
    /// hub and its signalfd close with their last listener.
    static HUBS: RefCell<Vec<Weak<Hub>>> = const { RefCell::new(Vec::new()) };
}

/// The listeners of one signal on one runtime, and the signalfd they share.
struct Hub {
    /// The reactor of the runtime the hub belongs to: `fd` is registered with it. It
    /// also holds that runtime's cooperative budget, which `recv` spends.
    reactor: Rc<Reactor>,
    /// The signal received.
    signum: c_int,
    /// The signalfd, registered with that runtime's reactor.
    fd: AsyncFd<SignalFd>,
    /// Signals read from `fd` so far.
    received: Cell<u64>,
    /// The listeners waiting for the next signal.
    waiting: Arc<Waiting>,
    /// The waker the reactor holds for `fd`: wakes every listener in `waiting`.
    fan_out: Waker,
    /// The id the next listener gets.
    next_id: Cell<u64>,
}

impl Hub {
    /// The hub of `signum` on the runtime running on this thread, created (and the signal
    /// blocked) if it has no listener yet.
    fn get_or_create(signum: c_int) -> io::Result<Rc<Self>> {
        // Refuse a bad number first, so that the error says so even outside a runtime.
        signalfd::check(signum)?;
        let reactor = context::with_current(|core| core.reactor().clone()).ok_or_else(|| {
            io::Error::other(
                "no epoll-rt runtime is running on this thread: listen for signals inside \
                 epoll_rt::block_on (or a task it runs)",
            )
        })?;
        let found = HUBS.try_with(|hubs| {
            let mut hubs = hubs.borrow_mut();
            hubs.retain(|hub| hub.strong_count() > 0);
            hubs.iter()
                .filter_map(Weak::upgrade)
                .find(|hub| Rc::ptr_eq(&hub.reactor, &reactor) && hub.signum == signum)
        });
        let found = found.map_err(|_| thread_exiting())?;
        if let Some(hub) = found {
            return Ok(hub);
        }

        // Created outside the `HUBS` borrow: registering the signalfd reaches into the
        // runtime's own state.
        let waiting = Arc::new(Waiting::default());
        let hub = Rc::new(Self {
            reactor,
            signum,
            fd: AsyncFd::new_nonblocking(SignalFd::new(&[signum])?)?,
            received: Cell::new(0),
            fan_out: futures_task::waker(waiting.clone()),
            waiting,
            next_id: Cell::new(0),
        });
        HUBS.try_with(|hubs| hubs.borrow_mut().push(Rc::downgrade(&hub)))
            .map_err(|_| thread_exiting())?;
        Ok(hub)
    }
}

/// The error for a listener created by a thread-local destructor, after `HUBS` is gone.
fn thread_exiting() -> io::Error {
    io::Error::other("epoll_rt::signal: this thread is exiting and can listen no more")
}

/// The wakers of the listeners waiting for a hub's next signal, keyed by listener id.
///
/// A `Mutex`, though only the runtime's thread touches it, because a [`Waker`] built on
/// [`ArcWake`] must be `Send` and `Sync`. It is never contended.
///
/// No waker is dropped or woken with the lock held: each is taken out of the list first.
/// The last clone of a waker can own a task, and the task a listener of this same hub,
/// whose drop locks the list: under the lock, that would deadlock.
#[derive(Default)]
struct Waiting {
    /// One waker per waiting listener.
    wakers: Mutex<Vec<(u64, Waker)>>,
}

impl Waiting {
    /// The list, locked. No code panics while holding the lock, so a poisoned lock cannot
    /// hold a half-done change and is used as is.
    fn lock(&self) -> MutexGuard<'_, Vec<(u64, Waker)>> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that listener `id` waits, to be woken by `waker`.
    fn insert(&self, id: u64, waker: &Waker) {
        let mut wakers = self.lock();
        let replaced = match wakers.iter_mut().find(|(key, _)| *key == id) {
            Some((_, old)) if old.will_wake(waker) => None,
            Some((_, old)) => Some(mem::replace(old, waker.clone())),
            None => {
                wakers.push((id, waker.clone()));
                None
            }
        };
        // Unlock, then drop the listener's previous waker.
        drop(wakers);
        drop(replaced);
    }

    /// Forgets listener `id`.
    fn remove(&self, id: u64) {
        let mut wakers = self.lock();
        let removed = wakers
            .iter()
            .position(|(key, _)| *key == id)
            .map(|at| wakers.swap_remove(at));
        // Unlock, then drop its waker.
        drop(wakers);
        drop(removed);
    }
}

impl ArcWake for Waiting {
    /// Wakes every waiting listener; each waits again, if it still wants to, when polled.
    fn wake_by_ref(arc_self: &Arc<Self>) {
        // Take them all out, and wake (which consumes each) once unlocked: a waker may run
        // arbitrary code, and its drop too.
        let wakers = mem::take(&mut *arc_self.lock());
        for (_, waker) in wakers {
            waker.wake();
        }
    }
}
