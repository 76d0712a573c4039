//! One runtime per thread: how a server built on this single-threaded runtime uses more
//! than one core.
//!
//! Each thread gets its own runtime and runs its own copy of the server future, built by a
//! closure; nothing is shared between the runtimes. With listeners bound by
//! [`AsyncTcpListener::bind_reuseport`](crate::AsyncTcpListener::bind_reuseport), the
//! kernel spreads incoming connections across the threads. This is the "thread per core"
//! design; tokio's multi-threaded runtime instead shares one task pool between threads and
//! moves tasks between them (work stealing), which balances uneven load at the cost of
//! making every task `Send` and every wake an atomic operation.

use std::future::Future;
use std::io;
use std::panic::resume_unwind;
use std::sync::Arc;
use std::thread;

/// Runs `make(i)` for `i` in `0..threads`, each on a new thread with its own runtime, and
/// returns their outputs in order once all have finished.
///
/// The closure is called on the thread that will run the future, so the future need not
/// be `Send`; only its output crosses back.
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// let served = epoll_rt::block_on_threads(2, |i| async move {
///     // Each thread binds its own listener and serves one client of its own.
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let client = epoll_rt::spawn(AsyncTcpStream::connect(listener.local_addr()?));
///     let (_stream, _) = listener.accept().await?;
///     client.await??;
///     Ok::<usize, std::io::Error>(i)
/// })?;
/// assert_eq!(served.into_iter().collect::<Result<Vec<_>, _>>()?, vec![0, 1]);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// Fails if a thread cannot be started (threads already started keep running). A panic on any thread is passed on to the caller
/// once every thread has finished.
pub fn block_on_threads<F, Fut>(threads: usize, make: F) -> io::Result<Vec<Fut::Output>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    let make = Arc::new(make);
    let mut handles = Vec::with_capacity(threads);
    for i in 0..threads {
        let make = make.clone();
        let handle = thread::Builder::new()
            .name(format!("epoll-rt-{i}"))
            .spawn(move || super::block_on(make(i)))?;
        handles.push(handle);
    }
    // Join every thread before passing a panic on, so none is left running detached.
    let mut outputs = Vec::with_capacity(threads);
    let mut first_panic = None;
    for handle in handles {
        match handle.join() {
            Ok(output) => outputs.push(output),
            Err(panic) => {
                first_panic.get_or_insert(panic);
            }
        }
    }
    if let Some(panic) = first_panic {
        resume_unwind(panic);
    }
    Ok(outputs)
}
