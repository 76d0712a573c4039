//! Integration tests of the executor: spawning and joining tasks, wakes from this thread
//! and from others, panics and cancellation, fairness between busy tasks and I/O, and the
//! life of a [`Runtime`] across several `block_on` calls and after it is dropped.
//!
//! Every test body runs under `util::run` or `util::watchdog`, so a lost wake-up fails the
//! test instead of hanging it.

mod util;

use util::drop_flag;

use std::any::Any;
use std::cell::Cell;
use std::future::{Future, pending, poll_fn};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::sleep;
use epoll_rt::{AsyncFd, AsyncTcpListener, AsyncTcpStream, JoinHandle, Runtime, spawn, yield_now};

/// A one-shot signal that any thread can fire, and a task can await: a hand-made
/// channel, so that these tests depend on nothing but the executor's wakers.
#[derive(Clone, Default)]
struct Signal(Arc<Mutex<(bool, Option<Waker>)>>);

impl Signal {
    /// Marks the signal fired and wakes the task waiting for it, if any.
    fn fire(&self) {
        let waker = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        // Wake outside the lock, as a real channel would.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Completes once the signal has fired.
    fn wait(&self) -> impl Future<Output = ()> + 'static {
        let this = self.clone();
        poll_fn(move |cx| {
            let mut state = this.0.lock().unwrap();
            if state.0 {
                return Poll::Ready(());
            }
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

/// The text of a panic payload made by `panic!` (a `&str` or a `String`).
fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .expect("panic payload is a string")
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// The waker of the task that awaits this.
async fn current_waker() -> Waker {
    poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
}

/// Yields until `done` says so, at most `limit` times; returns whether it did.
async fn yield_until(limit: usize, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..limit {
        if done() {
            return true;
        }
        yield_now().await;
    }
    done()
}

// ---------------------------------------------------------------------------------------
// Spawning and joining
// ---------------------------------------------------------------------------------------

#[test]
fn ten_thousand_tasks_run_and_join() {
    const TASKS: usize = 10_000;
    let count = util::run(|| async {
        let counter = Rc::new(Cell::new(0));
        let handles: Vec<_> = (0..TASKS)
            .map(|i| {
                let counter = counter.clone();
                spawn(async move {
                    counter.set(counter.get() + 1);
                    yield_now().await;
                    i
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.unwrap(), i);
        }
        counter.get()
    });
    assert_eq!(count, TASKS);
}

#[test]
fn non_send_futures_run_on_spawn_and_runtime_spawn() {
    let (a, b) = util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        // An `Rc` held across an await makes the future `!Send`; both spawns accept it.
        let before = rt.spawn(async {
            let shared = Rc::new(Cell::new(1));
            yield_now().await;
            shared.set(shared.get() + 1);
            shared.get()
        });
        rt.block_on(async {
            let during = spawn(async {
                let shared = Rc::new(String::from("not Send"));
                yield_now().await;
                shared.len()
            });
            (before.await.unwrap(), during.await.unwrap())
        })
    });
    assert_eq!((a, b), (2, 8));
}

#[test]
fn join_handle_returns_the_output() {
    let output = util::run(|| async {
        let handle = spawn(async {
            yield_now().await;
            String::from("forty-two")
        });
        assert!(!handle.is_finished());
        handle.await.unwrap()
    });
    assert_eq!(output, "forty-two");
}

#[test]
fn detached_task_runs_to_completion() {
    let done = util::run(|| async {
        let (dropped, guard) = drop_flag();
        let finished = Rc::new(Cell::new(false));
        let flag = finished.clone();
        drop(spawn(async move {
            let _guard = guard;
            for _ in 0..3 {
                yield_now().await;
            }
            sleep(Duration::from_millis(1)).await;
            flag.set(true);
        }));
        // Wait for the task by its effect: the handle is gone.
        for _ in 0..1000 {
            if finished.get() {
                break;
            }
            sleep(Duration::from_millis(1)).await;
        }
        (finished.get(), dropped.get())
    });
    assert_eq!(done, (true, true), "(ran to the end, future dropped)");
}

/// `spawn_detached`: the task runs to its end with no handle, its output is dropped, and
/// the runtime counts it like any task.
#[test]
fn a_detached_task_runs_to_completion() {
    let (done, dropped, spawned, finished) = util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        let result = rt.block_on(async {
            // Shared by all the tasks: set when the last of their futures is dropped.
            let (dropped, guard) = drop_flag();
            let guard = Rc::new(guard);
            let finished = Rc::new(Cell::new(0u32));
            for _ in 0..100 {
                let (finished, guard) = (finished.clone(), guard.clone());
                epoll_rt::spawn_detached(async move {
                    let _guard = guard;
                    yield_now().await;
                    sleep(Duration::from_millis(1)).await;
                    finished.set(finished.get() + 1);
                    "an output nobody reads"
                });
            }
            drop(guard);
            let all = yield_until(10_000, || finished.get() == 100).await;
            (all, dropped.get())
        });
        let stats = rt.stats();
        (
            result.0,
            result.1,
            stats.tasks_spawned,
            stats.tasks_finished,
        )
    });
    assert!(done, "every detached task ran to its end");
    assert!(dropped, "their futures were dropped when they ended");
    assert_eq!((spawned, finished), (100, 100));
}

/// A detached task that panics, or whose output's destructor does, or whose panic
/// payload's does, ends alone: the runtime and the other tasks carry on.
#[test]
fn a_detached_task_that_panics_ends_alone() {
    /// A panic payload whose destructor panics too.
    struct PanickyPayload;
    impl Drop for PanickyPayload {
        fn drop(&mut self) {
            panic!("the payload panics on drop");
        }
    }
    let (ran, output_dropped) = util::run(|| async {
        epoll_rt::spawn_detached(async { panic!("a detached task panics") });
        epoll_rt::spawn_detached(async {
            yield_now().await;
            std::panic::panic_any(PanickyPayload)
        });
        let output_dropped = Rc::new(Cell::new(false));
        let flag = output_dropped.clone();
        epoll_rt::task::Builder::new()
            .name("output panics on drop")
            .spawn_detached(async move { PanicsOnDrop(flag) });
        // A sibling spawned after them still runs, and so does this future.
        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        epoll_rt::spawn_detached(async move {
            yield_now().await;
            flag.set(true);
        });
        let ran = yield_until(100, || ran.get()).await;
        (ran, output_dropped.get())
    });
    assert!(ran, "the runtime went on after the panics");
    assert!(
        output_dropped,
        "the output was dropped, its panic contained"
    );
}

/// Detached tasks still pending when their runtime is dropped are dropped with it.
#[test]
fn detached_tasks_are_dropped_with_their_runtime() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        let (dropped, guard) = drop_flag();
        rt.block_on(async move {
            epoll_rt::spawn_detached(async move {
                let _guard = guard;
                pending::<()>().await;
            });
            yield_now().await;
        });
        assert!(!dropped.get());
        drop(rt);
        assert!(dropped.get(), "the pending detached task was dropped");
    });
}

#[test]
fn spawn_detached_outside_a_runtime_panics_with_a_clear_message() {
    let message = util::watchdog(util::LIMIT, || {
        let caught = catch_unwind(|| epoll_rt::spawn_detached(async {}));
        panic_text(&*caught.expect_err("no runtime: a panic")).to_owned()
    });
    assert!(message.contains("outside a runtime"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Wakes from other threads
// ---------------------------------------------------------------------------------------

#[test]
fn task_woken_from_another_thread() {
    util::run(|| async {
        let signal = Signal::default();
        let task = spawn(signal.wait());
        let firing = signal.clone();
        let thread = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            firing.fire();
        });
        task.await.unwrap();
        thread.join().unwrap();
    });
}

#[test]
fn block_on_future_woken_from_another_thread() {
    util::run(|| async {
        let signal = Signal::default();
        let firing = signal.clone();
        let thread = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            firing.fire();
        });
        signal.wait().await;
        thread.join().unwrap();
    });
}

/// No timer is pending, so the runtime sleeps in `epoll_wait` with no timeout: only the
/// eventfd can get it out, as no periodic wake-up would come to the rescue.
#[test]
fn remote_wake_interrupts_an_idle_epoll_wait() {
    util::watchdog(Duration::from_secs(10), || {
        let signal = Signal::default();
        let firing = signal.clone();
        let thread = thread::spawn(move || {
            // Long enough for the runtime to be asleep in the kernel.
            thread::sleep(Duration::from_millis(100));
            firing.fire();
        });
        epoll_rt::block_on(async {
            let task = spawn(signal.wait());
            task.await.unwrap();
        });
        thread.join().unwrap();
    });
}

/// 4 threads wake one task 10,000 times each. The task counts its polls and finishes once
/// it has seen every wake's effect; a single lost wake-up leaves it pending for good.
#[test]
fn many_cross_thread_wakes_are_not_lost() {
    const THREADS: usize = 4;
    const WAKES: usize = 10_000;
    let polls = util::watchdog(Duration::from_secs(15), || {
        let done = Arc::new(AtomicUsize::new(0));
        let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (done, waker) = (done.clone(), waker.clone());
                thread::spawn(move || {
                    for i in 0..WAKES {
                        // Publish the effect first, then wake: the task stores its waker
                        // before it looks at the count, so one of the two sees the other.
                        done.fetch_add(1, Ordering::SeqCst);
                        if let Some(waker) = waker.lock().unwrap().as_ref() {
                            waker.wake_by_ref();
                        }
                        if i % 64 == 0 {
                            thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let polls = epoll_rt::block_on(async move {
            let task = spawn(async move {
                let mut polls = 0_usize;
                poll_fn(|cx| {
                    polls += 1;
                    *waker.lock().unwrap() = Some(cx.waker().clone());
                    if done.load(Ordering::SeqCst) == THREADS * WAKES {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                polls
            });
            task.await.unwrap()
        });
        for thread in threads {
            thread.join().unwrap();
        }
        polls
    });
    // Each poll after the first answers at least one wake.
    assert!((1..=THREADS * WAKES + 1).contains(&polls), "{polls} polls");
}

/// A task woken 1,000 times within one poll is queued once, so polled once more.
#[test]
fn wakes_during_a_poll_queue_the_task_once() {
    let polls = util::run(|| async {
        let polls = Rc::new(Cell::new(0));
        let counter = polls.clone();
        let task = spawn(poll_fn(move |cx| {
            counter.set(counter.get() + 1);
            if counter.get() == 1 {
                for _ in 0..1000 {
                    cx.waker().wake_by_ref();
                }
            }
            Poll::<()>::Pending
        }));
        // Each yield lets every task queued before us run; ten are plenty.
        for _ in 0..10 {
            yield_now().await;
        }
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        polls.get()
    });
    assert_eq!(polls, 2);
}

/// The same for the future given to `block_on`, which is not a spawned task.
#[test]
fn wakes_during_a_poll_queue_the_block_on_future_once() {
    let polls = util::run(|| async {
        let release = Rc::new(Cell::new(None::<Waker>));
        let releaser = {
            let release = release.clone();
            spawn(async move {
                for _ in 0..10 {
                    yield_now().await;
                }
                release.take().expect("main future stored its waker").wake();
            })
        };
        let mut polls = 0;
        poll_fn(|cx| {
            polls += 1;
            match polls {
                1 => {
                    for _ in 0..1000 {
                        cx.waker().wake_by_ref();
                    }
                    release.set(Some(cx.waker().clone()));
                    Poll::Pending
                }
                _ if releaser.is_finished() => Poll::Ready(()),
                _ => Poll::Pending,
            }
        })
        .await;
        polls
    });
    // First poll, the one its own wakes queued, the one the releaser's wake queued.
    assert_eq!(polls, 3);
}

/// Runs, on `rt`, a `block_on` future that is pending at its first poll and woken once,
/// by a task that runs after that poll. Returns how many times it was polled and woken.
fn block_on_a_future_woken_once(rt: &Runtime) -> (usize, usize) {
    let wakes = Rc::new(Cell::new(0));
    let mut polls = 0;
    rt.block_on(poll_fn(|cx| {
        polls += 1;
        if polls == 1 {
            let (waker, wakes) = (cx.waker().clone(), wakes.clone());
            drop(spawn(async move {
                wakes.set(wakes.get() + 1);
                waker.wake();
            }));
        }
        if wakes.get() > 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    (polls, wakes.get())
}

/// A `block_on` future that wakes itself and then completes leaves nothing in the queue:
/// the next `block_on` on the same runtime polls its own future once, and then once per
/// wake, never for a wake meant for the finished one.
#[test]
fn a_self_wake_before_ready_leaves_the_next_block_on_alone() {
    let (polls, wakes) = util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        rt.block_on(poll_fn(|cx| {
            cx.waker().wake_by_ref();
            Poll::Ready(())
        }));
        block_on_a_future_woken_once(&rt)
    });
    assert_eq!(polls, wakes + 1, "polled {polls} times for {wakes} wake(s)");
}

/// A waker that panics when woken: a foreign waker gone wrong.
struct PanickingWaker;

impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("a waker that panics");
    }
}

/// A `block_on` that unwinds with its future queued (here a timer's waker panics in the
/// reactor's turn, which the future's own wakes had put off) leaves that queue entry
/// behind. The next `block_on` on the runtime finds two entries of the id its future runs
/// under, and still polls it once per wake.
#[test]
fn an_entry_left_by_an_unwound_block_on_polls_nothing() {
    let (polls, wakes) = util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        let unwound = catch_unwind(AssertUnwindSafe(|| {
            let panicking = Waker::from(Arc::new(PanickingWaker));
            let mut armed = None;
            rt.block_on(poll_fn(|cx| {
                if armed.is_none() {
                    // A timer due at the next turn, waking a waker that panics. (Should
                    // the thread run so slowly that it is due at its first poll, which
                    // then registers nothing, a longer one, up to a second.)
                    let mut wait = Duration::from_millis(1);
                    while armed.is_none() {
                        assert!(wait <= Duration::from_secs(1), "no timer was pending");
                        let mut timer = Box::pin(sleep(wait));
                        let pending = timer
                            .as_mut()
                            .poll(&mut Context::from_waker(&panicking))
                            .is_pending();
                        if pending {
                            thread::sleep(wait * 2);
                            armed = Some(timer);
                        }
                        wait *= 2;
                    }
                }
                // Always ready again, so always queued when the turn comes.
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            }));
        }));
        let panic = unwound.expect_err("the waker's panic unwinds out of block_on");
        assert_eq!(panic_text(&*panic), "a waker that panics");
        block_on_a_future_woken_once(&rt)
    });
    assert_eq!(polls, wakes + 1, "polled {polls} times for {wakes} wake(s)");
}

// ---------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------

#[test]
fn panicking_task_reports_its_panic_and_sibling_completes() {
    util::run(|| async {
        let sibling = spawn(async {
            for _ in 0..10 {
                yield_now().await;
            }
            7
        });
        let formatted = spawn(async {
            yield_now().await;
            panic!("boom {}", 42);
        });
        let literal = spawn(async { panic!("plain boom") });

        let err = formatted.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert_eq!(err.to_string(), "task panicked: boom 42");
        let payload = err.try_into_panic().unwrap();
        assert_eq!(panic_text(&*payload), "boom 42");

        let payload = literal.await.unwrap_err().try_into_panic().unwrap();
        assert_eq!(panic_text(&*payload), "plain boom");

        assert_eq!(sibling.await.unwrap(), 7);
    });
}

#[test]
fn hundred_panicking_tasks_do_not_stop_the_runtime() {
    util::run(|| async {
        let survivor = spawn(async {
            sleep(Duration::from_millis(5)).await;
            "alive"
        });
        let handles: Vec<_> = (0..100)
            .map(|i| {
                spawn(async move {
                    if i % 2 == 0 {
                        yield_now().await;
                    }
                    panic!("task {i}");
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let payload = handle.await.unwrap_err().try_into_panic().unwrap();
            assert_eq!(panic_text(&*payload), format!("task {i}"));
        }
        assert_eq!(survivor.await.unwrap(), "alive");
    });
}

#[test]
fn runtime_is_usable_after_panics() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();

        // A panicking task: reported through its handle.
        let err = rt.block_on(spawn_panicking()).unwrap_err();
        assert!(err.is_panic());

        // A panicking block_on future: passed on to the caller.
        let panic = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                yield_now().await;
                panic!("main future panics");
            })
        }))
        .unwrap_err();
        assert_eq!(panic_text(&*panic), "main future panics");

        // The same runtime runs tasks, I/O and timers afterwards.
        let sum = rt.block_on(async {
            let task = spawn(async {
                sleep(Duration::from_millis(2)).await;
                40
            });
            let (a, b) = UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            let a = AsyncFd::new(a).unwrap();
            (&b).write_all(&[2]).unwrap();
            let mut byte = [0];
            a.read_with(|mut s| s.read(&mut byte)).await.unwrap();
            task.await.unwrap() + i32::from(byte[0])
        });
        assert_eq!(sum, 42);
    });
}

/// Spawns a task that panics; for use inside a runtime.
async fn spawn_panicking() -> Result<(), epoll_rt::JoinError> {
    spawn(async { panic!("task panics") }).await
}

/// A task output whose destructor sets a flag, then panics.
struct PanicsOnDrop(Rc<Cell<bool>>);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        self.0.set(true);
        panic!("the output panics on drop");
    }
}

#[test]
fn a_panic_from_dropping_a_task_output_is_contained() {
    util::run(|| async {
        // The task finishes first: dropping its handle drops the output, and must not
        // unwind into the code that drops the handle.
        let dropped = Rc::new(Cell::new(false));
        let flag = dropped.clone();
        let handle = spawn(async move { PanicsOnDrop(flag) });
        assert!(yield_until(100, || handle.is_finished()).await);
        let drop_handle = catch_unwind(AssertUnwindSafe(|| drop(handle)));
        assert!(drop_handle.is_ok(), "dropping the JoinHandle unwound");
        assert!(dropped.get(), "the handle dropped the output");

        // The handle is dropped first: the runtime drops the output when the task ends,
        // and carries on.
        let dropped = Rc::new(Cell::new(false));
        let flag = dropped.clone();
        drop(spawn(async move {
            yield_now().await;
            PanicsOnDrop(flag)
        }));
        assert!(
            yield_until(100, || dropped.get()).await,
            "the output was dropped"
        );
        assert_eq!(spawn(async { 7 }).await.unwrap(), 7);
    });
}

#[test]
fn join_error_is_send_and_sync_and_boxes_with_question_mark() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<epoll_rt::JoinError>();

    async fn join() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        spawn(async { panic!("boom") }).await?;
        Ok(())
    }
    let err = util::run(|| async { join().await.map_err(|e| e.to_string()) });
    assert_eq!(err.unwrap_err(), "task panicked: boom");
}

// ---------------------------------------------------------------------------------------
// Abort
// ---------------------------------------------------------------------------------------

#[test]
fn abort_pending_task_cancels_and_drops_its_future() {
    util::run(|| async {
        // Aborted after it started waiting.
        let (dropped, guard) = drop_flag();
        let task = spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        yield_now().await;
        assert!(!task.is_finished());
        task.abort();
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
        assert!(
            dropped.get(),
            "future dropped by the time the handle resolves"
        );

        // Aborted before its first poll.
        let (dropped, guard) = drop_flag();
        let polled = Rc::new(Cell::new(false));
        let task = {
            let polled = polled.clone();
            spawn(async move {
                let _guard = guard;
                polled.set(true);
            })
        };
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(dropped.get());
        assert!(
            !polled.get(),
            "a task aborted before its first poll is never polled"
        );

        // Aborted while asleep: its timer goes with it, and the runtime carries on.
        let (dropped, guard) = drop_flag();
        let task = spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        });
        yield_now().await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(dropped.get());
    });
}

#[test]
fn abort_finished_task_keeps_its_output() {
    let output = util::run(|| async {
        let task = spawn(async { 5 });
        assert!(yield_until(100, || task.is_finished()).await);
        task.abort();
        task.await
    });
    assert_eq!(output.unwrap(), 5);
}

#[test]
fn abort_from_another_task() {
    util::run(|| async {
        let (dropped, guard) = drop_flag();
        let victim = spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        let killer = spawn(async move {
            yield_now().await;
            victim.abort();
            victim.await
        });
        assert!(killer.await.unwrap().unwrap_err().is_cancelled());
        assert!(dropped.get());
    });
}

// ---------------------------------------------------------------------------------------
// Misuse: nested block_on, spawn outside a runtime
// ---------------------------------------------------------------------------------------

#[test]
fn nested_block_on_panics_with_advice_and_outer_runtime_survives() {
    util::run(|| async {
        let nested = catch_unwind(|| epoll_rt::block_on(async { 1 })).unwrap_err();
        let message = panic_text(&*nested);
        assert!(message.contains("block_on"), "{message}");
        assert!(
            message.contains(".await") && message.contains("spawn"),
            "{message}"
        );

        // The same through a second Runtime held by the caller.
        let other = Runtime::new().unwrap();
        let nested = catch_unwind(AssertUnwindSafe(|| other.block_on(async { 2 }))).unwrap_err();
        assert!(panic_text(&*nested).contains("block_on"));
        drop(other);

        // The outer runtime is still the current one, and still works.
        let task = spawn(async {
            sleep(Duration::from_millis(1)).await;
            3
        });
        assert_eq!(task.await.unwrap(), 3);
    });
    // And the thread can run a runtime again afterwards.
    assert_eq!(util::run(|| async { spawn(async { 4 }).await.unwrap() }), 4);
}

#[test]
fn spawn_outside_a_runtime_panics_with_advice() {
    let message = util::watchdog(util::LIMIT, || {
        let panic = catch_unwind(|| drop(spawn(async {}))).unwrap_err();
        panic_text(&*panic).to_owned()
    });
    assert!(
        message.contains("block_on") && message.contains("Runtime::spawn"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------
// Fairness
// ---------------------------------------------------------------------------------------

/// Longest a busy task spins; it is stopped long before, unless I/O starves. A bound in
/// time rather than in iterations, so that a slow machine cannot reach it early.
const SPIN_LIMIT: Duration = Duration::from_secs(10);

/// Spawns a task that runs `step` until `stop` is set, for at most [`SPIN_LIMIT`], and
/// returns whether it was stopped (rather than giving up).
fn spawn_spinner<F, Fut>(stop: Rc<Cell<bool>>, mut step: F) -> JoinHandle<bool>
where
    F: FnMut() -> Fut + 'static,
    Fut: Future<Output = ()>,
{
    spawn(async move {
        let start = Instant::now();
        while !stop.get() && start.elapsed() < SPIN_LIMIT {
            step().await;
        }
        stop.get()
    })
}

/// A TCP connect, accept and echo over loopback.
async fn tcp_round_trip() -> std::io::Result<()> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = spawn(async move {
        let (mut stream, _) = listener.accept().await?;
        let mut buf = [0; 4];
        stream.read_exact(&mut buf).await?;
        stream.write_all(&buf).await?;
        Ok::<_, std::io::Error>(())
    });
    let mut client = AsyncTcpStream::connect(addr).await?;
    client.write_all(b"ping").await?;
    let mut buf = [0; 4];
    client.read_exact(&mut buf).await?;
    assert_eq!(&buf, b"ping");
    server.await??;
    Ok(())
}

#[test]
fn yielding_task_does_not_starve_io_or_timers() {
    util::run(|| async {
        let stop = Rc::new(Cell::new(false));
        let spinner = spawn_spinner(stop.clone(), yield_now);

        tcp_round_trip().await.unwrap();
        sleep(Duration::from_millis(5)).await;
        assert!(!spinner.is_finished(), "the busy task is still spinning");

        stop.set(true);
        assert!(
            spinner.await.unwrap(),
            "the spinner was stopped, not timed out"
        );
    });
}

/// A future that wakes itself and returns `Pending` once: always ready again, without
/// going through `yield_now`.
struct SelfWake(bool);

impl Future for SelfWake {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn self_waking_task_does_not_starve_io_from_another_thread() {
    util::run(|| async {
        let stop = Rc::new(Cell::new(false));
        let spinner = spawn_spinner(stop.clone(), || SelfWake(false));

        // The peer is a plain thread: its reply arrives while the spinner keeps the run
        // queue non-empty, so only the bounded turn lets the reactor see it.
        let (a, b) = UnixStream::pair().unwrap();
        let echo = thread::spawn(move || {
            let mut buf = [0; 4];
            (&b).read_exact(&mut buf).unwrap();
            thread::sleep(Duration::from_millis(10));
            (&b).write_all(&buf).unwrap();
        });
        a.set_nonblocking(true).unwrap();
        let a = AsyncFd::new(a).unwrap();
        a.write_with(|mut s| s.write(b"pong")).await.unwrap();
        let mut buf = [0; 4];
        let mut got = 0;
        while got < 4 {
            got += a.read_with(|mut s| s.read(&mut buf[got..])).await.unwrap();
        }
        assert_eq!(&buf, b"pong");
        assert!(!spinner.is_finished(), "the busy task is still spinning");

        stop.set(true);
        assert!(
            spinner.await.unwrap(),
            "the spinner was stopped, not timed out"
        );
        echo.join().unwrap();
    });
}

/// `yield_now` waits for a look at epoll: a task yielding alone costs one `epoll_wait`
/// per yield, where a task that wakes itself costs one per 64 polls.
#[test]
fn each_yield_waits_for_a_look_at_epoll() {
    util::watchdog(util::LIMIT, || {
        const STEPS: u64 = 640;
        let rt = Runtime::new().unwrap();
        let before = rt.stats();
        rt.block_on(async {
            for _ in 0..STEPS {
                yield_now().await;
            }
        });
        let yielded = rt.stats().epoll_waits - before.epoll_waits;
        let before = rt.stats();
        rt.block_on(async {
            for _ in 0..STEPS {
                SelfWake(false).await;
            }
        });
        let woke = rt.stats().epoll_waits - before.epoll_waits;
        assert!(yielded > STEPS, "{yielded} epoll_waits for {STEPS} yields");
        assert!(
            woke <= STEPS / 64 + 3,
            "{woke} epoll_waits for {STEPS} self-wakes"
        );
    });
}

/// A socket that becomes readable while a task yields in a loop is served after that
/// task's next yield, not after up to 64 of them: a long job cut into slices delays I/O
/// by one slice.
#[test]
fn a_yielding_task_lets_a_ready_socket_in_at_its_next_yield() {
    util::run(|| async {
        let (ours, theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let ours = AsyncFd::new(ours).unwrap();
        let stop = Rc::new(Cell::new(false));
        let (spins, wrote_at) = (Rc::new(Cell::new(0u32)), Rc::new(Cell::new(0u32)));
        let spinner = {
            let (spins, wrote_at) = (spins.clone(), wrote_at.clone());
            spawn_spinner(stop.clone(), move || {
                spins.set(spins.get() + 1);
                // The data arrives during the spinner's 10th slice, from this thread: so
                // the count of slices between its arrival and its reading is exact.
                if spins.get() == 10 {
                    (&theirs).write_all(b"x").unwrap();
                    wrote_at.set(spins.get());
                }
                yield_now()
            })
        };
        let mut buf = [0; 1];
        // This future waits on the socket before the spinner first runs (it was queued
        // first), so the data finds it waiting.
        ours.read_with(|mut s| s.read(&mut buf)).await.unwrap();
        let late = spins.get() - wrote_at.get();
        stop.set(true);
        assert!(
            spinner.await.unwrap(),
            "the spinner was stopped, not timed out"
        );
        assert_eq!(wrote_at.get(), 10);
        assert!(
            late <= 1,
            "the read waited {late} more slices of the spinner"
        );
    });
}

/// Polled with a waker that is not its task's (another executor's, inside a task), a
/// yield wakes that waker at once: set aside until the runtime turns, it would hang an
/// executor that blocks the runtime's thread.
#[test]
fn a_yield_polled_with_a_foreign_waker_wakes_it_at_once() {
    struct Count(AtomicUsize);
    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    util::run(|| async {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut yielding = Box::pin(yield_now());
        let mut cx = Context::from_waker(&waker);
        assert!(yielding.as_mut().poll(&mut cx).is_pending());
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken at once");
        assert!(yielding.as_mut().poll(&mut cx).is_ready());
    });
}

/// A task that yielded when its `block_on` returned runs at the next `block_on`; one
/// that yielded when the runtime is dropped is dropped with it.
#[test]
fn a_yield_pending_at_the_end_of_block_on_is_kept_or_dropped() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        let steps = Rc::new(Cell::new(0));
        let counted = steps.clone();
        let task = rt.spawn(async move {
            counted.set(1);
            yield_now().await;
            counted.set(2);
        });
        // The task was queued before the block_on future: it runs first, yields, and
        // the block_on future completes before the runtime looks at epoll again.
        rt.block_on(async {});
        assert_eq!(steps.get(), 1);
        rt.block_on(task).unwrap();
        assert_eq!(steps.get(), 2);

        let (dropped, guard) = drop_flag();
        drop(rt.spawn(async move {
            let _guard = guard;
            loop {
                yield_now().await;
            }
        }));
        rt.block_on(async {});
        assert!(!dropped.get());
        drop(rt);
        assert!(
            dropped.get(),
            "the yielded task was dropped with the runtime"
        );
    });
}

// ---------------------------------------------------------------------------------------
// A Runtime across several block_on calls, and after it is dropped
// ---------------------------------------------------------------------------------------

#[test]
fn runtime_spawn_before_block_on_runs_at_next_block_on() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        let handle = rt.spawn(async move {
            flag.set(true);
            3
        });
        // A task that nobody awaits runs too.
        let (detached_ran, detached_flag) = (Rc::new(Cell::new(false)), ran.clone());
        let detached = detached_ran.clone();
        drop(rt.spawn(async move {
            assert!(detached_flag.get());
            detached.set(true);
        }));
        assert!(!ran.get(), "nothing runs before block_on");
        assert_eq!(rt.block_on(handle).unwrap(), 3);
        rt.block_on(yield_now());
        assert!(detached_ran.get());
    });
}

#[test]
fn pending_tasks_resume_at_the_next_block_on() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();

        // A task waiting on a timer when the first block_on returns.
        let (napper, started) = rt.block_on(async {
            let started = Instant::now();
            let napper = spawn(async {
                sleep(Duration::from_millis(20)).await;
                "rested"
            });
            yield_now().await;
            (napper, started)
        });
        assert!(!napper.is_finished());

        // Tasks woken while no block_on runs: from this thread and from another one.
        let here = Signal::default();
        let there = Signal::default();
        let (wait_here, wait_there) = (rt.spawn(here.wait()), rt.spawn(there.wait()));
        rt.block_on(yield_now());
        assert!(!wait_here.is_finished() && !wait_there.is_finished());
        here.fire();
        let firing = there.clone();
        thread::spawn(move || firing.fire()).join().unwrap();

        rt.block_on(async {
            wait_here.await.unwrap();
            wait_there.await.unwrap();
            assert_eq!(napper.await.unwrap(), "rested");
        });
        assert!(started.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn dropping_the_runtime_drops_pending_tasks() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();

        // Polled, and pending on a timer, on I/O and on nothing at all.
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let (timer_dropped, timer_guard) = drop_flag();
        let (io_dropped, io_guard) = drop_flag();
        let (idle_dropped, idle_guard) = drop_flag();
        let mut handles = rt.block_on(async move {
            let a = AsyncFd::new(a).unwrap();
            let handles = vec![
                spawn(async move {
                    let _guard = timer_guard;
                    sleep(Duration::from_secs(3600)).await;
                }),
                spawn(async move {
                    let _guard = io_guard;
                    let mut byte = [0];
                    let _ = a.read_with(|mut s| s.read(&mut byte)).await;
                }),
                spawn(async move {
                    let _guard = idle_guard;
                    pending::<()>().await;
                }),
            ];
            for _ in 0..3 {
                yield_now().await;
            }
            handles
        });
        let flags = [timer_dropped, io_dropped, idle_dropped];

        // Never polled: spawned after the last block_on.
        let (unpolled_dropped, guard) = drop_flag();
        let unpolled = rt.spawn(async move {
            let _guard = guard;
        });
        assert!(handles.iter().all(|handle| !handle.is_finished()));
        assert!(flags.iter().all(|flag| !flag.get()));
        assert!(!unpolled_dropped.get());

        drop(rt);
        assert!(unpolled_dropped.get());
        assert!(flags.iter().all(|flag| flag.get()), "every future dropped");

        // Their handles report cancellation, no runtime needed.
        handles.push(unpolled);
        for handle in &mut handles {
            assert!(handle.is_finished());
            match poll_once(handle) {
                Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
                other => panic!("expected a cancelled task, got {other:?}"),
            }
        }
    });
}

/// Two runtimes on one thread: a task of the idle one, woken while the other runs, is
/// queued on its own runtime (for its next `block_on`), never on the running one, even
/// where both have a task under the same slab key.
#[test]
fn wake_reaches_its_own_runtime_when_another_runs() {
    util::watchdog(util::LIMIT, || {
        let idle = Runtime::new().unwrap();
        let signal = Rc::new(Cell::new(false));
        let waker = Rc::new(Cell::new(None::<Waker>));
        let task = {
            let (signal, waker) = (signal.clone(), waker.clone());
            idle.spawn(poll_fn(move |cx| {
                waker.set(Some(cx.waker().clone()));
                if signal.get() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }))
        };
        idle.block_on(yield_now());
        let waker = waker.take().expect("the task ran");

        let other_polls = epoll_rt::block_on(async {
            // The first task of a fresh runtime: the same slab key as `task`.
            let polls = Rc::new(Cell::new(0));
            let counter = polls.clone();
            let neighbour = spawn(poll_fn(move |_| {
                counter.set(counter.get() + 1);
                Poll::<()>::Pending
            }));
            yield_now().await;
            signal.set(true);
            waker.wake();
            for _ in 0..10 {
                yield_now().await;
            }
            neighbour.abort();
            polls.get()
        });
        assert_eq!(
            other_polls, 1,
            "the other runtime's task was polled by a stray wake"
        );
        idle.block_on(task).unwrap();
    });
}

/// Wakers of a dropped runtime's tasks (spawned, and the `block_on` future) may be woken
/// and cloned anywhere: nothing happens, and another runtime is not disturbed.
#[test]
fn waker_outliving_its_runtime_is_harmless() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        let (main_waker, task_waker) =
            rt.block_on(async { (current_waker().await, pending_task_waker().await) });
        drop(rt);

        for waker in [main_waker, task_waker] {
            // On this thread, outside any runtime.
            waker.wake_by_ref();
            let copy = waker.clone();
            assert!(copy.will_wake(&waker));
            copy.wake();

            // On this thread, while another runtime runs: that runtime's future is polled
            // only for its own wakes. A helper task wakes it once, after a few turns in
            // which a stray wake would have polled it.
            let mut polls = 0;
            epoll_rt::block_on(async {
                let own = Rc::new(Cell::new(None::<Waker>));
                let helper = {
                    let own = own.clone();
                    spawn(async move {
                        for _ in 0..10 {
                            yield_now().await;
                        }
                        own.take().expect("the future stored its waker").wake();
                    })
                };
                poll_fn(|cx| {
                    polls += 1;
                    if polls == 1 {
                        waker.wake_by_ref();
                        let copy = waker.clone();
                        copy.wake();
                        own.set(Some(cx.waker().clone()));
                    }
                    if helper.is_finished() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
            });
            assert_eq!(polls, 2, "the first poll, and the one the helper caused");

            // On another thread.
            let remote = waker.clone();
            thread::spawn(move || {
                remote.wake_by_ref();
                let copy = remote.clone();
                copy.wake();
                remote.wake();
            })
            .join()
            .unwrap();
            waker.wake();
        }
    });
}

/// The waker of a task spawned on the current runtime, which stays pending.
async fn pending_task_waker() -> Waker {
    let slot = Rc::new(Cell::new(None));
    let filler = slot.clone();
    drop(spawn(async move {
        filler.set(Some(current_waker().await));
        pending::<()>().await;
    }));
    // The task was queued before us, so it runs during this yield.
    yield_now().await;
    slot.take().expect("the task ran during the yield")
}

/// Many tasks woken from many threads: the remote queue sees pushes while the runtime
/// drains it, which is where a wake can slip between clearing the "rung" flag and
/// emptying the queue.
#[test]
fn many_tasks_woken_from_many_threads() {
    const THREADS: usize = 4;
    const TASKS: usize = 64;
    const ROUNDS: usize = 200;
    util::watchdog(Duration::from_secs(15), || {
        let done: Arc<Vec<AtomicUsize>> =
            Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect());
        let wakers: Arc<Vec<Mutex<Option<Waker>>>> =
            Arc::new((0..TASKS).map(|_| Mutex::new(None)).collect());
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (done, wakers) = (done.clone(), wakers.clone());
                thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        for i in 0..TASKS {
                            done[i].fetch_add(1, Ordering::SeqCst);
                            if let Some(waker) = wakers[i].lock().unwrap().as_ref() {
                                waker.wake_by_ref();
                            }
                        }
                    }
                })
            })
            .collect();
        epoll_rt::block_on(async move {
            let tasks: Vec<_> = (0..TASKS)
                .map(|i| {
                    let (done, wakers) = (done.clone(), wakers.clone());
                    spawn(poll_fn(move |cx| {
                        *wakers[i].lock().unwrap() = Some(cx.waker().clone());
                        if done[i].load(Ordering::SeqCst) == THREADS * ROUNDS {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    }))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        for thread in threads {
            thread.join().unwrap();
        }
    });
}
