//! # epoll-rt: an async runtime you can read in an afternoon
//!
//! A single-threaded async runtime for Linux, built directly on epoll. It grew from the
//! classic Python tutorial that creates `select.epoll()`, registers a listening socket for
//! `EPOLLIN` and loops on `epoll.poll()`, and turns that loop into `async fn`s:
//!
//! ```no_run
//! // A server runs forever, so this example is compiled but not run.
//! use epoll_rt::{block_on, spawn, AsyncTcpListener, AsyncTcpStream};
//!
//! async fn handle(mut stream: AsyncTcpStream) -> std::io::Result<()> {
//!     let mut buf = vec![0u8; 4096];
//!     loop {
//!         let n = stream.read(&mut buf).await?;
//!         if n == 0 {
//!             return Ok(());
//!         }
//!         stream.write_all(&buf[..n]).await?;
//!     }
//! }
//!
//! async fn server() -> std::io::Result<()> {
//!     let listener = AsyncTcpListener::bind("127.0.0.1:33445")?;
//!     loop {
//!         let (stream, _peer) = listener.accept().await?;
//!         spawn(handle(stream));
//!     }
//! }
//!
//! fn main() -> std::io::Result<()> {
//!     block_on(server())
//! }
//! ```
//!
//! # One turn of the loop
//!
//! ```text
//!  block_on(server())
//!       │
//!       ▼
//!  ┌─────────────────────┐  pop id, poll task   ┌──────────────────────────────┐
//!  │ run ready tasks     │─────────────────────▶│ task: read() → WouldBlock →  │
//!  │ (run queue of ids)  │◀──── Pending ────────│ store waker in the reactor   │
//!  └─────────────────────┘                      └──────────────────────────────┘
//!       │ queue empty
//!       ▼
//!  ┌─────────────────────┐   events    ┌───────────────────────────────────────┐
//!  │ epoll_wait (sleeps; │────────────▶│ reactor: token → registration → set   │
//!  │ timeout = next timer)│            │ readiness, take waker, waker.wake()   │
//!  └─────────────────────┘             └───────────────────────────────────────┘
//!       ▲                                        │ wake = push task id
//!       └──────────── tasks re-queued ◀──────────┘ (from another thread: + eventfd)
//! ```
//!
//! # Layers
//!
//! The crate is built in floors, each using only the floors below it (`tests/layers.rs`
//! checks every `use crate::` line against this order):
//!
//! ```text
//!  resources   AsyncFd, net, time, signal, task,   what programs use; each looks the
//!     │        process, fs                         runtime up once and keeps its handle
//!  runtime     Runtime, block_on, context,         ties a scheduler to a driver for a thread;
//!     │        threads, blocking pool              blocking closures run on a pool
//!     │
//!  scheduler   tasks, run queue, remote queue      polls futures; knows nothing of epoll
//!     │
//!  driver      Reactor: epoll, registrations,      waits for the kernel and wakes wakers;
//!     │        waiters, timers                     knows nothing of tasks
//!  util        slab, counters, budget, trace       leaf pieces every floor may use
//!     │
//!  sys         epoll, eventfd, sockets, signalfd,  every `unsafe` line of the crate
//!              pidfds
//! ```
//!
//! # Reading order
//!
//! New to event loops? Start with the guide, `docs/guide/README.md`; then the code, floor
//! by floor from the bottom:
//! 1. [`epoll`]: the kernel interface, safe and usable on its own (`src/sys/epoll.rs`).
//!    `examples/seed_server.rs` uses it to port the Python tutorial line for line.
//! 2. The driver (`src/driver/`): the reactor, its registrations, readiness, waiters and
//!    timers, and its shutdown state (what an I/O object that outlives its runtime sees).
//! 3. The scheduler (`src/scheduler/`): the task slab, the run queue, wakers built on
//!    `ArcWake`, cross-thread wakes, [`JoinHandle`] and [`task::AbortHandle`].
//! 4. The runtime (`src/runtime/`): [`block_on`], [`spawn`], the thread's context, and
//!    the pool of threads for blocking work ([`spawn_blocking`]), and the [`runtime::Handle`]
//!    other threads spawn with.
//! 5. [`AsyncFd`] and [`net`]: I/O objects as thin users of the reactor.
//! 6. [`time`]: sleeping, timeouts and intervals on the reactor's timers.
//! 7. [`signal`], and the trace mode (`src/util/trace.rs`) that shows every step of the loop.
//! 8. [`process`]: child processes, whose exit reaches the reactor through a pidfd; and
//!    [`fs`], files on the blocking pool, since epoll cannot wait for a file.
//!
//! # Layout
//!
//! | floor | concept | file |
//! |---|---|---|
//! | sys | epoll binding ([`epoll::Epoll`], [`epoll::EventFlags`]) | `src/sys/epoll.rs` |
//! | sys | everything `unsafe` (syscalls, and one CPU hint: a prefetch) | `src/sys/` |
//! | util | generational slab (tasks, registrations, timers) | `src/util/slab.rs` |
//! | util | the cooperative budget (128 I/O operations per poll) | `src/util/budget.rs` |
//! | util | [`Runtime::stats`] counters | `src/util/stats.rs` |
//! | util | trace mode (`EPOLL_RT_TRACE`) | `src/util/trace.rs` |
//! | util | a one-shot channel across threads (a blocking closure's result) | `src/util/oneshot.rs` |
//! | util | yields: a task that gives the thread back is woken after the next look at epoll | `src/util/deferred.rs` |
//! | util | `poll_fn` with an inlined `poll`, for the streams' reads and writes | `src/util/poll_inline.rs` |
//! | driver | reactor: epoll + registrations + timers | `src/driver/mod.rs` |
//! | driver | readiness of one descriptor, per direction | `src/driver/readiness.rs` |
//! | driver | registration protocol (wait, try, clear on `WouldBlock`) | `src/driver/registration.rs` |
//! | driver | the tasks waiting on a descriptor; a cancelled wait takes its waker back | `src/driver/waiters.rs` |
//! | driver | timers: a slab plus a min-heap with lazy deletion | `src/driver/timers.rs` |
//! | driver | the alarm: a timerfd for a far deadline, so waits need no timeout | `src/driver/alarm.rs` |
//! | driver | spinning before sleeping, if the runtime is built to ([`runtime::Builder::spin_before_sleep`]) | `src/driver/spin.rs` |
//! | scheduler | task slab, polling a task | `src/scheduler/mod.rs` |
//! | scheduler | run queue of task ids | `src/scheduler/run_queue.rs` |
//! | scheduler | look-ahead: with many tasks, the memory of the next ones is fetched early | `src/scheduler/lookahead.rs` |
//! | scheduler | the run queue local wakes go to on this thread | `src/scheduler/current.rs` |
//! | scheduler | task wakers | `src/scheduler/header.rs` |
//! | scheduler | task state machine (idle, scheduled, running, notified, complete) | `src/scheduler/state.rs` |
//! | scheduler | cross-thread wakes, spawns and timer changes (eventfd) | `src/scheduler/remote.rs` |
//! | scheduler | [`JoinHandle`], [`JoinError`] | `src/scheduler/join.rs` |
//! | scheduler | [`task::AbortHandle`]: cancel a task from any thread | `src/scheduler/abort.rs` |
//! | runtime | executor loop, [`Runtime`], [`block_on`], [`spawn`], [`spawn_detached`] | `src/runtime/mod.rs` |
//! | runtime | the current runtime of a thread | `src/runtime/context.rs` |
//! | runtime | one runtime per thread ([`block_on_threads`]) | `src/runtime/threads.rs` |
//! | runtime | the blocking pool ([`spawn_blocking`], [`Runtime::shutdown_timeout`]) | `src/runtime/blocking.rs` |
//! | runtime | [`runtime::Builder`]: the blocking pool's limits, spinning before sleeping | `src/runtime/builder.rs` |
//! | runtime | [`runtime::Handle`]: spawn from any thread | `src/runtime/handle.rs` |
//! | resources | [`AsyncFd`]; a wait (`Waiter`); [`ReadyGuard`] | `src/async_fd/` |
//! | resources | [`AsyncTcpListener`], [`AsyncTcpStream`] | `src/net/tcp_*.rs` |
//! | resources | split halves of a TCP or Unix stream ([`net::ReadHalf`], [`net::OwnedWriteHalf`], ...) | `src/net/split.rs` |
//! | resources | `read_exact` / `write_all` for every byte stream | `src/net/byte_stream.rs` |
//! | resources | [`net::AsyncUdpSocket`], [`net::AsyncUnixListener`], [`net::AsyncUnixStream`] ([`net::UCred`]), [`net::AsyncUnixDatagram`] | `src/net/`, `src/sys/unix_socket.rs` |
//! | resources | the readiness API every socket shares ([`Interest`], [`Ready`]); see below | `src/net/readiness.rs` |
//! | resources | [`time::sleep`], [`time::timeout`], [`time::timeout_at`], [`time::interval`] | `src/time/` |
//! | resources | [`task::Builder`] names, [`task::JoinSet`], [`yield_now`] | `src/task/` |
//! | resources | [`signal::ctrl_c`], [`signal::signal`] (signalfd, signal mask) | `src/signal.rs`, `src/sys/signalfd.rs` |
//! | resources | [`process::Command`], [`process::Child`] (pidfd), the child's pipes | `src/process/`, `src/sys/process.rs` |
//! | resources | [`fs::read`], [`fs::write`](fs::write()) and the rest; [`fs::File`] (write-behind, on the blocking pool) | `src/fs/` |
//! | resources | `hyper::{Io, Executor, Timer}`: hyper 1.x on this runtime (feature `hyper`) | `src/hyper.rs`, `src/sys/hyper_cursor.rs` |
//!
//! # The socket API
//!
//! Besides `async` reads and writes, the socket types have the methods tokio users reach
//! for, named as tokio names them (`examples/readiness_tcp.rs`, `readiness_unix.rs`,
//! `readiness_udp.rs` and `readiness_unix_datagram.rs` show them at work):
//!
//! | on | methods |
//! |---|---|
//! | every socket type | `readable`, `writable`, `ready` ([`Interest`] → [`Ready`]), `poll_read_ready`, `poll_write_ready`, `into_std` |
//! | [`AsyncTcpStream`], [`net::AsyncUnixStream`] | `read_vectored`, `write_vectored` (one `recvmsg` / `sendmsg`; also on the split halves and through futures-io), `try_read`, `try_write`, `try_read_vectored`, `try_write_vectored`, `split`, `into_split` |
//! | [`AsyncTcpStream`] | `peek`, `set_linger` / `linger`, `set_ttl` / `ttl` |
//! | [`net::AsyncUnixStream`] | `peer_cred` |
//! | [`AsyncTcpListener`], [`net::AsyncUnixListener`] | `poll_accept`; `into_std` |
//! | [`net::AsyncUdpSocket`], [`net::AsyncUnixDatagram`] | `try_send`, `try_recv`, `try_send_to`, `try_recv_from`, `poll_send`, `poll_recv`, `poll_send_to`, `poll_recv_from`, `peek` |
//! | [`net::AsyncUdpSocket`] | `set_ttl` / `ttl`, `join_multicast_v4` / `leave_multicast_v4`, `join_multicast_v6` / `leave_multicast_v6` |
//! | [`net::AsyncUnixDatagram`] | `peek_from` |
//! | [`time`] | `timeout_at`; `Interval::reset_immediately`, `reset_after`, `reset_at` |
//!
//! A `try_` method makes one non-blocking call; when it finds nothing it returns
//! `WouldBlock` and clears the socket's readiness, so the next `readable()` or
//! `writable()` sleeps until the kernel reports more: a loop of wait-then-try never spins.
//!
//! # Glossary
//!
//! - **Readiness**: the kernel's word that a descriptor may be read or written without
//!   blocking. A hint: the call may still return `WouldBlock`.
//! - **Edge-triggered**: epoll reports a descriptor when something new happens to it
//!   (data arrives, room opens), once, rather than at every wait while it stays ready. The runtime registers every
//!   descriptor this way, once, and reads until `WouldBlock`.
//! - **Waker**: a handle that puts a task back on the run queue. A future that returns
//!   `Pending` must have arranged for its waker to be woken later.
//! - **Task**: a spawned future, owned by the executor, polled when woken.
//! - **Reactor**: the part that waits on epoll and wakes tasks. It belongs to one
//!   runtime, and shuts down with it: its I/O objects then fail instead of waiting.
//! - **Executor**: the part that polls tasks.

#![deny(unsafe_op_in_unsafe_fn)]
// Unsafe code is refused everywhere but in the OS layer.
#![deny(unsafe_code)]

// The floors, bottom up (see "Layers" above). The OS layer is the one place where unsafe
// code is allowed.
#[macro_use]
#[allow(unsafe_code)]
mod sys;

mod util;

mod driver;

mod scheduler;

pub mod runtime;

mod async_fd;
pub mod fs;
#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "futures-io")]
mod io_traits;
pub mod net;
pub mod process;
pub mod signal;
pub mod task;
pub mod time;

pub use async_fd::{AsyncFd, Interest, Ready, ReadyGuard, WouldBlock};
pub use net::{AsyncTcpListener, AsyncTcpStream};
pub use runtime::{
    Runtime, RuntimeStats, block_on, block_on_threads, spawn, spawn_blocking, spawn_detached,
};
pub use sys::epoll;
pub use task::{JoinError, JoinHandle, yield_now};
