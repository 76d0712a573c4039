//! Splitting a stream (TCP or Unix) into a read half and a write half, so that reading
//! and writing can proceed at the same time (one future or task reads while another
//! writes).
//!
//! This is safe without locks because each direction has its own readiness bit and its
//! own waker slot in the reactor: a reader waiting for data and a writer waiting for buffer
//! space never disturb each other.
//!
//! - `split` borrows the stream: both halves live in the current task, e.g. joined in one
//!   `async` block. No allocation.
//! - `into_split` consumes it: the halves are owned (an `Rc` inside) and may go to
//!   different tasks. [`OwnedReadHalf::reunite`] puts them back together.
//!
//! The half types are generic over the stream, `AsyncTcpStream` by default (so
//! `ReadHalf<'_>` is a TCP half and `ReadHalf<'_, AsyncUnixStream>` a Unix one); their
//! methods, forwards to the stream's `&self` forms of read and write, are written once in
//! the macro `halves!` (with `read_methods!` and `write_methods!`, shared by the
//! borrowed and owned halves) and stamped out for each stream type.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::rc::Rc;

use super::{AsyncTcpStream, AsyncUnixStream};
use crate::sys::socket;

/// The reading half of a borrowed split, from [`AsyncTcpStream::split`] or
/// [`AsyncUnixStream::split`].
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     let (mut rd, _wr) = client.split();
///     server.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     rd.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a, S = AsyncTcpStream>(&'a S);

/// The writing half of a borrowed split, from [`AsyncTcpStream::split`] or
/// [`AsyncUnixStream::split`].
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     let (_rd, mut wr) = client.split();
///     wr.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a, S = AsyncTcpStream>(&'a S);

/// The reading half of an owned split, from [`AsyncTcpStream::into_split`] or
/// [`AsyncUnixStream::into_split`].
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     let (mut rd, _wr) = client.into_split();
///     // The half is owned: it can move into a task of its own.
///     let reader = epoll_rt::spawn(async move {
///         let mut buf = [0; 2];
///         rd.read_exact(&mut buf).await.map(|()| buf)
///     });
///     server.write_all(b"hi").await?;
///     assert_eq!(&reader.await??, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf<S = AsyncTcpStream>(Rc<S>);

/// The writing half of an owned split, from [`AsyncTcpStream::into_split`] or
/// [`AsyncUnixStream::into_split`].
///
/// Dropping it shuts down the writing direction of the connection (the peer reads end of
/// file), as dropping a whole stream would; the read half keeps working.
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     let (mut rd, wr) = client.into_split();
///     drop(wr); // shuts down writing: the server reads end of file
///     assert_eq!(server.read(&mut [0; 8]).await?, 0);
///     server.write_all(b"ok").await?; // the read half still works
///     let mut buf = [0; 2];
///     rd.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ok");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf<S: AsFd = AsyncTcpStream> {
    /// The shared stream.
    stream: Rc<S>,
    /// Whether dropping this half should shut down writes (not after `reunite`).
    shutdown_on_drop: bool,
}

impl AsyncTcpStream {
    /// Borrows the stream as a read half and a write half, usable at the same time within
    /// one task (for example, two futures polled together by a join combinator). No
    /// allocation; to use the halves from different tasks, see
    /// [`into_split`](Self::into_split).
    ///
    /// With the `futures-io` feature and `futures::io::AsyncReadExt` in scope,
    /// `stream.split()` calls that trait's `split`, which takes the stream by value (Rust
    /// tries by-value methods before borrowing ones): write `AsyncTcpStream::split(&mut
    /// stream)` to get these halves.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///
    ///     let (mut rd, mut wr) = client.split();
    ///     wr.write_all(b"ping").await?;
    ///     let mut buf = [0; 4];
    ///     server.read_exact(&mut buf).await?;
    ///     server.write_all(b"pong").await?;
    ///     rd.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"pong");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Splits the stream into owned halves, which can be moved into different tasks.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///
    ///     let (mut rd, mut wr) = client.into_split();
    ///     let writer = epoll_rt::spawn(async move { wr.write_all(b"ping").await });
    ///     let mut buf = [0; 4];
    ///     server.read_exact(&mut buf).await?;
    ///     server.write_all(b"pong").await?;
    ///     rd.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"pong");
    ///     writer.await??;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        into_split(self)
    }
}

impl AsyncUnixStream {
    /// Borrows the stream as a read half and a write half, usable at the same time within
    /// one task; as [`AsyncTcpStream::split`], which has the example.
    pub fn split(&mut self) -> (ReadHalf<'_, Self>, WriteHalf<'_, Self>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Splits the stream into owned halves, which can be moved into different tasks; as
    /// [`AsyncTcpStream::into_split`].
    ///
    /// ```
    /// use epoll_rt::net::AsyncUnixStream;
    ///
    /// epoll_rt::block_on(async {
    ///     let (a, mut b) = AsyncUnixStream::pair()?;
    ///     let (mut rd, mut wr) = a.into_split();
    ///     let writer = epoll_rt::spawn(async move { wr.write_all(b"ping").await });
    ///     let mut buf = [0; 4];
    ///     b.read_exact(&mut buf).await?;
    ///     b.write_all(b"pong").await?;
    ///     rd.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"pong");
    ///     writer.await??;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf<Self>, OwnedWriteHalf<Self>) {
        into_split(self)
    }
}

/// The owned halves of `stream`.
fn into_split<S: AsFd>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Rc::new(stream);
    let write = OwnedWriteHalf {
        stream: stream.clone(),
        shutdown_on_drop: true,
    };
    (OwnedReadHalf(stream), write)
}

/// The reads of a read half, forwarded to its `stream()`.
macro_rules! read_methods {
    () => {
        /// Reads some bytes; see the stream's `read`. Cancel-safe.
        pub fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
            self.stream().read_shared(buf)
        }

        /// Reads into several slices with one `recvmsg`; see the stream's `read_vectored`.
        /// Cancel-safe.
        pub fn read_vectored(
            &mut self,
            bufs: &mut [IoSliceMut<'_>],
        ) -> impl Future<Output = io::Result<usize>> {
            self.stream().read_vectored_shared(bufs)
        }

        /// Reads exactly `buf.len()` bytes; see the stream's `read_exact`.
        pub fn read_exact(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
            self.stream().read_exact_shared(buf)
        }
    };
}

/// The writes of a write half, forwarded to its `stream()`.
macro_rules! write_methods {
    () => {
        /// Writes some bytes; see the stream's `write`. Cancel-safe.
        pub fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
            self.stream().write_shared(buf)
        }

        /// Writes several slices with one `sendmsg`; see the stream's `write_vectored`.
        /// Cancel-safe.
        pub fn write_vectored(
            &mut self,
            bufs: &[IoSlice<'_>],
        ) -> impl Future<Output = io::Result<usize>> {
            self.stream().write_vectored_shared(bufs)
        }

        /// Writes all of `buf`; see the stream's `write_all`.
        pub fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
            self.stream().write_all_shared(buf)
        }

        /// Shuts down the writing direction: the peer reads end of file.
        pub fn shutdown(&self) -> io::Result<()> {
            self.stream().shutdown(Shutdown::Write)
        }
    };
}

/// The methods of the four half types for the stream type `$stream`, which has the
/// `&self` forms they forward to (`read_shared`, `write_shared`, ...).
macro_rules! halves {
    ($stream:ty) => {
        impl ReadHalf<'_, $stream> {
            read_methods!();

            /// The underlying stream, for its addresses, options and readiness.
            pub fn stream(&self) -> &$stream {
                self.0
            }
        }

        impl WriteHalf<'_, $stream> {
            write_methods!();

            /// The underlying stream, for its addresses, options and readiness.
            pub fn stream(&self) -> &$stream {
                self.0
            }
        }

        impl OwnedReadHalf<$stream> {
            read_methods!();

            /// The underlying stream, for its addresses, options and readiness.
            pub fn stream(&self) -> &$stream {
                &self.0
            }

            /// Joins the halves back into the stream. Fails (returning both halves) if they
            /// came from different streams; [`ReuniteError`] has the example.
            pub fn reunite(
                self,
                mut write: OwnedWriteHalf<$stream>,
            ) -> Result<$stream, ReuniteError<$stream>> {
                if !Rc::ptr_eq(&self.0, &write.stream) {
                    return Err(ReuniteError(self, write));
                }
                write.shutdown_on_drop = false;
                drop(write);
                Ok(Rc::into_inner(self.0).expect(
                    "both halves of this stream were just checked and the write half dropped",
                ))
            }
        }

        impl OwnedWriteHalf<$stream> {
            write_methods!();

            /// The underlying stream, for its addresses, options and readiness.
            pub fn stream(&self) -> &$stream {
                &self.stream
            }
        }
    };
}

halves!(AsyncTcpStream);
halves!(AsyncUnixStream);

impl<S: AsFd> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already be gone (ENOTCONN): nothing to shut down then.
            let _ = socket::shutdown(self.stream.as_fd(), Shutdown::Write);
        }
    }
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams.
///
/// Both halves come back in the error, unchanged.
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream, net::ReuniteError};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let (a_rd, _a_wr) = AsyncTcpStream::connect(listener.local_addr()?).await?.into_split();
///     let (_b_rd, b_wr) = AsyncTcpStream::connect(listener.local_addr()?).await?.into_split();
///     let ReuniteError(a_rd, b_wr) = a_rd.reunite(b_wr).unwrap_err();
///     assert_ne!(a_rd.stream().local_addr()?, b_wr.stream().local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReuniteError<S: AsFd = AsyncTcpStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: AsFd> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: AsFd + fmt::Debug> Error for ReuniteError<S> {}
