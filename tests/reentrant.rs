//! Re-entrant wakers: a stored waker that owns an object of the same runtime.
//!
//! A single-threaded executor's waker owns its task, and the task owns its sleeps, signal
//! listeners, join handles and sockets. So when the runtime replaces or drops a waker it
//! stored (a timer's, a signal listener's, a joiner's, an I/O waiter's), that drop can run
//! the destructor of another object of the same runtime, which reaches back into the very
//! table the runtime was updating. The runtime must have released that table first: a
//! `RefCell` still borrowed panics with "already borrowed", a `Mutex` still locked
//! deadlocks.
//!
//! Each test stores a waker built by [`waker_owning`] that owns an object of the same kind,
//! then has the runtime replace it, remove it, or wake it (which consumes it), and checks
//! that the owned object was dropped without a panic or a hang. Every body runs under
//! `util::run`, whose watchdog turns a deadlock into a failure.

mod util;

use util::{DropFlag, drop_flag};

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::{Future, pending};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use epoll_rt::signal::{self, SIGUSR2};
use epoll_rt::time::{Sleep, sleep};
use epoll_rt::{AsyncFd, spawn, yield_now};

// ---------------------------------------------------------------------------------------
// A waker that owns something
// ---------------------------------------------------------------------------------------

thread_local! {
    /// The values owned by the wakers [`waker_owning`] made on this thread, by owner id.
    /// They live here, not in the waker, because they are not `Send` (they hold the
    /// runtime's `Rc`s) and a `Waker` must be.
    static OWNED: RefCell<Vec<(u64, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

/// The id of the next [`Owner`].
static NEXT_OWNER: AtomicU64 = AtomicU64::new(0);

/// What a [`waker_owning`] waker points to: the key of its value in [`OWNED`].
struct Owner {
    /// The key of the owned value.
    id: u64,
}

impl Wake for Owner {
    /// Wakes nothing: these tests are about when the waker is dropped.
    fn wake(self: Arc<Self>) {}
}

impl Drop for Owner {
    /// Drops the owned value, after releasing [`OWNED`]: the value's destructor is the
    /// re-entrant code under test.
    fn drop(&mut self) {
        let value = OWNED
            .try_with(|owned| {
                let mut owned = owned.borrow_mut();
                let at = owned.iter().position(|(id, _)| *id == self.id)?;
                Some(owned.swap_remove(at).1)
            })
            .ok()
            .flatten();
        drop(value);
    }
}

/// A waker that owns `value` and drops it with its last clone, as a local executor's waker
/// owns its task. It must be dropped on this thread (elsewhere `value` leaks), which holds
/// here: only the runtime of this thread stores it.
fn waker_owning<T: 'static>(value: T) -> Waker {
    let id = NEXT_OWNER.fetch_add(1, Ordering::Relaxed);
    OWNED.with(|owned| owned.borrow_mut().push((id, Box::new(value))));
    Waker::from(Arc::new(Owner { id }))
}

/// Polls `future` once with `waker`.
fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Yields to the runtime, whose every turn looks at epoll, until `flag` is set: at most a
/// thousand turns. (A short sleep instead would not always make the runtime look: on a
/// thread that runs late it is due at its first poll.)
async fn turns_until(flag: &Cell<bool>) {
    for _ in 0..1000 {
        if flag.get() {
            return;
        }
        yield_now().await;
    }
}

/// A waker that does nothing; it never `will_wake` like a [`waker_owning`] one, so
/// storing it in place of one replaces it.
fn other_waker() -> Waker {
    Waker::noop().clone()
}

/// A sleep that will not fire during a test, with its timer registered (polled once).
fn registered_sleep() -> Sleep {
    let mut nap = sleep(Duration::from_secs(3600));
    assert!(poll_with(&mut nap, &other_waker()).is_pending());
    nap
}

// ---------------------------------------------------------------------------------------
// Timers: the waker of a `Sleep` owns another `Sleep`
// ---------------------------------------------------------------------------------------

/// Polling a sleep with a new waker replaces the timer's waker; the old one owns a sleep
/// whose drop removes its own timer from the same queue.
#[test]
fn a_timer_waker_that_owns_a_sleep_can_be_replaced() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let mut nap = sleep(Duration::from_secs(3600));
        let owning = waker_owning((registered_sleep(), flag));
        assert!(poll_with(&mut nap, &owning).is_pending());
        drop(owning); // the timer holds the last clone
        assert!(poll_with(&mut nap, &other_waker()).is_pending());
        assert!(dropped.get(), "the replaced waker was dropped");
    });
}

/// Dropping a sleep removes its timer, and with it the waker, which owns another sleep.
#[test]
fn a_timer_waker_that_owns_a_sleep_can_be_removed() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let mut nap = sleep(Duration::from_secs(3600));
        let owning = waker_owning((registered_sleep(), flag));
        assert!(poll_with(&mut nap, &owning).is_pending());
        drop(owning);
        drop(nap);
        assert!(dropped.get(), "the removed timer's waker was dropped");
    });
}

/// A timer that fires is taken out of the queue before its waker is woken (and so
/// consumed): the sleep the waker owns removes its timer from a queue no longer borrowed.
#[test]
fn a_timer_waker_that_owns_a_sleep_can_fire() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let owning = waker_owning((registered_sleep(), flag));
        // Made just before its first poll, and not too near: due already at that poll, it
        // would register nothing (under valgrind, 1 ms was not always enough).
        let mut nap = sleep(Duration::from_millis(20));
        assert!(poll_with(&mut nap, &owning).is_pending());
        drop(owning);
        // Later than `nap`: the turn that fires this one has fired `nap` too.
        sleep(Duration::from_millis(40)).await;
        assert!(dropped.get(), "the fired timer's waker was dropped");
        assert!(poll_with(&mut nap, &other_waker()).is_ready());
    });
}

// ---------------------------------------------------------------------------------------
// Signals: the waker of a listener owns another listener of the same signal
// ---------------------------------------------------------------------------------------
//
// No signal is sent here but in the last test, and that one only to this thread, which
// blocks it (`signal` does): see `tests/signal.rs` for why that matters.

/// A listener polled with a new waker replaces its entry in the hub's waiting list; the
/// old waker owns a listener whose drop removes its own entry from that list.
#[test]
fn a_signal_waker_that_owns_a_listener_can_be_replaced() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let mut listener = signal::signal(SIGUSR2)?;
        let owning = waker_owning((signal::signal(SIGUSR2)?, flag));
        assert!(poll_recv(&mut listener, &owning).is_pending());
        drop(owning); // the hub's waiting list holds the last clone
        assert!(poll_recv(&mut listener, &other_waker()).is_pending());
        assert!(dropped.get(), "the replaced waker was dropped");
        io::Result::Ok(())
    })
    .expect("listen for SIGUSR2");
}

/// Dropping a waiting listener removes its waker from the hub's list; the waker owns
/// another listener of the same hub.
#[test]
fn a_signal_waker_that_owns_a_listener_can_be_removed() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let mut listener = signal::signal(SIGUSR2)?;
        let owning = waker_owning((signal::signal(SIGUSR2)?, flag));
        assert!(poll_recv(&mut listener, &owning).is_pending());
        drop(owning);
        drop(listener);
        assert!(dropped.get(), "the removed listener's waker was dropped");
        io::Result::Ok(())
    })
    .expect("listen for SIGUSR2");
}

/// A signal wakes every waiting listener: their wakers are taken out of the list before
/// they are woken (and so consumed), so the listener a waker owns leaves a list that is
/// no longer locked.
#[test]
fn a_signal_waker_that_owns_a_listener_can_be_woken() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let mut listener = signal::signal(SIGUSR2)?;
        let owning = waker_owning((signal::signal(SIGUSR2)?, flag));
        assert!(poll_recv(&mut listener, &owning).is_pending());
        drop(owning);
        // SAFETY: raise has no preconditions; `signal` blocked SIGUSR2 in this thread, so
        // it stays pending for the signalfd.
        assert_eq!(unsafe { libc::raise(SIGUSR2) }, 0);
        // The runtime looks at epoll at each turn, and sees the signalfd.
        turns_until(&dropped).await;
        assert!(dropped.get(), "the woken listener's waker was dropped");
        assert!(poll_recv(&mut listener, &other_waker()).is_ready());
        io::Result::Ok(())
    })
    .expect("listen for SIGUSR2");
}

/// Polls `listener.recv()` once with `waker`.
fn poll_recv(listener: &mut signal::Signal, waker: &Waker) -> Poll<io::Result<()>> {
    listener.poll_recv(&mut Context::from_waker(waker))
}

// ---------------------------------------------------------------------------------------
// Join handles: the joiner's waker owns another `JoinHandle`
// ---------------------------------------------------------------------------------------

/// A finished task's handle whose output sets a flag when dropped.
async fn finished_handle() -> (Rc<Cell<bool>>, epoll_rt::JoinHandle<DropFlag>) {
    let (dropped, flag) = drop_flag();
    let handle = spawn(async move { flag });
    yield_now().await;
    assert!(handle.is_finished());
    (dropped, handle)
}

/// Awaiting a handle with a new waker replaces the joiner's waker; the old one owns the
/// handle of a finished task, whose drop drops that task's output.
#[test]
fn a_joiner_waker_that_owns_a_join_handle_can_be_replaced() {
    util::run(|| async {
        let (dropped, owned) = finished_handle().await;
        let mut handle = spawn(pending::<()>());
        let owning = waker_owning(owned);
        assert!(poll_with(&mut handle, &owning).is_pending());
        drop(owning); // the join state holds the last clone
        assert!(poll_with(&mut handle, &other_waker()).is_pending());
        assert!(dropped.get(), "the replaced waker was dropped");
    });
}

/// Dropping a handle detaches its task and forgets the joiner's waker at once (a task
/// that no longer joins must not be woken, nor its waker kept alive).
#[test]
fn a_joiner_waker_that_owns_a_join_handle_is_dropped_with_the_handle() {
    util::run(|| async {
        let (dropped, owned) = finished_handle().await;
        let mut handle = spawn(pending::<()>());
        let owning = waker_owning(owned);
        assert!(poll_with(&mut handle, &owning).is_pending());
        drop(owning);
        drop(handle);
        assert!(
            dropped.get(),
            "the joiner's waker was dropped with the handle"
        );
    });
}

/// A task that finishes takes its joiner's waker out of the join state and wakes it (and
/// so consumes it): the handle that waker owns is dropped, outside any borrow.
#[test]
fn a_joiner_waker_that_owns_a_join_handle_can_be_woken() {
    util::run(|| async {
        let (dropped, owned) = finished_handle().await;
        let mut handle = spawn(yield_now());
        let owning = waker_owning(owned);
        assert!(poll_with(&mut handle, &owning).is_pending());
        drop(owning);
        for _ in 0..10 {
            yield_now().await;
        }
        assert!(dropped.get(), "the woken joiner's waker was dropped");
        assert!(poll_with(&mut handle, &other_waker()).is_ready());
    });
}

// ---------------------------------------------------------------------------------------
// I/O waiters: the waker of a read owns another descriptor of the same runtime
// ---------------------------------------------------------------------------------------

/// A non-blocking socket pair, one end registered with the runtime.
fn registered_pair() -> io::Result<(AsyncFd<UnixStream>, UnixStream)> {
    let (ours, theirs) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    Ok((AsyncFd::new(ours)?, theirs))
}

/// Polls one read on `fd` with `waker`.
fn poll_read(fd: &AsyncFd<UnixStream>, waker: &Waker) -> Poll<io::Result<usize>> {
    let mut byte = [0];
    fd.poll_read_with(&mut Context::from_waker(waker), |mut s| s.read(&mut byte))
}

/// A read polled again by another task, then the descriptor dropped: the stored waker
/// owns another registered descriptor, whose drop deregisters it from the same reactor.
#[test]
fn an_io_waker_that_owns_a_descriptor_can_be_replaced_and_dropped() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let (fd, _peer) = registered_pair()?;
        let owning = waker_owning((registered_pair()?, flag));
        assert!(poll_read(&fd, &owning).is_pending());
        drop(owning); // the reactor holds the last clone
        assert!(poll_read(&fd, &other_waker()).is_pending());
        drop(fd);
        assert!(
            dropped.get(),
            "the waiter's waker was dropped with its descriptor"
        );
        io::Result::Ok(())
    })
    .expect("socket pairs");
}

/// A readiness event takes the waiters' wakers out before waking (and so consuming) them:
/// the descriptor a waker owns deregisters from a reactor whose tables are not borrowed.
#[test]
fn an_io_waker_that_owns_a_descriptor_can_be_woken() {
    util::run(|| async {
        let (dropped, flag) = drop_flag();
        let (fd, mut peer) = registered_pair()?;
        let owning = waker_owning((registered_pair()?, flag));
        assert!(poll_read(&fd, &owning).is_pending());
        drop(owning);
        peer.write_all(b"x")?;
        // The runtime looks at epoll at each turn, and sees the event.
        turns_until(&dropped).await;
        assert!(dropped.get(), "the woken waiter's waker was dropped");
        assert!(poll_read(&fd, &other_waker()).is_ready());
        io::Result::Ok(())
    })
    .expect("socket pairs");
}
