//! `AsyncFd`: any non-blocking file descriptor, made awaitable.
//!
//! This is the one bridge between the reactor and I/O objects. The socket types of `net`
//! are thin wrappers around an `AsyncFd` of the matching `std` type: each operation is one
//! non-blocking call (std's, or for the calls every request makes, `accept4`, `recv` and
//! `send`, made directly in `sys/socket.rs`), tried through a `Waiter`, which waits for
//! readiness and retries on `WouldBlock` (the protocol of `driver/registration.rs`), and
//! takes the task's waker back from the reactor when the operation's future is dropped.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use crate::driver::{Direction, Registration, Ticket};
use crate::runtime::context;
use crate::sys::fd::is_nonblocking;

mod interest;
mod ready_guard;
mod waiter;

pub use interest::{Interest, Ready};
pub use ready_guard::{ReadyGuard, WouldBlock};
pub(crate) use waiter::Waiter;

/// A file descriptor registered with the current runtime, with async read and write
/// helpers.
///
/// The descriptor must be in non-blocking mode: a blocking call would stall every task of
/// the runtime. [`AsyncFd::new`] checks this and refuses a blocking descriptor.
///
/// The `AsyncFd` belongs to the runtime it was created on: polled by another runtime, or
/// after its own was dropped, an operation that would have to wait fails instead (see
/// [`Runtime`](crate::Runtime#io-objects-belong-to-their-runtime)).
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use epoll_rt::AsyncFd;
///
/// epoll_rt::block_on(async {
///     let (a, mut b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     let a = AsyncFd::new(a)?;
///
///     b.write_all(b"ping")?;
///     let mut buf = [0; 4];
///     let n = a.read_with(|mut s| s.read(&mut buf)).await?;
///     assert_eq!(&buf[..n], b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncFd<T: AsFd> {
    /// The descriptor's place in the reactor, which also holds the runtime's cooperative
    /// budget: each operation allowed to proceed spends one unit (see `util/budget.rs`).
    registration: Registration,
    /// The I/O object that owns the descriptor. `None` only once [`into_inner`] has taken
    /// it, on the way out: every other method sees `Some`.
    ///
    /// [`into_inner`]: AsyncFd::into_inner
    inner: Option<T>,
}

impl<T: AsFd> AsyncFd<T> {
    /// Registers `inner`'s descriptor with the runtime running on this thread.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the descriptor is in blocking mode (set `O_NONBLOCK` first, e.g.
    /// with `set_nonblocking(true)`); `EPERM` for a descriptor epoll cannot watch (a
    /// regular file: use [`fs`](crate::fs) for files); any error outside a runtime.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     // Still blocking: refused, since one blocking call would stall every task.
    ///     let err = AsyncFd::new(socket.try_clone()?).unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::InvalidInput);
    ///     socket.set_nonblocking(true)?;
    ///     let _socket = AsyncFd::new(socket)?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: T) -> io::Result<Self> {
        if !is_nonblocking(inner.as_fd())? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "AsyncFd needs a non-blocking file descriptor: set O_NONBLOCK first \
                 (for std types, call set_nonblocking(true))",
            ));
        }
        Self::new_nonblocking(inner)
    }

    /// [`new`](Self::new) for a descriptor known to be non-blocking, skipping the check
    /// (one `fcntl` saved per accepted connection).
    pub(crate) fn new_nonblocking(inner: T) -> io::Result<Self> {
        let reactor = context::current_reactor()?;
        let registration = Registration::new(reactor, inner.as_fd())?;
        Ok(Self {
            registration,
            inner: Some(inner),
        })
    }

    /// The inner I/O object.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?;
    ///     assert_ne!(socket.get_ref().local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &T {
        self.inner
            .as_ref()
            .expect("the inner object is taken only by into_inner, which consumes the AsyncFd")
    }

    /// The inner I/O object, mutably.
    ///
    /// # Replacing the inner object
    ///
    /// The reactor watches the descriptor the inner object owned when this `AsyncFd` was
    /// made. Replacing the object through this reference (`*fd.get_mut() = other`) is safe
    /// but not useful: the replaced descriptor, once closed, leaves the epoll set by
    /// itself, and the `AsyncFd`, when dropped, deregisters whatever descriptor its inner
    /// object owns then, never a number another object may have been given since; but the
    /// new descriptor is not registered, so an operation that waits on it waits for events
    /// that never come. To switch to another object, take the old one out with
    /// [`into_inner`](Self::into_inner) and wrap the new one with [`new`](Self::new).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, mut b) = UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let mut a = AsyncFd::new(a)?;
    ///     a.get_mut().write_all(b"hi")?; // `Write::write_all` takes `&mut UnixStream`
    ///     let mut buf = [0; 2];
    ///     b.read_exact(&mut buf)?;
    ///     assert_eq!(&buf, b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner
            .as_mut()
            .expect("the inner object is taken only by into_inner, which consumes the AsyncFd")
    }

    /// Deregisters the descriptor and returns the inner I/O object.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?.into_inner();
    ///     // Deregistered, so the same descriptor can be registered again.
    ///     let socket = AsyncFd::new(socket)?;
    ///     assert_ne!(socket.get_ref().local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(mut self) -> T {
        let inner = self
            .inner
            .take()
            .expect("the inner object is taken only here, and this consumes the AsyncFd");
        self.registration.deregister(inner.as_fd());
        inner
    }

    /// Runs the non-blocking read `f` until it does something other than `WouldBlock`,
    /// waiting for the descriptor to become readable between tries.
    ///
    /// `f` must be a single non-blocking operation: the readiness it consumes is cleared
    /// only when it returns `WouldBlock`.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?;
    ///     let sender = UdpSocket::bind("127.0.0.1:0")?;
    ///     sender.send_to(b"ping", socket.get_ref().local_addr()?)?;
    ///     let mut buf = [0; 16];
    ///     let (n, from) = socket.read_with(|s| s.recv_from(&mut buf)).await?;
    ///     assert_eq!((&buf[..n], from), (&b"ping"[..], sender.local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_with<R>(&self, mut f: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut waiter = self.waiter();
        poll_fn(|cx| waiter.poll_read(cx, &mut f)).await
    }

    /// Runs the non-blocking write `f` until it does something other than `WouldBlock`,
    /// waiting for the descriptor to become writable between tries.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?;
    ///     let receiver = UdpSocket::bind("127.0.0.1:0")?;
    ///     let to = receiver.local_addr()?;
    ///     assert_eq!(socket.write_with(|s| s.send_to(b"pong", to)).await?, 4);
    ///     let mut buf = [0; 16];
    ///     assert_eq!(receiver.recv(&mut buf)?, 4);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_with<R>(&self, mut f: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut waiter = self.waiter();
        poll_fn(|cx| waiter.poll_write(cx, &mut f)).await
    }

    /// Poll form of [`read_with`](Self::read_with), for implementing poll-based traits.
    ///
    /// Returns `Pending` (with the task's waker stored) until the descriptor is readable
    /// and `f` does something other than `WouldBlock`.
    ///
    /// Having no future to remember a wait by, the poll methods share one waker slot per
    /// direction: each call that returns `Pending` replaces the waker stored by the
    /// previous one (as tokio's `poll_read_ready` does), so only the last task to poll is
    /// woken. Tasks that wait on one descriptor at the same time should use the async
    /// methods, which keep a waker per waiting future (and take it back when the future
    /// is dropped).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::net::UdpSocket;
    /// use std::task::{Context, Poll};
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?;
    ///     let mut buf = [0; 16];
    ///     let mut recv = |cx: &mut Context<'_>| socket.poll_read_with(cx, |s| s.recv(&mut buf));
    ///     // Nothing was sent: the read would block, so the poll is pending.
    ///     assert!(poll_fn(|cx| Poll::Ready(recv(cx))).await.is_pending());
    ///     socket.get_ref().send_to(b"hi", socket.get_ref().local_addr()?)?;
    ///     let n = poll_fn(&mut recv).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_slot().poll_read(cx, f)
    }

    /// Poll form of [`write_with`](Self::write_with).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?;
    ///     let to = socket.get_ref().local_addr()?;
    ///     let n = poll_fn(|cx| socket.poll_write_with(cx, |s| s.send_to(b"hi", to))).await?;
    ///     assert_eq!(n, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_slot().poll_write(cx, f)
    }

    /// A wait by one future: the future keeps the waiter and polls through it (in one
    /// direction), and dropping the future drops the waiter, which takes the task's waker
    /// back.
    #[inline]
    pub(crate) fn waiter(&self) -> Waiter<'_, T> {
        Waiter {
            fd: self,
            ticket: Ticket::new(),
        }
    }

    /// A wait by a poll method, through each direction's shared slot.
    #[inline]
    pub(crate) fn poll_slot(&self) -> Waiter<'_, T> {
        Waiter {
            fd: self,
            ticket: Ticket::poll_slot(),
        }
    }

    /// Waits until the reactor reports the descriptor readable, and returns a guard for
    /// trying reads. For code that drives the I/O itself; [`read_with`](Self::read_with)
    /// does all of this in one call.
    ///
    /// Readiness is a hint: a read may still return `WouldBlock`. Then call
    /// [`ReadyGuard::clear_ready`] (or use [`ReadyGuard::try_io`], which does), or the next
    /// `readable()` returns at once and the loop spins.
    ///
    /// # Errors
    ///
    /// Instead of waiting, if the runtime this `AsyncFd` was created on has shut down, or
    /// is not the one running on this thread (see [`Runtime`](crate::Runtime)).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, mut b) = UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let a = AsyncFd::new(a)?;
    ///     b.write_all(b"hi")?;
    ///
    ///     let mut buf = [0; 8];
    ///     let n = loop {
    ///         let mut guard = a.readable().await?;
    ///         match guard.try_io(|mut s| s.read(&mut buf)) {
    ///             Ok(result) => break result?,
    ///             Err(_would_block) => continue, // readiness cleared; wait again
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<ReadyGuard<'_, T>> {
        let mut waiter = self.waiter();
        poll_fn(|cx| waiter.poll_ready(cx, Direction::Read)).await?;
        Ok(ReadyGuard {
            fd: self,
            dir: Direction::Read,
        })
    }

    /// Waits until the reactor reports the descriptor writable; see
    /// [`readable`](Self::readable), errors included.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?;
    ///     let to = socket.get_ref().local_addr()?;
    ///     let mut guard = socket.writable().await?; // an empty send buffer has room
    ///     let sent = guard.try_io(|s| s.send_to(b"hi", to)).expect("room to send")?;
    ///     assert_eq!(sent, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<ReadyGuard<'_, T>> {
        let mut waiter = self.waiter();
        poll_fn(|cx| waiter.poll_ready(cx, Direction::Write)).await?;
        Ok(ReadyGuard {
            fd: self,
            dir: Direction::Write,
        })
    }

    /// Waits until the descriptor is ready in one of the directions of `interest`, and
    /// says which directions are: the sockets' `ready`.
    pub(crate) async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let (mut read, mut write) = (self.waiter(), self.waiter());
        poll_fn(|cx| {
            // Each direction waits in its own entry: whichever edge comes first wakes us.
            let read_ready =
                interest.is_readable() && read.poll_ready(cx, Direction::Read)?.is_ready();
            let write_ready =
                interest.is_writable() && write.poll_ready(cx, Direction::Write)?.is_ready();
            if read_ready || write_ready {
                Poll::Ready(Ok(Ready::new(self.registration.readiness(), interest)))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// `Ready` once the descriptor is ready in `dir`, waiting in the direction's shared
    /// poll slot: the sockets' `poll_read_ready` and `poll_write_ready`.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
        self.poll_slot().poll_ready(cx, dir)
    }

    /// Tries the non-blocking operation `f` once, without waiting: the sockets' `try_`
    /// methods. A `WouldBlock` clears readiness in `dir` (so the next wait sleeps until
    /// the reactor reports more) and is returned as is.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let result = f(self.get_ref());
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.registration.clear_would_block(dir);
        }
        result
    }

    /// Forgets read readiness: the caller knows the descriptor is drained (a short read
    /// from a stream socket).
    pub(crate) fn clear_readable(&self) {
        self.registration.clear_readiness(Direction::Read);
    }

    /// Forgets write readiness: the caller knows the send buffer is full (a short write).
    pub(crate) fn clear_writable(&self) {
        self.registration.clear_readiness(Direction::Write);
    }
}

impl<T: AsFd> Drop for AsyncFd<T> {
    /// Deregisters the descriptor the inner object owns now, while it is still open: the
    /// inner object closes it right after, when the fields are dropped. Deregistering the
    /// number registered at the start instead would, if the inner object was replaced
    /// (see [`get_mut`](Self::get_mut)) and the number reused since, remove another
    /// object's registration.
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            self.registration.deregister(inner.as_fd());
        }
    }
}

impl<T: AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", self.get_ref())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
    use std::os::unix::net::UnixStream;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::AsyncFd;

    /// A connected pair of non-blocking Unix stream sockets.
    fn socket_pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        Ok((a, b))
    }

    /// The descriptors an epoll instance watches, from its `/proc/self/fdinfo` `tfd:` lines.
    fn watched(epfd: RawFd) -> io::Result<Vec<RawFd>> {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{epfd}"))?;
        Ok(info
            .lines()
            .filter_map(|line| line.strip_prefix("tfd:"))
            .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
            .collect())
    }

    /// What descriptor number `fd` names now (`socket:[inode]` for a socket), if anything.
    fn fd_target(fd: RawFd) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
    }

    /// Drops an `AsyncFd` of `make(a)` while a duplicate of `a` keeps the socket open, and
    /// checks that the reactor's epoll no longer watches the descriptor and that the number no
    /// longer names the socket.
    ///
    /// Had the descriptor been closed before the `epoll_ctl(DEL)`, the DEL would have failed
    /// and, since the duplicate keeps the open file alive, the kernel would still watch it.
    fn check_async_fd_drop<T: AsFd>(make: impl FnOnce(UnixStream) -> T) -> io::Result<()> {
        crate::Runtime::new()?.block_on(async {
            let reactor = crate::runtime::context::current_reactor()?;
            let epfd = reactor.epoll_fd();
            let (a, mut b) = socket_pair()?;
            let duplicate = a.try_clone()?;
            let async_fd = AsyncFd::new(make(a))?;
            let fd = async_fd.as_raw_fd();
            let socket = fd_target(fd).expect("the descriptor is open");
            assert!(watched(epfd)?.contains(&fd));
            assert_eq!(reactor.source_count(), 1);

            drop(async_fd);
            assert_eq!(reactor.source_count(), 0);
            assert!(
                !watched(epfd)?.contains(&fd),
                "the descriptor was closed before it was deregistered"
            );
            assert_ne!(fd_target(fd), Some(socket), "the descriptor was not closed");

            // The socket lives on through the duplicate; its events reach nobody, harmlessly.
            b.write_all(b"x")?;
            crate::time::sleep(Duration::from_millis(10)).await;
            drop(duplicate);
            Ok(())
        })
    }

    #[test]
    fn dropping_an_async_fd_deregisters_then_closes() -> io::Result<()> {
        check_async_fd_drop(|socket| socket)?;
        check_async_fd_drop(OwnedFd::from)
    }
}
