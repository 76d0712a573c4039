//! Time: sleeping, deadlines for other futures, and periodic ticks.
//!
//! Timers live in the reactor (see `driver/timers.rs`): the nearest deadline bounds each
//! `epoll_wait`, and a timer that comes due wakes its task like an I/O event does.
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
//! `timespec` in nanoseconds, so a `sleep` wakes as close to its deadline as the kernel's
//! timer slack allows rather than up to a millisecond late. Linux's default slack is
//! 50 µs, so while a runtime runs it lowers its thread's slack to 1 µs (restored when
//! `block_on` returns); `cargo bench --bench timer_precision` measures the result. No extra descriptor is needed, as a `timerfd` would be. On an older
//! kernel the timeout is rounded up to the next millisecond: late, never early.

mod interval;
mod sleep;
mod timeout;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout};
