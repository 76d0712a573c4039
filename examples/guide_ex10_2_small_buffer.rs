//! Guide, chapter 10, exercise 2: shrink the echo handler's buffer to 4 bytes, and
//! predict what each 5-byte message then costs.
//!
//! The exchange of exercise 1, with 100 messages. A 5-byte message no longer fits the
//! handler's buffer: its first `recv` fills the buffer, which is *not* a short read, so
//! the readable bit stays set and the handler reads again at once, getting the last byte
//! (a short read, which clears the bit). Two `recv`s and two `send`s on the server's side,
//! no WouldBlock there, and still two `epoll_wait`s per message.
//!
//! Both sides set `TCP_NODELAY`, as `echo_server` does. Without it, Nagle's algorithm
//! holds the 1-byte `send` in the kernel until the 4-byte one is acknowledged; the client
//! then reads 4 bytes, waits another turn for the last one, and every message costs one
//! more `recv` and one more `epoll_wait`. Remove the two `set_nodelay` lines and see.
//!
//! ```text
//! cargo run --example guide_ex10_2_small_buffer
//! ```

use std::io;
use std::thread;
use std::time::Duration;

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Runtime, RuntimeStats};

/// Runs `n` echo round trips on a new runtime and returns its counters.
fn exchange(n: u64) -> io::Result<RuntimeStats> {
    let runtime = Runtime::new()?;
    runtime.block_on(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let client = epoll_rt::spawn(async move {
            let mut stream = AsyncTcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = [0u8; 5];
            for _ in 0..n {
                stream.write_all(b"hello").await?;
                stream.read_exact(&mut buf).await?;
                assert_eq!(&buf, b"hello");
            }
            Ok::<(), io::Error>(())
        });
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let server = epoll_rt::spawn(async move {
            let mut buf = [0u8; 4];
            loop {
                let got = stream.read(&mut buf).await?;
                if got == 0 {
                    return Ok::<(), io::Error>(());
                }
                stream.write_all(&buf[..got]).await?;
            }
        });
        client.await.expect("the client does not panic")?;
        server.await.expect("the server does not panic")
    })?;
    Ok(runtime.stats())
}

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let one = exchange(1)?;
    let hundred = exchange(100)?;
    let per_message = |f: fn(&RuntimeStats) -> u64| (f(&hundred) - f(&one)) / 99;
    let reads = per_message(|s| s.read_calls);
    let writes = per_message(|s| s.write_calls);
    let blocks = per_message(|s| s.would_blocks);
    let waits = per_message(|s| s.epoll_waits);
    println!(
        "per 5-byte message, with a 4-byte buffer: {reads} read syscalls, {writes} write \
         syscalls, {blocks} WouldBlock, {waits} epoll_waits"
    );
    // Server: recv 4 + recv 1, send 4 + send 1. Client, as before: a recv that answers
    // WouldBlock, then one that gets all 5 bytes; one send.
    assert_eq!(
        (reads, writes, blocks, waits),
        (4, 3, 1, 2),
        "the prediction in this file's docs"
    );
    Ok(())
}
