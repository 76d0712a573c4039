//! The life and death of a runtime and its tasks, at scale: a thousand pending futures
//! dropped with their runtime, a thousand panicking tasks beside a thousand working ones,
//! and wakers woken from other threads while their runtime is being dropped.
//!
//! `tests/executor.rs` checks each of these once, with a few tasks; this file checks them
//! with many tasks in every state at once, and with the awkward destructors (one that
//! panics, one that wakes another task, one that tries to spawn). What is process-wide
//! (open descriptors, threads) is counted in `tests/lifecycle_process.rs`.

mod util;

use std::cell::Cell;
use std::future::{Future, pending, poll_fn};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use epoll_rt::time::sleep;
use epoll_rt::{AsyncFd, JoinHandle, Runtime, spawn, yield_now};

/// Panics of this test start with this; the panic hook keeps them quiet.
const PLANNED: &str = "planned panic";

/// Silences the panics this file causes on purpose (a thousand messages would bury a real
/// failure), and leaves every other panic to the default hook.
fn quiet_planned_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !text.is_some_and(|t| t.starts_with(PLANNED)) {
                default(info);
            }
        }));
    });
}

/// Counts one drop in the counter it shares.
struct DropCount(Rc<Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Panics when dropped: a destructor that fails.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{PLANNED}: in a destructor");
    }
}

/// Tries to spawn when dropped, which outside a running runtime panics.
struct SpawnOnDrop;

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        drop(spawn(async {}));
    }
}

/// Wakes a task when dropped.
struct WakeOnDrop(Rc<Cell<Option<Waker>>>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if let Some(waker) = self.0.take() {
            waker.wake();
        }
    }
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// A future that stores its task's waker in `slot` at every poll and never completes.
fn pending_with_waker(slot: Rc<Cell<Option<Waker>>>) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        slot.set(Some(cx.waker().clone()));
        Poll::Pending
    })
}

/// How the tasks of [`a_dropped_runtime_drops_a_thousand_pending_futures`] wait when
/// their runtime is dropped.
#[derive(Clone, Copy, Debug)]
enum Waiting {
    /// On a read from a socket whose peer stays silent.
    Io,
    /// On a timer an hour away.
    Timer,
    /// In the run queue: the task yields forever.
    Queued,
    /// Woken from another thread after the last `block_on` returned: in the remote queue.
    RemotelyWoken,
    /// On the `JoinHandle` of another pending task (both counted).
    Joining,
}

const WAITING: [Waiting; 5] = [
    Waiting::Io,
    Waiting::Timer,
    Waiting::Queued,
    Waiting::RemotelyWoken,
    Waiting::Joining,
];

#[test]
fn a_dropped_runtime_drops_a_thousand_pending_futures() {
    /// Tasks polled at least once before the drop.
    const POLLED: usize = 900;
    /// Tasks spawned after the last `block_on`, never polled.
    const UNPOLLED: usize = 100;
    quiet_planned_panics();
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        let drops = Rc::new(Cell::new(0));
        let mut peers = Vec::new();
        let remote_wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let mut futures = 0;

        let mut handles: Vec<JoinHandle<()>> = rt.block_on(async {
            let mut handles = Vec::new();
            // The waker slot of the previous task: some destructors wake it.
            let mut previous = Rc::new(Cell::new(None));
            for i in 0..POLLED {
                let count = DropCount(drops.clone());
                let slot = Rc::new(Cell::new(None));
                // At most one destructor per future may panic: a second panic while the
                // first unwinds would abort the process.
                // (Not `then_some`, which would build, and drop, a guard every time.)
                let odd = (
                    if i % 50 == 1 { Some(PanicOnDrop) } else { None },
                    if i % 50 == 2 { Some(SpawnOnDrop) } else { None },
                    WakeOnDrop(previous.clone()),
                );
                futures += 1;
                let handle = match WAITING[i % WAITING.len()] {
                    Waiting::Io => {
                        let (a, b) = UnixStream::pair().unwrap();
                        a.set_nonblocking(true).unwrap();
                        peers.push(b);
                        let a = AsyncFd::new(a).unwrap();
                        spawn(async move {
                            let _guards = (count, odd);
                            let mut byte = [0u8];
                            let _ = a.read_with(|mut s| s.read(&mut byte)).await;
                            unreachable!("the peer never writes");
                        })
                    }
                    Waiting::Timer => spawn(async move {
                        let _guards = (count, odd);
                        sleep(Duration::from_secs(3600)).await;
                    }),
                    Waiting::Queued => spawn(async move {
                        let _guards = (count, odd);
                        loop {
                            yield_now().await;
                        }
                    }),
                    Waiting::RemotelyWoken => {
                        let remote_wakers = remote_wakers.clone();
                        spawn(async move {
                            let _guards = (count, odd);
                            let waker = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
                            remote_wakers.lock().unwrap().push(waker);
                            pending::<()>().await;
                        })
                    }
                    Waiting::Joining => {
                        let inner_count = DropCount(drops.clone());
                        futures += 1;
                        let inner = spawn(async move {
                            let _guard = inner_count;
                            pending::<()>().await;
                        });
                        spawn(async move {
                            let _guards = (count, odd);
                            let _ = inner.await;
                            unreachable!("the inner task never finishes");
                        })
                    }
                };
                handles.push(handle);
                // A companion that only parks with its waker, for the next task's
                // destructor to wake: a wake that lands in the middle of the shutdown.
                let companion = slot.clone();
                let companion_count = DropCount(drops.clone());
                futures += 1;
                handles.push(spawn(async move {
                    let _guard = companion_count;
                    pending_with_waker(companion).await;
                }));
                previous = slot;
            }
            // Let every task run until it waits.
            for _ in 0..3 {
                yield_now().await;
            }
            handles
        });

        // Wakes from another thread while no block_on runs: they wait in the remote queue.
        let wakers = std::mem::take(&mut *remote_wakers.lock().unwrap());
        assert_eq!(wakers.len(), POLLED / WAITING.len());
        thread::spawn(move || wakers.into_iter().for_each(Waker::wake))
            .join()
            .unwrap();

        // Tasks that never run.
        for _ in 0..UNPOLLED {
            let count = DropCount(drops.clone());
            futures += 1;
            handles.push(rt.spawn(async move {
                let _guard = count;
                unreachable!("spawned after the last block_on");
            }));
        }
        assert_eq!(drops.get(), 0, "a future was dropped before its runtime");
        assert!(handles.iter().all(|h| !h.is_finished()));

        // Every future is dropped with the runtime, the odd destructors included.
        drop(rt);
        assert_eq!(
            drops.get(),
            futures,
            "futures not dropped with their runtime"
        );
        for (i, handle) in handles.iter_mut().enumerate() {
            match poll_once(handle) {
                Poll::Ready(Err(e)) if e.is_cancelled() => {}
                other => panic!("task {i}: expected a cancelled task, got {other:?}"),
            }
        }

        // The thread can run a runtime again, and the peers see their sockets closed.
        assert_eq!(
            epoll_rt::block_on(async { spawn(async { 7 }).await.unwrap() }),
            7
        );
        for mut peer in peers {
            let mut byte = [0u8];
            assert_eq!(
                peer.read(&mut byte).unwrap(),
                0,
                "the task's socket was closed"
            );
        }
    });
}

/// What one of the working tasks does.
async fn work(i: usize) -> usize {
    match i % 4 {
        0 => {
            for _ in 0..3 {
                yield_now().await;
            }
            i
        }
        1 => {
            sleep(Duration::from_micros((i % 7) as u64 * 300)).await;
            i
        }
        2 => {
            // Its number, through a socket pair written by a task of its own.
            let (a, b) = UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            let a = AsyncFd::new(a).unwrap();
            spawn(async move {
                yield_now().await;
                (&b).write_all(&(i as u64).to_le_bytes()).unwrap();
            });
            let mut bytes = [0u8; 8];
            let mut got = 0;
            while got < 8 {
                got += a
                    .read_with(|mut s| s.read(&mut bytes[got..]))
                    .await
                    .unwrap();
            }
            u64::from_le_bytes(bytes) as usize
        }
        _ => spawn(async move {
            yield_now().await;
            i
        })
        .await
        .unwrap(),
    }
}

/// What one of the panicking tasks does before it panics.
async fn fail(i: usize) {
    match i % 4 {
        0 => panic!("{PLANNED} {i} at once"),
        1 => {
            yield_now().await;
            panic!("{PLANNED} {i} after a yield");
        }
        2 => {
            sleep(Duration::from_micros((i % 5) as u64 * 200)).await;
            panic!("{PLANNED} {i} after a sleep");
        }
        _ => {
            // A panic in a task of its own, passed on.
            let inner = spawn(async move { panic!("{PLANNED} {i} in a nested task") });
            resume_unwind(inner.await.unwrap_err().into_panic());
        }
    }
}

#[test]
fn a_thousand_panicking_tasks_leave_a_thousand_others_running() {
    const EACH: usize = 1000;
    quiet_planned_panics();
    util::run(|| async {
        let mut workers = Vec::new();
        let mut failures = Vec::new();
        for i in 0..EACH {
            workers.push(spawn(work(i)));
            let failing = spawn(fail(i));
            // Half are awaited, half detached: nobody looks at their panic.
            if i % 2 == 0 {
                failures.push((i, failing));
            }
        }
        for (i, failing) in failures {
            let err = failing.await.unwrap_err();
            assert!(err.is_panic(), "task {i}: {err:?}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("{PLANNED} {i} ")),
                "task {i}: {text}"
            );
        }
        for (i, worker) in workers.into_iter().enumerate() {
            assert_eq!(worker.await.unwrap(), i);
        }
        // The runtime still has its timers and I/O.
        sleep(Duration::from_millis(1)).await;
        assert_eq!(work(2).await, 2);
    });
}

/// Wakes pour in from other threads while the runtime runs, while its last `block_on`
/// returns, while it is dropped, and after: the ones that find it running queue their task,
/// the ones that find it dropping or gone do nothing, and none of them crashes. The last
/// copies of the wakers are dropped on the waking threads.
#[test]
fn wakers_woken_from_other_threads_while_their_runtime_is_dropped() {
    /// Threads that wake. Each makes rounds (a wake of every waker per round) until the
    /// runtime has been dropped, at most `MAX_ROUNDS`, then `AFTER_DROP` more.
    const THREADS: usize = 4;
    const MAX_ROUNDS: usize = 200_000;
    const AFTER_DROP: usize = 50;
    /// Rounds every thread has made before the last `block_on` returns.
    const BEFORE_DROP: usize = 50;
    /// Tasks that count their polls and stay pending.
    const TASKS: usize = 100;
    util::watchdog(util::LIMIT, || {
        let rounds: Arc<Vec<AtomicUsize>> =
            Arc::new((0..THREADS).map(|_| AtomicUsize::new(0)).collect());
        let dropped = Arc::new(AtomicBool::new(false));
        let polls = Rc::new(Cell::new(0));
        let rt = Runtime::new().unwrap();

        // The tasks, and a watcher that finishes once every thread has made enough rounds:
        // it too is woken by the threads, as it is one of the wakers they hold.
        let (watcher, wakers) = rt.block_on(async {
            let slots: Vec<_> = (0..=TASKS).map(|_| Rc::new(Cell::new(None))).collect();
            let watcher = {
                let (slot, rounds) = (slots[TASKS].clone(), rounds.clone());
                spawn(poll_fn(move |cx| {
                    slot.set(Some(cx.waker().clone()));
                    if rounds
                        .iter()
                        .all(|r| r.load(Ordering::SeqCst) >= BEFORE_DROP)
                    {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }))
            };
            for slot in &slots[..TASKS] {
                let (slot, polls) = (slot.clone(), polls.clone());
                drop(spawn(poll_fn(move |cx| {
                    polls.set(polls.get() + 1);
                    slot.set(Some(cx.waker().clone()));
                    Poll::<()>::Pending
                })));
            }
            yield_now().await;
            let wakers: Vec<Waker> = slots
                .iter()
                .map(|s| s.take().expect("the task ran"))
                .collect();
            (watcher, wakers)
        });
        let first_polls = polls.get();
        let wakers = Arc::new(wakers);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (wakers, rounds, dropped) = (wakers.clone(), rounds.clone(), dropped.clone());
                thread::spawn(move || {
                    let wake_all = || {
                        for waker in wakers.iter() {
                            waker.wake_by_ref();
                        }
                        rounds[t].fetch_add(1, Ordering::SeqCst);
                    };
                    while !dropped.load(Ordering::SeqCst) {
                        assert!(
                            rounds[t].load(Ordering::SeqCst) < MAX_ROUNDS,
                            "the runtime was never dropped"
                        );
                        wake_all();
                    }
                    for _ in 0..AFTER_DROP {
                        wake_all();
                    }
                    // Each thread ends holding copies; the last one drops the wakers there.
                    drop(wakers);
                })
            })
            .collect();
        drop(wakers);

        // Run while the wakes pour in, then drop the runtime while they still do.
        rt.block_on(watcher).unwrap();
        assert!(
            polls.get() > first_polls,
            "no task was woken from another thread"
        );
        let during = catch_unwind(AssertUnwindSafe(|| drop(rt)));
        dropped.store(true, Ordering::SeqCst);
        assert!(during.is_ok(), "dropping the runtime panicked");
        for thread in threads {
            thread.join().expect("a waking thread panicked");
        }

        // This thread runs a runtime again, undisturbed.
        assert_eq!(
            epoll_rt::block_on(async { spawn(async { 8 }).await.unwrap() }),
            8
        );
    });
}

/// What became of a [`SpawnWhenDropped`] and of the future it spawned.
#[derive(Default)]
struct Spawning {
    /// Set when the destructor starts.
    started: Cell<bool>,
    /// Set once the spawned future has been dropped.
    dropped: Cell<bool>,
    /// Set if the spawned future ran.
    ran: Cell<bool>,
}

/// Spawns a future when dropped: a destructor that hands work to the runtime.
struct SpawnWhenDropped(Rc<Spawning>);

impl SpawnWhenDropped {
    /// A guard, and where to see what became of it.
    fn new() -> (Self, Rc<Spawning>) {
        let spawning = Rc::new(Spawning::default());
        (Self(spawning.clone()), spawning)
    }
}

impl Drop for SpawnWhenDropped {
    fn drop(&mut self) {
        /// Marks the spawned future dropped.
        struct Dropped(Rc<Spawning>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.dropped.set(true);
            }
        }
        self.0.started.set(true);
        let guard = Dropped(self.0.clone());
        drop(spawn(async move {
            guard.0.ran.set(true);
        }));
    }
}

/// A task's destructor that calls `spawn` while its runtime is being dropped. That runtime
/// is not running then (its `block_on` borrows it), so no task can join it:
///
/// - on a thread running no runtime, `spawn` panics; the drop contains the panic like any
///   destructor's, drops the other tasks, and the future given to `spawn` is dropped unrun;
/// - the same while the thread unwinds from a panic of its own (a second panic, caught:
///   the process does not abort);
/// - inside another runtime's `block_on`, the task goes to that runtime, and runs there.
#[test]
fn a_destructor_that_spawns_while_its_runtime_is_dropped() {
    quiet_planned_panics();
    util::watchdog(util::LIMIT, || {
        // No runtime on the thread.
        let (guard, spawning) = SpawnWhenDropped::new();
        let drops = Rc::new(Cell::new(0));
        let rt = Runtime::new().unwrap();
        drop(rt.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        let sibling = DropCount(drops.clone());
        drop(rt.spawn(async move {
            let _guard = sibling;
            pending::<()>().await;
        }));
        rt.block_on(yield_now());
        let dropping = catch_unwind(AssertUnwindSafe(|| drop(rt)));
        assert!(dropping.is_ok(), "a panic escaped the runtime's drop");
        assert!(spawning.started.get(), "the task's destructor ran");
        assert!(
            spawning.dropped.get(),
            "the future given to spawn was dropped"
        );
        assert!(!spawning.ran.get(), "the future given to spawn never ran");
        assert_eq!(drops.get(), 1, "the other task was dropped too");

        // The same while the thread unwinds.
        let (guard, spawning) = SpawnWhenDropped::new();
        let unwinding = catch_unwind(AssertUnwindSafe(move || {
            let rt = Runtime::new().unwrap();
            drop(rt.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            }));
            panic!("{PLANNED}, with a runtime to drop");
        }));
        let payload = unwinding.expect_err("the planned panic");
        assert!(
            payload
                .downcast_ref::<String>()
                .is_some_and(|p| p.starts_with(PLANNED))
        );
        assert!(spawning.started.get() && spawning.dropped.get() && !spawning.ran.get());

        // Inside another runtime's block_on: the task joins that runtime.
        let (guard, spawning) = SpawnWhenDropped::new();
        let inner = Runtime::new().unwrap();
        drop(inner.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        let outer = Runtime::new().unwrap();
        outer.block_on(async move {
            drop(inner);
            assert!(spawning.started.get() && !spawning.ran.get());
            yield_now().await;
            assert!(spawning.ran.get(), "the outer runtime ran the spawned task");
            assert!(spawning.dropped.get());
        });
    });
}
