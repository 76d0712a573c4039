//! Readiness on UDP sockets: wait with `readable` / `writable`, then send and receive one
//! datagram with the non-blocking `try_send_to` / `try_recv_from` (and `try_send` /
//! `try_recv` once connected); `peek`, and the poll forms `poll_send` / `poll_recv`.
//!
//! A try that finds nothing returns `WouldBlock` and clears the readiness, so the next
//! wait sleeps until a datagram arrives.
//!
//! ```text
//! cargo run --example readiness_udp
//! ```
//!
//! Prints each step; exits with status 0 if every step behaved as described.

use std::future::poll_fn;
use std::io::{self, ErrorKind};
use std::time::Duration;

use epoll_rt::net::AsyncUdpSocket;
use epoll_rt::time::timeout;

fn main() -> io::Result<()> {
    epoll_rt::block_on(async {
        let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let mut buf = [0u8; 64];

        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let slept = timeout(Duration::from_millis(20), b.readable())
            .await
            .is_err();
        assert!(slept, "readable returned with nothing queued");
        println!("try_recv_from: WouldBlock; readable: still waiting after 20 ms");

        a.writable().await?;
        a.try_send_to(b"ping", b.local_addr()?)?;
        b.readable().await?;
        let peeked = b.peek(&mut buf).await?; // the datagram stays queued
        let (n, from) = b.try_recv_from(&mut buf)?;
        println!("peeked {peeked} bytes, then received {n} from {from}");
        assert_eq!((n, from), (4, a.local_addr()?));

        // Connected sockets: `try_send` / `try_recv`, and the poll forms.
        a.connect(b.local_addr()?)?;
        b.connect(a.local_addr()?)?;
        b.writable().await?;
        b.try_send(b"pong")?;
        let n = poll_fn(|cx| a.poll_recv(cx, &mut buf)).await?;
        println!("poll_recv got {:?}", String::from_utf8_lossy(&buf[..n]));
        poll_fn(|cx| a.poll_send(cx, b"done")).await?;
        b.readable().await?;
        assert_eq!(b.try_recv(&mut buf)?, 4);
        println!("poll_send, then try_recv: done");
        Ok(())
    })
}
