//! A keep-alive HTTP/1.1 server that answers every request with `Hello, world!`.
//!
//! It shows request framing on a byte stream: one task per connection reads into a
//! buffer, answers each complete request (headers end at the first `\r\n\r\n`), keeps a
//! partial one for the next read, and answers pipelined requests (several in one read)
//! with one write.
//!
//! ```text
//! cargo run --release --example http_hello              # listens on 127.0.0.1:33445
//! cargo run --release --example http_hello 127.0.0.1:0  # any free port
//! curl http://127.0.0.1:33445/                           # in another terminal
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.
//!
//! Simplifications, on purpose: requests are assumed to have no body (a `Content-Length`
//! or chunked body would be misread as the next request), nothing in the request is
//! looked at, and the connection stays open until the client closes it, even if the
//! client sent `Connection: close` or speaks HTTP/1.0.

use std::io::{self, Write};

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, block_on, spawn};

/// The one response, sent for every request.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!";

/// What ends a request's headers (and, with no body, the request).
const END_OF_HEADERS: &[u8] = b"\r\n\r\n";

/// Initial size of a connection's read buffer: room for any ordinary request.
const INITIAL_BUFFER: usize = 4 * 1024;

/// Largest request we wait for. A client whose headers do not end within this many bytes
/// is disconnected, so it cannot make the server buffer without bound.
const MAX_REQUEST: usize = 64 * 1024;

/// Where the first request in `buf` ends (just past its `\r\n\r\n`), if it is complete.
fn request_end(buf: &[u8]) -> Option<usize> {
    buf.windows(END_OF_HEADERS.len())
        .position(|w| w == END_OF_HEADERS)
        .map(|i| i + END_OF_HEADERS.len())
}

/// Answers the requests on `stream` until the client closes it.
async fn handle(mut stream: AsyncTcpStream) -> io::Result<()> {
    // Responses are small and the client waits for each: send them without delay.
    stream.set_nodelay(true)?;

    // Both buffers live as long as the connection, so a request costs no allocation.
    // `buf[..filled]` holds bytes read but not yet answered: at most one partial request
    // between reads.
    let mut buf = vec![0u8; INITIAL_BUFFER];
    let mut filled = 0;
    let mut responses = Vec::with_capacity(RESPONSE.len());

    loop {
        // Full: grow up to the limit, or give up on a request that is too large.
        if filled == buf.len() {
            if buf.len() >= MAX_REQUEST {
                return Ok(());
            }
            buf.resize((buf.len() * 2).min(MAX_REQUEST), 0);
        }

        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Ok(()); // the client closed the connection
        }
        // The unanswered bytes before this read held no `\r\n\r\n`, but one may straddle
        // the boundary: start looking 3 bytes back rather than at 0.
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
            continue; // a partial request: wait for the rest
        }
        stream.write_all(&responses).await?;
        responses.clear();

        // Move the partial request that follows, if any, to the front.
        buf.copy_within(answered..filled, 0);
        filled -= answered;
    }
}

/// Accepts connections forever, one task each.
async fn server(addr: String) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    loop {
        let (stream, _peer) = listener.accept().await?;
        // A connection's error (a reset, say) ends that connection only.
        spawn(handle(stream));
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:33445".into());
    block_on(server(addr))
}
