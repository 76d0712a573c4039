//! The parent's ends of a child's standard pipes, [`ChildStdin`], [`ChildStdout`] and
//! [`ChildStderr`]: std's handles, switched to non-blocking mode and registered with the
//! reactor like a socket.
//!
//! A pipe works with epoll as a stream socket does: readable while it holds data or its
//! writer has closed (`EPOLLHUP`), writable while it has room. A short read means the
//! pipe is empty and a short write that it is full, so both take the stream path of
//! `Waiter` (`poll_read_stream`, `poll_write_stream`) that saves the `EAGAIN` syscall.
//! Only the parent's end switches to non-blocking mode: the child's end is another open
//! file, and stays blocking, as programs expect.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::process;
use std::task::{Context, Poll};

use crate::AsyncFd;
use crate::async_fd::Waiter;
use crate::net::byte_stream;
use crate::sys::fd;

/// Reads the parent's end of a pipe into `buf`, waiting with `waiter`.
fn poll_read<T: AsFd>(
    waiter: &mut Waiter<'_, T>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    // A pipe never stops a read short with data left behind it.
    waiter.poll_read_stream(cx, buf, |p, b| fd::read(p.as_fd(), b).map(|n| (n, false)))
}

/// Writes `buf` to the parent's end of a pipe, waiting with `waiter`.
fn poll_write<T: AsFd>(
    waiter: &mut Waiter<'_, T>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    waiter.poll_write_stream(cx, buf, |p, b| fd::write(p.as_fd(), b))
}

/// Registers std's end of a pipe, after switching it to non-blocking mode.
fn register<T: AsFd>(pipe: T) -> io::Result<AsyncFd<T>> {
    fd::set_nonblocking(pipe.as_fd())?;
    AsyncFd::new_nonblocking(pipe)
}

/// The writing end of a child's standard input, from
/// [`Child::stdin`](super::Child::stdin). Dropping it closes the pipe: the child reads
/// end of file.
///
/// ```
/// use epoll_rt::process::{Command, Stdio};
///
/// epoll_rt::block_on(async {
///     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
///     let mut stdin = child.stdin.take().expect("piped");
///     stdin.write_all(b"meow").await?;
///     drop(stdin); // end of file for cat, which then exits
///     let mut echoed = Vec::new();
///     child.stdout.take().expect("piped").read_to_end(&mut echoed).await?;
///     assert_eq!(echoed, b"meow");
///     assert!(child.wait().await?.success());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ChildStdin {
    /// std's end of the pipe, non-blocking and registered with the reactor.
    inner: AsyncFd<process::ChildStdin>,
}

impl ChildStdin {
    /// Wraps std's handle, switching it to non-blocking mode.
    pub(super) fn from_std(stdin: process::ChildStdin) -> io::Result<Self> {
        Ok(Self {
            inner: register(stdin)?,
        })
    }

    /// Writes some bytes of `buf`, waiting until the pipe has room for at least one;
    /// returns how many. Cancel-safe: if dropped before it completes, nothing was
    /// written.
    ///
    /// A child that has closed its standard input (or exited) is a `BrokenPipe` error,
    /// in a Rust program. A write to a pipe nobody reads also raises `SIGPIPE`, which
    /// no flag of `write` can prevent, as `MSG_NOSIGNAL` does for a socket: Rust's
    /// `main` sets it to be ignored, but a program that restored its default action
    /// is killed by it.
    pub fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        let mut waiter = self.inner.waiter();
        poll_fn(move |cx| poll_write(&mut waiter, cx, buf))
    }

    /// Writes all of `buf`, waiting for room as the child reads. Not cancel-safe: if
    /// dropped midway, an unknown prefix was written.
    pub fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        let mut waiter = self.inner.waiter();
        byte_stream::write_all(buf, move |cx, b| poll_write(&mut waiter, cx, b))
    }

    /// Polls a write of `buf` for `futures_io::AsyncWrite`, through the shared poll slot.
    #[cfg(feature = "futures-io")]
    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&mut self.inner.poll_slot(), cx, buf)
    }
}

/// The common body of the two reading ends.
macro_rules! reading_end {
    ($name:ident, $std:ty) => {
        impl $name {
            /// Wraps std's handle, switching it to non-blocking mode.
            pub(super) fn from_std(pipe: $std) -> io::Result<Self> {
                Ok(Self {
                    inner: register(pipe)?,
                })
            }

            /// Reads some bytes into `buf`, waiting until at least one is available;
            /// returns how many. 0 means end of file: the child closed its end (or
            /// exited), or `buf` is empty. Cancel-safe: if dropped before it completes,
            /// nothing was read.
            pub fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
                let mut waiter = self.inner.waiter();
                poll_fn(move |cx| poll_read(&mut waiter, cx, buf))
            }

            /// Reads exactly `buf.len()` bytes; end of file first is an `UnexpectedEof`
            /// error. Not cancel-safe: if dropped midway, the bytes read are lost.
            pub fn read_exact(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
                let mut waiter = self.inner.waiter();
                byte_stream::read_exact(buf, move |cx, b| poll_read(&mut waiter, cx, b))
            }

            /// Reads until end of file, appending to `buf`; returns how many bytes were
            /// appended. Not cancel-safe: if dropped midway, what was read stays in `buf`.
            pub fn read_to_end<'a>(
                &'a mut self,
                buf: &'a mut Vec<u8>,
            ) -> impl Future<Output = io::Result<usize>> + 'a {
                let mut waiter = self.inner.waiter();
                read_to_end(buf, move |cx, b| poll_read(&mut waiter, cx, b))
            }

            /// Polls a read into `buf` for `futures_io::AsyncRead`, through the shared
            /// poll slot.
            #[cfg(feature = "futures-io")]
            pub(crate) fn poll_read_priv(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                poll_read(&mut self.inner.poll_slot(), cx, buf)
            }
        }
    };
}

/// The reading end of a child's standard output, from
/// [`Child::stdout`](super::Child::stdout).
///
/// ```
/// use epoll_rt::process::{Command, Stdio};
///
/// epoll_rt::block_on(async {
///     let mut child = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn()?;
///     let mut stdout = child.stdout.take().expect("piped");
///     let mut line = Vec::new();
///     stdout.read_to_end(&mut line).await?;
///     assert_eq!(line, b"hello\n");
///     child.wait().await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ChildStdout {
    /// std's end of the pipe, non-blocking and registered with the reactor.
    inner: AsyncFd<process::ChildStdout>,
}

reading_end!(ChildStdout, process::ChildStdout);

/// The reading end of a child's standard error, from
/// [`Child::stderr`](super::Child::stderr); the same methods as [`ChildStdout`].
///
/// ```
/// use epoll_rt::process::{Command, Stdio};
///
/// epoll_rt::block_on(async {
///     let mut child = Command::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).spawn()?;
///     let mut message = Vec::new();
///     child.stderr.take().expect("piped").read_to_end(&mut message).await?;
///     assert_eq!(message, b"oops\n");
///     child.wait().await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ChildStderr {
    /// std's end of the pipe, non-blocking and registered with the reactor.
    inner: AsyncFd<process::ChildStderr>,
}

reading_end!(ChildStderr, process::ChildStderr);

/// Reads with `poll_read` until end of file, appending to `buf`, which grows as needed.
fn read_to_end<'a>(
    buf: &'a mut Vec<u8>,
    mut poll_read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>> + 'a,
) -> impl Future<Output = io::Result<usize>> + 'a {
    /// The room offered to each read: a pipe's whole buffer, by default.
    const CHUNK: usize = 64 * 1024;
    let start = buf.len();
    poll_fn(move |cx| {
        loop {
            // Zeroed once per read, one chunk at a time: zeroing all the spare capacity
            // at each read would cost as much again as the copies once it grows large.
            let filled = buf.len();
            buf.resize(filled + CHUNK, 0);
            let result = poll_read(cx, &mut buf[filled..]);
            let n = match &result {
                Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            buf.truncate(filled + n);
            match result {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(buf.len() - start)),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
}

/// `AsFd`, `AsRawFd` and `Debug` for each end: the descriptor is the parent's end.
macro_rules! descriptor_impls {
    ($($name:ident),*) => {$(
        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.as_raw_fd()).finish()
            }
        }
    )*};
}

descriptor_impls!(ChildStdin, ChildStdout, ChildStderr);
