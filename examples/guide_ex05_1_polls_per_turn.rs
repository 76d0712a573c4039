//! Guide, chapter 5, exercise 1: see the 64-polls rule in `Runtime::stats`, and how
//! `yield_now` differs from a task that wakes itself.
//!
//! A task that wakes itself and returns `Pending`, 6400 times, is always ready again, so
//! the run queue is never empty. Without the rule, the loop would never call `epoll_wait`
//! until the task finished; with it, the loop looks at epoll (with a zero timeout) after
//! every 64 polls, about 100 times here. `epoll_rt::yield_now` goes further: the task is
//! woken only after the runtime's next look at epoll, so each of 6400 yields costs one
//! `epoll_wait`, and no socket waits more than one yield for its turn.
//!
//! ```text
//! cargo run --example guide_ex05_1_polls_per_turn
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use epoll_rt::{Runtime, RuntimeStats, yield_now};

/// How many times each spinner steps aside.
const STEPS: u64 = 6400;

/// `Pending` once, after waking its own task at once: to the back of the run queue.
struct WakeSelf {
    /// Whether the one `Pending` was returned already.
    done: bool,
}

impl Future for WakeSelf {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        self.done = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `spinner` alone on a new runtime; returns the runtime's counts.
fn run_alone(spinner: impl Future<Output = ()> + 'static) -> io::Result<RuntimeStats> {
    let runtime = Runtime::new()?;
    let task = runtime.spawn(spinner);
    runtime.block_on(task).expect("the spinner does not panic");
    Ok(runtime.stats())
}

fn main() -> io::Result<()> {
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });

    let woke = run_alone(async {
        for _ in 0..STEPS {
            WakeSelf { done: false }.await;
        }
    })?;
    let yielded = run_alone(async {
        for _ in 0..STEPS {
            yield_now().await;
        }
    })?;
    for (how, stats) in [("woke itself", &woke), ("yield_now", &yielded)] {
        println!(
            "{how}: {} polls, {} epoll_waits: one look at epoll every {:.1} polls",
            stats.polls,
            stats.epoll_waits,
            stats.polls as f64 / stats.epoll_waits as f64
        );
    }

    // The spinner's 6401 polls, plus a few of the block_on future.
    assert!(woke.polls > STEPS && yielded.polls > STEPS);
    // Waking itself: at least one look per 64 polls; and not many more, since the queue
    // was never empty.
    assert!(
        woke.epoll_waits >= woke.polls / 64,
        "fewer looks than the rule promises"
    );
    assert!(
        woke.epoll_waits <= woke.polls / 64 + 5,
        "more looks than the rule needs"
    );
    // Yielding: a look after every yield.
    assert!(
        yielded.epoll_waits >= STEPS,
        "a yield did not wait for a look at epoll"
    );
    Ok(())
}
