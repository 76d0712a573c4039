//! A wake from another thread that races the start of a poll is never lost.
//!
//! One task and one thread play in lockstep, round after round. The task asks the thread
//! for the round's answer, wakes itself twice (two polls, each queued by a wake on its own
//! thread), then waits for the answer; the thread spins a while, publishes the answer and
//! wakes the task through a `Waker` it keeps. The thread aims its wake at the start of the
//! task's waiting poll: it lengthens its spin after a round where the answer was there in
//! time, shortens it after one where the task had to wait, and adds a little jitter. So
//! the wake keeps landing in the window where the scheduler has begun the poll but the
//! task has not yet read the answer. There, a scheduler that marks the poll's start with a
//! plain store, and a waker that trusts a plain load of "already queued", can both read
//! the other's old value (the store-buffering pattern), and the wake is lost: the task
//! waits for an answer that has arrived, and the runtime sleeps in `epoll_wait` for a wake
//! that never comes. (With a random spin alone, the old code lost a wake in some runs of a
//! million rounds; aimed, in every run, half the time within a few hundred rounds.)
//!
//! A stall check in the runtime fails the test with the round where that happened, and
//! [`util::watchdog`] backs it up. The number of rounds comes from the environment:
//!
//! ```text
//! ROUNDS=1000000 cargo test --release --test remote_wake
//! ```
//!
//! The storms of many threads waking many tasks are in `tests/wakeups.rs`; the model
//! checking of the task state machine itself is the `loom` test in
//! `src/scheduler/state.rs`.

mod util;

use std::future::poll_fn;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::Runtime;
use epoll_rt::time::timeout;

/// Rounds when `ROUNDS` is not set: enough for a plain `cargo test` to catch a frequent
/// loss; CI's release step runs a million.
const DEFAULT_ROUNDS: u64 = 20_000;

/// Longest one round may take before the test calls the wake lost.
const STALL: Duration = Duration::from_secs(5);

/// The whole test's limit.
const LIMIT: Duration = Duration::from_secs(120);

/// The waking thread's longest delay before it answers, in `spin_loop` hints.
const MAX_DELAY: u64 = 1024;

/// Random spins added to that delay, so that the wake lands on both sides of its target.
const JITTER: u64 = 4;

/// What the task and the waking thread share.
#[derive(Default)]
struct Lockstep {
    /// The round whose answer the task waits for.
    asked: AtomicU64,
    /// The last round the thread answered.
    answered: AtomicU64,
    /// Whether the task had to wait for the previous round's answer (it returned `Pending`
    /// without it): the thread's wake came late, and its next one should come sooner.
    late: AtomicBool,
    /// The task's waker, published at its first poll.
    waker: OnceLock<Waker>,
}

/// The number of rounds to play: `ROUNDS` from the environment, or [`DEFAULT_ROUNDS`].
fn rounds() -> u64 {
    match std::env::var("ROUNDS") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("ROUNDS must be a number, not {text:?}")),
        Err(_) => DEFAULT_ROUNDS,
    }
}

#[test]
fn a_remote_wake_racing_the_start_of_a_poll_is_never_lost() {
    let rounds = rounds();
    let started = Instant::now();
    util::watchdog(LIMIT, move || {
        let shared = Arc::new(Lockstep::default());
        let rt = Runtime::new().unwrap();

        // The task: each round, two wakes of its own, then wait for the thread's answer.
        let mut task = {
            let shared = shared.clone();
            let mut round = 0;
            // Polls left in this round before the task waits for the answer.
            let mut yields = 0;
            // Whether the task returned `Pending` for want of this round's answer.
            let mut waited = false;
            rt.spawn(poll_fn(move |cx| {
                shared.waker.get_or_init(|| cx.waker().clone());
                if shared.answered.load(Ordering::Acquire) == round {
                    if round == rounds {
                        return Poll::Ready(());
                    }
                    shared.late.store(waited, Ordering::Relaxed);
                    round += 1;
                    yields = 2;
                    waited = false;
                    shared.asked.store(round, Ordering::Release);
                }
                if yields > 0 {
                    yields -= 1;
                    cx.waker().wake_by_ref();
                } else {
                    waited = true;
                }
                Poll::Pending
            }))
        };

        // The thread: wait for the question, spin (aiming at the start of the task's
        // waiting poll), answer and wake.
        let answering = {
            let shared = shared.clone();
            thread::spawn(move || {
                let mut rng = util::Rng::new(0x5eed_0f10_57ba_ce00);
                let waker = loop {
                    match shared.waker.get() {
                        Some(waker) => break waker.clone(),
                        None => thread::yield_now(),
                    }
                };
                let mut delay = 0u64;
                for k in 1..=rounds {
                    let asked_at = Instant::now();
                    while shared.asked.load(Ordering::Acquire) < k {
                        spin_loop();
                        // The task stopped asking: the runtime side reports it.
                        if asked_at.elapsed() > STALL {
                            return;
                        }
                    }
                    if shared.late.load(Ordering::Relaxed) {
                        delay = delay.saturating_sub(1);
                    } else if delay < MAX_DELAY {
                        delay += 1;
                    }
                    for _ in 0..delay + rng.below(JITTER) {
                        spin_loop();
                    }
                    shared.answered.store(k, Ordering::Release);
                    waker.wake_by_ref();
                }
            })
        };

        // Wait for the task, checking that every `STALL` it has moved on.
        rt.block_on(async {
            let mut last = 0;
            loop {
                match timeout(STALL, &mut task).await {
                    Ok(result) => break result.unwrap(),
                    Err(_) => {
                        let asked = shared.asked.load(Ordering::Acquire);
                        let answered = shared.answered.load(Ordering::Acquire);
                        assert!(
                            asked != last,
                            "round {asked}: the thread answered {answered} and woke the task, \
                             which was not polled again within {STALL:?}: a lost wake-up"
                        );
                        last = asked;
                    }
                }
            }
        });
        answering.join().expect("the answering thread panicked");
    });
    eprintln!("{rounds} rounds in {:?}", started.elapsed());
}
