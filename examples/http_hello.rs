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
//! `SIGINT` (Ctrl-C) or `SIGTERM` shuts it down gracefully: it stops accepting, answers
//! the requests it is reading, closes each connection between requests, and exits with
//! status 0 (after `--grace SECS`, default 5, at most). A second signal exits at once,
//! with status 130 or 143.
//!
//! Simplifications, on purpose: requests are assumed to have no body (a `Content-Length`
//! or chunked body would be misread as the next request), nothing in the request is
//! looked at, and the connection stays open until the client closes it, even if the
//! client sent `Connection: close` or speaks HTTP/1.0.

#[allow(dead_code)] // the rate limiter is for servers that log per request
#[path = "common/log.rs"]
mod log;
#[path = "common/shutdown.rs"]
mod shutdown;

use std::io::{self, Write};
use std::rc::Rc;
use std::time::Duration;

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, block_on, spawn};
use shutdown::{DEFAULT_GRACE, Stop, block_signals, parse_secs, watch_signals};

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

/// Answers the requests on `stream` until the client closes it, or the server stops
/// while the connection is between requests.
async fn handle(mut stream: AsyncTcpStream, stop: Rc<Stop>) -> io::Result<()> {
    let _live = stop.live();
    let mut stopped = stop.wait();
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

        // Between requests, the server's stop ends the connection; a request half read
        // is waited for.
        let n = if filled == 0 {
            match stopped.unless(stream.read(&mut buf)).await {
                Some(read) => read?,
                None => return Ok(()),
            }
        } else {
            stream.read(&mut buf[filled..]).await?
        };
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

/// Accepts connections until the server stops, one task each.
async fn accept_loop(listener: AsyncTcpListener, stop: Rc<Stop>) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        // A connection's error (a reset, say) ends that connection only.
        spawn(handle(stream, stop.clone()));
    }
}

/// Serves until a signal, then shuts down gracefully.
async fn server(addr: String, grace: Duration) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let stop = Rc::new(Stop::default());
    let on_signal = stop.clone();
    spawn(watch_signals(move || on_signal.fire()));
    stop.serve(grace, accept_loop(listener, stop.clone())).await
}

/// `http_hello [ADDR] [--grace SECS]`
fn main() -> io::Result<()> {
    // Before any thread exists, so that all inherit the mask.
    block_signals()?;
    let mut addr = "127.0.0.1:33445".to_owned();
    let mut grace = DEFAULT_GRACE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--grace" => grace = parse_secs("--grace", args.next())?,
            _ => addr = arg,
        }
    }
    block_on(server(addr, grace))
}
