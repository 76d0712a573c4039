//! Unit tests of the reactor's internals: which waker an event reaches, what a dropped
//! registration or timer may still wake (nothing), and the order of deregistration and
//! close.
//!
//! Each test makes a reactor of its own, with no runtime around it, stores counting wakers
//! with `poll_ready` as a task would, and then calls [`Reactor::turn`] itself, always with
//! a finite timeout so that a lost wake-up ends the test instead of hanging it.
//!
//! Real sockets deliver more than one condition per event: a socket with room in its send
//! buffer reports `OUT` along with whatever else happened. To see that *only* readable data
//! wakes the writer's task, or that a hang-up wakes it, several tests first fill the send
//! buffer, so the descriptor is not writable.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_task::ArcWake;

use super::{Direction, Reactor, Registration, Ticket};
use crate::util::budget::Budget;

/// Most turns a test waits through for something to happen (each at most [`TURN`]).
const MAX_TURNS: usize = 50;

/// The timeout of one turn while waiting for something.
const TURN: Duration = Duration::from_millis(100);

/// A waker that counts how often it was woken.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Counter {
    fn new() -> Arc<Self> {
        Arc::default()
    }

    fn waker(self: &Arc<Self>) -> Waker {
        futures_task::waker(self.clone())
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl ArcWake for Counter {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that writes its id, and the moment it was woken, to a shared log.
struct Recorder {
    id: usize,
    log: Arc<Mutex<Vec<(usize, Instant)>>>,
}

impl ArcWake for Recorder {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let entry = (arc_self.id, Instant::now());
        arc_self.log.lock().expect("log poisoned").push(entry);
    }
}

thread_local! {
    /// The reactor of the test running on this thread, for wakers that register.
    static REACTOR: RefCell<Option<Rc<Reactor>>> = const { RefCell::new(None) };
}

/// Runs `test` with a new reactor (also in [`REACTOR`] while it runs).
fn with_reactor<T>(test: impl FnOnce(&Rc<Reactor>) -> T) -> T {
    let reactor = Rc::new(Reactor::new(None, Rc::new(Budget::new())).expect("a reactor"));
    // The test plays the runtime, which is running while the test calls `turn`.
    reactor.set_running(true);
    REACTOR.set(Some(reactor.clone()));
    let result = test(&reactor);
    REACTOR.set(None);
    result
}

/// Registers `fd` with the reactor of the test running on this thread.
fn register(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<Registration> {
    let reactor = REACTOR
        .with_borrow(|r| r.clone())
        .expect("inside with_reactor");
    Registration::new(reactor, fd)
}

/// Polls `registration` for `dir` as a task whose waker is `counter`'s would, through the
/// direction's poll slot (one waker per direction, replaced by each call).
fn wait_on(registration: &Registration, dir: Direction, counter: &Arc<Counter>) -> Poll<()> {
    wait_with(registration, dir, &mut Ticket::poll_slot(), counter)
}

/// Polls `registration` as a future holding `ticket` would, with `counter`'s waker.
fn wait_with(
    registration: &Registration,
    dir: Direction,
    ticket: &mut Ticket,
    counter: &Arc<Counter>,
) -> Poll<()> {
    let waker = counter.waker();
    let poll = registration.poll_ready(&mut Context::from_waker(&waker), dir, ticket);
    poll.map(|ready| ready.expect("the test's reactor counts as running"))
}

/// Turns the reactor until `done` holds, at most [`MAX_TURNS`] times; whether it held.
fn turn_until(reactor: &Reactor, done: impl Fn() -> bool) -> bool {
    for _ in 0..MAX_TURNS {
        if done() {
            return true;
        }
        reactor.turn(Some(TURN)).expect("epoll_wait");
    }
    done()
}

/// A connected pair of non-blocking Unix stream sockets.
fn socket_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

/// Writes until the send buffer is full, so the socket stops being writable.
fn fill(mut socket: &UnixStream) -> io::Result<()> {
    let chunk = [0u8; 64 * 1024];
    for _ in 0..10_000 {
        match socket.write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("the send buffer never filled up"))
}

/// Reads until nothing is left.
fn drain(mut socket: &UnixStream) -> io::Result<()> {
    let mut buf = [0u8; 64 * 1024];
    for _ in 0..10_000 {
        match socket.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("the socket never ran dry"))
}

/// A registration of `socket` that knows of no readiness yet, with a reader and a writer
/// waiting on it: the state of a descriptor whose tasks both got `WouldBlock`.
fn waiting_registration(
    reactor: &Reactor,
    socket: &UnixStream,
) -> io::Result<(Registration, Arc<Counter>, Arc<Counter>)> {
    let registration = register(socket.as_fd())?;
    // Take any event the registration itself queued (a writable socket is reported at
    // once), then forget the optimistic readiness, as a `WouldBlock` in each direction would.
    reactor.turn(Some(Duration::ZERO)).expect("epoll_wait");
    registration.clear_readiness(Direction::Read);
    registration.clear_readiness(Direction::Write);
    let (reader, writer) = (Counter::new(), Counter::new());
    assert!(wait_on(&registration, Direction::Read, &reader).is_pending());
    assert!(wait_on(&registration, Direction::Write, &writer).is_pending());
    Ok((registration, reader, writer))
}

#[test]
fn a_readable_event_wakes_only_the_reader() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, mut b) = socket_pair()?;
        fill(&a)?;
        let (registration, reader, writer) = waiting_registration(reactor, &a)?;

        b.write_all(b"x")?;
        assert!(
            turn_until(reactor, || reader.count() > 0),
            "reader never woken"
        );
        reactor.turn(Some(Duration::ZERO)).expect("epoll_wait");
        assert_eq!(reader.count(), 1);
        assert_eq!(writer.count(), 0, "a readable event woke the writer");
        assert!(wait_on(&registration, Direction::Read, &reader).is_ready());
        assert!(wait_on(&registration, Direction::Write, &writer).is_pending());
        Ok(())
    })
}

#[test]
fn a_writable_event_wakes_only_the_writer() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, b) = socket_pair()?;
        fill(&a)?;
        let (registration, reader, writer) = waiting_registration(reactor, &a)?;

        // The peer reads everything: room opens in `a`'s send buffer.
        drain(&b)?;
        assert!(
            turn_until(reactor, || writer.count() > 0),
            "writer never woken"
        );
        reactor.turn(Some(Duration::ZERO)).expect("epoll_wait");
        assert_eq!(writer.count(), 1);
        assert_eq!(reader.count(), 0, "a writable event woke the reader");
        assert!(wait_on(&registration, Direction::Write, &writer).is_ready());
        assert!(wait_on(&registration, Direction::Read, &reader).is_pending());
        Ok(())
    })
}

#[test]
fn an_event_reaches_only_its_own_registration() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a1, mut b1) = socket_pair()?;
        let (a2, mut b2) = socket_pair()?;
        let (_r1, reader1, _) = waiting_registration(reactor, &a1)?;
        let (_r2, reader2, _) = waiting_registration(reactor, &a2)?;

        b2.write_all(b"two")?;
        assert!(turn_until(reactor, || reader2.count() > 0));
        assert_eq!(reader1.count(), 0, "data for a2 woke a1's reader");

        b1.write_all(b"one")?;
        assert!(turn_until(reactor, || reader1.count() > 0));
        assert_eq!(reader2.count(), 1);
        Ok(())
    })
}

#[test]
fn every_waiting_task_is_woken() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, mut b) = socket_pair()?;
        let (registration, first, _) = waiting_registration(reactor, &a)?;
        // A second task waits on the same descriptor (two tasks sharing one socket): it
        // joins the first instead of replacing it, and the same task waiting again is not
        // added twice.
        let second = Counter::new();
        let mut ticket = Ticket::new();
        assert!(wait_with(&registration, Direction::Read, &mut ticket, &second).is_pending());
        assert!(wait_with(&registration, Direction::Read, &mut ticket, &second).is_pending());
        assert_eq!(
            Arc::strong_count(&second),
            2,
            "one copy held by the reactor"
        );

        b.write_all(b"x")?;
        assert!(turn_until(reactor, || second.count() > 0 && first.count() > 0));
        assert_eq!((first.count(), second.count()), (1, 1));
        Ok(())
    })
}

thread_local! {
    /// Registrations that a [`Reentrant`] waker drops when it is woken.
    static STASH: RefCell<Vec<Registration>> = const { RefCell::new(Vec::new()) };
}

/// A waker that, when woken, does what a foreign waker might: drops I/O objects (those in
/// [`STASH`]) and creates one. Both reach into the reactor's slab, so they would panic if
/// the reactor held it borrowed while waking.
#[derive(Default)]
struct Reentrant {
    /// How often it was woken.
    woken: AtomicUsize,
}

impl ArcWake for Reentrant {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        drop(STASH.take());
        let (socket, _peer) = socket_pair().expect("a socket pair");
        drop(register(socket.as_fd()).expect("register from inside a wake"));
        arc_self.woken.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_waker_may_reenter_the_reactor() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, mut b) = socket_pair()?;
        let registration = register(a.as_fd())?;
        reactor.turn(Some(Duration::ZERO)).expect("epoll_wait");
        registration.clear_readiness(Direction::Read);
        let reentrant = Arc::new(Reentrant::default());
        let waker = futures_task::waker(reentrant.clone());
        let mut ticket = Ticket::poll_slot();
        let poll = registration.poll_ready(
            &mut Context::from_waker(&waker),
            Direction::Read,
            &mut ticket,
        );
        assert!(poll.is_pending());
        // The waker will drop the very registration whose event wakes it.
        STASH.with_borrow_mut(|stash| stash.push(registration));

        b.write_all(b"x")?;
        assert!(turn_until(reactor, || reentrant
            .woken
            .load(Ordering::SeqCst)
            > 0));
        assert_eq!(reactor.source_count(), 0, "the waker's drops took effect");
        Ok(())
    })
}

#[test]
fn no_wake_after_deregistration() -> io::Result<()> {
    with_reactor(|reactor| {
        // The descriptor becomes ready after the registration is gone...
        let (a, mut b) = socket_pair()?;
        let (registration, reader, writer) = waiting_registration(reactor, &a)?;
        drop(registration);
        assert_eq!(reactor.source_count(), 0);
        assert_eq!(
            Arc::strong_count(&reader),
            1,
            "the reactor still holds a waker"
        );
        assert_eq!(
            Arc::strong_count(&writer),
            1,
            "the reactor still holds a waker"
        );
        b.write_all(b"late")?;
        reactor
            .turn(Some(Duration::from_millis(30)))
            .expect("epoll_wait");

        // ...or while it is still registered, with the kernel's event already queued.
        let (c, mut d) = socket_pair()?;
        let (registration, reader2, writer2) = waiting_registration(reactor, &c)?;
        d.write_all(b"early")?;
        drop(registration);
        reactor
            .turn(Some(Duration::from_millis(30)))
            .expect("epoll_wait");

        for counter in [&reader, &writer, &reader2, &writer2] {
            assert_eq!(
                counter.count(),
                0,
                "a dropped registration's waker was woken"
            );
        }
        Ok(())
    })
}

#[test]
fn peer_half_close_wakes_both_directions() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, b) = socket_pair()?;
        fill(&a)?;
        let (registration, reader, writer) = waiting_registration(reactor, &a)?;

        // `a` hears IN | RDHUP; no OUT, its buffer is still full.
        b.shutdown(Shutdown::Write)?;
        assert!(turn_until(reactor, || reader.count() > 0 && writer.count() > 0));
        assert!(wait_on(&registration, Direction::Read, &reader).is_ready());
        // The writer was told, and finds that writing may still block: the peer only
        // stopped sending.
        assert!(wait_on(&registration, Direction::Write, &writer).is_pending());
        Ok(())
    })
}

#[test]
fn hangup_wakes_both_directions() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, b) = socket_pair()?;
        fill(&a)?;
        let (registration, reader, writer) = waiting_registration(reactor, &a)?;

        // `a` hears HUP (with IN | RDHUP); no OUT, its buffer is still full.
        b.shutdown(Shutdown::Both)?;
        assert!(turn_until(reactor, || reader.count() > 0 && writer.count() > 0));
        // Both directions now fail fast rather than wait.
        assert!(wait_on(&registration, Direction::Read, &reader).is_ready());
        assert!(wait_on(&registration, Direction::Write, &writer).is_ready());
        Ok(())
    })
}

#[test]
fn error_wakes_both_directions() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, b) = socket_pair()?;
        fill(&a)?;
        let (registration, reader, writer) = waiting_registration(reactor, &a)?;

        // Closing the peer with our data unread in it resets the connection: ERR.
        drop(b);
        assert!(turn_until(reactor, || reader.count() > 0 && writer.count() > 0));
        assert!(wait_on(&registration, Direction::Read, &reader).is_ready());
        assert!(wait_on(&registration, Direction::Write, &writer).is_ready());
        let err = (&a).read(&mut [0; 8]).expect_err("the reset is reported");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        Ok(())
    })
}

#[test]
fn timers_fire_in_deadline_order_and_never_early() {
    with_reactor(|reactor| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = Instant::now();
        // Inserted out of order; ids 3 and 4 share a deadline and fire in insertion order.
        let timers = [(3, 30), (1, 10), (4, 30), (2, 20), (0, 0)];
        let mut deadlines = [start; 5];
        for (id, ms) in timers {
            let deadline = start + Duration::from_millis(ms);
            deadlines[id] = deadline;
            let log = log.clone();
            reactor.add_timer(
                deadline,
                futures_task::waker(Arc::new(Recorder { id, log })),
            );
        }
        assert_eq!(reactor.timer_count(), 5);

        // A long timeout: the nearest timer, not the caller, bounds each wait.
        assert!(turn_until(reactor, || reactor.timer_count() == 0));
        let log = log.lock().expect("log poisoned");
        let order: Vec<usize> = log.iter().map(|&(id, _)| id).collect();
        assert_eq!(order, [0, 1, 2, 3, 4]);
        for &(id, woken) in log.iter() {
            assert!(woken >= deadlines[id], "timer {id} fired early");
        }
    });
}

#[test]
fn a_removed_timer_never_wakes() {
    with_reactor(|reactor| {
        let (removed, kept) = (Counter::new(), Counter::new());
        let now = Instant::now();
        let removed_key = reactor.add_timer(now + Duration::from_millis(5), removed.waker());
        let kept_key = reactor.add_timer(now + Duration::from_millis(20), kept.waker());

        reactor.remove_timer(removed_key);
        assert_eq!(reactor.timer_count(), 1);
        assert_eq!(
            Arc::strong_count(&removed),
            1,
            "the removed timer's waker is held"
        );

        assert!(turn_until(reactor, || kept.count() > 0));
        reactor
            .turn(Some(Duration::from_millis(10)))
            .expect("epoll_wait");
        assert_eq!(removed.count(), 0);
        assert_eq!(kept.count(), 1);

        // Removing a timer that already fired is allowed, and changes nothing.
        reactor.remove_timer(kept_key);
        assert_eq!(reactor.timer_count(), 0);
    });
}

#[test]
fn updating_a_timer_replaces_its_waker() {
    with_reactor(|reactor| {
        let (old, new) = (Counter::new(), Counter::new());
        let key = reactor.add_timer(Instant::now() + Duration::from_millis(5), old.waker());
        assert!(reactor.update_timer(key, &new.waker()));
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "the replaced waker is still held"
        );

        assert!(turn_until(reactor, || new.count() > 0));
        assert_eq!(old.count(), 0);
        assert!(
            !reactor.update_timer(key, &new.waker()),
            "the timer has fired"
        );
    });
}

/// Every registered descriptor costs one `Rc<IoState>`. With the 16 bytes of reference
/// counts it must stay within 56 bytes, which malloc serves from a 64-byte chunk: this
/// test guards the budget of the README's memory-per-connection figure.
#[test]
fn io_state_fits_a_64_byte_chunk() {
    let size = std::mem::size_of::<super::IoState>();
    assert!(size <= 40, "IoState: {size} bytes");
}

#[test]
fn shutdown_wakes_waiters_drops_wakers_and_refuses_later_waits() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, _b) = socket_pair()?;
        let (registration, reader, writer) = waiting_registration(reactor, &a)?;
        let timer = Counter::new();
        reactor.add_timer(Instant::now() + Duration::from_secs(3600), timer.waker());

        reactor.shutdown();
        assert_eq!(
            (reader.count(), writer.count()),
            (1, 1),
            "both waiters woken"
        );
        for counter in [&reader, &writer, &timer] {
            assert_eq!(
                Arc::strong_count(counter),
                1,
                "a waker outlived the shutdown"
            );
        }
        assert_eq!((reactor.source_count(), reactor.timer_count()), (0, 0));

        // A wait now fails, and stores nothing; the registration's drop makes no call on
        // the closed epoll instance (there is none left to call).
        let waker = reader.waker();
        let mut ticket = Ticket::new();
        match registration.poll_ready(
            &mut Context::from_waker(&waker),
            Direction::Read,
            &mut ticket,
        ) {
            Poll::Ready(Err(e)) => assert!(e.to_string().contains("shut down"), "{e}"),
            other => panic!("a wait after the shutdown: {other:?}"),
        }
        drop(waker);
        assert_eq!(Arc::strong_count(&reader), 1);
        registration.deregister(a.as_fd());
        drop(registration);
        // Setting the phase back is ignored: the shutdown is final.
        reactor.set_running(true);
        assert!(reactor.can_wait().is_err());
        Ok(())
    })
}

#[test]
fn a_wait_while_the_runtime_is_not_running_fails() -> io::Result<()> {
    with_reactor(|reactor| {
        let (a, _b) = socket_pair()?;
        let (registration, _, _) = waiting_registration(reactor, &a)?;
        reactor.set_running(false);
        let counter = Counter::new();
        let waker = counter.waker();
        let mut ticket = Ticket::new();
        match registration.poll_ready(
            &mut Context::from_waker(&waker),
            Direction::Read,
            &mut ticket,
        ) {
            Poll::Ready(Err(e)) => assert!(e.to_string().contains("not running"), "{e}"),
            other => panic!("a wait outside the runtime: {other:?}"),
        }
        Ok(())
    })
}
