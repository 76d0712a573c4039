//! The micro-benchmarks of `benches/` (spawn, wake, timers) on smol: a `LocalExecutor` run
//! by async-io's `block_on`, timers being async-io's `Timer`. The same code as
//! `tokio_micro.rs`, so `run.sh` can print the ratio.
//!
//! ```text
//! cargo run --release --bin smol_micro
//! ```
//!
//! It prints the same lines as `cargo bench --bench spawn`, `--bench wake` and
//! `--bench timers` at the top level: `spawn_join`, `wake`, `timer_insert`,
//! `timer_cancel`, `timer_insert_ordered`, `timer_cancel_ordered` (ns/op) and `sleep_1ms`
//! (ms), each the best of a few rounds. See those
//! files for what one operation is.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use smol::{LocalExecutor, Timer};

/// Tasks per spawn round.
const TASKS: u64 = 1_000_000;

/// Wakes per wake round (two per round trip).
const WAKES: u64 = 1_000_000;

/// Pending timers per timer round.
const TIMERS: u64 = 1_000_000;

/// Rounds of each benchmark; the best one is reported.
const ROUNDS: usize = 3;

/// Spawns [`TASKS`] tasks, joins them all, and returns the time per task in nanoseconds.
async fn spawn_round(executor: &LocalExecutor<'_>) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|i| executor.spawn(async move { i }))
        .collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await;
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    elapsed.as_nanos() as f64 / TASKS as f64
}

/// A channel that holds at most one value, for one sender and one receiver on one thread
/// (the same as in `benches/wake.rs`).
#[derive(Default)]
struct Slot {
    /// The value sent and not yet received.
    value: Cell<Option<u64>>,
    /// The receiver, if it is waiting.
    waker: Cell<Option<Waker>>,
    /// Wakes made through this slot.
    wakes: Cell<u64>,
}

impl Slot {
    /// Stores `value` and wakes the receiver if it waits.
    fn send(&self, value: u64) {
        self.value.set(Some(value));
        if let Some(waker) = self.waker.take() {
            self.wakes.set(self.wakes.get() + 1);
            waker.wake();
        }
    }

    /// Waits for a value and takes it.
    async fn recv(&self) -> u64 {
        poll_fn(|cx| match self.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}

/// Plays `WAKES / 2` round trips between two tasks and returns the time per wake in
/// nanoseconds. The tasks hold `Rc`s, which a `LocalExecutor` accepts.
async fn wake_round(executor: &LocalExecutor<'_>) -> f64 {
    let to_pong = Rc::new(Slot::default());
    let to_ping = Rc::new(Slot::default());
    let trips = WAKES / 2;

    let start = Instant::now();
    let pong = executor.spawn({
        let (inbox, outbox) = (to_pong.clone(), to_ping.clone());
        async move {
            for _ in 0..trips {
                let value = inbox.recv().await;
                outbox.send(value + 1);
            }
        }
    });
    let ping = executor.spawn({
        let (inbox, outbox) = (to_ping.clone(), to_pong.clone());
        async move {
            let mut value = 0;
            for _ in 0..trips {
                outbox.send(value);
                value = inbox.recv().await;
            }
            value
        }
    });
    let last = ping.await;
    pong.await;
    let elapsed = start.elapsed();

    assert_eq!(last, trips);
    let wakes = to_pong.wakes.get() + to_ping.wakes.get();
    elapsed.as_nanos() as f64 / wakes.max(1) as f64
}

/// What one timer round measured: insert and cancel per timer (ns), and `sleep(1 ms)`.
struct TimerFigures {
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
async fn timer_round(ordered: bool) -> TimerFigures {
    let base = Instant::now();
    let mut sleeps: Vec<Timer> = (0..TIMERS)
        .map(|i| Timer::at(deadline(base, i, ordered)))
        .collect();

    let start = Instant::now();
    poll_fn(|cx| {
        for nap in &mut sleeps {
            assert!(Pin::new(nap).poll(cx).is_pending(), "deadline is 10 s away");
        }
        Poll::Ready(())
    })
    .await;
    let insert = start.elapsed();

    let start = Instant::now();
    Timer::after(Duration::from_millis(1)).await;
    let sleep_1ms = start.elapsed();

    let start = Instant::now();
    drop(sleeps);
    let cancel = start.elapsed();

    let per_timer = |d: Duration| d.as_nanos() as f64 / TIMERS as f64;
    TimerFigures {
        insert_ns: per_timer(insert),
        cancel_ns: per_timer(cancel),
        sleep_1ms,
    }
}

/// Sleeps measured per duration in the lateness benchmark.
const LATENESS_SAMPLES: usize = 300;

/// Median and 99th percentile lateness, in µs, of `LATENESS_SAMPLES` sleeps of `duration`
/// (the same measurement as the top-level `benches/timer_precision.rs`).
async fn lateness(duration: std::time::Duration) -> (f64, f64) {
    let mut late = Vec::with_capacity(LATENESS_SAMPLES);
    for _ in 0..LATENESS_SAMPLES {
        let deadline = std::time::Instant::now() + duration;
        Timer::after(duration).await;
        late.push(std::time::Instant::now().saturating_duration_since(deadline));
    }
    late.sort();
    let at = |q: f64| late[((late.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// The smallest of `values`.
fn best(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::INFINITY, f64::min)
}

fn main() {
    let executor = LocalExecutor::new();

    let spawn_join =
        best((0..ROUNDS).map(|_| smol::block_on(executor.run(spawn_round(&executor)))));
    println!("spawn_join: {spawn_join:.1} ns/op (best of {ROUNDS} rounds of {TASKS} tasks)");

    let wake = best((0..ROUNDS).map(|_| smol::block_on(executor.run(wake_round(&executor)))));
    println!("wake: {wake:.1} ns/op (best of {ROUNDS} rounds of {WAKES} wakes)");

    for ordered in [false, true] {
        let rounds: Vec<TimerFigures> = (0..ROUNDS)
            .map(|_| smol::block_on(timer_round(ordered)))
            .collect();
        let insert = best(rounds.iter().map(|r| r.insert_ns));
        let cancel = best(rounds.iter().map(|r| r.cancel_ns));
        let about = format!("best of {ROUNDS} rounds of {TIMERS} timers");
        if ordered {
            println!("timer_insert_ordered: {insert:.1} ns/op ({about})");
            println!("timer_cancel_ordered: {cancel:.1} ns/op ({about})");
        } else {
            println!("timer_insert: {insert:.1} ns/op ({about})");
            println!("timer_cancel: {cancel:.1} ns/op ({about})");
            println!(
                "sleep_1ms: {:.3} ms ({about} pending)",
                best(rounds.iter().map(|r| r.sleep_1ms.as_secs_f64() * 1e3))
            );
        }
    }
    for (label, micros) in [("100us", 100), ("1ms", 1000)] {
        let (p50, p99) = smol::block_on(lateness(Duration::from_micros(micros)));
        println!("late_{label}_p50: {p50:.1} µs (median lateness of {LATENESS_SAMPLES} sleeps)");
        println!("late_{label}_p99: {p99:.1} µs (99th percentile)");
    }
}
