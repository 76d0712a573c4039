//! Chapter 6 of the guide: a whole async runtime in one file, std and libc only.
//!
//! Read it top to bottom: the kernel's part (`Epoll`), the executor's (a run queue of
//! task ids, wakers built on `std::task::Wake`, `spawn`, `block_on`), the reactor's (a
//! map from epoll tokens to the wakers waiting on them), async sockets on top, and an
//! echo server at the end, which `main` checks against itself. Every piece has a bigger
//! sibling in `src/`; `docs/guide/06-build-it-yourself.md` names them.
//!
//! ```text
//! cargo run --example guide_ch06_build_it
//! ```
//!
//! The items are `pub` so that the exercises' solutions can reuse this file as a module.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// 1. The kernel's part: an epoll instance. Every socket is registered once, for both
//    directions, edge-triggered; its token is its descriptor number.

/// An epoll instance, closed when dropped.
pub struct Epoll {
    /// The epoll descriptor.
    fd: OwnedFd,
}

impl Epoll {
    /// Creates an epoll instance (`epoll_create1`).
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointer; it returns a new descriptor or -1.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    /// Watches `fd` for reading, writing and the peer's hang-up, edge-triggered.
    pub fn add(&self, fd: RawFd) -> io::Result<()> {
        let flags = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        self.ctl(libc::EPOLL_CTL_ADD, fd, flags as u32)
    }

    /// Stops watching `fd`. Must be called before `fd` is closed: its number is reused.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0)
    }

    /// `epoll_ctl`, with the descriptor itself as the token.
    fn ctl(&self, op: libc::c_int, fd: RawFd, flags: u32) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: flags,
            u64: fd as u64,
        };
        // SAFETY: `event` is a valid epoll_event that outlives the call.
        check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Sleeps until at least one event (or `timeout_ms`, -1 for none) and returns the
    /// tokens of the descriptors that had one.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<Vec<u64>> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
        // SAFETY: the kernel writes at most `events.len()` entries into `events`.
        let n =
            unsafe { libc::epoll_wait(self.fd.as_raw_fd(), events.as_mut_ptr(), 64, timeout_ms) };
        match check(n) {
            Ok(n) => Ok(events[..n as usize].iter().map(|event| event.u64).collect()),
            // A signal cut the sleep short: report no event, the caller loops anyway.
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

/// Turns the C convention (-1 and `errno`) into an `io::Result`.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------------------------------
// 2. The executor's part: tasks in a map keyed by id, a run queue of ids, and wakers
//    that push an id onto that queue.

/// A spawned future, boxed so that tasks of different types fit in one map.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// What a waker needs to reach its runtime from any thread.
pub struct Shared {
    /// Ids of the tasks woken and not yet polled. Behind a mutex: wakers are `Send`.
    queue: Mutex<VecDeque<usize>>,
    /// Written to by a wake from another thread, to cut `epoll_wait` short.
    eventfd: OwnedFd,
    /// The thread that runs the loop: a wake from it needs no eventfd.
    owner: ThreadId,
}

impl Shared {
    /// Queues task `id`.
    fn push(&self, id: usize) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(id);
    }

    /// Takes the next woken id. (A method, so that the lock is released before the poll.)
    fn pop(&self) -> Option<usize> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

/// The waker of one task: waking pushes the task's id onto the run queue.
struct TaskWaker {
    /// The task to poll again.
    id: usize,
    /// Its runtime's queue.
    shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let shared = &self.shared;
        // A task woken twice is queued twice, and polled once more for nothing: harmless,
        // since a future may always be polled again. (src/ keeps a state per task instead.)
        shared.push(self.id);
        if thread::current().id() != shared.owner {
            // The loop may be asleep in epoll_wait: add 1 to the eventfd's counter, which
            // makes it readable and wakes the loop.
            let one = 1u64;
            // SAFETY: writes the 8 bytes of `one`, which lives across the call.
            unsafe { libc::write(shared.eventfd.as_raw_fd(), (&raw const one).cast(), 8) };
        }
    }
}

/// One runtime per thread: epoll, tasks, the run queue, and the reactor's waiters.
pub struct Runtime {
    /// The kernel's part.
    epoll: Epoll,
    /// The run queue and the eventfd, shared with every waker.
    shared: Arc<Shared>,
    /// Tasks not finished, with their wakers, by id. A task being polled is taken out.
    tasks: RefCell<HashMap<usize, (Task, Waker)>>,
    /// The id the next `spawn` gets (0 is `block_on`'s own future).
    next_id: Cell<usize>,
    /// The reactor: for each token (descriptor), the waker of the task waiting on it.
    waiters: RefCell<HashMap<u64, Waker>>,
}

thread_local! {
    /// This thread's runtime, created at its first use.
    static RUNTIME: Runtime = Runtime::new().expect("out of descriptors for epoll or eventfd");
}

impl Runtime {
    fn new() -> io::Result<Runtime> {
        let epoll = Epoll::new()?;
        // SAFETY: eventfd takes no pointer; it returns a new descriptor or -1.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: `fd` was just created and nothing else owns it.
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        epoll.add(eventfd.as_raw_fd())?;
        let shared = Shared {
            queue: Mutex::default(),
            eventfd,
            owner: thread::current().id(),
        };
        Ok(Runtime {
            epoll,
            shared: Arc::new(shared),
            tasks: RefCell::default(),
            next_id: Cell::new(1),
            waiters: RefCell::default(),
        })
    }

    /// A waker that queues task `id`.
    fn waker(&self, id: usize) -> Waker {
        Waker::from(Arc::new(TaskWaker {
            id,
            shared: self.shared.clone(),
        }))
    }

    /// Polls task `id` once, if it still exists.
    fn run_task(&self, id: usize) {
        // Take the task out of the map while it runs: its poll may call `spawn`.
        let Some((mut task, waker)) = self.tasks.borrow_mut().remove(&id) else {
            return; // Finished already: a stale id from a second wake.
        };
        if task
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
        {
            self.tasks.borrow_mut().insert(id, (task, waker));
        }
    }

    /// Sleeps in epoll_wait, then wakes the task waiting on each descriptor that had an
    /// event. This loop is the whole reactor.
    fn park(&self) -> io::Result<()> {
        for token in self.epoll.wait(-1)? {
            if token == self.shared.eventfd.as_raw_fd() as u64 {
                // Woken from another thread: the ids are in the queue already. Reading
                // resets the counter (and the edge), so the next ring is a new event.
                let mut count = 0u64;
                // SAFETY: reads 8 bytes into `count`, which lives across the call.
                unsafe { libc::read(token as RawFd, (&raw mut count).cast(), 8) };
                continue;
            }
            // Take the waker out, *then* wake it: a waker is foreign code, and must never
            // run while we hold our own map borrowed.
            let waker = self.waiters.borrow_mut().remove(&token);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        Ok(())
    }
}

/// Runs `future` as a task of this thread's runtime; it runs while `block_on` does.
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    RUNTIME.with(|rt| {
        let id = rt.next_id.replace(rt.next_id.get() + 1);
        rt.tasks
            .borrow_mut()
            .insert(id, (Box::pin(future), rt.waker(id)));
        rt.shared.push(id);
    });
}

/// Runs `future`, and every spawned task, until `future` completes.
pub fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    const MAIN: usize = 0;
    let mut future = pin!(future);
    RUNTIME.with(|rt| {
        let waker = rt.waker(MAIN);
        waker.wake_by_ref(); // Poll the main future once to start.
        loop {
            // 1. Poll every task that was woken, in the order of the wakes.
            while let Some(id) = rt.shared.pop() {
                if id != MAIN {
                    rt.run_task(id);
                } else if let Poll::Ready(output) =
                    future.as_mut().poll(&mut Context::from_waker(&waker))
                {
                    return Ok(output);
                }
            }
            // 2. Nothing is ready: sleep until the kernel has news, and wake who waits.
            rt.park()?;
        }
    })
}

// ---------------------------------------------------------------------------------------
// 3. Async I/O: a std socket, non-blocking, registered once. An operation tries the
//    syscall; on WouldBlock it leaves its waker for the reactor and returns Pending.

/// A non-blocking std socket registered with this thread's epoll.
pub struct Async<T: AsRawFd> {
    /// The socket.
    io: T,
}

impl<T: AsRawFd> Async<T> {
    /// Registers `io`, which must already be non-blocking.
    fn new(io: T) -> io::Result<Async<T>> {
        RUNTIME.with(|rt| rt.epoll.add(io.as_raw_fd()))?;
        Ok(Async { io })
    }

    /// Try, then wait: the protocol of every operation.
    fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(&mut self.io) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                result => return Poll::Ready(result),
            }
        }
        // The kernel said "not now". Edge-triggered epoll will report the next change,
        // and we wait for it; an event that finds nothing new just costs one more try.
        let token = self.io.as_raw_fd() as u64;
        let old = RUNTIME.with(|rt| rt.waiters.borrow_mut().insert(token, cx.waker().clone()));
        drop(old); // Dropped after the borrow ends.
        Poll::Pending
    }
}

impl<T: AsRawFd> Drop for Async<T> {
    fn drop(&mut self) {
        let fd = self.io.as_raw_fd();
        // Unregister before `io` closes the descriptor; forget any waker left behind.
        // A failure cannot be reported from a destructor, and the close that follows
        // removes the registration anyway. (`try_with`: at thread exit the runtime may be
        // gone already, dropping its tasks, and this socket with them.)
        let old = RUNTIME.try_with(|rt| {
            let _ = rt.epoll.delete(fd);
            rt.waiters.borrow_mut().remove(&(fd as u64))
        });
        drop(old);
    }
}

impl Async<TcpListener> {
    /// Binds a non-blocking listener.
    pub fn bind(addr: SocketAddr) -> io::Result<Async<TcpListener>> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Async::new(listener)
    }

    /// Waits for a client and returns its connection.
    pub async fn accept(&mut self) -> io::Result<Async<TcpStream>> {
        let (stream, _peer) = poll_fn(|cx| self.poll_io(cx, |l| l.accept())).await?;
        stream.set_nonblocking(true)?;
        Async::new(stream)
    }
}

impl Async<TcpStream> {
    /// Connects. A shortcut: std's `connect` blocks until the handshake is done, which on
    /// loopback takes microseconds (src/net/tcp_stream.rs connects without blocking).
    pub fn connect(addr: SocketAddr) -> io::Result<Async<TcpStream>> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nonblocking(true)?;
        Async::new(stream)
    }

    /// Reads at least one byte, or 0 at end of file.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_io(cx, |s| s.read(buf))).await
    }

    /// Writes all of `buf`, waiting for room in the send buffer as needed.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = poll_fn(|cx| self.poll_io(cx, |s| s.write(buf))).await?;
            buf = &buf[n..];
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// 4. The echo server, and a check that it works.

/// Echoes what one client sends until it closes.
async fn echo(mut stream: Async<TcpStream>) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Accepts clients forever, one task each.
async fn serve(mut listener: Async<TcpListener>) {
    loop {
        match listener.accept().await {
            Ok(stream) => spawn(async move {
                if let Err(e) = echo(stream).await {
                    eprintln!("client: {e}");
                }
            }),
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

/// Sends `message` and reads until the whole echo is back.
async fn exchange(client: &mut Async<TcpStream>, message: &[u8]) -> io::Result<Vec<u8>> {
    client.write_all(message).await?;
    let mut echoed = vec![0u8; message.len()];
    let mut got = 0;
    while got < echoed.len() {
        match client.read(&mut echoed[got..]).await? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    Ok(echoed)
}

fn main() -> io::Result<()> {
    // A lost wake-up would hang the program: fail instead.
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: no answer after 10 s, a wake-up was lost");
        std::process::exit(1);
    });

    block_on(async {
        let listener = Async::<TcpListener>::bind("127.0.0.1:0".parse().expect("an address"))?;
        let addr = listener.io.local_addr()?;
        println!("listening on {addr}");
        spawn(serve(listener));

        // Three clients connect and all stay connected: chapter 1's server would answer
        // only the first, and these are answered last first. The last one sends 64 KiB,
        // which the server reads and echoes 4 KiB at a time.
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(Async::<TcpStream>::connect(addr)?);
        }
        for (i, client) in clients.iter_mut().enumerate().rev() {
            let message = if i == 2 {
                vec![b'x'; 64 * 1024]
            } else {
                format!("hello from {i}\n").into_bytes()
            };
            let echoed = exchange(client, &message).await?;
            assert_eq!(echoed, message, "client {i}: the echo differs");
            println!(
                "client {i}: {} bytes sent, the same {} bytes echoed",
                message.len(),
                echoed.len()
            );
        }
        Ok::<_, io::Error>(())
    })??;
    println!("all echoes match");
    Ok(())
}
