//! How late a `sleep` resumes its task, on epoll-rt and on tokio's `current_thread`
//! runtime, in the same process: sleeps of 100 µs, 1 ms, 10 ms, 100 ms and 1 s.
//!
//! For each length and runtime, `--sleepers` threads (200 by default) each run a runtime of
//! their own, with one task that sleeps `--rounds` times (5) in a row. One runtime per
//! sleeper, because the kernel's slack depends on the length of the *wait*: sleepers
//! sharing a runtime would each wait only until the next sleeper's deadline, and a 1 s
//! sleep would never be a 1 s wait. The threads' first sleeps start spread evenly over the
//! length (at least 20 ms), so that their wakes seldom coincide on the two CPUs, while the
//! whole run stays short: about 6 s per runtime, most of it the 1 s sleeps.
//!
//! Each sleep is a `sleep_until(deadline)`, `deadline` being the instant before the call
//! plus the length; its lateness is the instant the task runs again minus `deadline`. A
//! sleep that resumes before its deadline is counted as early (there should be none). Each
//! runtime keeps its own timer slack: epoll-rt lowers its thread's to 1 µs while
//! `block_on` runs, tokio leaves the default 50 µs.
//!
//! A third column, `threads`, is the floor: the same schedule of sleeps with no runtime at
//! all, each thread blocked in `clock_nanosleep` (`std::thread::sleep` of the length, the
//! deadline taken just before it) with a timer slack of 1 µs, to which the kernel adds no
//! share of the length. Its lateness is the time the kernel (and, in a virtual machine,
//! the host) takes to run a thread whose timer expired: a runtime that sleeps in the
//! kernel cannot wake its tasks sooner.
//!
//! ```text
//! cargo run --release --bin lateness [-- --sleepers 200 --rounds 5]
//! ```
//!
//! It prints one line per runtime (`epoll-rt`, `tokio`, `threads`) and length, which
//! `bench/lateness.sh` turns into a table:
//!
//! ```text
//! lateness runtime=epoll-rt length=1ms samples=1000 early=0 p50_us=12.3 p99_us=45.6 max_us=78.9
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

/// The sleep lengths measured, with the label printed for each.
const LENGTHS: [(&str, Duration); 5] = [
    ("100us", Duration::from_micros(100)),
    ("1ms", Duration::from_millis(1)),
    ("10ms", Duration::from_millis(10)),
    ("100ms", Duration::from_millis(100)),
    ("1s", Duration::from_secs(1)),
];

/// Time given to the threads to start and build their runtimes before the first sleeps.
const STARTUP: Duration = Duration::from_millis(100);

/// The shortest span the first sleeps of the sleepers are spread over.
const MIN_SPREAD: Duration = Duration::from_millis(20);

/// How far after its deadline a sleep resumed, in nanoseconds; negative if early.
fn lateness_ns(resumed: Instant, deadline: Instant) -> i64 {
    match resumed.checked_duration_since(deadline) {
        Some(late) => late.as_nanos() as i64,
        None => -(deadline.duration_since(resumed).as_nanos() as i64),
    }
}

/// One sleeper: sleeps until `first` (not measured), then `rounds` times `length`, and
/// returns the lateness of each of those. `sleep_until` is the runtime's.
async fn sleeper<F: Future<Output = ()>>(
    sleep_until: impl Fn(Instant) -> F,
    first: Instant,
    length: Duration,
    rounds: usize,
) -> Vec<i64> {
    sleep_until(first).await;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let deadline = Instant::now() + length;
        sleep_until(deadline).await;
        samples.push(lateness_ns(Instant::now(), deadline));
    }
    samples
}

/// The first-sleep offset of sleeper `i` of `sleepers`: spread evenly over the length, or
/// over [`MIN_SPREAD`] for short lengths.
fn offset(i: usize, sleepers: usize, length: Duration) -> Duration {
    length.max(MIN_SPREAD) * i as u32 / sleepers as u32
}

/// Every lateness of one length's sleepers: `sleepers` threads, each running
/// `sleep(first, length, rounds)` and returning its samples. The first sleeps begin once
/// every thread has had [`STARTUP`] to start and build its runtime.
fn on_threads(
    length: Duration,
    sleepers: usize,
    rounds: usize,
    sleep: impl Fn(Instant, Duration, usize) -> Vec<i64> + Copy + Send + 'static,
) -> std::io::Result<Vec<i64>> {
    let start = Instant::now() + STARTUP;
    let threads = (0..sleepers)
        .map(|i| {
            let first = start + offset(i, sleepers, length);
            std::thread::Builder::new().spawn(move || sleep(first, length, rounds))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut all = Vec::with_capacity(sleepers * rounds);
    for thread in threads {
        all.extend(thread.join().expect("a sleeper does not panic"));
    }
    Ok(all)
}

/// One sleeper on an epoll-rt runtime of its own.
fn on_epoll_rt(first: Instant, length: Duration, rounds: usize) -> Vec<i64> {
    epoll_rt::block_on(sleeper(epoll_rt::time::sleep_until, first, length, rounds))
}

/// One sleeper on a tokio `current_thread` runtime of its own.
fn on_tokio(first: Instant, length: Duration, rounds: usize) -> Vec<i64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime needs only an epoll instance and an eventfd");
    let sleep_until = |deadline: Instant| tokio::time::sleep_until(deadline.into());
    runtime.block_on(sleeper(sleep_until, first, length, rounds))
}

/// One sleeper with no runtime: `clock_nanosleep` with a 1 µs timer slack.
fn on_plain_thread(first: Instant, length: Duration, rounds: usize) -> Vec<i64> {
    // SAFETY: PR_SET_TIMERSLACK takes the slack (1 µs) as a plain integer.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1_000, 0, 0, 0) };
    std::thread::sleep(first.saturating_duration_since(Instant::now()));
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let deadline = Instant::now() + length;
        std::thread::sleep(length);
        samples.push(lateness_ns(Instant::now(), deadline));
    }
    samples
}

/// Prints the line of one runtime and length (see the module docs).
fn report(runtime: &str, label: &str, mut samples: Vec<i64>) {
    samples.sort_unstable();
    let early = samples.iter().filter(|&&ns| ns < 0).count();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
    println!(
        "lateness runtime={runtime} length={label} samples={} early={early} \
         p50_us={:.1} p99_us={:.1} max_us={:.1}",
        samples.len(),
        at(0.5),
        at(0.99),
        at(1.0),
    );
}

/// The value of `--name N` on the command line, or `default`.
fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

fn main() -> std::io::Result<()> {
    let sleepers = arg("--sleepers", 200).max(1);
    let rounds = arg("--rounds", 5).max(1);
    for (label, length) in LENGTHS {
        report(
            "epoll-rt",
            label,
            on_threads(length, sleepers, rounds, on_epoll_rt)?,
        );
        report(
            "tokio",
            label,
            on_threads(length, sleepers, rounds, on_tokio)?,
        );
        report(
            "threads",
            label,
            on_threads(length, sleepers, rounds, on_plain_thread)?,
        );
    }
    Ok(())
}
