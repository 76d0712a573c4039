//! The thread-local "current runtime": what lets a free function like `spawn`, or a
//! constructor like `AsyncTcpListener::bind`, find the runtime it runs under.
//!
//! `block_on` *enters* its runtime for as long as it runs. Entering twice on one thread is
//! refused: a nested `block_on` would block the outer runtime's tasks while it runs.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;

use super::core::Core;
use crate::reactor::Reactor;
use crate::sys::timer_slack;
use crate::task::TaskId;

thread_local! {
    /// The runtime whose `block_on` is running on this thread, if any.
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };

    /// The id of that runtime, 0 if none. Wakers check it on every wake: a `Cell<u64>` has
    /// no destructor, so reading it needs neither `CURRENT`'s check that its destructor is
    /// registered nor a `RefCell` borrow.
    static CURRENT_ID: Cell<u64> = const { Cell::new(0) };
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
        CURRENT_ID.set(core.id());
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
        CURRENT_ID.set(0);
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

/// The reactor of the current runtime, for registering a new I/O object.
pub(crate) fn current_reactor() -> io::Result<Rc<Reactor>> {
    with_current(|core| core.reactor().clone()).ok_or_else(|| {
        io::Error::other(
            "no epoll-rt runtime is running on this thread: create I/O objects inside \
             epoll_rt::block_on (or a task it runs)",
        )
    })
}

/// If runtime `runtime_id` is running on this thread, pushes the task `claim` names on its
/// run queue and returns `true`. Returns `false` otherwise, without calling `claim`, and
/// the caller takes the remote path.
#[inline]
pub(crate) fn schedule_local(runtime_id: u64, claim: impl FnOnce() -> TaskId) -> bool {
    // The common answer, "yes, this thread", and the remote one both come from the id
    // alone; `CURRENT` is borrowed only to reach the run queue.
    if CURRENT_ID.try_with(Cell::get) != Ok(runtime_id) {
        return false;
    }
    CURRENT
        .try_with(|current| match &*current.borrow() {
            Some(core) => {
                core.scheduler().wake(claim());
                true
            }
            None => false,
        })
        .unwrap_or(false)
}
