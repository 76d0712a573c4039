//! The loops every byte stream shares, written once over a stream's poll functions:
//! `read_exact` (read until the buffer is full) and `write_all` (write until the buffer is
//! sent). TCP and Unix streams, the split halves, and a child process's pipes all call
//! these.
//!
//! They, and the streams' `read` and `write`, return `poll_fn` closures rather than being
//! `async fn`s. Each layer of `async fn` stores its own copy of its arguments next to the
//! future it awaits, so a `write_all` built from three nested `async fn`s held the stream
//! reference and the buffer three times over. A connection's task keeps such a future for
//! as long as the connection lives: written this way, an echo task's whole future shrinks
//! from 256 to 120 bytes (`tests/memory.rs` pins its size, which has grown a little
//! since with what each I/O object and pending operation must carry).

use std::future::{Future, poll_fn};
use std::io;
use std::task::{Context, Poll, ready};

/// Reads into `buf` with `poll_read` until it is full. End of file first is an
/// `UnexpectedEof` error.
pub(crate) fn read_exact(
    buf: &mut [u8],
    mut poll_read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
) -> impl Future<Output = io::Result<()>> {
    let mut filled = 0;
    poll_fn(move |cx| {
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
    mut poll_write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
) -> impl Future<Output = io::Result<()>> {
    poll_fn(move |cx| {
        while !buf.is_empty() {
            match ready!(poll_write(cx, buf))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => buf = &buf[n..],
            }
        }
        Poll::Ready(Ok(()))
    })
}
