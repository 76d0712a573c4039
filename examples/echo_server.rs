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
//! cargo run --release --example echo_server -- 127.0.0.1:0 --grace 1     # shutdown grace
//! nc 127.0.0.1 33445                                          # in another terminal
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.
//!
//! `SIGINT` (Ctrl-C) or `SIGTERM` shuts it down gracefully: it stops accepting, echoes
//! every byte each client sent before the signal, ends each connection (its write side
//! first, so the client reads every echo and then end of file), and exits with status 0
//! once the clients have closed, or after `--grace SECS` (default 5) at most. A second
//! signal exits at once, with status 130 (`SIGINT`) or 143 (`SIGTERM`).
//!
//! With `--threads N`, N threads each run their own runtime and their own listener bound
//! with `SO_REUSEPORT` to the same address; the kernel spreads connections among them.

#[allow(dead_code)] // the rate limiter is for servers that log per request
#[path = "common/log.rs"]
mod log;
#[path = "common/shutdown.rs"]
mod shutdown;

use std::future::poll_fn;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{self, SocketAddr};
use std::os::fd::AsFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use epoll_rt::{
    AsyncTcpListener, AsyncTcpStream, Runtime, block_on, block_on_threads, spawn, task,
};

use shutdown::{DEFAULT_GRACE, Stop, block_signals, parse_secs, watch_signals};

/// Echoes everything `stream` sends until it closes, or until the server stops.
///
/// Its future lives as long as the connection, so its size is memory per connection, and
/// three choices keep it at 144 bytes (pinned by the test at the end), where without them it
/// takes 344; the figure after each is what undoing it alone adds:
/// - a plain `fn` returning an `async move` block, not an `async fn`: an `async fn` keeps
///   each argument twice in its future, as the argument and as the variable it becomes
///   (40 bytes here);
/// - the shutdown path, `finish`, is boxed: a future holds the largest of the futures it
///   awaits inline, and `finish` is larger than the read loop, though it runs once, at the
///   end (136 bytes);
/// - the buffer is a boxed slice, not a `Vec`: it never grows, so it needs no capacity
///   (8 bytes).
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` keeps its argument twice"
)]
fn handle(mut stream: AsyncTcpStream, stop: Rc<Stop>) -> impl Future<Output = io::Result<()>> {
    async move {
        let _live = stop.live();
        stream.set_nodelay(true)?;
        let mut buf = vec![0u8; 4096].into_boxed_slice();
        let mut stopped = stop.wait();
        loop {
            let Some(read) = stopped.unless(stream.read(&mut buf)).await else {
                return Box::pin(finish(stream, buf)).await;
            };
            let n = read?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
}

/// The end of a connection when the server stops: echoes what the client has already
/// sent, then closes the write side and waits for the client to close its own.
async fn finish(mut stream: AsyncTcpStream, mut buf: Box<[u8]>) -> io::Result<()> {
    // Bytes that arrived before the signal wait in the socket's receive buffer. Read them
    // without waiting for readiness, through a second descriptor of the same socket: it
    // shares the socket's file description, non-blocking flag included, so an empty
    // buffer answers `WouldBlock` at once. (If no descriptor is left, skip to the close.)
    if let Ok(fd) = stream.as_fd().try_clone_to_owned() {
        let mut now = net::TcpStream::from(fd);
        loop {
            match now.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => stream.write_all(&buf[..n]).await?,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
    }
    // A FIN after the last echo. Closing at once instead could turn into a reset (the
    // kernel resets a connection closed with unread data), which may destroy echoes the
    // client has not read yet; so wait for the client's end of file, within the grace
    // period (the server drops what is left when it ends).
    stream.shutdown(net::Shutdown::Write)?;
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

/// Accepts clients until the server stops, one task each.
async fn accept_loop(listener: AsyncTcpListener, stop: Rc<Stop>) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        // The name shows in traces: EPOLL_RT_TRACE=1 cargo run --example echo_server
        let name = format!("client {peer}");
        // Detached: nobody awaits a connection's task, so it needs no join state (64
        // bytes per connection; see `src/net/memory.rs`).
        task::Builder::new()
            .name(&name)
            .spawn_detached(handle(stream, stop.clone()));
    }
}

/// Prints the address scripts wait for, and makes sure it leaves the process at once.
fn announce(addr: SocketAddr) -> io::Result<()> {
    println!("listening on {addr}");
    io::stdout().flush()
}

/// One thread, one runtime: the program from the crate's front page, plus signals.
async fn server(addr: String, grace: Duration) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    announce(listener.local_addr()?)?;
    let stop = Rc::new(Stop::default());
    let on_signal = stop.clone();
    task::Builder::new()
        .name("signals")
        .spawn(watch_signals(move || on_signal.fire()));
    stop.serve(grace, accept_loop(listener, stop.clone())).await
}

/// A one-time event that any thread can fire and any runtime can await: the runtimes of
/// `--threads` mode learn of a signal through it, because a signal reaches only one
/// thread. It works because wakers may be woken from any thread.
#[derive(Default)]
struct Shutdown {
    /// Set once the event has happened.
    fired: AtomicBool,
    /// The tasks waiting for it.
    waiters: Mutex<Vec<Waker>>,
}

impl Shutdown {
    /// Fires the event and wakes every waiter, on whatever runtime it waits.
    fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap_or_else(|e| e.into_inner()));
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Waits for the event.
    async fn wait(&self) {
        poll_fn(|cx| {
            // Register before checking, so a `fire` between the two cannot be missed.
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            drop(waiters);
            if self.fired.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// `threads` runtimes, one per thread, each with its own `SO_REUSEPORT` listener.
fn multi_threaded(addr: String, threads: usize, grace: Duration) -> io::Result<()> {
    // Bind the first listener here to learn the real address (the one given may say port
    // 0), then hand it to thread 0; the other threads bind that address themselves.
    let first = Runtime::new()?.block_on(async {
        AsyncTcpListener::bind_reuseport(addr).map(AsyncTcpListener::into_std)
    })?;
    let addr = first.local_addr()?;
    announce(addr)?;

    // One thread waits for the signals and tells every runtime of the first.
    let shutdown = Arc::new(Shutdown::default());
    let notifier = shutdown.clone();
    std::thread::spawn(move || block_on(watch_signals(move || notifier.fire())));

    let first = Mutex::new(Some(first));
    let results = block_on_threads(threads, move |_| {
        let taken = first.lock().map(|mut slot| slot.take()).unwrap_or(None);
        let shutdown = shutdown.clone();
        async move {
            let listener = match taken {
                Some(std) => AsyncTcpListener::from_std(std)?,
                None => AsyncTcpListener::bind_reuseport(addr)?,
            };
            let stop = Rc::new(Stop::default());
            let on_signal = stop.clone();
            spawn(async move {
                shutdown.wait().await;
                on_signal.fire();
            });
            stop.serve(grace, accept_loop(listener, stop.clone())).await
        }
    })?;
    results.into_iter().collect()
}

/// `echo_server [ADDR] [--threads N] [--grace SECS]`
fn main() -> io::Result<()> {
    // First thing, before any thread exists: block SIGINT and SIGTERM, so that every
    // thread started later inherits the mask and they reach our signalfd instead of
    // killing us.
    block_signals()?;

    let mut addr = "127.0.0.1:33445".to_owned();
    let mut threads = 1;
    let mut grace = DEFAULT_GRACE;
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
        } else if arg == "--grace" {
            grace = parse_secs("--grace", args.next())?;
        } else {
            addr = arg;
        }
    }
    if threads == 1 {
        block_on(server(addr, grace))
    } else {
        multi_threaded(addr, threads, grace)
    }
}

#[cfg(test)]
mod tests {
    use super::handle;

    /// The size of the future `f` would return, without calling it.
    fn future_size<A, B, F: Future>(_: fn(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// The handler's future is what each connection keeps (see `handle`).
    #[test]
    fn a_connection_s_future_takes_144_bytes() {
        let size = future_size(handle);
        assert!(size <= 144, "handle's future: {size} bytes");
        println!("SIZE {size}");
    }
}
