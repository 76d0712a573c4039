//! `AsyncTcpStream`: a TCP connection whose reads and writes wait instead of blocking.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};
use std::time::Duration;

use super::byte_stream::shared_io_methods;
use super::no_addresses;
use super::readiness::{peek_method, readiness_methods, stream_try_methods};
use crate::AsyncFd;
use crate::async_fd::Waiter;
use crate::driver::Direction;
#[cfg(feature = "hyper")]
use crate::sys::hyper_cursor;
use crate::sys::socket;

/// A TCP connection.
///
/// Reads and writes take `&mut self`: one task reads and writes a stream at a time.
///
/// Writing to a connection the peer has closed returns an error (`EPIPE` or
/// `ECONNRESET`); it never raises `SIGPIPE`, because writes are sent with `MSG_NOSIGNAL`
/// (`sys::socket::send`).
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///
///     client.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # With the `futures-io` feature
///
/// The stream and its halves implement `futures_io::AsyncRead` and `AsyncWrite`, so the
/// `futures` crate's adapters work on them; `close` shuts down the writing direction:
///
/// ```
/// # #[cfg(feature = "futures-io")] {
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"via futures-io").await?;
///     client.close().await?; // the server reads end of file after the text
///     let mut text = String::new();
///     server.read_to_string(&mut text).await?;
///     assert_eq!(text, "via futures-io");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncTcpStream {
    /// The connected socket, registered with the reactor.
    inner: AsyncFd<TcpStream>,
}

impl AsyncTcpStream {
    /// Opens a connection to `addr`, trying each address it resolves to in turn.
    ///
    /// The connect is non-blocking: the socket is created with `SOCK_NONBLOCK`, `connect`
    /// returns `EINPROGRESS`, and the task waits for the socket to become writable, which
    /// is when the handshake has ended; `SO_ERROR` then says whether it succeeded (a
    /// refused connection is an `ECONNREFUSED` error).
    ///
    /// Name resolution, for an address given as a host name, uses the system resolver and
    /// blocks the thread; pass a `SocketAddr` or an IP literal to avoid it.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let addr = listener.local_addr()?;
    ///     let stream = AsyncTcpStream::connect(addr).await?;
    ///     assert_eq!(stream.peer_addr()?, addr);
    ///     drop(listener); // now nobody listens on that port
    ///     let err = AsyncTcpStream::connect(addr).await.unwrap_err();
    ///     assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let mut last_err = None;
        for addr in addr.to_socket_addrs()? {
            match Self::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(no_addresses))
    }

    /// Connects to one address.
    async fn connect_addr(addr: SocketAddr) -> io::Result<Self> {
        let (stream, in_progress) = socket::tcp_connect(addr)?;
        let stream = Self::from_nonblocking(stream)?;
        if in_progress {
            let mut waiter = stream.inner.waiter();
            loop {
                poll_fn(|cx| waiter.poll_ready(cx, Direction::Write)).await?;
                if let Some(e) = stream.inner.get_ref().take_error()? {
                    return Err(e);
                }
                // Writable and no error: connected, unless the readiness was the optimistic
                // guess a new registration starts with (see `Registration::new`).
                match stream.inner.get_ref().peer_addr() {
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        stream.inner.clear_writable()
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(stream)
    }

    /// Wraps a connection made with std, switching it to non-blocking mode.
    ///
    /// ```
    /// use std::net::{TcpListener, TcpStream};
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// let std_listener = TcpListener::bind("127.0.0.1:0")?;
    /// // A blocking connect, made before the runtime starts.
    /// let std_stream = TcpStream::connect(std_listener.local_addr()?)?;
    /// epoll_rt::block_on(async {
    ///     let mut client = AsyncTcpStream::from_std(std_stream)?;
    ///     let (mut server, _) = AsyncTcpListener::from_std(std_listener)?.accept().await?;
    ///     server.write_all(b"hi").await?;
    ///     let mut buf = [0; 2];
    ///     client.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Self::from_nonblocking(stream)
    }

    /// Wraps a socket already in non-blocking mode.
    pub(crate) fn from_nonblocking(stream: TcpStream) -> io::Result<Self> {
        Ok(Self {
            inner: AsyncFd::new_nonblocking(stream)?,
        })
    }

    /// Reads some bytes into `buf`, waiting until at least one is available. Returns how
    /// many were read; 0 means the peer closed its writing half (end of file), or `buf`
    /// is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, no byte was read.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"hello").await?;
    ///     drop(client); // end of file after the data
    ///     let (mut got, mut buf) = (Vec::new(), [0; 16]);
    ///     loop {
    ///         match server.read(&mut buf).await? {
    ///             0 => break, // end of file
    ///             n => got.extend_from_slice(&buf[..n]),
    ///         }
    ///     }
    ///     assert_eq!(got, b"hello");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        self.read_shared(buf)
    }

    /// Reads exactly `buf.len()` bytes. End of file first is an `UnexpectedEof` error.
    ///
    /// Not cancel-safe: if the future is dropped midway, the bytes read so far are lost.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"abc").await?;
    ///     drop(client);
    ///     let mut buf = [0; 2];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"ab");
    ///     let err = server.read_exact(&mut buf).await.unwrap_err(); // "c", then end of file
    ///     assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_exact(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
        self.read_exact_shared(buf)
    }

    /// Writes some bytes of `buf`, waiting until the socket can take at least one. Returns
    /// how many were written.
    ///
    /// Cancel-safe: if the future is dropped before it completes, no byte was written.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let n = client.write(b"hello").await?; // at least 1 byte, maybe not all
    ///     let mut buf = [0; 5];
    ///     server.read_exact(&mut buf[..n]).await?;
    ///     assert_eq!(&buf[..n], &b"hello"[..n]);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        self.write_shared(buf)
    }

    /// Writes all of `buf`, waiting for room in the socket's send buffer as needed (this is
    /// where backpressure from a slow reader stops the writer).
    ///
    /// Not cancel-safe: if the future is dropped midway, an unknown prefix was written.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     // 1 MiB is more than the socket buffers hold: the writer waits for the reader.
    ///     let data = vec![7u8; 1 << 20];
    ///     let reader = epoll_rt::spawn(async move {
    ///         let mut buf = vec![0; 1 << 20];
    ///         server.read_exact(&mut buf).await.map(|()| buf)
    ///     });
    ///     client.write_all(&data).await?;
    ///     assert_eq!(reader.await??, data);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        self.write_all_shared(buf)
    }

    /// Reads into the slices `bufs`, filling each in turn, with one `recvmsg`: as
    /// [`read`](Self::read) otherwise, cancel-safe included. At most the first 1024 slices
    /// (`UIO_MAXIOV`) are used.
    ///
    /// ```
    /// use std::io::{IoSlice, IoSliceMut};
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     // One `sendmsg` for a header and a body kept in separate buffers.
    ///     let n = client.write_vectored(&[IoSlice::new(b"head"), IoSlice::new(b"body")]).await?;
    ///     assert_eq!(n, 8); // an empty socket buffer takes both
    ///     let (mut head, mut body) = ([0; 4], [0; 16]);
    ///     let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut body)];
    ///     // The 8 bytes went out as one segment, and a segment arrives whole.
    ///     assert_eq!(server.read_vectored(&mut bufs).await?, 8);
    ///     assert_eq!((&head[..], &body[..4]), (&b"head"[..], &b"body"[..]));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_vectored(
        &mut self,
        bufs: &mut [IoSliceMut<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.read_vectored_shared(bufs)
    }

    /// Writes the slices `bufs`, in order, with one `sendmsg` (with `MSG_NOSIGNAL`, as
    /// every write): as [`write`](Self::write) otherwise, returning how many bytes were
    /// written in all, and cancel-safe. At most the first 1024 slices (`UIO_MAXIOV`) are
    /// used. [`read_vectored`](Self::read_vectored) shows both.
    pub fn write_vectored(
        &mut self,
        bufs: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.write_vectored_shared(bufs)
    }

    // The `&self` forms (`read_shared`, ...) do the work, and the `poll_*_priv` forms serve
    // the futures-io traits: see `byte_stream::shared_io_methods`.
    shared_io_methods!();

    /// Does nothing: a TCP stream has no user-space buffer. Here for symmetry with
    /// buffered writers.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"x").await?;
    ///     client.flush().await?; // returns at once: the byte is already in the kernel
    ///     let mut buf = [0; 1];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"x");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Shuts down the reading half, the writing half (the peer reads end of file), or
    /// both. Never waits.
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.shutdown(Shutdown::Write)?;
    ///     assert_eq!(server.read(&mut [0; 8]).await?, 0); // end of file
    ///     server.write_all(b"bye").await?; // the other direction still works
    ///     let mut buf = [0; 3];
    ///     client.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"bye");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The remote address.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     assert_eq!(client.peer_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, peer) = listener.accept().await?;
    ///     assert_eq!(client.local_addr()?, peer);
    ///     assert_eq!(server.local_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle's
    /// algorithm). Request-response protocols want it on.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     client.set_nodelay(true)?;
    ///     assert!(client.nodelay()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     assert!(!client.nodelay()?); // off by default: Nagle's algorithm coalesces
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`: with `Some(t)`, dropping the stream makes the kernel try for up
    /// to `t` (whole seconds) to send what is unsent, and `Some(Duration::ZERO)` resets
    /// the connection (`RST`) instead of closing it; `None`, the default, closes
    /// gracefully in the background. The close itself never blocks the thread here: the
    /// socket is non-blocking, so the kernel lingers on its own.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket::set_linger(self.as_fd(), linger)
    }

    /// The `SO_LINGER` setting; see [`set_linger`](Self::set_linger).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket::linger(self.as_fd())
    }

    /// Sets the IP time-to-live of outgoing packets (`IP_TTL`); forwards to std.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets (`IP_TTL`); forwards to std.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    // Readiness and non-blocking tries, as every stream has them (`readiness.rs`);
    // `examples/readiness_*.rs` show them in use.
    readiness_methods!(TcpStream);
    stream_try_methods!();
    peek_method!();

    /// Polls a read into the unfilled part of hyper's read buffer, for
    /// `hyper::rt::Read::poll_read`: one `recv` straight into it, no zeroing.
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_read_cursor(
        &self,
        cx: &mut Context<'_>,
        cursor: &mut hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<usize>> {
        poll_read_cursor(&mut self.inner.poll_slot(), cx, cursor)
    }
}

/// Polls a read into hyper's read buffer: [`poll_read`] into memory that may be
/// uninitialised (see `sys/hyper_cursor.rs`).
// Inlined, as `poll_read`.
#[cfg(feature = "hyper")]
#[inline]
fn poll_read_cursor(
    waiter: &mut Waiter<'_, TcpStream>,
    cx: &mut Context<'_>,
    cursor: &mut hyper::rt::ReadBufCursor<'_>,
) -> Poll<io::Result<usize>> {
    let len = cursor.remaining();
    waiter.poll_read_stream_len(cx, len, |s| {
        Ok((hyper_cursor::recv_into_cursor(s.as_fd(), cursor)?, false))
    })
}

/// Polls a read into `buf`, waiting with `waiter`: the building block of
/// [`read`](AsyncTcpStream::read).
// Inlined into each read future, with the whole read path (the readiness check, the
// budget, the syscall): as a call of its own, with its prologue and epilogue, it cost 16
// instructions more per echo request and 12 per HTTP request (`bench/instructions.sh`).
#[inline]
fn poll_read(
    waiter: &mut Waiter<'_, TcpStream>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    // A TCP read never stops short with more queued (out-of-band data aside, `MSG_OOB`,
    // which nothing reports; this assumes peers that do not send it).
    waiter.poll_read_stream(cx, buf, |s, b| Ok((socket::recv(s, b)?, false)))
}

/// Polls a write of `buf`, waiting with `waiter`: the building block of
/// [`write`](AsyncTcpStream::write).
// Inlined, as `poll_read`.
#[inline]
fn poll_write(
    waiter: &mut Waiter<'_, TcpStream>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    waiter.poll_write_stream(cx, buf, socket::send)
}

/// Polls a read into the slices `bufs`: [`poll_read`] with one `recvmsg`.
fn poll_read_vectored(
    waiter: &mut Waiter<'_, TcpStream>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>> {
    waiter.poll_read_vectored_stream(cx, bufs, |s, b| {
        Ok((socket::recv_vectored(s.as_fd(), b)?, false))
    })
}

/// Polls a write of the slices `bufs`: [`poll_write`] with one `sendmsg`.
fn poll_write_vectored(
    waiter: &mut Waiter<'_, TcpStream>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    waiter.poll_write_vectored_stream(cx, bufs, |s, b| socket::send_vectored(s.as_fd(), b))
}

impl AsFd for AsyncTcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for AsyncTcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl fmt::Debug for AsyncTcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
