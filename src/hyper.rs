//! hyper on epoll-rt (cargo feature `hyper`): the three pieces hyper 1.x asks of a
//! runtime.
//!
//! - [`Io`] wraps an [`AsyncTcpStream`] in hyper's `Read` and `Write`. A read is one
//!   `recv` straight into hyper's uninitialised buffer (no zeroing: `sys/hyper_cursor.rs`);
//!   a vectored write, with which hyper sends a response's head and body together, is one
//!   `sendmsg` (no copy into one buffer first).
//! - [`Executor`] spawns the tasks hyper needs (HTTP/2 streams, a client connection's
//!   background task) on the current runtime. They need not be `Send`.
//! - [`Timer`] gives hyper [`time::Sleep`]s, which are `Send + Sync`
//!   as hyper requires, for its timeouts (`header_read_timeout`, HTTP/2 keep-alive).
//!
//! Serving a connection is then hyper's own code:
//!
//! ```ignore
//! use hyper::server::conn::http1;
//! use epoll_rt::hyper::{Io, Timer};
//!
//! let (stream, _) = listener.accept().await?;
//! epoll_rt::spawn(
//!     http1::Builder::new()
//!         .timer(Timer)
//!         .serve_connection(Io::new(stream), service_fn(hello)),
//! );
//! ```
//!
//! (`ignore`d here because hyper's server needs its `server` and `http1` features, which
//! this crate does not enable; the crate `integrations/` in the repository serves and
//! fetches over HTTP/1.1 and HTTP/2 this way, and its example `hyper_hello` serves both on
//! one port.)
//!
//! hyper's own wrapper for tokio (`hyper_util::rt::TokioIo`) reads through tokio's
//! `ReadBuf` the same way; the obvious adapter over `futures-io` must zero hyper's 8 KiB
//! buffer before every read, since `futures_io::AsyncRead` takes an initialised `&mut
//! [u8]`.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

// `::hyper`: the hyper crate, not this module.
use ::hyper::rt::{ReadBufCursor, Sleep as HyperSleep};

use crate::net::AsyncTcpStream;
use crate::time::{self, Sleep};

/// A TCP stream as hyper's I/O: `hyper::rt::Read` and `hyper::rt::Write`.
///
/// Reads go straight into hyper's buffer; `poll_write_vectored` is one `sendmsg`, and
/// `is_write_vectored` says so, so hyper hands a response's head and body over together
/// instead of copying them into one buffer. `poll_flush` has nothing to do (a socket
/// keeps no user-space buffer) and `poll_shutdown` shuts down the writing direction.
///
/// ```
/// use std::pin::Pin;
/// use std::future::poll_fn;
/// use hyper::rt::{Read, ReadBuf, Write};
/// use epoll_rt::hyper::Io;
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let mut client = Io::new(AsyncTcpStream::connect(listener.local_addr()?).await?);
///     let mut server = Io::new(listener.accept().await?.0);
///
///     poll_fn(|cx| Pin::new(&mut client).poll_write(cx, b"ping")).await?;
///     let mut storage = [std::mem::MaybeUninit::uninit(); 64]; // never zeroed
///     let mut buf = ReadBuf::uninit(&mut storage);
///     poll_fn(|cx| Pin::new(&mut server).poll_read(cx, buf.unfilled())).await?;
///     assert_eq!(buf.filled(), b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Io {
    /// The stream read and written.
    stream: AsyncTcpStream,
}

impl Io {
    /// Wraps `stream` for hyper.
    pub fn new(stream: AsyncTcpStream) -> Self {
        Self { stream }
    }

    /// The stream, to read its addresses or set its options.
    pub fn get_ref(&self) -> &AsyncTcpStream {
        &self.stream
    }

    /// Unwraps the stream (after an HTTP upgrade, say).
    pub fn into_inner(self) -> AsyncTcpStream {
        self.stream
    }
}

impl ::hyper::rt::Read for Io {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // The cursor is advanced over what was read; hyper reads the count from it.
        self.stream
            .poll_read_cursor(cx, &mut buf)
            .map(|read| read.map(drop))
    }
}

impl ::hyper::rt::Write for Io {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_priv(cx, buf)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_vectored_priv(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown(Shutdown::Write))
    }
}

/// hyper's executor: spawns each future hyper hands it as a task of the current runtime
/// ([`spawn`](crate::spawn)), detached. The futures need not be `Send`.
///
/// Give it to `http2::Builder::new(Executor)`, server or client, and to hyper-util's
/// `auto::Builder::new(Executor)`.
///
/// ```
/// use std::rc::Rc;
/// use std::cell::Cell;
/// use hyper::rt::Executor as _;
/// use epoll_rt::hyper::Executor;
///
/// epoll_rt::block_on(async {
///     let ran = Rc::new(Cell::new(false)); // not Send: fine
///     let flag = ran.clone();
///     Executor.execute(async move { flag.set(true) });
///     epoll_rt::yield_now().await; // the task runs
///     assert!(ran.get());
/// });
/// ```
///
/// # Panics
///
/// `execute` panics outside a runtime, like [`spawn`](crate::spawn): hyper calls it
/// while a connection is polled, which is inside one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Executor;

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        drop(crate::spawn(future));
    }
}

/// hyper's timer: [`time::Sleep`]s, registered with whichever runtime
/// polls them, as every `Sleep` is. `reset` moves the sleep hyper holds rather than
/// allocate a new one.
///
/// ```
/// use std::time::{Duration, Instant};
/// use hyper::rt::Timer as _;
/// use epoll_rt::hyper::Timer;
///
/// epoll_rt::block_on(async {
///     let start = Instant::now();
///     let mut nap = Timer.sleep(Duration::from_secs(3600));
///     Timer.reset(&mut nap, Instant::now() + Duration::from_millis(5));
///     nap.await;
///     assert!(start.elapsed() < Duration::from_secs(60));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

impl ::hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn HyperSleep>> {
        Box::pin(time::sleep(duration))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn HyperSleep>> {
        Box::pin(time::sleep_until(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn HyperSleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            // Not one of ours: replace it.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

impl HyperSleep for Sleep {}
