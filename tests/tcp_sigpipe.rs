//! Writing to a closed connection is an error, never a `SIGPIPE` that kills the process.
//!
//! The Rust runtime ignores `SIGPIPE` before `main`, which would hide a write made without
//! `MSG_NOSIGNAL`. This file restores the default disposition (terminate the process), so
//! a write that raised the signal would kill the test binary. That setting is process-wide,
//! hence a file of its own.

mod util;

use std::io;
use std::time::Duration;

use epoll_rt::time::sleep;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};

/// Most writes tried before the closed connection must have failed.
const MAX_WRITES: usize = 1000;

#[test]
fn writing_to_a_closed_peer_fails_without_sigpipe() -> io::Result<()> {
    // SAFETY: `signal` with `SIG_DFL` installs no handler of ours; it only resets the
    // disposition, before any other thread of this test writes to a socket.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(
        previous,
        libc::SIG_ERR,
        "cannot reset the SIGPIPE disposition"
    );

    util::run(|| async {
        // 1. Small writes to a peer that closed cleanly: the first may succeed (the peer's
        // kernel answers it with a reset), then ECONNRESET, then EPIPE, the error that
        // comes with SIGPIPE unless the send asked for none.
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (server, _peer) = listener.accept().await?;
        drop(server);

        let mut errors = Vec::new();
        for _ in 0..MAX_WRITES {
            match client.write(b"anyone there?").await {
                Ok(_) => sleep(Duration::from_millis(1)).await,
                Err(e) => {
                    let kind = e.kind();
                    errors.push(kind);
                    if kind == io::ErrorKind::BrokenPipe {
                        break;
                    }
                }
            }
        }
        assert_eq!(
            errors.last(),
            Some(&io::ErrorKind::BrokenPipe),
            "errors seen: {errors:?}"
        );
        assert!(
            errors.iter().all(|k| matches!(
                k,
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            )),
            "errors seen: {errors:?}"
        );

        // 2. A writer waiting on a full send buffer when the peer resets: woken with an
        // error, not left waiting, and not killed.
        let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _peer) = listener.accept().await?;
        let closer = spawn(async move {
            let mut buf = [0u8; 1];
            server.read_exact(&mut buf).await?;
            sleep(Duration::from_millis(20)).await;
            // Unread data in the receive queue: the close sends a reset.
            drop(server);
            Ok::<_, io::Error>(())
        });
        let big = vec![7u8; 8 << 20];
        let err = client
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
        let err = client
            .write(b"more")
            .await
            .expect_err("write after a reset");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        // A vectored write is a `sendmsg` with `MSG_NOSIGNAL`, not a `writev`.
        let slices = [io::IoSlice::new(b"mo"), io::IoSlice::new(b"re")];
        let err = client
            .write_vectored(&slices)
            .await
            .expect_err("vectored write after a reset");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        Ok(())
    })
}
