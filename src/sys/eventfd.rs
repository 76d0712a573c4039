//! An eventfd: a kernel counter with a descriptor, the runtime's doorbell.
//!
//! A thread that wants to wake the runtime out of `epoll_wait` adds 1 to the counter; the
//! descriptor, registered with the runtime's epoll, becomes readable and the wait returns.
//! The runtime then reads the counter, which resets it to zero. (tokio and mio do the
//! same on Linux; the portable alternative is a self-pipe, two descriptors instead of one.)

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A non-blocking, close-on-exec eventfd.
#[derive(Debug)]
pub(crate) struct EventFd {
    /// The counter's descriptor.
    fd: OwnedFd,
}

impl EventFd {
    /// Creates a counter starting at zero.
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes an initial value and flags and returns a new descriptor.
        let fd = syscall!(eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK))?;
        // SAFETY: the descriptor was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Adds 1 to the counter, making the descriptor readable.
    ///
    /// A full counter (`EAGAIN`, after 2^64 - 2 unread rings) already means "readable", so
    /// that error is as good as success and is ignored.
    pub(crate) fn ring(&self) {
        let one: u64 = 1;
        // SAFETY: the buffer is 8 readable bytes, the size eventfd requires.
        let _ = syscall!(write(self.fd.as_raw_fd(), (&raw const one).cast(), 8));
    }

    /// Resets the counter to zero. Returns whether it had been rung.
    pub(crate) fn drain(&self) -> bool {
        let mut count: u64 = 0;
        // SAFETY: the buffer is 8 writable bytes, the size eventfd requires.
        syscall!(read(self.fd.as_raw_fd(), (&raw mut count).cast(), 8)).is_ok()
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
