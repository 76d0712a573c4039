//! A runtime leaves nothing behind in the process: dropped with a thousand tasks pending on
//! sockets, timers and each other, it closes every descriptor it opened, and no thread
//! outlives it (nor the runtimes of `block_on_threads`, nor the threads of a blocking pool).
//!
//! Descriptors (`/proc/self/fd`) and threads (`/proc/self/task`) are counted for the whole
//! process, so this file holds a single test: another test running alongside would open
//! descriptors and start threads of its own. `tests/fd_leak.rs` covers the descriptors of
//! an echo server and its clients; this test covers many tasks in every waiting state,
//! repeated runtimes, and threads.

mod util;

use std::future::{pending, poll_fn};
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::{interval, sleep, timeout};
use epoll_rt::{
    AsyncFd, AsyncTcpListener, AsyncTcpStream, Runtime, spawn, spawn_blocking, yield_now,
};

/// Tasks of the big runtime.
const TASKS: usize = 1000;

/// Runtimes made and dropped one after the other.
const RUNTIMES: usize = 100;

/// Number of threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .count()
}

/// The number of threads once it has come down to `expected`, or after 2 s.
///
/// A joined thread can still be listed for a moment after `join` returns: the kernel wakes
/// the joiner as the exiting thread lets go of its memory (clearing its thread id), a step
/// before it removes the thread from `/proc` (seen once in about 16 loaded runs). A thread
/// truly left behind stays listed, and the count stays high.
fn threads_settled(expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let count = threads();
        if count <= expected || Instant::now() >= deadline {
            return count;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Spawns `TASKS` tasks that wait in every way a task can, all holding descriptors or
/// timers, and returns the wakers of some, to be woken from another thread later.
async fn spawn_waiting_tasks() -> io::Result<Vec<Waker>> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let slot = Arc::new(Mutex::new(Vec::new()));
    for i in 0..TASKS {
        match i % 5 {
            // A read on a socket pair whose other end the task holds too, silent.
            0 => {
                let (a, b) = UnixStream::pair()?;
                a.set_nonblocking(true)?;
                let a = AsyncFd::new(a)?;
                spawn(async move {
                    let _peer = b;
                    let mut byte = [0u8];
                    let _ = a.read_with(|mut s| s.read(&mut byte)).await;
                });
            }
            // A TCP connection to the listener, waiting for an echo that never comes.
            1 => {
                spawn(async move {
                    let mut stream = AsyncTcpStream::connect(addr).await?;
                    stream.write_all(b"anyone?").await?;
                    let mut buf = [0u8; 8];
                    stream.read(&mut buf).await
                });
            }
            // A timer, an interval, a timeout around nothing.
            2 => {
                spawn(async move {
                    let mut ticks = interval(Duration::from_secs(3600));
                    ticks.tick().await;
                    let _ = timeout(Duration::from_secs(3600), pending::<()>()).await;
                    sleep(Duration::from_secs(3600)).await;
                });
            }
            // Parked with its waker handed out.
            3 => {
                let slot = slot.clone();
                spawn(async move {
                    let waker = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
                    slot.lock().expect("not poisoned").push(waker);
                    pending::<()>().await;
                });
            }
            // Always ready.
            _ => {
                spawn(async {
                    loop {
                        yield_now().await;
                    }
                });
            }
        }
    }
    // The listener accepts some of the connections and holds them, then waits for more.
    spawn(async move {
        let mut held = Vec::new();
        while let Ok(connection) = listener.accept().await {
            held.push(connection);
        }
    });
    for _ in 0..5 {
        yield_now().await;
    }
    let wakers = std::mem::take(&mut *slot.lock().expect("not poisoned"));
    Ok(wakers)
}

#[test]
fn a_dropped_runtime_leaves_no_descriptor_and_no_thread() -> io::Result<()> {
    util::watchdog(util::LIMIT, || {
        let fds = util::open_fds();
        let threads_before = threads();

        // 1. A runtime with a thousand waiting tasks, dropped; their wakers woken from
        // another thread afterwards.
        let rt = Runtime::new()?;
        let wakers = rt.block_on(spawn_waiting_tasks())?;
        assert!(!wakers.is_empty());
        assert!(util::open_fds() > fds + TASKS / 5);
        assert_eq!(
            threads(),
            threads_before,
            "a runtime started a thread unasked"
        );
        drop(rt);
        assert_eq!(
            util::open_fds(),
            fds,
            "descriptors left by a dropped runtime"
        );
        thread::spawn(move || wakers.into_iter().for_each(Waker::wake))
            .join()
            .expect("waking thread");
        assert_eq!(util::open_fds(), fds);

        // 2. Runtimes made and dropped one after another, each with a few tasks left.
        for _ in 0..RUNTIMES {
            epoll_rt::block_on(async {
                let (a, b) = UnixStream::pair()?;
                a.set_nonblocking(true)?;
                let a = AsyncFd::new(a)?;
                spawn(async move {
                    let _peer = b;
                    let mut byte = [0u8];
                    let _ = a.read_with(|mut s| s.read(&mut byte)).await;
                });
                spawn(sleep(Duration::from_secs(3600)));
                yield_now().await;
                Ok::<_, io::Error>(())
            })?;
        }
        assert_eq!(
            util::open_fds(),
            fds,
            "descriptors left by repeated runtimes"
        );

        // 3. One runtime per thread: the threads are gone when `block_on_threads` returns.
        let served = epoll_rt::block_on_threads(4, |i| async move {
            let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
            let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
            let (mut server, _) = listener.accept().await?;
            client.write_all(&[i as u8]).await?;
            let mut byte = [0u8];
            server.read_exact(&mut byte).await?;
            spawn(sleep(Duration::from_secs(3600)));
            Ok::<u8, io::Error>(byte[0])
        })?;
        let served: Vec<u8> = served.into_iter().collect::<io::Result<_>>()?;
        assert_eq!(served, [0, 1, 2, 3]);

        // 4. A runtime with blocking threads, idle ones and one still running a closure
        // as the runtime is dropped: the drop ends the idle ones and waits for the other.
        let rt = Runtime::new()?;
        rt.block_on(async {
            let done: Vec<_> = (0..4)
                .map(|_| spawn_blocking(|| thread::sleep(Duration::from_millis(10))))
                .collect();
            for handle in done {
                handle.await.expect("the closure returned");
            }
            spawn_blocking(|| thread::sleep(Duration::from_millis(50)));
        });
        assert!(threads() > threads_before);
        drop(rt);
        assert_eq!(
            threads_settled(threads_before),
            threads_before,
            "blocking threads left behind"
        );

        assert_eq!(util::open_fds(), fds, "descriptors left in the end");
        assert_eq!(
            threads_settled(threads_before),
            threads_before,
            "threads left behind"
        );
        Ok(())
    })
}
