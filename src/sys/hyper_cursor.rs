//! Reading into hyper's uninitialised read buffer: the two `unsafe` calls of the `hyper`
//! feature.
//!
//! hyper hands a read a [`ReadBufCursor`]: the unfilled, possibly uninitialised, end of
//! its buffer. Safe code can only reach it by zeroing it first (`initialize_unfilled`), 8
//! KiB per read for hyper's default buffer, or by copying from a buffer of our own
//! (`put_slice`). Instead, `recv` writes straight into it, and the cursor is advanced
//! over the bytes the kernel wrote, which is what tokio's `ReadBuf` plumbing does too.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use hyper::rt::ReadBufCursor;

/// Receives from the connected socket `fd` into the unfilled part of `cursor` with one
/// `recv`, and advances the cursor over the bytes received: their number, 0 at end of
/// file (or if the cursor has no room left).
pub(crate) fn recv_into_cursor(
    fd: BorrowedFd<'_>,
    cursor: &mut ReadBufCursor<'_>,
) -> io::Result<usize> {
    // SAFETY: the slice is only handed to `recv`, which writes bytes into it and never
    // writes uninitialised ones, so no initialised byte becomes uninitialised.
    let unfilled = unsafe { cursor.as_mut() };
    // SAFETY: `unfilled` is valid for writes of `unfilled.len()` bytes for the whole call;
    // `MaybeUninit<u8>` has the layout of `u8`.
    let n = syscall!(recv(
        fd.as_raw_fd(),
        unfilled.as_mut_ptr().cast(),
        unfilled.len(),
        0,
    ))? as usize;
    // SAFETY: `recv` initialised the first `n` bytes of `unfilled`, which are the next `n`
    // bytes after the cursor's filled part (and `n <= unfilled.len()`).
    unsafe { cursor.advance(n) };
    Ok(n)
}
