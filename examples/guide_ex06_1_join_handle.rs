//! Guide, chapter 6, exercise 1: give the small runtime's `spawn` a `JoinHandle`.
//!
//! The runtime of `guide_ch06_build_it.rs` is reused as it is (a module, below); the
//! handle is built on top of it. The task and its handle share a slot: the task's wrapper
//! stores the output and wakes whoever waits; the handle's `poll` takes the output, or
//! keeps its waker and returns `Pending`: chapter 3's `Flag` again, on one thread, so a
//! `RefCell` does instead of a `Mutex`.
//!
//! ```text
//! cargo run --example guide_ex06_1_join_handle
//! ```

#[allow(dead_code)] // Its `main` and the parts this exercise does not use.
#[path = "guide_ch06_build_it.rs"]
mod build_it;

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// What a task and its handle share.
struct Slot<T> {
    /// The task's output, once it has finished.
    output: Option<T>,
    /// The waker of the task awaiting the handle.
    waiter: Option<Waker>,
}

/// Awaits the output of a task spawned with `spawn_with_handle`.
struct JoinHandle<T> {
    /// Shared with the task.
    slot: Rc<RefCell<Slot<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.borrow_mut();
        match slot.output.take() {
            Some(output) => Poll::Ready(output),
            None => {
                // Replace the old waker only after the borrow: dropping one runs its code.
                let old = slot.waiter.replace(cx.waker().clone());
                drop(slot);
                drop(old);
                Poll::Pending
            }
        }
    }
}

/// `build_it::spawn`, plus a handle to await the output.
fn spawn_with_handle<T: 'static>(future: impl Future<Output = T> + 'static) -> JoinHandle<T> {
    let slot = Rc::new(RefCell::new(Slot {
        output: None,
        waiter: None,
    }));
    let theirs = slot.clone();
    build_it::spawn(async move {
        let output = future.await;
        let waiter = {
            let mut slot = theirs.borrow_mut();
            slot.output = Some(output);
            slot.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    });
    JoinHandle { slot }
}

/// A future that is `Pending` `n` times (waking itself) before it completes.
struct Steps(u32);

impl Future for Steps {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let (sum, word) = build_it::block_on(async {
        // One task that takes a few turns, one that finishes at its first poll.
        let slow = spawn_with_handle(async {
            Steps(3).await;
            (1..=10).sum::<u32>()
        });
        let quick = spawn_with_handle(async { "quick" });
        (slow.await, quick.await)
    })?;
    println!("the handles returned {sum} and {word:?}");
    assert_eq!((sum, word), (55, "quick"));
    Ok(())
}
