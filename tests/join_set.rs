//! Integration tests of `task::JoinSet` and `task::AbortHandle`: a set yields its tasks'
//! outcomes in the order they finish, aborts them on `abort_all` and when dropped (no task
//! of a dropped set runs again), and an abort handle cancels a task from another thread.
//!
//! Every body runs under `util::run` or `util::watchdog`.

mod util;

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use epoll_rt::task::JoinSet;
use epoll_rt::time::sleep;
use epoll_rt::{Runtime, spawn, yield_now};

#[test]
fn join_next_yields_outcomes_in_the_order_tasks_finish() {
    util::run(|| async {
        let mut set = JoinSet::new();
        assert!(
            set.join_next().await.is_none(),
            "an empty set has nothing to join"
        );
        for ms in [40_u64, 0, 20] {
            set.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            });
        }
        set.spawn(async { panic!("boom") });
        assert_eq!(set.len(), 4);
        let mut outputs = Vec::new();
        let mut panics = 0;
        while let Some(outcome) = set.join_next().await {
            match outcome {
                Ok(ms) => outputs.push(ms),
                Err(err) => {
                    assert!(err.is_panic());
                    panics += 1;
                }
            }
        }
        assert_eq!(outputs, [0, 20, 40]);
        assert_eq!(panics, 1);
        assert!(set.is_empty());
    });
}

#[test]
fn abort_all_cancels_the_tasks_not_finished() {
    util::run(|| async {
        let mut set = JoinSet::new();
        set.spawn(async { 1 });
        yield_now().await; // the first task finishes
        set.spawn(pending());
        set.spawn(pending());
        set.abort_all();
        assert_eq!(set.len(), 3);
        let (mut finished, mut cancelled) = (0, 0);
        while let Some(outcome) = set.join_next().await {
            match outcome {
                Ok(1) => finished += 1,
                Err(err) if err.is_cancelled() => cancelled += 1,
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!((finished, cancelled), (1, 2));
    });
}

#[test]
fn a_dropped_join_set_leaves_no_task_running() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("runtime");
        rt.block_on(async {
            let polls = Rc::new(Cell::new(0));
            let mut flags = Vec::new();
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let (dropped, guard) = util::drop_flag();
                flags.push(dropped);
                let polls = polls.clone();
                // Always ready: without the abort it would run at every turn.
                set.spawn(async move {
                    let _guard = guard;
                    loop {
                        polls.set(polls.get() + 1);
                        yield_now().await;
                    }
                });
            }
            yield_now().await;
            assert!(polls.get() >= 10, "the tasks ran");
            drop(set);
            let polls_at_drop = polls.get();
            // The next turn drops them, unpolled.
            yield_now().await;
            yield_now().await;
            assert_eq!(
                polls.get(),
                polls_at_drop,
                "a task of the dropped set ran again"
            );
            assert!(
                flags.iter().all(|f| f.get()),
                "a task of the dropped set is alive"
            );
        });
        assert_eq!(rt.stats().tasks_spawned, rt.stats().tasks_finished);
    });
}

#[test]
fn shutdown_empties_the_set() {
    util::run(|| async {
        let mut set = JoinSet::new();
        for _ in 0..3 {
            set.spawn(pending::<()>());
        }
        set.shutdown().await;
        assert!(set.is_empty());
    });
}

#[test]
fn an_abort_handle_cancels_a_task_from_another_thread() {
    util::run(|| async {
        let handle = spawn(pending::<()>());
        let abort = handle.abort_handle();
        assert!(!abort.is_finished());
        let thread = thread::spawn(move || {
            abort.abort();
            abort
        });
        assert!(handle.await.unwrap_err().is_cancelled());
        let abort = thread.join().expect("aborting thread");
        assert!(abort.is_finished());
    });
}

/// Aborts from another thread aimed at a task that is queued, being polled, or idle: each
/// round's task waits for a message that the thread sends just before the abort, so the
/// abort lands while the message's wake has the task scheduled or running. Every abort
/// must end its task; a lost one leaves it waiting forever, and the watchdog fails the
/// test.
#[test]
fn every_abort_from_another_thread_ends_its_task() {
    const ROUNDS: usize = 2000;
    util::run(|| async {
        for round in 0..ROUNDS {
            let (tx, rx) = mpsc::channel::<()>();
            let woken = Rc::new(Cell::new(false));
            let task_woken = woken.clone();
            let handle = spawn(async move {
                // Wait for the message, with a waker the thread wakes.
                std::future::poll_fn(|cx| {
                    task_woken.set(true);
                    let _ = rx.try_recv();
                    WAKER.with(|w| *w.borrow_mut() = Some(cx.waker().clone()));
                    std::task::Poll::<()>::Pending
                })
                .await
            });
            yield_now().await; // the task parks its waker
            let waker = WAKER.with(|w| w.borrow_mut().take()).expect("the task ran");
            let abort = handle.abort_handle();
            let thread = thread::spawn(move || {
                let _ = tx.send(());
                waker.wake();
                for _ in 0..round % 64 {
                    std::hint::spin_loop();
                }
                abort.abort();
            });
            let outcome = handle.await;
            assert!(outcome.unwrap_err().is_cancelled(), "round {round}");
            thread.join().expect("aborting thread");
            assert!(woken.get());
        }
    });
}

thread_local! {
    /// The waker the current round's task left, for the test to hand to the thread.
    static WAKER: std::cell::RefCell<Option<std::task::Waker>> = const { std::cell::RefCell::new(None) };
}
