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
//! Timeouts, as nginx has them: a connection that has not sent a complete request header
//! within `--header-timeout SECS` (default 60) of the request's first byte, or of the
//! connection's start, is closed; so is a kept-alive connection idle for
//! `--idle-timeout SECS` (default 75); 0 turns either off. They cost no system call per
//! request (see `common/idle.rs`). Beyond `--max-connections N` (default: 10,000, or the
//! descriptor limit minus 32 if lower), a new client gets `503 Service Unavailable` and
//! is closed.
//!
//! Simplifications, on purpose: requests are assumed to have no body (a `Content-Length`
//! or chunked body would be misread as the next request), nothing in the request is
//! looked at, and the connection stays open until the client closes it (or a timeout),
//! even if the client sent `Connection: close` or speaks HTTP/1.0.

#[path = "common/idle.rs"]
mod idle;
#[allow(dead_code)] // the rate limiter is for servers that log per request
#[path = "common/log.rs"]
mod log;
#[path = "common/shutdown.rs"]
mod shutdown;

use std::io::{self, Write};
use std::rc::Rc;
use std::time::Duration;

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, block_on, spawn_detached};
use idle::{Clock, Watchdog, default_max_clients};
use shutdown::{DEFAULT_GRACE, Live, Stop, block_signals, parse_secs, watch_signals};

/// The one response, sent for every request.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!";

/// What ends a request's headers (and, with no body, the request).
const END_OF_HEADERS: &[u8] = b"\r\n\r\n";

/// Initial size of a connection's read buffer: room for any ordinary request.
const INITIAL_BUFFER: usize = 4 * 1024;

/// How long a client may take to send a request's header, unless `--header-timeout`
/// says otherwise (nginx's `client_header_timeout` is 60 s too).
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a kept-alive connection may wait for its next request, unless
/// `--idle-timeout` says otherwise (nginx's `keepalive_timeout` is 75 s too).
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// Largest request we wait for. A client whose headers do not end within this many bytes
/// is disconnected, so it cannot make the server buffer without bound.
const MAX_REQUEST: usize = 64 * 1024;

/// Where the first request in `buf` ends (just past its `\r\n\r\n`), if it is complete.
///
/// Rather than compare four bytes at every position, it looks at the last byte of each
/// candidate, `buf[end - 1]`, and skips as far as that byte allows (Horspool's search):
/// a `\r\n\r\n` that covered a byte other than `\r` or `\n` cannot exist, so after most
/// bytes the next candidate ends four bytes later; after a `\r`, one; after a `\n` that
/// does not end a terminator, two (it could be the terminator's first `\n`).
fn request_end(buf: &[u8]) -> Option<usize> {
    let mut end = END_OF_HEADERS.len();
    while end <= buf.len() {
        end += match buf[end - 1] {
            b'\n' if buf[..end].ends_with(END_OF_HEADERS) => return Some(end),
            b'\n' => 2,
            b'\r' => 1,
            _ => 4,
        };
    }
    None
}

/// Answers the requests on `stream` until the client closes it, or the server stops
/// while the connection is between requests.
async fn handle(
    mut stream: AsyncTcpStream,
    stop: Rc<Stop>,
    _live: Live,
    clock: Clock,
    limits: Limits,
) -> io::Result<()> {
    let mut stopped = stop.wait();
    // The first request's header must arrive within the header timeout.
    let mut watchdog = Watchdog::new(clock, limits.header);
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
        // is waited for. A timeout ends it either way.
        let read = watchdog.unless(stream.read(&mut buf[filled..]));
        let n = if filled == 0 {
            match stopped.unless(read).await {
                Some(Some(read)) => read?,
                _ => return Ok(()),
            }
        } else {
            match read.await {
                Some(read) => read?,
                None => return Ok(()),
            }
        };
        if n == 0 {
            return Ok(()); // the client closed the connection
        }
        if filled == 0 {
            watchdog.restart(limits.header); // a new request: its header's time starts
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
        // Idle until the next request, or already into it.
        watchdog.restart(if filled == 0 {
            limits.idle
        } else {
            limits.header
        });
    }
}

/// How long a connection may take, from `--header-timeout` and `--idle-timeout`.
#[derive(Clone, Copy)]
struct Limits {
    /// To send a request's header, from its first byte (or from the connection's start);
    /// `None`: for ever.
    header: Option<Duration>,
    /// To start the next request, once the last one was answered; `None`: for ever.
    idle: Option<Duration>,
}

/// The command line.
struct Config {
    /// Where to listen.
    addr: String,
    /// `--grace SECS`: how long connections may finish after a signal.
    grace: Duration,
    /// The timeouts.
    limits: Limits,
    /// `--max-connections N`: the most connections at once.
    max_connections: usize,
}

/// What a client over the connection limit gets, before the connection closes.
const UNAVAILABLE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Accepts connections until the server stops, one task each. A client over the
/// connection limit gets a `503` and is closed at once, rather than waiting in the
/// kernel's queue for a descriptor.
async fn accept_loop(
    listener: AsyncTcpListener,
    stop: Rc<Stop>,
    config: &Config,
) -> io::Result<()> {
    let clock = Clock::start();
    loop {
        let (mut stream, _peer) = listener.accept().await?;
        if stop.live_count() >= config.max_connections {
            spawn_detached(async move { stream.write_all(UNAVAILABLE).await });
            continue;
        }
        // A connection's error (a reset, say) ends that connection only.
        // Counted from here, not from the task's first poll: a burst of accepts comes
        // before any of their tasks runs.
        let live = stop.live();
        spawn_detached(handle(
            stream,
            stop.clone(),
            live,
            clock.clone(),
            config.limits,
        ));
    }
}

/// Serves until a signal, then shuts down gracefully.
async fn server(config: Config) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(&config.addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let stop = Rc::new(Stop::default());
    let on_signal = stop.clone();
    spawn_detached(watch_signals(move || on_signal.fire()));
    let accepting = accept_loop(listener, stop.clone(), &config);
    stop.serve(config.grace, accepting).await
}

/// A timeout option's value: seconds, 0 for none.
fn timeout_option(option: &str, value: Option<String>) -> io::Result<Option<Duration>> {
    Ok(Some(parse_secs(option, value)?).filter(|secs| !secs.is_zero()))
}

/// `http_hello [ADDR] [--grace SECS] [--header-timeout SECS] [--idle-timeout SECS]
/// [--max-connections N]`
fn main() -> io::Result<()> {
    // Before any thread exists, so that all inherit the mask.
    block_signals()?;
    let mut config = Config {
        addr: "127.0.0.1:33445".to_owned(),
        grace: DEFAULT_GRACE,
        limits: Limits {
            header: Some(DEFAULT_HEADER_TIMEOUT),
            idle: Some(DEFAULT_IDLE_TIMEOUT),
        },
        max_connections: default_max_clients(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--grace" => config.grace = parse_secs("--grace", args.next())?,
            "--header-timeout" => {
                config.limits.header = timeout_option("--header-timeout", args.next())?;
            }
            "--idle-timeout" => {
                config.limits.idle = timeout_option("--idle-timeout", args.next())?;
            }
            "--max-connections" => {
                config.max_connections = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        let message = "--max-connections needs a positive number";
                        io::Error::new(io::ErrorKind::InvalidInput, message)
                    })?;
            }
            _ => config.addr = arg,
        }
    }
    block_on(server(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `request_end` finds what the plain search of every position finds, in every string
    /// of up to 9 bytes made of `\r`, `\n` and one other byte: all the ways a terminator
    /// can start, end, overlap a near miss (`\r\n\r\r\n\r\n`, `\n\r\n\r\n`) or be cut off.
    #[test]
    fn request_end_finds_the_first_terminator() {
        let plain = |buf: &[u8]| {
            buf.windows(END_OF_HEADERS.len())
                .position(|w| w == END_OF_HEADERS)
                .map(|i| i + END_OF_HEADERS.len())
        };
        let mut checked = 0;
        for len in 0..=9u32 {
            for n in 0..3usize.pow(len) {
                let buf: Vec<u8> = (0..len).map(|i| b"\r\nx"[n / 3usize.pow(i) % 3]).collect();
                assert_eq!(request_end(&buf), plain(&buf), "in {buf:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, (0..=9).map(|len| 3usize.pow(len)).sum::<usize>());
        let request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /";
        assert_eq!(request_end(request), Some(request.len() - 5));
    }
}
