//! The readiness API of the socket types, named as tokio names it: `readable`, `writable`,
//! `ready`, `poll_read_ready`, `poll_write_ready`, the non-blocking tries (`try_read`,
//! `try_write` and their vectored forms; `try_send`, `try_recv`, `try_send_to`,
//! `try_recv_from`), the poll forms of the datagram calls, `peek`, `peek_from`, and
//! `into_std`.
//!
//! The rule every test checks: a try that finds nothing returns `WouldBlock` and clears
//! the readiness, so the next wait sleeps (a timeout shows it) until the peer acts, and
//! then wakes. Each body runs under the watchdog of `util`.

mod util;

use std::future::poll_fn;
use std::io::{self, ErrorKind, IoSlice, IoSliceMut};
use std::time::Duration;

use epoll_rt::net::{AsyncUdpSocket, AsyncUnixDatagram, AsyncUnixListener, AsyncUnixStream};
use epoll_rt::time::timeout;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Interest};

/// How long a wait that must not end is given before the test says it did not.
const QUIET: Duration = Duration::from_millis(20);

/// The tries, waits and poll forms every stream has, checked on the connected pair
/// `(a, b)`; a macro, since the TCP and Unix stream types share no trait.
macro_rules! check_stream_readiness {
    ($a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        // Nothing sent: the try finds nothing and clears readiness; `readable` sleeps.
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(
            timeout(QUIET, b.readable()).await.is_err(),
            "readable did not sleep"
        );
        let read_only = timeout(QUIET, b.ready(Interest::READABLE)).await;
        assert!(read_only.is_err(), "ready(READABLE) did not sleep");
        // Writable, with room: `ready` for both says so.
        let ready = b.ready(Interest::READABLE | Interest::WRITABLE).await?;
        assert!(ready.is_writable() && !ready.is_readable());

        // Data arrives: `readable` wakes, and the tries read it.
        a.writable().await?;
        assert_eq!(a.try_write(b"hello")?, 5);
        b.readable().await?;
        assert!(b.ready(Interest::READABLE).await?.is_readable());
        assert_eq!(b.try_read(&mut buf)?, 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(
            b.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );

        // The vectored tries.
        let n = a.try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?;
        assert_eq!(n, 4);
        poll_fn(|cx| b.poll_read_ready(cx)).await?;
        let (mut x, mut y) = ([0u8; 1], [0u8; 8]);
        let n = b.try_read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])?;
        assert_eq!((n, &x, &y[..3]), (4, b"a", &b"bcd"[..]));

        // Fill the send buffer with tries (bounded: the buffers hold a few MiB at most):
        // the last one clears write readiness, and `writable` sleeps until `b` reads.
        let chunk = vec![7u8; 64 << 10];
        let mut sent = 0usize;
        for _ in 0..1000 {
            match a.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        assert_eq!(a.try_write(b"x").unwrap_err().kind(), ErrorKind::WouldBlock);
        assert!(
            timeout(QUIET, a.writable()).await.is_err(),
            "writable did not sleep"
        );
        let mut sink = vec![0u8; 64 << 10];
        let mut drained = 0;
        while drained < sent {
            b.readable().await?;
            match b.try_read(&mut sink) {
                Ok(n) => drained += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        poll_fn(|cx| a.poll_write_ready(cx)).await?;
        assert_eq!(a.try_write(b"room again")?, 10);
        (a, b)
    }};
}

#[test]
fn tcp_stream_tries_and_waits() -> io::Result<()> {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let (client, mut server) = check_stream_readiness!(client, server);

        // `peek` sees data without taking it.
        let mut buf = [0u8; 10];
        server.read_exact(&mut buf).await?; // "room again"
        client.try_write(b"peeked")?;
        let mut peeked = [0u8; 6];
        let n = server.peek(&mut peeked).await?;
        assert_eq!(&peeked[..n], &b"peeked"[..n]);
        let mut got = [0u8; 6];
        server.read_exact(&mut got).await?;
        assert_eq!(&got, b"peeked");
        Ok(())
    })
}

#[test]
fn unix_stream_tries_and_waits() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = AsyncUnixStream::pair()?;
        check_stream_readiness!(a, b);

        // A peer that closes: `ready` reports the read side closed.
        let (a, b) = AsyncUnixStream::pair()?;
        assert_eq!(
            b.try_read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        drop(a);
        let ready = b.ready(Interest::READABLE).await?;
        assert!(ready.is_readable() && ready.is_read_closed(), "{ready:?}");
        assert_eq!(b.try_read(&mut [0; 4])?, 0); // end of file
        Ok(())
    })
}

#[test]
fn into_std_deregisters_and_leaves_the_socket_non_blocking() -> io::Result<()> {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        let server = server.into_std();
        let mut buf = [0u8; 4];
        let err = server.peek(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "still non-blocking");
        // Deregistered: registering it again works (epoll refuses a descriptor twice).
        let mut server = AsyncTcpStream::from_std(server)?;
        client.write_all(b"back").await?;
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"back");

        let (a, _b) = AsyncUnixStream::pair()?;
        let a = a.into_std();
        assert_eq!(
            std::io::Read::read(&mut &a, &mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        AsyncUnixStream::from_std(a)?;

        let udp = AsyncUdpSocket::bind("127.0.0.1:0")?.into_std();
        assert_eq!(
            udp.recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        AsyncUdpSocket::from_std(udp)?;

        let (d, _e) = AsyncUnixDatagram::pair()?;
        let d = d.into_std();
        assert_eq!(d.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        AsyncUnixDatagram::from_std(d)?;

        let path = std::env::temp_dir().join(format!(
            "epoll-rt-test-{}-into-std.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let unix_listener = AsyncUnixListener::bind(&path)?.into_std();
        std::fs::remove_file(&path)?;
        assert_eq!(
            unix_listener.accept().unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        AsyncUnixListener::from_std(unix_listener)?;
        Ok(())
    })
}

#[test]
fn poll_accept_waits_then_accepts() -> io::Result<()> {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let none = timeout(QUIET, poll_fn(|cx| listener.poll_accept(cx))).await;
        assert!(none.is_err(), "poll_accept did not wait");
        let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (stream, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
        assert_eq!(peer, client.local_addr()?);
        assert_eq!(stream.peer_addr()?, peer);

        let path = std::env::temp_dir().join(format!(
            "epoll-rt-test-{}-poll-accept.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let listener = AsyncUnixListener::bind(&path)?;
        let none = timeout(QUIET, poll_fn(|cx| listener.poll_accept(cx))).await;
        assert!(none.is_err(), "poll_accept did not wait");
        let mut client = AsyncUnixStream::connect(&path).await?;
        std::fs::remove_file(&path)?;
        let (mut stream, peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
        assert!(peer.is_unnamed());
        client.write_all(b"hi").await?;
        let mut buf = [0u8; 2];
        stream.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"hi");
        Ok(())
    })
}

/// The tries, waits and poll forms every datagram socket has, checked on the connected
/// pair `(a, b)`.
macro_rules! check_datagram_readiness {
    ($a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(
            timeout(QUIET, b.readable()).await.is_err(),
            "readable did not sleep"
        );
        let pending = timeout(QUIET, poll_fn(|cx| b.poll_recv(cx, &mut buf))).await;
        assert!(pending.is_err(), "poll_recv did not wait");

        a.writable().await?;
        assert_eq!(a.try_send(b"one")?, 3);
        b.readable().await?;
        assert_eq!(b.peek(&mut buf).await?, 3); // still queued after the peek
        assert_eq!(b.try_recv(&mut buf)?, 3);
        assert_eq!(&buf[..3], b"one");

        assert_eq!(poll_fn(|cx| a.poll_send(cx, b"two")).await?, 3);
        poll_fn(|cx| b.poll_read_ready(cx)).await?;
        assert_eq!(poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?, 3);
        assert_eq!(&buf[..3], b"two");
        poll_fn(|cx| a.poll_write_ready(cx)).await?;

        // `ready`: once a try has found the queue empty (which clears the readable bit),
        // asking for readable alone sleeps; a datagram makes it readable, and an empty
        // socket buffer makes the sender writable.
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(
            timeout(QUIET, b.ready(Interest::READABLE)).await.is_err(),
            "ready(READABLE) did not sleep"
        );
        assert!(a.ready(Interest::WRITABLE).await?.is_writable());
        assert_eq!(a.try_send(b"three")?, 5);
        // Both asked for: an idle socket is writable, so this returns at once, whether or
        // not the reactor has seen the datagram arrive yet.
        let ready = b.ready(Interest::READABLE | Interest::WRITABLE).await?;
        assert!(ready.is_writable(), "{ready:?}");
        assert!(b.ready(Interest::READABLE).await?.is_readable());
        assert_eq!(b.try_recv(&mut buf)?, 5);
        (a, b)
    }};
}

#[test]
fn udp_tries_and_waits() -> io::Result<()> {
    util::run(|| async {
        let a = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let b = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let (a_addr, b_addr) = (a.local_addr()?, b.local_addr()?);

        // Unconnected: the `_to` and `_from` forms.
        let mut buf = [0u8; 16];
        let err = b.try_recv_from(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert_eq!(a.try_send_to(b"to b", b_addr)?, 4);
        b.readable().await?;
        assert_eq!(b.try_recv_from(&mut buf)?, (4, a_addr));
        let pending = timeout(QUIET, poll_fn(|cx| b.poll_recv_from(cx, &mut buf))).await;
        assert!(pending.is_err(), "poll_recv_from did not wait");
        assert_eq!(poll_fn(|cx| a.poll_send_to(cx, b"again", b_addr)).await?, 5);
        assert_eq!(
            poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?,
            (5, a_addr)
        );

        a.connect(b_addr)?;
        b.connect(a_addr)?;
        check_datagram_readiness!(a, b);
        Ok(())
    })
}

#[test]
fn unix_datagram_tries_and_waits() -> io::Result<()> {
    util::run(|| async {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        let a_path = dir.join(format!("epoll-rt-test-{pid}-readiness-a.sock"));
        let b_path = dir.join(format!("epoll-rt-test-{pid}-readiness-b.sock"));
        let _ = std::fs::remove_file(&a_path);
        let _ = std::fs::remove_file(&b_path);
        let a = AsyncUnixDatagram::bind(&a_path)?;
        let b = AsyncUnixDatagram::bind(&b_path)?;
        let result = async {
            let mut buf = [0u8; 16];
            let err = b.try_recv_from(&mut buf).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
            assert_eq!(a.try_send_to(b"to b", &b_path)?, 4);
            b.readable().await?;
            // `peek_from` names the sender and leaves the datagram queued.
            let (n, from) = b.peek_from(&mut buf).await?;
            assert_eq!((n, from.as_pathname()), (4, Some(a_path.as_path())));
            let (n, from) = b.try_recv_from(&mut buf)?;
            assert_eq!((n, from.as_pathname()), (4, Some(a_path.as_path())));
            let pending = timeout(QUIET, poll_fn(|cx| b.poll_recv_from(cx, &mut buf))).await;
            assert!(pending.is_err(), "poll_recv_from did not wait");
            assert_eq!(
                poll_fn(|cx| a.poll_send_to(cx, b"again", &b_path)).await?,
                5
            );
            let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
            assert_eq!((n, from.as_pathname()), (5, Some(a_path.as_path())));

            // An unbound sender: `peek_from` reports an unnamed address.
            let unbound = AsyncUnixDatagram::unbound()?;
            unbound.send_to(b"anon", &b_path).await?;
            let (n, from) = b.peek_from(&mut buf).await?;
            assert!(n == 4 && from.is_unnamed(), "{from:?}");
            assert!(b.recv_from(&mut buf).await?.1.is_unnamed());
            Ok::<(), io::Error>(())
        }
        .await;
        std::fs::remove_file(&a_path)?;
        std::fs::remove_file(&b_path)?;
        result?;

        let (a, b) = AsyncUnixDatagram::pair()?;
        check_datagram_readiness!(a, b);
        Ok(())
    })
}
