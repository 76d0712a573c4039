//! Cancelled waits leave nothing behind.
//!
//! A future that waits for I/O leaves its task's waker with the reactor. If the future is
//! dropped before the descriptor becomes ready (a `timeout` fired, a `select` took another
//! branch), that waker must go with it: kept until the next event on the descriptor, an
//! idle socket would pile up one waker per cancelled wait, without bound, each keeping its
//! task's header alive.
//!
//! The tests poll the runtime's futures by hand with a probe waker, whose `Arc` count
//! says how many copies of it exist: after the future is dropped, only the test's own.

mod util;

use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::net::UdpSocket;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use epoll_rt::net::{AsyncUdpSocket, AsyncUnixDatagram, AsyncUnixStream};
use epoll_rt::time::{sleep, timeout};
use epoll_rt::{AsyncFd, AsyncTcpListener, AsyncTcpStream, Interest};

/// A waker that counts its wakes and, through a shared counter, how many probes live.
struct Probe {
    /// Times it was woken.
    wakes: AtomicUsize,
    /// Probes alive, shared by a family of probes.
    live: Arc<AtomicUsize>,
}

impl Probe {
    /// A probe of its own family.
    fn new() -> Arc<Self> {
        Self::counted(&Arc::default())
    }

    /// A probe counted in `live` until it is dropped.
    fn counted(live: &Arc<AtomicUsize>) -> Arc<Self> {
        live.fetch_add(1, Ordering::SeqCst);
        Arc::new(Self {
            wakes: AtomicUsize::new(0),
            live: live.clone(),
        })
    }

    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for Probe {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Polls `future` once with `probe`'s waker and returns the result.
fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, probe: &Arc<Probe>) -> Poll<F::Output> {
    let waker = Waker::from(probe.clone());
    future.poll(&mut Context::from_waker(&waker))
}

/// Polls `future` once with a new probe, checks that it waits, drops it, and checks that
/// the reactor kept no copy of the probe.
fn assert_cancel_releases<F: Future>(what: &str, future: F) {
    let probe = Probe::new();
    let mut future = Box::pin(future);
    assert!(
        poll_with(future.as_mut(), &probe).is_pending(),
        "{what}: nothing to do, so it should wait"
    );
    assert_eq!(
        Arc::strong_count(&probe),
        2,
        "{what}: the waiting future stored its waker"
    );
    drop(future);
    assert_eq!(
        Arc::strong_count(&probe),
        1,
        "{what}: a cancelled wait left its waker with the reactor"
    );
}

/// `future` with its output discarded, so futures of different types fit one check.
async fn ignore<F: Future>(future: F) {
    let _ = future.await;
}

#[test]
fn a_cancelled_accept_takes_its_waker_back() {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        assert_cancel_releases("accept", ignore(listener.accept()));
        // The listener still works.
        let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let (_server, peer) = timeout(Duration::from_secs(5), listener.accept()).await??;
        assert_eq!(peer, client.local_addr()?);
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn cancelled_reads_and_receives_take_their_wakers_back() {
    util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        let mut buf = [0u8; 16];
        assert_cancel_releases("TCP read", ignore(client.read(&mut buf)));
        assert_cancel_releases("TCP read_exact", ignore(client.read_exact(&mut buf)));
        {
            let (mut rd, _wr) = client.split();
            assert_cancel_releases("TCP read half", ignore(rd.read(&mut buf)));
        }
        let mut slices = [IoSliceMut::new(&mut buf)];
        assert_cancel_releases(
            "TCP read_vectored",
            ignore(client.read_vectored(&mut slices)),
        );
        assert_cancel_releases("TCP peek", ignore(client.peek(&mut buf)));
        // A new socket is optimistically readable: a try that finds nothing forgets that,
        // so the readiness waits below wait.
        assert!(client.try_read(&mut buf).is_err());
        assert_cancel_releases("TCP readable", ignore(client.readable()));
        assert_cancel_releases("TCP ready", ignore(client.ready(Interest::READABLE)));

        let (mut a, _b) = AsyncUnixStream::pair()?;
        assert_cancel_releases("Unix read", ignore(a.read(&mut buf)));
        let mut slices = [IoSliceMut::new(&mut buf)];
        assert_cancel_releases("Unix read_vectored", ignore(a.read_vectored(&mut slices)));
        {
            let (mut rd, _wr) = a.split();
            assert_cancel_releases("Unix read half", ignore(rd.read(&mut buf)));
        }

        let udp = AsyncUdpSocket::bind("127.0.0.1:0")?;
        assert_cancel_releases("UDP recv_from", ignore(udp.recv_from(&mut buf)));
        assert_cancel_releases("UDP recv", ignore(udp.recv(&mut buf)));
        assert_cancel_releases("UDP peek_from", ignore(udp.peek_from(&mut buf)));
        assert_cancel_releases("UDP peek", ignore(udp.peek(&mut buf)));
        assert!(udp.try_recv(&mut buf).is_err());
        assert_cancel_releases("UDP readable", ignore(udp.readable()));

        let (d, _e) = AsyncUnixDatagram::pair()?;
        assert_cancel_releases("Unix datagram recv", ignore(d.recv(&mut buf)));
        assert_cancel_releases("Unix datagram recv_from", ignore(d.recv_from(&mut buf)));
        assert_cancel_releases("Unix datagram peek", ignore(d.peek(&mut buf)));
        assert_cancel_releases("Unix datagram peek_from", ignore(d.peek_from(&mut buf)));
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn a_cancelled_write_takes_its_waker_back() {
    util::run(|| async {
        let (a, _b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        util::fill(&a)?;
        let mut a = AsyncUnixStream::from_std(a)?;
        assert_cancel_releases("Unix write", ignore(a.write(b"more")));
        assert_cancel_releases("Unix write_all", ignore(a.write_all(b"more")));
        let slices = [IoSlice::new(b"more")];
        assert_cancel_releases("Unix write_vectored", ignore(a.write_vectored(&slices)));
        assert!(a.try_write(b"more").is_err());
        assert_cancel_releases("Unix writable", ignore(a.writable()));
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

#[test]
fn cancelled_async_fd_waits_take_their_wakers_back() {
    util::run(|| async {
        let (a, _b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        let a = AsyncFd::new(a)?;
        // A new registration is optimistic: forget that, so the waits below wait.
        a.readable().await?.clear_ready();
        assert_cancel_releases("readable", ignore(a.readable()));
        assert_cancel_releases(
            "read_with",
            ignore(a.read_with(|mut s| s.read(&mut [0; 1]))),
        );
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

/// The leak as it was reported: many tasks waiting, with a timeout, to receive on one
/// idle shared socket. Each abandoned receive must take its task's waker back at once, not
/// at the next datagram, which may never come.
#[test]
fn twenty_thousand_timed_out_receives_hold_no_waker() {
    const TASKS: usize = 20_000;
    util::run(|| async {
        let socket = Rc::new(AsyncUdpSocket::bind("127.0.0.1:0")?);
        let live = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::with_capacity(TASKS);
        for _ in 0..TASKS {
            let (socket, live) = (socket.clone(), live.clone());
            tasks.push(epoll_rt::spawn(async move {
                let mut buf = [0u8; 16];
                // The receive waits with a probe of its own as its waker (the timeout,
                // with the task's, is what ends it).
                let probe = Probe::counted(&live);
                let mut recv = Box::pin(socket.recv_from(&mut buf));
                let waited = timeout(
                    Duration::from_millis(1),
                    std::future::poll_fn(|_| poll_with(recv.as_mut(), &probe)),
                )
                .await;
                waited.is_err()
            }));
        }
        let mut timed_out = 0;
        for task in tasks {
            timed_out += usize::from(task.await.expect("task"));
        }
        assert_eq!(
            timed_out, TASKS,
            "no datagram was sent: every receive times out"
        );
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "the reactor still holds the wakers of cancelled receives"
        );

        // The socket still receives.
        let sender = UdpSocket::bind("127.0.0.1:0")?;
        sender.send_to(b"after", socket.local_addr()?)?;
        let mut buf = [0u8; 16];
        let (n, _) = timeout(Duration::from_secs(5), socket.recv_from(&mut buf)).await??;
        assert_eq!(&buf[..n], b"after");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

/// A task waiting twice on one direction of one socket (two branches of a `select`), then
/// dropping one wait: both waits stored the same waker, and removing the dropped one's
/// must leave the other's in place.
#[test]
fn dropping_one_of_two_waits_of_a_task_leaves_the_other_woken() {
    util::run(|| async {
        let (sender, socket) = (
            UdpSocket::bind("127.0.0.1:0")?,
            AsyncUdpSocket::bind("127.0.0.1:0")?,
        );
        let probe = Probe::new();
        let (mut buf1, mut buf2) = ([0u8; 16], [0u8; 16]);
        let mut first = Box::pin(socket.recv(&mut buf1));
        let mut second = Box::pin(socket.recv(&mut buf2));
        assert!(poll_with(first.as_mut(), &probe).is_pending());
        assert!(poll_with(second.as_mut(), &probe).is_pending());
        drop(first);

        sender.send_to(b"one", socket.local_addr()?)?;
        // Let the loop hear the datagram and wake whoever waits.
        for _ in 0..100 {
            if probe.wakes() > 0 {
                break;
            }
            sleep(Duration::from_millis(10)).await;
        }
        assert!(probe.wakes() > 0, "the remaining receive was not woken");
        match poll_with(second.as_mut(), &probe) {
            Poll::Ready(n) => assert_eq!(n?, 3),
            Poll::Pending => panic!("woken, but the datagram is not there"),
        }
        drop(second);
        assert_eq!(Arc::strong_count(&probe), 1);
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

/// The poll methods have no future to remember their wait: they keep one waker per
/// direction, the last one given, as tokio's `poll_read_ready` does.
#[test]
fn poll_methods_keep_only_the_last_waker() {
    util::run(|| async {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        let socket = AsyncFd::new(socket)?;
        let probes: Vec<_> = (0..100).map(|_| Probe::new()).collect();
        let mut buf = [0u8; 16];
        for probe in &probes {
            let waker = Waker::from(probe.clone());
            let mut cx = Context::from_waker(&waker);
            assert!(
                socket
                    .poll_read_with(&mut cx, |s| s.recv(&mut buf))
                    .is_pending()
            );
        }
        let (last, earlier) = probes.split_last().expect("100 probes");
        for probe in earlier {
            assert_eq!(
                Arc::strong_count(probe),
                1,
                "a replaced waker is still held"
            );
        }
        assert_eq!(Arc::strong_count(last), 2, "the last waker is held");
        Ok::<(), io::Error>(())
    })
    .unwrap();
}
