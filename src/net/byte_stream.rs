//! The loops every byte stream shares, written once over a stream's poll functions:
//! `read_exact` (read until the buffer is full) and `write_all` (write until the buffer is
//! sent). TCP and Unix streams, the split halves, and a child process's pipes all call
//! these; and `shared_io_methods!`, the `&self` forms of a stream's reads and writes that
//! its public methods, its split halves and its futures-io impls all go through.
//!
//! They, and the streams' `read` and `write`, return `poll_fn` closures (`poll_inline`'s,
//! whose `poll` is inlined into the awaiting future: `util/poll_inline.rs`) rather than
//! being `async fn`s. Each layer of `async fn` stores its own copy of its arguments next to
//! the future it awaits, so a `write_all` built from three nested `async fn`s held the
//! stream reference and the buffer three times over. A connection's task keeps such a
//! future for as long as the connection lives: written this way, an echo task's whole
//! future shrinks from 256 to 120 bytes (`tests/memory.rs` pins its size, which has grown
//! a little since with what each I/O object and pending operation must carry).

use std::future::Future;
use std::io;
use std::task::{Context, Poll, ready};

use crate::util::poll_inline::poll_inline;

/// Reads into `buf` with `poll_read` until it is full. End of file first is an
/// `UnexpectedEof` error.
pub(crate) fn read_exact(
    buf: &mut [u8],
    mut poll_read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>> + Unpin,
) -> impl Future<Output = io::Result<()>> {
    let mut filled = 0;
    poll_inline(move |cx| {
        while filled < buf.len() {
            match ready!(poll_read(cx, &mut buf[filled..]))? {
                0 => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed before the buffer was filled",
                    )));
                }
                n => filled += n,
            }
        }
        Poll::Ready(Ok(()))
    })
}

/// Writes all of `buf` with `poll_write`. A write of zero bytes is a `WriteZero` error.
pub(crate) fn write_all(
    mut buf: &[u8],
    mut poll_write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>> + Unpin,
) -> impl Future<Output = io::Result<()>> {
    poll_inline(move |cx| {
        while !buf.is_empty() {
            match ready!(poll_write(cx, buf))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => buf = &buf[n..],
            }
        }
        Poll::Ready(Ok(()))
    })
}

/// The `&self` forms of a stream's reads and writes (`read_shared`, `read_exact_shared`,
/// `read_vectored_shared`, `write_shared`, `write_all_shared`, `write_vectored_shared`),
/// and the `poll_*_priv` forms the futures-io impls call, for a stream type whose `inner`
/// is an `AsyncFd`. The invoking module defines the four functions they wait with:
/// `poll_read`, `poll_write`, `poll_read_vectored` and `poll_write_vectored`.
///
/// The public methods take `&mut self`, so that one task owns each direction; the split
/// halves (`split.rs`) share the stream and call these directly, one direction each. Each
/// future holds a `Waiter` (which also gives it the stream): dropped with the future, it
/// takes the task's waker back from the reactor. A poll method has no future to keep one
/// in, so it waits in the stream's shared poll slot.
macro_rules! shared_io_methods {
    () => {
        /// `read` through a shared reference.
        pub(crate) fn read_shared(
            &self,
            buf: &mut [u8],
        ) -> impl Future<Output = ::std::io::Result<usize>> {
            let mut waiter = self.inner.waiter();
            $crate::util::poll_inline::poll_inline(move |cx| poll_read(&mut waiter, cx, buf))
        }

        /// `read_exact` through a shared reference.
        pub(crate) fn read_exact_shared(
            &self,
            buf: &mut [u8],
        ) -> impl Future<Output = ::std::io::Result<()>> {
            let mut waiter = self.inner.waiter();
            $crate::net::byte_stream::read_exact(buf, move |cx, b| poll_read(&mut waiter, cx, b))
        }

        /// `read_vectored` through a shared reference.
        pub(crate) fn read_vectored_shared(
            &self,
            bufs: &mut [::std::io::IoSliceMut<'_>],
        ) -> impl Future<Output = ::std::io::Result<usize>> {
            let mut waiter = self.inner.waiter();
            $crate::util::poll_inline::poll_inline(move |cx| {
                poll_read_vectored(&mut waiter, cx, bufs)
            })
        }

        /// `write` through a shared reference.
        pub(crate) fn write_shared(
            &self,
            buf: &[u8],
        ) -> impl Future<Output = ::std::io::Result<usize>> {
            let mut waiter = self.inner.waiter();
            $crate::util::poll_inline::poll_inline(move |cx| poll_write(&mut waiter, cx, buf))
        }

        /// `write_all` through a shared reference.
        pub(crate) fn write_all_shared(
            &self,
            buf: &[u8],
        ) -> impl Future<Output = ::std::io::Result<()>> {
            let mut waiter = self.inner.waiter();
            $crate::net::byte_stream::write_all(buf, move |cx, b| poll_write(&mut waiter, cx, b))
        }

        /// `write_vectored` through a shared reference.
        pub(crate) fn write_vectored_shared(
            &self,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> impl Future<Output = ::std::io::Result<usize>> {
            let mut waiter = self.inner.waiter();
            $crate::util::poll_inline::poll_inline(move |cx| {
                poll_write_vectored(&mut waiter, cx, bufs)
            })
        }

        /// Polls a read into `buf` for `futures_io::AsyncRead`.
        #[cfg(feature = "futures-io")]
        pub(crate) fn poll_read_priv(
            &self,
            cx: &mut ::std::task::Context<'_>,
            buf: &mut [u8],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            poll_read(&mut self.inner.poll_slot(), cx, buf)
        }

        /// Polls a write of `buf` for `futures_io::AsyncWrite`.
        #[cfg(any(feature = "futures-io", feature = "hyper"))]
        // With `hyper` alone, only the TCP stream's copy is used (`hyper::Io` wraps TCP).
        #[cfg_attr(not(feature = "futures-io"), allow(dead_code))]
        pub(crate) fn poll_write_priv(
            &self,
            cx: &mut ::std::task::Context<'_>,
            buf: &[u8],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            poll_write(&mut self.inner.poll_slot(), cx, buf)
        }

        /// Polls a vectored read for `futures_io::AsyncRead::poll_read_vectored`.
        #[cfg(feature = "futures-io")]
        pub(crate) fn poll_read_vectored_priv(
            &self,
            cx: &mut ::std::task::Context<'_>,
            bufs: &mut [::std::io::IoSliceMut<'_>],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            poll_read_vectored(&mut self.inner.poll_slot(), cx, bufs)
        }

        /// Polls a vectored write for `futures_io::AsyncWrite::poll_write_vectored`.
        #[cfg(any(feature = "futures-io", feature = "hyper"))]
        // With `hyper` alone, only the TCP stream's copy is used (`hyper::Io` wraps TCP).
        #[cfg_attr(not(feature = "futures-io"), allow(dead_code))]
        pub(crate) fn poll_write_vectored_priv(
            &self,
            cx: &mut ::std::task::Context<'_>,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            poll_write_vectored(&mut self.inner.poll_slot(), cx, bufs)
        }
    };
}

pub(crate) use shared_io_methods;
