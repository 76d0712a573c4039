//! Micro-benchmark: how late does a `sleep` wake?
//!
//! Sleeps of 100 µs and of 1 ms, 300 of each, one after the other on an otherwise idle
//! runtime; for each, the lateness is the time from the deadline to the moment the task
//! runs again. Reported as the median and the 99th percentile, in microseconds:
//! `late_100us_p50`, `late_100us_p99`, `late_1ms_p50`, `late_1ms_p99`.
//!
//! This runtime waits with `epoll_pwait2` and a nanosecond timeout, so the lateness is the
//! kernel's timer slack (1 µs while the runtime runs) plus the time the kernel takes to run
//! the woken thread; tokio's timer wheel rounds deadlines to the millisecond. The same
//! measurement on tokio is in `bench/src/bin/tokio_micro.rs`; `bench/lateness.sh` measures
//! longer sleeps too, on both runtimes.
//!
//! ```text
//! cargo bench --bench timer_precision
//! ```

use std::time::{Duration, Instant};

use epoll_rt::time::sleep;

/// Sleeps measured per duration.
const SAMPLES: usize = 300;

/// Median and 99th percentile of `lateness`, in microseconds.
fn percentiles(mut lateness: Vec<Duration>) -> (f64, f64) {
    lateness.sort();
    let at =
        |q: f64| lateness[((lateness.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

fn main() {
    let results = epoll_rt::block_on(async {
        let mut results = Vec::new();
        for (label, duration) in [
            ("100us", Duration::from_micros(100)),
            ("1ms", Duration::from_millis(1)),
        ] {
            let mut lateness = Vec::with_capacity(SAMPLES);
            for _ in 0..SAMPLES {
                let deadline = Instant::now() + duration;
                sleep(duration).await;
                lateness.push(Instant::now().saturating_duration_since(deadline));
            }
            results.push((label, percentiles(lateness)));
        }
        results
    });
    for (label, (p50, p99)) in results {
        println!("late_{label}_p50: {p50:.1} µs (median lateness of {SAMPLES} sleeps)");
        println!("late_{label}_p99: {p99:.1} µs (99th percentile)");
    }
}
