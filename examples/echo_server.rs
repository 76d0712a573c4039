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
//! nc 127.0.0.1 33445                                          # in another terminal
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.
//!
//! Ctrl-C shuts it down gracefully: it stops accepting, lets live connections finish for up
//! to five seconds, then exits with status 0.
//!
//! With `--threads N`, N threads each run their own runtime and their own listener bound
//! with `SO_REUSEPORT` to the same address; the kernel spreads connections among them.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use epoll_rt::time::timeout;
use epoll_rt::{
    AsyncTcpListener, AsyncTcpStream, JoinHandle, Runtime, block_on, block_on_threads, signal, task,
};

/// How long live connections may take to finish after Ctrl-C.
const GRACE: Duration = Duration::from_secs(5);

/// Echoes everything `stream` sends until it closes.
async fn handle(mut stream: AsyncTcpStream) -> io::Result<()> {
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

/// The connection tasks still running, so that shutdown can wait for them.
type Clients = Rc<RefCell<Vec<JoinHandle<io::Result<()>>>>>;

/// Accepts clients forever, one task each.
async fn accept_loop(listener: AsyncTcpListener, clients: Clients) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let mut clients = clients.borrow_mut();
        clients.retain(|client| !client.is_finished()); // keep the list short
        // The name shows in traces: EPOLL_RT_TRACE=1 cargo run --example echo_server
        let name = format!("client {peer}");
        clients.push(task::Builder::new().name(&name).spawn(handle(stream)));
    }
}

/// Serves `listener` until `shutdown` completes, then shuts down gracefully.
async fn serve(
    listener: AsyncTcpListener,
    shutdown: impl Future<Output = io::Result<()>>,
) -> io::Result<()> {
    let clients = Clients::default();
    let accepting = task::Builder::new()
        .name("accept loop")
        .spawn(accept_loop(listener, clients.clone()));
    shutdown.await?;

    // 1. Stop accepting: the aborted task drops the listener, so new connects are refused.
    accepting.abort();
    if let Ok(Err(e)) = accepting.await {
        return Err(e); // the accept loop had failed before the signal
    }
    // 2. Let live connections finish, for at most GRACE.
    let live = std::mem::take(&mut *clients.borrow_mut());
    let finished = timeout(GRACE, async {
        for client in live {
            let _ = client.await;
        }
    })
    .await;
    if finished.is_err() {
        eprintln!("grace period over: closing the remaining connections");
    }
    // 3. Returning ends block_on, which drops what is left and closes its sockets.
    Ok(())
}

/// Prints the address scripts wait for, and makes sure it leaves the process at once.
fn announce(addr: SocketAddr) -> io::Result<()> {
    println!("listening on {addr}");
    io::stdout().flush()
}

/// One thread, one runtime: the program from the crate's front page, plus Ctrl-C.
async fn server(addr: String) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    announce(listener.local_addr()?)?;
    serve(listener, signal::ctrl_c()).await
}

/// A one-time event that any thread can fire and any runtime can await: the runtimes of
/// `--threads` mode learn of Ctrl-C through it, because a signal reaches only one of them.
/// It works because wakers may be woken from any thread.
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
    async fn wait(&self) -> io::Result<()> {
        poll_fn(|cx| {
            // Register before checking, so a `fire` between the two cannot be missed.
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            drop(waiters);
            if self.fired.load(Ordering::Acquire) {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// `threads` runtimes, one per thread, each with its own `SO_REUSEPORT` listener.
fn multi_threaded(addr: String, threads: usize) -> io::Result<()> {
    // Bind the first listener here to learn the real address (the one given may say port
    // 0), then hand it to thread 0; the other threads bind that address themselves.
    let first = Runtime::new()?.block_on(async {
        AsyncTcpListener::bind_reuseport(addr).map(AsyncTcpListener::into_std)
    })?;
    let addr = first.local_addr()?;
    announce(addr)?;

    // One thread waits for Ctrl-C and tells every runtime.
    let shutdown = Arc::new(Shutdown::default());
    let notifier = shutdown.clone();
    std::thread::spawn(move || {
        let _ = block_on(signal::ctrl_c());
        notifier.fire();
    });

    let first = Mutex::new(Some(first));
    let results = block_on_threads(threads, move |_| {
        let taken = first.lock().map(|mut slot| slot.take()).unwrap_or(None);
        let shutdown = shutdown.clone();
        async move {
            let listener = match taken {
                Some(std) => AsyncTcpListener::from_std(std)?,
                None => AsyncTcpListener::bind_reuseport(addr)?,
            };
            serve(listener, shutdown.wait()).await
        }
    })?;
    results.into_iter().collect()
}

/// `echo_server [ADDR] [--threads N]`
fn main() -> io::Result<()> {
    // First thing, before any thread exists: block SIGINT, so that every thread started
    // later inherits the mask and Ctrl-C reaches our signalfd instead of killing us.
    signal::block(&[signal::SIGINT])?;

    let mut addr = "127.0.0.1:33445".to_owned();
    let mut threads = 1;
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
        } else {
            addr = arg;
        }
    }
    if threads == 1 {
        block_on(server(addr))
    } else {
        multi_threaded(addr, threads)
    }
}
