//! Guide, chapter 3, exercise 1: `spawn_blocking` from chapter 3's `Flag` and a thread.
//!
//! A blocking call (here a 200 ms `thread::sleep`, standing for a file read or a DNS
//! lookup) runs on a std thread of its own; the task awaits a future that completes when
//! the thread has stored the result and woken the task, exactly as `set_flag` does. The
//! program checks that another task keeps running meanwhile, and that the result arrives.
//!
//! ```text
//! cargo run --example guide_ex03_1_spawn_blocking
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// What the thread and the future share: the result once there is one, and the waker of
/// the task that waits for it.
struct Slot<T> {
    /// The closure's output, stored by the thread.
    output: Option<T>,
    /// The waiting task's waker, stored by the future.
    waker: Option<Waker>,
}

/// The future `spawn_blocking` returns: chapter 3's `Flag`, carrying a value.
struct Blocking<T> {
    /// Shared with the thread.
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for Blocking<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(output) = slot.output.take() {
            return Poll::Ready(output);
        }
        // Under the same lock the thread takes: a result stored after our check finds
        // this waker.
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Runs `f` on a new thread; the future completes with its output.
fn spawn_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Blocking<T> {
    let slot = Arc::new(Mutex::new(Slot {
        output: None,
        waker: None,
    }));
    let theirs = slot.clone();
    thread::spawn(move || {
        let output = f();
        let waker = {
            let mut slot = theirs.lock().unwrap_or_else(PoisonError::into_inner);
            slot.output = Some(output);
            slot.waker.take()
        };
        // Wake outside the lock, from a thread that is not the runtime's: the runtime's
        // eventfd interrupts its epoll_wait.
        if let Some(waker) = waker {
            waker.wake();
        }
    });
    Blocking { slot }
}

fn main() {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let ticks = Rc::new(Cell::new(0u32));
    let start = Instant::now();
    let (answer, during) = epoll_rt::block_on(async {
        // A task that ticks every 10 ms while the blocking call runs.
        let counter = ticks.clone();
        let ticker = epoll_rt::spawn(async move {
            for _ in 0..10 {
                epoll_rt::time::sleep(Duration::from_millis(10)).await;
                counter.set(counter.get() + 1);
            }
        });
        let answer = spawn_blocking(|| {
            thread::sleep(Duration::from_millis(200));
            42
        })
        .await;
        let during = ticks.get();
        ticker.await.expect("the ticker does not panic");
        (answer, during)
    });
    let elapsed = start.elapsed();
    println!(
        "spawn_blocking returned {answer} after {elapsed:?}; the ticker ticked {during} times meanwhile"
    );
    assert_eq!(answer, 42);
    // 10 ticks of 10 ms fit in the 200 ms; half of them is the bound a busy machine keeps.
    assert!(during >= 5, "the runtime kept running other tasks");
    assert!(elapsed >= Duration::from_millis(200));
}
