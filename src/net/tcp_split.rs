//! Splitting a TCP stream into a read half and a write half, so that reading and writing
//! can proceed at the same time (one future or task reads while another writes).
//!
//! This is safe without locks because each direction has its own readiness bit and its
//! own waker slot in the reactor: a reader waiting for data and a writer waiting for buffer
//! space never disturb each other.
//!
//! - [`AsyncTcpStream::split`] borrows the stream: both halves live in the current task,
//!   e.g. joined in one `async` block. No allocation.
//! - [`AsyncTcpStream::into_split`] consumes it: the halves are owned (an `Rc` inside)
//!   and may go to different tasks. [`OwnedReadHalf::reunite`] puts them back together.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::rc::Rc;

use super::AsyncTcpStream;

/// The reading half of a borrowed split, from [`AsyncTcpStream::split`].
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
pub struct ReadHalf<'a>(&'a AsyncTcpStream);

/// The writing half of a borrowed split, from [`AsyncTcpStream::split`].
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
pub struct WriteHalf<'a>(&'a AsyncTcpStream);

/// The reading half of an owned split, from [`AsyncTcpStream::into_split`].
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
pub struct OwnedReadHalf(Rc<AsyncTcpStream>);

/// The writing half of an owned split, from [`AsyncTcpStream::into_split`].
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
pub struct OwnedWriteHalf {
    /// The shared stream.
    stream: Rc<AsyncTcpStream>,
    /// Whether dropping this half should shut down writes (not after `reunite`).
    shutdown_on_drop: bool,
}

impl AsyncTcpStream {
    /// Borrows the stream as a read half and a write half, usable at the same time within
    /// one task (for example, two futures polled together by a join combinator). No
    /// allocation; to use the halves from different tasks, see
    /// [`into_split`](Self::into_split).
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
        let stream = Rc::new(self);
        let write = OwnedWriteHalf {
            stream: stream.clone(),
            shutdown_on_drop: true,
        };
        (OwnedReadHalf(stream), write)
    }
}

impl ReadHalf<'_> {
    /// Reads some bytes; see [`AsyncTcpStream::read`]. Cancel-safe.
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
    ///     let mut buf = [0; 8];
    ///     let n = rd.read(&mut buf).await?; // 1 or 2 bytes
    ///     assert!(n > 0 && buf[..n] == b"hi"[..n]);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        self.0.read_shared(buf)
    }

    /// Reads into several slices with one `recvmsg`; see
    /// [`AsyncTcpStream::read_vectored`]. Cancel-safe.
    pub fn read_vectored(
        &mut self,
        bufs: &mut [IoSliceMut<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.0.read_vectored_shared(bufs)
    }

    /// Reads exactly `buf.len()` bytes; see [`AsyncTcpStream::read_exact`].
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut rd, _wr) = client.split();
    ///     server.write_all(b"ab").await?;
    ///     server.write_all(b"cd").await?;
    ///     let mut buf = [0; 4];
    ///     rd.read_exact(&mut buf).await?; // waits until all 4 bytes are in
    ///     assert_eq!(&buf, b"abcd");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_exact(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
        self.0.read_exact_shared(buf)
    }

    /// The underlying stream, for its addresses and options.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (rd, wr) = client.split();
    ///     assert_eq!(rd.stream().peer_addr()?, listener.local_addr()?);
    ///     assert_eq!(rd.stream().local_addr()?, wr.stream().local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stream(&self) -> &AsyncTcpStream {
        self.0
    }
}

impl WriteHalf<'_> {
    /// Writes some bytes; see [`AsyncTcpStream::write`]. Cancel-safe.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (_rd, mut wr) = client.split();
    ///     let n = wr.write(b"hello").await?; // at least 1 byte, maybe not all
    ///     let mut buf = [0; 5];
    ///     server.read_exact(&mut buf[..n]).await?;
    ///     assert_eq!(&buf[..n], &b"hello"[..n]);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        self.0.write_shared(buf)
    }

    /// Writes several slices with one `sendmsg`; see
    /// [`AsyncTcpStream::write_vectored`]. Cancel-safe.
    pub fn write_vectored(
        &mut self,
        bufs: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.0.write_vectored_shared(bufs)
    }

    /// Writes all of `buf`; see [`AsyncTcpStream::write_all`].
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (_rd, mut wr) = client.split();
    ///     wr.write_all(b"hello").await?;
    ///     let mut buf = [0; 5];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hello");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        self.0.write_all_shared(buf)
    }

    /// Shuts down the writing direction: the peer reads end of file.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut rd, wr) = client.split();
    ///     wr.shutdown()?;
    ///     assert_eq!(server.read(&mut [0; 8]).await?, 0); // end of file
    ///     server.write_all(b"ok").await?; // reading still works
    ///     let mut buf = [0; 2];
    ///     rd.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"ok");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }

    /// The underlying stream, for its addresses and options.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (_rd, wr) = client.split();
    ///     wr.stream().set_nodelay(true)?;
    ///     assert!(wr.stream().nodelay()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stream(&self) -> &AsyncTcpStream {
        self.0
    }
}

impl OwnedReadHalf {
    /// Reads some bytes; see [`AsyncTcpStream::read`]. Cancel-safe.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut rd, _wr) = client.into_split();
    ///     server.write_all(b"hi").await?;
    ///     let mut buf = [0; 8];
    ///     let n = rd.read(&mut buf).await?; // 1 or 2 bytes
    ///     assert!(n > 0 && buf[..n] == b"hi"[..n]);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        self.0.read_shared(buf)
    }

    /// Reads into several slices with one `recvmsg`; see
    /// [`AsyncTcpStream::read_vectored`]. Cancel-safe.
    pub fn read_vectored(
        &mut self,
        bufs: &mut [IoSliceMut<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.0.read_vectored_shared(bufs)
    }

    /// Reads exactly `buf.len()` bytes; see [`AsyncTcpStream::read_exact`].
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut rd, _wr) = client.into_split();
    ///     server.write_all(b"ab").await?;
    ///     server.write_all(b"cd").await?;
    ///     let mut buf = [0; 4];
    ///     rd.read_exact(&mut buf).await?; // waits until all 4 bytes are in
    ///     assert_eq!(&buf, b"abcd");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_exact(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
        self.0.read_exact_shared(buf)
    }

    /// The underlying stream, for its addresses and options.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (rd, wr) = client.into_split();
    ///     assert_eq!(rd.stream().peer_addr()?, listener.local_addr()?);
    ///     assert_eq!(rd.stream().local_addr()?, wr.stream().local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stream(&self) -> &AsyncTcpStream {
        &self.0
    }

    /// Joins the halves back into the stream. Fails (returning both halves) if they came
    /// from different streams.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (rd, wr) = client.into_split();
    ///     let mut client = rd.reunite(wr).expect("halves of the same stream");
    ///     client.write_all(b"whole").await?; // writing was not shut down
    ///     let mut buf = [0; 5];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"whole");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<AsyncTcpStream, ReuniteError> {
        if !Rc::ptr_eq(&self.0, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Rc::into_inner(self.0)
            .expect("both halves of this stream were just checked and the write half dropped"))
    }
}

impl OwnedWriteHalf {
    /// Writes some bytes; see [`AsyncTcpStream::write`]. Cancel-safe.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (_rd, mut wr) = client.into_split();
    ///     let n = wr.write(b"hello").await?; // at least 1 byte, maybe not all
    ///     let mut buf = [0; 5];
    ///     server.read_exact(&mut buf[..n]).await?;
    ///     assert_eq!(&buf[..n], &b"hello"[..n]);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        self.stream.write_shared(buf)
    }

    /// Writes several slices with one `sendmsg`; see
    /// [`AsyncTcpStream::write_vectored`]. Cancel-safe.
    pub fn write_vectored(
        &mut self,
        bufs: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> {
        self.stream.write_vectored_shared(bufs)
    }

    /// Writes all of `buf`; see [`AsyncTcpStream::write_all`].
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (_rd, mut wr) = client.into_split();
    ///     wr.write_all(b"hello").await?;
    ///     let mut buf = [0; 5];
    ///     server.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hello");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        self.stream.write_all_shared(buf)
    }

    /// Shuts down the writing direction: the peer reads end of file.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     let (mut rd, wr) = client.into_split();
    ///     wr.shutdown()?;
    ///     assert_eq!(server.read(&mut [0; 8]).await?, 0); // end of file
    ///     server.write_all(b"ok").await?; // reading still works
    ///     let mut buf = [0; 2];
    ///     rd.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"ok");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// The underlying stream, for its addresses and options.
    ///
    /// ```
    /// use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
    ///
    /// epoll_rt::block_on(async {
    ///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    ///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    ///     let (_rd, wr) = client.into_split();
    ///     wr.stream().set_nodelay(true)?;
    ///     assert!(wr.stream().nodelay()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stream(&self) -> &AsyncTcpStream {
        &self.stream
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already be gone (ENOTCONN): nothing to shut down then.
            let _ = self.stream.shutdown(Shutdown::Write);
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
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl Error for ReuniteError {}
