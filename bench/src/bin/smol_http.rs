//! The keep-alive HTTP/1.1 server of `examples/http_hello.rs`, on smol: a `LocalExecutor`
//! run by async-io's `block_on`, whose reactor drives every socket (`Async<TcpStream>`).
//!
//! Same protocol and same framing code as `tokio_http.rs`: one task per connection reads
//! into a buffer, answers every complete request (headers end at the first `\r\n\r\n`)
//! with `Hello, world!`, keeps a partial request for the next read, and answers pipelined
//! requests with one write. Only the runtime differs, so comparing the servers measures
//! the runtimes.
//!
//! ```text
//! cargo run --release --bin smol_http -- 127.0.0.1:0
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};

use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, LocalExecutor};

/// The one response, sent for every request.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!";

/// What ends a request's headers (and, with no body, the request).
const END_OF_HEADERS: &[u8] = b"\r\n\r\n";

/// Initial size of a connection's read buffer.
const INITIAL_BUFFER: usize = 4 * 1024;

/// Largest request waited for; a longer one closes the connection.
const MAX_REQUEST: usize = 64 * 1024;

/// Where the first request in `buf` ends (just past its `\r\n\r\n`), if it is complete.
fn request_end(buf: &[u8]) -> Option<usize> {
    buf.windows(END_OF_HEADERS.len())
        .position(|w| w == END_OF_HEADERS)
        .map(|i| i + END_OF_HEADERS.len())
}

/// Answers the requests on `stream` until the client closes it.
async fn handle(mut stream: Async<TcpStream>) -> io::Result<()> {
    stream.get_ref().set_nodelay(true)?;

    // `buf[..filled]` holds bytes read but not yet answered.
    let mut buf = vec![0u8; INITIAL_BUFFER];
    let mut filled = 0;
    let mut responses = Vec::with_capacity(RESPONSE.len());

    loop {
        if filled == buf.len() {
            if buf.len() >= MAX_REQUEST {
                return Ok(());
            }
            buf.resize((buf.len() * 2).min(MAX_REQUEST), 0);
        }

        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        // A `\r\n\r\n` may straddle the previous read's end: look 3 bytes back.
        let mut scan = filled.saturating_sub(END_OF_HEADERS.len() - 1);
        filled += n;

        // Answer every complete request, pipelined ones included.
        let mut answered = 0;
        while let Some(end) = request_end(&buf[scan..filled]) {
            responses.extend_from_slice(RESPONSE);
            answered = scan + end;
            scan = answered;
        }
        if answered == 0 {
            continue;
        }
        stream.write_all(&responses).await?;
        responses.clear();

        // Move the partial request that follows, if any, to the front.
        buf.copy_within(answered..filled, 0);
        filled -= answered;
    }
}

/// Accepts connections forever, one task each on `executor`.
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
