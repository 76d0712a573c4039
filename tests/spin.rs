//! Spinning before sleeping (`runtime::Builder::spin_before_sleep`, `src/driver/spin.rs`):
//! a runtime that found events keeps looking for a while before it sleeps, catches what
//! arrives meanwhile without sleeping, never spins when idle, and never past a timer.
//!
//! The spins here are long (10 s), so that what a test expects the spin to catch is caught
//! whatever the machine's load; a spin that waited its whole length instead fails the
//! test's time bound, and a lost event its watchdog.

mod util;

use std::future::{Future, poll_fn};
use std::io::Write;
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::sleep;
use epoll_rt::{AsyncTcpListener, Runtime, RuntimeStats, spawn_blocking};

/// Far longer than anything these tests wait for.
const LONG_SPIN: Duration = Duration::from_secs(10);

/// A runtime that spins for `spin` before sleeping.
fn runtime(spin: Duration) -> Runtime {
    Runtime::builder()
        .spin_before_sleep(spin)
        .build()
        .expect("a runtime")
}

/// A server reads two bytes that a client thread sends 20 ms apart, on a runtime that
/// spins for `spin`; returns the runtime's counters and how long the second read took.
fn two_bytes_apart(spin: Duration) -> (RuntimeStats, Duration) {
    util::watchdog(util::LIMIT, move || {
        let rt = runtime(spin);
        let took = rt.block_on(async {
            let listener = AsyncTcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("address");
            let client = thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                stream.write_all(b"1").expect("first byte");
                thread::sleep(Duration::from_millis(20));
                stream.write_all(b"2").expect("second byte");
            });
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await.expect("first byte");
            assert_eq!(&byte, b"1");
            // The first byte was an event: the runtime is busy, and spins now.
            let start = Instant::now();
            stream.read_exact(&mut byte).await.expect("second byte");
            assert_eq!(&byte, b"2");
            client.join().expect("the client thread");
            start.elapsed()
        });
        (rt.stats(), took)
    })
}

#[test]
fn a_busy_runtime_catches_the_next_event_while_spinning() {
    let (stats, took) = two_bytes_apart(LONG_SPIN);
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
    let (stats, _) = two_bytes_apart(Duration::ZERO);
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
            let listener = AsyncTcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("address");
            let client = thread::spawn(move || TcpStream::connect(addr).expect("connect"));
            let _server_side = listener.accept().await.expect("accept");
            let _client_side = client.join().expect("the client thread");
            // Busy now. The next waits are for timers 500 µs away. (Registering the
            // accepted socket makes an event too, its first writability, which a spin
            // may catch: then the runtime stays busy one more turn.)
            let mut late = Duration::ZERO;
            let mut spins = vec![];
            for _ in 0..2 {
                let deadline = Instant::now() + Duration::from_micros(500);
                epoll_rt::time::sleep_until(deadline).await;
                late = late.max(Instant::now() - deadline);
                spins.push(rt.stats().spins);
            }
            (spins, late)
        })
    });
    assert!(
        late < Duration::from_secs(1),
        "a timer waited for the spin: {late:?}"
    );
    assert!(spins[0] >= 1, "the first timer's wait spun: {spins:?}");
    assert_eq!(spins[1], spins[0], "the second did not: {spins:?}");
}

/// A wake from another thread (here the blocking pool's, through the eventfd) is an event
/// too, and the spin catches it.
#[test]
fn a_spin_catches_a_wake_from_another_thread() {
    let stats = util::watchdog(util::LIMIT, || {
        let rt = runtime(LONG_SPIN);
        rt.block_on(async {
            // An event first, so that the runtime is busy: the blocking pool's first
            // result, which can only come after the task waits for it, so it is a wake.
            blocking_after_first_poll(Duration::ZERO).await;
            blocking_after_first_poll(Duration::from_millis(20)).await;
        });
        rt.stats()
    });
    assert!(stats.remote_wakes >= 2, "{stats:?}");
    assert!(stats.sleeps_avoided >= 1, "{stats:?}");
}

/// Runs a closure on the blocking pool that sleeps for `nap`, but only once the task has
/// polled its `JoinHandle` once and found it pending: the result is sure to arrive as a
/// remote wake, never as a handle that was ready at its first poll.
async fn blocking_after_first_poll(nap: Duration) {
    let (go, wait_for_go) = mpsc::channel::<()>();
    let mut handle = spawn_blocking(move || {
        let _ = wait_for_go.recv();
        thread::sleep(nap);
    });
    let mut go = Some(go);
    poll_fn(|cx| {
        let poll = Pin::new(&mut handle).poll(cx);
        if poll.is_pending() {
            // Dropping the sender lets the closure go on.
            go.take();
        }
        poll
    })
    .await
    .expect("the closure ran");
}
