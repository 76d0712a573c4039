//! Integration tests of `epoll_rt::signal`: `signal`, `ctrl_c`, `Signal::recv` and `block`.
//!
//! The tests of this binary run on several threads of one process, and a signal sent to
//! the *process* goes to any thread that does not block it, where `SIGINT` or `SIGUSR1`
//! would end the whole binary. So every signal here is sent to one *thread*, the runtime's
//! (`raise` from that thread, `pthread_kill` from another), and only once that thread
//! blocks it: [`send_to`] checks, and fails the test instead of killing the binary.
//! Thread-directed signals are read only by their thread's signalfd, so the tests cannot
//! see each other's signals.

mod util;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::mem;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use epoll_rt::signal::{self, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, Signal};
use epoll_rt::{AsyncFd, Runtime, spawn, yield_now};
use libc::c_int;

/// Whether `signum` is blocked in the calling thread.
fn blocked_here(signum: c_int) -> bool {
    // SAFETY: sigset_t is plain data; all zeros is a valid value.
    let mut mask: libc::sigset_t = unsafe { mem::zeroed() };
    // SAFETY: a null new set only reads the mask, into `mask`, valid for writes.
    let err = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask) };
    assert_eq!(err, 0, "pthread_sigmask failed");
    // SAFETY: `mask` was filled by pthread_sigmask.
    unsafe { libc::sigismember(&mask, signum) == 1 }
}

/// The calling thread, for [`send_to`] from another one.
fn this_thread() -> libc::pthread_t {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() }
}

/// Sends `signum` to the calling thread, after checking that it blocks it (otherwise the
/// signal's default action would end the test binary).
fn raise_here(signum: c_int) {
    assert!(blocked_here(signum), "signal {signum} is not blocked here");
    // SAFETY: raise has no preconditions; the signal is blocked, so it stays pending.
    assert_eq!(unsafe { libc::raise(signum) }, 0, "raise failed");
}

/// Sends `signum` to `thread` from the calling (another) thread.
///
/// `thread` must be alive: the callers make the runtime's thread wait for the signal.
fn send_to(thread: libc::pthread_t, signum: c_int) {
    // SAFETY: the caller guarantees `thread` is a live thread of this process.
    let err = unsafe { libc::pthread_kill(thread, signum) };
    assert_eq!(err, 0, "pthread_kill failed");
}

/// Polls `sig.recv()` once: `Pending` if no signal is there to receive yet.
async fn poll_once(sig: &mut Signal) -> Poll<io::Result<()>> {
    poll_fn(|cx| Poll::Ready(sig.poll_recv(cx))).await
}

/// A thread that sends the runtime's thread a signal each time it is asked to, a little
/// later, so that the runtime is asleep in `epoll_wait` when it arrives.
struct Sender {
    /// Signals to send, one at a time.
    requests: mpsc::Sender<c_int>,
    /// The sending thread.
    thread: thread::JoinHandle<()>,
}

impl Sender {
    /// A sender aimed at the calling thread, which must block every signal it asks for.
    fn new() -> Self {
        let target = this_thread();
        let (requests, rx) = mpsc::channel::<c_int>();
        let thread = thread::spawn(move || {
            for signum in rx {
                thread::sleep(Duration::from_millis(5));
                send_to(target, signum);
            }
        });
        Self { requests, thread }
    }

    /// Asks for `signum`; the caller then waits for it, which keeps its thread alive.
    fn send(&self, signum: c_int) {
        assert!(blocked_here(signum), "signal {signum} is not blocked here");
        self.requests.send(signum).expect("the sender thread runs");
    }

    /// Stops the sending thread once it has sent everything asked.
    fn join(self) {
        drop(self.requests);
        self.thread
            .join()
            .expect("the sender thread does not panic");
    }
}

#[test]
fn a_signal_listener_receives_each_signal_sent_by_another_thread() {
    util::run(|| async {
        let sender = Sender::new();
        let mut usr1 = signal::signal(SIGUSR1)?;
        assert_eq!(usr1.signum(), SIGUSR1);
        for _ in 0..3 {
            // Nothing is pending: the listener waits, with the signalfd's readiness
            // cleared, so only an epoll event can complete the `recv` below.
            assert!(poll_once(&mut usr1).await.is_pending());
            sender.send(SIGUSR1);
            usr1.recv().await?;
        }
        sender.join();
        io::Result::Ok(())
    })
    .expect("receive three signals");
}

#[test]
fn ctrl_c_completes_when_sigint_is_sent_to_the_runtime_thread() {
    util::run(|| async {
        let sender = Sender::new();
        let waiter = spawn(signal::ctrl_c());
        // The task runs first and starts listening, which blocks SIGINT in this thread.
        yield_now().await;
        assert!(!waiter.is_finished(), "ctrl_c completed without a signal");
        sender.send(SIGINT);
        let result = waiter.await.expect("ctrl_c does not panic");
        sender.join();
        result
    })
    .expect("ctrl_c");
}

#[test]
fn every_listener_on_a_runtime_receives_every_signal() {
    util::run(|| async {
        let received = Rc::new(Cell::new(0));
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let mut listener = signal::signal(SIGUSR2)?;
            let received = received.clone();
            tasks.push(spawn(async move {
                for _ in 0..2 {
                    listener.recv().await?;
                    received.set(received.get() + 1);
                }
                io::Result::Ok(())
            }));
        }
        let mut mine = signal::signal(SIGUSR2)?;

        for round in 1..=2 {
            // Let both tasks reach their `recv` and wait.
            yield_now().await;
            assert_eq!(received.get(), 2 * (round - 1));
            raise_here(SIGUSR2);
            mine.recv().await?;
            // Our listener may have been the one to read it; the tasks still get it.
            while received.get() < 2 * round {
                yield_now().await;
            }
        }
        for task in tasks {
            task.await.expect("the listener task does not panic")?;
        }
        io::Result::Ok(())
    })
    .expect("broadcast");
}

#[test]
fn a_listener_that_stops_waiting_does_not_take_the_wake_up_with_it() {
    util::run(|| async {
        // `waiter` waits in its task. Then `idle` starts a `recv` and abandons it, and
        // `dropped` starts one and is dropped: the last two to wait, and never polled
        // again. The wake-up must still reach `waiter`.
        let mut waiter = signal::signal(SIGQUIT)?;
        let mut idle = signal::signal(SIGQUIT)?;
        let mut dropped = signal::signal(SIGQUIT)?;
        let task = spawn(async move { waiter.recv().await });
        yield_now().await;
        assert!(!task.is_finished());
        assert!(poll_once(&mut idle).await.is_pending());
        assert!(poll_once(&mut dropped).await.is_pending());
        drop(dropped);

        raise_here(SIGQUIT);
        task.await.expect("the waiter does not panic")?;
        // The idle listener has not lost the signal either.
        assert!(poll_once(&mut idle).await.is_ready());
        io::Result::Ok(())
    })
    .expect("no lost wake-up");
}

/// Reads one byte of `fd`, spending one unit of the task's cooperative budget.
fn read_byte(fd: &AsyncFd<UnixStream>, cx: &mut std::task::Context<'_>) -> Poll<io::Result<usize>> {
    fd.poll_read_with(cx, |mut s| s.read(&mut [0]))
}

/// How many reads of `fd` (which must hold data enough) the cooperative budget allows in
/// one poll: reads until one is refused though data is there. The refusal re-queues the
/// task, which gets the count at its next poll, with a fresh budget.
async fn reads_per_poll(fd: &AsyncFd<UnixStream>) -> usize {
    let mut counted = None;
    poll_fn(|cx| {
        if let Some(reads) = counted {
            return Poll::Ready(reads);
        }
        let mut reads = 0;
        while reads < 10_000 && read_byte(fd, cx).is_ready() {
            reads += 1;
        }
        counted = Some(reads);
        Poll::Pending
    })
    .await
}

/// Receives one signal on `listener`, whose first poll comes after the task has spent its
/// whole cooperative budget on reads of `fd` in the same poll; `then` runs just before it.
async fn recv_with_budget_spent(
    listener: &mut Signal,
    fd: &AsyncFd<UnixStream>,
    then: impl FnOnce(),
) -> io::Result<()> {
    let budget = reads_per_poll(fd).await;
    let mut then = Some(then);
    poll_fn(|cx| {
        if let Some(then) = then.take() {
            for _ in 0..budget {
                assert!(
                    read_byte(fd, cx).is_ready(),
                    "the budget allows {budget} reads"
                );
            }
            then();
        }
        listener.poll_recv(cx)
    })
    .await
}

/// A socket pair whose registered end has plenty to read.
fn readable_pair() -> io::Result<(AsyncFd<UnixStream>, UnixStream)> {
    let (ours, mut theirs) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    theirs.write_all(&[0; 4096])?;
    Ok((AsyncFd::new(ours)?, theirs))
}

/// A signal that is pending when a task with no budget left polls its listener: the
/// listener reads it, and the task (not the hub's fan-out waker) is re-queued to return it.
#[test]
fn a_pending_signal_reaches_a_task_that_spent_its_budget() {
    util::run(|| async {
        let mut usr1 = signal::signal(SIGUSR1)?;
        let (fd, _peer) = readable_pair()?;
        recv_with_budget_spent(&mut usr1, &fd, || raise_here(SIGUSR1)).await
    })
    .expect("the signal is received");
}

/// A signal that arrives after a task with no budget left polled its listener: the
/// listener waits with the fan-out waker armed, so the signal wakes the task.
#[test]
fn a_later_signal_reaches_a_task_that_spent_its_budget() {
    util::run(|| async {
        let sender = Sender::new();
        let mut usr1 = signal::signal(SIGUSR1)?;
        let (fd, _peer) = readable_pair()?;
        recv_with_budget_spent(&mut usr1, &fd, || sender.send(SIGUSR1)).await?;
        sender.join();
        io::Result::Ok(())
    })
    .expect("the signal is received");
}

#[test]
fn a_signal_that_arrives_with_no_listener_waits_for_the_next_one() {
    util::run(|| async {
        drop(signal::signal(SIGHUP)?);
        // The last listener is gone, but the signal stays blocked: it waits, pending.
        assert!(
            blocked_here(SIGHUP),
            "dropping a listener unblocked the signal"
        );
        raise_here(SIGHUP);
        let mut hup = signal::signal(SIGHUP)?;
        assert!(poll_once(&mut hup).await.is_ready());
        io::Result::Ok(())
    })
    .expect("pending signal");
}

#[test]
fn standard_signals_merge_and_realtime_signals_queue() {
    util::run(|| async {
        // Three SIGUSR1 sent before anyone reads are one pending signal: one `recv`.
        let mut usr1 = signal::signal(SIGUSR1)?;
        for _ in 0..3 {
            raise_here(SIGUSR1);
        }
        usr1.recv().await?;
        assert!(poll_once(&mut usr1).await.is_pending());

        // Three realtime signals are three, for a listener that reads them one by one;
        // a listener that was not waiting meanwhile receives them as one.
        let rt = libc::SIGRTMIN() + 2;
        let mut reader = signal::signal(rt)?;
        let mut late = signal::signal(rt)?;
        for _ in 0..3 {
            raise_here(rt);
        }
        for _ in 0..3 {
            reader.recv().await?;
        }
        assert!(poll_once(&mut reader).await.is_pending());
        late.recv().await?;
        assert!(poll_once(&mut late).await.is_pending());
        io::Result::Ok(())
    })
    .expect("merging and queueing");
}

#[test]
fn listeners_receive_only_their_own_signal() {
    util::run(|| async {
        let mut usr1 = signal::signal(SIGUSR1)?;
        let mut usr2 = signal::signal(SIGUSR2)?;
        assert!(poll_once(&mut usr1).await.is_pending());
        raise_here(SIGUSR2);
        usr2.recv().await?;
        assert!(poll_once(&mut usr1).await.is_pending());
        io::Result::Ok(())
    })
    .expect("signals told apart");
}

#[test]
fn invalid_signal_numbers_are_refused() {
    let invalid = [
        0,
        -1,
        c_int::MIN,
        c_int::MAX,
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        32, // reserved by the C library, below SIGRTMIN()
        libc::SIGRTMAX() + 1,
        1000,
    ];
    util::run(move || async move {
        for signum in invalid {
            let err = signal::signal(signum).expect_err("an invalid signal is refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}");
            let err = signal::block(&[SIGUSR1, signum]).expect_err("refused by block too");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}");
        }
        // A refused `block` blocks nothing, not even the valid numbers it was given.
        assert!(!blocked_here(SIGUSR1));
        // The edges of the valid range are accepted.
        for signum in [1, libc::SIGRTMIN(), libc::SIGRTMAX()] {
            signal::signal(signum)?;
        }
        io::Result::Ok(())
    })
    .expect("valid edge signals");

    // Outside a runtime: an error, not a panic; a bad number is still called that.
    util::watchdog(util::LIMIT, || {
        assert!(signal::signal(SIGUSR1).is_err());
        let err = signal::signal(0).expect_err("0 is no signal");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn block_masks_the_calling_thread_and_the_threads_it_spawns() {
    util::watchdog(util::LIMIT, || {
        assert!(!blocked_here(libc::SIGTSTP));
        signal::block(&[libc::SIGTSTP]).expect("block");
        assert!(blocked_here(libc::SIGTSTP));
        let child = thread::spawn(|| blocked_here(libc::SIGTSTP));
        assert!(child.join().expect("no panic"), "the mask is inherited");
    });
}

/// The `/proc/self/fdinfo` flags and signal mask of every signalfd of this process.
fn signalfds() -> Vec<(u32, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("read /proc/self/fd") {
        let entry = entry.expect("fd entry");
        // The descriptor may have been closed by another test since the listing.
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if target.to_str() != Some("anon_inode:[signalfd]") {
            continue;
        }
        let info_path = format!("/proc/self/fdinfo/{}", entry.file_name().to_string_lossy());
        let Ok(info) = std::fs::read_to_string(info_path) else {
            continue;
        };
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} in fdinfo: {info}"))
                .to_owned()
        };
        let flags = u32::from_str_radix(&field("flags:"), 8).expect("octal flags");
        let mask = u64::from_str_radix(&field("sigmask:"), 16).expect("hex sigmask");
        found.push((flags, mask));
    }
    found
}

#[test]
fn the_signalfd_is_nonblocking_close_on_exec_and_closes_with_its_last_listener() {
    // SIGWINCH is used by no other test, so its signalfd is the only one with this mask.
    let winch = libc::SIGWINCH;
    let mask = 1u64 << (winch - 1);
    let ours = move || {
        signalfds()
            .into_iter()
            .filter(|&(_, m)| m == mask)
            .map(|(flags, _)| flags)
            .collect::<Vec<_>>()
    };
    util::run(move || async move {
        let first = signal::signal(winch)?;
        let second = signal::signal(winch)?;
        // Two listeners, one signalfd.
        let flags = ours();
        assert_eq!(flags.len(), 1, "one signalfd per signal and runtime");
        let nonblock = libc::O_NONBLOCK as u32;
        let cloexec = libc::O_CLOEXEC as u32;
        assert_eq!(
            flags[0] & nonblock,
            nonblock,
            "O_NONBLOCK in {:o}",
            flags[0]
        );
        assert_eq!(flags[0] & cloexec, cloexec, "O_CLOEXEC in {:o}", flags[0]);
        drop(first);
        assert_eq!(ours().len(), 1, "still open for the second listener");
        drop(second);
        assert!(ours().is_empty(), "closed with the last listener");
        io::Result::Ok(())
    })
    .expect("signalfd flags");
}

#[test]
fn each_runtime_of_a_thread_has_its_own_signalfd() {
    util::watchdog(util::LIMIT, || -> io::Result<()> {
        // A listener of a runtime that is not running, caught waiting: its signalfd is
        // registered with a reactor that nobody turns.
        let first = Runtime::new()?;
        let mut stale = first.block_on(async {
            let mut sig = signal::signal(SIGUSR2)?;
            assert!(poll_once(&mut sig).await.is_pending());
            io::Result::Ok(sig)
        })?;

        // A second runtime on the same thread must not share it, or this would hang.
        let second = Runtime::new()?;
        second.block_on(async {
            let mut sig = signal::signal(SIGUSR2)?;
            assert!(poll_once(&mut sig).await.is_pending());
            raise_here(SIGUSR2);
            sig.recv().await
        })?;

        // The first runtime's listener still works when its runtime runs again (the
        // signal was read by the second runtime's signalfd, so send another).
        first.block_on(async {
            raise_here(SIGUSR2);
            stale.recv().await
        })
    })
    .expect("two runtimes");
}
