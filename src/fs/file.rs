//! [`File`]: an open file whose reads, writes and seeks run on the blocking pool.
//!
//! A `File` is a small state machine: *idle*, holding a buffer, or *busy*, while one
//! operation runs on a pool thread with the buffer and a shared handle on the std file.
//!
//! ```text
//!             read: fill the buffer on the pool, then copy out
//!   Idle(buf) ────────────────────────────────────────────────▶ Busy(task)
//!      ▲      write: copy in, return at once; the pool writes        │
//!      │      seek, sync_all: on the pool                            │
//!      └──────────── the task's result: (what it did, buf) ◀─────────┘
//! ```
//!
//! A write returns as soon as its bytes are copied into the buffer (*write-behind*, as
//! tokio's `File` does): the next operation, or [`File::flush`], waits for it, and
//! reports its error. Only one operation runs at a time, so they happen in order.
//!
//! Whatever a cancelled operation leaves running finishes on the pool: a read's bytes
//! stay in the buffer for the next read (and a write or seek first moves the position
//! back over them); a write's result is reported by the next operation. A dropped
//! `File`'s last write still runs, even if the runtime shuts down before a pool thread
//! took it: nothing written is lost.

use std::fmt;
use std::fs;
use std::future::{Future, poll_fn};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use crate::JoinHandle;

/// The most bytes one read or write hands to the pool (tokio's limit too): a larger
/// write returns a short count, a larger read reads less.
const MAX_BUF: usize = 2 * 1024 * 1024;

/// An open file, read and written through the blocking pool.
///
/// ```
/// use std::io::SeekFrom;
/// use epoll_rt::fs::File;
///
/// let path = std::env::temp_dir().join(format!("epoll-rt-doc-file-{}", std::process::id()));
/// epoll_rt::block_on(async {
///     let mut file = File::create(&path).await?;
///     file.write_all(b"hello, file").await?;
///     file.flush().await?; // the write has reached the kernel
///
///     let mut file = File::open(&path).await?;
///     file.seek(SeekFrom::Start(7)).await?;
///     let mut word = Vec::new();
///     file.read_to_end(&mut word).await?;
///     assert_eq!(word, b"file");
///     Ok::<(), std::io::Error>(())
/// })?;
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Dropping a `File`
///
/// A write still in progress completes on the pool, and the descriptor closes after it;
/// but its error, if any, has nobody to go to. Await [`flush`](File::flush) (or
/// [`sync_all`](File::sync_all)) before dropping a file whose writes must be known to
/// have succeeded.
pub struct File {
    /// The open file, shared with the pool thread running the current operation.
    std: Arc<fs::File>,
    /// Idle with the buffer, or busy with an operation on the pool.
    state: State,
}

/// What a [`File`] is doing.
enum State {
    /// No operation runs. The buffer may hold bytes read ahead for the next read.
    Idle(Buf),
    /// An operation runs on the pool; its task returns what it did and the buffer.
    Busy(JoinHandle<(Done, Buf)>),
}

/// The buffer that goes back and forth between a `File` and the pool.
#[derive(Default)]
struct Buf {
    /// Bytes read, or to write.
    data: Vec<u8>,
    /// How many of the bytes read have been handed to a reader; the rest, `data[pos..]`,
    /// are read ahead of the position the `File`'s user sees.
    pos: usize,
}

impl Buf {
    /// The bytes read but not yet handed out: how far the kernel's file position is
    /// ahead of the user's.
    fn unread(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Copies as many unread bytes as fit into `dst`; returns how many.
    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.unread().min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    /// Forgets the unread bytes, and returns how far to seek back over them.
    fn discard(&mut self) -> i64 {
        let back = self.unread() as i64;
        self.data.clear();
        self.pos = 0;
        back
    }
}

/// What an operation on the pool did.
enum Done {
    /// A read into the buffer (its bytes are the buffer's data).
    Read(io::Result<()>),
    /// A write of the buffer's data.
    Write(io::Result<()>),
    /// A seek to the position asked for, with the new position.
    Seek(SeekFrom, io::Result<u64>),
    /// An `fsync`.
    Sync(io::Result<()>),
}

impl File {
    /// Opens the file at `path` for reading (`std::fs::File::open`).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        Ok(Self::from_std(
            super::run(move || fs::File::open(path)).await?,
        ))
    }

    /// Creates the file at `path` for writing, truncating it if it exists
    /// (`std::fs::File::create`).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        Ok(Self::from_std(
            super::run(move || fs::File::create(path)).await?,
        ))
    }

    /// Wraps a file opened with std (for instance through `std::fs::OpenOptions`, which
    /// opens without touching the disk's data, so it may be called on the runtime's
    /// thread).
    pub fn from_std(file: fs::File) -> Self {
        Self {
            std: Arc::new(file),
            state: State::Idle(Buf::default()),
        }
    }

    /// Reads some bytes into `buf`, returning how many; 0 at end of file. At most 2 MiB
    /// at a time.
    ///
    /// Cancel-safe: the bytes of a read dropped before it completes are kept for the
    /// next read.
    pub fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        poll_fn(move |cx| self.poll_read_priv(cx, buf))
    }

    /// Reads to end of file, appending to `buf`; returns how many bytes were appended.
    /// Not cancel-safe: if dropped midway, `buf` holds what was read, and may end in
    /// zeroes (the room given to the read in progress).
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        // Each read is a trip to the pool: give it twice the room of the last one, from
        // 64 KiB up to the 2 MiB limit, so a large file takes few trips and a small one
        // zeroes little.
        let mut room = 64 * 1024;
        let start = buf.len();
        loop {
            let filled = buf.len();
            buf.resize(filled + room, 0);
            room = (room * 2).min(MAX_BUF);
            let result = self.read(&mut buf[filled..]).await;
            let n = *result.as_ref().unwrap_or(&0);
            buf.truncate(filled + n);
            if result? == 0 {
                return Ok(buf.len() - start);
            }
        }
    }

    /// Writes some bytes of `buf` (at most 2 MiB), returning how many.
    ///
    /// It returns once they are copied, and the write runs on the pool meanwhile: the
    /// next operation on the file waits for it, and [`flush`](File::flush) waits for it
    /// and reports its error. Only an earlier write still running makes it wait.
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        poll_fn(move |cx| self.poll_write_priv(cx, buf))
    }

    /// Writes all of `buf`, waiting for earlier writes as needed. When it returns, the
    /// last piece may still be on its way: [`flush`](File::flush) to know it arrived.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits until every write made so far has reached the kernel, and returns the
    /// error of any that failed. (The kernel writes to the disk later: see
    /// [`sync_all`](File::sync_all).)
    pub fn flush(&mut self) -> impl Future<Output = io::Result<()>> + '_ {
        poll_fn(move |cx| self.poll_flush_priv(cx))
    }

    /// Moves the file position; returns the new one, from the start of the file.
    pub fn seek(&mut self, pos: SeekFrom) -> impl Future<Output = io::Result<u64>> + '_ {
        poll_fn(move |cx| self.poll_seek_priv(cx, pos))
    }

    /// Flushes, then waits until the kernel has written the file's data and metadata to
    /// the disk (`fsync`).
    pub fn sync_all(&mut self) -> impl Future<Output = io::Result<()>> + '_ {
        poll_fn(move |cx| self.poll_sync_all(cx))
    }

    /// The file's metadata (`fstat`). Writes still running are not waited for.
    pub async fn metadata(&self) -> io::Result<fs::Metadata> {
        let std = self.std.clone();
        super::run(move || std.metadata()).await
    }

    /// Waits for the operation in progress, if any, and returns what it did; the file is
    /// idle after.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Done>>> {
        let State::Busy(task) = &mut self.state else {
            return Poll::Ready(Ok(None));
        };
        let outcome = ready!(Pin::new(task).poll(cx));
        let (done, buf) = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                self.state = State::Idle(Buf::default());
                return Poll::Ready(Err(super::lost(e)));
            }
        };
        self.state = State::Idle(buf);
        Poll::Ready(Ok(Some(done)))
    }

    /// The idle state's buffer. Only called right after `poll_settle` returned `Ready`.
    fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("poll_settle leaves the file idle"),
        }
    }

    /// Starts `op` on the pool with the idle buffer. With `must_run`, it runs even if the
    /// runtime shuts down before a thread takes it.
    fn start(
        &mut self,
        must_run: bool,
        op: impl FnOnce(&fs::File, &mut Buf) -> Done + Send + 'static,
    ) -> io::Result<()> {
        let mut buf = std::mem::take(self.idle_buf());
        let std = self.std.clone();
        let task = super::spawn(must_run, move || {
            let done = op(&std, &mut buf);
            (done, buf)
        })?;
        self.state = State::Busy(task);
        Ok(())
    }

    /// Polls a read into `dst` (see [`read`](File::read)).
    pub(crate) fn poll_read_priv(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match ready!(self.poll_settle(cx))? {
                Some(Done::Read(result)) => {
                    result?;
                    // A read that found nothing is the end of the file.
                    if self.idle_buf().unread() == 0 {
                        return Poll::Ready(Ok(0));
                    }
                }
                // A write that failed after its call returned: report it now.
                Some(Done::Write(Err(e))) => return Poll::Ready(Err(e)),
                _ => {}
            }
            let buf = self.idle_buf();
            if buf.unread() > 0 || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            let len = dst.len().min(MAX_BUF);
            self.start(false, move |mut file, buf| {
                buf.data.resize(len, 0);
                buf.pos = 0;
                let result = file.read(&mut buf.data);
                buf.data.truncate(*result.as_ref().unwrap_or(&0));
                Done::Read(result.map(drop))
            })?;
        }
    }

    /// Polls a write of `src` (see [`write`](File::write)).
    pub(crate) fn poll_write_priv(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(Done::Write(Err(e))) = ready!(self.poll_settle(cx))? {
            return Poll::Ready(Err(e));
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let buf = self.idle_buf();
        // Bytes read ahead are not the user's position: write where the user is.
        let back = buf.discard();
        let n = src.len().min(MAX_BUF);
        buf.data.extend_from_slice(&src[..n]);
        // Must run: nothing written may be lost to a dropped `File` or a shutdown.
        self.start(true, move |mut file, buf| {
            let result = (|| {
                if back > 0 {
                    file.seek(SeekFrom::Current(-back))?;
                }
                file.write_all(&buf.data)
            })();
            buf.data.clear();
            Done::Write(result)
        })?;
        Poll::Ready(Ok(n))
    }

    /// Polls a flush (see [`flush`](File::flush)).
    pub(crate) fn poll_flush_priv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(self.poll_settle(cx))? {
            Some(Done::Write(Err(e))) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Polls a seek to `pos` (see [`seek`](File::seek)). Repeated with the same `pos`
    /// while it runs, it returns that seek's result (what `futures_io::AsyncSeek`'s
    /// callers do).
    pub(crate) fn poll_seek_priv(
        &mut self,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        loop {
            match ready!(self.poll_settle(cx))? {
                Some(Done::Seek(asked, result)) if asked == pos => return Poll::Ready(result),
                Some(Done::Write(Err(e))) => return Poll::Ready(Err(e)),
                _ => {}
            }
            // The kernel's position is ahead of the user's by the bytes read ahead.
            let back = self.idle_buf().discard();
            let to = match pos {
                SeekFrom::Current(offset) => SeekFrom::Current(offset - back),
                other => other,
            };
            self.start(false, move |mut file, _buf| Done::Seek(pos, file.seek(to)))?;
        }
    }

    /// Polls a [`sync_all`](File::sync_all).
    fn poll_sync_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match ready!(self.poll_settle(cx))? {
                Some(Done::Sync(result)) => return Poll::Ready(result),
                Some(Done::Write(Err(e))) => return Poll::Ready(Err(e)),
                _ => {}
            }
            self.start(false, |file, _buf| Done::Sync(file.sync_all()))?;
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .field("busy", &matches!(self.state, State::Busy(_)))
            .finish()
    }
}
