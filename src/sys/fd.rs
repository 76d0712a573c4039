//! File status flags of any descriptor: is it in non-blocking mode?
//!
//! An async runtime must never make a call that blocks the thread, so every descriptor it
//! drives has to be in non-blocking mode (`O_NONBLOCK`), where a call that cannot proceed
//! fails with `EAGAIN` instead of sleeping.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Whether `O_NONBLOCK` is set on the open file behind `fd`.
pub(crate) fn is_nonblocking(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
    let flags = syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
    Ok(flags & libc::O_NONBLOCK != 0)
}
