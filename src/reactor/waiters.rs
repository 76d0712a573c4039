//! The tasks waiting on one direction of one descriptor.
//!
//! Almost always there is exactly one: the task that owns the socket. But an I/O object
//! used through `&self` can be shared (two tasks accepting on one listener, several tasks
//! receiving on one UDP socket), and then every waiting task must be woken, or one of them
//! sleeps forever. The first waiter sits in a plain slot, so the common case costs no
//! allocation and no vector bookkeeping; further waiters go to a `Vec`.

use std::task::Waker;

/// The wakers of the tasks waiting in one direction.
#[derive(Default)]
pub(crate) struct Waiters {
    /// The first (usually only) waiting task.
    first: Option<Waker>,
    /// Further tasks waiting at the same time.
    more: Vec<Waker>,
}

impl Waiters {
    /// Adds the task `waker` wakes, unless it is already waiting (a task that waits in a
    /// loop, or is polled again, must not be added twice: that also saves the clone, an
    /// atomic increment). A waker left behind by a cancelled wait stays until the next
    /// event, which wakes it for nothing.
    pub(crate) fn register(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(first) if first.will_wake(waker) => {}
            Some(_) => {
                if !self.more.iter().any(|w| w.will_wake(waker)) {
                    self.more.push(waker.clone());
                }
            }
        }
    }

    /// Moves every waker into `wake_list`.
    pub(crate) fn take_all(&mut self, wake_list: &mut Vec<Waker>) {
        wake_list.extend(self.first.take());
        if !self.more.is_empty() {
            wake_list.append(&mut self.more);
        }
    }
}
