//! Per-operation costs as work grows: timers and tasks, on epoll-rt and on tokio's
//! `current_thread` runtime, with the same code (`bench/scaling.sh` runs it at 10³ to 10⁶).
//!
//! ```text
//! cargo run --release --bin scaling -- epoll-rt timers 100000
//! cargo run --release --bin scaling -- tokio tasks 1000000 [--batch 1000] [--rounds 15]
//! ```
//!
//! With SIZE timers pending (deadlines scattered 10 to 70 s away), or SIZE tasks alive
//! (each waiting on a waker kept in a table), each round times one batch of BATCH
//! operations and divides by BATCH:
//!
//! - timers: `insert` (first poll of a new `sleep_until`, which registers it), `cancel`
//!   (dropping those before their deadline), `fire` (BATCH timers due 1 ms later, from the
//!   end of their registration until the task that holds them has seen every one fire);
//! - tasks: `spawn` (spawning BATCH tasks that end at their first poll), `wake` (waking
//!   BATCH of the live tasks), `poll` (from then until the runtime has polled all of them).
//!
//! Times are the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: time the
//! thread spends waiting for a CPU on a loaded machine is not in it, nor the 1 ms sleep
//! before timers fire. Both runtimes run on this one thread. The result is one line,
//! `scaling: runtime=.. kind=.. size=.. OP_ns=..`, each figure the median of the rounds.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::process::ExitCode;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// What a runtime offers this benchmark: spawning a local task, and a timer.
trait Rt {
    /// The runtime's timer future.
    type Sleep: Future<Output = ()> + 'static;
    /// Spawns `future` as a task of the current runtime, detached.
    fn spawn<F: Future<Output = ()> + 'static>(future: F);
    /// A timer that fires at `deadline`.
    fn sleep_until(deadline: Instant) -> Self::Sleep;
}

/// epoll-rt: `epoll_rt::spawn` (which takes `!Send` futures) and `epoll_rt::time`.
struct EpollRt;

impl Rt for EpollRt {
    type Sleep = epoll_rt::time::Sleep;
    fn spawn<F: Future<Output = ()> + 'static>(future: F) {
        drop(epoll_rt::spawn(future));
    }
    fn sleep_until(deadline: Instant) -> Self::Sleep {
        epoll_rt::time::sleep_until(deadline)
    }
}

/// tokio `current_thread` in a `LocalSet`: `spawn_local`, since the tasks hold `Rc`s.
struct Tokio;

impl Rt for Tokio {
    type Sleep = tokio::time::Sleep;
    fn spawn<F: Future<Output = ()> + 'static>(future: F) {
        drop(tokio::task::spawn_local(future));
    }
    fn sleep_until(deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }
}

/// The calling thread's CPU time, user and system.
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(
        rc, 0,
        "CLOCK_THREAD_CPUTIME_ID is always available on Linux"
    );
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Nanoseconds per operation of `batch` operations that took `cpu`.
fn per_op(cpu: Duration, batch: usize) -> f64 {
    cpu.as_nanos() as f64 / batch as f64
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Deadline number `i`: between 10 s and 70 s after `base`, scattered by a multiplicative
/// hash of `i` (the same every run, as in `benches/timers.rs`).
fn scattered(base: Instant, i: u64) -> Instant {
    let mixed = i
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    base + Duration::from_secs(10) + Duration::from_micros((mixed >> 33) % 60_000_000)
}

/// Polls every timer in `timers` once, from this task; returns how many are still pending.
async fn poll_all<S: Future<Output = ()>>(timers: &mut [Pin<Box<S>>]) -> usize {
    poll_fn(|cx| {
        let mut pending = 0;
        for timer in timers.iter_mut() {
            pending += usize::from(timer.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(pending)
    })
    .await
}

/// Timers: with `size` pending, the median cost of insert, cancel and fire, in ns.
async fn timers<R: Rt>(size: usize, batch: usize, rounds: usize) -> [f64; 3] {
    let base = Instant::now();
    let mut pending: Vec<Pin<Box<R::Sleep>>> = (0..size as u64)
        .map(|i| Box::pin(R::sleep_until(scattered(base, i))))
        .collect();
    assert_eq!(
        poll_all(&mut pending).await,
        size,
        "deadlines are 10 s away"
    );

    let (mut insert, mut cancel, mut fire) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        // Insert and cancel: a batch among the `size`, at scattered deadlines.
        let first = (size + round * batch) as u64;
        let mut extra: Vec<Pin<Box<R::Sleep>>> = (first..first + batch as u64)
            .map(|i| Box::pin(R::sleep_until(scattered(base, i))))
            .collect();
        let start = cpu_now();
        let still = poll_all(&mut extra).await;
        insert.push(per_op(cpu_now() - start, batch));
        assert_eq!(still, batch, "deadlines are 10 s away");
        let start = cpu_now();
        drop(extra);
        cancel.push(per_op(cpu_now() - start, batch));

        // Fire: a batch due in 1 ms, all at once.
        let due = Instant::now() + Duration::from_millis(1);
        let mut soon: Vec<Pin<Box<R::Sleep>>> =
            (0..batch).map(|_| Box::pin(R::sleep_until(due))).collect();
        assert_eq!(poll_all(&mut soon).await, batch, "due in 1 ms");
        let start = cpu_now();
        let mut left = batch;
        poll_fn(|cx| {
            // Polls only the timers not fired yet; a fired one is dropped, so each fires once.
            let mut i = 0;
            while i < soon.len() {
                if soon[i].as_mut().poll(cx).is_ready() {
                    drop(soon.swap_remove(i));
                    left -= 1;
                } else {
                    i += 1;
                }
            }
            if left == 0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        fire.push(per_op(cpu_now() - start, batch));
    }
    drop(pending);
    [median(insert), median(cancel), median(fire)]
}

/// What the live tasks of [`tasks`] share with the task that measures them.
#[derive(Default)]
struct Board {
    /// The waker of each live task, put there by its last poll and taken by a wake.
    wakers: RefCell<Vec<Option<Waker>>>,
    /// Polls counted since the measuring task last reset it.
    polls: Cell<usize>,
    /// The count of `polls` at which the measuring task wants to be woken.
    target: Cell<usize>,
    /// The measuring task, while it waits for `target`.
    measurer: Cell<Option<Waker>>,
}

impl Board {
    /// Counts one poll; wakes the measuring task when it is the awaited one.
    fn count_poll(&self) {
        self.polls.set(self.polls.get() + 1);
        if self.polls.get() == self.target.get()
            && let Some(waker) = self.measurer.take()
        {
            waker.wake();
        }
    }

    /// Waits until `target` polls have been counted since `polls` was last zero.
    async fn wait_for(&self, target: usize) {
        self.target.set(target);
        poll_fn(|cx| {
            if self.polls.get() >= target {
                Poll::Ready(())
            } else {
                self.measurer.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}

/// Live task number `index`: forever pending, and counting each poll on `board`.
async fn live(board: Rc<Board>, index: usize) {
    poll_fn(|cx| {
        let old = board.wakers.borrow_mut()[index].replace(cx.waker().clone());
        // The old waker (none after a wake took it) drops with no borrow held.
        drop(old);
        board.count_poll();
        Poll::<()>::Pending
    })
    .await
}

/// Tasks: with `size` alive, the median cost of spawn, wake and poll, in ns.
async fn tasks<R: Rt>(size: usize, batch: usize, rounds: usize) -> [f64; 3] {
    let board = Rc::new(Board::default());
    *board.wakers.borrow_mut() = vec![None; size];
    for index in 0..size {
        R::spawn(live(board.clone(), index));
    }
    board.wait_for(size).await;

    let (mut spawn, mut wake, mut poll) = (vec![], vec![], vec![]);
    let stride = (size / batch).max(1);
    for round in 0..rounds {
        // Spawn: tasks that end at their first poll; the live count stays `size`.
        board.polls.set(0);
        let start = cpu_now();
        for _ in 0..batch {
            let board = board.clone();
            R::spawn(async move { board.count_poll() });
        }
        spawn.push(per_op(cpu_now() - start, batch));
        board.wait_for(batch).await;

        // Wake `batch` live tasks spread over the table, then let the runtime poll them.
        board.polls.set(0);
        let woken: Vec<Waker> = {
            let mut wakers = board.wakers.borrow_mut();
            (0..batch)
                .map(|k| (round + k * stride) % size)
                .filter_map(|i| wakers[i].take())
                .collect()
        };
        let n = woken.len();
        let start = cpu_now();
        for waker in woken {
            waker.wake();
        }
        wake.push(per_op(cpu_now() - start, n));
        let start = cpu_now();
        board.wait_for(n).await;
        poll.push(per_op(cpu_now() - start, n));
    }
    [median(spawn), median(wake), median(poll)]
}

/// The command line: runtime, kind, size, and the optional batch and rounds.
struct Options {
    /// `epoll-rt` or `tokio`.
    runtime: String,
    /// `timers` or `tasks`.
    kind: String,
    /// Timers pending or tasks alive.
    size: usize,
    /// Operations per timed batch.
    batch: usize,
    /// Timed batches; each figure is their median.
    rounds: usize,
}

impl Options {
    /// Parses `std::env::args`.
    fn parse() -> Result<Self, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let [runtime, kind, size, rest @ ..] = &args[..] else {
            return Err(
                "usage: scaling epoll-rt|tokio timers|tasks SIZE [--batch B] [--rounds R]".into(),
            );
        };
        let number = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
        let mut opts = Options {
            runtime: runtime.clone(),
            kind: kind.clone(),
            size: number(size)?,
            batch: 1000,
            rounds: 15,
        };
        for pair in rest.chunks(2) {
            match pair {
                [flag, value] if flag == "--batch" => opts.batch = number(value)?,
                [flag, value] if flag == "--rounds" => opts.rounds = number(value)?,
                _ => return Err(format!("unknown option: {}", pair.join(" "))),
            }
        }
        if opts.size == 0 || opts.batch == 0 || opts.rounds == 0 {
            return Err("SIZE, --batch and --rounds must be above 0".into());
        }
        Ok(opts)
    }
}

/// Runs the measurement `opts` asks for and prints its line.
fn run(opts: &Options) -> std::io::Result<()> {
    let (size, batch, rounds) = (opts.size, opts.batch, opts.rounds);
    let figures = match (opts.runtime.as_str(), opts.kind.as_str()) {
        ("epoll-rt", "timers") => {
            epoll_rt::Runtime::new()?.block_on(timers::<EpollRt>(size, batch, rounds))
        }
        ("epoll-rt", "tasks") => {
            epoll_rt::Runtime::new()?.block_on(tasks::<EpollRt>(size, batch, rounds))
        }
        ("tokio", kind @ ("timers" | "tasks")) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let local = tokio::task::LocalSet::new();
            if kind == "timers" {
                local.block_on(&runtime, timers::<Tokio>(size, batch, rounds))
            } else {
                local.block_on(&runtime, tasks::<Tokio>(size, batch, rounds))
            }
        }
        (runtime, kind) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown runtime or kind: {runtime} {kind}"),
            ));
        }
    };
    let names = if opts.kind == "timers" {
        ["insert", "cancel", "fire"]
    } else {
        ["spawn", "wake", "poll"]
    };
    let mut line = format!(
        "scaling: runtime={} kind={} size={size} batch={batch} rounds={rounds}",
        opts.runtime, opts.kind
    );
    for (name, ns) in names.iter().zip(figures) {
        line += &format!(" {name}_ns={ns:.1}");
    }
    println!("{line}");
    Ok(())
}

fn main() -> ExitCode {
    let opts = match Options::parse() {
        Ok(opts) => opts,
        Err(message) => {
            eprintln!("scaling: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scaling: {e}");
            ExitCode::FAILURE
        }
    }
}
