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
    // Leaked, so that the accept task, which spawns on it, may borrow it for 'static: the
    // server runs until the process ends.
    let executor: &'static LocalExecutor<'static> = Box::leak(Box::new(LocalExecutor::new()));
    // The accept loop is a task too, and `run` waits on its handle: the future given to
    // `run` is polled whenever any task is woken, and an accept loop polled that often
    // would try `accept4` for nothing on every request (tokio's `block_on` polls its future
    // only when that future is woken).
    let accept = executor.spawn(server(executor, addr));
    smol::block_on(executor.run(accept))
}
