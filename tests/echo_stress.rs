//! The echo server under load: hundreds of concurrent clients moving random payloads, some
//! half-closing, some resetting mid-transfer.
//!
//! The server (the echo loop of `examples/echo_server.rs`) runs on one thread, the clients
//! on a second runtime on another. Every client that does not reset must get back exactly
//! the bytes it sent; at the end the server must hold no client socket and still accept.
//!
//! Payloads are generated chunk by chunk from a seeded [`util::Rng`], and each client
//! writes one chunk (at most 64 KiB) and reads its echo before writing the next: without
//! a way to read and write one stream from two tasks, a client that wrote its whole
//! payload before reading would deadlock against the server's backpressure, by design.
//! Sized to run in a few seconds in a debug build.

mod util;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};

/// Concurrent clients.
const CLIENTS: usize = 300;

/// Largest payload of one client. Lengths are `MAX_PAYLOAD * u^2.4` for `u` uniform in
/// `[0, 1)`: mostly small, a few near the maximum, `MAX_PAYLOAD / 3.4` (about 300 KiB) on
/// average, so the clients send about 90 MB in all, and get as much back.
const MAX_PAYLOAD: usize = 1 << 20;

/// The exponent that skews payload lengths towards small ones.
const SKEW: f64 = 2.4;

/// Largest chunk written before reading its echo back.
const MAX_CHUNK: u64 = 64 << 10;

/// The seed of every random choice of the test.
const SEED: u64 = 0x00EC_4057_2E55;

/// Longest wait for the server to notice that every client is gone.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// How a client ends its connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    /// Reads the whole echo, then drops the stream.
    Close,
    /// Shuts down its writing half after the last chunk, then reads the rest of the echo
    /// until end of file.
    HalfClose,
    /// Sets `SO_LINGER` to zero and drops the stream partway, with data in flight: the
    /// kernel sends a reset.
    Reset,
}

/// Echoes everything `stream` sends until it closes: the echo loop of
/// `examples/echo_server.rs`.
async fn echo(mut stream: AsyncTcpStream) -> io::Result<()> {
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

/// What the server counts, shared with the test.
#[derive(Default)]
struct ServerStats {
    /// Connections accepted.
    accepted: AtomicUsize,
    /// Connections whose handler ended at end of file.
    closed: AtomicUsize,
    /// Connections whose handler ended with an error (a reset).
    failed: AtomicUsize,
}

/// Starts an echo server on its own thread, counting in `stats`. It stops at the first
/// connection accepted after `stop` is set.
fn start_server(
    stop: Arc<AtomicBool>,
    stats: Arc<ServerStats>,
) -> (JoinHandle<io::Result<()>>, SocketAddr) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let server = thread::spawn(move || {
        epoll_rt::block_on(async move {
            let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
            addr_tx
                .send(listener.local_addr()?)
                .expect("the test waits for the address");
            loop {
                let (stream, _peer) = listener.accept().await?;
                if stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                stats.accepted.fetch_add(1, Ordering::SeqCst);
                let stats = stats.clone();
                spawn(async move {
                    let outcome = match echo(stream).await {
                        Ok(()) => &stats.closed,
                        Err(_) => &stats.failed,
                    };
                    outcome.fetch_add(1, Ordering::SeqCst);
                });
            }
        })
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the server did not start");
    (server, addr)
}

/// Fills `buf` with bytes from `rng`, eight per draw.
fn fill(rng: &mut util::Rng, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let bytes = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// Makes the next close of `stream` send a reset (`SO_LINGER` on, zero seconds).
fn set_linger_zero(stream: &AsyncTcpStream) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the option value is a `linger` that lives across the call, with its size
    // given; the descriptor is open for as long as `stream` is borrowed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One client: sends `len` random bytes chunk by chunk, checking each chunk's echo, and
/// ends as `ending` says. Returns the number of bytes echoed back.
async fn client(addr: SocketAddr, id: usize, len: usize, ending: Ending) -> io::Result<usize> {
    let mut rng = util::Rng::new(SEED ^ ((id as u64 + 1) << 32));
    let reset_at = len / 2;
    let mut stream = AsyncTcpStream::connect(addr).await?;
    let mut chunk = vec![0u8; MAX_CHUNK as usize];
    let mut echoed = vec![0u8; MAX_CHUNK as usize];
    let mut sent = 0;
    while sent < len {
        let n = (1 + rng.below(MAX_CHUNK) as usize).min(len - sent);
        fill(&mut rng, &mut chunk[..n]);
        stream.write_all(&chunk[..n]).await?;
        sent += n;

        if ending == Ending::Reset && sent > reset_at {
            // Mid-transfer: this chunk's echo is still in flight.
            set_linger_zero(&stream)?;
            drop(stream);
            return Ok(sent - n);
        }
        if ending == Ending::HalfClose && sent == len {
            stream.shutdown(Shutdown::Write)?;
            let mut got = 0;
            loop {
                match stream.read(&mut echoed[got..]).await? {
                    0 => break,
                    m => got += m,
                }
                assert!(got <= n, "client {id}: more bytes echoed than sent");
            }
            assert_eq!(got, n, "client {id}: echo cut short by the half-close");
            assert!(
                echoed[..n] == chunk[..n],
                "client {id}: echoed bytes differ"
            );
            return Ok(sent);
        }

        stream.read_exact(&mut echoed[..n]).await?;
        assert!(
            echoed[..n] == chunk[..n],
            "client {id}: echoed bytes differ"
        );
    }
    Ok(sent)
}

/// Polls `done` until it returns true, for at most [`CLOSE_WAIT`]; returns its last answer.
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > CLOSE_WAIT {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn hundreds_of_clients_with_half_closes_and_resets() -> io::Result<()> {
    util::watchdog(util::LIMIT, || {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(ServerStats::default());
        let (server, addr) = start_server(stop.clone(), stats.clone());
        let server_fds = util::open_fds();

        // The clients, on a runtime of their own on this thread.
        let mut rng = util::Rng::new(SEED);
        let plan: Vec<(usize, Ending)> = (0..CLIENTS)
            .map(|id| {
                let u = rng.next_u64() as f64 / u64::MAX as f64;
                let len = 1 + (MAX_PAYLOAD as f64 * u.powf(SKEW)) as usize;
                let ending = match id % 10 {
                    0 => Ending::Reset,
                    1 => Ending::HalfClose,
                    _ => Ending::Close,
                };
                (len, ending)
            })
            .collect();
        let results = epoll_rt::block_on(async {
            let clients: Vec<_> = plan
                .iter()
                .enumerate()
                .map(|(id, &(len, ending))| spawn(client(addr, id, len, ending)))
                .collect();
            let mut results = Vec::with_capacity(CLIENTS);
            for handle in clients {
                results.push(handle.await);
            }
            results
        });
        for (id, (result, &(len, ending))) in results.into_iter().zip(&plan).enumerate() {
            let echoed = result
                .map_err(io::Error::from)
                .and_then(|r| r)
                .map_err(|e| io::Error::new(e.kind(), format!("client {id}: {e}")))?;
            if ending != Ending::Reset {
                assert_eq!(echoed, len, "client {id} ({ending:?})");
            }
        }

        // The server accepts every connection (a reset one may still be queued when its
        // client is done), notices every close and reset, and drops every client's socket.
        let handlers_done =
            || stats.closed.load(Ordering::SeqCst) + stats.failed.load(Ordering::SeqCst) == CLIENTS;
        assert!(
            wait_until(handlers_done),
            "handlers still running: {} closed, {} failed",
            stats.closed.load(Ordering::SeqCst),
            stats.failed.load(Ordering::SeqCst),
        );
        assert_eq!(stats.accepted.load(Ordering::SeqCst), CLIENTS);
        let resets = plan.iter().filter(|p| p.1 == Ending::Reset).count();
        assert_eq!(stats.failed.load(Ordering::SeqCst), resets);
        assert!(
            wait_until(|| util::open_fds() == server_fds),
            "{} descriptors open after the clients left, {server_fds} before they came",
            util::open_fds()
        );

        // And it still serves.
        let mut late = TcpStream::connect(addr)?;
        late.set_read_timeout(Some(Duration::from_secs(5)))?;
        late.write_all(b"still there?")?;
        let mut buf = [0u8; 12];
        late.read_exact(&mut buf)?;
        assert_eq!(&buf, b"still there?");

        stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect(addr)?);
        server.join().expect("server thread panicked")
    })
}
