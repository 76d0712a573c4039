//! The calling thread's timer slack (`prctl(PR_SET_TIMERSLACK)`).
//!
//! Linux lets every timed sleep of a thread (`nanosleep`, `epoll_pwait2`, ...) end up to
//! "slack" nanoseconds late, so that nearby wake-ups can be merged and the CPU sleeps
//! longer. The default is 50 µs: more than half of a 100 µs sleep. While a runtime runs,
//! it lowers its thread's slack so that timers fire when they are due, and restores the
//! previous value when it stops. (A long wait also gets a slack in proportion to its
//! length, which no `prctl` changes: the reactor works around that one, see
//! `driver/slack.rs`.)

use std::io;

/// The calling thread's timer slack, in nanoseconds.
pub(crate) fn get() -> io::Result<u64> {
    // SAFETY: PR_GET_TIMERSLACK takes no pointer argument; it returns the slack.
    let slack = syscall!(prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0))?;
    Ok(slack as u64)
}

/// Sets the calling thread's timer slack, in nanoseconds (0 restores the thread's
/// default).
pub(crate) fn set(nanos: u64) -> io::Result<()> {
    // SAFETY: PR_SET_TIMERSLACK takes the slack as a plain integer; no pointer.
    syscall!(prctl(
        libc::PR_SET_TIMERSLACK,
        nanos as libc::c_ulong,
        0,
        0,
        0
    ))
    .map(drop)
}
