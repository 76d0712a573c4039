//! The echo server of `examples/echo_server.rs`, on smol: a `LocalExecutor` run by
//! async-io's `block_on`, whose reactor drives every socket (`Async<TcpStream>`).
//!
//! Same protocol and same shape as `tokio_echo.rs`, line for line: an accept loop that
//! spawns one task per client, each task a loop that reads up to 4096 bytes and writes them
//! back with `write_all`, `TCP_NODELAY` on every connection. Only the runtime differs, so
//! comparing the servers measures the runtimes. A `LocalExecutor` is smol's
//! single-threaded executor, the counterpart of tokio's `current_thread` runtime.
//!
//! ```text
//! cargo run --release --bin smol_echo -- 127.0.0.1:0
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};

use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, LocalExecutor};

/// Echoes everything `stream` sends until it closes.
async fn handle(mut stream: Async<TcpStream>) -> io::Result<()> {
    stream.get_ref().set_nodelay(true)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Accepts clients forever, one task each on `executor`.
async fn server(executor: &LocalExecutor<'_>, addr: String) -> io::Result<()> {
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let listener = Async::<TcpListener>::bind(addr)?;
    println!("listening on {}", listener.get_ref().local_addr()?);
    io::stdout().flush()?;
    loop {
        let (stream, _peer) = listener.accept().await?;
        executor.spawn(handle(stream)).detach();
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:33445".into());
    let executor = LocalExecutor::new();
    smol::block_on(executor.run(server(&executor, addr)))
}
