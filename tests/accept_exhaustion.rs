//! A server out of file descriptors neither spins nor dies, and recovers when descriptors
//! are freed.
//!
//! When `accept4` fails with `EMFILE`, the pending connection stays queued and the
//! listener stays readable; a naive accept loop then retries at once, forever, at 100 %
//! CPU. This test puts a server at the limit with a connection it cannot accept, measures
//! the server thread's CPU time, then frees descriptors and checks the connection is
//! served. It lowers `RLIMIT_NOFILE` for the whole process, hence a file of its own.

mod util;

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::thread::JoinHandleExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};

/// How long the server is watched while at the limit.
const WATCH: Duration = Duration::from_millis(300);

/// Most dummy descriptors opened to reach the limit (the limit is set a few above the
/// descriptors already open, so far fewer are needed).
const MAX_FILLERS: usize = 1000;

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

/// Starts an echo server on its own thread; returns the thread and its address. The
/// server stops at the first connection accepted after `stop` is set.
fn start_server(stop: Arc<AtomicBool>) -> (JoinHandle<io::Result<()>>, SocketAddr) {
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
                spawn(echo(stream));
            }
        })
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the server did not start");
    (server, addr)
}

/// Sends `message` on `stream` and checks it comes back, waiting at most 5 s.
fn assert_echoed(stream: &mut TcpStream, message: &[u8]) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(message)?;
    let mut echoed = vec![0u8; message.len()];
    stream.read_exact(&mut echoed)?;
    assert_eq!(echoed, message);
    Ok(())
}

/// CPU time `thread` has used so far, from its CPU-time clock.
fn cpu_time<T>(thread: &JoinHandle<T>) -> Duration {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: the thread has not been joined, so its pthread_t is valid; `clock` is ours
    // to write.
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

/// The process's descriptor limit.
fn fd_limit() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct, which we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit failed");
    limit
}

/// Sets the process's descriptor limit.
fn set_fd_limit(limit: &libc::rlimit) -> io::Result<()> {
    // SAFETY: setrlimit reads one `rlimit` from the struct, which lives across the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Puts the original descriptor limit back when dropped, also when the test fails.
struct RestoreLimit(libc::rlimit);

impl Drop for RestoreLimit {
    fn drop(&mut self) {
        let _ = set_fd_limit(&self.0);
    }
}

/// The highest descriptor number open in this process.
fn highest_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .max()
        .expect("at least stdin is open")
}

/// Whether `e` is "too many open files" (for this process).
fn is_emfile(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EMFILE)
}

#[test]
fn server_at_the_descriptor_limit_waits_and_recovers() -> io::Result<()> {
    util::watchdog(util::LIMIT, || {
        let stop = Arc::new(AtomicBool::new(false));
        let (server, addr) = start_server(stop.clone());

        // 1. A few clients served normally; they hold two descriptors each.
        let mut held = Vec::new();
        for i in 0..4u8 {
            let mut client = TcpStream::connect(addr)?;
            assert_echoed(&mut client, &[i; 10])?;
            held.push(client);
        }

        // 2. Lower the limit to a little above what is open, then fill every free slot but
        // one with dummy descriptors.
        let original = fd_limit();
        let restore = RestoreLimit(original);
        let lowered = libc::rlimit {
            rlim_cur: (highest_fd() + 1 + 16).min(original.rlim_max),
            rlim_max: original.rlim_max,
        };
        set_fd_limit(&lowered)?;
        let mut fillers = Vec::new();
        loop {
            match File::open("/dev/null") {
                Ok(file) => fillers.push(file),
                Err(e) if is_emfile(&e) => break,
                Err(e) => return Err(e),
            }
            assert!(fillers.len() < MAX_FILLERS, "the limit was not lowered");
        }
        fillers.pop();

        // 3. The last free descriptor goes to a client. Its connection completes in the
        // kernel's listen queue, but the server has no descriptor left to accept it with.
        let mut stuck = TcpStream::connect(addr)?;
        stuck.write_all(b"x")?;
        let err = File::open("/dev/null").expect_err("a descriptor was still free");
        assert!(is_emfile(&err), "{err}");

        // Not accepted, so not echoed.
        stuck.set_read_timeout(Some(Duration::from_millis(50)))?;
        let mut byte = [0u8; 1];
        let err = stuck.read(&mut byte).expect_err("echoed at the limit");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err}"
        );

        // 4. Meanwhile the server retries now and then instead of spinning: under 5% of
        // the wall time (a busy loop would use about all of it; measured here: ~0.3%).
        let cpu_before = cpu_time(&server);
        let start = Instant::now();
        thread::sleep(WATCH);
        let cpu = cpu_time(&server) - cpu_before;
        let wall = start.elapsed();
        // Seen with `cargo test --test accept_exhaustion -- --nocapture` (the guide's
        // chapter 7 and docs/reliability.md quote it).
        println!(
            "at the descriptor limit, the server used {cpu:?} of CPU in {wall:?} ({:.2} %)",
            cpu.as_secs_f64() / wall.as_secs_f64() * 100.0
        );
        assert!(
            cpu < wall / 20,
            "the server used {cpu:?} of CPU in {wall:?} at the descriptor limit"
        );

        // 5. Free descriptors: the queued connection is accepted and served, and so is a
        // new one.
        drop(fillers);
        drop(held);
        stuck.set_read_timeout(Some(Duration::from_secs(5)))?;
        stuck.read_exact(&mut byte)?;
        assert_eq!(&byte, b"x");
        let mut fresh = TcpStream::connect(addr)?;
        assert_echoed(&mut fresh, b"after the limit")?;

        // 6. Restore the limit and stop the server.
        drop(restore);
        assert_eq!(fd_limit().rlim_cur, original.rlim_cur);
        stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect(addr)?);
        server.join().expect("server thread panicked")
    })
}
