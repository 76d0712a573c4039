//! Writing to a closed Unix-domain peer is an error, never a `SIGPIPE` that kills the
//! process.
//!
//! std's `UnixStream::write` is a plain `write(2)`, which raises `SIGPIPE` when the peer
//! has gone; `AsyncUnixStream` sends with `MSG_NOSIGNAL` instead. The Rust runtime ignores
//! `SIGPIPE` before `main`, which would hide a write made without the flag, so this file
//! restores the default disposition (terminate the process): a write that raised the
//! signal would kill the test binary. That setting is process-wide, hence a file of its
//! own, with a single test.

mod util;

use std::io;
use std::time::Duration;

use epoll_rt::net::{AsyncUnixDatagram, AsyncUnixListener, AsyncUnixStream};
use epoll_rt::spawn;
use epoll_rt::time::sleep;

#[test]
fn writing_to_a_closed_unix_peer_fails_without_sigpipe() -> io::Result<()> {
    // SAFETY: `signal` with `SIG_DFL` installs no handler of ours; it only resets the
    // disposition, before any thread of this test writes to a socket.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(
        previous,
        libc::SIG_ERR,
        "cannot reset the SIGPIPE disposition"
    );

    util::run(|| async {
        // 1. A pair whose other end is closed: the very first write fails with EPIPE.
        let (mut a, b) = AsyncUnixStream::pair()?;
        drop(b);
        let err = a.write(b"anyone there?").await.expect_err("peer closed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        let err = a.write_all(b"still?").await.expect_err("peer closed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        // A vectored write is a `sendmsg` with `MSG_NOSIGNAL`, not a `writev`.
        let slices = [
            std::io::IoSlice::new(b"any"),
            std::io::IoSlice::new(b"one?"),
        ];
        let err = a.write_vectored(&slices).await.expect_err("peer closed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");

        // 2. An accepted connection whose client went away.
        let path =
            std::env::temp_dir().join(format!("epoll-rt-test-{}-sigpipe.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = AsyncUnixListener::bind(&path)?;
        let client = AsyncUnixStream::connect(&path).await?;
        let (mut server, _peer) = listener.accept().await?;
        std::fs::remove_file(&path)?;
        drop(client);
        let err = server.write(b"reply").await.expect_err("client closed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");

        // 3. A writer waiting on a full socket buffer when the reader closes: woken with
        // an error, not left waiting, and not killed.
        let (mut writer, mut reader) = AsyncUnixStream::pair()?;
        let closer = spawn(async move {
            let mut buf = [0u8; 1];
            reader.read_exact(&mut buf).await?;
            sleep(Duration::from_millis(20)).await;
            drop(reader);
            Ok::<_, io::Error>(())
        });
        let big = vec![7u8; 8 << 20];
        let err = writer
            .write_all(&big)
            .await
            .expect_err("8 MiB written to a peer that reads one byte");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{err}"
        );
        closer.await??;

        // 4. A shut-down writing half: EPIPE as well.
        let (a, _b) = AsyncUnixStream::pair()?;
        a.shutdown(std::net::Shutdown::Write)?;
        let mut a = a;
        let err = a.write(b"after shutdown").await.expect_err("shut down");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");

        // 5. Datagrams: a closed peer is refused, also without a signal.
        let (a, b) = AsyncUnixDatagram::pair()?;
        drop(b);
        let err = a.send(b"hello?").await.expect_err("peer closed");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        Ok(())
    })
}
