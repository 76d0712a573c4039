//! Yields: a task that gives the thread back is woken after the runtime's next look at
//! epoll, not at once.
//!
//! A task that yields (`yield_now`, or an I/O operation refused because the task spent its
//! budget, `budget.rs`) asks to run again after the others. Were its wake to go straight
//! to the run queue, a task that yields in a loop would keep the queue from ever being
//! empty, and the loop would look at epoll only once every 64 polls (`POLLS_PER_TURN`):
//! a task doing long work in short slices, such as `kv_server`'s expiry sweep, would keep
//! every client whose request has arrived waiting for 64 of its slices. So the scheduler
//! sets the waker of a yield aside, and wakes it after the next `epoll_wait`, which the
//! runtime makes with a zero timeout while a waker is set aside. Each yield is then a
//! turn for I/O and timers, for the price of one `epoll_wait` per yield when no other
//! task is ready. tokio defers the wakes of `yield_now` and of its budget the same way.
//!
//! Only the waker of the task being polled is set aside. A future may be polled with
//! another waker: a combinator's, or that of another executor run inside a task (a
//! blocking `futures::executor::block_on`, say). That executor would wait for a wake
//! that, set aside, came only once the runtime turned again, which it cannot do while
//! its thread is blocked in there: a hang. Such a waker is woken at once, as before. The
//! check compares the waker's data pointer with that of the polled task's wakers, which
//! the scheduler records around each poll (this layer knows nothing of tasks).

use std::cell::{Cell, RefCell};
use std::ptr;
use std::task::Waker;

/// The wakers of the yields since the last look at epoll. Runtime thread only.
#[derive(Debug)]
pub(crate) struct Deferred {
    /// The data pointer of the wakers of the task being polled; null between polls.
    polling: Cell<*const ()>,
    /// The wakers set aside, in the order the tasks yielded.
    wakers: RefCell<Vec<Waker>>,
}

impl Default for Deferred {
    fn default() -> Self {
        Self {
            polling: Cell::new(ptr::null()),
            wakers: RefCell::default(),
        }
    }
}

impl Deferred {
    /// Marks the start of a poll of the task whose wakers have data pointer `task`;
    /// returns what [`end_poll`](Self::end_poll) restores.
    #[inline]
    pub(crate) fn start_poll(&self, task: *const ()) -> *const () {
        self.polling.replace(task)
    }

    /// Marks the end of the poll that [`start_poll`](Self::start_poll) began.
    #[inline]
    pub(crate) fn end_poll(&self, before: *const ()) {
        self.polling.set(before);
    }

    /// Sets `waker` aside until the next look at epoll, if it is the waker of the task
    /// being polled. Returns whether it did; if not, the caller wakes it at once.
    pub(crate) fn defer(&self, waker: &Waker) -> bool {
        let polling = self.polling.get();
        if polling.is_null() || waker.data() != polling {
            return false;
        }
        self.wakers.borrow_mut().push(waker.clone());
        true
    }

    /// Whether a waker is set aside (then the runtime's next `epoll_wait` must not sleep).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.wakers.borrow().is_empty()
    }

    /// Wakes every waker set aside, in the order they came. Called after each look at
    /// epoll, so the tasks that I/O woke are queued before these.
    #[inline]
    pub(crate) fn wake_all(&self) {
        // The common case, no yield since the last look, costs a length check.
        if !self.is_empty() {
            self.wake_all_now();
        }
    }

    /// [`wake_all`](Self::wake_all), when some waker is set aside.
    #[cold]
    fn wake_all_now(&self) {
        // Taken out first: a wake may run code that yields again (it cannot here, since
        // a wake only queues a task, but nothing of ours should rely on it).
        let mut wakers = self.wakers.take();
        for waker in wakers.drain(..) {
            waker.wake();
        }
        // Keep the vector's capacity for the next yields, unless wakes added some.
        let mut kept = self.wakers.borrow_mut();
        if kept.is_empty() {
            *kept = wakers;
        }
    }

    /// Drops every waker set aside (at shutdown, with the tasks).
    pub(crate) fn clear(&self) {
        drop(self.wakers.take());
    }
}
