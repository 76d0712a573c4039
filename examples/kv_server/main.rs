//! A Redis-protocol key-value server: the classic teaching server, speaking RESP2 well
//! enough for the real `redis-cli` and `redis-benchmark`.
//!
//! It shows a request-response protocol on a byte stream, done the way fast servers do
//! it: each connection reads into a buffer, parses every complete request in it without
//! copying (pipelined requests arrive many to a read), runs them, and sends all their
//! replies with one write. And it shows timers doing real work: keys set with `EX` or
//! `PX` expire, checked on access and swept by a periodic task on `epoll_rt::time`.
//!
//! ```text
//! cargo run --release --example kv_server              # listens on 127.0.0.1:33445
//! cargo run --release --example kv_server 127.0.0.1:0  # any free port
//! redis-cli -p 33445 SET greeting hello EX 60          # in another terminal
//! redis-cli -p 33445 GET greeting
//! redis-benchmark -p 33445 -t ping,set,get -q
//! printf 'PING\r\n' | nc -q1 127.0.0.1 33445            # inline commands work too
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port. Commands it
//! does not know are answered with Redis's error and logged to stderr (at most once a
//! second, through a queue that never makes a request wait: see `common/log.rs`), which
//! is how one finds out what a client expects.
//!
//! Limits, as in Redis: `--timeout SECS` closes a client silent for that long (0, the
//! default: never), and `--maxclients N` caps the connections (default: 10,000, or the
//! descriptor limit minus 32 if lower); a client over the cap gets
//! `-ERR max number of clients reached` and is closed.
//!
//! `--spin USECS` trades CPU time for wake-ups: while clients keep it busy, the runtime
//! looks for their next requests for up to that long before it sleeps (see
//! `epoll_rt::runtime::Builder::spin_before_sleep`), so that a client need not wake it.
//! 0, the default, sleeps at once, as redis-server does; `bench/redis.sh` measures both.
//! Use it only with the clients on other CPUs: one sharing the server's CPU is slowed
//! down by it.
//!
//! `SIGINT` (Ctrl-C) or `SIGTERM` shuts it down gracefully, as redis-server does: it stops
//! accepting, lets each connection finish the request it is reading, closes it, and exits
//! with status 0 (after `--grace SECS`, default 5, at most). A second signal exits at once,
//! with status 130 or 143.
//!
//! Commands: `PING`, `ECHO`, `SET` (with `EX`, `PX`, `NX`, `XX`, `GET`, `KEEPTTL`),
//! `GET`, `DEL`, `EXISTS`, `INCR`, `DECR`, `INCRBY`, `TTL`, `PTTL`, `DBSIZE`, `QUIT`, and
//! for the clients' start-up, `CONFIG GET` and `COMMAND DOCS`. Only strings: no lists,
//! hashes, persistence, `SELECT` or `AUTH`.
//!
//! The files:
//!
//! | file | what |
//! |---|---|
//! | `main.rs` | the connections (read, parse, run, write) and the expiry sweep |
//! | `resp.rs` | the protocol: a resumable, copy-free request parser, reply encoders |
//! | `commands.rs` | each command's meaning and replies |
//! | `db.rs` | the key space, with lazy and active expiry |
//! | `key.rs` | a key: short ones inline, long ones shared by the map and the expiry list |
//! | `value.rs` | a stored value: short ones inline, with no allocation of their own |
//! | `short.rs` | the inline storage of short keys and values |
//! | `hash.rs` | the key space's hash function: fast, keyed with random seeds |
//!
//! Like the chat server, all connections share one key space as `Rc<RefCell<Db>>`: the
//! runtime is single-threaded, so no lock is needed, only the rule that no borrow is held
//! across an `.await`. That makes each batch of requests atomic, as in Redis: no other
//! connection runs between two requests of a batch.

mod commands;
mod db;
mod hash;
#[path = "../common/idle.rs"]
mod idle;
mod key;
#[path = "../common/log.rs"]
mod log;
mod resp;
mod short;
#[path = "../common/shutdown.rs"]
mod shutdown;
mod value;

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use epoll_rt::time::sleep;
use epoll_rt::{
    AsyncTcpListener, AsyncTcpStream, Runtime, spawn_blocking, spawn_detached, yield_now,
};
use idle::{Clock, Watchdog, default_max_clients, unless_idle};
use shutdown::{DEFAULT_GRACE, Live, Stop, block_signals, parse_secs, watch_signals};

use commands::After;
use db::Db;
use resp::{Parser, push_error};

/// Initial size of a connection's read buffer, and the size it goes back to after a
/// large request.
const INITIAL_BUFFER: usize = 16 * 1024;

/// The least free space worth a read: with less, the buffer is compacted or grown first.
const MIN_READ: usize = 4 * 1024;

/// Largest request a connection may send: Redis's `client-query-buffer-limit`, 1 GiB.
const MAX_REQUEST: usize = 1024 * 1024 * 1024;

/// Below this size a buffer that needs room doubles; above it, it grows by this much (as
/// Redis's query buffer does), so that a large buffer is not doubled for a few bytes.
const GROW_STEP: usize = 1024 * 1024;

/// Reply buffers grown larger than this (by a large `GET`) are freed after the write.
const MAX_KEPT_OUTPUT: usize = 1024 * 1024;

/// How often the expiry sweep runs (Redis: 10 times a second too).
const SWEEP_PERIOD: Duration = Duration::from_millis(100);

/// Keys with a deadline examined per batch of the sweep, as in Redis.
const SWEEP_BATCH: usize = 20;

/// How long the sweep runs batches before it yields to the connections. A yield lets the
/// runtime look at epoll before the sweep runs again (see `epoll_rt::yield_now`), so a
/// request that arrives during a purge waits for one slice, plus the batch that ends it.
/// (When a yield only sent the sweep to the back of the run queue, the runtime looked at
/// epoll once every 64 slices; with 1 ms slices, `PING` waited 25 ms: the whole cycle.)
/// The slices add up to the cycle's budget whatever their length, since only the sweep's
/// own time counts, so a short one costs the purge only its yield, a zero-timeout
/// `epoll_wait`, against the dozens of keys a slice removes.
const SWEEP_SLICE: Duration = Duration::from_micros(25);

/// Longest the sweep may run in one cycle: a quarter of the thread, as Redis allows its
/// own (25 ms of every 100 ms), so that a mass expiry is purged within seconds.
const SWEEP_TIME: Duration = Duration::from_millis(25);

/// Serves one connection until the client closes it, sends `QUIT`, or breaks the
/// protocol, or the server stops while the connection is between requests.
async fn serve(
    mut stream: AsyncTcpStream,
    db: Rc<RefCell<Db>>,
    stop: Rc<Stop>,
    _live: Live,
    idle: Option<(Clock, Duration)>,
) -> io::Result<()> {
    let mut stopped = stop.wait();
    // With `--timeout`, a client silent for that long is closed (Redis's `timeout`).
    let mut watchdog = idle.map(|(clock, limit)| (Watchdog::new(clock, Some(limit)), limit));
    stream.set_nodelay(true)?;

    // `buf[start..end]` holds bytes read and not yet handled: at most one partial request,
    // between reads. `out` collects the replies to one read's requests.
    let mut buf = vec![0u8; INITIAL_BUFFER];
    let (mut start, mut end) = (0, 0);
    let mut parser = Parser::new();
    let mut out = Vec::with_capacity(INITIAL_BUFFER);

    loop {
        // 1. Where to read: into a large argument's own buffer while one is being read
        // (see `resp::BIG_ARG`), or into the connection's buffer, after making room in
        // it: the partial request moves to the front, or the buffer grows. A bulk string
        // whose length is known gets exactly the room it needs.
        let into_big = parser.big_room().is_some();
        if !into_big {
            let wanted = parser.wanted();
            if (buf.len() - end < MIN_READ || start + wanted > buf.len()) && start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            let needed = (start + wanted).max(end + MIN_READ);
            if buf.len() < needed && buf.len() < MAX_REQUEST {
                let step = if wanted > 0 {
                    0
                } else {
                    buf.len().min(GROW_STEP)
                };
                let size = needed.max(buf.len() + step).min(MAX_REQUEST);
                // A new zeroed allocation rather than `resize`: a large one comes straight
                // from the kernel as untouched zero pages, which cost memory only as the
                // data arrives, as in Redis; `resize` would write every zero at once.
                let mut larger = vec![0u8; size];
                larger[..end].copy_from_slice(&buf[..end]);
                buf = larger;
            }
            if end == buf.len() {
                let message =
                    format!("ERR Protocol error: request larger than {MAX_REQUEST} bytes");
                push_error(&mut out, &message);
                return stream.write_all(&out).await;
            }
        }
        let room = match parser.big_room() {
            Some(room) => room,
            None => &mut buf[end..],
        };

        // 2. Read. Zero bytes: the client closed the connection. Between requests, the
        // server's stop ends the connection; a request half read is waited for.
        let watch = watchdog.as_mut().map(|(watchdog, _)| watchdog);
        let read = unless_idle(watch, stream.read(room));
        let n = if start == end {
            match stopped.unless(read).await {
                Some(Some(read)) => read?,
                _ => return Ok(()), // the server stops, or the client timed out
            }
        } else {
            match read.await {
                Some(read) => read?,
                None => return Ok(()), // timed out
            }
        };
        if n == 0 {
            return Ok(());
        }
        if let Some((watchdog, limit)) = &mut watchdog {
            watchdog.restart(Some(*limit));
        }
        if into_big {
            parser.big_filled(n);
            if parser.big_room().is_some() {
                continue; // more of the large argument to come
            }
        } else {
            end += n;
        }

        // 3. Run every complete request. The key space is borrowed for the whole batch
        // and no `.await` happens meanwhile, so no other task can find it borrowed.
        let mut after = After::Continue;
        {
            let mut db = db.borrow_mut();
            while after == After::Continue {
                match parser.parse(&buf[start..end]) {
                    Ok(Some(len)) => {
                        let request = parser.request(&buf[start..]);
                        // Empty requests (blank inline lines) are skipped, as in Redis.
                        if request.len() > 0 {
                            after = commands::execute(&mut db, request, &mut out);
                        }
                        start += len;
                    }
                    Ok(None) => {
                        // A partial request: wait for the rest. If it has a large
                        // argument that the parser has moved to a buffer of its own,
                        // the bytes of it that were here are forgotten.
                        if let Some(at) = parser.big_start() {
                            end = start + at;
                        }
                        break;
                    }
                    Err(e) => {
                        // Where the next request would start is unknowable: reply, close.
                        push_error(&mut out, &format!("ERR Protocol error: {e}"));
                        after = After::Close;
                    }
                }
            }
        }

        // 4. One write for all the replies.
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
            if out.capacity() > MAX_KEPT_OUTPUT {
                out = Vec::with_capacity(INITIAL_BUFFER);
            }
        }
        if after == After::Close {
            return Ok(());
        }

        // 5. Everything handled (the usual case): start again at the front, and give back
        // the memory a large request made the buffer grow to.
        if start == end {
            (start, end) = (0, 0);
            if buf.len() > INITIAL_BUFFER {
                buf = vec![0u8; INITIAL_BUFFER];
            }
        }
    }
}

/// Removes expired keys that nobody reads, so they do not stay in memory for good.
///
/// Every [`SWEEP_PERIOD`] it examines batches of keys with a deadline (see `Db::sweep`),
/// as long as more than a quarter of a batch had expired (so there are probably many
/// more) and for at most [`SWEEP_TIME`] of its own work, yielding to the connections
/// every [`SWEEP_SLICE`]: the policy of Redis's active expiry. Then it gives back the
/// memory of a key space that shrank, freed on another thread. A cycle that ran out of
/// time with most samples still expired is behind (a mass expiry): the next one comes
/// after [`SWEEP_TIME`] rather than the full period, for half of the thread until it has
/// caught up, as Redis adds its "fast" cycles between events for the same reason.
async fn sweep_expired(db: Rc<RefCell<Db>>) {
    let mut pause = SWEEP_PERIOD;
    loop {
        sleep(pause).await;
        // The budget counts the sweep's own time only: between slices, a connection may
        // run a large pipelined batch, and counting that too left the sweep a few
        // samples per cycle while clients were busy (a mass expiry during a flood of SETs
        // was never caught up).
        let mut spent = Duration::ZERO;
        let mut behind = false;
        'cycle: loop {
            // One slice: batches for up to SWEEP_SLICE, then the connections' turn.
            let started = Instant::now();
            loop {
                let (examined, removed) = db.borrow_mut().sweep(Instant::now(), SWEEP_BATCH);
                if removed * 4 <= examined {
                    break 'cycle;
                }
                if started.elapsed() >= SWEEP_SLICE {
                    break;
                }
            }
            spent += started.elapsed();
            if spent >= SWEEP_TIME {
                behind = true;
                break;
            }
            yield_now().await;
        }
        // Freeing the tables of a key space that shrank, on a thread of the blocking pool
        // (see `db::Garbage`). Its result is nothing: the handle is dropped.
        let garbage = db.borrow_mut().shrink();
        if let Some(garbage) = garbage {
            drop(spawn_blocking(move || drop(garbage)));
        }
        pause = if behind { SWEEP_TIME } else { SWEEP_PERIOD };
    }
}

/// The command line.
struct Config {
    /// Where to listen.
    addr: String,
    /// `--grace SECS`: how long connections may finish after a signal.
    grace: Duration,
    /// `--timeout SECS`: how long a client may stay silent; `None` (0): for ever.
    timeout: Option<Duration>,
    /// `--maxclients N`: the most connections at once.
    max_clients: usize,
    /// `--spin USECS`: how long the runtime looks for more requests before it sleeps.
    spin: Duration,
}

/// Accepts connections until the server stops, one task each. A client over
/// `--maxclients` is told so and closed, as Redis does.
async fn accept_loop(
    listener: AsyncTcpListener,
    db: Rc<RefCell<Db>>,
    stop: Rc<Stop>,
    config: &Config,
) -> io::Result<()> {
    let idle = config.timeout.map(|limit| (Clock::start(), limit));
    loop {
        let (stream, _peer) = listener.accept().await?;
        if stop.live_count() >= config.max_clients {
            spawn_detached(refuse(stream));
            continue;
        }
        // A connection's error (a reset, say) ends that connection only.
        // Counted from here, not from the task's first poll: a burst of accepts comes
        // before any of their tasks runs.
        let live = stop.live();
        spawn_detached(serve(stream, db.clone(), stop.clone(), live, idle.clone()));
    }
}

/// Redis's answer to a client over the limit; then the connection closes.
async fn refuse(mut stream: AsyncTcpStream) -> io::Result<()> {
    stream
        .write_all(b"-ERR max number of clients reached\r\n")
        .await
}

/// Serves until a signal, then shuts down gracefully.
async fn server(config: Config) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(&config.addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;

    let db = Rc::new(RefCell::new(Db::default()));
    spawn_detached(sweep_expired(db.clone()));
    let stop = Rc::new(Stop::default());
    let on_signal = stop.clone();
    spawn_detached(watch_signals(move || on_signal.fire()));
    let accepting = accept_loop(listener, db, stop.clone(), &config);
    stop.serve(config.grace, accepting).await
}

/// `kv_server [ADDR] [--grace SECS] [--timeout SECS] [--maxclients N] [--spin USECS]`
fn main() -> io::Result<()> {
    // Before any thread exists (the logger's included), so that all inherit the mask.
    block_signals()?;
    let mut config = Config {
        addr: "127.0.0.1:33445".to_owned(),
        grace: DEFAULT_GRACE,
        timeout: None,
        max_clients: default_max_clients(),
        spin: Duration::ZERO,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--grace" => config.grace = parse_secs("--grace", args.next())?,
            "--timeout" => {
                let secs = parse_secs("--timeout", args.next())?;
                config.timeout = Some(secs).filter(|secs| !secs.is_zero());
            }
            "--maxclients" => {
                config.max_clients = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        let message = "--maxclients needs a positive number";
                        io::Error::new(io::ErrorKind::InvalidInput, message)
                    })?;
            }
            "--spin" => {
                config.spin = args
                    .next()
                    .and_then(|usecs| usecs.parse().ok())
                    .map(Duration::from_micros)
                    .ok_or_else(|| {
                        let message = "--spin needs a number of microseconds";
                        io::Error::new(io::ErrorKind::InvalidInput, message)
                    })?;
            }
            _ => config.addr = arg,
        }
    }
    Runtime::builder()
        .spin_before_sleep(config.spin)
        .build()?
        .block_on(server(config))
}
