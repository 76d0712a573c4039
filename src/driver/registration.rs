//! A registration: one descriptor's place in the reactor, shared by the reactor (which
//! records readiness and wakes) and the I/O object (which reads, writes and waits).
//!
//! ```text
//!        I/O object                         reactor
//!   ┌──────────────────┐  Rc<IoState>  ┌──────────────────┐
//!   │ Registration     │──────────────▶│ readiness bits   │◀── epoll event sets bits,
//!   │  poll_io(ticket, │               │ readers: [Waker] │    takes the wakers
//!   │          op)     │               │ writers: [Waker] │    and wakes them
//!   └──────────────────┘               └──────────────────┘
//! ```
//!
//! The protocol an operation follows (in [`Registration::poll_io`]):
//!
//! 1. If the direction's readiness bit is clear, store the task's waker in the entry the
//!    operation's [`Ticket`] holds (see `waiters.rs`) and return `Pending`: the reactor
//!    will set the bit and wake the task. A future that is dropped gives its entry back
//!    with [`Registration::release`]. (Unless the runtime is not running, or shut down:
//!    then nothing would wake the task, and the answer is an error.)
//! 2. Otherwise try the operation. If it returns `WouldBlock`, the descriptor is drained:
//!    clear the bit and go back to step 1. Anything else is the result.
//!
//! The descriptor is registered once, edge-triggered, for both directions, and never
//! modified: no `epoll_ctl` per operation. tokio and mio do the same; the alternative,
//! one-shot registrations re-armed before each wait (smol's async-io), costs an `epoll_ctl`
//! per wait and is what lets async-io share one reactor among threads.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use super::Reactor;
use super::readiness::{Direction, Readiness};
use super::waiters::{Ticket, Waiters};
use crate::util::budget::Budget;
use crate::util::slab::Key;

/// What the reactor knows about one descriptor, and who is waiting on it.
///
/// Single-threaded by construction (`Cell`, `Rc`): the reactor and the I/O objects all live
/// on the runtime's thread. Only the `Waker`s inside may travel.
pub(crate) struct IoState {
    /// The descriptor registered, for traces. Never passed to the kernel again: the owner
    /// may have replaced it, and its number may belong to another object by now.
    fd: RawFd,
    /// Readiness heard from epoll and not yet consumed by a `WouldBlock`.
    readiness: Cell<Readiness>,
    /// The tasks waiting to read and to write. Usually one in each direction; several
    /// when tasks share the I/O object (two tasks accepting on one listener), and each of
    /// them must be woken.
    waiters: Waiters,
}

impl IoState {
    /// The state of `fd`, starting out ready; see [`Registration::new`] for why.
    pub(super) fn new_ready(fd: RawFd) -> Self {
        Self {
            fd,
            readiness: Cell::new(Readiness::OPTIMISTIC),
            waiters: Waiters::default(),
        }
    }

    /// Reports an event to the trace.
    pub(super) fn trace(&self, tracer: &crate::util::trace::Tracer, ready: Readiness) {
        tracer.ready(
            self.fd,
            ready.intersects(Readiness::READABLE),
            ready.intersects(Readiness::WRITABLE),
            ready.intersects(Readiness::READ_CLOSED | Readiness::WRITE_CLOSED | Readiness::ERROR),
        );
    }

    /// Forgets all readiness, so that every operation goes to wait and finds the reactor
    /// shut down, and wakes every waiting task to find it too.
    pub(super) fn shut_down(&self) {
        self.readiness.set(Readiness::EMPTY);
        self.waiters.wake(Direction::Read);
        self.waiters.wake(Direction::Write);
    }

    /// Records an event and wakes the tasks it concerns.
    ///
    /// Forced inline into the reactor's turn, which calls it for every event: left to
    /// itself, the compiler stopped inlining it when the turn grew the alarm, 12
    /// instructions more per HTTP request at 50 connections (`bench/breakdown.sh`).
    #[inline(always)]
    pub(super) fn on_event(&self, ready: Readiness) {
        self.readiness.set(self.readiness.get() | ready);
        // The peer closing (fully or only its writing half) or an error concerns both
        // directions: wake both tasks and let each re-check its own bits. A needless poll is
        // cheap; a task left asleep on a dead connection is a hang.
        let closing =
            ready.intersects(Readiness::READ_CLOSED | Readiness::WRITE_CLOSED | Readiness::ERROR);
        if closing || ready.intersects(Direction::Read.mask()) {
            self.waiters.wake(Direction::Read);
        }
        if closing || ready.intersects(Direction::Write.mask()) {
            self.waiters.wake(Direction::Write);
        }
    }
}

impl std::fmt::Debug for IoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoState")
            .field("readiness", &self.readiness.get())
            .finish_non_exhaustive()
    }
}

/// A descriptor registered with a reactor.
///
/// Dropping it frees its slot in the reactor, so no later event reaches its state. The
/// kernel's side is the owner's business: before closing the descriptor, or handing it
/// back, the owner calls [`deregister`](Self::deregister) with the descriptor it holds
/// *then*. (A descriptor number is reused as soon as it is closed: deregistering the number
/// cached at registration could remove another object's registration.)
#[derive(Debug)]
pub(crate) struct Registration {
    /// The reactor this descriptor is registered with, kept alive by us.
    reactor: Rc<Reactor>,
    /// The state shared with the reactor.
    state: Rc<IoState>,
    /// Our slot in the reactor, also the epoll token.
    key: Key,
}

impl Registration {
    /// Registers `fd` with `reactor`.
    ///
    /// The new registration assumes the descriptor is ready in both directions. The first
    /// operation therefore just tries the call, which either succeeds (an accepted client
    /// has often already sent its request) or returns `WouldBlock` and clears the bit: one
    /// syscall, instead of a trip through `epoll_wait` to learn what a try would tell.
    pub(crate) fn new(reactor: Rc<Reactor>, fd: BorrowedFd<'_>) -> io::Result<Self> {
        let state = Rc::new(IoState::new_ready(fd.as_raw_fd()));
        let key = reactor.add_source(fd, state.clone())?;
        Ok(Self {
            reactor,
            state,
            key,
        })
    }

    /// The cooperative budget of the runtime the descriptor is registered with, which
    /// each operation spends before it tries.
    #[inline]
    pub(crate) fn budget(&self) -> &Budget {
        self.reactor.budget()
    }

    /// What the reactor last heard about the descriptor, for `ready()` to report.
    pub(crate) fn readiness(&self) -> Readiness {
        self.state.readiness.get()
    }

    /// Whether an operation in `dir` may make progress (or fail fast) without waiting.
    #[inline]
    fn is_ready(&self, dir: Direction) -> bool {
        self.state.readiness.get().intersects(dir.mask())
    }

    /// `Ready` if an operation in `dir` may make progress; otherwise stores the task's
    /// waker in the ticket's entry, so the reactor can wake it, and returns `Pending`.
    ///
    /// Waiting needs the runtime running on this thread: if it is not (the object is
    /// polled by another runtime, or outside any), or if it has shut down, the answer is
    /// that error instead (see "Shutdown" in `driver/mod.rs`).
    #[inline]
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        ticket: &mut Ticket,
    ) -> Poll<io::Result<()>> {
        if self.is_ready(dir) {
            return Poll::Ready(Ok(()));
        }
        self.wait(cx, dir, ticket)
    }

    /// The waiting half of [`poll_ready`](Self::poll_ready).
    ///
    /// Forced inline: every read that finds no data comes here, and left to itself the
    /// compiler made it a call, about 15 instructions more per request in the echo
    /// benchmark (callgrind).
    #[inline(always)]
    fn wait(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        ticket: &mut Ticket,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.reactor.can_wait() {
            return Poll::Ready(Err(e));
        }
        self.state.waiters.register(dir, ticket, cx.waker());
        Poll::Pending
    }

    /// Gives back the waiter entry `ticket` holds, with its waker: the future that waited
    /// with it is being dropped. See `waiters.rs`.
    #[inline]
    pub(crate) fn release(&self, ticket: &mut Ticket) {
        ticket.release(|| &self.state.waiters);
    }

    /// Forgets that `dir` is ready: the caller knows the descriptor is drained in that
    /// direction (a short read or write), though no operation returned `WouldBlock`. A
    /// pending error stays recorded: the next operation must try, to report it.
    pub(crate) fn clear_readiness(&self, dir: Direction) {
        let state = &self.state;
        state
            .readiness
            .set(state.readiness.get().without(dir.clearable()));
    }

    /// Forgets that `dir` is ready, after an operation in `dir` returned `WouldBlock`.
    ///
    /// A pending error would have been returned instead of `WouldBlock`, so the error bit
    /// is stale too (a UDP socket's ICMP error is reported once, then the socket works
    /// on): it is forgotten as well, or every later wait would find it set and retry in a
    /// busy loop.
    pub(crate) fn clear_would_block(&self, dir: Direction) {
        let state = &self.state;
        let cleared = dir.clearable() | Readiness::ERROR;
        state.readiness.set(state.readiness.get().without(cleared));
    }

    /// Runs `op` (a non-blocking read, write, accept...) until it does something other than
    /// `WouldBlock`, waiting for readiness in `dir` between tries, with the ticket's entry.
    /// See the module docs.
    ///
    /// Before each try, `proceed` has its say: the owner's admission rule (the runtime's
    /// cooperative budget, which the driver knows nothing of; see `util/budget.rs`). Its
    /// `Pending` is passed on as is: it has seen to the task being polled again.
    ///
    /// `EINTR` is retried: a signal arriving mid-call is not the caller's concern.
    ///
    /// Inlined into each caller (every read and write): that saves a call and its register
    /// spills, about 50 instructions per request in the echo benchmark (callgrind).
    #[inline]
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        ticket: &mut Ticket,
        mut proceed: impl FnMut(&mut Context<'_>) -> Poll<()>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            ready!(self.poll_ready(cx, dir, ticket))?;
            ready!(proceed(cx));
            let result = op();
            let would_block = matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
            self.reactor.count_io(dir, would_block);
            match result {
                Err(_) if would_block => self.clear_would_block(dir),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                res => return Poll::Ready(res),
            }
        }
    }
}

impl Registration {
    /// Removes `fd`, the descriptor the owner holds now, from the epoll set. Call it while
    /// `fd` is still open, with the descriptor that was registered: a descriptor that
    /// epoll does not watch (the owner replaced its object, whose old descriptor left the
    /// set when it was closed) is refused by the kernel, harmlessly.
    pub(crate) fn deregister(&self, fd: BorrowedFd<'_>) {
        self.reactor.deregister(fd);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.remove_source(self.key);
    }
}
