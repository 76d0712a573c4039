//! The echo server of `examples/echo_server.rs`, on tokio's `current_thread` runtime.
//!
//! Same protocol and same shape, line for line: an accept loop that spawns one task per
//! client, each task a loop that reads up to 4096 bytes and writes them back with
//! `write_all`, `TCP_NODELAY` on every connection. Only the runtime differs, so comparing
//! the two measures the runtimes.
//!
//! ```text
//! cargo run --release --bin tokio_echo -- 127.0.0.1:0
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.

use std::io::Write;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Echoes everything `stream` sends until it closes.
async fn handle(mut stream: TcpStream) -> std::io::Result<()> {
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
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    loop {
        let (stream, _peer) = listener.accept().await?;
        tokio::spawn(handle(stream));
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:33445".into());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(server(addr))
}
