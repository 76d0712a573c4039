//! `AsyncUnixStream`: a Unix-domain stream connection whose reads and writes wait instead
//! of blocking.
//!
//! Writes go through `send` with `MSG_NOSIGNAL`, as the TCP stream's do, and not through
//! std's `UnixStream::write`, a `write(2)`, which raises `SIGPIPE` when the peer has gone.
//! One thing differs from TCP: a Unix connect never takes a round trip. It succeeds or
//! fails at once, except when the listener's queue is full, which no readiness event
//! announces the end of, so `connect` retries after a pause.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{SocketAddr, UnixStream};
use std::path::Path;
use std::task::{Context, Poll};
use std::time::Duration;

use super::UCred;
use super::byte_stream::shared_io_methods;
use super::readiness::{readiness_methods, stream_try_methods};
use crate::AsyncFd;
use crate::async_fd::Waiter;
use crate::sys::socket;
use crate::sys::unix_socket::{self, UnixAddr};
use crate::time::sleep;

/// The first pause of `connect` when the listener's queue is full; each further try waits
/// twice as long, up to [`CONNECT_BACKOFF_MAX`].
const CONNECT_BACKOFF_MIN: Duration = Duration::from_millis(1);

/// The longest pause between two tries of `connect`.
const CONNECT_BACKOFF_MAX: Duration = Duration::from_millis(64);

/// A Unix-domain stream connection.
///
/// Reads and writes take `&mut self`: one task reads and writes a stream at a time.
///
/// Writing to a connection the peer has closed returns an error (`BrokenPipe`); it never
/// raises `SIGPIPE`, because writes are sent with `MSG_NOSIGNAL`.
///
/// ```
/// use epoll_rt::net::AsyncUnixStream;
///
/// epoll_rt::block_on(async {
///     let (mut a, mut b) = AsyncUnixStream::pair()?;
///     a.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct AsyncUnixStream {
    /// The connected socket, registered with the reactor.
    inner: AsyncFd<UnixStream>,
}

impl AsyncUnixStream {
    /// Connects to the listener at `path`.
    ///
    /// A Unix connect completes at once, without a handshake, so this normally returns at
    /// its first poll. If the listener's queue of pending connections is full (`EAGAIN`),
    /// the kernel gives no readiness event for "room again", so `connect` waits and tries
    /// again, after 1 ms, then twice as long each time up to 64 ms, for as long as it
    /// takes, as a blocking connect would. Wrap it in
    /// [`timeout`](crate::time::timeout) to bound the wait.
    ///
    /// # Errors
    ///
    /// `NotFound` if nothing exists at `path`; `ConnectionRefused` if the file is a socket
    /// nobody listens on (left behind by a listener that was dropped); `InvalidInput` if
    /// `path` is empty, contains a NUL byte, or is longer than 107 bytes.
    ///
    /// ```
    /// use epoll_rt::net::{AsyncUnixListener, AsyncUnixStream};
    ///
    /// let path = std::env::temp_dir().join(format!("epoll-rt-doc-{}-us-connect.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncUnixListener::bind(&path)?;
    ///     let client = AsyncUnixStream::connect(&path).await?;
    ///     assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    ///     let _server = listener.accept().await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        let addr = UnixAddr::from_path(path.as_ref())?;
        let socket = unix_socket::socket(libc::SOCK_STREAM)?;
        let mut backoff = CONNECT_BACKOFF_MIN;
        loop {
            match unix_socket::connect(socket.as_fd(), &addr) {
                Ok(()) => break,
                // The listener's queue is full and the socket is still unconnected.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
                }
                Err(e) => return Err(e),
            }
        }
        Self::from_nonblocking(UnixStream::from(socket))
    }

    /// Creates a pair of connected streams, non-blocking and close-on-exec from the start
    /// (`socketpair`). Never waits.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (mut a, mut b) = AsyncUnixStream::pair()?;
    ///     b.write_all(b"pong").await?;
    ///     let mut buf = [0; 4];
    ///     a.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"pong");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = unix_socket::pair(libc::SOCK_STREAM)?;
        let a = Self::from_nonblocking(UnixStream::from(a))?;
        let b = Self::from_nonblocking(UnixStream::from(b))?;
        Ok((a, b))
    }

    /// Wraps a connection made with std, switching it to non-blocking mode.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    ///     let mut a = AsyncUnixStream::from_std(a)?;
    ///     std::io::Write::write_all(&mut b, b"std")?;
    ///     let mut buf = [0; 3];
    ///     a.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"std");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Self::from_nonblocking(stream)
    }

    /// Wraps a socket already in non-blocking mode.
    pub(crate) fn from_nonblocking(stream: UnixStream) -> io::Result<Self> {
        Ok(Self {
            inner: AsyncFd::new_nonblocking(stream)?,
        })
    }

    /// Reads some bytes into `buf`, waiting until at least one is available. Returns how
    /// many were read; 0 means the peer closed its writing half (end of file), or `buf`
    /// is empty.
    ///
    /// Descriptors or credentials the peer sends along (`SCM_RIGHTS`, `SCM_CREDENTIALS`)
    /// are not received: the kernel closes the descriptors.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, no byte was read.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (mut a, mut b) = AsyncUnixStream::pair()?;
    ///     a.write_all(b"abc").await?;
    ///     drop(a);
    ///     let mut buf = [0; 16];
    ///     assert_eq!(b.read(&mut buf).await?, 3);
    ///     assert_eq!(b.read(&mut buf).await?, 0); // end of file
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
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (mut a, mut b) = AsyncUnixStream::pair()?;
    ///     a.write_all(b"12").await?;
    ///     drop(a);
    ///     let mut buf = [0; 4];
    ///     let err = b.read_exact(&mut buf).await.map_err(|e| e.kind());
    ///     assert_eq!(err, Err(std::io::ErrorKind::UnexpectedEof));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_exact(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
        self.read_exact_shared(buf)
    }

    /// Writes some bytes of `buf`, waiting until the socket can take at least one. Returns
    /// how many were written. A peer that has closed is a `BrokenPipe` error.
    ///
    /// Cancel-safe: if the future is dropped before it completes, no byte was written.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (mut a, b) = AsyncUnixStream::pair()?;
    ///     assert_eq!(a.write(b"hi").await?, 2);
    ///     drop(b);
    ///     let err = a.write(b"hi").await.map_err(|e| e.kind());
    ///     assert_eq!(err, Err(std::io::ErrorKind::BrokenPipe));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        self.write_shared(buf)
    }

    /// Writes all of `buf`, waiting for room in the socket's buffer as needed (this is
    /// where backpressure from a slow reader stops the writer).
    ///
    /// Not cancel-safe: if the future is dropped midway, an unknown prefix was written.
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (mut a, mut b) = AsyncUnixStream::pair()?;
    ///     // More than the socket buffer holds: the writer waits for the reader.
    ///     let data = vec![7u8; 1 << 20];
    ///     let writer = epoll_rt::spawn(async move { a.write_all(&data).await });
    ///     let mut received = vec![0u8; 1 << 20];
    ///     b.read_exact(&mut received).await?;
    ///     writer.await??;
    ///     assert!(received.iter().all(|&byte| byte == 7));
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        self.write_all_shared(buf)
    }

    /// Reads into the slices `bufs`, filling each in turn, with one `recvmsg`; as
    /// [`AsyncTcpStream::read_vectored`](crate::AsyncTcpStream::read_vectored), which has
    /// the example (the first 1024 slices at most; cancel-safe).
    pub fn read_vectored(
        &mut self,
        bufs: &mut [IoSliceMut<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.read_vectored_shared(bufs)
    }

    /// Writes the slices `bufs`, in order, with one `sendmsg` (with `MSG_NOSIGNAL`); as
    /// [`AsyncTcpStream::write_vectored`](crate::AsyncTcpStream::write_vectored).
    pub fn write_vectored(
        &mut self,
        bufs: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.write_vectored_shared(bufs)
    }

    // The `&self` forms (`read_shared`, ...) do the work, and the `poll_*_priv` forms serve
    // the futures-io traits: see `byte_stream::shared_io_methods`.
    shared_io_methods!();

    /// Shuts down the reading half, the writing half (the peer reads end of file), or
    /// both. Never waits.
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, mut b) = AsyncUnixStream::pair()?;
    ///     a.shutdown(Shutdown::Write)?;
    ///     let mut buf = [0; 1];
    ///     assert_eq!(b.read(&mut buf).await?, 0);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The address of the socket at the other end (for a client, the listener's path).
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, _b) = AsyncUnixStream::pair()?;
    ///     assert!(a.peer_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address (for a connection accepted by a listener, the listener's path;
    /// for a client, usually unnamed).
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, _b) = AsyncUnixStream::pair()?;
    ///     assert!(a.local_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The credentials of the process at the other end (`SO_PEERCRED`): see [`UCred`].
    pub fn peer_cred(&self) -> io::Result<UCred> {
        unix_socket::peer_cred(self.as_fd()).map(UCred::from_raw)
    }

    // Readiness and non-blocking tries, as every stream has them (`readiness.rs`);
    // `examples/readiness_*.rs` show them in use.
    readiness_methods!(UnixStream);
    stream_try_methods!();
}

/// Polls a read into `buf`, waiting with `waiter`: the building block of
/// [`read`](AsyncUnixStream::read).
// Inlined into each read future, as the TCP stream's `poll_read` (see there why).
#[inline]
fn poll_read(
    waiter: &mut Waiter<'_, UnixStream>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    // The kernel ends a read at a message that carried descriptors or credentials; more
    // data may be queued behind it, and `recv_stream` says so. (A read also stops at
    // out-of-band data, `MSG_OOB`, which nothing reports; like the TCP stream, this
    // assumes peers that do not send it.)
    waiter.poll_read_stream(cx, buf, |s, b| unix_socket::recv_stream(s.as_fd(), b))
}

/// Polls a write of `buf`, waiting with `waiter`: the building block of
/// [`write`](AsyncUnixStream::write).
// Inlined, as `poll_read`.
#[inline]
fn poll_write(
    waiter: &mut Waiter<'_, UnixStream>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    waiter.poll_write_stream(cx, buf, socket::send)
}

/// Polls a read into the slices `bufs`: [`poll_read`] with one `recvmsg`.
fn poll_read_vectored(
    waiter: &mut Waiter<'_, UnixStream>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>> {
    waiter.poll_read_vectored_stream(cx, bufs, |s, b| {
        unix_socket::recv_stream_vectored(s.as_fd(), b)
    })
}

/// Polls a write of the slices `bufs`: [`poll_write`] with one `sendmsg`.
fn poll_write_vectored(
    waiter: &mut Waiter<'_, UnixStream>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    waiter.poll_write_vectored_stream(cx, bufs, |s, b| socket::send_vectored(s.as_fd(), b))
}

impl AsFd for AsyncUnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for AsyncUnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl fmt::Debug for AsyncUnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::AsyncUnixListener;
    use crate::sys::unix_socket::send_byte_with_fd;
    use crate::time::timeout;
    use std::sync::mpsc;

    /// Runs `body` in a runtime on its own thread, failing if it takes over 10 seconds: a
    /// lost wake-up fails the test instead of hanging it.
    fn run_bounded(body: impl FnOnce() -> io::Result<()> + Send + 'static) {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let _ = tx.send(body());
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(result) => result.expect("test body failed"),
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("test body did not finish within 10 s"),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let panic = thread.join().expect_err("the body sends unless it panics");
                std::panic::resume_unwind(panic)
            }
        }
    }

    #[test]
    fn a_read_cut_short_by_passed_descriptors_does_not_lose_the_rest() {
        run_bounded(|| {
            crate::block_on(async {
                let (a, mut b) = AsyncUnixStream::pair()?;
                // A byte carrying a descriptor, then plain data queued behind it, then no
                // more writes: nothing will bring a new edge.
                send_byte_with_fd(a.as_fd(), b'a');
                socket::send(&a, b"bcd")?;
                // Let the loop take the sends' epoll edges now, so none is left to rescue
                // a read that wrongly waits.
                crate::time::sleep(Duration::from_millis(1)).await;

                let mut buf = [0; 16];
                let limit = Duration::from_secs(2);
                let n = timeout(limit, b.read(&mut buf))
                    .await
                    .expect("first read")?;
                assert_eq!(&buf[..n], b"a");
                let n = timeout(limit, b.read(&mut buf))
                    .await
                    .expect("data queued behind the descriptor was not read")?;
                assert_eq!(&buf[..n], b"bcd");
                Ok(())
            })
        });
    }

    #[test]
    fn connect_waits_while_the_listen_queue_is_full() {
        run_bounded(|| {
            crate::block_on(async {
                let path = std::env::temp_dir()
                    .join(format!("epoll-rt-unit-{}-backlog.sock", std::process::id()));
                let _ = std::fs::remove_file(&path);
                // A queue of one: Linux lets backlog + 1 connections wait in it.
                let std_listener = unix_socket::listener(&UnixAddr::from_path(&path)?, 1)?;
                let listener = AsyncUnixListener::from_std(std_listener)?;
                let mut queued = Vec::new();
                for _ in 0..2 {
                    queued.push(AsyncUnixStream::connect(&path).await?);
                }

                // The queue is full: connect waits instead of failing with WouldBlock.
                let waited = timeout(Duration::from_millis(50), AsyncUnixStream::connect(&path));
                assert!(
                    waited.await.is_err(),
                    "connect to a full queue did not wait"
                );

                // Accepting one makes room, and a waiting connect then gets through.
                let late = crate::spawn(AsyncUnixStream::connect(path.clone()));
                crate::time::sleep(Duration::from_millis(5)).await;
                let _accepted = listener.accept().await?;
                let late = timeout(Duration::from_secs(2), late)
                    .await
                    .expect("connect did not complete once the queue had room")
                    .expect("task")?;
                assert_eq!(late.peer_addr()?.as_pathname(), Some(path.as_path()));
                std::fs::remove_file(&path)?;
                Ok(())
            })
        });
    }
}
