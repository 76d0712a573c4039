//! The tasks waiting on one direction of one descriptor.
//!
//! Almost always there is exactly one: the task that owns the socket. But an I/O object
//! used through `&self` can be shared (two tasks accepting on one listener, several tasks
//! receiving on one UDP socket), and then every waiting task must be woken, or one of them
//! sleeps forever. The first waiter sits in a plain slot, so the common case costs no
//! allocation and no vector bookkeeping; further waiters go to a boxed `Vec`.
//!
//! Every registered descriptor has two of these, so their size is most of what an idle
//! connection costs the reactor. Hence `Cell`s rather than a `RefCell` (no borrow flag;
//! a value is taken out, looked at and put back), and the rare list behind a `Box` (8
//! bytes where a `Vec` is 24): 24 bytes per direction instead of 48.

use std::cell::Cell;
use std::task::Waker;

/// The wakers of the tasks waiting in one direction.
#[derive(Default)]
pub(crate) struct Waiters {
    /// The first (usually only) waiting task.
    first: Cell<Option<Waker>>,
    /// Further tasks waiting at the same time; `None` until there is a second one.
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer: 8 bytes in every registration, where a Vec takes 24"
    )]
    more: Cell<Option<Box<Vec<Waker>>>>,
}

// `register` and `wake_all` run for every read that waits and every event, so they are
// `#[inline]`, with the rare second-waiter paths moved out into `#[cold]` functions to
// keep them small: together about 50 instructions fewer per request in the echo
// benchmark (callgrind).
impl Waiters {
    /// Adds the task `waker` wakes, unless it is already waiting (a task that waits in a
    /// loop, or is polled again, must not be added twice: that also saves the clone, an
    /// atomic increment). A waker left behind by a cancelled wait stays until the next
    /// event, which wakes it for nothing.
    #[inline]
    pub(crate) fn register(&self, waker: &Waker) {
        let first = match self.first.take() {
            None => waker.clone(),
            Some(first) => {
                if !first.will_wake(waker) {
                    self.add_more(waker);
                }
                first
            }
        };
        self.first.set(Some(first));
    }

    /// Adds `waker` to the list of further waiters, unless it is in it already. Out of
    /// line and marked cold, so that the common path stays small enough to inline.
    #[cold]
    fn add_more(&self, waker: &Waker) {
        let mut more = self.more.take().unwrap_or_default();
        if !more.iter().any(|w| w.will_wake(waker)) {
            more.push(waker.clone());
        }
        self.more.set(Some(more));
    }

    /// Wakes every waiting task, and forgets them: each must wait again to be woken again.
    /// Each waker is taken out of its cell before it is woken, so nothing here is borrowed
    /// while a waker runs.
    #[inline]
    pub(crate) fn wake_all(&self) {
        if let Some(first) = self.first.take() {
            first.wake();
        }
        if let Some(more) = self.more.take() {
            Self::wake_more(*more);
        }
    }

    /// The rare part of [`wake_all`](Self::wake_all), out of line like `add_more`.
    #[cold]
    fn wake_more(more: Vec<Waker>) {
        more.into_iter().for_each(Waker::wake);
    }
}
