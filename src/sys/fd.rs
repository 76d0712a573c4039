//! File status flags of any descriptor (is it in non-blocking mode?), and plain `read` and
//! `write` for descriptors that are not sockets (pipes).
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

/// Puts the open file behind `fd` in non-blocking mode.
///
/// The flag belongs to the open file, not to the descriptor: every descriptor that shares
/// it (a `dup`, one inherited across `fork`) sees the change. Each end of a pipe is an
/// open file of its own, so a parent's end can switch while its child's end stays blocking.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
    let flags = syscall!(fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: F_SETFL takes the new flags as an integer.
        syscall!(fcntl(
            fd.as_raw_fd(),
            libc::F_SETFL,
            flags | libc::O_NONBLOCK
        ))?;
    }
    Ok(())
}

/// Reads into `buf` from `fd` (a pipe): the number of bytes read, 0 at end of file.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
    let n = syscall!(read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()))?;
    Ok(n as usize)
}

/// Writes `buf` to `fd` (a pipe). A pipe whose reader has gone raises `SIGPIPE`, which
/// Rust programs ignore by default, and fails with `EPIPE` (`BrokenPipe`).
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole call.
    let n = syscall!(write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()))?;
    Ok(n as usize)
}
