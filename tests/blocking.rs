//! Integration tests of `spawn_blocking` and the runtime's blocking pool: blocking
//! closures run beside the loop without stopping it, their results and panics come back
//! through join handles, the pool keeps to its limits, and the runtime's drop (or
//! `shutdown_timeout`) settles the closures still running.
//!
//! Timing checks have generous bounds: the machine running them may be loaded (and wider
//! ones under valgrind). Every body runs under `util::watchdog`.

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::{sleep, sleep_until};
use epoll_rt::{Runtime, spawn_blocking};

/// Waits, yielding to the runtime, until `done` holds, failing after 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn a_timer_keeps_firing_on_time_while_8_blocking_closures_block() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("runtime");
        // Valgrind runs everything 20 to 50 times slower, a tick's lateness included.
        let allowed = if util::under_valgrind() {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(100)
        };
        rt.block_on(async {
            // Eight closures that each block their thread until released.
            let blocked = Arc::new(AtomicUsize::new(0));
            let release = Arc::new(AtomicBool::new(false));
            let closures: Vec<_> = (0..8)
                .map(|i| {
                    let (blocked, release) = (blocked.clone(), release.clone());
                    spawn_blocking(move || {
                        blocked.fetch_add(1, Ordering::SeqCst);
                        while !release.load(Ordering::SeqCst) {
                            thread::sleep(Duration::from_millis(1));
                        }
                        blocked.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                })
                .collect();

            // Ticks of 10 ms, each timed from its own start, until twenty have come with
            // all eight closures blocked at once, side by side on eight threads: each
            // fires close to its deadline. Run on the loop's thread, a single closure
            // would have held the ticks back until released. (Bounded: a thousand ticks.)
            let mut latest = Duration::ZERO;
            let mut ticks_all_blocked = 0;
            for _ in 0..1000 {
                let deadline = Instant::now() + Duration::from_millis(10);
                sleep_until(deadline).await;
                latest = latest.max(deadline.elapsed());
                if blocked.load(Ordering::SeqCst) == 8 {
                    ticks_all_blocked += 1;
                    if ticks_all_blocked == 20 {
                        break;
                    }
                }
            }
            // Released before the checks, so that a failing check does not leave the
            // runtime's drop waiting for closures that never end.
            release.store(true, Ordering::SeqCst);
            assert_eq!(
                ticks_all_blocked, 20,
                "the eight closures were not all blocked at once"
            );
            assert!(
                latest < allowed,
                "a tick came {latest:?} late while blocking closures ran"
            );

            let mut outputs = Vec::new();
            for closure in closures {
                outputs.push(closure.await.expect("the closure returned"));
            }
            assert_eq!(outputs, (0..8).collect::<Vec<_>>());
        });
        assert_eq!(rt.stats().blocking_threads, 8);
    });
}

#[test]
fn a_panicking_closure_yields_a_panic_join_error() {
    util::run(|| async {
        let err = spawn_blocking(|| panic!("boom")).await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "task panicked: boom");
        // The pool thread survived its closure's panic and takes the next one.
        assert_eq!(spawn_blocking(|| 7).await.unwrap(), 7);
    });
}

#[test]
fn no_more_than_max_blocking_threads_run_at_once() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::builder()
            .max_blocking_threads(2)
            .build()
            .expect("runtime");
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let outputs = rt.block_on(async {
            let closures: Vec<_> = (0..6)
                .map(|i| {
                    let (running, most) = (running.clone(), most.clone());
                    spawn_blocking(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                })
                .collect();
            let mut outputs = Vec::new();
            for closure in closures {
                outputs.push(closure.await.expect("the closure returned"));
            }
            outputs
        });
        assert_eq!(outputs, [0, 1, 2, 3, 4, 5]);
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(rt.stats().blocking_threads, 2);
    });
}

#[test]
fn an_idle_blocking_thread_ends_after_the_keep_alive_time() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::builder()
            .thread_keep_alive(Duration::from_millis(20))
            .build()
            .expect("runtime");
        assert_eq!(
            rt.stats().blocking_threads,
            0,
            "no thread before the first use"
        );
        rt.block_on(async {
            spawn_blocking(|| ()).await.expect("the closure returned");
            eventually("the idle thread ended", || rt.stats().blocking_threads == 0).await;
            // The next closure starts a thread again.
            assert_eq!(spawn_blocking(|| 5).await.unwrap(), 5);
        });
    });
}

#[test]
fn dropping_the_runtime_waits_for_a_running_closure() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("runtime");
        let finished = Arc::new(AtomicBool::new(false));
        let (started_tx, started) = mpsc::channel();
        let flag = finished.clone();
        let handle = rt.spawn(async move {
            spawn_blocking(move || {
                started_tx.send(()).expect("the test waits");
                thread::sleep(Duration::from_millis(100));
                flag.store(true, Ordering::SeqCst);
            })
            .await
        });
        rt.block_on(async {
            // Let the task spawn the closure, then leave with the closure running.
            epoll_rt::yield_now().await;
        });
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("the closure started");
        drop(rt);
        assert!(
            finished.load(Ordering::SeqCst),
            "drop returned before the closure ended"
        );
        // The task awaiting the closure was dropped with the runtime.
        let err = epoll_rt::block_on(handle).unwrap_err();
        assert!(err.is_cancelled());
    });
}

#[test]
fn shutdown_timeout_leaves_a_closure_still_running_behind() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("runtime");
        let (started_tx, started) = mpsc::channel();
        let (release_tx, release) = mpsc::channel::<()>();
        let (ended_tx, ended) = mpsc::channel();
        rt.block_on(async {
            spawn_blocking(move || {
                started_tx.send(()).expect("the test waits");
                let _ = release.recv_timeout(Duration::from_secs(10));
                ended_tx.send(()).expect("the test waits");
            });
        });
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("the closure started");
        let begun = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(50));
        let waited = begun.elapsed();
        assert!(
            waited >= Duration::from_millis(50),
            "returned early: {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(5),
            "waited for the closure: {waited:?}"
        );
        // The closure goes on running, detached, and ends when told to.
        assert!(ended.try_recv().is_err());
        drop(release_tx);
        ended
            .recv_timeout(Duration::from_secs(10))
            .expect("the detached closure ended");
    });
}

#[test]
fn aborting_a_blocking_handle_cancels_the_wait_not_the_closure() {
    util::run(|| async {
        let (release_tx, release) = mpsc::channel::<()>();
        let (ended_tx, ended) = mpsc::channel();
        let handle = spawn_blocking(move || {
            let _ = release.recv_timeout(Duration::from_secs(10));
            ended_tx.send(()).expect("the test waits");
        });
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        release_tx.send(()).expect("the closure waits");
        let ended = spawn_blocking(move || ended.recv_timeout(Duration::from_secs(10)));
        assert!(ended.await.unwrap().is_ok(), "the closure ran to its end");
    });
}

/// Many completions, each a wake from a pool thread through the remote queue, racing the
/// loop's own polls and waits: every one reaches its task. A lost wake leaves a task
/// waiting forever, and the watchdog fails the test.
#[test]
fn every_completion_from_the_pool_wakes_its_task() {
    const CLOSURES: u64 = 4000;
    let sum = util::run(|| async {
        let mut sum = 0;
        // In waves, so that completions land while the loop is at every point of its turn.
        for wave in 0..CLOSURES / 100 {
            let handles: Vec<_> = (0..100)
                .map(|i| spawn_blocking(move || wave * 100 + i))
                .collect();
            for handle in handles {
                sum += handle.await.expect("the closure returned");
            }
        }
        sum
    });
    assert_eq!(sum, CLOSURES * (CLOSURES - 1) / 2);
}
