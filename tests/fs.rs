//! `epoll_rt::fs`: file calls on the blocking pool, and a `File` that writes behind, flushes
//! to the kernel, seeks over what it read ahead, and loses no write when dropped.

mod util;

use std::future::{Future, poll_fn};
use std::io::{self, SeekFrom};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use epoll_rt::Runtime;
use epoll_rt::fs::{self, File};

/// A directory of its own for one test under the system's temporary directory, removed
/// with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("epoll-rt-fs-{}-{test}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create the test's directory");
        Self(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `future` once, then drops it: an operation cancelled while it runs on the pool.
async fn poll_once_and_drop<F: Future>(future: F) {
    let mut future = pin!(future);
    poll_fn(|cx| {
        assert!(future.as_mut().poll(cx).is_pending(), "finished at once");
        Poll::Ready(())
    })
    .await;
}

#[test]
fn the_path_functions_round_trip() -> io::Result<()> {
    let dir = TempDir::new("paths");
    let nested = dir.join("a/b/c");
    let path = nested.join("file.txt");
    util::run(move || async move {
        fs::create_dir_all(&nested).await?;
        fs::create_dir_all(&nested).await?; // exists already: fine
        fs::write(&path, "hello, pool").await?;
        assert_eq!(fs::read(&path).await?, b"hello, pool");
        assert_eq!(fs::read_to_string(&path).await?, "hello, pool");
        assert_eq!(fs::metadata(&path).await?.len(), 11);
        assert!(fs::metadata(&nested).await?.is_dir());

        fs::write(&path, [0xff, 0xfe]).await?;
        let not_utf8 = fs::read_to_string(&path).await.map_err(|e| e.kind());
        assert_eq!(not_utf8, Err(io::ErrorKind::InvalidData));

        fs::remove_file(&path).await?;
        let gone = fs::metadata(&path).await.map_err(|e| e.kind());
        assert_eq!(gone.err(), Some(io::ErrorKind::NotFound));
        let again = fs::remove_file(&path).await.map_err(|e| e.kind());
        assert_eq!(again.err(), Some(io::ErrorKind::NotFound));
        Ok(())
    })
}

#[test]
fn outside_a_runtime_the_functions_fail_instead_of_panicking() {
    let dir = TempDir::new("outside");
    let mut read = pin!(fs::read(dir.join("any")));
    let waker = futures_task::noop_waker();
    let result = read
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker));
    assert!(matches!(result, Poll::Ready(Err(_))), "{result:?}");
}

#[test]
fn flush_returns_once_every_write_reached_the_kernel() -> io::Result<()> {
    let dir = TempDir::new("flush");
    let path = dir.join("data");
    // 5 MiB: more than one write (2 MiB each) can take, so the writes queue behind
    // each other.
    let data = util::Rng::new(2).bytes(5 << 20);
    util::run(move || async move {
        let mut file = File::create(&path).await?;
        file.write_all(&data).await?;
        file.flush().await?;
        // Looked at behind the `File`'s back, by std, at once: everything is there.
        assert_eq!(
            std::fs::metadata(&path)?.len(),
            5 << 20,
            "flushed data missing"
        );
        assert!(std::fs::read(&path)? == data, "flushed data differs");
        file.sync_all().await?;
        assert_eq!(file.metadata().await?.len(), 5 << 20);
        Ok(())
    })
}

#[test]
fn a_write_that_fails_after_returning_is_reported_by_flush() -> io::Result<()> {
    let dir = TempDir::new("write-error");
    let path = dir.join("read-only");
    std::fs::write(&path, b"x")?;
    util::run(move || async move {
        let mut file = File::open(&path).await?; // read-only
        assert_eq!(file.write(b"abc").await?, 3, "write-behind takes the bytes");
        let err = file
            .flush()
            .await
            .expect_err("the write failed on the pool");
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        file.flush().await?; // reported once
        Ok(())
    })
}

#[test]
fn read_seek_and_read_to_end() -> io::Result<()> {
    let dir = TempDir::new("seek");
    let path = dir.join("letters");
    std::fs::write(&path, b"abcdefghij")?;
    util::run(move || async move {
        let mut file = File::open(&path).await?;
        let mut two = [0; 2];
        assert_eq!(file.read(&mut two).await?, 2);
        assert_eq!(&two, b"ab");
        assert_eq!(file.seek(SeekFrom::Current(3)).await?, 5);
        assert_eq!(file.read(&mut two).await?, 2);
        assert_eq!(&two, b"fg");
        assert_eq!(file.seek(SeekFrom::End(-1)).await?, 9);
        let mut rest = Vec::new();
        assert_eq!(file.read_to_end(&mut rest).await?, 1);
        assert_eq!(rest, b"j");
        assert_eq!(file.read(&mut two).await?, 0, "end of file");
        Ok(())
    })
}

#[test]
fn a_cancelled_read_keeps_its_bytes_and_the_position_for_what_follows() -> io::Result<()> {
    let dir = TempDir::new("cancelled-read");
    let path = dir.join("letters");
    std::fs::write(&path, b"abcdef")?;
    let opened = path.clone();
    util::run(move || async move {
        let mut file = File::from_std(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&opened)?,
        );

        // A read of all six bytes, dropped while it runs: it still reads them, ahead of
        // the position the user sees, which stays 0.
        let mut six = [0; 6];
        poll_once_and_drop(file.read(&mut six)).await;
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 0);

        // Again, then a read: it gets the bytes read ahead.
        poll_once_and_drop(file.read(&mut six)).await;
        let mut two = [0; 2];
        assert_eq!(file.read(&mut two).await?, 2);
        assert_eq!(&two, b"ab");

        // And a write after a read ahead lands where the user is (2), not where the
        // kernel's position went (6).
        file.write_all(b"XY").await?;
        file.flush().await?;
        Ok::<(), io::Error>(())
    })?;
    assert_eq!(std::fs::read(&path)?, b"abXYef");
    Ok(())
}

#[test]
fn a_dropped_file_loses_no_write_even_when_the_runtime_shuts_down_first() -> io::Result<()> {
    let dir = TempDir::new("dropped");
    let path = dir.join("last-words");
    let data = util::Rng::new(3).bytes(1 << 20);
    let expected = data.clone();
    let written = path.clone();
    util::watchdog(util::LIMIT, move || {
        // One pool thread, kept busy: the write waits in the queue behind the sleeper
        // when the `File` is dropped, and is still there when the runtime shuts down.
        let rt = Runtime::builder().max_blocking_threads(1).build()?;
        rt.block_on(async {
            let sleeper =
                epoll_rt::spawn_blocking(|| std::thread::sleep(Duration::from_millis(100)));
            let mut file = File::from_std(std::fs::File::create(&written)?);
            assert_eq!(file.write(&data).await?, 1 << 20);
            drop(file);
            drop(sleeper);
            Ok::<(), io::Error>(())
        })?;
        drop(rt); // waits for the sleeper; the queued write must still run
        Ok::<(), io::Error>(())
    })?;
    assert!(
        std::fs::read(&path)? == expected,
        "the dropped file's write was lost"
    );
    Ok(())
}
