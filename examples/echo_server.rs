//! The echo server: every byte a client sends comes back to it.
//!
//! This is the program the crate exists for: an accept loop that spawns one task per
//! client, each task a read-write loop, all on one thread sleeping in `epoll_wait`.
//!
//! Run it, then talk to it:
//!
//! ```text
//! cargo run --release --example echo_server                   # listens on 127.0.0.1:33445
//! cargo run --release --example echo_server 127.0.0.1:0       # any free port
//! cargo run --release --example echo_server -- 127.0.0.1:0 --threads 2   # one runtime per core
//! nc 127.0.0.1 33445                                          # in another terminal
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.
//!
//! With `--threads N`, N threads each run their own runtime and their own listener bound
//! with `SO_REUSEPORT` to the same address; the kernel spreads connections among them.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Mutex;

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Runtime, block_on, block_on_threads, spawn};

/// Echoes everything `stream` sends until it closes.
async fn handle(mut stream: AsyncTcpStream) -> io::Result<()> {
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

/// Accepts clients forever, one task each.
async fn serve(listener: AsyncTcpListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        spawn(handle(stream));
    }
}

/// Prints the address scripts wait for, and makes sure it leaves the process at once.
fn announce(addr: SocketAddr) -> io::Result<()> {
    println!("listening on {addr}");
    io::stdout().flush()
}

/// One thread, one runtime: the program from the crate's front page.
async fn server(addr: String) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    announce(listener.local_addr()?)?;
    serve(listener).await
}

/// `threads` runtimes, one per thread, each with its own `SO_REUSEPORT` listener.
fn multi_threaded(addr: String, threads: usize) -> io::Result<()> {
    // Bind the first listener here to learn the real address (the one given may say port
    // 0), then hand it to thread 0; the other threads bind that address themselves.
    let first = Runtime::new()?.block_on(async {
        AsyncTcpListener::bind_reuseport(addr).map(AsyncTcpListener::into_std)
    })?;
    let addr = first.local_addr()?;
    announce(addr)?;
    let first = Mutex::new(Some(first));
    let results = block_on_threads(threads, move |_| {
        let taken = first.lock().map(|mut slot| slot.take()).unwrap_or(None);
        async move {
            let listener = match taken {
                Some(std) => AsyncTcpListener::from_std(std)?,
                None => AsyncTcpListener::bind_reuseport(addr)?,
            };
            serve(listener).await
        }
    })?;
    results.into_iter().collect()
}

/// `echo_server [ADDR] [--threads N]`
fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:33445".to_owned();
    let mut threads = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--threads" {
            threads = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "--threads needs a positive number",
                    )
                })?;
        } else {
            addr = arg;
        }
    }
    if threads == 1 {
        block_on(server(addr))
    } else {
        multi_threaded(addr, threads)
    }
}
