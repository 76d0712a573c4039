//! A one-shot channel across threads: one value, sent once from any thread, awaited by one
//! task. What carries a blocking closure's result back to its runtime.
//!
//! A mutex guards the value and the receiver's waker together, so a send and a poll
//! cannot miss each other: the send either finds the waker (and wakes it) or comes first
//! (and the poll finds the value). tokio's `oneshot` does the same with an atomic state
//! word and no lock; one lock per value sent is nothing beside a thread hand-off.
//!
//! A waker is never woken or dropped under the lock: it may run any code, this channel's
//! included.

#[cfg(loom)]
use loom::sync::{Arc, Mutex, MutexGuard};
use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
#[cfg(not(loom))]
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// What the two ends share.
struct Slot<T> {
    /// The value sent, until the receiver takes it.
    value: Option<T>,
    /// Set when the sender is gone (after sending or not).
    closed: bool,
    /// The task awaiting the receiver, to wake when the value (or the close) arrives.
    waker: Option<Waker>,
}

/// The sending end: [`send`](Self::send) once, or drop it to close the channel empty.
pub(crate) struct Sender<T> {
    /// The slot shared with the receiver.
    slot: Arc<Mutex<Slot<T>>>,
}

/// The receiving end: a future of `Some(value)`, or `None` if the sender was dropped
/// without sending.
pub(crate) struct Receiver<T> {
    /// The slot shared with the sender.
    slot: Arc<Mutex<Slot<T>>>,
}

/// A new channel.
pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        closed: false,
        waker: None,
    }));
    (Sender { slot: slot.clone() }, Receiver { slot })
}

/// Locks `slot`. Poisoning would need a panic under the lock, and no code that can panic
/// runs there (wakers run after it is released): the slot is consistent either way.
fn lock<T>(slot: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Sender<T> {
    /// Sends `value` and wakes the receiver's task.
    pub(crate) fn send(self, value: T) {
        self.close(Some(value));
    }

    /// Stores `value` (if any), marks the channel closed, and wakes the receiver's task
    /// once the lock is released.
    fn close(&self, value: Option<T>) {
        let waker = {
            let mut slot = lock(&self.slot);
            if slot.closed {
                return;
            }
            if value.is_some() {
                slot.value = value;
            }
            slot.closed = true;
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // After `send`, the channel is closed already and this does nothing.
        self.close(None);
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let replaced = {
            let mut slot = lock(&self.slot);
            if slot.closed {
                return Poll::Ready(slot.value.take());
            }
            // Checked and stored under one lock: a send after this finds the waker.
            match &slot.waker {
                Some(waker) if waker.will_wake(cx.waker()) => None,
                _ => slot.waker.replace(cx.waker().clone()),
            }
        };
        // The waker replaced is dropped with the lock released.
        drop(replaced);
        Poll::Pending
    }
}

/// The channel under the `loom` model checker: a send from another thread is never lost,
/// whichever way it interleaves with the receiver's poll (see `.ci/run`).
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::thread;

    use super::channel;

    /// The receiver, awaited on the model's main thread, always gets the value sent from
    /// another thread; `loom::future::block_on` parks until woken, so a lost wake is a
    /// deadlock, which loom reports.
    #[test]
    fn loom_a_value_sent_from_another_thread_always_arrives() {
        loom::model(|| {
            let (tx, rx) = channel();
            let sender = thread::spawn(move || tx.send(7_u32));
            assert_eq!(loom::future::block_on(rx), Some(7));
            sender.join().unwrap();
        });
    }

    /// A sender dropped unsent on another thread closes the channel: the receiver gets
    /// `None`, not a hang.
    #[test]
    fn loom_a_dropped_sender_always_ends_the_wait() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let sender = thread::spawn(move || drop(tx));
            assert_eq!(loom::future::block_on(rx), None);
            sender.join().unwrap();
        });
    }
}
