//! `AsyncUdpSocket`: UDP datagrams sent and received without blocking the thread.
//!
//! UDP has no connection and no stream: each `send` is one datagram, each `recv` takes one
//! whole datagram off the socket's queue (or its first `buf.len()` bytes). So the short-read
//! trick of the stream types (a short read means "drained") does not apply here: a small
//! datagram says nothing about the ones queued behind it. Each receive is tried until
//! `WouldBlock`, and each arriving datagram is a new edge that wakes a waiting task.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use super::readiness::{datagram_methods, peek_method, readiness_methods};
use super::{each_addr, no_addresses};
use crate::AsyncFd;
use crate::driver::Direction;
use crate::sys::socket;

/// A UDP socket.
///
/// Every method takes `&self`, so tasks can share the socket through an `Rc`: one
/// receiving while another sends, or several receiving at once (each datagram goes to
/// one of them).
///
/// ```
/// use epoll_rt::net::AsyncUdpSocket;
///
/// epoll_rt::block_on(async {
///     let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
///     let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
///
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncUdpSocket {
    /// The socket, registered with the reactor.
    inner: AsyncFd<UdpSocket>,
}

impl AsyncUdpSocket {
    /// Creates a socket bound to `addr`, non-blocking and close-on-exec from the start,
    /// trying each address `addr` resolves to in turn. Port 0 asks the kernel for a free
    /// port; see [`local_addr`](Self::local_addr).
    ///
    /// Binding never waits, so this is a plain function, as in std. It must be called
    /// inside a runtime, whose reactor the socket is registered with.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     assert_ne!(socket.local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let socket = each_addr(addr, socket::udp_socket)?;
        Ok(Self {
            inner: AsyncFd::new_nonblocking(socket)?,
        })
    }

    /// Wraps a socket made with std, switching it to non-blocking mode.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    ///     let addr = std_socket.local_addr()?;
    ///     let socket = AsyncUdpSocket::from_std(std_socket)?;
    ///     assert_eq!(socket.local_addr()?, addr);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        Ok(Self {
            inner: AsyncFd::new_nonblocking(socket)?,
        })
    }

    /// Sets the socket's default peer: [`send`](Self::send) sends there, and the kernel
    /// drops datagrams from any other address. Tries each address `addr` resolves to in
    /// turn.
    ///
    /// A UDP connect only records the address (no packet is sent), so it never waits and
    /// this is a plain function.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     a.connect(b.local_addr()?)?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.inner.get_ref().connect(addr)
    }

    /// Sends `buf` as one datagram to `target`, waiting until the socket can take it.
    /// Returns the number of bytes sent, which is all of `buf`: a datagram is never split.
    ///
    /// `target` is resolved once, before waiting; a host name is looked up with the system
    /// resolver, which blocks the thread (pass a `SocketAddr` or an IP literal to avoid it).
    /// A datagram too large for UDP fails with an error (`EMSGSIZE`).
    ///
    /// Cancel-safe: if the future is dropped before it completes, nothing was sent.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     assert_eq!(a.send_to(b"hello", b.local_addr()?).await?, 5);
    ///     let mut buf = [0; 5];
    ///     assert_eq!(b.recv(&mut buf).await?, 5);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = target.to_socket_addrs()?.next().ok_or_else(no_addresses)?;
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_write(cx, |s| s.send_to(buf, target))).await
    }

    /// Waits for a datagram and reads it into `buf`. Returns its length and the address it
    /// came from.
    ///
    /// A datagram longer than `buf` is truncated: `buf` receives its first `buf.len()`
    /// bytes, the rest is discarded by the kernel, and the returned length is `buf.len()`.
    /// The next receive gets the next datagram. (This is Linux's and std's behaviour; use
    /// a buffer as large as the largest datagram expected, up to 65,507 bytes for UDP over
    /// IPv4.)
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, no datagram was taken
    /// from the queue; the next receive gets it.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     a.send_to(b"ping", b.local_addr()?).await?;
    ///     let mut buf = [0; 16];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"ping");
    ///     assert_eq!(from, a.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_read(cx, |s| s.recv_from(buf))).await
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram in the queue: the next
    /// receive gets it again. Cancel-safe.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     a.send_to(b"once", b.local_addr()?).await?;
    ///     let mut buf = [0; 16];
    ///     let peeked = b.peek_from(&mut buf).await?;
    ///     let received = b.recv_from(&mut buf).await?;
    ///     assert_eq!(peeked, received);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_read(cx, |s| s.peek_from(buf))).await
    }

    /// Sends `buf` as one datagram to the address given to [`connect`](Self::connect).
    /// Fails on a socket that is not connected (`EDESTADDRREQ`, "destination address
    /// required"); otherwise as [`send_to`](Self::send_to).
    ///
    /// If a previous datagram was refused (no socket on the peer's port, reported by ICMP),
    /// this or the next receive may fail with `ConnectionRefused`; the socket remains
    /// usable.
    ///
    /// Cancel-safe: if the future is dropped before it completes, nothing was sent.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     a.connect(b.local_addr()?)?;
    ///     assert_eq!(a.send(b"hi").await?, 2);
    ///     let mut buf = [0; 2];
    ///     assert_eq!(b.recv(&mut buf).await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_write(cx, |s| s.send(buf))).await
    }

    /// Waits for a datagram and reads it into `buf`, returning its length. Truncation and
    /// cancel safety as for [`recv_from`](Self::recv_from).
    ///
    /// On a connected socket only datagrams from the peer arrive; an unconnected socket
    /// receives from anyone (use `recv_from` to learn who).
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     b.connect(a.local_addr()?)?;
    ///     a.send_to(b"pong", b.local_addr()?).await?;
    ///     let mut buf = [0; 16];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"pong");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut waiter = self.inner.waiter();
        poll_fn(|cx| waiter.poll_read(cx, |s| s.recv(buf))).await
    }

    /// Sends `buf` as one datagram to `target`, without waiting: the bytes sent, or
    /// `WouldBlock` if the send queue is full, which clears write readiness. Pair it with
    /// [`writable`](Self::writable).
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.inner
            .try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Poll form of [`send_to`](Self::send_to), waiting in the shared write slot (see
    /// [`poll_send`](Self::poll_send)).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_with(cx, |s| s.send_to(buf, target))
    }

    /// Sets the IP time-to-live of outgoing datagrams (`IP_TTL`); forwards to std.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams (`IP_TTL`); forwards to std.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address
    /// `interface` (`Ipv4Addr::UNSPECIFIED`: the kernel's choice); forwards to std.
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.inner
            .get_ref()
            .join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4); forwards to std.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.inner
            .get_ref()
            .leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface of index `interface`
    /// (0: the kernel's choice); forwards to std.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6); forwards to std.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner
            .get_ref()
            .leave_multicast_v6(multiaddr, interface)
    }

    // Readiness, non-blocking tries and poll forms, as every datagram socket has them
    // (`readiness.rs`); `examples/readiness_*.rs` show them in use.
    readiness_methods!(UdpSocket);
    datagram_methods!(SocketAddr);
    peek_method!();

    /// The address the socket is bound to (with the real port, after binding port 0).
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     assert!(socket.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address given to [`connect`](Self::connect); `NotConnected` if there is none.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     let kind = socket.peer_addr().map_err(|e| e.kind());
    ///     assert_eq!(kind, Err(std::io::ErrorKind::NotConnected));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`: allow sending to a broadcast address.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_broadcast(true)?;
    ///     assert!(socket.broadcast()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUdpSocket;
    ///
    /// epoll_rt::block_on(async {
    ///     let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
    ///     assert!(!socket.broadcast()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.get_ref().broadcast()
    }
}

impl AsFd for AsyncUdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for AsyncUdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl fmt::Debug for AsyncUdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
