//! The reactor's alarm: a timer due more than a millisecond away is left to a timerfd, and
//! the waits before it take no timeout (`src/driver/alarm.rs`). These tests read the
//! runtime's counters (`timed_waits`, `alarms_set`) to see which way each deadline went,
//! and check that no deadline is met early, or missed: a timer the alarm forgot would
//! hang its test until the watchdog fails it.
//!
//! Which way a deadline goes depends on how far away it is when the runtime next looks at
//! epoll, so the far deadlines here are 100 ms or more away: a thread that a loaded
//! machine leaves waiting for a CPU for tens of milliseconds still finds them far.

mod util;

use std::future::poll_fn;
use std::io;
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use epoll_rt::time::{sleep, sleep_until, timeout};
use epoll_rt::{AsyncFd, Runtime, RuntimeStats, spawn, yield_now};

/// Runs `make()`'s future on a new runtime, under the watchdog, and returns its output
/// with the runtime's counters.
fn run<T, Fut>(make: fn() -> Fut) -> (T, RuntimeStats)
where
    T: Send + 'static,
    Fut: Future<Output = T> + 'static,
{
    util::watchdog(util::LIMIT, move || {
        let rt = Runtime::new().expect("a runtime");
        let output = rt.block_on(make());
        (output, rt.stats())
    })
}

/// Sleeps for `duration` on `rt`, and checks that the sleep did not end early.
fn sleep_on(rt: &Runtime, duration: Duration) {
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        sleep(duration).await;
        start.elapsed()
    });
    assert!(elapsed >= duration, "early: {elapsed:?}");
}

#[test]
fn a_far_timer_sets_the_alarm_and_no_wait_is_timed() {
    let (elapsed, stats) = run(|| async {
        let start = Instant::now();
        sleep(Duration::from_millis(100)).await;
        start.elapsed()
    });
    assert!(elapsed >= Duration::from_millis(100), "early: {elapsed:?}");
    assert_eq!(stats.alarms_set, 1, "{stats:?}");
    assert_eq!(stats.timed_waits, 0, "{stats:?}");
}

/// A try counts once the runtime has had to wait for the timer: on a loaded machine its
/// thread can run so late that the deadline, 300 µs away, has passed before the first
/// look at epoll, and then there is nothing to wait for. So the test tries again, a
/// bounded number of times.
#[test]
fn a_near_timer_is_waited_for_with_a_timeout() {
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().expect("a runtime");
        for _ in 0..100 {
            sleep_on(&rt, Duration::from_micros(300));
            let stats = rt.stats();
            assert_eq!(stats.alarms_set, 0, "{stats:?}");
            if stats.timed_waits >= 1 {
                return;
            }
        }
        panic!("in 100 tries, no timed wait: {:?}", rt.stats());
    });
}

/// The pattern the alarm is not re-set for: a long timeout set and cancelled at every
/// request, each new deadline later than the last. 100 requests, one `timerfd_settime`.
#[test]
fn a_timeout_per_request_sets_the_alarm_once() {
    let (served, stats) = run(|| async {
        let (ours, theirs) = UnixStream::pair()?;
        ours.set_nonblocking(true)?;
        theirs.set_nonblocking(true)?;
        let (ours, theirs) = (AsyncFd::new(ours)?, AsyncFd::new(theirs)?);
        let mut served = 0;
        for _ in 0..100 {
            // The reply is written once the read has found nothing and waits: each read
            // takes a turn of the reactor, with the timeout's timer pending.
            let theirs = &theirs;
            let reply = async move {
                theirs
                    .write_with(|mut s| io::Write::write(&mut s, b"x"))
                    .await
            };
            let read = timeout(
                Duration::from_secs(30),
                ours.read_with(|mut s| io::Read::read(&mut s, &mut [0u8; 1])),
            );
            let (read, reply) = futures_join(read, reply).await;
            reply?;
            assert_eq!(read.expect("no timeout")?, 1);
            served += 1;
        }
        io::Result::Ok(served)
    });
    assert_eq!(served.expect("requests served"), 100);
    assert_eq!(stats.alarms_set, 1, "{stats:?}");
    assert_eq!(stats.timed_waits, 0, "{stats:?}");
}

/// Polls both futures until both are done (their order is the test's business, not
/// the runtime's).
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut a_out, mut b_out) = (None, None);
    poll_fn(|cx| {
        if a_out.is_none()
            && let Poll::Ready(out) = a.as_mut().poll(cx)
        {
            a_out = Some(out);
        }
        if b_out.is_none()
            && let Poll::Ready(out) = b.as_mut().poll(cx)
        {
            b_out = Some(out);
        }
        if a_out.is_some() && b_out.is_some() {
            Poll::Ready((a_out.take().unwrap(), b_out.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

/// With the alarm set for a far deadline, an earlier one must still end the wait in time:
/// the alarm is set again for it.
#[test]
fn an_earlier_deadline_sets_the_alarm_again() {
    let (elapsed, stats) = run(|| async {
        spawn(sleep(Duration::from_secs(3600)));
        // The spawned sleep runs, then the runtime looks at epoll: the alarm is set for it.
        yield_now().await;
        let start = Instant::now();
        sleep(Duration::from_millis(100)).await;
        start.elapsed()
    });
    assert!(elapsed >= Duration::from_millis(100), "early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "late: {elapsed:?}");
    assert_eq!(stats.alarms_set, 2, "{stats:?}");
}

/// A deadline moved later does not set the alarm again: it rings at the old deadline,
/// the turn finds nothing due, and sets it for the new one, which is met, not early.
#[test]
fn an_alarm_that_rings_early_is_set_again_and_nothing_fires_early() {
    let (elapsed, stats) = run(|| async {
        let start = Instant::now();
        let mut first = Box::pin(sleep(Duration::from_millis(100)));
        // Polled once, its timer is registered; the next look at epoll sets the alarm.
        let polled = poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await;
        assert!(polled);
        yield_now().await;
        drop(first);
        sleep_until(start + Duration::from_millis(300)).await;
        start.elapsed()
    });
    assert!(elapsed >= Duration::from_millis(300), "early: {elapsed:?}");
    assert_eq!(stats.alarms_set, 2, "{stats:?}");
}

/// Where `timerfd_create` is refused (a seccomp profile; here the test's own filter),
/// every deadline is waited for with timeouts, and none is early. (Valgrind does not
/// implement the `seccomp` call that installs the filter, so there the test cannot run.)
#[test]
fn timers_work_without_a_timerfd() {
    if util::under_valgrind() {
        eprintln!("skipped under valgrind, which has no seccomp");
        return;
    }
    util::watchdog(util::LIMIT, || {
        util::seccomp::deny(libc::SYS_timerfd_create, libc::EPERM)
            .expect("install a seccomp filter on this thread");
        let rt = Runtime::new().expect("a runtime");
        sleep_on(&rt, Duration::from_millis(30));
        let stats = rt.stats();
        assert_eq!(stats.alarms_set, 0, "{stats:?}");
        assert!(stats.timed_waits >= 1, "{stats:?}");
    });
}
