//! Guide, chapter 5, exercise 1: see the 64-polls rule in `Runtime::stats`.
//!
//! A task that yields 6400 times is always ready again, so the run queue is never empty.
//! Without the rule, the loop would never call `epoll_wait` until the task finished; with
//! it, the loop looks at epoll (with a zero timeout) after every 64 polls, about 100
//! times here.
//!
//! ```text
//! cargo run --example guide_ex05_1_polls_per_turn
//! ```

use std::io;

use epoll_rt::{Runtime, yield_now};

/// How often the spinner yields.
const YIELDS: u64 = 6400;

fn main() -> io::Result<()> {
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let runtime = Runtime::new()?;
    let spinner = runtime.spawn(async {
        for _ in 0..YIELDS {
            yield_now().await;
        }
    });
    runtime
        .block_on(spinner)
        .expect("the spinner does not panic");
    let stats = runtime.stats();
    println!(
        "{} polls, {} epoll_waits: one look at epoll every {:.1} polls",
        stats.polls,
        stats.epoll_waits,
        stats.polls as f64 / stats.epoll_waits as f64
    );
    // The spinner's 6401 polls, plus a few of the block_on future.
    assert!(stats.polls > YIELDS);
    // At least one look per 64 polls; and not many more, since the queue was never empty.
    assert!(
        stats.epoll_waits >= stats.polls / 64,
        "fewer looks than the rule promises"
    );
    assert!(
        stats.epoll_waits <= stats.polls / 64 + 5,
        "more looks than the rule needs"
    );
    Ok(())
}
