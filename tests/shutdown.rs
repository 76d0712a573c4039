//! A runtime's shutdown is a state its I/O objects can see.
//!
//! An I/O object belongs to the runtime it was created on: its descriptor is registered
//! with that runtime's epoll instance, and only that runtime's loop hears its events. When
//! the runtime is dropped, its reactor shuts down: the epoll instance is closed at once
//! (even if objects or sleeps still point at the reactor), every task still waiting on one
//! of its objects is woken and its waker dropped, and every later operation on those
//! objects fails with an error that says so, instead of waiting forever for events nobody
//! will deliver. An object polled by another runtime, or outside any, fails the same way
//! rather than wait.
//!
//! Some tests read `/proc/self/fd`, which is process-wide, and one needs a runtime to get
//! the epoll descriptor number another has just freed: so the tests of this file run one
//! at a time (`SERIAL`).

mod util;

use std::future::{Future, poll_fn};
use std::io::{self, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use epoll_rt::net::AsyncUdpSocket;
use epoll_rt::time::{sleep, timeout};
use epoll_rt::{AsyncFd, AsyncTcpListener, Runtime};

/// Held by every test of this file for its whole run; see the module docs.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes this file's turn (a test that failed while holding it does not block the rest).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Checks that `result` is the error of an object whose runtime has shut down.
fn assert_shut_down<T>(what: &str, result: io::Result<T>) {
    match result {
        Ok(_) => panic!("{what}: succeeded on an object whose runtime has shut down"),
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::Other, "{what}: {e}");
            assert!(e.to_string().contains("shut down"), "{what}: {e}");
        }
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
struct Probe(AtomicUsize);

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `future` once with `probe`'s waker.
fn poll_with<F: Future + ?Sized>(
    future: std::pin::Pin<&mut F>,
    probe: &Arc<Probe>,
) -> Poll<F::Output> {
    let waker = Waker::from(probe.clone());
    future.poll(&mut Context::from_waker(&waker))
}

/// What descriptor number `fd` names now, if anything (`socket:[inode]` for a socket,
/// `anon_inode:[eventpoll]` for an epoll instance).
fn fd_target(fd: RawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

/// The epoll instances open in this process.
fn epoll_fds() -> Vec<RawFd> {
    let dir = std::fs::read_dir("/proc/self/fd").expect("read /proc/self/fd");
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let fd: RawFd = entry.file_name().to_str()?.parse().ok()?;
        let target = std::fs::read_link(entry.path()).ok()?;
        (target.to_str()? == "anon_inode:[eventpoll]").then_some(fd)
    })
    .collect()
}

/// A new runtime and the descriptor of its epoll instance (the one that appeared).
fn runtime_with_epoll_fd() -> io::Result<(Runtime, RawFd)> {
    let before = epoll_fds();
    let rt = Runtime::new()?;
    let mut new: Vec<_> = epoll_fds()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect();
    assert_eq!(new.len(), 1, "one new epoll instance per runtime");
    Ok((rt, new.remove(0)))
}

/// The descriptors an epoll instance watches, from its `/proc/self/fdinfo` `tfd:` lines.
fn watched(epfd: RawFd) -> Vec<RawFd> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{epfd}")).expect("fdinfo");
    info.lines()
        .filter_map(|line| line.strip_prefix("tfd:"))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn a_listener_that_outlives_its_runtime_fails_instead_of_hanging() {
    let _turn = serial();
    util::watchdog(util::LIMIT, || {
        let listener = epoll_rt::block_on(async { AsyncTcpListener::bind("127.0.0.1:0") })?;
        let addr = listener.local_addr()?;
        // A client connects while the second runtime waits in `accept`.
        let client = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            TcpStream::connect(addr)
        });
        let accepted =
            epoll_rt::block_on(async { timeout(Duration::from_secs(2), listener.accept()).await });
        let accepted = accepted.expect("accept waited for events nobody will deliver");
        assert_shut_down("accept", accepted);
        client.join().expect("client thread")?;
        // With a client queued, the next accept fails as well: the object is unusable.
        let again = epoll_rt::block_on(async { listener.accept().await });
        assert_shut_down("accept with a client queued", again);
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn an_async_fd_that_outlives_its_runtime_fails_instead_of_hanging() {
    let _turn = serial();
    util::watchdog(util::LIMIT, || {
        let (a, mut b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let a = epoll_rt::block_on(async { AsyncFd::new(a) })?;
        let read = epoll_rt::block_on(async {
            let writer = epoll_rt::spawn(async move {
                sleep(Duration::from_millis(20)).await;
                b.write_all(b"late")
            });
            let mut buf = [0u8; 8];
            let read = timeout(
                Duration::from_secs(2),
                a.read_with(|mut s| s.read(&mut buf)),
            )
            .await;
            writer.await.expect("writer task")?;
            Ok::<_, io::Error>(read)
        })?;
        let read = read.expect("read_with waited for events nobody will deliver");
        assert_shut_down("read_with", read);
        // Data is queued now, and still the object refuses: it belongs to a dead runtime.
        let again = epoll_rt::block_on(async { a.read_with(|mut s| s.read(&mut [0; 8])).await });
        assert_shut_down("read_with with data queued", again);
        let ready = epoll_rt::block_on(async { a.readable().await.map(drop) });
        assert_shut_down("readable", ready);
        let ready = epoll_rt::block_on(async { a.writable().await.map(drop) });
        assert_shut_down("writable", ready);
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn an_object_polled_by_another_live_runtime_fails_instead_of_hanging() {
    let _turn = serial();
    util::watchdog(util::LIMIT, || {
        let home = Runtime::new()?;
        let socket = home.block_on(async { AsyncUdpSocket::bind("127.0.0.1:0") })?;
        let addr = socket.local_addr()?;
        let mut buf = [0u8; 16];

        // Another runtime on the same thread, while `home` is alive but not running.
        let elsewhere = Runtime::new()?;
        let received = elsewhere
            .block_on(async { timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await });
        let err = received
            .expect("the receive waited on a runtime that is not running")
            .expect_err("nothing was sent");
        assert_eq!(err.kind(), io::ErrorKind::Other, "{err}");
        assert!(err.to_string().contains("not running"), "{err}");

        // Outside any runtime, the same.
        let noop = Waker::from(Arc::new(Probe::default()));
        let mut recv = pin!(socket.recv_from(&mut buf));
        match recv.as_mut().poll(&mut Context::from_waker(&noop)) {
            Poll::Ready(Err(e)) => assert!(e.to_string().contains("not running"), "{e}"),
            other => panic!("polled outside any runtime: {other:?}"),
        }

        // At home, the socket works as ever.
        let sender = UdpSocket::bind("127.0.0.1:0")?;
        let received = home.block_on(async {
            let mut buf = [0u8; 16];
            let wait = timeout(Duration::from_secs(2), socket.recv_from(&mut buf));
            sender.send_to(b"home", addr)?;
            let (n, _) = wait.await??;
            Ok::<_, io::Error>(buf[..n].to_vec())
        })?;
        assert_eq!(received, b"home");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn a_task_waiting_when_its_runtime_is_dropped_is_woken_and_its_waker_dropped() {
    let _turn = serial();
    util::watchdog(util::LIMIT, || {
        let rt = Runtime::new()?;
        let (a, _b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let a = rt.block_on(async { AsyncFd::new(a) })?;
        let probe = Arc::new(Probe::default());
        let mut buf = [0u8; 8];
        let mut read = Box::pin(a.read_with(|mut s| s.read(&mut buf)));
        // Polled by its runtime's loop, the read waits with the probe as its waker.
        let first = rt.block_on(poll_fn(|_| Poll::Ready(poll_with(read.as_mut(), &probe))));
        assert!(first.is_pending(), "nothing was sent: the read waits");
        assert_eq!(Arc::strong_count(&probe), 2, "the reactor holds the waker");

        drop(rt);
        assert_eq!(
            probe.0.load(Ordering::SeqCst),
            1,
            "shutdown wakes the waiting task"
        );
        assert_eq!(Arc::strong_count(&probe), 1, "shutdown drops the waker");
        // Polled again, as the woken task would, the read reports the shutdown.
        match poll_with(read.as_mut(), &probe) {
            Poll::Ready(result) => assert_shut_down("the woken read", result),
            Poll::Pending => panic!("the woken read waits again"),
        }
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

/// A waker that owns an I/O object, here the listener whose waiter list holds that very
/// waker: a cycle (listener → registration → waiter list → waker → listener) that only the
/// shutdown can break, by dropping the waker.
struct OwnsListener(#[allow(dead_code)] Rc<AsyncFd<std::net::TcpListener>>);

// SAFETY: the waker is made, woken and dropped on this test's thread only; `Send` and
// `Sync` are claimed because `Waker::from` requires them.
unsafe impl Send for OwnsListener {}
// SAFETY: as above.
unsafe impl Sync for OwnsListener {}

impl Wake for OwnsListener {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_waker_that_owns_its_listener_is_dropped_with_the_runtime() {
    let _turn = serial();
    util::watchdog(util::LIMIT, || {
        let (rt, epfd) = runtime_with_epoll_fd()?;
        let listener_fd = rt.block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            let listener = Rc::new(AsyncFd::new(listener)?);
            let fd = listener.as_raw_fd();
            let waker = Waker::from(Arc::new(OwnsListener(listener.clone())));
            // No client: the accept waits, and the poll slot keeps the waker.
            let accept = listener.poll_read_with(&mut Context::from_waker(&waker), |l| l.accept());
            assert!(accept.is_pending());
            Ok::<_, io::Error>(fd)
        })?;
        let (listener_target, epoll_target) = (fd_target(listener_fd), fd_target(epfd));
        assert!(listener_target.is_some() && epoll_target.is_some());

        drop(rt);
        assert_ne!(
            fd_target(listener_fd),
            listener_target,
            "the listener leaked"
        );
        assert_ne!(fd_target(epfd), epoll_target, "the epoll instance leaked");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn the_epoll_instance_closes_with_its_runtime_though_a_sleep_and_an_object_live_on() {
    let _turn = serial();
    util::watchdog(util::LIMIT, || {
        let (rt, epfd) = runtime_with_epoll_fd()?;
        let probe = Arc::new(Probe::default());
        let mut nap = Box::pin(sleep(Duration::from_millis(30)));
        let socket = rt.block_on(async {
            // Registered with the runtime's timers, with the probe as waker.
            assert!(poll_with(nap.as_mut(), &probe).is_pending());
            AsyncUdpSocket::bind("127.0.0.1:0")
        })?;
        assert_eq!(Arc::strong_count(&probe), 2, "the timer holds the waker");

        drop(rt);
        assert_ne!(
            fd_target(epfd).as_deref(),
            Some(std::path::Path::new("anon_inode:[eventpoll]")),
            "the epoll instance is still open"
        );
        assert_eq!(
            Arc::strong_count(&probe),
            1,
            "the timer's waker outlived the runtime"
        );

        // The sleep, polled by another runtime, registers there and completes.
        epoll_rt::block_on(async { timeout(Duration::from_secs(2), nap).await })
            .expect("the sleep completes on the runtime that polls it");
        assert_shut_down(
            "recv",
            epoll_rt::block_on(async { socket.recv(&mut [0; 8]).await }),
        );
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

/// The epoll descriptor number of a dropped runtime goes to the next epoll instance
/// created. The old runtime's objects must never touch it again: dropping them, or taking
/// their descriptor back, leaves the new runtime's registrations as they were.
#[test]
fn objects_of_a_dropped_runtime_never_touch_a_reused_epoll_number() {
    let _turn = serial();
    util::watchdog(util::LIMIT, || {
        let (old, old_epfd) = runtime_with_epoll_fd()?;
        let (x, _x_peer) = UnixStream::pair()?;
        let (y, _y_peer) = UnixStream::pair()?;
        x.set_nonblocking(true)?;
        y.set_nonblocking(true)?;
        let (x, y) =
            old.block_on(async { Ok::<_, io::Error>((AsyncFd::new(x)?, AsyncFd::new(y)?)) })?;
        drop(old);

        let (new, new_epfd) = runtime_with_epoll_fd()?;
        assert_eq!(
            new_epfd, old_epfd,
            "the new runtime got the freed epoll number"
        );
        new.block_on(async {
            let (c, mut d) = UnixStream::pair()?;
            c.set_nonblocking(true)?;
            let c = AsyncFd::new(c)?;
            let c_fd = c.as_raw_fd();
            // A read that waits on the new runtime.
            let reader = epoll_rt::spawn(async move {
                let mut buf = [0u8; 8];
                let n = c.read_with(|mut s| s.read(&mut buf)).await?;
                Ok::<_, io::Error>(buf[..n].to_vec())
            });
            epoll_rt::yield_now().await;
            assert!(watched(new_epfd).contains(&c_fd));

            // The old runtime's objects go: one dropped, one handed back.
            drop(x);
            let y = y.into_inner();
            assert!(
                watched(new_epfd).contains(&c_fd),
                "an old object touched the new epoll"
            );
            assert!(!watched(new_epfd).contains(&y.as_raw_fd()));

            d.write_all(b"fine")?;
            let got = timeout(Duration::from_secs(2), reader)
                .await
                .expect("the new runtime's read was never woken")
                .expect("reader task")?;
            assert_eq!(got, b"fine");
            Ok::<(), io::Error>(())
        })
    })
    .unwrap();
}
