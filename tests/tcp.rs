//! Integration tests of `AsyncTcpListener` and `AsyncTcpStream` over loopback.
//!
//! Each test runs its own runtime under the watchdog of `util`, so a lost wake-up fails
//! the test instead of hanging it. Tests that change process-wide state (the `SIGPIPE`
//! disposition, the descriptor limit) live in files of their own: `tcp_sigpipe.rs` and
//! `accept_exhaustion.rs`.

mod util;

use std::cell::Cell;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use epoll_rt::net::OwnedReadHalf;
use epoll_rt::time::{sleep, timeout};
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};

/// Echoes everything `stream` sends until it closes: the echo loop of
/// `examples/echo_server.rs`.
async fn echo(mut stream: AsyncTcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Accepts clients forever, one echo task each; counts them in `accepted`.
async fn echo_server(listener: AsyncTcpListener, accepted: Rc<Cell<usize>>) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        accepted.set(accepted.get() + 1);
        spawn(echo(stream));
    }
}

/// A connected pair over loopback: `(client, server)`.
async fn connected_pair() -> io::Result<(AsyncTcpStream, AsyncTcpStream)> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    // The kernel completes the handshake from its listen queue, before any `accept`.
    let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    let (server, _peer) = listener.accept().await?;
    Ok((client, server))
}

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

/// Asserts that `fd` is non-blocking and close-on-exec.
fn assert_nonblocking_cloexec(what: &str, fd: &impl AsRawFd) {
    let flags = fd_flags(fd);
    assert_ne!(
        flags & libc::O_NONBLOCK as u32,
        0,
        "{what} is blocking (flags {flags:o})"
    );
    assert_ne!(
        flags & libc::O_CLOEXEC as u32,
        0,
        "{what} is not close-on-exec (flags {flags:o})"
    );
}

/// Raises the soft limit on open descriptors to at least `want`, as far as the hard limit
/// allows. 500 connections hold 1000 descriptors, which the common default soft limit of
/// 1024 does not fit next to the other tests of this file running at the same time.
fn raise_fd_limit(want: libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    if limit.rlim_cur < want {
        limit.rlim_cur = want.min(limit.rlim_max);
        // SAFETY: setrlimit reads one `rlimit` from the struct, which lives across the call.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}

#[test]
fn round_trip_both_directions() -> io::Result<()> {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let listen_addr = listener.local_addr()?;
        let mut client = AsyncTcpStream::connect(listen_addr).await?;
        let (mut server, peer) = listener.accept().await?;

        // The two ends agree on who is who.
        assert_eq!(peer, client.local_addr()?);
        assert_eq!(server.peer_addr()?, client.local_addr()?);
        assert_eq!(client.peer_addr()?, server.local_addr()?);
        assert_eq!(client.peer_addr()?, listen_addr);

        client.write_all(b"ping from the client").await?;
        let mut buf = [0u8; 20];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping from the client");

        server.write_all(b"pong from the server").await?;
        client.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"pong from the server");

        client.set_nodelay(true)?;
        assert!(client.nodelay()?);
        client.set_nodelay(false)?;
        assert!(!client.nodelay()?);
        Ok(())
    })
}

#[test]
fn echoes_8_mib_under_backpressure() {
    const LEN: usize = 8 << 20;
    let payload = Arc::new(util::Rng::new(0x8_4d1b).bytes(LEN));
    let expected = payload.clone();

    let received = util::watchdog(util::LIMIT, move || {
        let client = epoll_rt::block_on(async {
            let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            // A blocking client on its own threads: one writes everything while the
            // other reads, so neither direction waits for the other.
            let client = thread::spawn(move || -> io::Result<Vec<u8>> {
                let stream = TcpStream::connect(addr)?;
                let mut writer = stream.try_clone()?;
                let writing = thread::spawn(move || -> io::Result<()> {
                    writer.write_all(&payload)?;
                    writer.shutdown(Shutdown::Write)
                });
                let mut received = Vec::with_capacity(LEN);
                (&stream).read_to_end(&mut received)?;
                writing.join().expect("writer thread panicked")?;
                Ok(received)
            });
            let (stream, _peer) = listener.accept().await?;
            echo(stream).await?;
            Ok::<_, io::Error>(client)
        })
        .expect("server");
        client.join().expect("client thread panicked")
    })
    .expect("client");

    assert_eq!(received.len(), LEN);
    assert!(received == *expected, "echoed bytes differ from those sent");
}

#[test]
fn half_closed_peer_reads_zero_after_the_data() -> io::Result<()> {
    util::run(|| async {
        let (mut client, mut server) = connected_pair().await?;
        client.write_all(b"last words").await?;
        client.shutdown(Shutdown::Write)?;

        let mut received = Vec::new();
        let mut buf = [0u8; 4];
        loop {
            match server.read(&mut buf).await? {
                0 => break,
                n => received.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(received, b"last words");
        // End of file stays end of file.
        assert_eq!(server.read(&mut buf).await?, 0);

        // The other half is still open: the server can answer.
        server.write_all(b"ok").await?;
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await?;
        assert_eq!(&reply, b"ok");
        Ok(())
    })
}

#[test]
fn dropped_peer_wakes_a_waiting_read_with_zero() -> io::Result<()> {
    util::run(|| async {
        let (mut client, mut server) = connected_pair().await?;
        // The reader waits before the close happens: the close must wake it.
        let reader = spawn(async move {
            let mut received = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                match server.read(&mut buf).await? {
                    0 => return Ok::<_, io::Error>(received),
                    n => received.extend_from_slice(&buf[..n]),
                }
            }
        });
        sleep(Duration::from_millis(10)).await;
        client.write_all(b"bye").await?;
        sleep(Duration::from_millis(10)).await;
        // Nothing unread on the client's side: a clean close (FIN), not a reset.
        drop(client);
        assert_eq!(reader.await??, b"bye");
        Ok(())
    })
}

#[test]
fn connecting_to_a_closed_port_is_refused() -> io::Result<()> {
    util::run(|| async {
        let addr = AsyncTcpListener::bind("127.0.0.1:0")?.local_addr()?;
        // The listener is gone: nothing listens on `addr` any more.
        let err = AsyncTcpStream::connect(addr)
            .await
            .expect_err("connect to a closed port succeeded");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        Ok(())
    })
}

#[test]
fn five_hundred_concurrent_clients_are_echoed() -> io::Result<()> {
    const CLIENTS: usize = 500;
    raise_fd_limit(4096);
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let accepted = Rc::new(Cell::new(0));
        spawn(echo_server(listener, accepted.clone()));

        let mut rng = util::Rng::new(500);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                // A unique header, then up to 10 000 random bytes: some messages take
                // several of the server's 4 KiB reads.
                let mut message = format!("client {i} of {CLIENTS}\n").into_bytes();
                let extra = rng.below(10_000) as usize;
                message.extend(rng.bytes(extra));
                spawn(async move {
                    let mut stream = AsyncTcpStream::connect(addr).await?;
                    stream.write_all(&message).await?;
                    let mut echoed = vec![0u8; message.len()];
                    stream.read_exact(&mut echoed).await?;
                    assert!(echoed == message, "client {i} got back other bytes");
                    Ok::<_, io::Error>(())
                })
            })
            .collect();

        for (i, client) in clients.into_iter().enumerate() {
            client
                .await?
                .map_err(|e| io::Error::new(e.kind(), format!("client {i}: {e}")))?;
        }
        assert_eq!(accepted.get(), CLIENTS);
        Ok(())
    })
}

#[test]
fn cancelled_accept_loses_no_connection() -> io::Result<()> {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        // Nobody is connecting yet: the accept times out and is dropped mid-wait.
        assert!(
            timeout(Duration::from_millis(5), listener.accept())
                .await
                .is_err()
        );

        let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (_server, peer) = timeout(Duration::from_secs(5), listener.accept()).await??;
        assert_eq!(peer, client.local_addr()?);
        Ok(())
    })
}

#[test]
fn cancelled_read_loses_no_byte() -> io::Result<()> {
    util::run(|| async {
        let (mut client, mut server) = connected_pair().await?;
        let mut buf = [0u8; 64];

        // A read cancelled while waiting.
        assert!(
            timeout(Duration::from_millis(5), server.read(&mut buf))
                .await
                .is_err()
        );
        client.write_all(b"all of it").await?;
        let mut got = [0u8; 9];
        server.read_exact(&mut got).await?;
        assert_eq!(&got, b"all of it");

        // Many reads cancelled between chunks written at intervals: every byte arrives,
        // in order.
        const CHUNKS: u8 = 50;
        let writer = spawn(async move {
            for i in 0..CHUNKS {
                client.write_all(&[i; 100]).await?;
                sleep(Duration::from_millis(3)).await;
            }
            Ok::<_, io::Error>(())
        });
        let mut received = Vec::new();
        let mut cancelled = 0;
        while received.len() < usize::from(CHUNKS) * 100 {
            match timeout(Duration::from_millis(1), server.read(&mut buf)).await {
                Ok(n) => match n? {
                    0 => break,
                    n => received.extend_from_slice(&buf[..n]),
                },
                Err(_elapsed) => cancelled += 1,
            }
        }
        writer.await??;
        let expected: Vec<u8> = (0..CHUNKS).flat_map(|i| [i; 100]).collect();
        assert!(received == expected, "bytes lost or reordered");
        assert!(
            cancelled > 0,
            "no read was cancelled: the test proved nothing"
        );
        Ok(())
    })
}

#[test]
fn listener_from_std_accepts_without_blocking() -> io::Result<()> {
    util::run(|| async {
        let std_listener = TcpListener::bind("127.0.0.1:0")?;
        let listener = AsyncTcpListener::from_std(std_listener)?;
        assert_ne!(fd_flags(&listener) & libc::O_NONBLOCK as u32, 0);

        // A blocking accept would stall the thread here until the watchdog fires.
        assert!(
            timeout(Duration::from_millis(5), listener.accept())
                .await
                .is_err()
        );

        let mut client = TcpStream::connect(listener.local_addr()?)?;
        let (mut server, peer) = listener.accept().await?;
        assert_eq!(peer, client.local_addr()?);
        server.write_all(b"hi").await?;
        let mut buf = [0u8; 2];
        client.read_exact(&mut buf)?;
        assert_eq!(&buf, b"hi");
        Ok(())
    })
}

#[test]
fn stream_from_std_reads_without_blocking() -> io::Result<()> {
    util::run(|| async {
        let std_listener = TcpListener::bind("127.0.0.1:0")?;
        let std_stream = TcpStream::connect(std_listener.local_addr()?)?;
        let (mut peer, _) = std_listener.accept()?;
        let mut stream = AsyncTcpStream::from_std(std_stream)?;
        assert_ne!(fd_flags(&stream) & libc::O_NONBLOCK as u32, 0);

        // Nothing to read yet: a blocking read would stall the thread here.
        let mut buf = [0u8; 5];
        assert!(
            timeout(Duration::from_millis(5), stream.read(&mut buf))
                .await
                .is_err()
        );

        peer.write_all(b"hello")?;
        stream.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"hello");
        stream.write_all(b"world").await?;
        peer.read_exact(&mut buf)?;
        assert_eq!(&buf, b"world");
        Ok(())
    })
}

#[test]
fn sockets_are_nonblocking_and_close_on_exec() -> io::Result<()> {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (server, _peer) = listener.accept().await?;
        assert_nonblocking_cloexec("the listener", &listener);
        assert_nonblocking_cloexec("the connected socket", &client);
        assert_nonblocking_cloexec("the accepted socket", &server);
        Ok(())
    })
}

#[test]
fn binding_an_address_in_use_fails() -> io::Result<()> {
    util::run(|| async {
        let first = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr: SocketAddr = first.local_addr()?;
        let err = AsyncTcpListener::bind(addr).expect_err("second bind succeeded");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        Ok(())
    })
}

#[test]
fn binding_outside_a_runtime_is_an_error() {
    // The watchdog's thread has no runtime.
    util::watchdog(util::LIMIT, || {
        let err = AsyncTcpListener::bind("127.0.0.1:0").expect_err("bound without a runtime");
        assert!(
            err.to_string().contains("block_on"),
            "the message does not say what to do: {err}"
        );
    });
}

/// Two tasks accepting on one shared listener: the second wait must not push the first
/// task out (each direction of a socket keeps a list of waiting tasks, not one slot).
/// Before that was so, task A below was never woken.
#[test]
fn two_tasks_can_wait_on_one_listener() {
    util::run(|| async {
        let listener = std::rc::Rc::new(AsyncTcpListener::bind("127.0.0.1:0")?);
        let addr = listener.local_addr()?;
        let shared = listener.clone();
        let a = epoll_rt::spawn(async move { shared.accept().await.map(|(_, peer)| peer) });
        epoll_rt::yield_now().await; // A now waits in accept
        // A second wait on the same listener, abandoned after 5 ms.
        let second = epoll_rt::time::timeout(Duration::from_millis(5), listener.accept()).await;
        assert!(second.is_err(), "nothing was connecting yet");
        let client = AsyncTcpStream::connect(addr).await?;
        let peer = epoll_rt::time::timeout(Duration::from_secs(5), a)
            .await
            .expect("task A was never woken")??;
        assert_eq!(peer, client.local_addr()?);
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// Writes all of `data` with `write_vectored`, offered as three slices (one byte, an empty
/// slice, the rest), advancing past what each call sent.
async fn write_all_vectored(stream: &mut AsyncTcpStream, data: &[u8]) -> io::Result<()> {
    let mut storage = [
        IoSlice::new(&data[..1]),
        IoSlice::new(&[]),
        IoSlice::new(&data[1..]),
    ];
    let mut slices = &mut storage[..];
    while !slices.is_empty() {
        let n = stream.write_vectored(slices).await?;
        assert_ne!(n, 0, "a vectored write of a non-empty buffer wrote nothing");
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

/// Reads until end of file with `read_vectored`, into a 5-byte slice, an empty one and a
/// 3-KiB one: every read crosses slice boundaries.
async fn read_to_end_vectored(read: &mut OwnedReadHalf) -> io::Result<Vec<u8>> {
    let (mut small, mut large) = ([0u8; 5], vec![0u8; 3 << 10]);
    let mut received = Vec::new();
    loop {
        let mut bufs = [
            IoSliceMut::new(&mut small),
            IoSliceMut::new(&mut []),
            IoSliceMut::new(&mut large),
        ];
        let n = read.read_vectored(&mut bufs).await?;
        if n == 0 {
            return Ok(received);
        }
        received.extend_from_slice(&small[..n.min(5)]);
        received.extend_from_slice(&large[..n.saturating_sub(5)]);
    }
}

#[test]
fn vectored_writes_and_reads_carry_4_mib_across_slice_boundaries() -> io::Result<()> {
    const LEN: usize = 4 << 20;
    util::run(|| async {
        let payload = util::Rng::new(0x1ec7).bytes(LEN);
        let (mut client, server) = connected_pair().await?;
        // 4 MiB is more than the socket buffers hold: short writes, and waits for room.
        let expected = payload.clone();
        let writer = spawn(async move {
            write_all_vectored(&mut client, &payload).await?;
            client.shutdown(Shutdown::Write)
        });
        let (mut read, _write) = server.into_split();
        let received = read_to_end_vectored(&mut read).await?;
        writer.await??;
        assert_eq!(received.len(), LEN);
        assert!(received == expected, "bytes lost, reordered or corrupted");
        Ok(())
    })
}

#[test]
fn vectored_methods_of_the_halves_reach_the_stream() -> io::Result<()> {
    util::run(|| async {
        let (mut client, mut server) = connected_pair().await?;
        {
            let (mut rd, mut wr) = client.split();
            let n = wr
                .write_vectored(&[IoSlice::new(b"bor"), IoSlice::new(b"rowed")])
                .await?;
            assert_eq!(n, 8);
            let mut buf = [0u8; 8];
            server.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"borrowed");
            server.write_all(b"back").await?;
            let (mut a, mut b) = ([0u8; 2], [0u8; 2]);
            let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
            // One 4-byte segment, which arrives whole.
            assert_eq!(rd.read_vectored(&mut bufs).await?, 4);
            assert_eq!((&a, &b), (b"ba", b"ck"));
        }
        let (mut rd, mut wr) = client.into_split();
        wr.write_vectored(&[IoSlice::new(b"ow"), IoSlice::new(b"ned")])
            .await?;
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"owned");
        server.write_all(b"!").await?;
        let mut one = [0u8; 1];
        assert_eq!(rd.read_vectored(&mut [IoSliceMut::new(&mut one)]).await?, 1);
        assert_eq!(&one, b"!");
        Ok(())
    })
}

/// A reader and a writer waiting on one socket at once, two tasks on the two halves:
/// the descriptor keeps one of them inline and the other in its overflow, and each must be
/// woken by its own direction's events, and only by them.
#[test]
fn a_reader_and_a_writer_waiting_on_one_socket_are_each_woken() -> io::Result<()> {
    const LEN: usize = 8 << 20;
    util::run(|| async {
        let (client, mut server) = connected_pair().await?;
        let (mut rd, mut wr) = client.into_split();
        let reader = spawn(async move {
            let mut byte = [0u8; 1];
            let n = rd.read(&mut byte).await?;
            io::Result::Ok((n, byte[0]))
        });
        // Waits for room again and again: 8 MiB is more than the socket buffers hold.
        let writer = spawn(async move { wr.write_all(&vec![7u8; LEN]).await });
        let mut received = 0;
        let mut buf = vec![0u8; 64 << 10];
        while received < LEN {
            let n = server.read(&mut buf).await?;
            assert!(n > 0, "end of file after {received} bytes");
            assert!(buf[..n].iter().all(|&b| b == 7));
            received += n;
        }
        writer.await??;
        assert!(
            !reader.is_finished(),
            "the reader finished with nothing sent"
        );
        server.write_all(b"!").await?;
        assert_eq!(reader.await??, (1, b'!'));
        Ok(())
    })
}

/// Bytes waiting in `stream`'s receive queue (`FIONREAD`).
fn queued(stream: &impl AsRawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int, to a variable that lives across the call.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0, "FIONREAD: {}", io::Error::last_os_error());
    n as usize
}

/// One `sendmsg` or `recvmsg` takes at most 1024 slices (`UIO_MAXIOV`; more is
/// `EMSGSIZE`): the vectored methods use the first 1024. A read that fills all of those
/// is not a short read, so it must not clear readiness: the bytes still queued produce no
/// new edge, and a second read waiting for one would wait forever.
#[test]
fn vectored_calls_take_the_first_1024_slices_and_keep_readiness() -> io::Result<()> {
    util::run(|| async {
        let (mut client, mut server) = connected_pair().await?;
        let ones = vec![[b'x'; 1]; 2000];
        let slices: Vec<IoSlice<'_>> = ones.iter().map(|b| IoSlice::new(b)).collect();
        assert_eq!(client.write_vectored(&slices).await?, 1024);
        client.write_all(&[b'y'; 476]).await?;
        for _ in 0..1000 {
            if queued(&server) == 1500 {
                break;
            }
            sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(queued(&server), 1500, "loopback did not deliver in 1 s");
        // A pass through `epoll_wait`, which takes the edges of those arrivals: from here
        // on, no event will come for bytes already queued.
        sleep(Duration::from_millis(1)).await;

        let mut storage = vec![[0u8; 1]; 2000];
        let mut bufs: Vec<IoSliceMut<'_>> =
            storage.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        assert_eq!(server.read_vectored(&mut bufs).await?, 1024);
        let rest = timeout(Duration::from_secs(2), server.read_vectored(&mut bufs))
            .await
            .expect("the 476 queued bytes were not read: readiness was cleared")?;
        assert_eq!(rest, 476);
        drop(bufs);
        assert!(storage[..476].iter().all(|b| b == b"y"));
        Ok(())
    })
}

#[test]
fn linger_and_ttl_options_round_trip_and_linger_zero_resets() -> io::Result<()> {
    util::run(|| async {
        let (client, mut server) = connected_pair().await?;
        assert_eq!(client.linger()?, None); // the default: a graceful close
        client.set_linger(Some(Duration::from_secs(3)))?;
        assert_eq!(client.linger()?, Some(Duration::from_secs(3)));
        client.set_ttl(17)?;
        assert_eq!(client.ttl()?, 17);

        // A zero linger turns the close into a reset: the peer reads an error, not end of
        // file.
        client.set_linger(Some(Duration::ZERO))?;
        assert_eq!(client.linger()?, Some(Duration::ZERO));
        drop(client);
        let err = server
            .read(&mut [0u8; 8])
            .await
            .expect_err("reset by the peer");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        Ok(())
    })
}
