//! The readiness API the socket types share, written once and named as tokio names it:
//! waiting for readiness (`readable`, `writable`, `ready`, and the poll forms
//! `poll_read_ready`, `poll_write_ready`), giving the socket back to std (`into_std`), the
//! non-blocking tries of streams (`try_read`, `try_write` and their vectored forms) and of
//! datagram sockets (`try_send`, `try_recv`, `try_recv_from`, `poll_send`, `poll_recv`,
//! `poll_recv_from`), and `peek`.
//!
//! Each is a macro that expands to methods inside a type's `impl` block; the type keeps
//! its socket in a field `inner: AsyncFd<..>`. The work itself is `AsyncFd`'s
//! (`ready`, `poll_ready`, `try_io`, `into_inner`): these are the names and the docs.
//!
//! How the tries and the waits fit together, as in tokio: `readable().await` returns once
//! the reactor reports the socket readable; `try_read` then makes one non-blocking call.
//! Readiness is a hint: the call may still return `WouldBlock`, which clears the
//! readiness, so the next `readable()` sleeps until the next edge. A loop of
//! `readable().await?` and `try_read` is therefore correct, and never spins.

/// `readable`, `writable`, `ready`, `poll_read_ready`, `poll_write_ready` and `into_std`
/// for a socket type whose `inner` is an `AsyncFd<$std>`.
macro_rules! readiness_methods {
    ($std:ty) => {
        /// Waits until the socket is readable: data, end of file, a pending error, or (the
        /// guess a new socket starts with) nothing yet. Follow it with a `try_` read, which
        /// clears the readiness if it finds nothing. Cancel-safe.
        ///
        /// # Errors
        ///
        /// Instead of waiting, if the runtime the socket belongs to has shut down or is not
        /// the one running on this thread.
        pub async fn readable(&self) -> ::std::io::Result<()> {
            self.inner.readable().await.map(drop)
        }

        /// Waits until the socket is writable (room in the send buffer, or a pending
        /// error); see [`readable`](Self::readable). Cancel-safe.
        pub async fn writable(&self) -> ::std::io::Result<()> {
            self.inner.writable().await.map(drop)
        }

        /// Waits until the socket is ready in one of the directions of `interest`, and
        /// says which it is ready in. Cancel-safe; errors as [`readable`](Self::readable).
        pub async fn ready(&self, interest: $crate::Interest) -> ::std::io::Result<$crate::Ready> {
            self.inner.ready(interest).await
        }

        /// Poll form of [`readable`](Self::readable): for a hand-written future or poll
        /// method. It waits in the socket's one shared read slot, which keeps only the
        /// waker of the last call: one task at a time should poll it.
        pub fn poll_read_ready(
            &self,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            self.inner.poll_ready(cx, $crate::driver::Direction::Read)
        }

        /// Poll form of [`writable`](Self::writable), with the shared write slot; see
        /// [`poll_read_ready`](Self::poll_read_ready).
        pub fn poll_write_ready(
            &self,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            self.inner.poll_ready(cx, $crate::driver::Direction::Write)
        }

        /// Deregisters the socket from the runtime and returns the std socket. It is
        /// still in non-blocking mode (as tokio's `into_std` leaves it): call
        /// `set_nonblocking(false)` for blocking calls.
        pub fn into_std(self) -> $std {
            self.inner.into_inner()
        }
    };
}

/// `try_read`, `try_read_vectored`, `try_write` and `try_write_vectored` for a stream type
/// whose `inner` is an `AsyncFd` of a connected stream socket.
macro_rules! stream_try_methods {
    () => {
        /// Reads what is there into `buf` with one non-blocking `recv`, without waiting:
        /// the number of bytes read (0 at end of file), or `WouldBlock` if nothing is
        /// queued, which clears read readiness. Pair it with [`readable`](Self::readable).
        pub fn try_read(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            self.inner.try_io($crate::driver::Direction::Read, |s| {
                $crate::sys::socket::recv(s, buf)
            })
        }

        /// [`try_read`](Self::try_read) into several slices, with one `recvmsg`.
        pub fn try_read_vectored(
            &self,
            bufs: &mut [::std::io::IoSliceMut<'_>],
        ) -> ::std::io::Result<usize> {
            self.inner.try_io($crate::driver::Direction::Read, |s| {
                $crate::sys::socket::recv_vectored(::std::os::fd::AsFd::as_fd(s), bufs)
            })
        }

        /// Writes what fits of `buf` with one non-blocking `send` (with `MSG_NOSIGNAL`),
        /// without waiting: the number of bytes written, or `WouldBlock` if the send
        /// buffer is full, which clears write readiness. Pair it with
        /// [`writable`](Self::writable).
        pub fn try_write(&self, buf: &[u8]) -> ::std::io::Result<usize> {
            self.inner.try_io($crate::driver::Direction::Write, |s| {
                $crate::sys::socket::send(s, buf)
            })
        }

        /// [`try_write`](Self::try_write) of several slices, with one `sendmsg`.
        pub fn try_write_vectored(
            &self,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> ::std::io::Result<usize> {
            self.inner.try_io($crate::driver::Direction::Write, |s| {
                $crate::sys::socket::send_vectored(::std::os::fd::AsFd::as_fd(s), bufs)
            })
        }
    };
}

/// `try_send`, `try_recv`, `try_recv_from`, `poll_send`, `poll_recv` and `poll_recv_from`
/// for a datagram type whose `inner` is an `AsyncFd` of a datagram socket with addresses
/// of type `$addr`.
macro_rules! datagram_methods {
    ($addr:ty) => {
        /// Sends `buf` as one datagram to the connected peer, without waiting: the bytes
        /// sent, or `WouldBlock` if the send queue is full, which clears write readiness.
        /// Pair it with [`writable`](Self::writable).
        pub fn try_send(&self, buf: &[u8]) -> ::std::io::Result<usize> {
            self.inner.try_io($crate::driver::Direction::Write, |s| {
                $crate::sys::socket::send(s, buf)
            })
        }

        /// Takes one datagram off the queue into `buf` (truncated to `buf.len()`), without
        /// waiting: its length, or `WouldBlock` if none is queued, which clears read
        /// readiness. Pair it with [`readable`](Self::readable).
        pub fn try_recv(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            self.inner.try_io($crate::driver::Direction::Read, |s| {
                $crate::sys::socket::recv(s, buf)
            })
        }

        /// Takes one datagram off the queue into `buf`, without waiting: its length and
        /// sender, or `WouldBlock` if none is queued, which clears read readiness. Pair it
        /// with [`readable`](Self::readable).
        pub fn try_recv_from(&self, buf: &mut [u8]) -> ::std::io::Result<(usize, $addr)> {
            self.inner
                .try_io($crate::driver::Direction::Read, |s| s.recv_from(buf))
        }

        /// Poll form of `recv_from`, waiting in the shared read slot (see
        /// [`poll_send`](Self::poll_send)).
        pub fn poll_recv_from(
            &self,
            cx: &mut ::std::task::Context<'_>,
            buf: &mut [u8],
        ) -> ::std::task::Poll<::std::io::Result<(usize, $addr)>> {
            self.inner.poll_read_with(cx, |s| s.recv_from(buf))
        }

        /// Poll form of `send`, for a hand-written future or poll method. It waits in the
        /// socket's one shared write slot, which keeps only the waker of the last call:
        /// one task at a time should poll it.
        pub fn poll_send(
            &self,
            cx: &mut ::std::task::Context<'_>,
            buf: &[u8],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            self.inner
                .poll_write_with(cx, |s| $crate::sys::socket::send(s, buf))
        }

        /// Poll form of `recv`, with the shared read slot (see
        /// [`poll_send`](Self::poll_send)). Unlike tokio's, it fills a `&mut [u8]` and
        /// returns the length, as `recv` does.
        pub fn poll_recv(
            &self,
            cx: &mut ::std::task::Context<'_>,
            buf: &mut [u8],
        ) -> ::std::task::Poll<::std::io::Result<usize>> {
            self.inner
                .poll_read_with(cx, |s| $crate::sys::socket::recv(s, buf))
        }
    };
}

/// `peek` for a socket type whose `inner` is an `AsyncFd` of a socket.
macro_rules! peek_method {
    () => {
        /// Waits for data and copies it into `buf` without taking it off the queue: the
        /// next receive gets it again (`recv` with `MSG_PEEK`). Returns the length: for a
        /// datagram socket, of the first datagram (truncated to `buf.len()`); for a
        /// stream, of what is queued, up to `buf.len()`, 0 at end of file. Cancel-safe.
        pub async fn peek(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            let mut waiter = self.inner.waiter();
            ::std::future::poll_fn(|cx| {
                waiter.poll_read(cx, |s| {
                    $crate::sys::socket::peek(::std::os::fd::AsFd::as_fd(s), buf)
                })
            })
            .await
        }
    };
}

pub(crate) use {datagram_methods, peek_method, readiness_methods, stream_try_methods};
