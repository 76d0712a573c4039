//! The thread-local "current runtime": what lets a free function like `spawn`, or a
//! constructor like `AsyncTcpListener::bind`, find the runtime it runs under.
//!
//! `block_on` *enters* its runtime for as long as it runs. Entering twice on one thread is
//! refused: a nested `block_on` would block the outer runtime's tasks while it runs.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use super::core::Core;
use crate::JoinHandle;
use crate::driver::Reactor;
use crate::scheduler;
use crate::sys::timer_slack;

thread_local! {
    /// The runtime whose `block_on` is running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Timer slack while a runtime runs on the thread: 1 µs instead of Linux's default 50 µs,
/// so that a `sleep` wakes within microseconds of its deadline (see `sys/timer_slack.rs`).
const RUNTIME_TIMER_SLACK_NS: u64 = 1_000;

/// Proof that this thread is inside `block_on`; leaving is done by dropping it (also when
/// the future being blocked on panics).
pub(crate) struct EnterGuard {
    /// The thread's timer slack before entering, restored on leaving.
    saved_slack: Option<u64>,
    /// Not `Send`: must be dropped on the thread that entered.
    _not_send: std::marker::PhantomData<Rc<()>>,
}

/// Makes `core` the current runtime of this thread.
///
/// # Panics
///
/// If a runtime is already running on this thread (a `block_on` inside a `block_on`).
pub(crate) fn enter(core: Rc<Core>) -> EnterGuard {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            panic!(
                "epoll_rt: cannot call block_on while a runtime is already running on this \
                 thread (it would stall every task of the outer runtime). Inside async code, \
                 `.await` the future, or `epoll_rt::spawn` it, instead."
            );
        }
        // Wakes on this thread go straight to this runtime's run queue from now on.
        scheduler::current::set(core.id(), core.scheduler().run_queue().clone());
        core.start_polling();
        *current = Some(core);
    });
    // Failing to adjust the slack only costs precision, so errors are ignored.
    let saved_slack = timer_slack::get().ok();
    let _ = timer_slack::set(RUNTIME_TIMER_SLACK_NS);
    EnterGuard {
        saved_slack,
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if let Some(slack) = self.saved_slack {
            let _ = timer_slack::set(slack);
        }
        // Take the core out first and drop it after the borrow ends.
        scheduler::current::clear();
        let core = CURRENT.with(|current| current.borrow_mut().take());
        if let Some(core) = &core {
            core.stop_polling();
        }
        drop(core);
    }
}

/// Runs `f` with the current runtime, or returns `None` outside any runtime.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// The reactor of the current runtime: what a new I/O object registers with, and keeps
/// (the runtime's cooperative budget, which its operations spend, comes with it).
pub(crate) fn current_reactor() -> io::Result<Rc<Reactor>> {
    with_current(|core| core.reactor().clone()).ok_or_else(no_runtime)
}

/// Runs `f` on the current runtime's blocking pool, and returns the handle of the task
/// that awaits it: for the resources that need a thread (`fs`, `process`), which report
/// the lack of a runtime as an error rather than a panic. With `must_run`, `f` runs even
/// if the runtime shuts down before a pool thread has taken it.
pub(crate) fn spawn_blocking<F, T>(must_run: bool, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    with_current(|core| core.spawn_blocking_job(must_run, f)).ok_or_else(no_runtime)
}

/// The error for an I/O object made, or a timer polled, outside any runtime.
pub(crate) fn no_runtime() -> io::Error {
    io::Error::other(
        "no epoll-rt runtime is running on this thread: create I/O objects inside \
         epoll_rt::block_on (or a task it runs)",
    )
}
