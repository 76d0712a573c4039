//! `AsyncUnixListener`: accepts Unix-domain stream connections without blocking the
//! thread.
//!
//! The same shape as `AsyncTcpListener`, with a path instead of an IP address and port,
//! and the same policy when the process runs out of descriptors.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::Path;
use std::task::{Context, Poll, ready};

use super::{AsyncUnixStream, poll_accept_with, recover_from_accept_error};
use crate::AsyncFd;
use crate::sys::socket::BACKLOG;
use crate::sys::unix_socket::{self, UnixAddr};

/// A Unix-domain socket listening for stream connections at a filesystem path.
///
/// Binding creates the socket file; dropping the listener does not remove it (as in std),
/// and binding again to a path where a file exists fails with `AddrInUse`. Remove the file
/// when done.
///
/// ```
/// use epoll_rt::net::{AsyncUnixListener, AsyncUnixStream};
///
/// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ul.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// epoll_rt::block_on(async {
///     let listener = AsyncUnixListener::bind(&path)?;
///     let client = epoll_rt::spawn(AsyncUnixStream::connect(path.clone()));
///     let (mut server, _peer) = listener.accept().await?;
///     client.await??.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncUnixListener {
    /// The listening socket, registered with the reactor.
    inner: AsyncFd<UnixListener>,
}

impl AsyncUnixListener {
    /// Creates a socket bound to `path` and listening, non-blocking and close-on-exec from
    /// the start.
    ///
    /// Binding never waits, so this is a plain function, as in std. It must be called
    /// inside a runtime, whose reactor the socket is registered with.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if a file exists at `path` (a stale socket file included);
    /// `InvalidInput` if `path` is empty, contains a NUL byte, or is longer than 107
    /// bytes, the most a Unix socket address holds.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ul-bind.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let _listener = AsyncUnixListener::bind(&path)?;
    ///     let again = AsyncUnixListener::bind(&path).map(drop).map_err(|e| e.kind());
    ///     assert_eq!(again, Err(std::io::ErrorKind::AddrInUse));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        let addr = UnixAddr::from_path(path.as_ref())?;
        let listener = unix_socket::listener(&addr, BACKLOG)?;
        Ok(Self {
            inner: AsyncFd::new_nonblocking(listener)?,
        })
    }

    /// Wraps a listener made with std, switching it to non-blocking mode.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ul-std.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let std_listener = std::os::unix::net::UnixListener::bind(&path)?;
    ///     let listener = AsyncUnixListener::from_std(std_listener)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: UnixListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self {
            inner: AsyncFd::new_nonblocking(listener)?,
        })
    }

    /// Waits for a connection and returns it with the peer's address (usually unnamed:
    /// clients rarely bind).
    ///
    /// The accepted socket is non-blocking and close-on-exec from birth (`accept4`).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, no connection has been
    /// taken from the kernel's queue; the next `accept` gets it.
    ///
    /// # Running out of descriptors
    ///
    /// As [`AsyncTcpListener::accept`](crate::AsyncTcpListener::accept): when the process
    /// or system is out of descriptors or memory, `accept` waits 20 ms and tries again
    /// instead of returning the error, and errors that concern only the connection being
    /// accepted (it was aborted while queued) are skipped.
    ///
    /// ```
    /// use epoll_rt::net::{AsyncUnixListener, AsyncUnixStream};
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ul-accept.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncUnixListener::bind(&path)?;
    ///     let _client = AsyncUnixStream::connect(&path).await?;
    ///     let (_server, peer) = listener.accept().await?;
    ///     assert!(peer.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(AsyncUnixStream, SocketAddr)> {
        let mut waiter = self.inner.waiter();
        loop {
            let accepted =
                poll_fn(|cx| waiter.poll_read(cx, |l| unix_socket::accept(l.as_fd()))).await;
            // The peer's address comes from the accepted socket (see `unix_socket::accept`).
            // `accept4` would look it up the same way, and fail only as it would have.
            match accepted.and_then(|stream| Ok((stream.peer_addr()?, stream))) {
                Ok((peer, stream)) => {
                    return Ok((AsyncUnixStream::from_nonblocking(stream)?, peer));
                }
                Err(e) => recover_from_accept_error(e).await?,
            }
        }
    }

    /// Poll form of [`accept`](Self::accept); the same rules as
    /// [`AsyncTcpListener::poll_accept`](crate::AsyncTcpListener::poll_accept), which has
    /// the example.
    pub fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(AsyncUnixStream, SocketAddr)>> {
        let stream = ready!(poll_accept_with(cx, |cx| {
            self.inner
                .poll_read_with(cx, |l| unix_socket::accept(l.as_fd()))
        }))?;
        // The peer's address comes from the accepted socket, as in `accept`.
        let peer = stream.peer_addr()?;
        Poll::Ready(Ok((AsyncUnixStream::from_nonblocking(stream)?, peer)))
    }

    /// Deregisters the listener from the runtime and returns the std listener, still in
    /// non-blocking mode (as tokio's `into_std` leaves it).
    pub fn into_std(self) -> UnixListener {
        self.inner.into_inner()
    }

    /// The address the socket is bound to.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-ul-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncUnixListener::bind(&path)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl AsFd for AsyncUnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for AsyncUnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl fmt::Debug for AsyncUnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
