//! A timerfd: a kernel timer with a descriptor, the reactor's alarm clock.
//!
//! Armed with a delay, the descriptor becomes readable when the delay has passed; since it
//! is registered with the runtime's epoll, that ends an `epoll_wait` that was given no
//! timeout at all. Unlike a wait's own timeout, the timer gets no slack from the kernel
//! (`timerfd_settime` starts an exact `hrtimer`), and it stays armed across waits, so the
//! waits that come before it need neither a timeout nor a clock read to compute one.
//! Re-arming resets its count of expirations, so the reactor never has to read it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// A non-blocking, close-on-exec, one-shot timer on `CLOCK_MONOTONIC`, the clock of
/// `std::time::Instant`.
#[derive(Debug)]
pub(crate) struct TimerFd {
    /// The timer's descriptor.
    fd: OwnedFd,
}

impl TimerFd {
    /// Creates a disarmed timer.
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create takes a clock id and flags and returns a new descriptor.
        let fd = syscall!(timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_CLOEXEC | libc::TFD_NONBLOCK
        ))?;
        // SAFETY: the descriptor was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Arms the timer to expire once, `after` from now (at least 1 ns: a zero delay
    /// would disarm it), replacing any earlier setting.
    pub(crate) fn set(&self, after: Duration) -> io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let value = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                // Below 10^9, so the cast is exact for a `c_long` of any width.
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `value` is a valid itimerspec that lives across the call; a null old
        // value asks for none back.
        syscall!(timerfd_settime(
            self.fd.as_raw_fd(),
            0,
            &raw const value,
            std::ptr::null_mut()
        ))?;
        Ok(())
    }
}

impl AsFd for TimerFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
