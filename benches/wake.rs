//! Micro-benchmark: the cost of one wake, task to task.
//!
//! Two tasks play ping-pong through two one-slot channels written here in a dozen lines
//! (`Rc<Slot>`: a `Cell` for the value, a `Cell` for the receiver's `Waker`). Each hand-off
//! stores a value and wakes the other task, which the executor then polls: one operation
//! is `wake()` + a trip through the run queue + one poll. There is no I/O, so this is the
//! executor's own overhead. The same program on tokio's `current_thread` runtime is
//! `bench/src/bin/tokio_micro.rs`.
//!
//! ```text
//! cargo bench --bench wake
//! ```
//!
//! It prints `wake: <ns> ns/op`, per wake actually made, the best of a few rounds.

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Instant;

use epoll_rt::{Runtime, spawn};

/// Wakes per round (two per round trip).
const WAKES: u64 = 1_000_000;

/// Rounds; the best one is reported.
const ROUNDS: usize = 3;

/// A channel that holds at most one value, for one sender and one receiver on one thread.
#[derive(Default)]
struct Slot {
    /// The value sent and not yet received.
    value: Cell<Option<u64>>,
    /// The receiver, if it is waiting.
    waker: Cell<Option<Waker>>,
    /// Wakes made through this slot (a receiver that finds its value at once needs none).
    wakes: Cell<u64>,
}

impl Slot {
    /// Stores `value` and wakes the receiver if it waits.
    fn send(&self, value: u64) {
        self.value.set(Some(value));
        if let Some(waker) = self.waker.take() {
            self.wakes.set(self.wakes.get() + 1);
            waker.wake();
        }
    }

    /// Waits for a value and takes it.
    async fn recv(&self) -> u64 {
        poll_fn(|cx| match self.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                // Returning Pending obliges us to be woken: `send` will do it.
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}

/// Plays `WAKES / 2` round trips and returns the time per wake, in nanoseconds.
async fn round() -> f64 {
    let to_pong = Rc::new(Slot::default());
    let to_ping = Rc::new(Slot::default());
    let trips = WAKES / 2;

    let start = Instant::now();
    let pong = spawn({
        let (inbox, outbox) = (to_pong.clone(), to_ping.clone());
        async move {
            for _ in 0..trips {
                let value = inbox.recv().await;
                outbox.send(value + 1);
            }
        }
    });
    let ping = spawn({
        let (inbox, outbox) = (to_ping.clone(), to_pong.clone());
        async move {
            let mut value = 0;
            for _ in 0..trips {
                outbox.send(value);
                value = inbox.recv().await;
            }
            value
        }
    });
    let last = ping.await.expect("ping completes");
    pong.await.expect("pong completes");
    let elapsed = start.elapsed();

    assert_eq!(last, trips);
    let wakes = to_pong.wakes.get() + to_ping.wakes.get();
    elapsed.as_nanos() as f64 / wakes.max(1) as f64
}

fn main() -> std::io::Result<()> {
    let runtime = Runtime::new()?;
    let best = (0..ROUNDS)
        .map(|_| runtime.block_on(round()))
        .fold(f64::INFINITY, f64::min);
    println!("wake: {best:.1} ns/op (best of {ROUNDS} rounds of {WAKES} wakes)");
    Ok(())
}
