//! Guide, chapter 7, exercise 1: drain until `WouldBlock`, without the short-read
//! shortcut, and count what it costs with `Runtime::stats`.
//!
//! The same echo exchange runs twice, 100 round trips each, client and server as tasks of
//! one runtime: once with a server that reads with `AsyncTcpStream::read` (a short read
//! clears the readable bit), once with one that reads through `AsyncFd::read_with`, which
//! clears it only on `WouldBlock`, as chapter 4's protocol says. The client is the same in
//! both runs; the second server makes one extra `recv` per message, the one that answers
//! `WouldBlock`.
//!
//! ```text
//! cargo run --example guide_ex07_1_no_shortcut
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use epoll_rt::{AsyncFd, AsyncTcpStream, Runtime};

/// Round trips per run.
const ROUNDS: u64 = 100;

/// Echoes with the stream type's own `read`: the short-read shortcut.
async fn echo_shortcut(mut stream: AsyncTcpStream) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Echoes through an `AsyncFd`: readiness is cleared only by a `WouldBlock`.
async fn echo_drain(stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    let stream = AsyncFd::new(stream)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read_with(|mut s| s.read(&mut buf)).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_with(|mut s| s.write(&buf[..n])).await?;
    }
}

/// Runs ROUNDS round trips against a server using `shortcut` or not; returns the
/// runtime's (read syscalls, WouldBlocks).
fn run(shortcut: bool) -> io::Result<(u64, u64)> {
    let runtime = Runtime::new()?;
    runtime.block_on(async {
        // Connect and accept with blocking std calls (on loopback, the kernel completes
        // the handshake without waiting for `accept`), so that only reads count below.
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let client = TcpStream::connect(listener.local_addr()?)?;
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        client.set_nodelay(true)?;
        // The client is a task of the same runtime, the same in both runs.
        let mut client = AsyncTcpStream::from_std(client)?;
        let client = epoll_rt::spawn(async move {
            let mut buf = [0u8; 5];
            for _ in 0..ROUNDS {
                client.write_all(b"hello").await?;
                client.read_exact(&mut buf).await?;
                assert_eq!(&buf, b"hello");
            }
            Ok::<(), io::Error>(())
        });
        if shortcut {
            echo_shortcut(AsyncTcpStream::from_std(stream)?).await?;
        } else {
            echo_drain(stream).await?;
        }
        client.await.expect("the client does not panic")
    })?;
    let stats = runtime.stats();
    Ok((stats.read_calls, stats.would_blocks))
}

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(20));
        eprintln!("watchdog: still running after 20 s, a wake-up was lost");
        std::process::exit(1);
    });
    let (short_reads, short_blocks) = run(true)?;
    let (drain_reads, drain_blocks) = run(false)?;
    println!(
        "{ROUNDS} messages, short-read shortcut: {short_reads} read syscalls, {short_blocks} WouldBlock"
    );
    println!(
        "{ROUNDS} messages, drain to WouldBlock: {drain_reads} read syscalls, {drain_blocks} WouldBlock"
    );
    // The client does the same in both runs; the draining server pays one more `recv`,
    // answered `WouldBlock`, per message.
    assert_eq!(
        drain_blocks - short_blocks,
        ROUNDS,
        "one WouldBlock more per message"
    );
    assert_eq!(
        drain_reads - short_reads,
        ROUNDS,
        "one recv more per message"
    );
    Ok(())
}
