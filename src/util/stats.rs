//! Runtime statistics: counters of what the event loop did, for learners and for tuning.
//!
//! Each part of the runtime counts its own work in plain `Cell`s (the runtime is
//! single-threaded; only wakes from other threads need an atomic), and
//! [`Runtime::stats`](crate::Runtime::stats) gathers a snapshot. The counts are always on:
//! an increment of a non-atomic integer is cheaper than the branch that could skip it.

use std::cell::Cell;

/// A snapshot of a runtime's counters, from [`Runtime::stats`](crate::Runtime::stats).
///
/// ```
/// use epoll_rt::Runtime;
///
/// let rt = Runtime::new()?;
/// rt.block_on(async {
///     epoll_rt::spawn(async {}).await.unwrap();
/// });
/// let stats = rt.stats();
/// assert_eq!(stats.tasks_spawned, 1);
/// assert_eq!(stats.tasks_finished, 1);
/// assert!(stats.polls >= 2); // the task, and the future given to block_on
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeStats {
    /// Tasks spawned (not counting the futures given to `block_on`).
    pub tasks_spawned: u64,
    /// Spawned tasks that completed, panicked or were cancelled.
    pub tasks_finished: u64,
    /// Polls of tasks, including the futures given to `block_on`.
    pub polls: u64,
    /// Tasks queued on the runtime's own thread while it ran (a push on the run queue): by
    /// a wake there, or at the end of a poll during which the task was woken, from any
    /// thread. Wakes of a task already queued are not counted.
    pub local_wakes: u64,
    /// Tasks queued by wakes from other threads, or while the runtime was not running
    /// (through the remote queue). A wake from another thread that finds its task being
    /// polled is not one of them: the runtime queues the task when the poll ends.
    pub remote_wakes: u64,
    /// `epoll_wait` (or `epoll_pwait2`) calls.
    pub epoll_waits: u64,
    /// Events those calls returned.
    pub epoll_events: u64,
    /// Of those calls, the ones given a finite, non-zero timeout: waits for a timer due
    /// within a millisecond (a further one sets the alarm instead), or bounded by the
    /// caller. Each costs the kernel a timer of its own.
    pub timed_waits: u64,
    /// Times the reactor's alarm, a timerfd that ends a wait at a far timer's deadline,
    /// was set (`timerfd_settime`); at most once per change of the nearest deadline to an
    /// earlier one.
    pub alarms_set: u64,
    /// Waits that began with a spin, a loop of zero-timeout `epoll_wait`s (each counted in
    /// `epoll_waits`) before sleeping; only with
    /// [`spin_before_sleep`](crate::runtime::Builder::spin_before_sleep) set.
    pub spins: u64,
    /// Spins that found events: each a sleep, and a wake-up, that did not happen.
    pub sleeps_avoided: u64,
    /// `epoll_ctl` calls (one to register and one to deregister each descriptor).
    pub epoll_ctls: u64,
    /// Read-side I/O syscalls tried by I/O objects (read, recv, accept, ...).
    pub read_calls: u64,
    /// Write-side I/O syscalls tried by I/O objects (write, send, ...).
    pub write_calls: u64,
    /// I/O syscalls that returned `WouldBlock` (each costs a wait for readiness).
    pub would_blocks: u64,
    /// Writes to the eventfd that interrupts `epoll_wait` for a remote wake.
    pub eventfd_rings: u64,
    /// Threads of the blocking pool ([`spawn_blocking`](crate::spawn_blocking)) alive at
    /// the snapshot, busy or idle: 0 until the first closure.
    pub blocking_threads: u64,
}

/// A counter owned by one part of the runtime.
#[derive(Debug, Default)]
pub(crate) struct Counter(Cell<u64>);

impl Counter {
    /// Adds one.
    pub(crate) fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }

    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
        self.0.set(self.0.get() + n);
    }

    /// The count.
    pub(crate) fn get(&self) -> u64 {
        self.0.get()
    }
}
