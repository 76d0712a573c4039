//! Guide, chapter 10, exercise 1: predict `Runtime::stats` before you run it.
//!
//! One runtime, an echo handler and a client as two tasks, `n` messages of 5 bytes, each
//! awaited before the next is sent. Before running, write down what you expect for
//! `epoll_ctls` and `write_calls`, for 1 message and for 100. Then look at what grows with
//! `n` (everything per message) and what does not (the registrations).
//!
//! ```text
//! cargo run --example guide_ex10_1_predict
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
            let mut buf = [0u8; 4096];
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
    for (n, stats) in [(1, one), (100, hundred)] {
        println!(
            "{n:>3} message(s): epoll_ctls {}, write_calls {}, read_calls {}, epoll_waits {}, polls {}",
            stats.epoll_ctls, stats.write_calls, stats.read_calls, stats.epoll_waits, stats.polls
        );
    }
    // Three sockets (listener, client, accepted), each added once and removed once,
    // however many messages they carry.
    assert_eq!((one.epoll_ctls, hundred.epoll_ctls), (6, 6));
    // Each message is one `send` by the client and one by the server: 5 bytes always fit.
    assert_eq!((one.write_calls, hundred.write_calls), (2, 200));
    // Each further message costs the same. Reads: the server's `recv` of the message; the
    // client's first `recv`, made before the server has run, answers WouldBlock; its
    // second gets the echo. (The short reads clear the readable bits: no `recv` finds
    // WouldBlock after the data.) Waits: the server waits for the message, the client for
    // the echo: two turns of the loop, each with one `epoll_wait`.
    let reads = (hundred.read_calls - one.read_calls) / 99;
    let waits = (hundred.epoll_waits - one.epoll_waits) / 99;
    println!("per message: {reads} read syscalls, {waits} epoll_waits");
    assert_eq!(hundred.read_calls - one.read_calls, 3 * 99);
    assert_eq!(hundred.epoll_waits - one.epoll_waits, 2 * 99);
    Ok(())
}
