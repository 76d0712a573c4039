//! The echo server: every byte a client sends comes back to it.
//!
//! This is the program the crate exists for: an accept loop that spawns one task per
//! client, each task a read-write loop, all on one thread sleeping in `epoll_wait`.
//!
//! Run it, then talk to it:
//!
//! ```text
//! cargo run --release --example echo_server            # listens on 127.0.0.1:33445
//! cargo run --release --example echo_server 127.0.0.1:0  # any free port
//! nc 127.0.0.1 33445                                    # in another terminal
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.

use std::io::Write;

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, block_on, spawn};

/// Echoes everything `stream` sends until it closes.
async fn handle(mut stream: AsyncTcpStream) -> std::io::Result<()> {
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
async fn server(addr: String) -> std::io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (stream, _peer) = listener.accept().await?;
        spawn(handle(stream));
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:33445".into());
    block_on(server(addr))
}
