//! A chat server: every line a client sends goes to every other client.
//!
//! It shows state shared between tasks. Every client's tasks reach the same `Room` through
//! an `Rc<RefCell<Room>>`: no `Arc`, no `Mutex`, because the runtime is single-threaded.
//! All tasks run on the thread that called `block_on`, one at a time, and a task only
//! gives the thread back at an `.await`. So between two `.await`s a task has the room to
//! itself, and a `RefCell` (which checks, at run time, that one borrow at a time is
//! mutable) is all the protection needed. The rule that keeps it from panicking: never
//! hold a borrow across an `.await`. Every method of `Room` is a plain function, so no
//! borrow can outlive the call.
//!
//! It also shows backpressure. Each client has two tasks (the stream is split with
//! `into_split`): a reader that broadcasts the client's lines, and a writer that sends the
//! client what is waiting in its own queue, its `Outbox`. Broadcasting only appends to
//! queues, which never waits. What keeps the queues bounded is the other end: while any
//! queue holds more than its cap (1 MiB, counting what each queued message really costs),
//! no reader reads, so the senders are the ones slowed down, by TCP itself, and a client
//! that reads is never dropped because another one sent fast. A client whose queue stays
//! over the cap with no progress for 5 seconds (`--slow SECS`) is too far behind: it is
//! disconnected, and the room goes on.
//!
//! ```text
//! cargo run --example chat_server                 # listens on 127.0.0.1:33445
//! cargo run --example chat_server 127.0.0.1:0     # any free port
//! nc 127.0.0.1 33445                              # in two or more other terminals
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.
//!
//! `SIGINT` (Ctrl-C) or `SIGTERM` shuts it down gracefully: it stops accepting and
//! reading, sends each client what is queued for it, closes the connections, and exits
//! with status 0 (after `--grace SECS`, default 5, at most). A second signal exits at
//! once, with status 130 or 143.
//!
//! What clients see, one line each:
//!
//! ```text
//! * welcome 127.0.0.1:50702, 2 other(s) here     to a newcomer
//! * 127.0.0.1:50702 joined                       to everyone else
//! 127.0.0.1:50702: hello                          a line, to everyone but its sender
//! * 127.0.0.1:50702 left                         when a client leaves or is dropped
//! * line too long (limit 8192 bytes), closing    before closing a client's connection
//! ```

#[allow(dead_code)] // the rate limiter is for servers that log per request
#[path = "common/log.rs"]
mod log;
#[path = "common/shutdown.rs"]
mod shutdown;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use epoll_rt::net::{OwnedReadHalf, OwnedWriteHalf};
use epoll_rt::time::timeout;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, block_on, spawn, spawn_detached};
use shutdown::{DEFAULT_GRACE, Stop, Stopped, block_signals, parse_secs, watch_signals};

/// Longest line a client may send, without its `\n`. A longer one closes the connection,
/// so a client cannot make the server buffer without bound.
const MAX_LINE: usize = 8 * 1024;

/// Most bytes a client's queue may cost before the room stops reading (see [`Pressure`]).
const MAX_QUEUED: usize = 1024 * 1024;

/// What one queued message costs beyond its bytes, in every queue it waits in: its slot in
/// the `VecDeque` (a 16-byte `Rc<[u8]>`, times 2 since a deque may be up to half empty),
/// and its share of the message's allocation, which every recipient is charged in full
/// (the `Rc`'s two counts, 16 bytes, and the allocator's header and rounding, about 16
/// more). An empty line costs 18 bytes of text and 64 of overhead: counting the text alone
/// let a burst of empty lines take 4 times the memory the cap was meant to allow.
const ENTRY_OVERHEAD: usize = 2 * size_of::<Rc<[u8]>>() + 2 * size_of::<usize>() + 16;

/// How long a client's queue may stay over [`MAX_QUEUED`] with nothing sent to it before
/// the client is dropped, unless `--slow SECS` says otherwise.
const DEFAULT_SLOW: Duration = Duration::from_secs(5);

/// Most bytes a writer sends in one write (unless one message is longer).
const BATCH: usize = 16 * 1024;

/// How long a leaving client's writer may take to send what is still queued for it.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// The room: who is here, and how to reach them
// ---------------------------------------------------------------------------------------

/// Everyone connected, shared by all tasks as `Rc<RefCell<Room>>`.
#[derive(Default)]
struct Room {
    /// Each client's outgoing queue, by the client's address.
    members: HashMap<SocketAddr, Rc<Outbox>>,
    /// Whether some queue is over its cap, which pauses every reader.
    pressure: Rc<Pressure>,
}

/// The room's backpressure: how many queues are over [`MAX_QUEUED`], and the readers
/// waiting for that to fall to zero.
#[derive(Default)]
struct Pressure {
    /// Queues over the cap now.
    over: Cell<usize>,
    /// Readers paused until no queue is over the cap.
    paused: RefCell<Vec<Waker>>,
}

impl Pressure {
    /// Waits until no queue is over the cap.
    async fn wait_clear(&self) {
        poll_fn(|cx| {
            if self.over.get() == 0 {
                return Poll::Ready(());
            }
            let mut paused = self.paused.borrow_mut();
            if !paused.iter().any(|w| w.will_wake(cx.waker())) {
                paused.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// A queue went over the cap (`true`) or back under it (`false`).
    fn change(&self, over: bool) {
        if over {
            self.over.set(self.over.get() + 1);
            return;
        }
        self.over.set(self.over.get() - 1);
        if self.over.get() == 0 {
            // Take the wakers out before waking: no borrow is held while they run.
            let paused = std::mem::take(&mut *self.paused.borrow_mut());
            paused.into_iter().for_each(Waker::wake);
        }
    }
}

impl Room {
    /// Adds `peer`, greets it and tells the others.
    fn join(&mut self, peer: SocketAddr, outbox: Rc<Outbox>) {
        let others = self.members.len();
        outbox.push(
            format!("* welcome {peer}, {others} other(s) here\n")
                .into_bytes()
                .into(),
        );
        self.broadcast(peer, format!("* {peer} joined\n").into_bytes().into());
        self.members.insert(peer, outbox);
    }

    /// Removes `peer` and tells the others.
    fn leave(&mut self, peer: SocketAddr) {
        if self.members.remove(&peer).is_some() {
            self.broadcast(peer, format!("* {peer} left\n").into_bytes().into());
        }
    }

    /// Queues `message` for every member but `from`. Never waits: the writers send it.
    ///
    /// The message is one `Rc<[u8]>`, allocated once: every queue holds a pointer to the
    /// same bytes, however many members there are.
    fn broadcast(&self, from: SocketAddr, message: Rc<[u8]>) {
        for (&peer, outbox) in &self.members {
            if peer != from {
                outbox.push(message.clone());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The outbox: one client's queue, and the wake-up of its writer
// ---------------------------------------------------------------------------------------

/// One client's outgoing queue: the room pushes messages, the client's writer task sends
/// them. It is a hand-written single-threaded channel: a queue, plus the waker of the one
/// task that waits on it.
struct Outbox {
    /// Behind a `RefCell` because the room (pushing) and the writer (taking) both change
    /// it, from different tasks, through shared `Rc`s.
    state: RefCell<OutboxState>,
    /// The room's backpressure, told when this queue goes over its cap and back.
    pressure: Rc<Pressure>,
}

/// What an [`Outbox`] holds.
#[derive(Default)]
struct OutboxState {
    /// Messages not yet taken by the writer (which copies a batch of them at a time into
    /// its own buffer, of at most [`BATCH`] bytes or one message).
    messages: VecDeque<Rc<[u8]>>,
    /// What `messages` costs: their bytes, plus [`ENTRY_OVERHEAD`] each.
    queued: usize,
    /// Whether `queued` is over [`MAX_QUEUED`] (and counted in the room's `Pressure`).
    over: bool,
    /// The writer task, if it waits for a message (or, while writing, for a hang-up).
    waker: Option<Waker>,
    /// Set once the client is leaving: nothing more is queued, the writer sends what is
    /// left and ends.
    closed: bool,
    /// Set if the client stayed over [`MAX_QUEUED`] with no progress for the `--slow`
    /// time: the writer stops at once, mid-message if need be, and hangs up.
    dropped: bool,
}

/// What the writer should do next, from [`Outbox::next`].
enum Next {
    /// Send the batch of messages just taken from the queue.
    Send,
    /// The client is leaving and everything queued was sent: end normally.
    Finished,
    /// The client is too far behind: hang up now.
    Dropped,
}

impl Outbox {
    /// An empty queue in a room with this `pressure`.
    fn new(pressure: Rc<Pressure>) -> Self {
        Self {
            state: RefCell::default(),
            pressure,
        }
    }

    /// Queues `message`. Never refuses: the room stops reading while a queue is over its
    /// cap, so a queue overshoots it by at most the messages of one line.
    fn push(&self, message: Rc<[u8]>) {
        let mut state = self.state.borrow_mut();
        if state.closed || state.dropped {
            return;
        }
        state.queued += message.len() + ENTRY_OVERHEAD;
        state.messages.push_back(message);
        self.update_pressure(&mut state);
        // A writer busy with an earlier message does not need waking: it comes back to
        // the queue when done. (Waking it anyway would only cost a useless poll.)
        if state.messages.len() > 1 {
            return;
        }
        // Waking only marks the writer task ready; it runs later, after this task yields.
        // So the `borrow_mut` above is long gone by the time the writer borrows.
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// Tells the room's `Pressure` if the queue crossed its cap, either way.
    fn update_pressure(&self, state: &mut OutboxState) {
        let over = state.queued > MAX_QUEUED;
        if over != state.over {
            state.over = over;
            self.pressure.change(over);
        }
    }

    /// Empties the queue, freeing its memory now rather than when the writer notices.
    fn clear(&self) {
        let mut state = self.state.borrow_mut();
        state.messages = VecDeque::new();
        state.queued = 0;
        self.update_pressure(&mut state);
    }

    /// Drops the client: it stayed too far behind for too long.
    fn drop_slow(&self) {
        self.state.borrow_mut().dropped = true;
        self.clear();
    }

    /// Whether the queue is over its cap.
    fn is_over(&self) -> bool {
        self.state.borrow().over
    }

    /// Tells the writer that nothing more will come: it sends what is queued, then ends.
    fn close(&self) {
        let mut state = self.state.borrow_mut();
        state.closed = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// Waits for messages to send, and moves as many as fit in [`BATCH`] bytes (at least
    /// one) from the queue to `batch`, to go out in one write: a burst of short lines to
    /// a large room would otherwise cost one system call per line and recipient.
    async fn next(&self, batch: &mut Vec<u8>) -> Next {
        poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
            if state.dropped {
                return Poll::Ready(Next::Dropped);
            }
            if state.messages.is_empty() {
                if state.closed {
                    return Poll::Ready(Next::Finished);
                }
                // The contract of `Pending`: leave a waker where the event will find it.
                state.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            while let Some(message) = state.messages.front() {
                if !batch.is_empty() && batch.len() + message.len() > BATCH {
                    break;
                }
                batch.extend_from_slice(message);
                state.queued -= message.len() + ENTRY_OVERHEAD;
                state.messages.pop_front();
            }
            self.update_pressure(&mut state);
            // A deque keeps its largest capacity: give a burst's memory back once drained.
            if state.messages.is_empty() && state.messages.capacity() > 64 {
                state.messages = VecDeque::new();
            }
            Poll::Ready(Next::Send)
        })
        .await
    }

    /// Whether nothing waits in the queue.
    fn is_empty(&self) -> bool {
        self.state.borrow().messages.is_empty()
    }

    /// Whether the client has been dropped.
    fn is_dropped(&self) -> bool {
        self.state.borrow().dropped
    }

    /// Ready once the client has been dropped; otherwise registers the writer's waker.
    fn poll_dropped(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state.borrow_mut();
        if state.dropped {
            Poll::Ready(())
        } else {
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

// ---------------------------------------------------------------------------------------
// One client: a reader task and a writer task
// ---------------------------------------------------------------------------------------

/// The writer task: sends the client what its outbox holds, until the client leaves (and
/// the queue is empty), is dropped, or the connection fails. A client whose queue is over
/// its cap and who takes none of it for `slow` is dropped.
async fn write_loop(mut writer: OwnedWriteHalf, outbox: Rc<Outbox>, slow: Duration) {
    let mut batch = Vec::new();
    'messages: loop {
        batch.clear();
        if outbox.is_empty() {
            batch = Vec::new(); // an idle client keeps no buffer
        }
        match outbox.next(&mut batch).await {
            Next::Send => {}
            Next::Finished | Next::Dropped => break,
        }
        let mut rest = &batch[..];
        while !rest.is_empty() {
            // A client that stopped reading leaves this write waiting forever. So wait
            // for whichever comes first: room in the socket, or being dropped. Dropping
            // the unfinished write is fine because `write` is cancel-safe.
            let mut write = pin!(writer.write(rest));
            let step = poll_fn(|cx| {
                if outbox.poll_dropped(cx).is_ready() {
                    return Poll::Ready(None);
                }
                write.as_mut().poll(cx).map(Some)
            });
            // No progress for `slow`: if the queue is over its cap, the whole room is
            // waiting for this client, so it goes. Otherwise it may take its time.
            let step = match timeout(slow, step).await {
                Ok(step) => step,
                Err(_) if outbox.is_over() => {
                    outbox.drop_slow();
                    None
                }
                Err(_) => continue,
            };
            match step {
                Some(Ok(n)) if n > 0 => rest = &rest[n..],
                _ => break 'messages, // dropped, an error, or a zero-length write
            }
        }
    }
    // Hang up both directions. A reader waiting for data then reads end of file, so a
    // dropped client's reader ends too, down the same path as a client that left.
    let _ = writer.stream().shutdown(Shutdown::Both);
}

/// How a reader ended.
enum Ending {
    /// The client closed the connection, or it failed.
    Gone,
    /// The client sent a line longer than [`MAX_LINE`].
    LineTooLong,
}

/// The reader: broadcasts every line the client sends, prefixed with its address, until
/// the client leaves or the server stops.
async fn read_loop(
    reader: &mut OwnedReadHalf,
    peer: SocketAddr,
    room: &RefCell<Room>,
    outbox: &Outbox,
    stopped: &mut Stopped,
) -> Ending {
    let pressure = room.borrow().pressure.clone();
    // `buf[..filled]` holds at most one partial line, never a `\n`.
    let mut buf = vec![0u8; MAX_LINE + 1];
    let mut filled = 0;
    let prefix = format!("{peer}: ");
    loop {
        // The buffer has room for a whole line and its `\n`: full means too long.
        if filled == buf.len() {
            return Ending::LineTooLong;
        }
        // Backpressure: no reading while some queue is over its cap.
        if stopped.unless(pressure.wait_clear()).await.is_none() {
            return Ending::Gone;
        }
        let n = match stopped.unless(reader.read(&mut buf[filled..])).await {
            None | Some(Ok(0) | Err(_)) => return Ending::Gone,
            Some(Ok(n)) => n,
        };
        // A dropped client's writer has shut the socket down, but bytes that were already
        // on their way can still be read: stop at the first read after the drop.
        if outbox.is_dropped() {
            return Ending::Gone;
        }
        // Only the new bytes can hold a `\n`: the old ones were searched already.
        let mut start = 0;
        let mut search = filled;
        filled += n;
        while let Some(i) = buf[search..filled].iter().position(|&b| b == b'\n') {
            let end = search + i;
            let line = buf[start..end]
                .strip_suffix(b"\r")
                .unwrap_or(&buf[start..end]);
            let mut message = Vec::with_capacity(prefix.len() + line.len() + 1);
            message.extend_from_slice(prefix.as_bytes());
            message.extend_from_slice(line);
            message.push(b'\n');
            // The borrow lasts for this statement only: no `.await` while the room is
            // borrowed, so no other task can find it borrowed.
            room.borrow().broadcast(peer, message.into());
            start = end + 1;
            search = start;
            // Backpressure between the lines of one read, too: a read may hold thousands.
            if pressure.over.get() > 0 && stopped.unless(pressure.wait_clear()).await.is_none() {
                return Ending::Gone;
            }
        }
        // Move the partial line that follows, if any, to the front.
        if start > 0 {
            buf.copy_within(start..filled, 0);
            filled -= start;
        }
    }
}

/// Serves one client from join to leave.
async fn client(
    stream: AsyncTcpStream,
    peer: SocketAddr,
    room: Rc<RefCell<Room>>,
    stop: Rc<Stop>,
    slow: Duration,
) {
    let _live = stop.live();
    let (mut reader, writer) = stream.into_split();
    let outbox = Rc::new(Outbox::new(room.borrow().pressure.clone()));
    room.borrow_mut().join(peer, outbox.clone());
    let mut writer_task = spawn(write_loop(writer, outbox.clone(), slow));

    let ending = read_loop(&mut reader, peer, &room, &outbox, &mut stop.wait()).await;
    if let Ending::LineTooLong = ending {
        let notice = format!("* line too long (limit {MAX_LINE} bytes), closing\n");
        outbox.push(notice.into_bytes().into());
    }
    room.borrow_mut().leave(peer);

    // Let the writer send what is still queued (the notice, say), within reason: a client
    // that does not read would keep it waiting forever.
    outbox.close();
    if timeout(DRAIN_LIMIT, &mut writer_task).await.is_err() {
        writer_task.abort();
    }
    // What the writer did not send no longer counts against the room's pressure.
    outbox.clear();
    // Dropping `reader` here, after the writer task ended, closes the socket.
}

/// Accepts clients until the server stops, one task each.
async fn accept_loop(listener: AsyncTcpListener, stop: Rc<Stop>, slow: Duration) -> io::Result<()> {
    let room = Rc::new(RefCell::new(Room::default()));
    loop {
        let (stream, peer) = listener.accept().await?;
        // Lines are small and meant to be seen at once: no Nagle delay.
        stream.set_nodelay(true)?;
        spawn_detached(client(stream, peer, room.clone(), stop.clone(), slow));
    }
}

/// Serves until a signal, then shuts down gracefully.
async fn server(addr: String, grace: Duration, slow: Duration) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    let stop = Rc::new(Stop::default());
    let on_signal = stop.clone();
    spawn_detached(watch_signals(move || on_signal.fire()));
    stop.serve(grace, accept_loop(listener, stop.clone(), slow))
        .await
}

/// `chat_server [ADDR] [--grace SECS] [--slow SECS]`
fn main() -> io::Result<()> {
    // Before any thread exists, so that all inherit the mask.
    block_signals()?;
    let mut addr = "127.0.0.1:33445".to_owned();
    let mut grace = DEFAULT_GRACE;
    let mut slow = DEFAULT_SLOW;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--grace" => grace = parse_secs("--grace", args.next())?,
            "--slow" => slow = parse_secs("--slow", args.next())?,
            _ => addr = arg,
        }
    }
    block_on(server(addr, grace, slow))
}
