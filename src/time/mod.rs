//! Time: sleeping, deadlines for other futures, and periodic ticks.
//!
//! Timers live in the reactor (see `driver/timers.rs`): the nearest deadline bounds each
//! `epoll_wait` (within a millisecond, as its timeout; further, through a timerfd set for
//! it, `driver/alarm.rs`), and a timer that comes due wakes its task like an I/O event
//! does.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use epoll_rt::time::{sleep, timeout};
//!
//! epoll_rt::block_on(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_millis(5)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(5)); // never early
//!     // A future that takes too long is dropped at its deadline.
//!     let slow = sleep(Duration::from_secs(60));
//!     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
//! });
//! ```
//!
//! # Precision
//!
//! `epoll_wait` takes its timeout in milliseconds, which is why tokio's timers round to
//! 1 ms. This runtime waits with `epoll_pwait2` (Linux 5.11), whose timeout is a
//! `timespec` in nanoseconds, so a `sleep` is not rounded up to the next millisecond. The
//! kernel still ends a wait up to a *slack* late: the thread's timer slack (50 µs by
//! default, which the runtime lowers to 1 µs while `block_on` runs, and restores when it
//! returns), or a thousandth of the wait (a two-hundredth in a niced process, at most
//! 100 ms), whichever is larger. So a deadline more than 1 ms away is not a timeout at
//! all: the reactor sets a timerfd for it, which the kernel fires with no slack, and waits
//! with no timeout until it rings (`driver/alarm.rs`). So a `sleep` of a second wakes as
//! close to its deadline as one of a millisecond (`bench/lateness.sh` measures both, next
//! to tokio). Where a timerfd cannot be made, the reactor stops waiting for a far
//! deadline early by more than the slack, and waits out the rest in a short wait
//! (`driver/slack.rs`). Where `epoll_pwait2` is not available (a kernel before 5.11, or
//! a seccomp profile that refuses it), timeouts are rounded up to the next millisecond:
//! late, never early.

mod interval;
mod sleep;
mod timeout;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};
