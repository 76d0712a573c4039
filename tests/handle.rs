//! Integration tests of `runtime::Handle`: spawning on a runtime from other threads. Many
//! threads spawn at once and every task runs exactly once; a task's outcome (output or
//! panic) reaches a join handle awaited on another thread; a runtime dropped with tasks
//! still to run cancels their handles, and refuses later spawns.
//!
//! Every body runs under `util::watchdog`.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use epoll_rt::Runtime;
use epoll_rt::runtime::{Handle, RemoteJoinHandle};
use epoll_rt::time::sleep;

/// Spawning threads.
const THREADS: usize = 8;

/// Tasks each thread spawns.
const PER_THREAD: usize = 500;

#[test]
fn a_handle_is_send_sync_and_clone_and_its_join_handle_is_send() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<Handle>();
    send::<RemoteJoinHandle<u32>>();
}

/// Eight threads spawn at once, while the runtime runs, and await their tasks' outputs
/// on runtimes of their own: every task runs exactly once, and every output arrives. A
/// spawn the runtime missed (no ring of its eventfd, or a drain that lost one) leaves a
/// thread waiting forever, and the watchdog fails the test.
#[test]
fn spawns_from_8_threads_at_once_each_run_exactly_once() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("runtime");
        let runs: Arc<Vec<AtomicUsize>> = Arc::new(
            (0..THREADS * PER_THREAD)
                .map(|_| AtomicUsize::new(0))
                .collect(),
        );
        let finished = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (handle, runs, finished, start) =
                    (rt.handle(), runs.clone(), finished.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let tasks: Vec<_> = (0..PER_THREAD)
                        .map(|i| {
                            let id = t * PER_THREAD + i;
                            let runs = runs.clone();
                            handle
                                .spawn(async move {
                                    runs[id].fetch_add(1, Ordering::SeqCst);
                                    epoll_rt::yield_now().await;
                                    id
                                })
                                .expect("the runtime is alive")
                        })
                        .collect();
                    // Awaited on this thread, on a runtime of its own.
                    let outputs = epoll_rt::block_on(async {
                        let mut outputs = Vec::new();
                        for task in tasks {
                            outputs.push(task.await.expect("the task returned"));
                        }
                        outputs
                    });
                    finished.fetch_add(1, Ordering::SeqCst);
                    outputs
                })
            })
            .collect();
        // The runtime runs until every thread has its outputs.
        rt.block_on(async {
            while finished.load(Ordering::SeqCst) < THREADS {
                sleep(Duration::from_millis(1)).await;
            }
        });
        for (t, thread) in threads.into_iter().enumerate() {
            let outputs = thread.join().expect("spawning thread");
            let expected: Vec<_> = (t * PER_THREAD..(t + 1) * PER_THREAD).collect();
            assert_eq!(outputs, expected);
        }
        for (id, runs) in runs.iter().enumerate() {
            assert_eq!(
                runs.load(Ordering::SeqCst),
                1,
                "task {id} ran a wrong number of times"
            );
        }
        assert_eq!(rt.stats().tasks_spawned, (THREADS * PER_THREAD) as u64);
    });
}

#[test]
fn a_panic_reaches_the_join_handle_as_an_error() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("runtime");
        let handle = rt.handle();
        let task = thread::spawn(move || handle.spawn(async { panic!("boom") }))
            .join()
            .expect("spawning thread")
            .expect("the runtime is alive");
        let err = rt.block_on(task).unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "task panicked: boom");
    });
}

#[test]
fn a_dropped_runtime_cancels_pending_handles_and_refuses_spawns() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("runtime");
        let handle = rt.handle();
        // A task that runs, one that waits forever, and one left unspawned: sent after the
        // last block_on.
        let ran = handle.spawn(async { 1 }).expect("the runtime is alive");
        let waiting = handle.spawn(std::future::pending::<()>()).expect("alive");
        rt.block_on(epoll_rt::yield_now());
        let unspawned = handle.spawn(async { 2 }).expect("alive");
        drop(rt);
        let outcomes = thread::spawn(move || {
            epoll_rt::block_on(async { (ran.await, waiting.await, unspawned.await) })
        })
        .join()
        .expect("awaiting thread");
        assert_eq!(outcomes.0.unwrap(), 1);
        assert!(outcomes.1.unwrap_err().is_cancelled());
        assert!(outcomes.2.unwrap_err().is_cancelled());
        let err = handle.spawn(async {}).unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
    });
}
