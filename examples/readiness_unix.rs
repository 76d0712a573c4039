//! Readiness on a Unix-domain stream: `readable` / `writable` and the non-blocking
//! `try_read` / `try_write` (and their vectored forms), the peer's credentials, and a
//! listener accepting through `poll_accept`.
//!
//! A try that finds nothing returns `WouldBlock` and clears the readiness, so the next
//! wait sleeps until the peer acts.
//!
//! ```text
//! cargo run --example readiness_unix
//! ```
//!
//! Prints each step; exits with status 0 if every step behaved as described.

use std::future::poll_fn;
use std::io::{self, ErrorKind, IoSlice, IoSliceMut};
use std::time::Duration;

use epoll_rt::net::{AsyncUnixListener, AsyncUnixStream};
use epoll_rt::time::timeout;

fn main() -> io::Result<()> {
    let path = std::env::temp_dir().join(format!("epoll-rt-readiness-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let result = epoll_rt::block_on(async {
        let listener = AsyncUnixListener::bind(&path)?;
        let client = AsyncUnixStream::connect(&path).await?;
        let (server, _) = poll_fn(|cx| listener.poll_accept(cx)).await?;
        let cred = server.peer_cred()?;
        println!(
            "accepted with poll_accept; the peer is pid {:?}, uid {}",
            cred.pid(),
            cred.uid()
        );

        let mut buf = [0u8; 64];
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let slept = timeout(Duration::from_millis(20), server.readable())
            .await
            .is_err();
        assert!(slept, "readable returned with nothing to read");
        println!("try_read: WouldBlock; readable: still waiting after 20 ms");

        // A header and a body from separate buffers, in one `sendmsg`.
        client.writable().await?;
        let sent = client.try_write_vectored(&[IoSlice::new(b"head:"), IoSlice::new(b"body")])?;
        server.readable().await?;
        let (mut head, mut body) = ([0u8; 5], [0u8; 16]);
        let n = server
            .try_read_vectored(&mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut body)])?;
        println!("sent {sent} bytes in one call, read {n} into two buffers");
        assert_eq!((n, &head, &body[..4]), (9, b"head:", &b"body"[..]));

        poll_fn(|cx| server.poll_write_ready(cx)).await?;
        server.try_write(b"ok")?;
        poll_fn(|cx| client.poll_read_ready(cx)).await?;
        assert_eq!(client.try_read(&mut buf)?, 2);
        println!("poll_write_ready and poll_read_ready: done");
        Ok(())
    });
    let _ = std::fs::remove_file(&path);
    result
}
