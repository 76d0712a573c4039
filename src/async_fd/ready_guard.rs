//! `ReadyGuard`: proof that an [`AsyncFd`] was reported ready, scoping the operations
//! tried through it; and `WouldBlock`, what such an operation answers when the descriptor
//! was not ready after all.

use std::io;
use std::os::fd::AsFd;

use super::AsyncFd;
use crate::driver::Direction;

/// Proof that an [`AsyncFd`] was reported ready in one direction, returned by
/// [`AsyncFd::readable`] and [`AsyncFd::writable`].
///
/// Holding the guard does not block other tasks; it only scopes the operations tried
/// through it, so that a `WouldBlock` clears the right direction's readiness.
///
/// ```
/// use std::net::UdpSocket;
/// use epoll_rt::AsyncFd;
///
/// epoll_rt::block_on(async {
///     let socket = UdpSocket::bind("127.0.0.1:0")?;
///     socket.set_nonblocking(true)?;
///     let socket = AsyncFd::new(socket)?;
///     let mut guard = socket.writable().await?;
///     let to = guard.get_ref().local_addr()?;
///     assert_eq!(guard.try_io(|s| s.send_to(b"self", to)).expect("room to send")?, 4);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadyGuard<'a, T: AsFd> {
    /// The descriptor that is ready.
    pub(super) fd: &'a AsyncFd<T>,
    /// Which direction.
    pub(super) dir: Direction,
}

impl<T: AsFd> ReadyGuard<'_, T> {
    /// The inner I/O object.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use epoll_rt::AsyncFd;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     let addr = socket.local_addr()?;
    ///     socket.set_nonblocking(true)?;
    ///     let socket = AsyncFd::new(socket)?;
    ///     let guard = socket.writable().await?;
    ///     assert_eq!(guard.get_ref().local_addr()?, addr);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &T {
        self.fd.get_ref()
    }

    /// Declares the descriptor drained in this direction: the next wait sleeps until the
    /// reactor reports new readiness. Call it after an operation returned `WouldBlock`.
    ///
    /// It also forgets an error the reactor reported (`EPOLLERR`): an operation that
    /// returns `WouldBlock` shows that no error is pending any more (the kernel would have
    /// returned it instead).
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    /// use epoll_rt::{AsyncFd, time::timeout};
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, _b) = UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let a = AsyncFd::new(a)?;
    ///     // A new registration starts out ready, so this returns at once...
    ///     a.readable().await?.clear_ready(); // ...but nothing was sent: forget it.
    ///     // Now `readable` sleeps until data arrives, and none will.
    ///     assert!(timeout(Duration::from_millis(10), a.readable()).await.is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clear_ready(&mut self) {
        self.fd.registration.clear_would_block(self.dir);
    }

    /// Runs the non-blocking operation `f`. If it returns `WouldBlock`, clears readiness
    /// and returns `Err(WouldBlock)`, telling the caller to wait again; otherwise returns
    /// `Ok` with `f`'s result.
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
    ///     let mut buf = [0; 8];
    ///     // Ready at first (optimistically), but empty: the read would block.
    ///     assert!(a.readable().await?.try_io(|mut s| s.read(&mut buf)).is_err());
    ///     b.write_all(b"hi")?;
    ///     let n = a.readable().await?.try_io(|mut s| s.read(&mut buf)).expect("data")?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> Result<io::Result<R>, WouldBlock> {
        match self.fd.try_io(self.dir, f) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(WouldBlock(())),
            result => Ok(result),
        }
    }
}

/// The operation tried through [`ReadyGuard::try_io`] would have blocked; readiness was
/// cleared, so waiting again is correct.
///
/// ```
/// use std::net::UdpSocket;
/// use epoll_rt::{AsyncFd, WouldBlock};
///
/// epoll_rt::block_on(async {
///     let socket = UdpSocket::bind("127.0.0.1:0")?;
///     socket.set_nonblocking(true)?;
///     let socket = AsyncFd::new(socket)?;
///     let mut guard = socket.readable().await?; // optimistic: nothing has arrived
///     let result: Result<_, WouldBlock> = guard.try_io(|s| s.recv(&mut [0; 8]));
///     assert!(result.is_err()); // readiness cleared: the next `readable` waits
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WouldBlock(());
