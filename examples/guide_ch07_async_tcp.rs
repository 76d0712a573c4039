//! Chapter 7 of the guide (`docs/guide/07-async-tcp.md`): async TCP on loopback, where
//! the interesting cases are the unhappy ones.
//!
//! 1. Backpressure: a writer sends 16 MiB to a reader that starts reading only after
//!    100 ms; the writer gets some way ahead (the kernel's buffers), then waits.
//! 2. Cancel safety: a `read` dropped by a timeout loses nothing; a `read_exact` dropped
//!    halfway loses what it had read.
//! 3. A write to a peer that has gone returns an error (`EPIPE` or `ECONNRESET`) instead
//!    of killing the process with `SIGPIPE`.
//!
//! ```text
//! cargo run --example guide_ch07_async_tcp
//! ```
//!
//! Exits with status 0 if every case behaved as the chapter says, 1 otherwise.

use std::cell::Cell;
use std::io;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use epoll_rt::time::{sleep, timeout};
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};

/// A connected pair of streams on loopback: (client, server).
async fn connected() -> io::Result<(AsyncTcpStream, AsyncTcpStream)> {
    let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
    let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
    let (server, _peer) = listener.accept().await?;
    Ok((client, server))
}

/// Part 1: a fast writer, a late reader.
async fn backpressure() -> io::Result<bool> {
    const TOTAL: usize = 16 << 20;
    let (mut client, mut server) = connected().await?;

    // The writer: `write` (not `write_all`) so that short writes can be counted. Each
    // short write means the send buffer filled up; the next `write` then waits for the
    // kernel to report room (an EPOLLOUT edge).
    let written = Rc::new(Cell::new(0usize));
    let writer = {
        let written = written.clone();
        spawn(async move {
            let chunk = vec![7u8; 64 * 1024];
            let (mut full, mut short) = (0u32, 0u32);
            while written.get() < TOTAL {
                let want = chunk.len().min(TOTAL - written.get());
                let n = server.write(&chunk[..want]).await?;
                if n == want {
                    full += 1;
                } else {
                    short += 1;
                }
                written.set(written.get() + n);
            }
            Ok::<(u32, u32), io::Error>((full, short))
        })
    };

    // The reader does not read for 100 ms. Whatever the writer managed meanwhile sits in
    // the kernel: our receive buffer plus the writer's send buffer.
    sleep(Duration::from_millis(100)).await;
    let ahead = written.get();
    println!(
        "1. after 100 ms without a reader, the writer is {} KiB ahead and waiting",
        ahead / 1024
    );
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0;
    while received < TOTAL {
        match client.read(&mut buf).await? {
            0 => break,
            n => received += n,
        }
    }
    let (full, short) = writer.await??;
    println!(
        "   then the reader took all {} MiB; the writer made {full} full and {short} short \
         writes (each short one followed by a wait for room)",
        received >> 20
    );
    // The writer stopped short of the end while nobody read: that is backpressure.
    Ok(ahead < TOTAL && received == TOTAL)
}

/// Part 2: dropping a `read` loses nothing; dropping a `read_exact` midway loses bytes.
async fn cancel_safety() -> io::Result<bool> {
    let (mut client, mut server) = connected().await?;
    let mut buf = [0u8; 16];

    // `read` given up by a timeout, then data arrives: the next read gets all of it.
    let gave_up = timeout(Duration::from_millis(20), server.read(&mut buf))
        .await
        .is_err();
    client.write_all(b"late").await?;
    let n = server.read(&mut buf).await?;
    println!(
        "2. read() dropped by a timeout: {gave_up}; the next read() got {:?}: nothing lost",
        String::from_utf8_lossy(&buf[..n])
    );
    let read_ok = gave_up && &buf[..n] == b"late";

    // `read_exact` of 6 bytes given up after 3 arrived: those 3 were read into the
    // dropped future's progress, and are gone.
    client.write_all(b"abc").await?;
    let mut six = [0u8; 6];
    let gave_up = timeout(Duration::from_millis(20), server.read_exact(&mut six))
        .await
        .is_err();
    client.write_all(b"def").await?;
    let n = server.read(&mut buf).await?;
    println!(
        "   read_exact(6) dropped after \"abc\" arrived: {gave_up}; the next read() got {:?}: \
         \"abc\" is lost",
        String::from_utf8_lossy(&buf[..n])
    );
    Ok(read_ok && gave_up && &buf[..n] == b"def")
}

/// Part 3: writing to a peer that closed.
async fn closed_peer() -> io::Result<bool> {
    let (client, mut server) = connected().await?;
    drop(client);
    // The first write usually succeeds (the kernel does not know yet; the peer answers it
    // with a reset), a later one fails. Bounded: at most 100 tries, 1 ms apart.
    for attempt in 1..=100 {
        match server.write(b"anyone there?").await {
            Ok(_) => sleep(Duration::from_millis(1)).await,
            Err(e) => {
                println!(
                    "3. write #{attempt} to a closed peer: error {:?} ({e}); no SIGPIPE, \
                     still running",
                    e.kind()
                );
                return Ok(matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ));
            }
        }
    }
    println!("3. 100 writes to a closed peer all succeeded (unexpected)");
    Ok(false)
}

fn main() -> ExitCode {
    let result = epoll_rt::block_on(async {
        let mut ok = backpressure().await?;
        ok &= cancel_safety().await?;
        ok &= closed_peer().await?;
        Ok::<bool, io::Error>(ok)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unexpected: a case did not behave as chapter 7 describes");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
