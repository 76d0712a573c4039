//! Chapter 8 of the guide (`docs/guide/08-timers.md`): timers on the reactor.
//!
//! 1. Three sleeps started out of order finish in deadline order: the reactor keeps
//!    deadlines sorted and sleeps in `epoll_wait` until the nearest one.
//! 2. How late does a short `sleep` wake? Sub-millisecond sleeps, measured (`epoll_pwait2`
//!    takes a timeout in nanoseconds, so nothing is rounded up to a whole millisecond).
//! 3. An `interval` whose task was busy for 35 ms, with each of the three catch-up
//!    policies: which ticks it then delivers, and when.
//!
//! ```text
//! cargo run --example guide_ch08_timers
//! cargo run --release --example guide_ch08_timers   # steadier figures for part 2
//! ```
//!
//! Exits with status 0 if the timers behaved as the chapter says (never early, in order,
//! the burst policy on its original schedule), 1 otherwise. The lateness figures depend on
//! the machine and are printed, not checked.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::spawn;
use epoll_rt::time::{MissedTickBehavior, interval_at, sleep};

/// Part 1: sleeps of 30, 10 and 20 ms, started in that order.
async fn deadline_order() -> bool {
    let finished = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = [30u64, 10, 20]
        .into_iter()
        .map(|ms| {
            let finished = finished.clone();
            spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                finished.borrow_mut().push(ms);
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let order = finished.borrow().clone();
    println!("1. sleeps started as 30, 10, 20 ms finished as {order:?} ms");
    order == [10, 20, 30]
}

/// Part 2: the lateness of short sleeps: median and worst of 20 each.
async fn precision() -> bool {
    println!("2. how late a sleep wakes (20 sleeps each):");
    let mut never_early = true;
    for micros in [100u64, 250, 1000, 1500] {
        let wanted = Duration::from_micros(micros);
        let mut late = Vec::new();
        for _ in 0..20 {
            let start = Instant::now();
            sleep(wanted).await;
            let took = start.elapsed();
            never_early &= took >= wanted;
            late.push(took.saturating_sub(wanted));
        }
        late.sort();
        println!(
            "   sleep({wanted:>7?}): median {:>9?} late, worst {:>9?}",
            late[late.len() / 2],
            late[late.len() - 1]
        );
    }
    never_early
}

/// Part 3: one interval per policy: a tick at 0, then 35 ms of blocking work, then four ticks.
/// Returns the due times of those four ticks, in ms from the start.
async fn catch_up(policy: MissedTickBehavior) -> Vec<u128> {
    let start = Instant::now();
    let mut ticks = interval_at(start, Duration::from_millis(10));
    ticks.set_missed_tick_behavior(policy);
    ticks.tick().await; // due at 0
    thread::sleep(Duration::from_millis(35)); // busy: the ticks at 10, 20 and 30 are missed
    let mut due = Vec::new();
    let mut line = String::new();
    for _ in 0..4 {
        let due_at = ticks.tick().await;
        let ms = due_at.duration_since(start).as_millis();
        line += &format!(" {ms:>3} (at {:>3})", start.elapsed().as_millis());
        due.push(ms);
    }
    println!("   {:<6} due at{line}", format!("{policy:?}"));
    due
}

fn main() -> ExitCode {
    let ok = epoll_rt::block_on(async {
        let mut ok = deadline_order().await;
        ok &= precision().await;
        println!(
            "3. interval(10 ms), busy for 35 ms after the first tick; the next four ticks, ms:"
        );
        let burst = catch_up(MissedTickBehavior::Burst).await;
        catch_up(MissedTickBehavior::Delay).await;
        catch_up(MissedTickBehavior::Skip).await;
        // Burst keeps the original schedule: the missed ticks come at once, then on time.
        ok &= burst == [10, 20, 30, 40];
        ok
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("unexpected: the timers did not behave as chapter 8 describes");
        ExitCode::FAILURE
    }
}
