//! A `Waiter`: one wait on an [`AsyncFd`], in one direction, the way every operation of
//! the crate's I/O objects waits; dropping it gives the task's waker back.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::AsFd;
use std::task::{Context, Poll, ready};

use super::AsyncFd;
use crate::driver::{Direction, Ticket};
use crate::sys::socket::MAX_IOVECS;

/// One wait on an [`AsyncFd`], in one direction: how every operation waits.
///
/// A future that waits (a `read`, an `accept`, a `readable`) holds one for as long as it
/// lives, and polls through it: the waker it stores stays in an entry of its own (see
/// `driver/waiters.rs`), which dropping the future gives back, waker included. A poll
/// method makes one for the call, on the direction's shared poll slot, which it leaves
/// filled.
pub(crate) struct Waiter<'a, T: AsFd> {
    /// The descriptor waited on.
    pub(super) fd: &'a AsyncFd<T>,
    /// The entry of the descriptor's waiter list this wait holds.
    pub(super) ticket: Ticket,
}

impl<T: AsFd> Waiter<'_, T> {
    /// Runs the non-blocking read `f` until it does something other than `WouldBlock`,
    /// waiting for the descriptor to become readable between tries.
    #[inline]
    pub(crate) fn poll_read<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Read, f)
    }

    /// Runs the non-blocking write `f` until it does something other than `WouldBlock`,
    /// waiting for the descriptor to become writable between tries.
    #[inline]
    pub(crate) fn poll_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io(cx, Direction::Write, f)
    }

    /// Runs `f` until it does something other than `WouldBlock`, waiting for readiness in
    /// `dir` between tries (see `Registration::poll_io`). An operation that may proceed
    /// spends one unit of the task's cooperative budget; with the budget spent, the answer
    /// is `Pending` and the task is queued again (`util/budget.rs`).
    ///
    /// `dir` is a constant at each call (`poll_read`, `poll_write`), which lets the
    /// compiler fold the readiness mask it selects.
    #[inline]
    fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let fd = self.fd;
        let inner = fd.get_ref();
        let budget = fd.registration.budget();
        fd.registration.poll_io(
            cx,
            dir,
            &mut self.ticket,
            |cx| budget.poll_proceed(cx),
            || f(inner),
        )
    }

    /// `Ready` once the reactor reports the descriptor ready in `dir`, spending one unit
    /// of the task's budget; an error if the object cannot wait (its runtime has shut
    /// down, or is not running on this thread).
    #[inline]
    pub(crate) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<()>> {
        ready!(self.fd.registration.poll_ready(cx, dir, &mut self.ticket))?;
        self.fd.registration.budget().poll_proceed(cx).map(Ok)
    }

    /// A read for stream sockets: reads into `buf` with `f`, and treats a short read as
    /// proof that the receive queue is empty, clearing read readiness so the next read
    /// waits for the next edge instead of spending a syscall on `EAGAIN`; new data brings a
    /// new edge. `f` returns the bytes read and whether the kernel may have stopped short
    /// with more queued behind (a Unix message that carried descriptors or credentials),
    /// in which case readiness stays: no edge would come for what is already there. An
    /// empty `buf` reads nothing.
    #[inline]
    pub(crate) fn poll_read_stream(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        mut f: impl FnMut(&T, &mut [u8]) -> io::Result<(usize, bool)>,
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_read_stream_len(cx, len, |inner| f(inner, buf))
    }

    /// [`poll_read_stream`](Self::poll_read_stream) into several slices (`readv`'s
    /// shape): only the first [`MAX_IOVECS`] are offered to `f`, since one call takes no
    /// more, and a read is short if it fills less than those.
    #[inline]
    pub(crate) fn poll_read_vectored_stream(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        mut f: impl FnMut(&T, &mut [IoSliceMut<'_>]) -> io::Result<(usize, bool)>,
    ) -> Poll<io::Result<usize>> {
        let used = bufs.len().min(MAX_IOVECS);
        let bufs = &mut bufs[..used];
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_read_stream_len(cx, len, |inner| f(inner, bufs))
    }

    /// The rule of [`poll_read_stream`](Self::poll_read_stream), for a read `f` into
    /// buffers of `len` bytes in all.
    #[inline]
    pub(crate) fn poll_read_stream_len(
        &mut self,
        cx: &mut Context<'_>,
        len: usize,
        f: impl FnMut(&T) -> io::Result<(usize, bool)>,
    ) -> Poll<io::Result<usize>> {
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        let (n, cut_short) = ready!(self.poll_read(cx, f))?;
        if n > 0 && n < len && !cut_short {
            self.fd.clear_readable();
        }
        Poll::Ready(Ok(n))
    }

    /// A write for stream sockets: writes `buf` with `f`, and treats a short write as
    /// proof that the send buffer is full, clearing write readiness so the next write waits
    /// for the EPOLLOUT edge instead of spending a syscall on `EAGAIN`. An empty `buf`
    /// writes nothing.
    #[inline]
    pub(crate) fn poll_write_stream(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
        mut f: impl FnMut(&T, &[u8]) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_write_stream_len(cx, buf.len(), |inner| f(inner, buf))
    }

    /// [`poll_write_stream`](Self::poll_write_stream) of several slices (`writev`'s
    /// shape): only the first [`MAX_IOVECS`] are offered to `f`, and a write is short if
    /// it sends less than those.
    #[inline]
    pub(crate) fn poll_write_vectored_stream(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
        mut f: impl FnMut(&T, &[IoSlice<'_>]) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let bufs = &bufs[..bufs.len().min(MAX_IOVECS)];
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_write_stream_len(cx, len, |inner| f(inner, bufs))
    }

    /// The rule of [`poll_write_stream`](Self::poll_write_stream), for a write `f` of
    /// `len` bytes in all.
    #[inline]
    fn poll_write_stream_len(
        &mut self,
        cx: &mut Context<'_>,
        len: usize,
        f: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        let n = ready!(self.poll_write(cx, f))?;
        if n < len {
            self.fd.clear_writable();
        }
        Poll::Ready(Ok(n))
    }
}

impl<T: AsFd> Drop for Waiter<'_, T> {
    /// Gives the wait's entry back, with the waker it may still hold: the future is done
    /// or cancelled, and nobody will poll it again.
    #[inline]
    fn drop(&mut self) {
        self.fd.registration.release(&mut self.ticket);
    }
}
