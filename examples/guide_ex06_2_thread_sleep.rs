//! Guide, chapter 6, exercise 2: add `sleep` to the small runtime, with a thread per
//! timer, and so exercise its eventfd.
//!
//! The runtime of `guide_ch06_build_it.rs` has no timers. The quickest `sleep`: a future
//! that, at its first poll, starts a thread which sleeps and then wakes the task. That
//! wake comes from another thread while the loop sleeps in `epoll_wait`, so only the
//! runtime's eventfd can cut that sleep short; without it, this program would hang. The
//! price, a thread per timer, is why chapter 8 puts the timers in the reactor instead and
//! makes the nearest deadline the `epoll_wait` timeout.
//!
//! ```text
//! cargo run --example guide_ex06_2_thread_sleep
//! ```

#[allow(dead_code)] // Its `main` and the parts this exercise does not use.
#[path = "guide_ch06_build_it.rs"]
mod build_it;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

/// Completes once `duration` has passed, woken by a thread of its own.
struct ThreadSleep {
    /// How long to sleep.
    duration: Duration,
    /// Set by the thread when the time is up; `None` until the first poll.
    done: Option<Arc<AtomicBool>>,
}

impl Future for ThreadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.done {
            Some(done) if done.load(Ordering::Acquire) => Poll::Ready(()),
            // Polled again before the time is up (another wake): keep waiting. The thread
            // has the first waker, which wakes the same task.
            Some(_) => Poll::Pending,
            None => {
                let done = Arc::new(AtomicBool::new(false));
                let (theirs, waker, duration) = (done.clone(), cx.waker().clone(), self.duration);
                thread::spawn(move || {
                    thread::sleep(duration);
                    theirs.store(true, Ordering::Release);
                    waker.wake(); // from this thread: through the eventfd
                });
                self.done = Some(done);
                Poll::Pending
            }
        }
    }
}

/// Sleeps for `duration`.
fn sleep(duration: Duration) -> ThreadSleep {
    ThreadSleep {
        duration,
        done: None,
    }
}

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s: the wake from another thread was lost");
        std::process::exit(1);
    });
    let start = Instant::now();
    let order = build_it::block_on(async {
        // Two tasks sleep concurrently; the main future sleeps longest.
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        for (name, ms) in [("60 ms", 60), ("20 ms", 20)] {
            let order = order.clone();
            build_it::spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                order.borrow_mut().push(name);
            });
        }
        sleep(Duration::from_millis(100)).await;
        order.take()
    })?;
    let elapsed = start.elapsed();
    println!("woke in the order {order:?}; {elapsed:?} in all");
    assert_eq!(order, ["20 ms", "60 ms"]);
    assert!(elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(2));
    Ok(())
}
