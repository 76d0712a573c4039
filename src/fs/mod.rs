//! Files and directories, on the blocking pool: [`read`], [`write`](write()),
//! [`read_to_string`], [`metadata`], [`remove_file`], [`create_dir_all`], and [`File`].
//!
//! ```
//! use epoll_rt::fs;
//!
//! let dir = std::env::temp_dir().join(format!("epoll-rt-doc-fs-{}", std::process::id()));
//! epoll_rt::block_on(async {
//!     fs::create_dir_all(&dir).await?;
//!     let path = dir.join("greeting.txt");
//!     fs::write(&path, "hello").await?;
//!     assert_eq!(fs::read_to_string(&path).await?, "hello");
//!     assert_eq!(fs::metadata(&path).await?.len(), 5);
//!     fs::remove_file(&path).await
//! })?;
//! # std::fs::remove_dir(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Why a thread pool
//!
//! epoll cannot wait for a regular file: a file is always "ready", and a read that must
//! go to the disk blocks the calling thread however the descriptor is flagged (`AsyncFd`
//! refuses a regular file for that reason, with `EPERM`). So each call here is std's,
//! made on a thread of the runtime's blocking pool ([`spawn_blocking`]), and the task
//! awaits its result while the runtime's thread serves the others. tokio's `fs` does the
//! same; only io_uring offers truly asynchronous file I/O on Linux.
//!
//! Each call costs a hand-off to a pool thread and a wake back, a few microseconds: read
//! and write a file in large pieces (or whole, with [`read`] and [`write`](write())) rather than a
//! few bytes at a time.
//!
//! [`spawn_blocking`]: crate::spawn_blocking

use std::fs::Metadata;
use std::io;
use std::path::Path;

use crate::JoinHandle;
use crate::runtime::context;

mod file;

pub use file::File;

/// Runs `f` on the current runtime's blocking pool, and returns the handle of its task.
/// With `must_run`, `f` runs even if the runtime shuts down before a pool thread has
/// started it (for a write whose `File` is gone: see `file.rs`).
fn spawn<T, F>(must_run: bool, f: F) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    context::spawn_blocking(must_run, f)
}

/// The error for a pool task that ended without a result: its closure panicked, or the
/// runtime shut down before it ran.
fn lost(e: crate::JoinError) -> io::Error {
    io::Error::other(format!("the file operation did not complete: {e}"))
}

/// Runs the blocking call `f` on the pool and awaits its result.
async fn run<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    spawn(false, f)?.await.map_err(lost)?
}

/// Reads the whole file at `path` (`std::fs::read`).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::read(path)).await
}

/// Reads the whole file at `path` as UTF-8 (`std::fs::read_to_string`); `InvalidData`
/// if it is not.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole file at `path`, creating it or truncating it first
/// (`std::fs::write`). When it returns, the data has reached the kernel (not yet the
/// disk: see [`File::sync_all`]).
///
/// The contents are copied for the pool thread.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    run(move || std::fs::write(path, contents)).await
}

/// The metadata of `path`, following symbolic links (`std::fs::metadata`).
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::metadata(path)).await
}

/// Removes the file at `path` (`std::fs::remove_file`).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::remove_file(path)).await
}

/// Creates the directory `path` and every missing parent (`std::fs::create_dir_all`).
/// Succeeds if it exists already.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::create_dir_all(path)).await
}
