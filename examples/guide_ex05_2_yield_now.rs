//! Guide, chapter 5, exercise 2: write `yield_now` yourself, and check that the run queue
//! is FIFO.
//!
//! `YieldNow` returns `Pending` once, after waking its own task: the executor puts the
//! task at the back of the run queue, behind every task that was already waiting. Three
//! tasks that each yield between steps therefore take turns: A1 B1 C1 A2 B2 C2.
//!
//! ```text
//! cargo run --example guide_ex05_2_yield_now
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Pending once (with a wake), then Ready.
struct YieldNow {
    /// Whether we already stepped aside.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Keep the contract of `Pending`: arrange to be polled again. Here, at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Steps aside once, to the back of the run queue.
fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

fn main() {
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let order = Rc::new(RefCell::new(Vec::new()));
    epoll_rt::block_on(async {
        let tasks: Vec<_> = ["A", "B", "C"]
            .into_iter()
            .map(|name| {
                let order = order.clone();
                epoll_rt::spawn(async move {
                    for step in 1..=3 {
                        order.borrow_mut().push(format!("{name}{step}"));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("no task panics");
        }
    });
    let order = order.borrow().join(" ");
    println!("run order: {order}");
    assert_eq!(order, "A1 B1 C1 A2 B2 C2 A3 B3 C3");
}
