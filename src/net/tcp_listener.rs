//! `AsyncTcpListener`: accepts TCP connections without blocking the thread.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll, ready};

use super::{AsyncTcpStream, each_addr, poll_accept_with, recover_from_accept_error};
use crate::AsyncFd;
use crate::sys::socket;

/// A TCP socket listening for connections.
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let client = epoll_rt::spawn(AsyncTcpStream::connect(addr));
///     let (_stream, peer) = listener.accept().await?;
///     assert_eq!(peer, client.await??.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncTcpListener {
    /// The listening socket, registered with the reactor.
    inner: AsyncFd<TcpListener>,
}

impl AsyncTcpListener {
    /// Creates a socket bound to `addr` and listening, non-blocking and close-on-exec from
    /// the start, with `SO_REUSEADDR`. Port 0 asks the kernel for a free port; see
    /// [`local_addr`](Self::local_addr).
    ///
    /// Binding never waits, so this is a plain function, as in std. It must be called
    /// inside a runtime, whose reactor the socket is registered with.
    ///
    /// ```
    /// use epoll_rt::AsyncTcpListener;
    ///
    /// // Outside a runtime there is no reactor to register with.
    /// assert!(AsyncTcpListener::bind("127.0.0.1:0").is_err());
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let listener = each_addr(addr, |addr| socket::tcp_listener(addr, false))?;
        Ok(Self {
            inner: AsyncFd::new_nonblocking(listener)?,
        })
    }

    /// Like [`bind`](Self::bind), with `SO_REUSEPORT` also set: several sockets, each bound
    /// with this function to the same address, share the port, and the kernel spreads new
    /// connections among them. This is how a server uses several cores: one thread per
    /// core, each with its own runtime and its own listener (see
    /// [`block_on_threads`](crate::block_on_threads)).
    ///
    /// ```
    /// use epoll_rt::AsyncTcpListener;
    ///
    /// epoll_rt::block_on(async {
    ///     let a = AsyncTcpListener::bind_reuseport("127.0.0.1:0")?;
    ///     let b = AsyncTcpListener::bind_reuseport(a.local_addr()?)?; // same port: allowed
    ///     assert_eq!(a.local_addr()?, b.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let listener = each_addr(addr, |addr| socket::tcp_listener(addr, true))?;
        Ok(Self {
            inner: AsyncFd::new_nonblocking(listener)?,
        })
    }

    /// Deregisters the listener from its runtime and returns the std listener (still in
    /// non-blocking mode), for example to hand it to a runtime on another thread.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use epoll_rt::AsyncTcpListener;
    ///
    /// let listener = epoll_rt::block_on(async {
    ///     AsyncTcpListener::bind("127.0.0.1:0").map(AsyncTcpListener::into_std)
    /// })?;
    /// // A std listener again, still non-blocking: with no client, accept does not wait.
    /// assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> TcpListener {
        self.inner.into_inner()
    }

    /// Wraps a listener made with std, switching it to non-blocking mode.
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// let std_listener = TcpListener::bind("127.0.0.1:0")?; // needs no runtime
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::from_std(std_listener)?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (_stream, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Self {
            inner: AsyncFd::new_nonblocking(listener)?,
        })
    }

    /// Waits for a connection and returns it with the peer's address.
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
    /// When the process or system is out of file descriptors (`EMFILE`, `ENFILE`) or
    /// socket memory (`ENOBUFS`, `ENOMEM`), the pending connection stays in the kernel's
    /// queue, so the listener stays readable: a loop that retried at once would spin the
    /// CPU, and a loop that stopped on the error would take the server down. `accept`
    /// instead waits 20 ms and tries again, as often as needed, and never returns these
    /// errors. Errors that concern only the connection being accepted, not the listener
    /// (`ECONNABORTED`: the client gave up while queued; and the network errors that
    /// accept(2) says to retry on: `EPROTO`, `ENETDOWN`, `ENOPROTOOPT`, `EHOSTDOWN`,
    /// `ENONET`, `EHOSTUNREACH`, `EOPNOTSUPP`, `ENETUNREACH`) are skipped: `accept` tries
    /// again at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream, time::timeout};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     // No client yet: give up after 10 ms. Nothing is lost (cancel-safe).
    ///     assert!(timeout(Duration::from_millis(10), listener.accept()).await.is_err());
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (stream, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     assert_eq!(stream.peer_addr()?, peer);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(AsyncTcpStream, SocketAddr)> {
        let mut waiter = self.inner.waiter();
        loop {
            let accepted = poll_fn(|cx| waiter.poll_read(cx, |l| socket::accept(l.as_fd()))).await;
            match accepted {
                Ok((stream, peer)) => return Ok((AsyncTcpStream::from_nonblocking(stream)?, peer)),
                Err(e) => recover_from_accept_error(e).await?,
            }
        }
    }

    /// Poll form of [`accept`](Self::accept), for a hand-written future or poll method.
    /// It waits in the listener's one shared read slot, which keeps only the waker of the
    /// last call: one task at a time should poll it. Errors that concern only the
    /// connection being accepted are skipped, as by `accept`; but running out of
    /// descriptors (`EMFILE`, `ENFILE`) or memory is returned, since a poll method cannot
    /// sleep before trying again: the caller should back off before polling again.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (_stream, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(AsyncTcpStream, SocketAddr)>> {
        let (stream, peer) = ready!(poll_accept_with(cx, |cx| {
            self.inner.poll_read_with(cx, |l| socket::accept(l.as_fd()))
        }))?;
        Poll::Ready(Ok((AsyncTcpStream::from_nonblocking(stream)?, peer)))
    }

    /// The address the socket is bound to (with the real port, after binding port 0).
    ///
    /// ```
    /// use epoll_rt::AsyncTcpListener;
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let addr = listener.local_addr()?;
    ///     assert!(addr.ip().is_loopback());
    ///     assert_ne!(addr.port(), 0); // the free port the kernel picked
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl AsFd for AsyncTcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for AsyncTcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl fmt::Debug for AsyncTcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
