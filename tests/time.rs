//! Integration tests of `epoll_rt::time`: `sleep` and `sleep_until`, `timeout`, `interval`
//! with each `MissedTickBehavior`, and many timers at once.
//!
//! Timing checks are lower bounds ("did not finish early") or exact arithmetic on the
//! instants the API returns; nothing asserts that the machine was fast, so the tests hold
//! on a loaded machine. Every body runs under `util::run` or `util::watchdog`.

mod util;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, poll_fn};
use std::io;
use std::panic::catch_unwind;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::net::AsyncUnixStream;
use epoll_rt::time::{
    Elapsed, Interval, MissedTickBehavior, Sleep, interval, interval_at, sleep, sleep_until,
    timeout, timeout_at,
};
use epoll_rt::{spawn, yield_now};

/// Sets its flag when dropped: tells a test that a future has been destroyed.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

// ---------------------------------------------------------------------------------------
// sleep, sleep_until
// ---------------------------------------------------------------------------------------

#[test]
fn sleep_does_not_finish_early() {
    util::run(|| async {
        for ms in [1, 5, 20] {
            let duration = Duration::from_millis(ms);
            let start = Instant::now();
            sleep(duration).await;
            assert!(
                start.elapsed() >= duration,
                "sleep({duration:?}) finished early"
            );
        }
        // Sub-millisecond deadlines are honoured too (never rounded down).
        let start = Instant::now();
        sleep(Duration::from_micros(300)).await;
        assert!(start.elapsed() >= Duration::from_micros(300));
    });
}

#[test]
fn sleep_until_does_not_finish_early() {
    util::run(|| async {
        let deadline = Instant::now() + Duration::from_millis(15);
        let nap = sleep_until(deadline);
        assert_eq!(nap.deadline(), deadline);
        assert!(!sleep(Duration::from_secs(3600)).is_elapsed());
        nap.await;
        assert!(Instant::now() >= deadline);
    });
}

/// A timer fires even when every turn of the loop finds events: two tasks bounce a byte
/// over a socket pair, so each wait returns at once with the other end's readiness, never
/// at the timer. (The reactor then reads the clock only before the wait, and fires the
/// timer at the first turn that begins after its deadline.)
#[test]
fn sleep_fires_while_every_turn_has_events() {
    util::run(|| async {
        let (mut a, mut b) = AsyncUnixStream::pair()?;
        let echo = spawn(async move {
            let mut byte = [0u8; 1];
            // Until the other end closes, which fails the read or the write.
            while b.read_exact(&mut byte).await.is_ok() && b.write_all(&byte).await.is_ok() {}
        });
        // One round trip first: the first of all is the slowest by far under valgrind,
        // which translates the code it runs the first time, and could outlast the limit.
        let mut byte = [0u8; 1];
        a.write_all(b"x").await?;
        a.read_exact(&mut byte).await?;
        let round_trips = Cell::new(0u64);
        let limit = Duration::from_millis(20);
        let start = Instant::now();
        let bouncing = timeout(limit, async {
            let mut byte = [0u8; 1];
            loop {
                a.write_all(b"x").await?;
                a.read_exact(&mut byte).await?;
                round_trips.set(round_trips.get() + 1);
            }
        });
        let outcome: Result<io::Result<()>, Elapsed> = bouncing.await;
        assert!(
            outcome.is_err(),
            "the bouncing stopped by itself: {outcome:?}"
        );
        assert!(start.elapsed() >= limit, "the timeout fired early");
        assert!(round_trips.get() > 0, "no byte went back and forth");
        drop(a);
        echo.await.expect("the echo task panicked");
        Ok::<_, io::Error>(())
    })
    .unwrap();
}

#[test]
fn zero_sleep_and_past_deadline_complete_at_first_poll() {
    util::run(|| async {
        let mut zero = sleep(Duration::ZERO);
        assert!(poll_once(&mut zero).is_ready());

        let past = Instant::now()
            .checked_sub(Duration::from_millis(10))
            .expect("the clock is more than 10 ms past its origin");
        let mut late = sleep_until(past);
        assert!(late.is_elapsed());
        assert!(poll_once(&mut late).is_ready());

        let mut now = sleep_until(Instant::now());
        assert!(poll_once(&mut now).is_ready());

        // And through the public combinator: ready within a zero timeout.
        assert_eq!(timeout(Duration::ZERO, sleep(Duration::ZERO)).await, Ok(()));
    });
}

#[test]
fn reset_moves_the_deadline_both_ways() {
    util::run(|| async {
        // Later: the old deadline no longer counts.
        let start = Instant::now();
        let mut nap = sleep(Duration::from_millis(2));
        // Registers its 2 ms timer (unless the machine was so slow that it has passed).
        let _ = poll_fn(|cx| Poll::Ready(Pin::new(&mut nap).poll(cx))).await;
        nap.reset(start + Duration::from_millis(30));
        nap.await;
        assert!(start.elapsed() >= Duration::from_millis(30));

        // Earlier: a registered hour-long sleep completes at its new deadline.
        let mut nap = sleep(Duration::from_secs(3600));
        assert!(
            poll_fn(|cx| Poll::Ready(Pin::new(&mut nap).poll(cx)))
                .await
                .is_pending()
        );
        let deadline = Instant::now() + Duration::from_millis(5);
        nap.reset(deadline);
        nap.await;
        assert!(Instant::now() >= deadline);
    });
}

/// A sleep shared between two tasks: one awaits it (under a 1 s `timeout`, the only other
/// timer that could wake it), the other resets it. The waiting task must be woken at the
/// new deadline, whether that has passed already or is still ahead, not by the timeout.
#[test]
fn reset_from_another_task_wakes_the_waiting_task_at_the_new_deadline() {
    /// The waiter's own timeout: what would wake it if the reset lost its waker.
    const UNRELATED: Duration = Duration::from_secs(1);
    util::run(|| async {
        for ahead in [Duration::ZERO, Duration::from_millis(20)] {
            let nap = Rc::new(RefCell::new(Box::pin(sleep(Duration::from_secs(3600)))));
            let waiter = spawn({
                let nap = nap.clone();
                async move {
                    let shared = poll_fn(|cx| nap.borrow_mut().as_mut().poll(cx));
                    let finished = timeout(UNRELATED, shared).await;
                    (finished, Instant::now())
                }
            });
            // Let the waiter register its hour-long timer, then move the deadline.
            yield_now().await;
            let deadline = Instant::now() + ahead;
            nap.borrow_mut().as_mut().reset(deadline);
            let (finished, woke) = waiter.await.unwrap();
            assert_eq!(finished, Ok(()), "the timeout fired first");
            assert!(woke >= deadline, "woken before the new deadline");
            assert!(
                woke - deadline < UNRELATED / 2,
                "woken {:?} after the new deadline {ahead:?} ahead: by the unrelated timer",
                woke - deadline
            );
        }
    });
}

/// 10,000 hour-long sleeps registered and dropped: their timers go with them, and a short
/// sleep afterwards completes without waiting for any of them.
#[test]
fn dropped_sleeps_do_not_hold_the_runtime() {
    util::run(|| async {
        let mut naps: Vec<_> = (0..10_000)
            .map(|_| sleep(Duration::from_secs(3600)))
            .collect();
        poll_fn(|cx| {
            for nap in &mut naps {
                assert!(Pin::new(nap).poll(cx).is_pending());
            }
            Poll::Ready(())
        })
        .await;
        drop(naps);

        let start = Instant::now();
        sleep(Duration::from_millis(5)).await;
        assert!(start.elapsed() >= Duration::from_millis(5));
    });
}

/// Timers of dropped sleeps never fire: the task that registered them is not woken when
/// their deadline passes. (A timer left behind would wake it, and it would count a poll.)
#[test]
fn dropped_sleeps_never_wake_their_task() {
    let polls = util::run(|| async {
        let released = Rc::new(Cell::new(false));
        let waker = Rc::new(Cell::new(None::<Waker>));
        let deadline = Instant::now() + Duration::from_millis(10);
        let task = {
            let (released, waker) = (released.clone(), waker.clone());
            spawn(async move {
                let mut polls = 0;
                poll_fn(|cx| {
                    polls += 1;
                    if polls == 1 {
                        // Register 1,000 timers for this task, then drop them all.
                        let mut naps: Vec<_> = (0..1_000).map(|_| sleep_until(deadline)).collect();
                        for nap in &mut naps {
                            let _ = Pin::new(nap).poll(cx);
                        }
                        waker.set(Some(cx.waker().clone()));
                    }
                    if released.get() {
                        Poll::Ready(polls)
                    } else {
                        Poll::Pending
                    }
                })
                .await
            })
        };
        // Let the task register and drop its timers, then wait well past their deadline
        // before waking it ourselves.
        yield_now().await;
        sleep_until(deadline + Duration::from_millis(20)).await;
        released.set(true);
        waker.take().expect("the task ran").wake();
        task.await.unwrap()
    });
    // The first poll, and the one our own wake caused.
    assert_eq!(polls, 2);
}

// ---------------------------------------------------------------------------------------
// timeout
// ---------------------------------------------------------------------------------------

#[test]
fn timeout_of_a_future_that_finishes_first_is_ok() {
    let output = util::run(|| async {
        timeout(Duration::from_secs(10), async {
            sleep(Duration::from_millis(2)).await;
            "first"
        })
        .await
    });
    assert_eq!(output, Ok("first"));
}

#[test]
fn timeout_of_a_pending_future_elapses_and_drops_it() {
    util::run(|| async {
        let dropped = Rc::new(Cell::new(false));
        let guard = DropFlag(dropped.clone());
        let start = Instant::now();
        let result = timeout(Duration::from_millis(10), async move {
            let _guard = guard;
            pending::<()>().await;
        })
        .await;
        let _elapsed: Elapsed = result.unwrap_err();
        assert!(
            start.elapsed() >= Duration::from_millis(10),
            "elapsed early"
        );
        assert!(dropped.get(), "the inner future was dropped");
    });
}

#[test]
fn timeout_at_gives_up_at_its_deadline_and_not_before() {
    util::run(|| async {
        let deadline = Instant::now() + Duration::from_millis(15);
        assert_eq!(timeout_at(deadline, async { 1 }).await, Ok(1));
        let result = timeout_at(deadline, pending::<()>()).await;
        assert!(result.is_err());
        assert!(Instant::now() >= deadline, "elapsed early");
        // A deadline already past still lets a ready future through.
        assert_eq!(timeout_at(deadline, async { 2 }).await, Ok(2));
        assert!(timeout_at(deadline, pending::<()>()).await.is_err());
    });
}

#[test]
fn elapsed_converts_to_timed_out_io_error() {
    let err = util::run(|| async {
        let elapsed = timeout(Duration::from_millis(1), pending::<()>())
            .await
            .unwrap_err();
        io::Error::from(elapsed)
    });
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert_eq!(err.to_string(), "deadline has elapsed");

    // And `?` does the conversion in an io::Result function.
    let result = util::run(|| async {
        async fn give_up() -> io::Result<()> {
            timeout(Duration::from_millis(1), pending::<()>()).await?;
            Ok(())
        }
        give_up().await.map_err(|e| e.kind())
    });
    assert_eq!(result, Err(io::ErrorKind::TimedOut));
}

#[test]
fn zero_timeout_on_a_ready_future_is_ok() {
    util::run(|| async {
        assert_eq!(timeout(Duration::ZERO, async { 9 }).await, Ok(9));
        // Even when the future becomes ready only at its first poll after a yield.
        let ready = spawn(async { 1 });
        yield_now().await;
        assert_eq!(
            timeout(Duration::ZERO, ready).await.map(Result::unwrap),
            Ok(1)
        );
        // A pending future under a zero timeout elapses at once.
        assert!(timeout(Duration::ZERO, pending::<()>()).await.is_err());
    });
}

// ---------------------------------------------------------------------------------------
// interval
// ---------------------------------------------------------------------------------------

/// The period of the interval tests: long enough that the scheduling noise of a loaded
/// machine is small next to it.
const PERIOD: Duration = Duration::from_millis(20);

/// How far past `t0` the instant `t` is, in whole periods; fails if not a whole number.
fn periods_after(t0: Instant, t: Instant) -> u32 {
    let offset = t.duration_since(t0);
    let n = (offset.as_nanos() / PERIOD.as_nanos()) as u32;
    assert_eq!(
        offset,
        PERIOD * n,
        "{offset:?} is not a whole number of periods"
    );
    n
}

/// Awaits one tick and checks it did not come before the instant it reports.
async fn tick(ticks: &mut Interval) -> Instant {
    let due = ticks.tick().await;
    assert!(Instant::now() >= due, "tick delivered before it was due");
    due
}

#[test]
fn first_tick_is_immediate() {
    util::run(|| async {
        let before = Instant::now();
        let mut ticks = interval(PERIOD);
        let after = Instant::now();
        assert_eq!(ticks.period(), PERIOD);
        assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
        let first = poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx))).await;
        match first {
            Poll::Ready(due) => assert!(before <= due && due <= after),
            Poll::Pending => panic!("the first tick was not ready at the first poll"),
        }

        // interval_at with a start in the past: also immediate, and reports that start.
        let start = Instant::now() - PERIOD / 2;
        let mut ticks = interval_at(start, PERIOD);
        let first = poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx))).await;
        assert_eq!(first, Poll::Ready(start));
    });
}

#[test]
fn ticks_are_a_period_apart() {
    util::run(|| async {
        let mut ticks = interval(PERIOD);
        let t0 = tick(&mut ticks).await;
        for k in 1..=4 {
            let due = tick(&mut ticks).await;
            assert_eq!(periods_after(t0, due), k);
        }
        assert!(t0.elapsed() >= PERIOD * 4);
    });
}

/// Starts an interval with `behavior`, takes its first tick, then blocks the thread for
/// 3.5 periods. Returns the interval, the first tick, and when the thread woke.
async fn late_interval(behavior: MissedTickBehavior) -> (Interval, Instant, Instant) {
    let mut ticks = interval(PERIOD);
    ticks.set_missed_tick_behavior(behavior);
    assert_eq!(ticks.missed_tick_behavior(), behavior);
    let t0 = tick(&mut ticks).await;
    // Block the whole runtime, as a long computation would.
    std::thread::sleep(PERIOD * 7 / 2);
    (ticks, t0, Instant::now())
}

#[test]
fn missed_ticks_burst() {
    util::run(|| async {
        let (mut ticks, t0, _woke) = late_interval(MissedTickBehavior::Burst).await;
        // Every missed tick is delivered (at once), then the schedule goes on: the ticks
        // report t0 + P, t0 + 2P, ... whatever the delay.
        for k in 1..=6 {
            assert_eq!(periods_after(t0, tick(&mut ticks).await), k);
        }
    });
}

#[test]
fn missed_ticks_delay() {
    util::run(|| async {
        let (mut ticks, t0, woke) = late_interval(MissedTickBehavior::Delay).await;
        // The overdue tick is delivered, reporting when it was due...
        assert_eq!(periods_after(t0, tick(&mut ticks).await), 1);
        let delivered = Instant::now();
        // ...and the schedule restarts a period after it was delivered.
        let next = tick(&mut ticks).await;
        assert!(next >= woke + PERIOD, "{:?} after waking", next - woke);
        assert!(
            next <= delivered + PERIOD,
            "{:?} after delivery",
            next - delivered
        );
        // From then on, ticks are at least a period apart.
        let mut previous = next;
        for _ in 0..3 {
            let due = tick(&mut ticks).await;
            assert!(due >= previous + PERIOD);
            previous = due;
        }
    });
}

#[test]
fn missed_ticks_skip() {
    util::run(|| async {
        let (mut ticks, t0, woke) = late_interval(MissedTickBehavior::Skip).await;
        // The overdue tick is delivered, reporting when it was due...
        assert_eq!(periods_after(t0, tick(&mut ticks).await), 1);
        let delivered = Instant::now();
        // ...then the ones missed while blocked are dropped: the next tick is the first
        // instant of the original schedule (t0 + kP) after the delivery.
        let next = tick(&mut ticks).await;
        let k = periods_after(t0, next);
        assert!(
            k >= 4,
            "the thread blocked for 3.5 periods, yet tick {k} was kept"
        );
        assert!(next > woke);
        assert!(next <= delivered + PERIOD);
        // And the schedule keeps its phase.
        let mut previous = k;
        for _ in 0..3 {
            let k = periods_after(t0, tick(&mut ticks).await);
            assert!(k > previous);
            previous = k;
        }
    });
}

#[test]
fn interval_reset_restarts_the_schedule() {
    util::run(|| async {
        let mut ticks = interval(PERIOD);
        tick(&mut ticks).await;
        sleep(PERIOD / 2).await;
        let reset_at = Instant::now();
        ticks.reset();
        let due = tick(&mut ticks).await;
        assert!(due >= reset_at + PERIOD);
    });
}

#[test]
fn interval_reset_immediately_after_and_at_move_the_next_tick() {
    util::run(|| async {
        let mut ticks = interval(Duration::from_secs(3600));
        tick(&mut ticks).await;
        // The next tick is an hour away; `reset_immediately` makes it now.
        let before = Instant::now();
        ticks.reset_immediately();
        let due = tick(&mut ticks).await;
        assert!(due >= before && due < before + Duration::from_secs(60));

        let before = Instant::now();
        ticks.reset_after(PERIOD);
        let due = tick(&mut ticks).await;
        assert!(due >= before + PERIOD && due < before + Duration::from_secs(60));

        let at = Instant::now() + PERIOD;
        ticks.reset_at(at);
        assert_eq!(tick(&mut ticks).await, at);
        // The schedule goes on from there, a period (an hour) apart.
        ticks.reset_at(at); // (back to `at`, already past: due at once)
        assert_eq!(tick(&mut ticks).await, at);
        let next = timeout(PERIOD, ticks.tick()).await;
        assert!(next.is_err(), "the tick after a reset comes a period later");
    });
}

/// Periods too long to add to an instant give a tick in the far future instead of the
/// panic "overflow when adding duration to instant": after `reset`, and after a missed
/// tick under `Delay` (now + period).
#[test]
fn intervals_with_huge_periods_do_not_overflow() {
    util::run(|| async {
        let mut ticks = interval(Duration::MAX);
        tick(&mut ticks).await;
        ticks.reset();
        assert!(
            poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx)))
                .await
                .is_pending()
        );

        // A first tick due i64::MAX seconds ago, and as long a period: the second tick was
        // due about now (so it was missed), and now + period does not fit in an Instant.
        let huge = Duration::from_secs(i64::MAX as u64);
        let long_ago = Instant::now()
            .checked_sub(huge)
            .expect("an Instant reaches i64::MAX seconds back");
        for behavior in [
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
            MissedTickBehavior::Burst,
        ] {
            let mut ticks = interval_at(long_ago, huge);
            ticks.set_missed_tick_behavior(behavior);
            assert_eq!(tick(&mut ticks).await, long_ago);
            if behavior == MissedTickBehavior::Burst {
                tick(&mut ticks).await; // the missed one, at once
            }
            assert!(
                poll_fn(|cx| Poll::Ready(ticks.poll_tick(cx)))
                    .await
                    .is_pending(),
                "{behavior:?}"
            );
        }
    });
}

#[test]
fn interval_with_zero_period_panics() {
    util::watchdog(util::LIMIT, || {
        for make in [(|| drop(interval(Duration::ZERO))) as fn(), || {
            drop(interval_at(Instant::now(), Duration::ZERO))
        }] {
            let panic = catch_unwind(make).unwrap_err();
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or_default();
            assert!(message.contains("non-zero"), "{message}");
        }
    });
}

// ---------------------------------------------------------------------------------------
// A Sleep on other threads
// ---------------------------------------------------------------------------------------

/// A waker that counts its wakes. Its `Arc`'s strong count tells how many clones of it
/// exist, so a test can see the clone a timer keeps go away.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Rounds of [`sleeps_reset_and_dropped_on_other_threads`].
const CROSS_THREAD_ROUNDS: usize = 300;

/// Sleeps of each kind per round.
const PER_ROUND: usize = 8;

/// Longest a task may wait for a wake that should come at once.
const STALL: Duration = Duration::from_secs(5);

/// A job for a worker thread.
type Job = Box<dyn FnOnce() + Send>;

/// Sleeps reset and dropped on two other threads while the runtime runs, round after
/// round, racing the runtime's own polls and turns:
///
/// - every task waiting on an hour-long sleep that another thread reset to "now" wakes
///   (a reset that did not reach the reactor would leave it waiting an hour, which
///   `timeout` reports as a lost wake);
/// - the timer of every sleep dropped on another thread, reset there first or not, is
///   removed with its waker (a timer left behind would keep its clone of the waker).
#[test]
fn sleeps_reset_and_dropped_on_other_threads() {
    util::run(|| async {
        let hour = Duration::from_secs(3600);
        let (senders, workers): (Vec<_>, Vec<_>) = (0..2)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<Job>();
                (
                    tx,
                    thread::spawn(move || rx.into_iter().for_each(|job| job())),
                )
            })
            .unzip();
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());

        for round in 0..CROSS_THREAD_ROUNDS {
            // Sleeps that tasks wait on, shared with a worker that resets them to now.
            let shared: Vec<_> = (0..PER_ROUND)
                .map(|_| Arc::new(Mutex::new(Box::pin(sleep(hour)))))
                .collect();
            let waiters: Vec<_> = shared
                .iter()
                .map(|nap| {
                    let nap = nap.clone();
                    spawn(poll_fn(move |cx| nap.lock().unwrap().as_mut().poll(cx)))
                })
                .collect();
            // Sleeps registered here with the counting waker, then dropped by a worker.
            let mut dropped: Vec<Pin<Box<Sleep>>> =
                (0..PER_ROUND).map(|_| Box::pin(sleep(hour))).collect();
            for nap in &mut dropped {
                assert!(
                    nap.as_mut()
                        .poll(&mut Context::from_waker(&waker))
                        .is_pending()
                );
            }
            // Let the waiters register on odd rounds; race their first poll on even ones.
            if round % 2 == 1 {
                yield_now().await;
            }

            let job: Job = Box::new(move || {
                for (i, mut nap) in dropped.into_iter().enumerate() {
                    if i % 2 == 0 {
                        nap.as_mut().reset(Instant::now() + 2 * hour);
                    }
                    drop(nap);
                }
                for nap in shared {
                    nap.lock().unwrap().as_mut().reset(Instant::now());
                }
            });
            senders[round % 2].send(job).expect("the worker is running");

            for waiter in waiters {
                timeout(STALL, waiter)
                    .await
                    .unwrap_or_else(|_| {
                        panic!("round {round}: a sleep reset on another thread never woke its task")
                    })
                    .unwrap();
            }
            // The counter and `waker` hold two references; each pending timer, one more.
            let start = Instant::now();
            while Arc::strong_count(&counter) > 2 {
                assert!(
                    start.elapsed() < STALL,
                    "round {round}: {} timers of sleeps dropped on another thread left behind",
                    Arc::strong_count(&counter) - 2
                );
                sleep(Duration::from_micros(100)).await;
            }
        }
        drop(senders);
        for worker in workers {
            worker.join().expect("no panic on a worker thread");
        }
    });
}

/// A reset on another thread that has not reached the runtime yet does not undo a later
/// reset on the runtime's thread: the sleep came back, was reset to 5 ms from now, and
/// completes then, not in an hour.
#[test]
fn a_reset_on_another_thread_does_not_undo_a_later_local_one() {
    util::run(|| async {
        let mut nap = Box::pin(sleep(Duration::from_secs(60)));
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        assert!(
            nap.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        // Reset on another thread, and back here before the runtime turns again.
        let mut nap = thread::spawn(move || {
            nap.as_mut()
                .reset(Instant::now() + Duration::from_secs(3600));
            nap
        })
        .join()
        .unwrap();
        let start = Instant::now();
        nap.as_mut().reset(start + Duration::from_millis(5));
        // Bounded: the sleep would complete at the timeout's own wake, when polled, since
        // its deadline has passed by then; only the time taken tells the lost wake.
        let _ = timeout(STALL, nap).await;
        assert!(
            start.elapsed() < STALL,
            "the earlier reset from another thread was applied last"
        );
    });
}

// ---------------------------------------------------------------------------------------
// Many timers
// ---------------------------------------------------------------------------------------

/// 100,000 tasks, each sleeping until a random instant within the next 50 ms: all of them
/// complete, and none before its deadline.
#[test]
fn hundred_thousand_timers_all_fire_on_time() {
    const TASKS: usize = 100_000;
    let (finished, early) = util::run(|| async {
        let mut rng = util::Rng::new(0x5eed_71e5);
        let base = Instant::now();
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let deadline = base + Duration::from_micros(rng.below(50_000));
                spawn(async move {
                    sleep_until(deadline).await;
                    Instant::now() >= deadline
                })
            })
            .collect();
        let mut finished = 0;
        let mut early = 0;
        for handle in handles {
            finished += 1;
            if !handle.await.unwrap() {
                early += 1;
            }
        }
        (finished, early)
    });
    assert_eq!(finished, TASKS);
    assert_eq!(early, 0, "timers that fired before their deadline");
}

/// A `Sleep` first polled on one runtime and then awaited on another registers again with
/// the runtime that polls it (the first one's reactor would never wake it here).
#[test]
fn a_sleep_moved_to_another_runtime_still_completes() {
    util::watchdog(util::LIMIT, || {
        // Long enough that the one poll below finds it pending even on a loaded machine
        // (with 10 ms, and a 1 ms timeout for the poll, a descheduled thread once found
        // the sleep over before its first poll).
        let mut nap = Box::pin(sleep(Duration::from_millis(100)));
        let first = epoll_rt::Runtime::new().unwrap();
        first.block_on(async {
            // One poll registers the timer with `first`.
            let polled = poll_fn(|cx| Poll::Ready(nap.as_mut().poll(cx))).await;
            assert!(polled.is_pending());
        });
        drop(first);
        epoll_rt::block_on(nap); // a new runtime: must not hang
    });
}

/// Driving a kept runtime step by step with `block_on(yield_now())` still fires timers:
/// each `block_on` looks at the reactor before running anything.
#[test]
fn block_on_yield_now_in_a_loop_drives_timers() {
    util::watchdog(util::LIMIT, || {
        let rt = epoll_rt::Runtime::new().unwrap();
        let nap = rt.spawn(sleep(Duration::from_millis(1)));
        let start = Instant::now();
        while !nap.is_finished() && start.elapsed() < Duration::from_secs(5) {
            rt.block_on(epoll_rt::yield_now());
        }
        assert!(
            nap.is_finished(),
            "the timer never fired while stepping the runtime"
        );
    });
}
