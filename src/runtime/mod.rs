//! The runtime: a single-threaded executor driving one reactor.
//!
//! [`Runtime::block_on`] is the whole event loop, in two steps repeated:
//!
//! 1. **Run ready tasks.** Pop task ids off the run queue and poll each task once. Polling
//!    may wake other tasks (they join the back of the queue) or register interest in I/O
//!    and timers (the task returns `Pending` and is not queued again until woken).
//! 2. **Park.** Ask the reactor for events: with a zero timeout if tasks are still queued
//!    (just a look, so I/O is never starved), or blocking until the next event, timer or
//!    cross-thread wake otherwise. Events wake tasks, which lands them on the queue.
//!
//! Step 1 polls at most 64 tasks (`POLLS_PER_TURN`) before step 2 runs, so a task that is
//! always ready (it yields, or wakes itself) cannot keep the reactor from running. tokio's
//! `current_thread` scheduler has the same rule (its `event_interval`, 61 polls). And a
//! task that never returns `Pending` on its own, because its socket is always ready, is
//! made to by the cooperative budget (`util/budget.rs`).
//!
//! Besides its loop, a runtime owns a pool of threads for blocking closures
//! ([`spawn_blocking`], `blocking.rs`), started only when first used; [`Builder`] sets its
//! limits. Other threads give it work through a [`Handle`] (`handle.rs`).

mod blocking;
mod builder;
pub(crate) mod context;
mod core;
mod handle;
mod threads;

pub(crate) use self::core::Core;
pub use crate::util::stats::RuntimeStats;
pub use builder::Builder;
pub use handle::{Handle, RemoteJoinHandle};
pub use threads::block_on_threads;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use crate::scheduler::{JoinHandle, TaskId};

/// Most task polls between two looks at the reactor.
const POLLS_PER_TURN: usize = 64;

/// A handle to a single-threaded runtime: an executor, a reactor and their tasks.
///
/// Most programs need only [`block_on`], which makes a runtime, runs one
/// future on it and drops it. Keep a `Runtime` to run several futures in turn on the same
/// reactor, or to spawn tasks before running it.
///
/// Dropping the runtime drops every task it still holds (their destructors run), ends the
/// idle threads of its [blocking pool](spawn_blocking) and waits for the closures still
/// running there (see [`shutdown_timeout`](Self::shutdown_timeout) to bound that wait),
/// then shuts its reactor down: it closes its epoll instance and eventfd at once, even if I/O
/// objects or sleeps made on it are still alive, wakes every task still waiting on one of
/// its I/O objects, and drops every waker it stored.
///
/// A panic in a task's destructor is caught there, and the others are still dropped. The
/// runtime is not running while it is dropped, so a destructor that calls [`spawn`] cannot
/// add a task to it: on a thread that runs no runtime, `spawn` panics (a panic caught like
/// any other of a destructor), and inside another runtime's `block_on` the task goes to
/// that runtime.
///
/// # I/O objects belong to their runtime
///
/// An I/O object (an [`AsyncFd`](crate::AsyncFd), a socket of [`net`](crate::net)) is
/// registered with the runtime running when it is created, and only that runtime's loop
/// hears its events. Once that runtime is dropped, every operation on the object fails
/// with an error of kind `Other` saying so; while it is alive but not running on this
/// thread (the object is polled by another runtime, or outside any), an operation that
/// would have to wait fails the same way, instead of waiting for a loop that is not
/// turning. Create objects inside the runtime that uses them; to move a socket, take the
/// std socket out (`into_std`, `AsyncFd::into_inner`) and wrap it again there (`from_std`,
/// `AsyncFd::new`). A [`Sleep`](crate::time::Sleep) has no such tie: it registers with
/// whichever runtime polls it.
///
/// ```
/// use epoll_rt::AsyncTcpListener;
///
/// // The listener is made by the runtime of the first `block_on`, which is then dropped.
/// let listener = epoll_rt::block_on(async { AsyncTcpListener::bind("127.0.0.1:0") })?;
/// let err = epoll_rt::block_on(listener.accept()).unwrap_err();
/// assert!(err.to_string().contains("shut down"));
///
/// // Moved as a std listener, it works in the next runtime.
/// let listener = listener.into_std();
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::from_std(listener)?;
///     let client = epoll_rt::AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (_stream, peer) = listener.accept().await?;
///     assert_eq!(peer, client.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A `Runtime` is not `Send`: its tasks need not be `Send` either, because they never
/// leave the thread that made it. Other threads spawn on it through its
/// [`handle`](Self::handle).
///
/// ```
/// use epoll_rt::Runtime;
///
/// let rt = Runtime::new()?;
/// let handle = rt.spawn(async { 1 + 1 });
/// let answer = rt.block_on(async { handle.await.unwrap() });
/// assert_eq!(answer, 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    /// The runtime's state, shared with the thread-local context while it runs.
    core: Rc<Core>,
}

impl Runtime {
    /// Creates a runtime: an epoll instance and an eventfd, no thread. Its blocking pool
    /// has the default limits (see [`Builder`]).
    ///
    /// # Errors
    ///
    /// If `epoll_create1` or `eventfd` fails (the descriptor limit), or, once a process
    /// has created 2^32 - 1 runtimes, because runtime ids (32 bits in every task) are
    /// exhausted.
    ///
    /// ```
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::new()?;
    /// assert_eq!(rt.stats().tasks_spawned, 0); // nothing runs until `block_on`
    /// assert_eq!(rt.block_on(async { 2 + 2 }), 4);
    /// assert_eq!(rt.stats().blocking_threads, 0); // no blocking closure, no thread
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Self> {
        Self::with_config(blocking::Config::default(), Duration::ZERO)
    }

    /// A [`Builder`], to create a runtime with settings other than the defaults.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A runtime whose blocking pool has the limits of `blocking`, and whose reactor
    /// spins for up to `spin` before sleeping (see [`Builder::spin_before_sleep`]).
    fn with_config(blocking: blocking::Config, spin: Duration) -> io::Result<Self> {
        let core = Core::new(blocking)?;
        core.reactor().spin_before_sleep(spin);
        Ok(Self {
            core: Rc::new(core),
        })
    }

    /// Drops the runtime, waiting at most `timeout` for the closures still running on its
    /// blocking pool; those still running then are left to finish on their own threads,
    /// their results dropped. Dropping the runtime waits for them without a bound.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::new()?;
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// rt.block_on(async {
    ///     epoll_rt::spawn_blocking(move || {
    ///         started_tx.send(()).unwrap();
    ///         std::thread::sleep(Duration::from_secs(2)); // slow, and cannot be cut short
    ///     });
    /// });
    /// started.recv().unwrap();
    /// let begun = Instant::now();
    /// rt.shutdown_timeout(Duration::from_millis(10));
    /// assert!(begun.elapsed() < Duration::from_secs(1)); // the sleep goes on, detached
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.core.shutdown(Some(timeout));
        // Dropping `self` shuts down again, which finds everything done.
    }

    /// Runs `future` to completion on this thread, running the runtime's tasks meanwhile,
    /// and returns its output.
    ///
    /// Tasks still pending when `future` completes stay in the runtime, and run again at
    /// the next `block_on`.
    ///
    /// # Panics
    ///
    /// If called while a runtime is already running on this thread (from inside async
    /// code: `.await` the future instead), or if the runtime's epoll instance fails, which
    /// only a descriptor closed behind its back (a `close` of a raw descriptor number that
    /// was not the caller's) can make it do. A panic of `future` itself is passed on.
    ///
    /// ```
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::new()?;
    /// let slow = rt.spawn(async {
    ///     epoll_rt::yield_now().await; // needs a second poll
    ///     "done"
    /// });
    /// rt.block_on(async {}); // returns at once, with `slow` still pending
    /// assert!(!slow.is_finished());
    /// assert_eq!(rt.block_on(slow).unwrap(), "done"); // the runtime kept the task
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter(self.core.clone());
        let core = &*self.core;
        let mut future = pin!(future);

        // The future given to block_on is polled like a task, but lives on this stack, not
        // in the scheduler; its id is one no spawned task can have. Its header is new at
        // each call and starts scheduled, with one entry queued. Should an earlier
        // block_on have left an entry of this id (one that unwound with its future
        // queued), the first of the two polls the future and the other finds it not
        // scheduled, and is skipped: no poll without a wake.
        let main = core.main_header();
        core.scheduler().push(TaskId::RESERVED);
        // Look at the outside world once before anything runs (a zero-timeout turn, since
        // the future is queued): events, due timers and remote wakes that arrived since the
        // last block_on. A caller that drives a kept runtime step by step, with
        // `rt.block_on(yield_now())` in a loop, relies on this to see I/O and timers.
        core.park();

        loop {
            // 1. Run ready tasks, a bounded number before looking at I/O again.
            for _ in 0..POLLS_PER_TURN {
                let Some(id) = core.scheduler().pop() else {
                    break;
                };
                if id != TaskId::RESERVED {
                    core.scheduler().run_task(id);
                    continue;
                }
                if let Some(Poll::Ready(output)) = core.scheduler().poll_as(&main, future.as_mut())
                {
                    return output;
                }
            }
            // 2. Nothing ready, or enough polls: look at (or wait for) the outside world.
            core.park();
        }
    }

    /// Spawns `future` as a task of this runtime. It starts running at the next
    /// [`block_on`](Self::block_on), or at once if one is running.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::new()?;
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// let handle = rt.spawn(async move { flag.set(true) });
    /// assert!(!ran.get()); // no thread of its own: the task waits for `block_on`
    /// rt.block_on(handle).unwrap();
    /// assert!(ran.get());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_named(future, None)
    }

    /// [`spawn`](Self::spawn) with a name for traces.
    pub(crate) fn spawn_named<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future, name)
    }

    /// A [`Handle`] on this runtime, with which any thread can spawn a `Send` future on it.
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.remote())
    }

    /// A snapshot of the runtime's counters: tasks, polls, wakes, `epoll_wait` calls and
    /// events, syscalls by kind. See [`RuntimeStats`].
    ///
    /// ```
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::new()?;
    /// let before = rt.stats();
    /// rt.block_on(async { epoll_rt::spawn(async {}).await.unwrap() });
    /// let after = rt.stats();
    /// assert_eq!(before.tasks_spawned, 0); // a snapshot: it does not change later
    /// assert_eq!(after.tasks_spawned - before.tasks_spawned, 1);
    /// assert_eq!(after.tasks_finished, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats(&self) -> RuntimeStats {
        self.core.stats()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.core.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.core.id())
            .field("tasks", &self.core.scheduler().task_count())
            .field("reactor", self.core.reactor())
            .finish()
    }
}

/// Runs `future` to completion on a new runtime on this thread, and returns its output.
///
/// This is the entry point of most programs:
///
/// ```no_run
/// // Serves forever, so this example is compiled but not run.
/// fn main() -> std::io::Result<()> {
///     epoll_rt::block_on(async {
///         let listener = epoll_rt::AsyncTcpListener::bind("127.0.0.1:0")?;
///         loop {
///             let (_stream, peer) = listener.accept().await?;
///             println!("hello, {peer}");
///         }
///     })
/// }
/// ```
///
/// Tasks spawned by `future` and still running when it completes are dropped with the
/// runtime.
///
/// ```
/// let answer = epoll_rt::block_on(async {
///     let _forever = epoll_rt::spawn(std::future::pending::<()>()); // dropped at the end
///     epoll_rt::spawn(async { 40 + 2 }).await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
///
/// If the runtime cannot be created (the process is out of file descriptors), if called
/// while a runtime is already running on this thread, or if the runtime's epoll instance
/// fails (see [`Runtime::block_on`]). A panic of `future` itself is passed on.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let runtime = Runtime::new()
        .unwrap_or_else(|e| panic!("epoll_rt::block_on: cannot create a runtime: {e}"));
    runtime.block_on(future)
}

/// Spawns `future` as a task of the runtime running on this thread, and returns a
/// [`JoinHandle`] to await its output.
///
/// The future need not be `Send`: the runtime is single-threaded.
///
/// ```
/// use std::rc::Rc;
///
/// epoll_rt::block_on(async {
///     let shared = Rc::new(5); // Rc is not Send; that is fine here
///     let task = epoll_rt::spawn(async move { *shared * 2 });
///     assert_eq!(task.await.unwrap(), 10);
/// });
/// ```
///
/// # Panics
///
/// If no runtime is running on this thread. Call it from inside
/// [`block_on`], or use [`Runtime::spawn`] on a runtime you hold.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_named(future, None)
}

/// Spawns `future` as a task of the runtime running on this thread, with no
/// [`JoinHandle`]: for a task nobody will await, such as a server's task per connection.
///
/// [`spawn`] with its handle dropped does the same, but its task keeps the state a handle
/// would read (the output, or the panic, and the waker of whoever awaits it) for as long
/// as it runs: an allocation of 64 bytes. A detached task has none: its output is dropped
/// when it finishes, and a panic ends the task (the panic hook reports it) without
/// reaching anyone. It cannot be aborted; it ends when its future does, or when the
/// runtime is dropped.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// epoll_rt::block_on(async {
///     let done = Rc::new(Cell::new(false));
///     let flag = done.clone();
///     epoll_rt::spawn_detached(async move { flag.set(true) });
///     epoll_rt::yield_now().await; // the task runs
///     assert!(done.get());
/// });
/// ```
///
/// # Panics
///
/// If no runtime is running on this thread, like [`spawn`].
pub fn spawn_detached<F: Future + 'static>(future: F) {
    spawn_detached_named(future, None);
}

/// [`spawn_detached`] with a name for traces; what `task::Builder::spawn_detached` calls.
pub(crate) fn spawn_detached_named<F: Future + 'static>(future: F, name: Option<Box<str>>) {
    context::with_current(|core| core.spawn_detached(future, name)).unwrap_or_else(|| {
        panic!(
            "epoll_rt::spawn_detached called outside a runtime: call it from inside \
             epoll_rt::block_on (or a task it runs)"
        )
    })
}

/// [`spawn`] with a name for traces; what `task::Builder::spawn` calls.
pub(crate) fn spawn_named<F>(future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::with_current(|core| core.spawn(future, name)).unwrap_or_else(|| {
        panic!(
            "epoll_rt::spawn called outside a runtime: call it from inside \
             epoll_rt::block_on (or a task it runs), or use Runtime::spawn"
        )
    })
}

/// Runs the blocking function `f` on a thread of the current runtime's blocking pool, and
/// returns a [`JoinHandle`] to await its result without blocking the runtime.
///
/// Use it for what would stop every task of the runtime's single thread: a file read, a
/// DNS lookup through the C library, a long computation. The pool starts its first thread
/// at the first call, runs at most 64 at once (later closures wait for a free thread) and
/// ends a thread left idle for 10 s; [`Builder`] changes both.
///
/// ```
/// use std::time::Duration;
///
/// epoll_rt::block_on(async {
///     let slow = epoll_rt::spawn_blocking(|| {
///         std::thread::sleep(Duration::from_millis(50)); // blocks a pool thread only
///         "done"
///     });
///     // Meanwhile the runtime's thread goes on with its tasks and timers.
///     epoll_rt::time::sleep(Duration::from_millis(1)).await;
///     assert_eq!(slow.await.unwrap(), "done");
/// });
/// ```
///
/// A panic of `f` is its task's: awaiting the handle yields a [`JoinError`](crate::JoinError)
/// whose [`is_panic`](crate::JoinError::is_panic) is true. [`JoinHandle::abort`] cancels
/// the wait, not the closure, which runs to its end (a thread cannot be stopped from
/// outside); its result is then dropped. Dropping the runtime waits for the closures still
/// running (see [`Runtime::shutdown_timeout`]), and drops those that no thread has
/// started. Should the pool have no thread and fail to start one (the process is at its
/// thread limit), the handle yields a panic [`JoinError`](crate::JoinError) whose message
/// says so.
///
/// # Panics
///
/// If no runtime is running on this thread, like [`spawn`].
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    context::with_current(|core| core.spawn_blocking(f)).unwrap_or_else(|| {
        panic!(
            "epoll_rt::spawn_blocking called outside a runtime: call it from inside \
             epoll_rt::block_on (or a task it runs)"
        )
    })
}
