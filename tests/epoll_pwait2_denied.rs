//! Timers where `epoll_pwait2` is refused: a seccomp profile that answers `EPERM` (as
//! older container runtimes do for calls they do not know), or a kernel older than 5.11
//! (`ENOSYS`). The runtime must notice, wait with `epoll_wait` instead (its timeout rounded
//! up to the millisecond, so never early), and never panic.
//!
//! A file of its own: the runtime remembers per process that `epoll_pwait2` is not
//! available, which would change the timers of every other test in the binary.

mod util;

use std::io;
use std::time::{Duration, Instant};

use epoll_rt::epoll::{Epoll, Events};
use epoll_rt::time::{interval, sleep, timeout};

/// Durations that are not whole milliseconds: the ones `epoll_pwait2` would have served.
const SLEEPS: [Duration; 4] = [
    Duration::from_micros(1_500),
    Duration::from_micros(300),
    Duration::from_micros(2_250),
    Duration::from_micros(10_100),
];

#[test]
fn timers_work_and_are_never_early_when_seccomp_denies_epoll_pwait2() {
    util::watchdog(util::LIMIT, || {
        util::seccomp::deny(libc::SYS_epoll_pwait2, libc::EPERM)
            .expect("install a seccomp filter on this thread");
        // The filter works: epoll_pwait2 itself is refused on this thread.
        // SAFETY: the call is refused before the kernel reads any argument; had it not
        // been, a descriptor of -1 fails with EBADF before anything is read either.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                -1,
                std::ptr::null_mut::<libc::epoll_event>(),
                1,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<libc::sigset_t>(),
                0,
            )
        };
        assert_eq!(rc, -1);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EPERM));

        // The epoll binding by itself: a sub-millisecond timeout still times out, late.
        let epoll = Epoll::new().unwrap();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        assert_eq!(epoll.poll(&mut events, Some(SLEEPS[0])).unwrap(), 0);
        assert!(start.elapsed() >= SLEEPS[0], "poll returned early");

        // And the runtime: sleeps, a timeout and an interval, none early.
        epoll_rt::block_on(async {
            for duration in SLEEPS {
                let start = Instant::now();
                sleep(duration).await;
                let slept = start.elapsed();
                assert!(slept >= duration, "sleep({duration:?}) took {slept:?}");
            }
            let start = Instant::now();
            let never = std::future::pending::<()>();
            assert!(timeout(SLEEPS[0], never).await.is_err());
            assert!(start.elapsed() >= SLEEPS[0], "timeout fired early");
            let mut ticks = interval(SLEEPS[1]);
            let first = ticks.tick().await;
            for _ in 0..3 {
                let due = ticks.tick().await;
                assert!(Instant::now() >= due && due > first, "tick early");
            }
        });
    });
}
