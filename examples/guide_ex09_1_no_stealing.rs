//! Guide, chapter 9, exercise 1: what does "no stealing" mean for a task stuck behind a
//! blocking call?
//!
//! Two runtimes, one per thread (`block_on_threads`, the thread-per-core shape). On
//! runtime 0, one task blocks its thread for 200 ms while a sibling waits for a 10 ms
//! timer; runtime 1 runs the same kind of timer. The sibling on the blocked runtime is
//! about 200 ms late: nothing moves it to the idle thread. The timer on the other runtime
//! is on time. A work-stealing scheduler (tokio's multi-threaded one, for example) would
//! run the woken sibling on another worker; with one runtime per thread, keep blocking
//! calls off the runtime's thread.
//!
//! ```text
//! cargo run --example guide_ex09_1_no_stealing
//! ```

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::sleep;

/// How long the blocking call holds runtime 0's thread.
const BLOCKED: Duration = Duration::from_millis(200);

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let taken = epoll_rt::block_on_threads(2, |i| async move {
        let start = Instant::now();
        // The timer task: asks for 10 ms.
        let timer = epoll_rt::spawn(async move {
            sleep(Duration::from_millis(10)).await;
            start.elapsed()
        });
        if i == 0 {
            // A task that blocks the thread (a std sleep standing for a blocking call).
            epoll_rt::spawn(async { thread::sleep(BLOCKED) });
        }
        timer.await.expect("the timer task does not panic")
    })?;
    let (blocked, free) = (taken[0], taken[1]);
    println!("10 ms timer on the blocked runtime: {blocked:?}; on the other runtime: {free:?}");
    assert!(
        blocked >= BLOCKED,
        "the sibling waited for the blocking call"
    );
    // Generous, for a busy machine: the point is that it did not wait the 200 ms.
    assert!(
        free < Duration::from_millis(150),
        "the other runtime was not held up"
    );
    Ok(())
}
