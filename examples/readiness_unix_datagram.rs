//! Readiness on Unix-domain datagram sockets: `readable` / `writable` and the non-blocking
//! `try_send_to` / `try_recv_from` (`try_send` / `try_recv` once connected), `peek_from`
//! (who sent the next datagram, without taking it), and the poll forms.
//!
//! Unlike UDP, a full receiver makes a connected sender wait: `try_send` then returns
//! `WouldBlock`, and `writable` sleeps until the receiver makes room. (An unconnected
//! sender cannot wait so: the kernel reports it writable whatever the state of the
//! receivers it may send to.)
//!
//! ```text
//! cargo run --example readiness_unix_datagram
//! ```
//!
//! Prints each step; exits with status 0 if every step behaved as described.

use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::time::Duration;

use epoll_rt::net::AsyncUnixDatagram;
use epoll_rt::time::timeout;

fn main() -> io::Result<()> {
    let path = std::env::temp_dir().join(format!(
        "epoll-rt-readiness-{}-dgram.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let result = epoll_rt::block_on(async {
        // A receiver bound to a path, and an unbound sender.
        let receiver = AsyncUnixDatagram::bind(&path)?;
        let sender = AsyncUnixDatagram::unbound()?;
        let mut buf = [0u8; 64];
        assert_eq!(
            receiver.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        println!("try_recv_from: WouldBlock");
        sender.try_send_to(b"hello", &path)?;
        receiver.readable().await?;
        let (n, from) = receiver.peek_from(&mut buf).await?;
        println!("peek_from: {n} bytes from {from:?} (unbound, so unnamed)");
        assert!(from.is_unnamed());
        let (n, _) = receiver.try_recv_from(&mut buf)?;
        assert_eq!(&buf[..n], b"hello");

        // A connected pair: fill the receiver's queue with tries (bounded); the last one
        // would block, and `writable` then sleeps until the receiver takes one.
        let (a, b) = AsyncUnixDatagram::pair()?;
        let mut queued = 0;
        while queued < 100_000 {
            match a.try_send(b"datagram") {
                Ok(_) => queued += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let slept = timeout(Duration::from_millis(20), a.writable())
            .await
            .is_err();
        assert!(slept, "writable returned with the receiver full");
        println!("queued {queued} datagrams; then try_send: WouldBlock, and writable waits");
        for _ in 0..queued {
            b.readable().await?;
            b.try_recv(&mut buf)?;
        }
        a.writable().await?;
        poll_fn(|cx| a.poll_send(cx, b"last")).await?;
        let n = poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?;
        assert_eq!(&buf[..n], b"last");
        println!("drained them all; writable returned; poll_send and poll_recv: done");
        Ok(())
    });
    let _ = std::fs::remove_file(&path);
    result
}
