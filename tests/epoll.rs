//! Tests of the epoll binding (`epoll_rt::epoll`) on its own, without the runtime.
//!
//! They check the promises of `src/sys/epoll.rs`: the Python-style API (register with the
//! descriptor as token, modify, unregister, poll), the timeout contract (never early, no
//! busy loop below a millisecond, `EINTR` retried), edge- versus level-triggered and
//! one-shot registrations, the flag names and values, and the life of the epoll descriptor
//! itself (close-on-exec, closed on drop, adoptable with `from_fd`).
//!
//! Sockets are Unix socket pairs, or TCP on `127.0.0.1` where TCP's half-close matters.

mod util;

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::thread::JoinHandleExt;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::epoll::{Epoll, Event, EventFlags, Events};
use util::watchdog;

/// Limit for one test body: every poll below has a finite timeout, far shorter than this.
const LIMIT: Duration = Duration::from_secs(10);

/// How long a poll that expects an event may wait for it.
const PATIENCE: Option<Duration> = Some(Duration::from_secs(5));

/// A connected pair of non-blocking Unix stream sockets.
fn socket_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

/// A connected pair of TCP sockets on the loopback interface: (client, server side).
fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}

/// Polls once and returns the events as a vector.
fn poll(epoll: &Epoll, timeout: Option<Duration>) -> io::Result<Vec<Event>> {
    let mut events = Events::with_capacity(16);
    let n = epoll.poll(&mut events, timeout)?;
    assert_eq!(
        n,
        events.len(),
        "poll's count and the buffer's length agree"
    );
    Ok(events.iter().collect())
}

/// Polls once with `timeout` and checks that it timed out, no earlier than `timeout`.
fn assert_times_out(epoll: &Epoll, timeout: Duration) -> io::Result<()> {
    let mut events = Events::with_capacity(4);
    let start = Instant::now();
    let n = epoll.poll(&mut events, Some(timeout))?;
    let elapsed = start.elapsed();
    assert_eq!(n, 0, "nothing is ready, so the poll times out");
    assert!(events.is_empty());
    assert!(
        elapsed >= timeout,
        "poll({timeout:?}) returned early, after {elapsed:?}"
    );
    Ok(())
}

/// The descriptors and tokens an epoll instance watches, read from `/proc/self/fdinfo`
/// (`tfd:` lines: target descriptor, and `data:`, the token in hex). `None` if `epfd` is
/// not an open descriptor any more.
fn watched(epfd: RawFd) -> Option<Vec<(RawFd, u64)>> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{epfd}")).ok()?;
    let targets = info
        .lines()
        .filter_map(|line| {
            // "tfd:        5 events:       19 data:                5  pos:0 ino:..."
            let mut words = line.strip_prefix("tfd:")?.split_whitespace();
            let fd = words.next()?.parse().ok()?;
            let data = words.skip_while(|&w| w != "data:").nth(1)?;
            Some((fd, u64::from_str_radix(data, 16).ok()?))
        })
        .collect();
    Some(targets)
}

#[test]
fn register_reports_readable_with_the_fd_as_token() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, mut b) = socket_pair()?;
        epoll.register(&a, EventFlags::IN)?;

        b.write_all(b"ping")?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].fd(), a.as_raw_fd());
        assert_eq!(events[0].token(), a.as_raw_fd() as u64);
        assert!(events[0].flags().contains(EventFlags::IN));
        assert!(!events[0].flags().intersects(EventFlags::OUT));
        Ok(())
    })
}

#[test]
fn register_with_token_reports_that_token() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, mut b) = socket_pair()?;
        let token = 0xdead_beef_0000_0007;
        epoll.register_with_token(&a, EventFlags::IN, token)?;

        b.write_all(b"ping")?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].token(), token);
        assert!(events[0].flags().contains(EventFlags::IN));
        Ok(())
    })
}

#[test]
fn modify_changes_the_interest() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, _b) = socket_pair()?;

        // Nothing to read: watching IN reports nothing.
        epoll.register(&a, EventFlags::IN)?;
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());

        // The send buffer is empty: watching OUT reports the socket at once.
        epoll.modify(&a, EventFlags::OUT)?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].fd(), a.as_raw_fd());
        assert!(events[0].flags().contains(EventFlags::OUT));
        assert!(!events[0].flags().intersects(EventFlags::IN));

        // And back.
        epoll.modify(&a, EventFlags::IN)?;
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());
        Ok(())
    })
}

#[test]
fn modify_with_token_changes_the_token() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, _b) = socket_pair()?;
        epoll.register_with_token(&a, EventFlags::IN, 1)?;
        epoll.modify_with_token(&a, EventFlags::OUT, 2)?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].token(), 2);
        Ok(())
    })
}

#[test]
fn unregister_stops_the_events() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, mut b) = socket_pair()?;
        epoll.register(&a, EventFlags::IN)?;
        b.write_all(b"ping")?;
        assert_eq!(poll(&epoll, PATIENCE)?.len(), 1);

        // Still readable (level-triggered, nothing was read), but no longer watched.
        epoll.unregister(&a)?;
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());
        b.write_all(b"more")?;
        assert!(poll(&epoll, Some(Duration::from_millis(20)))?.is_empty());
        Ok(())
    })
}

#[test]
fn misuse_is_reported_as_the_kernel_errors() -> io::Result<()> {
    let epoll = Epoll::new()?;
    let (a, _b) = socket_pair()?;

    // Not registered yet: modify and unregister fail with ENOENT.
    let err = epoll.modify(&a, EventFlags::IN).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let err = epoll.unregister(&a).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));

    // Registered twice: EEXIST.
    epoll.register(&a, EventFlags::IN)?;
    let err = epoll.register(&a, EventFlags::IN).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EEXIST));

    // EXCLUSIVE is refused by modify, as its docs say.
    let err = epoll
        .modify(&a, EventFlags::IN | EventFlags::EXCLUSIVE)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    Ok(())
}

#[test]
fn zero_timeout_only_looks() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, _b) = socket_pair()?;
        epoll.register(&a, EventFlags::IN)?;
        let mut events = Events::with_capacity(4);
        // The watchdog is what bounds this: a zero timeout that waited forever would trip it.
        for _ in 0..100 {
            assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 0);
        }
        Ok(())
    })
}

#[test]
fn short_timeout_is_not_cut_short() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, _b) = socket_pair()?;
        epoll.register(&a, EventFlags::IN)?;
        // Whole milliseconds (epoll_wait), and not (epoll_pwait2 or rounding up).
        assert_times_out(&epoll, Duration::from_millis(30))?;
        assert_times_out(&epoll, Duration::from_micros(12_500))
    })
}

#[test]
fn sub_millisecond_timeout_returns_and_is_not_cut_short() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        // A timeout truncated to whole milliseconds would be 0 (early) or, with a `None`
        // mix-up, infinite (the watchdog trips). Each try must be neither.
        for micros in [300, 1, 999, 300] {
            assert_times_out(&epoll, Duration::from_micros(micros))?;
        }
        assert_times_out(&epoll, Duration::from_nanos(1))
    })
}

#[test]
fn level_triggered_reports_a_ready_socket_at_every_poll() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (mut a, mut b) = socket_pair()?;
        epoll.register(&a, EventFlags::IN)?;
        b.write_all(b"ping")?;

        for _ in 0..3 {
            let events = poll(&epoll, PATIENCE)?;
            assert_eq!(events.len(), 1, "{events:?}");
            assert_eq!(events[0].fd(), a.as_raw_fd());
        }

        // Once drained, the socket is no longer reported.
        let mut buf = [0; 16];
        assert_eq!(a.read(&mut buf)?, 4);
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());
        Ok(())
    })
}

#[test]
fn edge_triggered_reports_a_ready_socket_once_per_arrival() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, mut b) = socket_pair()?;
        epoll.register(&a, EventFlags::IN | EventFlags::ET)?;
        b.write_all(b"ping")?;

        // One report for the arrival, then silence although nothing was read.
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].fd(), a.as_raw_fd());
        for _ in 0..3 {
            assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());
        }

        // New data is a new edge: one more report.
        b.write_all(b"pong")?;
        assert_eq!(poll(&epoll, PATIENCE)?.len(), 1);
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());
        Ok(())
    })
}

#[test]
fn oneshot_disables_after_one_event_until_modify_rearms() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a, mut b) = socket_pair()?;
        let interest = EventFlags::IN | EventFlags::ONESHOT;
        epoll.register(&a, interest)?;
        b.write_all(b"ping")?;

        assert_eq!(poll(&epoll, PATIENCE)?.len(), 1);
        // Disabled: neither the unread data nor new data is reported.
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());
        b.write_all(b"pong")?;
        assert!(poll(&epoll, Some(Duration::from_millis(20)))?.is_empty());

        // Re-armed: the socket, still readable, is reported once more.
        epoll.modify(&a, interest)?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].fd(), a.as_raw_fd());
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());
        Ok(())
    })
}

#[test]
fn zero_capacity_is_invalid_input() -> io::Result<()> {
    let epoll = Epoll::new()?;
    let mut events = Events::with_capacity(0);
    assert_eq!(events.capacity(), 0);
    let err = epoll
        .poll(&mut events, Some(Duration::ZERO))
        .expect_err("maxevents 0 is refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(events.is_empty());
    Ok(())
}

#[test]
fn capacity_bounds_the_events_of_one_poll() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (a1, mut b1) = socket_pair()?;
        let (a2, mut b2) = socket_pair()?;
        epoll.register(&a1, EventFlags::IN)?;
        epoll.register(&a2, EventFlags::IN)?;
        b1.write_all(b"one")?;
        b2.write_all(b"two")?;

        // Two are ready, one fits; the other stays queued for the next poll.
        let mut events = Events::with_capacity(1);
        let mut seen = HashSet::new();
        for _ in 0..2 {
            assert_eq!(epoll.poll(&mut events, PATIENCE)?, 1);
            assert_eq!(events.len(), 1);
            assert_eq!(events.iter().len(), 1);
            seen.extend(events.iter().map(|e| e.fd()));
        }
        let expected = HashSet::from([a1.as_raw_fd(), a2.as_raw_fd()]);
        assert_eq!(seen, expected, "the kernel rotates ready descriptors");
        Ok(())
    })
}

/// Signals handled by [`count_signal`].
static SIGNALS_HANDLED: AtomicUsize = AtomicUsize::new(0);

/// A handler that does nothing but count, so a signal's only effect on a blocked system
/// call is to interrupt it.
extern "C" fn count_signal(_signal: libc::c_int) {
    SIGNALS_HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// Installs [`count_signal`] for `SIGUSR1`, *without* `SA_RESTART`, so that a blocking call
/// it interrupts fails with `EINTR` instead of being restarted by the C library (and
/// `epoll_wait` is never restarted anyway, whatever the flags).
fn install_sigusr1_counter() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let handler = count_signal as extern "C" fn(libc::c_int);
        // SAFETY: an all-zero `sigaction` is a valid value (default disposition, empty
        // mask, no flags); `sigemptyset` and `sigaction` get pointers to live locals; the
        // handler only increments an atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = 0;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut())
        };
        assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
    });
}

#[test]
fn signals_never_surface_as_eintr() -> io::Result<()> {
    install_sigusr1_counter();
    watchdog(LIMIT, || {
        // Whole milliseconds go through epoll_wait, the rest through epoll_pwait2: both
        // must resume after a signal, for the time left.
        for timeout in [Duration::from_millis(200), Duration::from_micros(100_500)] {
            let epoll = Epoll::new()?;
            let handled_before = SIGNALS_HANDLED.load(Ordering::Relaxed);
            let poller = thread::spawn(move || {
                let mut events = Events::with_capacity(4);
                let start = Instant::now();
                let result = epoll.poll(&mut events, Some(timeout));
                (result, start.elapsed())
            });

            // Signal the polling thread every few milliseconds until its poll returns.
            let target = poller.as_pthread_t();
            for _ in 0..1000 {
                if poller.is_finished() {
                    break;
                }
                // SAFETY: `poller` has not been joined yet, so `target` still names a
                // thread (possibly one that has just exited, which pthread_kill accepts);
                // the signal's handler is installed above and only counts.
                let rc = unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
                assert!(rc == 0 || rc == libc::ESRCH, "pthread_kill: {rc}");
                thread::sleep(Duration::from_millis(3));
            }
            let (result, elapsed) = poller.join().expect("the polling thread panicked");

            assert_eq!(result?, 0, "a signal is not an error, and no event came");
            assert!(
                elapsed >= timeout,
                "poll({timeout:?}) returned early, after {elapsed:?}"
            );
            assert!(
                SIGNALS_HANDLED.load(Ordering::Relaxed) > handled_before,
                "no signal reached the polling thread: the test proved nothing"
            );
        }
        Ok(())
    })
}

#[test]
fn from_fd_adopts_another_epolls_descriptor() -> io::Result<()> {
    watchdog(LIMIT, || {
        let original = Epoll::new()?;
        let (a, mut b) = socket_pair()?;
        original.register(&a, EventFlags::IN)?;
        let raw = original.as_raw_fd();

        // The registrations belong to the kernel object, so they move with the descriptor.
        let fd: OwnedFd = original.into();
        let adopted = Epoll::from_fd(fd);
        assert_eq!(adopted.as_raw_fd(), raw);
        b.write_all(b"ping")?;
        let events = poll(&adopted, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].fd(), a.as_raw_fd());

        // The `From` conversion does the same.
        let again = Epoll::from(OwnedFd::from(adopted));
        again.modify(&a, EventFlags::OUT)?;
        assert!(poll(&again, PATIENCE)?[0].flags().contains(EventFlags::OUT));
        Ok(())
    })
}

#[test]
fn from_fd_of_a_non_epoll_descriptor_fails_later_with_einval() -> io::Result<()> {
    let (a, b) = socket_pair()?;
    let not_epoll = Epoll::from_fd(OwnedFd::from(a));
    let err = not_epoll.register(&b, EventFlags::IN).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    let err = poll(&not_epoll, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    Ok(())
}

#[test]
fn drop_closes_the_descriptor() -> io::Result<()> {
    let epoll = Epoll::new()?;
    let (a, _b) = socket_pair()?;
    // A token no other test uses: other tests of this binary open epoll descriptors
    // concurrently and may get this number once it is free, but not this registration.
    let token = 0x5eed_c105_ed00_0001;
    epoll.register_with_token(&a, EventFlags::IN, token)?;
    let epfd = epoll.as_raw_fd();
    assert_eq!(
        std::fs::read_link(format!("/proc/self/fd/{epfd}"))?,
        std::path::Path::new("anon_inode:[eventpoll]")
    );
    let entry = (a.as_raw_fd(), token);
    assert!(watched(epfd).is_some_and(|w| w.contains(&entry)));

    drop(epoll);
    // Either the number is free, or it now names another object without our registration.
    assert!(!watched(epfd).is_some_and(|w| w.contains(&entry)));
    Ok(())
}

#[test]
fn descriptor_is_close_on_exec() -> io::Result<()> {
    let epoll = Epoll::new()?;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", epoll.as_raw_fd()))?;
    let flags = info
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|octal| u32::from_str_radix(octal.trim(), 8).ok())
        .expect("fdinfo has a flags line");
    // fdinfo reports the descriptor's FD_CLOEXEC as O_CLOEXEC among the file flags.
    assert_ne!(flags & libc::O_CLOEXEC as u32, 0, "flags {flags:o}");
    Ok(())
}

#[test]
fn event_flags_debug_prints_names() {
    assert_eq!(
        format!("{:?}", EventFlags::IN | EventFlags::ET),
        "EventFlags(IN | ET)"
    );
    assert_eq!(
        format!(
            "{:?}",
            EventFlags::ONESHOT | EventFlags::OUT | EventFlags::IN
        ),
        "EventFlags(IN | OUT | ONESHOT)"
    );
    assert_eq!(format!("{:?}", EventFlags::empty()), "EventFlags()");
    // Bits without a name are shown in hex after the named ones.
    assert_eq!(
        format!("{:?}", EventFlags::from_bits_retain(0x800 | 0x1)),
        "EventFlags(IN | 0x800)"
    );
}

#[test]
fn every_flag_exists_with_its_kernel_value() {
    // The flags of the Python tutorial's table, then RDHUP, EXCLUSIVE and WAKEUP.
    let flags = [
        ("IN", EventFlags::IN, libc::EPOLLIN),
        ("OUT", EventFlags::OUT, libc::EPOLLOUT),
        ("PRI", EventFlags::PRI, libc::EPOLLPRI),
        ("ERR", EventFlags::ERR, libc::EPOLLERR),
        ("HUP", EventFlags::HUP, libc::EPOLLHUP),
        ("ET", EventFlags::ET, libc::EPOLLET),
        ("ONESHOT", EventFlags::ONESHOT, libc::EPOLLONESHOT),
        ("RDNORM", EventFlags::RDNORM, libc::EPOLLRDNORM),
        ("RDBAND", EventFlags::RDBAND, libc::EPOLLRDBAND),
        ("WRNORM", EventFlags::WRNORM, libc::EPOLLWRNORM),
        ("WRBAND", EventFlags::WRBAND, libc::EPOLLWRBAND),
        ("MSG", EventFlags::MSG, libc::EPOLLMSG),
        ("RDHUP", EventFlags::RDHUP, libc::EPOLLRDHUP),
        ("EXCLUSIVE", EventFlags::EXCLUSIVE, libc::EPOLLEXCLUSIVE),
        ("WAKEUP", EventFlags::WAKEUP, libc::EPOLLWAKEUP),
    ];
    let mut all = EventFlags::empty();
    for (name, flag, value) in flags {
        assert_eq!(flag.bits(), value as u32, "{name}");
        assert_eq!(format!("{flag:?}"), format!("EventFlags({name})"));
        assert!(
            !all.intersects(flag),
            "{name} shares a bit with another flag"
        );
        all |= flag;
    }
    // Every bit of `all` has a name: Debug prints no hex remainder.
    assert!(!format!("{all:?}").contains("0x"), "{all:?}");
    assert_eq!(EventFlags::from_bits_retain(all.bits()), all);
    assert_eq!((all & EventFlags::IN), EventFlags::IN);
}

#[test]
fn rdhup_is_reported_when_the_peer_shuts_down_writing() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (client, server) = tcp_pair()?;
        epoll.register(&server, EventFlags::IN | EventFlags::RDHUP)?;
        assert!(poll(&epoll, Some(Duration::ZERO))?.is_empty());

        client.shutdown(Shutdown::Write)?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        let flags = events[0].flags();
        // End of file is readable, and flagged as such; our side can still write.
        assert!(
            flags.contains(EventFlags::IN | EventFlags::RDHUP),
            "{flags:?}"
        );
        assert!(
            !flags.intersects(EventFlags::HUP | EventFlags::ERR),
            "{flags:?}"
        );
        Ok(())
    })
}

#[test]
fn hup_is_reported_once_both_halves_are_shut_down() -> io::Result<()> {
    watchdog(LIMIT, || {
        let epoll = Epoll::new()?;
        let (client, server) = tcp_pair()?;
        epoll.register(&server, EventFlags::RDHUP)?;

        // First the peer's half: wait until our side has seen its FIN.
        client.shutdown(Shutdown::Write)?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!events[0].flags().contains(EventFlags::HUP));

        // Then ours. HUP is reported although it was never asked for.
        server.shutdown(Shutdown::Write)?;
        epoll.modify(&server, EventFlags::empty())?;
        let events = poll(&epoll, PATIENCE)?;
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events[0].flags().contains(EventFlags::HUP), "{events:?}");
        Ok(())
    })
}
