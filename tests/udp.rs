//! Integration tests of `AsyncUdpSocket` over loopback.
//!
//! Each test runs its own runtime under the watchdog of `util`, so a lost wake-up fails
//! the test instead of hanging it. Loopback UDP does not lose datagrams unless a receive
//! queue overflows, so the tests keep few datagrams in flight and expect every one.

mod util;

use std::future::{Future, poll_fn};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use epoll_rt::net::AsyncUdpSocket;
use epoll_rt::spawn;
use epoll_rt::time::{sleep, timeout};

/// Generous bound for a receive that must complete: the watchdog is the real limit.
const SOON: Duration = Duration::from_secs(5);

/// The file status and descriptor flags of `fd`, from the `flags:` line of
/// `/proc/self/fdinfo/<fd>` (octal; `O_CLOEXEC` stands for the close-on-exec flag).
fn fd_flags(fd: &impl AsRawFd) -> u32 {
    let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
    let info = std::fs::read_to_string(&path).expect("read fdinfo");
    let flags = info
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .expect("fdinfo has a flags line");
    u32::from_str_radix(flags.trim(), 8).expect("fdinfo flags are octal")
}

/// Two sockets bound to loopback ports.
fn two_sockets() -> io::Result<(AsyncUdpSocket, AsyncUdpSocket)> {
    Ok((
        AsyncUdpSocket::bind("127.0.0.1:0")?,
        AsyncUdpSocket::bind("127.0.0.1:0")?,
    ))
}

#[test]
fn send_to_and_recv_from_report_the_right_addresses() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = two_sockets()?;
        let mut buf = [0u8; 64];

        a.send_to(b"from a", b.local_addr()?).await?;
        let (n, from) = timeout(SOON, b.recv_from(&mut buf)).await??;
        assert_eq!(&buf[..n], b"from a");
        assert_eq!(from, a.local_addr()?);

        // The reply goes back to the address the datagram came from.
        b.send_to(b"from b", from).await?;
        let (n, from) = timeout(SOON, a.recv_from(&mut buf)).await??;
        assert_eq!(&buf[..n], b"from b");
        assert_eq!(from, b.local_addr()?);
        Ok(())
    })
}

#[test]
fn connected_sockets_send_and_recv_and_filter_other_senders() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = two_sockets()?;
        let stranger = AsyncUdpSocket::bind("127.0.0.1:0")?;
        a.connect(b.local_addr()?)?;
        b.connect(a.local_addr()?)?;
        assert_eq!(a.peer_addr()?, b.local_addr()?);
        assert_eq!(b.peer_addr()?, a.local_addr()?);

        // The kernel drops what the stranger sends to a socket connected elsewhere.
        stranger.send_to(b"not for you", b.local_addr()?).await?;
        assert_eq!(a.send(b"ping").await?, 4);
        let mut buf = [0u8; 64];
        let n = timeout(SOON, b.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"ping");

        assert_eq!(b.send(b"pong").await?, 4);
        let n = timeout(SOON, a.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"pong");

        // Nothing else is queued: the stranger's datagram is gone.
        assert!(
            timeout(Duration::from_millis(20), b.recv(&mut buf))
                .await
                .is_err()
        );
        Ok(())
    })
}

#[test]
fn send_on_an_unconnected_socket_fails() -> io::Result<()> {
    util::run(|| async {
        let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let err = socket
            .send(b"to whom?")
            .await
            .expect_err("unconnected send");
        assert_eq!(err.raw_os_error(), Some(libc::EDESTADDRREQ), "{err}");
        assert_eq!(
            socket.peer_addr().map_err(|e| e.kind()),
            Err(io::ErrorKind::NotConnected)
        );
        Ok(())
    })
}

#[test]
fn a_datagram_larger_than_the_buffer_is_truncated() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = two_sockets()?;
        let long: Vec<u8> = (0..100).collect();
        a.send_to(&long, b.local_addr()?).await?;
        a.send_to(b"next", b.local_addr()?).await?;

        // The first 10 bytes arrive; the other 90 are discarded, not kept for later.
        let mut buf = [0u8; 10];
        let (n, from) = timeout(SOON, b.recv_from(&mut buf)).await??;
        assert_eq!((n, from), (10, a.local_addr()?));
        assert_eq!(&buf[..], &long[..10]);

        // The next receive gets the next datagram.
        let mut buf = [0u8; 64];
        let n = timeout(SOON, b.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"next");
        Ok(())
    })
}

#[test]
fn cancelled_recv_loses_no_datagram() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = two_sockets()?;
        let mut buf = [0u8; 64];

        // A receive cancelled while waiting...
        assert!(
            timeout(Duration::from_millis(10), b.recv_from(&mut buf))
                .await
                .is_err()
        );
        // ...then data arrives, and the next receive gets it.
        a.send_to(b"late", b.local_addr()?).await?;
        let (n, from) = timeout(SOON, b.recv_from(&mut buf)).await??;
        assert_eq!((&buf[..n], from), (&b"late"[..], a.local_addr()?));

        // Many receives cancelled between datagrams sent at intervals: every datagram
        // arrives, once, in order.
        const COUNT: u8 = 40;
        let target = b.local_addr()?;
        let sender = spawn(async move {
            for i in 0..COUNT {
                a.send_to(&[i; 8], target).await?;
                sleep(Duration::from_millis(2)).await;
            }
            Ok::<_, io::Error>(())
        });
        let mut received = Vec::new();
        let mut cancelled = 0;
        while received.len() < usize::from(COUNT) {
            match timeout(Duration::from_millis(1), b.recv(&mut buf)).await {
                Ok(n) => {
                    let n = n?;
                    assert_eq!(n, 8);
                    received.push(buf[0]);
                }
                Err(_elapsed) => cancelled += 1,
            }
        }
        sender.await??;
        assert_eq!(received, (0..COUNT).collect::<Vec<_>>());
        assert!(
            cancelled > 0,
            "no receive was cancelled: the test proved nothing"
        );
        Ok(())
    })
}

#[test]
fn peek_leaves_the_datagram_queued() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = two_sockets()?;
        a.send_to(b"twice", b.local_addr()?).await?;
        let mut buf = [0u8; 64];
        let peeked = timeout(SOON, b.peek_from(&mut buf)).await??;
        assert_eq!(peeked, (5, a.local_addr()?));
        let received = timeout(SOON, b.recv_from(&mut buf)).await??;
        assert_eq!(received, peeked);
        assert_eq!(&buf[..5], b"twice");
        Ok(())
    })
}

#[test]
fn echo_task_serves_a_client_task_through_shared_sockets() -> io::Result<()> {
    util::run(|| async {
        // The server socket is shared: one task receives and replies on it.
        let server = Rc::new(AsyncUdpSocket::bind("127.0.0.1:0")?);
        let server_addr = server.local_addr()?;
        let echo = spawn({
            let server = server.clone();
            async move {
                let mut buf = [0u8; 1500];
                loop {
                    let (n, from) = server.recv_from(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, io::Error>(());
                    }
                    server.send_to(&buf[..n], from).await?;
                }
            }
        });

        let client = AsyncUdpSocket::bind("127.0.0.1:0")?;
        client.connect(server_addr)?;
        let mut rng = util::Rng::new(7);
        let mut buf = [0u8; 1500];
        for _ in 0..200 {
            let len = 1 + rng.below(1400) as usize;
            let request = rng.bytes(len);
            client.send(&request).await?;
            let n = timeout(SOON, client.recv(&mut buf)).await??;
            assert!(buf[..n] == request[..], "echo differs");
        }
        // An empty datagram tells the server to stop.
        client.send(&[]).await?;
        timeout(SOON, echo).await???;
        Ok(())
    })
}

#[test]
fn a_refused_datagram_is_reported_and_the_socket_keeps_working() -> io::Result<()> {
    util::run(|| async {
        // A port with nobody on it: bind one, note it, close it.
        let closed = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
        socket.connect(closed)?;

        // The kernel answers with ICMP port unreachable, which a connected socket reports
        // as ECONNREFUSED on a following call, and epoll as EPOLLERR. The pause lets the
        // loop hear that event before the receive, as when the answer comes from afar.
        socket.send(b"anyone?").await?;
        sleep(Duration::from_millis(10)).await;
        let mut buf = [0u8; 64];
        let err = timeout(SOON, socket.recv(&mut buf))
            .await?
            .expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

        // The error was consumed: a receive now waits quietly (and times out), neither
        // failing again nor retrying in a busy loop, which would show as many polls.
        let mut polls = 0;
        {
            let mut recv = pin!(socket.recv(&mut buf));
            let counted = poll_fn(|cx| {
                polls += 1;
                recv.as_mut().poll(cx)
            });
            let waited = timeout(Duration::from_millis(20), counted).await;
            assert!(waited.is_err(), "a receive with nothing queued completed");
        }
        assert!(
            polls <= 3,
            "an idle receive was polled {polls} times: it spins"
        );

        // A datagram from a live peer still arrives.
        let peer = AsyncUdpSocket::bind("127.0.0.1:0")?;
        socket.connect(peer.local_addr()?)?;
        peer.send_to(b"alive", socket.local_addr()?).await?;
        let n = timeout(SOON, socket.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"alive");
        Ok(())
    })
}

#[test]
fn an_address_that_resolves_to_nothing_is_invalid_input() -> io::Result<()> {
    util::run(|| async {
        let nowhere: &[SocketAddr] = &[];
        let err = AsyncUdpSocket::bind(nowhere).expect_err("bind to no address");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let err = socket
            .send_to(b"x", nowhere)
            .await
            .expect_err("send to no address");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        Ok(())
    })
}

#[test]
fn binding_an_address_in_use_fails() -> io::Result<()> {
    util::run(|| async {
        let first = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let err = AsyncUdpSocket::bind(first.local_addr()?).expect_err("second bind");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        Ok(())
    })
}

#[test]
fn sockets_are_nonblocking_and_close_on_exec() -> io::Result<()> {
    util::run(|| async {
        let wanted = (libc::O_NONBLOCK | libc::O_CLOEXEC) as u32;
        let bound = AsyncUdpSocket::bind("127.0.0.1:0")?;
        let flags = fd_flags(&bound);
        assert_eq!(flags & wanted, wanted, "bind: flags {flags:o}");

        // A std socket is blocking; from_std switches it.
        let std_socket = UdpSocket::bind("127.0.0.1:0")?;
        assert_eq!(fd_flags(&std_socket) & libc::O_NONBLOCK as u32, 0);
        let wrapped = AsyncUdpSocket::from_std(std_socket)?;
        let flags = fd_flags(&wrapped);
        assert_eq!(flags & wanted, wanted, "from_std: flags {flags:o}");
        Ok(())
    })
}

#[test]
fn broadcast_flag_round_trips_and_debug_names_the_addresses() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = two_sockets()?;
        assert!(!a.broadcast()?);
        a.set_broadcast(true)?;
        assert!(a.broadcast()?);

        a.connect(b.local_addr()?)?;
        let debug = format!("{a:?}");
        assert!(debug.contains(&a.local_addr()?.to_string()), "{debug}");
        assert!(debug.contains(&b.local_addr()?.to_string()), "{debug}");
        Ok(())
    })
}

#[test]
fn binding_outside_a_runtime_is_an_error() {
    // The watchdog's thread has no runtime.
    util::watchdog(util::LIMIT, || {
        let err = AsyncUdpSocket::bind("127.0.0.1:0").expect_err("bound without a runtime");
        assert!(
            err.to_string().contains("block_on"),
            "the message does not say what to do: {err}"
        );
    });
}

#[test]
fn ttl_and_multicast_membership() -> io::Result<()> {
    util::run(|| async {
        let socket = AsyncUdpSocket::bind("127.0.0.1:0")?;
        socket.set_ttl(9)?;
        assert_eq!(socket.ttl()?, 9);
        // Join a group on the loopback interface, then leave it: leaving a second time
        // fails, which shows the join took effect.
        let group = std::net::Ipv4Addr::new(239, 255, 0, 77);
        let lo = std::net::Ipv4Addr::LOCALHOST;
        socket.join_multicast_v4(group, lo)?;
        socket.leave_multicast_v4(group, lo)?;
        assert!(socket.leave_multicast_v4(group, lo).is_err());

        let v6 = match AsyncUdpSocket::bind("[::1]:0") {
            Ok(socket) => socket,
            // A machine without IPv6 cannot run the rest.
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => return Ok(()),
            Err(e) => return Err(e),
        };
        let group = "ff15::77"
            .parse::<std::net::Ipv6Addr>()
            .expect("an IPv6 address");
        let lo_index = 1; // the loopback interface is always index 1 on Linux
        v6.join_multicast_v6(&group, lo_index)?;
        v6.leave_multicast_v6(&group, lo_index)?;
        assert!(v6.leave_multicast_v6(&group, lo_index).is_err());
        Ok(())
    })
}
