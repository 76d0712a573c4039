//! `AsyncFd`: any non-blocking descriptor made awaitable (here: pipes, Unix sockets, a
//! regular file that epoll refuses, and a blocking descriptor that we refuse).

mod util;

use std::io::{self, Read, Write};
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use epoll_rt::AsyncFd;
use epoll_rt::time::timeout;

/// A non-blocking pipe as (read end, write end), made with std only.
fn pipe() -> io::Result<(std::fs::File, std::fs::File)> {
    let (reader, writer) = std::io::pipe()?;
    let (reader, writer) = (OwnedFd::from(reader), OwnedFd::from(writer));
    for fd in [&reader, &writer] {
        set_nonblocking(fd)?;
    }
    Ok((std::fs::File::from(reader), std::fs::File::from(writer)))
}

/// Sets `O_NONBLOCK` on `fd`. std offers `set_nonblocking` on sockets but not on pipes or
/// files, so this goes through `fcntl`: the only unsafe code of this file.
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[test]
fn a_blocking_descriptor_is_refused_with_a_clear_error() {
    util::run(|| async {
        let (a, _b) = UnixStream::pair()?; // blocking by default
        let err = AsyncFd::new(a).expect_err("a blocking descriptor must be refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("non-blocking"), "{err}");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn a_regular_file_is_refused_by_epoll() {
    util::run(|| async {
        let path = std::env::temp_dir().join(format!("epoll-rt-asyncfd-{}", std::process::id()));
        let file = std::fs::File::create(&path)?;
        let _ = std::fs::remove_file(&path);
        set_nonblocking(&OwnedFd::from(file.try_clone()?))?;
        // epoll cannot watch a regular file (it is always ready): EPERM.
        let err = AsyncFd::new(file).expect_err("epoll refuses regular files");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn pipe_read_with_waits_for_the_writer() {
    util::run(|| async {
        let (reader, writer) = pipe()?;
        let reader = AsyncFd::new(reader)?;
        let writer = AsyncFd::new(writer)?;
        let task = epoll_rt::spawn(async move {
            let mut buf = [0u8; 16];
            let n = reader.read_with(|mut r| r.read(&mut buf)).await?;
            Ok::<Vec<u8>, io::Error>(buf[..n].to_vec())
        });
        epoll_rt::time::sleep(Duration::from_millis(5)).await; // the reader waits first
        writer
            .write_with(|mut w| w.write(b"through the pipe"))
            .await?;
        assert_eq!(task.await??, b"through the pipe");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn pipe_write_with_waits_for_room() {
    util::run(|| async {
        let (reader, writer) = pipe()?;
        let mut reader = reader;
        let writer = AsyncFd::new(writer)?;
        // Fill the pipe until a write would block.
        let chunk = [7u8; 4096];
        let mut filled = 0usize;
        loop {
            match writer.get_ref().write(&chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        // A write now waits; it is not done after 20 ms.
        let blocked = timeout(
            Duration::from_millis(20),
            writer.write_with(|mut w| w.write(&chunk)),
        )
        .await;
        assert!(blocked.is_err(), "a write into a full pipe completed");
        // Drain the pipe from a thread; the waiting write completes.
        let drainer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            let mut buf = vec![0u8; filled + chunk.len()];
            let mut total = 0;
            while total < filled + chunk.len() {
                match reader.read(&mut buf[total..]) {
                    Ok(0) => break,
                    Ok(n) => total += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1))
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(total)
        });
        let n = writer.write_with(|mut w| w.write(&chunk)).await?;
        assert!(n > 0);
        drop(writer); // end of file for the drainer once it has read everything
        let total = drainer.join().expect("drainer thread")?;
        assert_eq!(total, filled + n);
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn ready_guard_clears_readiness_on_would_block() {
    util::run(|| async {
        let (a, mut b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let a = AsyncFd::new(a)?;
        // A new registration is optimistic: the first readable() returns at once, and the
        // try finds nothing and clears the readiness.
        let mut guard = a.readable().await?;
        let mut buf = [0u8; 8];
        assert!(
            guard.try_io(|mut s| s.read(&mut buf)).is_err(),
            "nothing was sent yet"
        );
        // Now readable() really waits...
        assert!(
            timeout(Duration::from_millis(20), a.readable())
                .await
                .is_err()
        );
        // ...until data arrives.
        b.write_all(b"data")?;
        let mut guard = a.readable().await?;
        let n = guard
            .try_io(|mut s| s.read(&mut buf))
            .expect("ready after a write")?;
        assert_eq!(&buf[..n], b"data");
        // writable() is ready on an empty socket.
        let mut guard = a.writable().await?;
        assert_eq!(
            guard
                .try_io(|mut s| s.write(b"back"))
                .expect("room to write")?,
            4
        );
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn a_reported_error_does_not_make_the_readable_loop_spin() {
    util::run(|| async {
        // A connected UDP socket aimed at a port nobody listens on: the kernel's ICMP
        // answer makes the next receive fail with ECONNREFUSED, and epoll report EPOLLERR.
        let closed = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect(closed)?;
        socket.set_nonblocking(true)?;
        let socket = AsyncFd::new(socket)?;
        socket.get_ref().send(b"anyone?")?;
        // Let the loop hear the EPOLLERR before the receive consumes the error, as when
        // the answer comes from afar (on loopback it is there at once).
        epoll_rt::time::sleep(Duration::from_millis(10)).await;

        // The loop of the `readable` docs reports the error, once.
        let mut buf = [0u8; 16];
        let err = timeout(Duration::from_secs(5), async {
            loop {
                let mut guard = socket.readable().await?;
                if let Ok(result) = guard.try_io(|s| s.recv(&mut buf)) {
                    return result;
                }
            }
        })
        .await?
        .expect_err("the refusal is reported");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

        // The error is consumed: the same loop now waits for a datagram that never comes,
        // instead of finding the error bit still set and going round without end.
        let mut rounds = 0u32;
        let waited = timeout(Duration::from_millis(200), async {
            loop {
                rounds += 1;
                let mut guard = socket.readable().await?;
                if let Ok(result) = guard.try_io(|s| s.recv(&mut buf)) {
                    return result;
                }
            }
        })
        .await;
        assert!(waited.is_err(), "a receive with nothing queued completed");
        assert!(
            rounds <= 3,
            "the readable loop went round {rounds} times: it spins"
        );
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn into_inner_deregisters_and_the_descriptor_can_be_registered_again() {
    util::run(|| async {
        let (a, mut b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let first = AsyncFd::new(a)?;
        let a = first.into_inner();
        // Registering the same descriptor again would fail with EEXIST had into_inner not
        // removed it from epoll.
        let second = AsyncFd::new(a)?;
        b.write_all(b"again")?;
        let mut buf = [0u8; 5];
        second.read_with(|mut s| s.read_exact(&mut buf)).await?;
        assert_eq!(&buf, b"again");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn replacing_the_inner_object_leaves_a_reused_descriptor_registered() {
    util::run(|| async {
        let (a, _a_peer) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let mut first = AsyncFd::new(a)?;
        let old_fd = first.as_raw_fd();

        // Replace the inner object: the old socket is closed (and so leaves the epoll
        // set), and its number is free.
        let (c, _c_peer) = UnixStream::pair()?;
        c.set_nonblocking(true)?;
        drop(std::mem::replace(first.get_mut(), c));

        // A new object gets the freed number.
        let (b, b_peer) = UnixStream::pair()?;
        let (b, mut b_peer) = if b.as_raw_fd() == old_fd {
            (b, b_peer)
        } else {
            (b_peer, b)
        };
        assert_eq!(
            b.as_raw_fd(),
            old_fd,
            "the kernel hands out the lowest free number"
        );
        b.set_nonblocking(true)?;
        let second = AsyncFd::new(b)?;

        // Dropping the first object must deregister its own descriptor, not the number
        // it registered, which is the second object's now.
        drop(first);

        // The second object still hears from the kernel: a read that waits is woken.
        let writer = epoll_rt::spawn(async move {
            epoll_rt::time::sleep(Duration::from_millis(10)).await;
            b_peer.write_all(b"still here")
        });
        let mut buf = [0u8; 16];
        let n = timeout(
            Duration::from_secs(2),
            second.read_with(|mut s| s.read(&mut buf)),
        )
        .await
        .expect("the second object was deregistered by the first one's drop")?;
        assert_eq!(&buf[..n], b"still here");
        writer.await??;
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn new_outside_a_runtime_is_an_error_not_a_panic() {
    let (a, _b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let err = AsyncFd::new(a).expect_err("no runtime on this thread");
    assert!(err.to_string().contains("block_on"), "{err}");
}
