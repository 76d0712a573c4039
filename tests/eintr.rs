//! A signal every 100 µs changes nothing: no `EINTR` reaches the caller, no byte is lost.
//!
//! A signal handler installed without `SA_RESTART` makes a system call that the signal
//! interrupts while it sleeps fail with `EINTR`: `epoll_wait` above all, since the runtime
//! sleeps there; the sockets are non-blocking, so their calls seldom sleep, but the runtime
//! retries `EINTR` on them too. This test installs such a handler for `SIGALRM` (a no-op
//! that counts), then runs 20 clients that each push 2 MiB through an echo server, with
//! sleeps and timeouts in between, while `SIGALRM` arrives every 100 µs (every 1 ms under
//! valgrind: see [`period`]).
//!
//! Two kinds of timer send it. `setitimer(ITIMER_REAL)` sends it to the *process*, as a
//! real program's timer would; the kernel then picks a thread, and prefers one that is
//! idle and can take it at once: in a test binary, the harness's main thread, which leaves
//! the runtime threads almost none (measured: of 16,000 such signals in a 2 s run, 25 hit
//! the server's thread and none the clients'). So each runtime thread also gets a timer of
//! its own (`timer_create` with `SIGEV_THREAD_ID`), and the handler counts how many signals
//! each runtime thread took: the test proves that the signals hit the runtimes, not just
//! the process.
//!
//! The handler and the timers are process-wide, hence a file of its own.

mod server;
mod util;

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::{sleep, timeout};
use epoll_rt::{AsyncTcpStream, spawn};
use server::EchoServer;

/// Concurrent clients.
const CLIENTS: usize = 20;

/// Bytes each client sends, and gets back.
const BYTES: usize = 2 << 20;

/// Largest write of a client.
const MAX_CHUNK: u64 = 64 << 10;

/// Period of every timer: 100 µs, or 1 ms under valgrind. Valgrind runs everything 20 to
/// 50 times slower, signal delivery included: at one signal every 100 µs, the runtime
/// threads there made no headway between signals, and a client's read timed out after
/// 30 s; at 1 ms the test passes in under a minute.
fn period() -> Duration {
    if util::under_valgrind() {
        Duration::from_millis(1)
    } else {
        Duration::from_micros(100)
    }
}

/// Fewest signals each runtime thread must have taken for the test to mean something. At
/// one every 100 µs, a run of a second brings thousands, even on a busy machine.
const MIN_HITS: usize = 100;

/// Signals taken, by anyone.
static HITS: AtomicUsize = AtomicUsize::new(0);

/// The threads whose signals are counted apart: the server's and the clients' runtimes.
static RUNTIME_TIDS: [AtomicI32; 2] = [AtomicI32::new(0), AtomicI32::new(0)];

/// Signals taken by each thread of [`RUNTIME_TIDS`].
static RUNTIME_HITS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// The `SIGALRM` handler: counts, and nothing else. Atomics and `gettid` are
/// async-signal-safe.
extern "C" fn on_alarm(_signum: libc::c_int) {
    HITS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    for (runtime, hits) in RUNTIME_TIDS.iter().zip(&RUNTIME_HITS) {
        if runtime.load(Ordering::Relaxed) == tid {
            hits.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Installs [`on_alarm`] for `SIGALRM`, without `SA_RESTART`: interrupted calls fail with
/// `EINTR` instead of being restarted by the kernel.
fn install_handler() {
    // SAFETY: sigaction is plain old data; all-zero is a valid value (empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = 0;
    // SAFETY: the action is fully initialised and its handler is async-signal-safe; the old
    // action is not asked for.
    let rc = unsafe { libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
}

/// A `timespec` of `d`.
fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// The timers that send `SIGALRM`; dropping it stops them all, also when the test fails.
struct Alarms {
    /// Per-thread POSIX timers.
    timers: Vec<libc::timer_t>,
}

impl Alarms {
    /// Starts `setitimer(ITIMER_REAL)` for the process, and a timer aimed at each thread of
    /// `tids`, all firing every [`period`].
    fn start(tids: &[libc::pid_t]) -> Self {
        let mut alarms = Self { timers: Vec::new() };
        for &tid in tids {
            // SAFETY: sigevent is plain old data; all-zero is a valid value.
            let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
            event.sigev_notify = libc::SIGEV_THREAD_ID;
            event.sigev_signo = libc::SIGALRM;
            event.sigev_notify_thread_id = tid;
            let mut timer: libc::timer_t = std::ptr::null_mut();
            // SAFETY: `event` is initialised and names a thread of this process that lives
            // until the timers are deleted; `timer` is ours to write.
            let rc = unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut timer) };
            assert_eq!(rc, 0, "timer_create: {}", io::Error::last_os_error());
            alarms.timers.push(timer);
            let spec = libc::itimerspec {
                it_interval: timespec(period()),
                it_value: timespec(period()),
            };
            // SAFETY: `timer` was just created; `spec` lives across the call; the old value
            // is not asked for.
            let rc = unsafe { libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()) };
            assert_eq!(rc, 0, "timer_settime: {}", io::Error::last_os_error());
        }
        set_process_timer(period());
        alarms
    }
}

impl Drop for Alarms {
    fn drop(&mut self) {
        set_process_timer(Duration::ZERO);
        for &timer in &self.timers {
            // SAFETY: each timer was created by `start` and is deleted once, here.
            unsafe { libc::timer_delete(timer) };
        }
    }
}

/// Sets the process's `ITIMER_REAL` to fire every `period`; zero stops it.
fn set_process_timer(period: Duration) {
    let interval = libc::timeval {
        tv_sec: period.as_secs() as libc::time_t,
        tv_usec: period.subsec_micros() as libc::suseconds_t,
    };
    let value = libc::itimerval {
        it_interval: interval,
        it_value: interval,
    };
    // SAFETY: `value` lives across the call; the old value is not asked for.
    let rc = unsafe { libc::setitimer(libc::ITIMER_REAL, &value, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "setitimer: {}", io::Error::last_os_error());
}

/// The `len` bytes client `id` sends, drawn lazily: the writer and the reader each walk
/// their own copy of the same sequence.
fn stream_of(id: usize) -> util::Rng {
    util::Rng::new(0xE1_4742 + id as u64)
}

/// One client: connects, writes [`BYTES`] in random chunks with short sleeps between some
/// of them, while reading and checking the echo; then half-closes and expects end of file.
/// Returns the number of bytes echoed.
async fn client(addr: SocketAddr, id: usize) -> io::Result<usize> {
    let stream = AsyncTcpStream::connect(addr).await?;
    let (mut reader, mut writer) = stream.into_split();
    let writing = spawn(async move {
        let mut data = stream_of(id);
        let mut rng = util::Rng::new(id as u64 + 1);
        let mut sent = 0;
        while sent < BYTES {
            let n = (1 + rng.below(MAX_CHUNK) as usize).min(BYTES - sent);
            let chunk: Vec<u8> = (0..n).map(|_| data.next_u64() as u8).collect();
            writer.write_all(&chunk).await?;
            sent += n;
            if rng.below(4) == 0 {
                sleep(Duration::from_micros(rng.below(500))).await;
            }
        }
        writer.shutdown()?;
        Ok::<_, io::Error>(())
    });

    let mut expected = stream_of(id);
    let mut buf = vec![0u8; 32 << 10];
    let mut received = 0;
    loop {
        // A timeout around every read: its timer is one more deadline that must survive
        // the interrupted waits, and it bounds a read that would hang.
        let n = timeout(Duration::from_secs(30), reader.read(&mut buf)).await??;
        if n == 0 {
            break;
        }
        for (i, &byte) in buf[..n].iter().enumerate() {
            let want = expected.next_u64() as u8;
            assert_eq!(byte, want, "client {id}: byte {} differs", received + i);
        }
        received += n;
        assert!(
            received <= BYTES,
            "client {id}: more bytes echoed than sent"
        );
    }
    writing.await??;
    Ok(received)
}

/// Sleeps of 1 ms, each checked not to end early however often the wait is interrupted;
/// runs until `stop` says so. Returns how many it made.
async fn sleeper(stop: Rc<std::cell::Cell<bool>>) -> usize {
    let mut naps = 0;
    while !stop.get() && naps < 100_000 {
        let start = Instant::now();
        sleep(Duration::from_millis(1)).await;
        assert!(
            start.elapsed() >= Duration::from_millis(1),
            "a sleep ended early"
        );
        naps += 1;
    }
    naps
}

#[test]
fn a_signal_every_100_us_changes_nothing() -> io::Result<()> {
    util::watchdog(Duration::from_secs(120), || {
        let server = EchoServer::start();
        install_handler();

        // The clients' runtime, on a thread of its own, waits for the timers to start.
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let addr = server.addr;
        let clients = thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tid_tx
                .send(unsafe { libc::gettid() })
                .expect("the test waits");
            go_rx.recv().expect("the test says go");
            epoll_rt::block_on(async move {
                let stop = Rc::new(std::cell::Cell::new(false));
                let napper = spawn(sleeper(stop.clone()));
                let handles: Vec<_> = (0..CLIENTS).map(|id| spawn(client(addr, id))).collect();
                let mut echoed = Vec::new();
                for handle in handles {
                    echoed.push(handle.await??);
                }
                stop.set(true);
                Ok::<_, io::Error>((echoed, napper.await?))
            })
        });
        let client_tid = tid_rx.recv().expect("the client thread starts");
        RUNTIME_TIDS[0].store(server.tid, Ordering::SeqCst);
        RUNTIME_TIDS[1].store(client_tid, Ordering::SeqCst);

        // The echo run, under fire.
        let alarms = Alarms::start(&[server.tid, client_tid]);
        let start = Instant::now();
        go_tx.send(()).expect("the client thread waits");
        let (echoed, naps) = clients.join().expect("the client thread panicked")?;
        let elapsed = start.elapsed();
        drop(alarms);

        // Every byte came back, and no handler saw an error.
        assert_eq!(echoed, vec![BYTES; CLIENTS]);
        assert!(naps > 0);
        assert!(
            server.wait_for_handlers(CLIENTS, Duration::from_secs(10)),
            "handlers still running: {:?}",
            server.stats
        );
        assert_eq!(server.stats.failed.load(Ordering::SeqCst), 0);

        // And the signals did arrive, on both runtime threads.
        let hits = HITS.load(Ordering::SeqCst);
        let on_runtimes = [
            RUNTIME_HITS[0].load(Ordering::SeqCst),
            RUNTIME_HITS[1].load(Ordering::SeqCst),
        ];
        eprintln!(
            "{CLIENTS} clients echoed {} MiB each in {elapsed:.2?} (and {naps} 1 ms sleeps) \
             under {hits} SIGALRMs: {} on the server's thread, {} on the clients'",
            BYTES >> 20,
            on_runtimes[0],
            on_runtimes[1]
        );
        for (hits, name) in on_runtimes.iter().zip(["server", "client"]) {
            assert!(
                *hits >= MIN_HITS,
                "the {name} runtime's thread took only {hits} signals"
            );
        }
        server.assert_serves(b"after the storm")?;
        server.stop()
    })
}
