//! floor_echo: the echo server of `examples/echo_server.rs` on a bare executor that runs
//! it the way epoll-rt does, with tasks, wakers and a run queue, and keeps none of a
//! runtime's promises: a floor under what a runtime built of tasks and wakers spends per
//! request, as the C loop (`c/echo_epoll.c`) is the bound with no runtime at all.
//! `instructions.sh` counts it in the column "floor".
//!
//! ```text
//! cargo run --release --bin floor_echo -- 127.0.0.1:0
//! ```
//!
//! It keeps only what the echo needs, in safe code (std's `Wake` trait, std's socket
//! `read` and `write`, epoll-rt's plain `epoll` binding): one task per connection polled
//! through `Future::poll`, a waker per task that queues the task's index at most once, a
//! run queue, edge-triggered readiness per socket with one stored waker per direction,
//! and `epoll_wait` when nothing is ready. A short read clears read readiness and a short
//! write waits for the next `EPOLLOUT`, as in epoll-rt. What it leaves out is what makes
//! it a floor and not a runtime:
//! - a wake from another thread queues the task on *that* thread's queue, where it is lost
//!   (epoll-rt has a remote queue and an eventfd for it);
//! - no timers, no cooperative budget, no statistics, no tracing, no shutdown, no error
//!   for an object used outside its runtime;
//! - no generation check on task or source indices (a stale wake of a reused slot polls
//!   the wrong task: harmless here, because every future re-checks its readiness);
//! - no panic isolation, no `JoinHandle`, no spawn from outside a task;
//! - a waker stays stored after the future that waited is dropped (see `wait_in`);
//! - no graceful stop: SIGTERM's default action ends it (`instructions.sh` stops it so).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use epoll_rt::epoll::{Epoll, EventFlags, Events};

/// Futures spawned and not yet added to the executor's table.
type Spawned = RefCell<Vec<Pin<Box<dyn Future<Output = ()>>>>>;

thread_local! {
    /// Indices of the tasks to poll, in wake order (shared with the executor, which keeps
    /// an `Rc` of it rather than look it up at every turn).
    static READY: Rc<RefCell<VecDeque<usize>>> = Rc::default();
    /// Futures spawned during a poll, for the executor to add after it.
    static SPAWNED: Rc<Spawned> = Rc::default();
    /// The reactor of this thread's executor.
    static REACTOR: Rc<Reactor> = Rc::new(Reactor::new().expect("epoll_create1"));
}

/// What a task's waker points to.
struct Flag {
    /// The task's index in the executor's table.
    index: usize,
    /// Whether the task's index is in the run queue: a wake queues it only once.
    queued: AtomicBool,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            READY.with(|ready| ready.borrow_mut().push_back(self.index));
        }
    }
}

/// A spawned future, with its waker.
struct Task {
    /// The future, boxed.
    future: Pin<Box<dyn Future<Output = ()>>>,
    /// What its waker points to, for the executor to clear `queued` before each poll.
    flag: Arc<Flag>,
    /// Its waker, made once.
    waker: Waker,
}

/// Spawns `future` on this thread's executor.
fn spawn(future: impl Future<Output = ()> + 'static) {
    SPAWNED.with(|spawned| spawned.borrow_mut().push(Box::pin(future)));
}

/// Runs `main` and every task it spawns until `main` ends.
fn run(main: impl Future<Output = io::Result<()>> + 'static) -> io::Result<()> {
    let result = Rc::new(Cell::new(None));
    let out = result.clone();
    spawn(async move { out.set(Some(main.await)) });
    let mut tasks: Vec<Option<Task>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(256);
    let reactor = REACTOR.with(Rc::clone);
    let ready = READY.with(Rc::clone);
    let spawned = SPAWNED.with(Rc::clone);
    loop {
        // Add the tasks spawned since the last look, queued for a first poll.
        while let Some(future) = spawned.borrow_mut().pop() {
            let index = free.pop().unwrap_or(tasks.len());
            let flag = Arc::new(Flag {
                index,
                queued: AtomicBool::new(false),
            });
            let waker = Waker::from(flag.clone());
            waker.wake_by_ref();
            let task = Some(Task {
                future,
                flag,
                waker,
            });
            if index == tasks.len() {
                tasks.push(task);
            } else {
                tasks[index] = task;
            }
        }
        // Poll every queued task; a wake during its poll queues it again.
        let next = ready.borrow_mut().pop_front();
        if let Some(index) = next {
            let Some(task) = tasks[index].as_mut() else {
                continue;
            };
            task.flag.queued.store(false, Ordering::Release);
            let mut cx = Context::from_waker(&task.waker);
            if task.future.as_mut().poll(&mut cx).is_ready() {
                tasks[index] = None;
                free.push(index);
                if let Some(result) = result.take() {
                    return result;
                }
            }
            continue;
        }
        // Nothing ready: sleep in epoll_wait, then wake the tasks the events concern.
        reactor.epoll.poll(&mut events, None)?;
        for event in events.iter() {
            let source = reactor.sources.borrow()[event.token() as usize].clone();
            if let Some(source) = source {
                source.on_event(event.flags());
            }
        }
    }
}

/// The readiness of one socket, and who waits on it.
#[derive(Default)]
struct Source {
    /// Set by an event, cleared by a short read or `WouldBlock`.
    readable: Cell<bool>,
    /// Set by an event, cleared by a short write or `WouldBlock`.
    writable: Cell<bool>,
    /// The waker of the last task that waited to read (kept: see `wait_in`).
    reader: RefCell<Option<Waker>>,
    /// The waker of the last task that waited to write.
    writer: RefCell<Option<Waker>>,
}

impl Source {
    /// Records an event and wakes the tasks it concerns.
    fn on_event(&self, flags: EventFlags) {
        let closing = flags.intersects(EventFlags::HUP | EventFlags::ERR | EventFlags::RDHUP);
        if closing || flags.intersects(EventFlags::IN) {
            self.readable.set(true);
            if let Some(waker) = &*self.reader.borrow() {
                waker.wake_by_ref();
            }
        }
        if closing || flags.intersects(EventFlags::OUT) {
            self.writable.set(true);
            if let Some(waker) = &*self.writer.borrow() {
                waker.wake_by_ref();
            }
        }
    }
}

/// Stores the task's waker in `slot`, unless it is there already, and stays `Pending`.
/// The waker stays stored when the future that waited is dropped, until the socket is:
/// one clone per connection rather than one per wait, and one more promise not kept.
fn wait_in<T>(slot: &RefCell<Option<Waker>>, cx: &Context<'_>) -> Poll<T> {
    let mut slot = slot.borrow_mut();
    match &mut *slot {
        Some(waker) => waker.clone_from(cx.waker()),
        None => *slot = Some(cx.waker().clone()),
    }
    Poll::Pending
}

/// The epoll instance and the sources registered with it, indexed by token.
struct Reactor {
    /// The epoll instance, every socket registered edge-triggered.
    epoll: Epoll,
    /// The sources by token; `None` for a freed token.
    sources: RefCell<Vec<Option<Rc<Source>>>>,
    /// Freed tokens, for reuse.
    free: RefCell<Vec<usize>>,
}

impl Reactor {
    /// A reactor with a new epoll instance and no source.
    fn new() -> io::Result<Self> {
        Ok(Self {
            epoll: Epoll::new()?,
            sources: RefCell::default(),
            free: RefCell::default(),
        })
    }

    /// Registers `fd`, edge-triggered, both directions, assumed ready at first.
    fn add(&self, fd: impl AsFd) -> io::Result<(usize, Rc<Source>)> {
        let source = Rc::new(Source::default());
        source.readable.set(true);
        source.writable.set(true);
        let mut sources = self.sources.borrow_mut();
        let token = self.free.borrow_mut().pop().unwrap_or(sources.len());
        let flags = EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::ET;
        self.epoll.register_with_token(fd, flags, token as u64)?;
        if token == sources.len() {
            sources.push(Some(source.clone()));
        } else {
            sources[token] = Some(source.clone());
        }
        Ok((token, source))
    }

    /// Unregisters `fd`, still open, and frees its token.
    fn remove(&self, fd: impl AsFd, token: usize) {
        let _ = self.epoll.unregister(fd);
        self.sources.borrow_mut()[token] = None;
        self.free.borrow_mut().push(token);
    }
}

/// A non-blocking socket registered with the reactor.
struct Async<T: AsFd> {
    /// The socket, non-blocking.
    io: T,
    /// Its token in the reactor.
    token: usize,
    /// Its readiness and waiters, shared with the reactor.
    source: Rc<Source>,
}

impl<T: AsFd> Async<T> {
    /// Registers `io`, which must be non-blocking.
    fn new(io: T) -> io::Result<Self> {
        let (token, source) = REACTOR.with(|reactor| reactor.add(io.as_fd()))?;
        Ok(Self { io, token, source })
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        REACTOR.with(|reactor| reactor.remove(self.io.as_fd(), self.token));
    }
}

impl Async<TcpStream> {
    /// Reads into `buf`; a short read means the socket is drained.
    fn read<'a>(&'a self, buf: &'a mut [u8]) -> ReadFuture<'a> {
        ReadFuture { stream: self, buf }
    }

    /// Writes all of `buf`; a short write means the send buffer is full.
    fn write_all<'a>(&'a self, buf: &'a [u8]) -> WriteAll<'a> {
        WriteAll { stream: self, buf }
    }
}

/// The future of [`Async::read`]: a struct with an inlined `poll`, not a `poll_fn`, so
/// that it folds into the handler's state machine.
struct ReadFuture<'a> {
    /// The socket read.
    stream: &'a Async<TcpStream>,
    /// Where to.
    buf: &'a mut [u8],
}

impl Future for ReadFuture<'_> {
    type Output = io::Result<usize>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let source = &this.stream.source;
        loop {
            if !source.readable.get() {
                return wait_in(&source.reader, cx);
            }
            match (&this.stream.io).read(this.buf) {
                Ok(n) => {
                    if n < this.buf.len() {
                        source.readable.set(false);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => source.readable.set(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// The future of [`Async::write_all`].
struct WriteAll<'a> {
    /// The socket written.
    stream: &'a Async<TcpStream>,
    /// What is left to write.
    buf: &'a [u8],
}

impl Future for WriteAll<'_> {
    type Output = io::Result<()>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let source = &this.stream.source;
        while !this.buf.is_empty() {
            if !source.writable.get() {
                return wait_in(&source.writer, cx);
            }
            match (&this.stream.io).write(this.buf) {
                Ok(0) => return Poll::Ready(Err(ErrorKind::WriteZero.into())),
                Ok(n) => {
                    if n < this.buf.len() {
                        source.writable.set(false);
                    }
                    this.buf = &this.buf[n..];
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => source.writable.set(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Async<TcpListener> {
    /// Accepts a connection.
    fn accept(&self) -> impl Future<Output = io::Result<TcpStream>> + '_ {
        poll_fn(move |cx| {
            loop {
                if !self.source.readable.get() {
                    return wait_in(&self.source.reader, cx);
                }
                match self.io.accept() {
                    Ok((stream, _)) => return Poll::Ready(Ok(stream)),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => self.source.readable.set(false),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        })
    }
}

/// Echoes everything `stream` sends until it closes.
async fn handle(stream: TcpStream) -> io::Result<()> {
    stream.set_nonblocking(true)?;
    stream.set_nodelay(true)?;
    let stream = Async::new(stream)?;
    let mut buf = vec![0u8; 4096].into_boxed_slice();
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Accepts connections on `addr` and spawns a task echoing each.
async fn server(addr: String) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let listener = Async::new(listener)?;
    loop {
        let stream = listener.accept().await?;
        spawn(async move {
            let _ = handle(stream).await;
        });
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    run(server(addr))
}
