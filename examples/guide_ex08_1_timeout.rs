//! Guide, chapter 8, exercise 1: write `timeout` yourself from `sleep`.
//!
//! `MyTimeout` polls the inner future first and a `Sleep` second: whichever is ready
//! decides. When the sleep wins, the inner future is dropped with the `MyTimeout`, which
//! cancels it; the program checks that with a future whose destructor sets a flag.
//!
//! ```text
//! cargo run --example guide_ex08_1_timeout
//! ```

use std::cell::Cell;
use std::future::{Future, pending};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::{Sleep, sleep};

/// The deadline passed before the future completed.
#[derive(Debug, PartialEq)]
struct Elapsed;

/// `future`, or `Err(Elapsed)` once `sleep` completes first.
struct MyTimeout<F> {
    /// The future under a deadline; boxed, so `MyTimeout` need not be pinned itself.
    future: Pin<Box<F>>,
    /// The deadline, as a timer of the runtime.
    sleep: Pin<Box<Sleep>>,
}

impl<F: Future> Future for MyTimeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The future first: if it is ready at the deadline, its result wins.
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // Both keep the task's waker: an I/O event or the timer, whichever comes first,
        // brings us back here.
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `future` with a deadline `duration` from now.
fn my_timeout<F: Future>(duration: Duration, future: F) -> MyTimeout<F> {
    MyTimeout {
        future: Box::pin(future),
        sleep: Box::pin(sleep(duration)),
    }
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

fn main() {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let dropped = Rc::new(Cell::new(false));
    let start = Instant::now();
    let (fast, slow) = epoll_rt::block_on(async {
        // A 10 ms sleep under a 200 ms deadline: done in time.
        let fast = my_timeout(Duration::from_millis(200), async {
            sleep(Duration::from_millis(10)).await;
            "done"
        })
        .await;
        // A future that never completes, under a 30 ms deadline.
        let flag = DropFlag(dropped.clone());
        let slow = my_timeout(Duration::from_millis(30), async move {
            let _flag = flag;
            pending::<()>().await
        })
        .await;
        (fast, slow)
    });
    let elapsed = start.elapsed();
    println!(
        "fast: {fast:?}; slow: {slow:?}, its future dropped: {}; {elapsed:?} in all",
        dropped.get()
    );
    assert_eq!(fast, Ok("done"));
    assert_eq!(slow, Err(Elapsed));
    assert!(
        dropped.get(),
        "the timed-out future was dropped, that is, cancelled"
    );
    assert!(
        elapsed >= Duration::from_millis(40),
        "a timer never fires early"
    );
}
