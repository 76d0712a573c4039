//! Readiness on a TCP connection: wait with `readable` / `writable` / `ready`, then make
//! one non-blocking call with `try_read` / `try_write`, the way tokio's sockets are used
//! when the caller drives the I/O itself (a protocol state machine, or a buffer of its
//! own). Also `peek`, the poll forms, and `poll_accept` on the listener.
//!
//! The rule it shows: a try that finds nothing returns `WouldBlock` and clears the
//! readiness, so the next wait sleeps until the peer acts. A loop of wait-then-try never
//! spins.
//!
//! ```text
//! cargo run --example readiness_tcp
//! ```
//!
//! Prints each step; exits with status 0 if every step behaved as described.

use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::time::Duration;

use epoll_rt::time::timeout;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Interest};

fn main() -> io::Result<()> {
    epoll_rt::block_on(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        // `poll_accept` is `accept` for a hand-written poll method.
        let (server, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
        println!("accepted {peer} with poll_accept");

        // Nothing sent yet: the try says `WouldBlock`, and the wait then sleeps.
        let mut buf = [0u8; 64];
        let err = server.try_read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        let slept = timeout(Duration::from_millis(20), server.readable())
            .await
            .is_err();
        assert!(slept, "readable returned with nothing to read");
        println!("try_read: WouldBlock; readable: still waiting after 20 ms");

        // One wait for whichever direction comes first.
        let ready = server
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await?;
        println!(
            "ready: readable {}, writable {}",
            ready.is_readable(),
            ready.is_writable()
        );

        // The client writes when the socket is writable; the server wakes and reads.
        client.writable().await?;
        let sent = client.try_write(b"hello through readiness")?;
        server.readable().await?;
        let peeked = server.peek(&mut buf).await?; // look without taking
        let n = loop {
            server.readable().await?;
            match server.try_read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue, // a stale hint
                Err(e) => return Err(e),
            }
        };
        println!(
            "peeked {peeked} bytes, then read {n} of {sent}: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        assert_eq!(&buf[..n], &b"hello through readiness"[..n]);

        // The poll forms, for code written as poll methods.
        poll_fn(|cx| server.poll_write_ready(cx)).await?;
        assert_eq!(server.try_write(b"bye")?, 3);
        poll_fn(|cx| client.poll_read_ready(cx)).await?;
        println!("poll_write_ready and poll_read_ready: done");
        Ok(())
    })
}
