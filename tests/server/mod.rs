//! An echo server on a thread of its own, for the tests that put one under load or attack
//! it: it counts what happens to every connection, reports the CPU time of its thread, and
//! stops on request.
//!
//! The handler is the echo loop of `examples/echo_server.rs`, and the server is what that example
//! runs without `--threads`: one runtime on one thread, one task per connection.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::thread::JoinHandleExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};

/// Echoes everything `stream` sends until it closes: the echo loop of
/// `examples/echo_server.rs`, written as it is there, a `fn` returning an `async move`
/// block (an `async fn` would keep the stream twice in its future).
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` keeps its argument twice"
)]
pub fn echo(mut stream: AsyncTcpStream) -> impl Future<Output = io::Result<()>> {
    async move {
        stream.set_nodelay(true)?;
        let mut buf = vec![0u8; 4096].into_boxed_slice();
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
}

/// What the server counts, readable from any thread.
#[derive(Default, Debug)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicUsize,
    /// Handlers that ended at end of file (the client closed cleanly).
    pub closed: AtomicUsize,
    /// Handlers that ended with an error (a reset, mostly).
    pub failed: AtomicUsize,
    /// Handlers running now.
    pub live: AtomicUsize,
    /// The most handlers that ever ran at once.
    pub peak: AtomicUsize,
}

impl Stats {
    /// Handlers that have ended, either way.
    pub fn ended(&self) -> usize {
        self.closed.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }
}

/// A running echo server; see the module docs.
pub struct EchoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: Arc<Stats>,
    /// The kernel's id of the server thread, for signals aimed at it.
    pub tid: libc::pid_t,
    /// Tells the accept loop to return at the next connection.
    stop: Arc<AtomicBool>,
    /// The server thread; `None` once joined.
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl EchoServer {
    /// Starts a server on `127.0.0.1`, on a port of its own.
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = {
            let (stop, stats) = (stop.clone(), stats.clone());
            thread::Builder::new()
                .name("echo-server".into())
                .spawn(move || serve(stop, stats, ready_tx))
                .expect("spawn the server thread")
        };
        let (addr, tid) = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the server did not start");
        Self {
            addr,
            stats,
            tid,
            stop,
            thread: Some(thread),
        }
    }

    /// CPU time the server thread has used so far, from its CPU-time clock.
    pub fn cpu_time(&self) -> Duration {
        let thread = self.thread.as_ref().expect("the server is running");
        let mut clock: libc::clockid_t = 0;
        // SAFETY: the thread has not been joined (we hold its handle), so its pthread_t is
        // valid; `clock` is ours to write.
        let rc = unsafe { libc::pthread_getcpuclockid(thread.as_pthread_t(), &mut clock) };
        assert_eq!(rc, 0, "pthread_getcpuclockid failed");
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a timespec we own, for clock_gettime to fill in.
        let rc = unsafe { libc::clock_gettime(clock, &mut now) };
        assert_eq!(rc, 0, "clock_gettime failed");
        Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
    }

    /// CPU time the server uses over `wall` of wall time while nothing is asked of it.
    pub fn idle_cpu(&self, wall: Duration) -> (Duration, Duration) {
        let before = self.cpu_time();
        let start = Instant::now();
        thread::sleep(wall);
        (self.cpu_time() - before, start.elapsed())
    }

    /// Waits until every one of `expected` accepted connections has ended, and returns
    /// whether they did within `limit`.
    pub fn wait_for_handlers(&self, expected: usize, limit: Duration) -> bool {
        wait_until(limit, || {
            self.stats.accepted.load(Ordering::SeqCst) == expected && self.stats.ended() == expected
        })
    }

    /// Checks that a new client is still served: `message` comes back.
    pub fn assert_serves(&self, message: &[u8]) -> io::Result<()> {
        let mut client = TcpStream::connect(self.addr)?;
        client.set_read_timeout(Some(Duration::from_secs(10)))?;
        client.write_all(message)?;
        let mut echoed = vec![0u8; message.len()];
        client.read_exact(&mut echoed)?;
        assert_eq!(echoed, message, "a late client got a wrong echo");
        Ok(())
    }

    /// Stops the server (the accept loop returns at the next connection, which this makes)
    /// and returns how its thread ended. The connection that stops it is not counted.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect(self.addr)?);
        let thread = self.thread.take().expect("stopped once");
        thread.join().expect("the server thread panicked")
    }
}

impl Drop for EchoServer {
    /// A test that failed midway still stops its server, without waiting for it: a server
    /// that hangs is the watchdog's business.
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(self.addr);
        }
    }
}

/// The server thread: binds, says where, and accepts until told to stop.
fn serve(
    stop: Arc<AtomicBool>,
    stats: Arc<Stats>,
    ready: mpsc::Sender<(SocketAddr, libc::pid_t)>,
) -> io::Result<()> {
    epoll_rt::block_on(async move {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        ready
            .send((listener.local_addr()?, tid))
            .expect("the test waits for the address");
        loop {
            let (stream, _peer) = listener.accept().await?;
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            stats.accepted.fetch_add(1, Ordering::SeqCst);
            let live = stats.live.fetch_add(1, Ordering::SeqCst) + 1;
            stats.peak.fetch_max(live, Ordering::SeqCst);
            let stats = stats.clone();
            spawn(async move {
                let outcome = match echo(stream).await {
                    Ok(()) => &stats.closed,
                    Err(_) => &stats.failed,
                };
                stats.live.fetch_sub(1, Ordering::SeqCst);
                outcome.fetch_add(1, Ordering::SeqCst);
            });
        }
    })
}

/// Polls `done` every 10 ms until it returns true, for at most `limit`; returns its last
/// answer.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return done();
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}
