//! No lost wake-ups: 8 threads × 100,000 cross-thread wakes, all observed.
//!
//! Two storms. In the first, 8 threads wake one task 100,000 times each as fast as they
//! can, while a neighbour task keeps the runtime alternating between polling and sleeping
//! in `epoll_wait`; most wakes merge (a task already queued is not queued twice), and the
//! task finishes only once it has seen every thread's last count, so a lost final wake
//! leaves it pending and the watchdog fails the test. In the second, each thread wakes a
//! task of its own 25,000 times in lockstep (it waits for each wake to be answered before
//! the next), so none can merge: all 200,000 go through the remote queue and its eventfd,
//! each answered by one poll.
//!
//! The seeded fuzz of the reactor and executor is in `tests/wakeups_fuzz.rs`; a remote
//! wake aimed at the start of a poll, round after round, in `tests/remote_wake.rs`.

mod util;

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::{sleep, timeout};
use epoll_rt::{Runtime, spawn, yield_now};

/// Waking threads, and wakes each in the storm, and in lockstep.
const THREADS: usize = 8;
const WAKES: u64 = 100_000;
const LOCKSTEP_WAKES: u64 = 25_000;

#[test]
fn eight_threads_times_100_000_wakes_are_all_observed() {
    let (polls, naps) = util::watchdog(Duration::from_secs(120), || {
        let counts: Arc<Vec<AtomicU64>> =
            Arc::new((0..THREADS).map(|_| AtomicU64::new(0)).collect());
        let rt = Runtime::new().unwrap();
        let waker_slot: Rc<Cell<Option<Waker>>> = Rc::default();

        // The counting task: done once it has seen every thread's final count.
        let counter = {
            let (counts, slot) = (counts.clone(), waker_slot.clone());
            let mut seen = [0u64; THREADS];
            let mut polls = 0u64;
            rt.spawn(poll_fn(move |cx| {
                polls += 1;
                slot.set(Some(cx.waker().clone()));
                for (seen, count) in seen.iter_mut().zip(counts.iter()) {
                    let now = count.load(Ordering::Acquire);
                    assert!(now >= *seen, "a count went backwards");
                    *seen = now;
                }
                if seen.iter().all(|&s| s == WAKES) {
                    Poll::Ready(polls)
                } else {
                    Poll::Pending
                }
            }))
        };
        rt.block_on(yield_now());
        let waker = waker_slot.take().expect("the counting task ran");

        // The wakers: publish the count, then wake.
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (counts, waker) = (counts.clone(), waker.clone());
                thread::spawn(move || {
                    for k in 1..=WAKES {
                        counts[t].store(k, Ordering::Release);
                        waker.wake_by_ref();
                    }
                })
            })
            .collect();

        // A neighbour that alternates between being ready and sleeping, so wakes arrive
        // both while the runtime polls and while it waits in the kernel.
        let (polls, naps) = rt.block_on(async {
            let done = Rc::new(Cell::new(false));
            let neighbour = {
                let done = done.clone();
                spawn(async move {
                    let mut naps = 0u64;
                    while !done.get() {
                        yield_now().await;
                        sleep(Duration::from_micros(50)).await;
                        naps += 1;
                    }
                    naps
                })
            };
            let polls = counter.await.unwrap();
            done.set(true);
            (polls, neighbour.await.unwrap())
        });
        for thread in threads {
            thread.join().expect("a waking thread panicked");
        }
        (polls, naps)
    });
    eprintln!(
        "{} wakes from {THREADS} threads: the task was polled {polls} times; the neighbour \
         slept {naps} times meanwhile",
        THREADS as u64 * WAKES
    );
    assert!((1..=THREADS as u64 * WAKES + 1).contains(&polls));
}

/// Wakes in lockstep: each thread wakes a task of its own, and waits until that task has
/// seen its count before it publishes the next. No wake can then be merged with another,
/// so each of the 200,000 goes through the remote queue and its eventfd and must be
/// answered by a poll of its own; a single lost one stalls its thread, which gives up after
/// a while and fails the test. (Each wake is a round trip between two threads, hence fewer
/// of them than in the storm above.)
#[test]
fn eight_threads_in_lockstep_have_each_wake_answered() {
    /// Longest a thread waits for one wake to be answered.
    const ANSWER_LIMIT: Duration = Duration::from_secs(30);
    let polls = util::watchdog(Duration::from_secs(180), || {
        let counts: Arc<Vec<AtomicU64>> =
            Arc::new((0..THREADS).map(|_| AtomicU64::new(0)).collect());
        let seen: Arc<Vec<AtomicU64>> = Arc::new((0..THREADS).map(|_| AtomicU64::new(0)).collect());
        // Each waking thread, to unpark once its wake has been answered.
        let parked: Arc<Vec<OnceLock<thread::Thread>>> =
            Arc::new((0..THREADS).map(|_| OnceLock::new()).collect());
        let rt = Runtime::new().unwrap();

        // One task per thread: it publishes the count it saw, and ends at the last one.
        let mut tasks = Vec::new();
        let mut wakers = Vec::new();
        for t in 0..THREADS {
            let (counts, seen, parked) = (counts.clone(), seen.clone(), parked.clone());
            let slot: Rc<Cell<Option<Waker>>> = Rc::default();
            let published = slot.clone();
            let mut polls = 0u64;
            tasks.push(rt.spawn(poll_fn(move |cx| {
                polls += 1;
                published.set(Some(cx.waker().clone()));
                let now = counts[t].load(Ordering::Acquire);
                seen[t].store(now, Ordering::Release);
                if let Some(thread) = parked[t].get() {
                    thread.unpark();
                }
                if now == LOCKSTEP_WAKES {
                    Poll::Ready(polls)
                } else {
                    Poll::Pending
                }
            })));
            rt.block_on(yield_now());
            wakers.push(slot.take().expect("the task ran"));
        }

        let threads: Vec<_> = wakers
            .into_iter()
            .enumerate()
            .map(|(t, waker)| {
                let (counts, seen, parked) = (counts.clone(), seen.clone(), parked.clone());
                thread::spawn(move || {
                    parked[t]
                        .set(thread::current())
                        .expect("one thread per slot");
                    for k in 1..=LOCKSTEP_WAKES {
                        counts[t].store(k, Ordering::Release);
                        waker.wake_by_ref();
                        let start = Instant::now();
                        while seen[t].load(Ordering::Acquire) < k {
                            assert!(start.elapsed() < ANSWER_LIMIT, "thread {t}: wake {k} lost");
                            thread::park_timeout(Duration::from_millis(10));
                        }
                    }
                })
            })
            .collect();
        // A timer bounds the wait: with a wake lost, nothing else would end it.
        let polls: u64 = rt
            .block_on(timeout(ANSWER_LIMIT * 4, async {
                let mut polls = 0;
                for task in tasks {
                    polls += task.await.unwrap();
                }
                polls
            }))
            .unwrap_or_else(|_| panic!("a lockstep task never saw its last count"));
        for thread in threads {
            thread.join().expect("a waking thread panicked");
        }
        polls
    });
    eprintln!(
        "{} lockstep wakes answered by {polls} polls",
        THREADS as u64 * LOCKSTEP_WAKES
    );
    // Each wake was answered by a poll of its own, plus the first poll of each task.
    assert_eq!(polls, THREADS as u64 * (LOCKSTEP_WAKES + 1));
}
