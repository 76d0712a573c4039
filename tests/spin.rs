//! Spinning before sleeping (`runtime::Builder::spin_before_sleep`, `src/driver/spin.rs`):
//! a runtime that found events keeps looking for a while before it sleeps, catches what
//! arrives meanwhile without sleeping, never spins when idle, and never past a timer.
//!
//! The spins here are long (10 s), so that what a test expects the spin to catch is caught
//! whatever the machine's load; a spin that waited its whole length instead fails the
//! test's time bound, and a lost event its watchdog.
//!
//! What makes a runtime busy is a wait that found events, and which wait finds what
//! depends on how threads happen to run: a client may connect and send before the server
//! first looks, a waker called during the poll it was given in is folded into that poll.
//! So each test makes its runtime busy with a wake known to have come through the
//! eventfd, and where the load could still have let an event arrive before the runtime
//! waited for it, it checks that the runtime did wait, and otherwise tries again (a
//! bounded number of times).

mod util;

use std::future::poll_fn;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::sleep;
use epoll_rt::{AsyncTcpListener, Runtime, RuntimeStats};

/// Far longer than anything these tests wait for.
const LONG_SPIN: Duration = Duration::from_secs(10);

/// A runtime that spins for `spin` before sleeping.
fn runtime(spin: Duration) -> Runtime {
    Runtime::builder()
        .spin_before_sleep(spin)
        .build()
        .expect("a runtime")
}

/// A server reads a byte that a client thread sends 20 ms after it is asked to, on a
/// runtime that spins for `spin` and has just been woken from another thread (so it is
/// busy, and spins if it can); returns the runtime's counters and how long the read took.
/// The read must wait for the byte: should it have come first (the runtime's thread ran
/// late), the server tries again, a bounded number of times.
fn a_byte_after_a_wake(spin: Duration) -> (RuntimeStats, Duration) {
    util::watchdog(util::LIMIT, move || {
        let rt = runtime(spin);
        let took = rt.block_on(async {
            let listener = AsyncTcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("address");
            let (ask, asked) = mpsc::channel::<()>();
            let client = thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                while asked.recv().is_ok() {
                    thread::sleep(Duration::from_millis(20));
                    stream.write_all(b"1").expect("a byte");
                }
            });
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut took = None;
            for _ in 0..100 {
                remote_wake_through_the_eventfd(&rt, Duration::ZERO).await;
                let would_blocks = rt.stats().would_blocks;
                ask.send(()).expect("the client thread");
                let start = Instant::now();
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await.expect("a byte");
                assert_eq!(&byte, b"1");
                if rt.stats().would_blocks > would_blocks {
                    took = Some(start.elapsed());
                    break;
                }
            }
            drop(ask);
            client.join().expect("the client thread");
            took.expect("in 100 tries, a read that waited")
        });
        (rt.stats(), took)
    })
}

#[test]
fn a_busy_runtime_catches_the_next_event_while_spinning() {
    let (stats, took) = a_byte_after_a_wake(LONG_SPIN);
    assert!(stats.sleeps_avoided >= 1, "{stats:?}");
    assert!(stats.spins >= stats.sleeps_avoided, "{stats:?}");
    assert!(
        took < Duration::from_secs(5),
        "the spin ran its course: {took:?}"
    );
    // Each spin's looks are `epoll_wait`s, counted.
    assert!(stats.epoll_waits > stats.spins, "{stats:?}");
}

#[test]
fn a_runtime_without_the_setting_never_spins() {
    let (stats, _) = a_byte_after_a_wake(Duration::ZERO);
    assert_eq!((stats.spins, stats.sleeps_avoided), (0, 0), "{stats:?}");
}

#[test]
fn an_idle_runtime_sleeps_at_once() {
    let (elapsed, stats) = util::watchdog(util::LIMIT, || {
        let rt = runtime(LONG_SPIN);
        let start = Instant::now();
        rt.block_on(async {
            sleep(Duration::from_millis(20)).await;
            sleep(Duration::from_millis(20)).await;
        });
        (start.elapsed(), rt.stats())
    });
    assert!(elapsed >= Duration::from_millis(40), "early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "it spun: {elapsed:?}");
    // No event had come before either sleep: no traffic, no spin. (The first sleep's
    // end is an event, the alarm's, so the wait for the second may spin, ended by the
    // alarm again.)
    assert!(stats.spins <= 1, "{stats:?}");
}

/// A spin ends at the nearest timer, even a near one, which the reactor waits for with a
/// timeout rather than the alarm: the timer fires on time, not after the spin. And since
/// that wait found nothing, the runtime is idle again: the next wait does not spin.
#[test]
fn a_spin_stops_at_the_nearest_timer_and_then_the_runtime_is_idle() {
    let (spins, late) = util::watchdog(util::LIMIT, || {
        let rt = runtime(LONG_SPIN);
        rt.block_on(async {
            // Each try: busy now, then two timers 500 µs away, one after the other. A
            // try counts only if the runtime could sleep before each: its thread did not
            // run so late that the timer was due before the wait began, leaving only a
            // look that cannot sleep, and so cannot spin. A wait that could sleep either
            // spins or is timed (a near timer's wait has a timeout).
            for _ in 0..100 {
                remote_wake_through_the_eventfd(&rt, Duration::ZERO).await;
                let mut late = Duration::ZERO;
                let mut spins = vec![rt.stats().spins];
                let mut could_sleep = true;
                for _ in 0..2 {
                    let before = rt.stats();
                    let deadline = Instant::now() + Duration::from_micros(500);
                    epoll_rt::time::sleep_until(deadline).await;
                    late = late.max(Instant::now() - deadline);
                    let after = rt.stats();
                    spins.push(after.spins);
                    could_sleep &=
                        after.spins > before.spins || after.timed_waits > before.timed_waits;
                }
                if could_sleep {
                    return (spins, late);
                }
            }
            panic!("in 100 tries, no two timers whose waits could both sleep");
        })
    });
    assert!(
        late < Duration::from_secs(1),
        "a timer waited for the spin: {late:?}"
    );
    assert!(
        spins[1] > spins[0],
        "the first timer's wait spun: {spins:?}"
    );
    assert_eq!(spins[2], spins[1], "the second did not: {spins:?}");
}

/// A wake from another thread (a waker called there, which rings the eventfd) is an event
/// too, and the spin catches it.
#[test]
fn a_spin_catches_a_wake_from_another_thread() {
    let stats = util::watchdog(util::LIMIT, || {
        let rt = runtime(LONG_SPIN);
        rt.block_on(async {
            // An event first, so that the runtime is busy; then the wake to catch.
            remote_wake_through_the_eventfd(&rt, Duration::ZERO).await;
            remote_wake_through_the_eventfd(&rt, Duration::from_millis(20)).await;
        });
        rt.stats()
    });
    assert!(stats.sleeps_avoided >= 1, "{stats:?}");
}

/// Waits for a wake from another thread, `nap` after the wait begins, until one has come
/// through the remote queue and its eventfd. (A wake that comes while the task is still
/// being polled is folded into that poll instead: the runtime polls the task again
/// without a word to the eventfd. How soon the other thread runs decides which; so try
/// again, a bounded number of times.)
async fn remote_wake_through_the_eventfd(rt: &Runtime, nap: Duration) {
    for _ in 0..100 {
        let before = rt.stats().remote_wakes;
        woken_from_another_thread(nap).await;
        if rt.stats().remote_wakes > before {
            return;
        }
    }
    panic!(
        "no wake came through the eventfd in 100 tries: {:?}",
        rt.stats()
    );
}

/// Pending until a new thread, started at its first poll, calls its waker after `nap`.
async fn woken_from_another_thread(nap: Duration) {
    let woken = Arc::new(AtomicBool::new(false));
    let mut waking = None;
    poll_fn(|cx| {
        if woken.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if waking.is_none() {
            let (waker, woken) = (cx.waker().clone(), woken.clone());
            waking = Some(thread::spawn(move || {
                thread::sleep(nap);
                woken.store(true, Ordering::Release);
                waker.wake();
            }));
        }
        Poll::Pending
    })
    .await;
    let waking = waking.expect("the waking thread");
    waking.join().expect("the waking thread");
}
