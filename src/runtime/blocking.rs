//! The blocking pool: threads that run the closures given to
//! [`spawn_blocking`](crate::spawn_blocking), so that a blocking call (a file read, a DNS
//! lookup, a long computation) stops one of them instead of the runtime's thread and
//! every task on it.
//!
//! Each runtime has its own pool. No thread starts until the first closure arrives; then a
//! closure goes to an idle thread if there is one, to a new thread if fewer than the
//! maximum run, and otherwise waits in the queue for the next thread to come free. A
//! thread with nothing to do for the keep-alive time leaves.
//!
//! ```text
//!   spawn_blocking(f) ──▶ queue ──▶ idle thread (notified)
//!                           │   or  new thread (below the maximum)
//!                           │   or  waits for a busy one
//!                           ▼
//!   thread: f() ──▶ oneshot::Sender::send(result) ──▶ waker (remote queue) ──▶ task
//! ```
//!
//! The result goes back through a one-shot channel (`util/oneshot.rs`) to a small task on
//! the runtime, which the send wakes: from a pool thread, that wake takes the remote
//! queue and rings the runtime's eventfd. That task is what the caller's
//! [`JoinHandle`](crate::JoinHandle) awaits, so a blocking closure is joined, aborted
//! and reported like any task.
//!
//! Shutting down (the runtime is dropped) wakes every idle thread to leave, drops the
//! closures still queued (but for those that must run, see [`Job::must_run`]), and waits
//! for the running ones to finish, or only so long with `Runtime::shutdown_timeout`,
//! after which the threads still running are left to finish on their own. tokio's
//! blocking pool works the same way (`runtime/blocking/pool.rs`), and also serves its
//! multi-threaded scheduler's own needs; this one serves only closures.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Default for the most threads a pool runs at once (tokio's default is 512).
pub(crate) const DEFAULT_MAX_THREADS: usize = 64;

/// Default for how long a thread with nothing to do waits for a closure before leaving
/// (tokio's default too).
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// One closure to run on the pool.
pub(crate) struct Job {
    /// The work. It reports its own outcome (through a channel it owns).
    run: Box<dyn FnOnce() + Send>,
    /// Whether it runs even if the runtime shuts down before a thread takes it.
    must_run: bool,
}

impl Job {
    /// A job that is dropped, not run, if the runtime shuts down before it starts.
    pub(crate) fn new(run: impl FnOnce() + Send + 'static) -> Self {
        Self {
            run: Box::new(run),
            must_run: false,
        }
    }

    /// A job that runs even if the runtime shuts down before it starts: for work whose
    /// effect must not be lost with the task that asked for it (a file's last write).
    pub(crate) fn must_run(run: impl FnOnce() + Send + 'static) -> Self {
        Self {
            run: Box::new(run),
            must_run: true,
        }
    }
}

/// How many threads a pool may run, and how long an idle one stays.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// The most threads running at once (at least 1).
    pub(crate) max_threads: usize,
    /// How long a thread with nothing to do waits before leaving.
    pub(crate) keep_alive: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_threads: DEFAULT_MAX_THREADS,
            keep_alive: DEFAULT_KEEP_ALIVE,
        }
    }
}

/// The blocking pool of one runtime. See the module docs.
pub(crate) struct BlockingPool {
    /// What the pool's threads share with it.
    shared: Arc<Shared>,
}

/// The queue and the threads' bookkeeping, shared by the pool and its threads.
struct Shared {
    /// Everything that changes, under one lock.
    state: Mutex<State>,
    /// Idle threads wait here for a job, or for the shutdown.
    work: Condvar,
    /// The shutdown waits here for the running threads to leave.
    left: Condvar,
    /// The pool's limits.
    config: Config,
}

/// The pool's queue and its threads' bookkeeping.
struct State {
    /// Jobs no thread has taken yet.
    queue: VecDeque<Job>,
    /// Threads started that have not left yet.
    live: usize,
    /// Threads waiting for a job that no job has been promised to yet.
    idle: usize,
    /// Idle threads promised a job (taken out of `idle` by [`BlockingPool::spawn`]) that
    /// have not woken to take it yet. Counting them keeps two jobs spawned in a row from
    /// both going to the one idle thread while a second thread could have started.
    notified: usize,
    /// Set once the runtime shuts down: no new job, and every thread leaves.
    shutdown: bool,
    /// The join handles of live threads, by thread number.
    threads: HashMap<usize, JoinHandle<()>>,
    /// The join handles of threads that left, to be joined (or dropped once finished).
    exited: Vec<JoinHandle<()>>,
    /// The number of the next thread.
    next_thread: usize,
}

impl Shared {
    /// Locks the state. A thread never panics while holding the lock (jobs run after it
    /// is released, their panics are caught), so poisoning carries no information.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BlockingPool {
    /// A pool with no thread yet.
    pub(crate) fn new(config: Config) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    live: 0,
                    idle: 0,
                    notified: 0,
                    shutdown: false,
                    threads: HashMap::new(),
                    exited: Vec::new(),
                    next_thread: 0,
                }),
                work: Condvar::new(),
                left: Condvar::new(),
                config: Config {
                    max_threads: config.max_threads.max(1),
                    ..config
                },
            }),
        }
    }

    /// Number of threads running (busy or idle).
    pub(crate) fn thread_count(&self) -> usize {
        self.shared.lock().live
    }

    /// Queues `job` and makes sure a thread will take it: an idle one, or a new one.
    ///
    /// # Errors
    ///
    /// If the pool has no thread and cannot start one (the process is at its thread
    /// limit), or is shut down: the job is dropped.
    pub(crate) fn spawn(&self, job: Job) -> io::Result<()> {
        let mut state = self.shared.lock();
        if state.shutdown {
            drop(state);
            drop(job);
            return Err(io::Error::other("the blocking pool is shut down"));
        }
        state.queue.push_back(job);

        // An idle thread takes it.
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.shared.work.notify_one();
            return Ok(());
        }
        // Every thread is busy: a new one, unless there are enough.
        if state.live == self.shared.config.max_threads {
            return Ok(());
        }
        // Threads that left on their own have finished (or nearly): forget them.
        state.exited.retain(|thread| !thread.is_finished());
        let number = state.next_thread;
        let shared = self.shared.clone();
        // Started under the lock, so that the thread, which locks first thing, finds its
        // join handle in the table when it leaves.
        match thread::Builder::new()
            .name("epoll-rt-pool".to_owned())
            .spawn(move || work(&shared, number))
        {
            Ok(thread) => {
                state.next_thread += 1;
                state.live += 1;
                state.threads.insert(number, thread);
                Ok(())
            }
            // Another thread will take the job when it is free.
            Err(_) if state.live > 0 => Ok(()),
            Err(e) => {
                let job = state.queue.pop_back();
                drop(state);
                // Dropped with the lock released: it closes a channel, which wakes a task.
                drop(job);
                Err(e)
            }
        }
    }

    /// Stops the pool: idle threads leave at once, queued jobs are dropped (those that
    /// must run are run), and this waits for the running jobs to finish, for at most
    /// `timeout` if given. Threads still running then are detached: they finish their job
    /// and leave on their own. Every thread that has left is joined. A second call does
    /// nothing.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) {
        let mut state = self.shared.lock();
        if state.shutdown {
            return;
        }
        state.shutdown = true;
        self.shared.work.notify_all();

        let state = match timeout {
            None => self
                .shared
                .left
                .wait_while(state, |state| state.live > 0)
                .unwrap_or_else(PoisonError::into_inner),
            Some(timeout) => {
                self.shared
                    .left
                    .wait_timeout_while(state, timeout, |state| state.live > 0)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
        let mut state = state;
        let exited = std::mem::take(&mut state.exited);
        let detached = std::mem::take(&mut state.threads);
        drop(state);
        // Dropping a join handle detaches its thread.
        drop(detached);
        for thread in exited {
            // A thread's panics are caught around each job: `join` returns `Ok`.
            let _ = thread.join();
        }
    }
}

/// The loop of pool thread `number`: take jobs until there is none for the keep-alive
/// time, or the pool shuts down.
fn work(shared: &Shared, number: usize) {
    let mut state = shared.lock();
    loop {
        if state.shutdown {
            break;
        }
        // Run the next job, with the lock released. A panic was reported by the job
        // itself; one from its destructor is contained here, so that the thread always
        // reaches the bookkeeping below (the shutdown counts on it).
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            let _ = catch_unwind(AssertUnwindSafe(job.run));
            state = shared.lock();
            continue;
        }

        // Wait for a job, as an idle thread. A spawn that picks this thread moves it from
        // `idle` to `notified`; the wait may also end spuriously, or at the shutdown, or
        // with the keep-alive time spent.
        state.idle += 1;
        let timed_out = loop {
            let (next, wait) = shared
                .work
                .wait_timeout(state, shared.config.keep_alive)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            if state.notified > 0 {
                state.notified -= 1;
                break false;
            }
            if state.shutdown || wait.timed_out() {
                state.idle -= 1;
                break !state.shutdown;
            }
        };
        if timed_out {
            break;
        }
    }

    // Leaving at the shutdown: the queue's jobs are this thread's to settle too.
    if state.shutdown {
        while let Some(job) = state.queue.pop_front() {
            drop(state);
            let _ = catch_unwind(AssertUnwindSafe(|| {
                if job.must_run {
                    (job.run)();
                }
                // Otherwise dropped: a task's channel closes (with the lock released).
            }));
            state = shared.lock();
        }
    }
    state.live -= 1;
    if let Some(thread) = state.threads.remove(&number) {
        state.exited.push(thread);
    }
    drop(state);
    shared.left.notify_all();
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Instant;

    use super::*;

    /// A pool with `max_threads` threads at most, kept `keep_alive`.
    fn pool(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool::new(Config {
            max_threads,
            keep_alive,
        })
    }

    #[test]
    fn no_thread_starts_until_a_job_arrives() {
        let pool = pool(4, DEFAULT_KEEP_ALIVE);
        assert_eq!(pool.thread_count(), 0);
        let (tx, rx) = mpsc::channel();
        pool.spawn(Job::new(move || tx.send(()).expect("receiver alive")))
            .expect("spawn");
        rx.recv_timeout(Duration::from_secs(10)).expect("job ran");
        assert_eq!(pool.thread_count(), 1);
    }

    #[test]
    fn at_most_max_threads_run_and_every_job_runs() {
        let pool = pool(2, DEFAULT_KEEP_ALIVE);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel();
        for i in 0..6 {
            let (running, most, tx) = (running.clone(), most.clone(), tx.clone());
            pool.spawn(Job::new(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
                tx.send(i).expect("receiver alive");
            }))
            .expect("spawn");
        }
        let mut done: Vec<i32> = (0..6)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("job ran"))
            .collect();
        done.sort();
        assert_eq!(done, [0, 1, 2, 3, 4, 5]);
        assert_eq!(most.load(Ordering::SeqCst), 2, "two threads, both used");
        assert_eq!(pool.thread_count(), 2);
    }

    #[test]
    fn an_idle_thread_leaves_after_the_keep_alive_time() {
        let pool = pool(4, Duration::from_millis(20));
        let (tx, rx) = mpsc::channel();
        pool.spawn(Job::new(move || tx.send(()).expect("receiver alive")))
            .expect("spawn");
        rx.recv_timeout(Duration::from_secs(10)).expect("job ran");
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.thread_count() > 0 {
            assert!(Instant::now() < deadline, "the idle thread never left");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn shutdown_waits_for_running_jobs_and_drops_queued_ones() {
        let pool = pool(1, DEFAULT_KEEP_ALIVE);
        let (started_tx, started) = mpsc::channel();
        let (finished_tx, finished) = mpsc::channel();
        pool.spawn(Job::new(move || {
            started_tx.send(()).expect("receiver alive");
            thread::sleep(Duration::from_millis(50));
            finished_tx.send(()).expect("receiver alive");
        }))
        .expect("spawn");
        let ran = Arc::new(AtomicUsize::new(0));
        let (queued, must) = (ran.clone(), ran.clone());
        pool.spawn(Job::new(move || {
            queued.fetch_add(1, Ordering::SeqCst);
        }))
        .expect("spawn");
        pool.spawn(Job::must_run(move || {
            must.fetch_add(10, Ordering::SeqCst);
        }))
        .expect("spawn");
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("job started");
        pool.shutdown(None);
        assert!(
            finished.try_recv().is_ok(),
            "shutdown returned before the job ended"
        );
        assert_eq!(
            ran.load(Ordering::SeqCst),
            10,
            "only the job that must run ran"
        );
        assert_eq!(pool.thread_count(), 0);
        assert!(
            pool.spawn(Job::new(|| {})).is_err(),
            "a shut-down pool takes no job"
        );
    }

    #[test]
    fn shutdown_with_a_timeout_detaches_a_job_still_running() {
        let pool = pool(1, DEFAULT_KEEP_ALIVE);
        let (started_tx, started) = mpsc::channel();
        let (release_tx, release) = mpsc::channel::<()>();
        pool.spawn(Job::new(move || {
            started_tx.send(()).expect("receiver alive");
            let _ = release.recv_timeout(Duration::from_secs(10));
        }))
        .expect("spawn");
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("job started");
        let begun = Instant::now();
        pool.shutdown(Some(Duration::from_millis(50)));
        let waited = begun.elapsed();
        assert!(
            waited >= Duration::from_millis(50),
            "returned early: {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(5),
            "waited for the job: {waited:?}"
        );
        assert_eq!(pool.thread_count(), 1, "the job's thread is still running");
        drop(release_tx); // the detached thread finishes and leaves
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.thread_count() > 0 {
            assert!(Instant::now() < deadline, "the detached thread never left");
            thread::sleep(Duration::from_millis(5));
        }
    }
}
