//! Micro-benchmark: the cost of spawning a trivial task and joining it.
//!
//! One million tasks, each returning its own number, are spawned from inside `block_on`
//! and then awaited through their `JoinHandle`s, so one operation is: allocate the task,
//! queue it, poll it once, deliver its output, wake the joiner, free the task. The same
//! program on tokio's `current_thread` runtime is `bench/src/bin/tokio_micro.rs`.
//!
//! ```text
//! cargo bench --bench spawn
//! ```
//!
//! It prints `spawn_join: <ns> ns/op`, the best of a few rounds (the first round also
//! pays for growing the heap; later ones show the runtime itself).

use std::time::{Duration, Instant};

use epoll_rt::{Runtime, spawn};

/// Tasks per round.
const TASKS: u64 = 1_000_000;

/// Rounds; the best one is reported.
const ROUNDS: usize = 3;

/// Spawns [`TASKS`] tasks, joins them all, and returns how long that took.
async fn round() -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS).map(|i| spawn(async move { i })).collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle
            .await
            .expect("a trivial task neither panics nor is aborted");
    }
    let elapsed = start.elapsed();
    // Using the outputs keeps the work from being optimised away.
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    elapsed
}

fn main() -> std::io::Result<()> {
    let runtime = Runtime::new()?;
    let best = (0..ROUNDS)
        .map(|_| runtime.block_on(round()))
        .min()
        .expect("ROUNDS is not zero");
    let ns = best.as_nanos() as f64 / TASKS as f64;
    println!("spawn_join: {ns:.1} ns/op (best of {ROUNDS} rounds of {TASKS} tasks)");
    Ok(())
}
