//! The loops every byte stream shares, written once over a stream's poll functions:
//! `read_exact` (read until the buffer is full) and `write_all` (write until the buffer is
//! sent). TCP and Unix streams, and the split halves, all call these.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// Reads into `buf` with `poll_read` until it is full. End of file first is an
/// `UnexpectedEof` error.
pub(crate) async fn read_exact(
    buf: &mut [u8],
    mut poll_read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match poll_fn(|cx| poll_read(cx, &mut buf[filled..])).await? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before the buffer was filled",
                ));
            }
            n => filled += n,
        }
    }
    Ok(())
}

/// Writes all of `buf` with `poll_write`. A write of zero bytes is a `WriteZero` error.
pub(crate) async fn write_all(
    mut buf: &[u8],
    mut poll_write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
) -> io::Result<()> {
    while !buf.is_empty() {
        match poll_fn(|cx| poll_write(cx, buf)).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}
