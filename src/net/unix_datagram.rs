//! `AsyncUnixDatagram`: Unix-domain datagrams sent and received without blocking the
//! thread.
//!
//! Like UDP, each send is one datagram and each receive takes one whole datagram (see
//! `udp.rs`), but delivery is reliable and ordered: a receiver whose queue is full makes
//! the sender wait (`EAGAIN`) instead of dropping the datagram. Sends pass `MSG_NOSIGNAL`,
//! as for Unix streams.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;

use crate::AsyncFd;
use crate::sys::socket;
use crate::sys::unix_socket::{self, UnixAddr};

/// A Unix-domain datagram socket.
///
/// Every method takes `&self`, so tasks can share the socket through an `Rc`: one
/// receiving while another sends, or several receiving at once (each datagram goes to
/// one of them).
///
/// A socket bound to a path creates a file there, which dropping the socket does not
/// remove (as in std).
///
/// ```
/// use epoll_rt::net::AsyncUnixDatagram;
///
/// epoll_rt::block_on(async {
///     let (a, b) = AsyncUnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"two");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncUnixDatagram {
    /// The socket, registered with the reactor.
    inner: AsyncFd<UnixDatagram>,
}

impl AsyncUnixDatagram {
    /// Creates a socket bound to `path`, non-blocking and close-on-exec from the start.
    /// Never waits.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if a file exists at `path`; `InvalidInput` if `path` is empty, contains
    /// a NUL byte, or is longer than 107 bytes.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ud-bind.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUnixDatagram::bind(&path)?;
    ///     assert_eq!(socket.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        let addr = UnixAddr::from_path(path.as_ref())?;
        let socket = unix_socket::socket(libc::SOCK_DGRAM)?;
        unix_socket::bind(socket.as_fd(), &addr)?;
        Self::from_nonblocking(UnixDatagram::from(socket))
    }

    /// Creates a socket bound to no address, non-blocking and close-on-exec from the
    /// start. It can send (to a path, or after [`connect`](Self::connect)) but nobody can
    /// address a datagram to it, except its connected peer. Never waits.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ud-unbound.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let receiver = AsyncUnixDatagram::bind(&path)?;
    ///     let sender = AsyncUnixDatagram::unbound()?;
    ///     sender.send_to(b"hi", &path).await?;
    ///     let mut buf = [0; 2];
    ///     let (n, from) = receiver.recv_from(&mut buf).await?;
    ///     assert_eq!((n, from.is_unnamed()), (2, true));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unbound() -> io::Result<Self> {
        let socket = unix_socket::socket(libc::SOCK_DGRAM)?;
        Self::from_nonblocking(UnixDatagram::from(socket))
    }

    /// Creates a pair of sockets connected to each other, non-blocking and close-on-exec
    /// from the start (`socketpair`). Never waits.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, b) = AsyncUnixDatagram::pair()?;
    ///     b.send(b"back").await?;
    ///     let mut buf = [0; 4];
    ///     assert_eq!(a.recv(&mut buf).await?, 4);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = unix_socket::pair(libc::SOCK_DGRAM)?;
        let a = Self::from_nonblocking(UnixDatagram::from(a))?;
        let b = Self::from_nonblocking(UnixDatagram::from(b))?;
        Ok((a, b))
    }

    /// Wraps a socket made with std, switching it to non-blocking mode.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
    ///     let a = AsyncUnixDatagram::from_std(a)?;
    ///     b.send(b"std")?;
    ///     let mut buf = [0; 3];
    ///     assert_eq!(a.recv(&mut buf).await?, 3);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: UnixDatagram) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        Self::from_nonblocking(socket)
    }

    /// Wraps a socket already in non-blocking mode.
    fn from_nonblocking(socket: UnixDatagram) -> io::Result<Self> {
        Ok(Self {
            inner: AsyncFd::new_nonblocking(socket)?,
        })
    }

    /// Sets the socket's default peer: [`send`](Self::send) sends there, and only
    /// datagrams from there are received. Never waits.
    ///
    /// # Errors
    ///
    /// `NotFound` if nothing exists at `path`, `ConnectionRefused` if no socket is bound
    /// there any more; `InvalidInput` for a path that cannot be a socket address (see
    /// [`bind`](Self::bind)).
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ud-connect.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let receiver = AsyncUnixDatagram::bind(&path)?;
    ///     let sender = AsyncUnixDatagram::unbound()?;
    ///     sender.connect(&path)?;
    ///     sender.send(b"hi").await?;
    ///     let mut buf = [0; 2];
    ///     assert_eq!(receiver.recv(&mut buf).await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let addr = UnixAddr::from_path(path.as_ref())?;
        unix_socket::connect(self.inner.as_fd(), &addr)
    }

    /// Sends `buf` as one datagram to the socket bound at `path`, waiting while the
    /// receiver's queue is full. Returns the number of bytes sent, which is all of `buf`.
    ///
    /// `ConnectionRefused` if no socket is bound at `path` any more; `InvalidInput` for a
    /// path that cannot be a socket address (see [`bind`](Self::bind)), checked before
    /// any wait.
    ///
    /// Cancel-safe: if the future is dropped before it completes, nothing was sent.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ud-send-to.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let receiver = AsyncUnixDatagram::bind(&path)?;
    ///     let sender = AsyncUnixDatagram::unbound()?;
    ///     assert_eq!(sender.send_to(b"hello", &path).await?, 5);
    ///     let mut buf = [0; 5];
    ///     assert_eq!(receiver.recv(&mut buf).await?, 5);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = UnixAddr::from_path(path.as_ref())?;
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_write(cx, |s| unix_socket::send_to(s.as_fd(), buf, &addr))).await
    }

    /// Waits for a datagram and reads it into `buf`. Returns its length and the sender's
    /// address (unnamed if the sender is not bound to a path).
    ///
    /// A datagram longer than `buf` is truncated: `buf` receives its first `buf.len()`
    /// bytes, the rest is discarded, and the returned length is `buf.len()`. The next
    /// receive gets the next datagram.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, no datagram was taken
    /// from the queue; the next receive gets it.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// let dir = std::env::temp_dir();
    /// let a_path = dir.join(format!("epoll-rt-doc-{}-ud-recv-from-a.sock", std::process::id()));
    /// let b_path = dir.join(format!("epoll-rt-doc-{}-ud-recv-from-b.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&a_path);
    /// # let _ = std::fs::remove_file(&b_path);
    /// epoll_rt::block_on(async {
    ///     let a = AsyncUnixDatagram::bind(&a_path)?;
    ///     let b = AsyncUnixDatagram::bind(&b_path)?;
    ///     a.send_to(b"ping", &b_path).await?;
    ///     let mut buf = [0; 16];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"ping");
    ///     assert_eq!(from.as_pathname(), Some(a_path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&a_path)?;
    /// std::fs::remove_file(&b_path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_read(cx, |s| s.recv_from(buf))).await
    }

    /// Sends `buf` as one datagram to the connected peer, waiting while the peer's queue
    /// is full. Returns the number of bytes sent, which is all of `buf`.
    ///
    /// # Errors
    ///
    /// `NotConnected` on a socket that is not connected; `ConnectionRefused` if the peer
    /// has been closed.
    ///
    /// Cancel-safe: if the future is dropped before it completes, nothing was sent.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, b) = AsyncUnixDatagram::pair()?;
    ///     assert_eq!(a.send(b"hi").await?, 2);
    ///     drop(b);
    ///     let err = a.send(b"hi").await.map_err(|e| e.kind());
    ///     assert_eq!(err, Err(std::io::ErrorKind::ConnectionRefused));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_write(cx, |s| socket::send(s, buf))).await
    }

    /// Waits for a datagram and reads it into `buf`, returning its length. Truncation and
    /// cancel safety as for [`recv_from`](Self::recv_from).
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, b) = AsyncUnixDatagram::pair()?;
    ///     a.send(b"a long datagram").await?;
    ///     let mut buf = [0; 6];
    ///     assert_eq!(b.recv(&mut buf).await?, 6); // truncated
    ///     assert_eq!(&buf, b"a long");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_read(cx, |s| s.recv(buf))).await
    }

    /// The address the socket is bound to (unnamed if it is not bound).
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUnixDatagram::unbound()?;
    ///     assert!(socket.local_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address of the connected peer; `NotConnected` if there is none.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixDatagram;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUnixDatagram::unbound()?;
    ///     let kind = socket.peer_addr().map_err(|e| e.kind());
    ///     assert_eq!(kind.map(drop), Err(std::io::ErrorKind::NotConnected));
    ///     let (a, _b) = AsyncUnixDatagram::pair()?;
    ///     assert!(a.peer_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }
}

impl AsFd for AsyncUnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for AsyncUnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl fmt::Debug for AsyncUnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
