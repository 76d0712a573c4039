//! Micro-benchmark: a million pending timers.
//!
//! A server with many idle connections has a timeout pending on each, so the timer
//! structure must stay fast when it is large. This program registers one million `Sleep`s
//! with deadlines scattered over a minute (so inserts do not arrive in order), checks that
//! a `sleep(1 ms)` taken meanwhile still completes on time, then drops them all, which
//! cancels each timer. It reports per timer:
//!
//! - `timer_insert`: the first poll of a `Sleep`, which registers its timer;
//! - `timer_cancel`: dropping a pending `Sleep` (removing its timer, and freeing its box);
//! - `sleep_1ms`: how long `sleep(1 ms)` took with the million timers pending.
//!
//! Then the same with deadlines in increasing order, as when every connection arms the
//! same timeout from "now" (`timer_insert_ordered`, `timer_cancel_ordered`): the cheap
//! case for a sorted structure, since each insert and removal touches the same end.
//!
//! The `Sleep`s are boxed and created before the clock starts, so only the timer work is
//! timed. The same program on tokio's `current_thread` runtime is
//! `bench/src/bin/tokio_micro.rs`.
//!
//! ```text
//! cargo bench --bench timers
//! ```

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use epoll_rt::Runtime;
use epoll_rt::time::{Sleep, sleep, sleep_until};

/// Pending timers per round.
const TIMERS: u64 = 1_000_000;

/// Rounds; the best of each figure is reported.
const ROUNDS: usize = 3;

/// What one round measured.
struct Figures {
    /// Registering one timer, in nanoseconds.
    insert_ns: f64,
    /// Cancelling one timer, in nanoseconds.
    cancel_ns: f64,
    /// `sleep(1 ms)` with all the timers pending.
    sleep_1ms: Duration,
}

/// Deadline number `i` of a round: between 10 s and 70 s after `base`, scattered by a
/// multiplicative hash of `i` (the same every run), or `i` µs apart if `ordered`.
fn deadline(base: Instant, i: u64, ordered: bool) -> Instant {
    let micros = if ordered {
        i
    } else {
        let mixed = i
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (mixed >> 33) % 60_000_000
    };
    base + Duration::from_secs(10) + Duration::from_micros(micros)
}

/// Registers, waits beside, and cancels [`TIMERS`] timers.
async fn round(ordered: bool) -> Figures {
    let base = Instant::now();
    let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..TIMERS)
        .map(|i| Box::pin(sleep_until(deadline(base, i, ordered))))
        .collect();

    // A Sleep registers its timer at its first poll: poll each one once.
    let start = Instant::now();
    poll_fn(|cx| {
        for nap in &mut sleeps {
            assert!(nap.as_mut().poll(cx).is_pending(), "deadline is 10 s away");
        }
        Poll::Ready(())
    })
    .await;
    let insert = start.elapsed();

    let start = Instant::now();
    sleep(Duration::from_millis(1)).await;
    let sleep_1ms = start.elapsed();

    let start = Instant::now();
    drop(sleeps);
    let cancel = start.elapsed();

    let per_timer = |d: Duration| d.as_nanos() as f64 / TIMERS as f64;
    Figures {
        insert_ns: per_timer(insert),
        cancel_ns: per_timer(cancel),
        sleep_1ms,
    }
}

fn main() -> std::io::Result<()> {
    let runtime = Runtime::new()?;
    for ordered in [false, true] {
        let rounds: Vec<Figures> = (0..ROUNDS)
            .map(|_| runtime.block_on(round(ordered)))
            .collect();
        let best = |f: fn(&Figures) -> f64| rounds.iter().map(f).fold(f64::INFINITY, f64::min);
        let about = format!("best of {ROUNDS} rounds of {TIMERS} timers");
        if ordered {
            println!(
                "timer_insert_ordered: {:.1} ns/op ({about})",
                best(|r| r.insert_ns)
            );
            println!(
                "timer_cancel_ordered: {:.1} ns/op ({about})",
                best(|r| r.cancel_ns)
            );
        } else {
            println!("timer_insert: {:.1} ns/op ({about})", best(|r| r.insert_ns));
            println!("timer_cancel: {:.1} ns/op ({about})", best(|r| r.cancel_ns));
            println!(
                "sleep_1ms: {:.3} ms ({about} pending)",
                best(|r| r.sleep_1ms.as_secs_f64() * 1e3)
            );
        }
    }
    Ok(())
}
