//! Chapter 3 of the guide (`docs/guide/03-futures-and-wakers.md`): hand-written futures,
//! polled by hand and then by `epoll_rt::block_on`.
//!
//! 1. `Countdown` returns `Pending` a few times, waking itself each time; a ten-line
//!    executor polls it whenever its waker was called.
//! 2. `Flag` is a one-shot signal set by a plain std thread, which wakes the task from
//!    outside the runtime while the runtime sleeps in `epoll_wait`.
//! 3. `Forgetful` breaks the contract: it returns `Pending` without keeping the waker, so
//!    setting its flag wakes nobody; it completes late, and only because a timeout's
//!    timer happens to wake the task.
//!
//! ```text
//! cargo run --example guide_ch03_futures
//! ```
//!
//! Exits with status 0 if every future behaved as the chapter says, 1 otherwise.

use std::future::Future;
use std::pin::{Pin, pin};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::timeout;

// ---------------------------------------------------------------------------------------
// 1. A countdown, and an executor small enough to read in one breath.

/// Completes after being polled `left + 1` times. Each `Pending` is paired with a wake, as
/// the contract demands, so whoever polls it knows to poll again.
struct Countdown {
    /// `Pending`s still to return.
    left: u32,
}

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.left == 0 {
            println!("  Countdown::poll: left = 0 -> Ready");
            return Poll::Ready("liftoff");
        }
        println!(
            "  Countdown::poll: left = {} -> Pending (and wake myself)",
            self.left
        );
        self.left -= 1;
        // Not ready, but nothing external will happen either: ask to be polled again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A waker that only counts how often it was woken. `std::task::Wake` turns any
/// `Arc<impl Wake>` into a `Waker`, no unsafe code needed.
#[derive(Default)]
struct CountingWaker {
    /// Wakes so far.
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// The smallest honest executor: poll; if `Pending`, poll again only once the waker was
/// called (a real executor would sleep instead of giving up). Returns the output and the
/// number of polls.
fn run_by_hand<F: Future>(future: F) -> Option<(F::Output, usize)> {
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut polls = 0;
    loop {
        let wakes_before = counter.wakes.load(Ordering::SeqCst);
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some((output, polls));
        }
        if counter.wakes.load(Ordering::SeqCst) == wakes_before {
            return None; // Pending and no wake: polling again would be guessing.
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. A flag set from another thread: the shape of every real leaf future.

/// What the future and the thread that sets the flag share.
#[derive(Default)]
struct FlagState {
    /// Whether the flag was set.
    set: bool,
    /// The waker of the task that last polled the future while the flag was clear.
    waker: Option<Waker>,
}

/// A future that completes once another thread calls [`set_flag`].
struct Flag {
    /// Shared with the setter.
    state: Arc<Mutex<FlagState>>,
    /// Polls so far, for the printout.
    polls: usize,
}

impl Future for Flag {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        let mut state = self.state.lock().expect("the setter does not panic");
        if state.set {
            println!("  Flag::poll #{}: set -> Ready", self.polls);
            return Poll::Ready(());
        }
        // Keep the waker *before* returning Pending, under the same lock the setter takes:
        // a set that happens after our check then finds the waker and uses it.
        state.waker = Some(cx.waker().clone());
        println!(
            "  Flag::poll #{}: not set -> Pending (waker kept)",
            self.polls
        );
        Poll::Pending
    }
}

/// Sets the flag and wakes whoever waits for it. Called from any thread.
fn set_flag(state: &Mutex<FlagState>) {
    let waker = {
        let mut state = state.lock().expect("the future does not panic");
        state.set = true;
        state.waker.take()
    };
    // Wake outside the lock: waking may run code of the executor's.
    if let Some(waker) = waker {
        waker.wake();
    }
}

// ---------------------------------------------------------------------------------------
// 3. A future that breaks the contract.

/// Looks at the same kind of flag, but returns `Pending` without keeping the waker.
struct Forgetful {
    /// Shared with the setter, which finds no waker to call.
    state: Arc<Mutex<FlagState>>,
    /// Polls so far.
    polls: usize,
}

impl Future for Forgetful {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        if self.state.lock().expect("the setter does not panic").set {
            return Poll::Ready(());
        }
        println!(
            "  Forgetful::poll #{}: not set -> Pending (waker dropped!)",
            self.polls
        );
        Poll::Pending // nobody will ever wake this task
    }
}

/// Starts a thread that sets the flag in `state` after `delay`.
fn set_later(state: &Arc<Mutex<FlagState>>, delay: Duration) -> thread::JoinHandle<()> {
    let state = state.clone();
    thread::spawn(move || {
        thread::sleep(delay);
        println!("  [setter thread] setting the flag");
        set_flag(&state);
    })
}

fn main() -> ExitCode {
    let mut ok = true;

    println!("1. Countdown, polled by hand:");
    match run_by_hand(Countdown { left: 3 }) {
        Some((output, polls)) => {
            println!("  -> {output:?} after {polls} polls\n");
            ok &= polls == 4;
        }
        None => ok = false,
    }

    println!("2. Flag, set by another thread, on epoll_rt::block_on:");
    let state = Arc::new(Mutex::new(FlagState::default()));
    let setter = set_later(&state, Duration::from_millis(50));
    let start = Instant::now();
    let polls = epoll_rt::block_on(async {
        let mut flag = Flag {
            state: state.clone(),
            polls: 0,
        };
        (&mut flag).await;
        flag.polls
    });
    setter.join().expect("the setter thread does not panic");
    println!("  -> Ready after {polls} polls, {:?}\n", start.elapsed());
    // One poll to find it clear, one after the wake: the runtime slept in between.
    ok &= polls == 2;

    println!("3. Forgetful, the same flag set after 20 ms, under a 500 ms timeout:");
    let state = Arc::new(Mutex::new(FlagState::default()));
    let setter = set_later(&state, Duration::from_millis(20));
    let (result, polls, took) = epoll_rt::block_on(async {
        let mut forgetful = Forgetful {
            state: state.clone(),
            polls: 0,
        };
        let start = Instant::now();
        let result = timeout(Duration::from_millis(500), &mut forgetful).await;
        (result, forgetful.polls, start.elapsed())
    });
    setter.join().expect("the setter thread does not panic");
    match result {
        Ok(()) => println!(
            "  -> Ready after {took:?}, at poll #{polls}: the flag was set at 20 ms, but only \
             the timeout's timer woke the task to look again"
        ),
        Err(elapsed) => println!("  -> {elapsed} after {took:?} and {polls} polls"),
    }
    // Polled once when first awaited, once more when the timeout's timer woke the task:
    // setting the flag caused no poll at all. Without the timeout, this would hang.
    ok &= polls == 2 && took >= Duration::from_millis(500);

    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("unexpected: a future did not behave as chapter 3 describes");
        ExitCode::FAILURE
    }
}
