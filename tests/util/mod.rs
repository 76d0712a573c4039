//! Helpers shared by the integration tests.
//!
//! Every test that waits on I/O runs under a watchdog: the body runs on its own thread,
//! and if it has not finished within the limit the test fails with a message, instead of
//! hanging CI. A lost wake-up shows up as exactly that failure.

#![allow(dead_code)] // each test file uses a different subset

pub mod seccomp;

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Default limit for one test body.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Runs `body` on a new thread and returns its result, failing the test if it takes longer
/// than `limit`. A panic in `body` is passed on as is.
pub fn watchdog<T, F>(limit: Duration, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let name = thread::current().name().unwrap_or("test").to_owned();
    thread::Builder::new()
        .name(format!("{name}-body"))
        .spawn(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(body)));
        })
        .expect("spawn test thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => {
            panic!("watchdog: `{name}` did not finish within {limit:?} (a lost wake-up, or a hang)")
        }
    }
}

/// `epoll_rt::block_on` of the future `make` builds, under a [`watchdog`] of [`LIMIT`].
///
/// The future is built on the test's thread of execution, so it need not be `Send`.
pub fn run<T, Fut, F>(make: F) -> T
where
    T: Send + 'static,
    Fut: Future<Output = T>,
    F: FnOnce() -> Fut + Send + 'static,
{
    watchdog(LIMIT, move || epoll_rt::block_on(make()))
}

/// Whether the test runs under valgrind (`bash .ci/sanitize.sh valgrind`), which preloads
/// its own libraries and runs the program 20 to 50 times slower: a test that bounds a
/// latency from above widens its bound there.
pub fn under_valgrind() -> bool {
    std::env::var("LD_PRELOAD").is_ok_and(|preload| preload.contains("vgpreload"))
}

/// Whether the kernel, and whatever runs the program (valgrind has no `pidfd_open`), give
/// out pidfds: a spawned `Child` then holds one, and otherwise waits without.
pub fn pidfds_available() -> bool {
    // SAFETY: pidfd_open takes plain integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, std::process::id(), 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: the descriptor was just opened by the call above, and nothing else has it.
    unsafe { libc::close(fd as libc::c_int) };
    true
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// A small deterministic pseudo-random generator (xorshift64*), so tests that want
/// varied sizes and choices stay reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Sets its flag when dropped: tells a test that what owns it (a task's future, an object
/// a waker holds) is gone.
pub struct DropFlag(std::rc::Rc<std::cell::Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A flag and the guard that sets it.
pub fn drop_flag() -> (std::rc::Rc<std::cell::Cell<bool>>, DropFlag) {
    let flag = std::rc::Rc::new(std::cell::Cell::new(false));
    (flag.clone(), DropFlag(flag))
}

/// Writes to `socket` until its send buffer is full, so that it stops being writable and
/// a write waits.
pub fn fill(mut socket: &std::os::unix::net::UnixStream) -> std::io::Result<()> {
    use std::io::Write;
    let chunk = [0u8; 64 * 1024];
    for _ in 0..10_000 {
        match socket.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("the send buffer never filled up"))
}
