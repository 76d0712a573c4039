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
//! It also shows backpressure done per client. The broadcaster must never wait for a slow
//! client, or one client on a bad link would stall the whole room. So each client has two
//! tasks (the stream is split with `into_split`): a reader that broadcasts the client's
//! lines, and a writer that sends the client what is waiting in its own queue, its
//! `Outbox`. Broadcasting only appends to queues, which never waits; a client whose queue
//! grows past 1 MiB is too far behind and is disconnected.
//!
//! ```text
//! cargo run --example chat_server                 # listens on 127.0.0.1:33445
//! cargo run --example chat_server 127.0.0.1:0     # any free port
//! nc 127.0.0.1 33445                              # in two or more other terminals
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.
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

use std::cell::RefCell;
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
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, block_on, spawn};

/// Longest line a client may send, without its `\n`. A longer one closes the connection,
/// so a client cannot make the server buffer without bound.
const MAX_LINE: usize = 8 * 1024;

/// Most bytes that may wait in a client's queue. A client that falls further behind
/// (it does not read, or reads more slowly than the room talks) is disconnected.
const MAX_QUEUED: usize = 1024 * 1024;

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
#[derive(Default)]
struct Outbox {
    /// Behind a `RefCell` because the room (pushing) and the writer (taking) both change
    /// it, from different tasks, through shared `Rc`s.
    state: RefCell<OutboxState>,
}

/// What an [`Outbox`] holds.
#[derive(Default)]
struct OutboxState {
    /// Messages not yet sent. The one being written stays at the front until it is all
    /// written, so `queued` counts it too.
    messages: VecDeque<Rc<[u8]>>,
    /// Bytes in `messages`: how far behind the client is.
    queued: usize,
    /// The writer task, if it waits for a message (or, while writing, for a hang-up).
    waker: Option<Waker>,
    /// Set once the client is leaving: nothing more is queued, the writer sends what is
    /// left and ends.
    closed: bool,
    /// Set if the client fell more than [`MAX_QUEUED`] bytes behind: the writer stops at
    /// once, mid-message if need be, and hangs up.
    dropped: bool,
}

/// What the writer should do next, from [`Outbox::next`].
enum Next {
    /// Send this message.
    Send(Rc<[u8]>),
    /// The client is leaving and everything queued was sent: end normally.
    Finished,
    /// The client is too far behind: hang up now.
    Dropped,
}

impl Outbox {
    /// Queues `message`, or drops the client if that would put it too far behind.
    fn push(&self, message: Rc<[u8]>) {
        let mut state = self.state.borrow_mut();
        if state.closed || state.dropped {
            return;
        }
        if state.queued + message.len() > MAX_QUEUED {
            state.dropped = true;
            state.messages.clear(); // frees the memory now, not when the writer notices
            state.queued = 0;
        } else {
            state.queued += message.len();
            state.messages.push_back(message);
            // A writer busy with an earlier message does not need waking: it comes back
            // to the queue when done. (Waking it anyway would only cost a useless poll.)
            if state.messages.len() > 1 {
                return;
            }
        }
        // Waking only marks the writer task ready; it runs later, after this task yields.
        // So the `borrow_mut` above is long gone by the time the writer borrows.
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// Tells the writer that nothing more will come: it sends what is queued, then ends.
    fn close(&self) {
        let mut state = self.state.borrow_mut();
        state.closed = true;
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }

    /// Waits for the next message to send. It stays at the front of the queue until
    /// [`sent`](Self::sent) removes it.
    async fn next(&self) -> Next {
        poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
            if state.dropped {
                Poll::Ready(Next::Dropped)
            } else if let Some(message) = state.messages.front() {
                Poll::Ready(Next::Send(message.clone()))
            } else if state.closed {
                Poll::Ready(Next::Finished)
            } else {
                // The contract of `Pending`: leave a waker where the event will find it.
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Removes the front message, now written.
    fn sent(&self) {
        let mut state = self.state.borrow_mut();
        if let Some(message) = state.messages.pop_front() {
            state.queued -= message.len();
        }
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
/// the queue is empty), is dropped, or the connection fails.
async fn write_loop(mut writer: OwnedWriteHalf, outbox: Rc<Outbox>) {
    'messages: loop {
        let message = match outbox.next().await {
            Next::Send(message) => message,
            Next::Finished | Next::Dropped => break,
        };
        let mut rest = &message[..];
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
            })
            .await;
            match step {
                Some(Ok(n)) if n > 0 => rest = &rest[n..],
                _ => break 'messages, // dropped, an error, or a zero-length write
            }
        }
        outbox.sent();
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

/// The reader: broadcasts every line the client sends, prefixed with its address.
async fn read_loop(
    reader: &mut OwnedReadHalf,
    peer: SocketAddr,
    room: &RefCell<Room>,
    outbox: &Outbox,
) -> Ending {
    // `buf[..filled]` holds at most one partial line, never a `\n`.
    let mut buf = vec![0u8; MAX_LINE + 1];
    let mut filled = 0;
    let prefix = format!("{peer}: ");
    loop {
        // The buffer has room for a whole line and its `\n`: full means too long.
        if filled == buf.len() {
            return Ending::LineTooLong;
        }
        let n = match reader.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return Ending::Gone,
            Ok(n) => n,
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
        }
        // Move the partial line that follows, if any, to the front.
        if start > 0 {
            buf.copy_within(start..filled, 0);
            filled -= start;
        }
    }
}

/// Serves one client from join to leave.
async fn client(stream: AsyncTcpStream, peer: SocketAddr, room: Rc<RefCell<Room>>) {
    let (mut reader, writer) = stream.into_split();
    let outbox = Rc::new(Outbox::default());
    room.borrow_mut().join(peer, outbox.clone());
    let mut writer_task = spawn(write_loop(writer, outbox.clone()));

    let ending = read_loop(&mut reader, peer, &room, &outbox).await;
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
    // Dropping `reader` here, after the writer task ended, closes the socket.
}

/// Accepts clients forever, one reader task each.
async fn server(addr: String) -> io::Result<()> {
    let listener = AsyncTcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;

    let room = Rc::new(RefCell::new(Room::default()));
    loop {
        let (stream, peer) = listener.accept().await?;
        // Lines are small and meant to be seen at once: no Nagle delay.
        stream.set_nodelay(true)?;
        spawn(client(stream, peer, room.clone()));
    }
}

/// `chat_server [ADDR]`
fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:33445".into());
    block_on(server(addr))
}
