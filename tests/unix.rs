//! Integration tests of the Unix-domain socket types: `AsyncUnixListener`,
//! `AsyncUnixStream` and `AsyncUnixDatagram`.
//!
//! Each test runs its own runtime under the watchdog of `util`, so a lost wake-up fails
//! the test instead of hanging it. Socket files live in the temporary directory under
//! names unique to the process and the test, and are removed when the test ends. The
//! `SIGPIPE` test, which changes process-wide state, lives in `unix_sigpipe.rs`.

mod util;

use std::cell::Cell;
use std::io::{self, IoSlice, IoSliceMut, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use epoll_rt::net::{AsyncUnixDatagram, AsyncUnixListener, AsyncUnixStream};
use epoll_rt::spawn;
use epoll_rt::time::{sleep, timeout};

/// Generous bound for an operation that must complete: the watchdog is the real limit.
const SOON: Duration = Duration::from_secs(5);

/// A socket path in the temporary directory, unique to this process and `name`; any
/// stale file there is removed first, and the file is removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        let file = format!("epoll-rt-test-{}-{name}.sock", std::process::id());
        let path = std::env::temp_dir().join(file);
        let _ = std::fs::remove_file(&path);
        Self(path)
    }
}

impl AsRef<Path> for TempPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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

/// Asserts that `fd` is non-blocking (`O_NONBLOCK`, 04000) and close-on-exec
/// (`O_CLOEXEC`, 02000000).
fn assert_nonblocking_cloexec(what: &str, fd: &impl AsRawFd) {
    let flags = fd_flags(fd);
    assert_ne!(flags & 0o4000, 0, "{what} is blocking (flags {flags:o})");
    assert_ne!(
        flags & 0o2000000,
        0,
        "{what} is not close-on-exec (flags {flags:o})"
    );
}

/// Echoes everything `stream` sends until it closes.
async fn echo(mut stream: AsyncUnixStream) -> io::Result<()> {
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
async fn echo_server(listener: AsyncUnixListener, accepted: Rc<Cell<usize>>) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        accepted.set(accepted.get() + 1);
        spawn(echo(stream));
    }
}

// ---- Streams and listeners ----

#[test]
fn listener_and_client_exchange_data_and_agree_on_addresses() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("round-trip");
        let listener = AsyncUnixListener::bind(&path)?;
        assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_ref()));

        let mut client = AsyncUnixStream::connect(&path).await?;
        let (mut server, peer) = timeout(SOON, listener.accept()).await??;

        // The client did not bind, so it is unnamed; the server end carries the path.
        assert!(peer.is_unnamed());
        assert!(client.local_addr()?.is_unnamed());
        assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_ref()));
        assert_eq!(server.local_addr()?.as_pathname(), Some(path.as_ref()));

        client.write_all(b"ping from the client").await?;
        let mut buf = [0u8; 20];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping from the client");

        server.write_all(b"pong from the server").await?;
        client.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"pong from the server");

        let debug = format!("{listener:?} {client:?}");
        assert!(
            debug.contains(path.0.to_str().expect("utf-8 path")),
            "{debug}"
        );
        Ok(())
    })
}

#[test]
fn pair_round_trip() -> io::Result<()> {
    util::run(|| async {
        let (mut a, mut b) = AsyncUnixStream::pair()?;
        assert!(a.peer_addr()?.is_unnamed());
        a.write_all(b"to b").await?;
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"to b");
        b.write_all(b"to a").await?;
        a.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"to a");
        Ok(())
    })
}

#[test]
fn four_mib_through_a_pair_under_backpressure() -> io::Result<()> {
    const LEN: usize = 4 << 20;
    util::run(|| async {
        let payload = util::Rng::new(0x4_0000).bytes(LEN);
        let (mut writer, mut reader) = AsyncUnixStream::pair()?;

        // The writer offers pieces of random sizes; 4 MiB is far more than the socket
        // buffers hold, so it must wait for the reader again and again.
        let writing = spawn(async move {
            let mut rng = util::Rng::new(1);
            let mut rest = &payload[..];
            while !rest.is_empty() {
                let len = (1 + rng.below(256 << 10) as usize).min(rest.len());
                writer.write_all(&rest[..len]).await?;
                rest = &rest[len..];
            }
            // Dropping the writer closes it: the reader sees end of file.
            Ok::<_, io::Error>(payload)
        });

        // The reader takes pieces of other random sizes until end of file.
        let mut rng = util::Rng::new(2);
        let mut received = Vec::with_capacity(LEN);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let len = 1 + rng.below(buf.len() as u64) as usize;
            match reader.read(&mut buf[..len]).await? {
                0 => break,
                n => received.extend_from_slice(&buf[..n]),
            }
        }
        let payload = writing.await??;
        assert_eq!(received.len(), LEN);
        assert!(received == payload, "bytes lost, reordered or corrupted");
        Ok(())
    })
}

#[test]
fn vectored_writes_and_reads_carry_4_mib_across_slice_boundaries() -> io::Result<()> {
    const LEN: usize = 4 << 20;
    util::run(|| async {
        let payload = util::Rng::new(0x1ec7_0002).bytes(LEN);
        let (mut writer, mut reader) = AsyncUnixStream::pair()?;
        let expected = payload.clone();
        // More than the socket buffer holds: short writes, and waits for room.
        let writing = spawn(async move {
            let mut storage = [
                IoSlice::new(&payload[..1]),
                IoSlice::new(&[]),
                IoSlice::new(&payload[1..]),
            ];
            let mut slices = &mut storage[..];
            while !slices.is_empty() {
                let n = writer.write_vectored(slices).await?;
                assert_ne!(n, 0, "a vectored write of a non-empty buffer wrote nothing");
                IoSlice::advance_slices(&mut slices, n);
            }
            Ok::<_, io::Error>(())
        });
        let (mut small, mut large) = ([0u8; 5], vec![0u8; 3 << 10]);
        let mut received = Vec::with_capacity(LEN);
        loop {
            let mut bufs = [
                IoSliceMut::new(&mut small),
                IoSliceMut::new(&mut []),
                IoSliceMut::new(&mut large),
            ];
            match reader.read_vectored(&mut bufs).await? {
                0 => break,
                n => {
                    received.extend_from_slice(&small[..n.min(5)]);
                    received.extend_from_slice(&large[..n.saturating_sub(5)]);
                }
            }
        }
        writing.await??;
        assert!(received == expected, "bytes lost, reordered or corrupted");
        Ok(())
    })
}

#[test]
fn a_hundred_concurrent_clients_are_echoed() -> io::Result<()> {
    const CLIENTS: usize = 100;
    util::run(|| async {
        let path = TempPath::new("hundred-clients");
        let listener = AsyncUnixListener::bind(&path)?;
        let accepted = Rc::new(Cell::new(0));
        let server = spawn(echo_server(listener, accepted.clone()));

        let mut rng = util::Rng::new(100);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let mut message = format!("client {i}\n").into_bytes();
                let extra = rng.below(20_000) as usize;
                message.extend(rng.bytes(extra));
                let path = path.0.clone();
                spawn(async move {
                    let mut stream = AsyncUnixStream::connect(&path).await?;
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
        server.abort();
        Ok(())
    })
}

#[test]
fn cancelled_accept_loses_no_connection() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("cancelled-accept");
        let listener = AsyncUnixListener::bind(&path)?;
        // Nobody is connecting yet: the accept times out and is dropped mid-wait.
        assert!(
            timeout(Duration::from_millis(5), listener.accept())
                .await
                .is_err()
        );
        let mut client = AsyncUnixStream::connect(&path).await?;
        let (mut server, _peer) = timeout(SOON, listener.accept()).await??;
        client.write_all(b"x").await?;
        let mut buf = [0u8; 1];
        server.read_exact(&mut buf).await?;
        Ok(())
    })
}

#[test]
fn cancelled_read_loses_no_byte() -> io::Result<()> {
    util::run(|| async {
        let (mut a, mut b) = AsyncUnixStream::pair()?;
        let mut buf = [0u8; 64];
        assert!(
            timeout(Duration::from_millis(5), b.read(&mut buf))
                .await
                .is_err()
        );
        a.write_all(b"after the cancel").await?;
        let mut got = [0u8; 16];
        timeout(SOON, b.read_exact(&mut got)).await??;
        assert_eq!(&got, b"after the cancel");
        Ok(())
    })
}

#[test]
fn shutdown_and_drop_give_the_peer_end_of_file() -> io::Result<()> {
    util::run(|| async {
        // Shutting down the writing half: the peer reads the data, then end of file, and
        // can still write back.
        let (mut a, mut b) = AsyncUnixStream::pair()?;
        a.write_all(b"last words").await?;
        a.shutdown(Shutdown::Write)?;
        let mut buf = [0u8; 10];
        b.read_exact(&mut buf).await?;
        assert_eq!(b.read(&mut buf).await?, 0);
        b.write_all(b"ok").await?;
        let mut reply = [0u8; 2];
        a.read_exact(&mut reply).await?;
        assert_eq!(&reply, b"ok");

        // A read waiting when the peer is dropped wakes with end of file.
        let (a, mut b) = AsyncUnixStream::pair()?;
        let reader = spawn(async move {
            let mut buf = [0u8; 8];
            b.read(&mut buf).await
        });
        sleep(Duration::from_millis(5)).await;
        drop(a);
        assert_eq!(timeout(SOON, reader).await???, 0);
        Ok(())
    })
}

#[test]
fn binding_a_path_in_use_fails() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("in-use");
        let listener = AsyncUnixListener::bind(&path)?;
        let err = AsyncUnixListener::bind(&path).expect_err("second bind");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        let err = AsyncUnixDatagram::bind(&path).expect_err("datagram bind");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");

        // The file outlives the listener: still in use, and nobody answers there.
        drop(listener);
        let err = AsyncUnixListener::bind(&path).expect_err("bind over a stale file");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        let err = AsyncUnixStream::connect(&path)
            .await
            .expect_err("connect to a stale file");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        Ok(())
    })
}

#[test]
fn connecting_to_a_missing_path_is_not_found() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("missing");
        let err = AsyncUnixStream::connect(&path).await.expect_err("no file");
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        let socket = AsyncUnixDatagram::unbound()?;
        let err = socket.connect(&path).expect_err("no file");
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        Ok(())
    })
}

#[test]
fn paths_that_cannot_be_socket_addresses_are_invalid_input() -> io::Result<()> {
    util::run(|| async {
        // sun_path holds 108 bytes including the terminating NUL.
        let too_long = std::env::temp_dir().join("x".repeat(120));
        let with_nul = PathBuf::from("/tmp/epoll-rt\0test.sock");
        let longest = PathBuf::from(format!("/{}", "y".repeat(106)));
        assert_eq!(longest.as_os_str().len(), 107);
        let just_too_long = PathBuf::from(format!("/{}", "y".repeat(107)));

        let datagram = AsyncUnixDatagram::unbound()?;
        for path in [&too_long, &with_nul, &just_too_long, &PathBuf::new()] {
            let kinds = [
                AsyncUnixListener::bind(path)
                    .map(drop)
                    .map_err(|e| e.kind()),
                AsyncUnixStream::connect(path)
                    .await
                    .map(drop)
                    .map_err(|e| e.kind()),
                AsyncUnixDatagram::bind(path)
                    .map(drop)
                    .map_err(|e| e.kind()),
                datagram.connect(path).map_err(|e| e.kind()),
                datagram
                    .send_to(b"x", path)
                    .await
                    .map(drop)
                    .map_err(|e| e.kind()),
            ];
            for kind in kinds {
                assert_eq!(kind, Err(io::ErrorKind::InvalidInput), "path {path:?}");
            }
        }

        // The longest valid path is accepted by the encoding: the kernel looks it up (and
        // finds nothing, in a directory that does not exist).
        let err = AsyncUnixStream::connect(&longest)
            .await
            .expect_err("nothing there");
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");

        let message = AsyncUnixListener::bind(&too_long)
            .expect_err("too long")
            .to_string();
        assert!(message.contains("too long"), "{message}");
        Ok(())
    })
}

#[test]
fn sockets_are_nonblocking_and_close_on_exec() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("flags");
        let listener = AsyncUnixListener::bind(&path)?;
        let client = AsyncUnixStream::connect(&path).await?;
        let (accepted, _peer) = timeout(SOON, listener.accept()).await??;
        let (pair_a, pair_b) = AsyncUnixStream::pair()?;
        assert_nonblocking_cloexec("listener", &listener);
        assert_nonblocking_cloexec("connected stream", &client);
        assert_nonblocking_cloexec("accepted stream", &accepted);
        assert_nonblocking_cloexec("stream pair", &pair_a);
        assert_nonblocking_cloexec("stream pair", &pair_b);

        let datagram_path = TempPath::new("flags-datagram");
        let bound = AsyncUnixDatagram::bind(&datagram_path)?;
        let unbound = AsyncUnixDatagram::unbound()?;
        let (dgram_a, dgram_b) = AsyncUnixDatagram::pair()?;
        assert_nonblocking_cloexec("bound datagram", &bound);
        assert_nonblocking_cloexec("unbound datagram", &unbound);
        assert_nonblocking_cloexec("datagram pair", &dgram_a);
        assert_nonblocking_cloexec("datagram pair", &dgram_b);
        Ok(())
    })
}

#[test]
fn std_sockets_are_switched_to_nonblocking() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("from-std");
        let std_listener = UnixListener::bind(&path)?;
        assert_eq!(fd_flags(&std_listener) & 0o4000, 0);
        let listener = AsyncUnixListener::from_std(std_listener)?;
        assert_nonblocking_cloexec("listener from std", &listener);

        // A blocking std client, wrapped, and an accept that must not block the thread.
        let client = UnixStream::connect(&path)?;
        let mut client = AsyncUnixStream::from_std(client)?;
        assert_nonblocking_cloexec("stream from std", &client);
        let (mut server, _peer) = timeout(SOON, listener.accept()).await??;
        let mut buf = [0u8; 4];
        assert!(
            timeout(Duration::from_millis(5), client.read(&mut buf))
                .await
                .is_err(),
            "a read with nothing to read completed"
        );
        server.write_all(b"data").await?;
        client.read_exact(&mut buf).await?;

        let (a, b) = UnixDatagram::pair()?;
        let a = AsyncUnixDatagram::from_std(a)?;
        assert_nonblocking_cloexec("datagram from std", &a);
        b.send(b"std")?;
        assert_eq!(timeout(SOON, a.recv(&mut buf)).await??, 3);
        Ok(())
    })
}

#[test]
fn binding_outside_a_runtime_is_an_error() {
    // The watchdog's thread has no runtime.
    util::watchdog(util::LIMIT, || {
        let path = TempPath::new("no-runtime");
        let err = AsyncUnixListener::bind(&path).expect_err("bound without a runtime");
        assert!(err.to_string().contains("block_on"), "{err}");
        let err = AsyncUnixStream::pair().expect_err("pair without a runtime");
        assert!(err.to_string().contains("block_on"), "{err}");
    });
}

// ---- Datagrams ----

#[test]
fn datagram_send_to_and_recv_from_report_the_sender() -> io::Result<()> {
    util::run(|| async {
        let a_path = TempPath::new("dgram-a");
        let b_path = TempPath::new("dgram-b");
        let a = AsyncUnixDatagram::bind(&a_path)?;
        let b = AsyncUnixDatagram::bind(&b_path)?;
        let mut buf = [0u8; 64];

        a.send_to(b"from a", &b_path).await?;
        let (n, from) = timeout(SOON, b.recv_from(&mut buf)).await??;
        assert_eq!(&buf[..n], b"from a");
        assert_eq!(from.as_pathname(), Some(a_path.as_ref()));

        // The reply goes to the sender's path.
        let reply_to = from.as_pathname().expect("a is bound").to_owned();
        b.send_to(b"from b", &reply_to).await?;
        let (n, from) = timeout(SOON, a.recv_from(&mut buf)).await??;
        assert_eq!(&buf[..n], b"from b");
        assert_eq!(from.as_pathname(), Some(b_path.as_ref()));

        // An unbound sender is unnamed.
        let anonymous = AsyncUnixDatagram::unbound()?;
        anonymous.send_to(b"who?", &b_path).await?;
        let (n, from) = timeout(SOON, b.recv_from(&mut buf)).await??;
        assert_eq!(&buf[..n], b"who?");
        assert!(from.is_unnamed());
        Ok(())
    })
}

#[test]
fn connected_datagram_sockets_send_and_recv() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("dgram-connected");
        let receiver = AsyncUnixDatagram::bind(&path)?;
        let sender = AsyncUnixDatagram::unbound()?;
        assert_eq!(
            sender.send(b"x").await.map_err(|e| e.kind()),
            Err(io::ErrorKind::NotConnected)
        );
        sender.connect(&path)?;
        assert_eq!(sender.peer_addr()?.as_pathname(), Some(path.as_ref()));
        assert_eq!(sender.send(b"hello").await?, 5);
        let mut buf = [0u8; 64];
        let n = timeout(SOON, receiver.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"hello");

        let (a, b) = AsyncUnixDatagram::pair()?;
        a.send(b"pair").await?;
        let n = timeout(SOON, b.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"pair");

        let debug = format!("{sender:?}");
        assert!(
            debug.contains(path.0.to_str().expect("utf-8 path")),
            "{debug}"
        );
        Ok(())
    })
}

#[test]
fn a_datagram_larger_than_the_buffer_is_truncated() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = AsyncUnixDatagram::pair()?;
        let long: Vec<u8> = (0..100).collect();
        a.send(&long).await?;
        a.send(b"next").await?;

        // The first 10 bytes arrive; the other 90 are discarded, not kept for later.
        let mut buf = [0u8; 10];
        let (n, _from) = timeout(SOON, b.recv_from(&mut buf)).await??;
        assert_eq!(n, 10);
        assert_eq!(&buf[..], &long[..10]);

        let mut buf = [0u8; 64];
        let n = timeout(SOON, b.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"next");
        Ok(())
    })
}

#[test]
fn cancelled_datagram_recv_loses_nothing() -> io::Result<()> {
    util::run(|| async {
        let (a, b) = AsyncUnixDatagram::pair()?;
        let mut buf = [0u8; 64];
        // A receive cancelled while waiting, then data arrives: the next receive gets it.
        assert!(
            timeout(Duration::from_millis(10), b.recv_from(&mut buf))
                .await
                .is_err()
        );
        a.send(b"late").await?;
        let n = timeout(SOON, b.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"late");
        Ok(())
    })
}

#[test]
fn a_datagram_sender_waits_while_the_receiver_queue_is_full() -> io::Result<()> {
    // More than any receive queue (10 by default, `net.unix.max_dgram_qlen`) or send
    // buffer holds, so the sender must wait for the receiver.
    const COUNT: u32 = 2000;
    util::run(|| async {
        let path = TempPath::new("dgram-full");
        let receiver = AsyncUnixDatagram::bind(&path)?;
        let sender = AsyncUnixDatagram::unbound()?;
        sender.connect(&path)?;
        let sending = spawn(async move {
            for i in 0..COUNT {
                sender.send(&i.to_be_bytes()).await?;
            }
            Ok::<_, io::Error>(())
        });

        // The sender has filled the queue and waits.
        sleep(Duration::from_millis(20)).await;
        assert!(
            !sending.is_finished(),
            "{COUNT} datagrams sent without waiting"
        );

        // Every datagram arrives, once, in order (Unix datagrams are reliable).
        let mut buf = [0u8; 4];
        for i in 0..COUNT {
            let n = timeout(SOON, receiver.recv(&mut buf)).await??;
            assert_eq!(n, 4);
            assert_eq!(u32::from_be_bytes(buf), i);
        }
        timeout(SOON, sending).await???;
        Ok(())
    })
}

#[test]
fn an_unconnected_sender_waits_for_room_in_a_queue_others_filled() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("dgram-full-by-others");
        let receiver = AsyncUnixDatagram::bind(&path)?;

        // Another socket fills the receiver's queue; `send_to` finds it full and waits.
        let filler = AsyncUnixDatagram::unbound()?;
        let mut queued = 0;
        while timeout(Duration::from_millis(10), filler.send_to(b"filler", &path))
            .await
            .is_ok()
        {
            queued += 1;
            assert!(queued < 100_000, "the receive queue never filled");
        }
        let sender = AsyncUnixDatagram::unbound()?;
        let sending = spawn(async move { sender.send_to(b"mine", &path.0).await });
        sleep(Duration::from_millis(10)).await;
        assert!(
            !sending.is_finished(),
            "sent to a full queue without waiting"
        );

        // Room opens when the receiver takes one of the filler's datagrams, and the waiting
        // sender is woken: its datagram arrives after the filler's.
        let mut buf = [0u8; 16];
        for _ in 0..queued {
            let n = timeout(SOON, receiver.recv(&mut buf)).await??;
            assert_eq!(&buf[..n], b"filler");
        }
        assert_eq!(timeout(SOON, sending).await???, 4);
        let n = timeout(SOON, receiver.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"mine");
        Ok(())
    })
}

#[test]
fn a_blocking_std_peer_talks_to_an_async_datagram() -> io::Result<()> {
    util::run(|| async {
        let path = TempPath::new("dgram-std-peer");
        let socket = AsyncUnixDatagram::bind(&path)?;
        let std_peer = UnixDatagram::unbound()?;
        std_peer.send_to(b"from std", &path)?;
        let mut buf = [0u8; 16];
        let n = timeout(SOON, socket.recv(&mut buf)).await??;
        assert_eq!(&buf[..n], b"from std");
        // Writes through `Write` on a std stream reach an async reader too.
        let (std_stream, async_stream) = UnixStream::pair()?;
        let mut async_stream = AsyncUnixStream::from_std(async_stream)?;
        (&std_stream).write_all(b"std stream")?;
        let mut got = [0u8; 10];
        async_stream.read_exact(&mut got).await?;
        assert_eq!(&got, b"std stream");
        Ok(())
    })
}
