//! Guide, chapter 1, exercise 1: keep the one-thread blocking server, but give up on a
//! silent client after 100 ms (`set_read_timeout`).
//!
//! Client A connects and says nothing; client B connects and sends. The server's `read`
//! on A now fails with `WouldBlock` after 100 ms, the server drops A and serves B. B is
//! answered after about 100 ms instead of never; but every silent client still costs
//! everyone else up to 100 ms, and a client slower than that is cut off. A timeout bounds
//! the damage, it does not remove it.
//!
//! ```text
//! cargo run --example guide_ex01_1_read_timeout
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// How long the server waits for a client to say something.
const LIMIT: Duration = Duration::from_millis(100);

/// Echoes until the client closes or stays silent for `LIMIT`.
fn handle(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(LIMIT))?;
    let mut buf = [0u8; 4096];
    loop {
        // A timed-out read fails with WouldBlock (EAGAIN): `?` ends this client.
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    // The server: one thread, one client at a time, two clients in all.
    let server = thread::spawn(move || {
        for _ in 0..2 {
            let (stream, _) = listener.accept()?;
            let _ = handle(stream);
        }
        Ok::<(), io::Error>(())
    });

    // The clock starts before A connects: the server's 100 ms on A cannot start earlier.
    let start = Instant::now();
    let mut a = TcpStream::connect(addr)?; // silent
    let mut b = TcpStream::connect(addr)?;
    b.set_read_timeout(Some(Duration::from_secs(5)))?; // the watchdog of this program
    b.write_all(b"hello")?;
    let mut buf = [0u8; 5];
    b.read_exact(&mut buf)?;
    let waited = start.elapsed();
    drop(b);
    server.join().expect("the server does not panic")?;

    // A was dropped by the server: it reads end of file.
    a.set_read_timeout(Some(Duration::from_secs(5)))?;
    let a_got = a.read(&mut [0u8; 8])?;
    println!("B answered after {waited:?}; A, silent, was dropped (its read returned {a_got})");
    assert_eq!(&buf, b"hello");
    assert!(waited >= LIMIT, "B waited for A's timeout");
    assert!(waited < Duration::from_secs(2), "but not forever");
    assert_eq!(a_got, 0);
    Ok(())
}
