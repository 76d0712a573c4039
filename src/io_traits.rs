//! The standard async I/O traits, behind the `futures-io` cargo feature.
//!
//! With `features = ["futures-io"]`, the stream types and their halves implement
//! [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`], so the `futures` crate's
//! `copy`, `BufReader`, `lines()`, codecs and compression adapters work on them. The
//! vectored methods are real: one `recvmsg` or `sendmsg` over all the slices, not the
//! traits' default of the first non-empty slice alone. Each impl is a one-line forward to
//! the stream's read or write logic, the same as the inherent async methods run, except
//! for where it waits: a poll method has no future to keep a waiter entry in, so it uses
//! the stream's shared poll slot, one waker per direction, the last one given (see
//! `AsyncFd::poll_read_with`).
//!
//! `AsyncBufRead` is not implemented: these types hold no buffer of their own. Wrap them
//! in `futures::io::BufReader` for that.
//!
//! `poll_close` shuts down the writing direction (the peer reads end of file); `poll_flush`
//! has nothing to do, since a socket keeps no user-space buffer.
//!
//! A child process's pipes implement them too: [`ChildStdout`] and [`ChildStderr`]
//! `AsyncRead`, [`ChildStdin`] `AsyncWrite`. A pipe cannot be shut down half-way, so its
//! `poll_close` does nothing: dropping the `ChildStdin` is what closes the pipe.
//!
//! [`fs::File`](crate::fs::File) implements `AsyncRead`, `AsyncWrite` and `AsyncSeek`
//! through the same state machine as its inherent methods; its `poll_flush` (and
//! `poll_close`, which flushes) waits for the writes in progress.

use std::io::{self, IoSlice, IoSliceMut, SeekFrom};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use crate::fs::File;
use crate::net::{
    AsyncTcpStream, AsyncUnixStream, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf,
};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};

/// `AsyncRead` for a type, given how to reach the stream to read from it.
macro_rules! impl_async_read {
    ($ty:ty, |$this:ident| $stream:expr) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_read_vectored_priv(cx, bufs)
            }
        }
    };
}

/// `AsyncWrite` for a type, given how to reach the stream to write to it.
macro_rules! impl_async_write {
    ($ty:ty, |$this:ident| $stream:expr) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $this = &*self;
                Poll::Ready($stream.shutdown(Shutdown::Write))
            }
        }
    };
}

impl_async_read!(AsyncTcpStream, |s| s);
impl_async_read!(AsyncUnixStream, |s| s);
impl_async_write!(AsyncUnixStream, |s| s);
impl_async_write!(AsyncTcpStream, |s| s);
impl_async_read!(ReadHalf<'_>, |h| h.stream());
impl_async_write!(WriteHalf<'_>, |h| h.stream());
impl_async_read!(OwnedReadHalf, |h| h.stream());
impl_async_write!(OwnedWriteHalf, |h| h.stream());
impl_async_read!(ReadHalf<'_, AsyncUnixStream>, |h| h.stream());
impl_async_write!(WriteHalf<'_, AsyncUnixStream>, |h| h.stream());
impl_async_read!(OwnedReadHalf<AsyncUnixStream>, |h| h.stream());
impl_async_write!(OwnedWriteHalf<AsyncUnixStream>, |h| h.stream());

/// `AsyncRead` for a child's pipe: plain reads only. A pipe has no `recvmsg`, so the
/// trait's default vectored read (the first non-empty buffer) stands.
macro_rules! impl_pipe_read {
    ($ty:ty) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                (*self).poll_read_priv(cx, buf)
            }
        }
    };
}

impl_pipe_read!(ChildStdout);
impl_pipe_read!(ChildStderr);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_priv(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_priv(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_priv(cx, pos)
    }
}
