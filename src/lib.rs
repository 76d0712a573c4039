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
//! # Reading order
//!
//! New to event loops? Start with the guide, `docs/guide/README.md`; then the code, in order:
//! 1. [`epoll`]: the kernel interface, safe and usable on its own (`src/sys/epoll.rs`).
//!    `examples/seed_server.rs` uses it to port the Python tutorial line for line.
//! 2. The reactor (`src/reactor/`): registrations, readiness, wakers, timers.
//! 3. The executor (`src/runtime/`): [`block_on`], the run queue, cross-thread wakes.
//! 4. Tasks (`src/task/`): [`spawn`], [`JoinHandle`], wakers built on `ArcWake`.
//! 5. [`AsyncFd`] and [`net`]: I/O objects as thin users of the reactor.
//! 6. [`time`]: sleeping, timeouts and intervals on the reactor's timers.
//! 7. [`signal`], and the trace mode (`src/trace.rs`) that shows every step of the loop.
//!
//! # Layout
//!
//! | concept | file |
//! |---|---|
//! | epoll binding ([`epoll::Epoll`], [`epoll::EventFlags`]) | `src/sys/epoll.rs` |
//! | everything `unsafe` (syscalls) | `src/sys/` |
//! | reactor: epoll + registrations + timers | `src/reactor/mod.rs` |
//! | readiness of one descriptor, per direction | `src/reactor/readiness.rs` |
//! | registration protocol (wait, try, clear on `WouldBlock`) | `src/reactor/registration.rs` |
//! | the tasks waiting on one direction of a descriptor | `src/reactor/waiters.rs` |
//! | timers: a slab plus a min-heap with lazy deletion | `src/reactor/timers.rs` |
//! | executor loop, [`Runtime`], [`block_on`], [`spawn`] | `src/runtime/mod.rs` |
//! | run queue and task slab | `src/runtime/scheduler.rs` |
//! | cross-thread wakes (eventfd) | `src/runtime/remote.rs` |
//! | the cooperative budget (128 I/O operations per poll) | `src/runtime/budget.rs` |
//! | one runtime per thread ([`block_on_threads`]) | `src/runtime/threads.rs` |
//! | task wakers | `src/task/header.rs` |
//! | [`JoinHandle`], [`JoinError`] | `src/task/join.rs` |
//! | [`AsyncFd`] | `src/async_fd.rs` |
//! | [`AsyncTcpListener`], [`AsyncTcpStream`], split halves | `src/net/tcp_*.rs` |
//! | `read_exact` / `write_all` for every byte stream | `src/net/byte_stream.rs` |
//! | [`net::AsyncUdpSocket`], [`net::AsyncUnixListener`], [`net::AsyncUnixStream`], [`net::AsyncUnixDatagram`] | `src/net/`, `src/sys/unix_socket.rs` |
//! | [`time::sleep`], [`time::timeout`], [`time::interval`] | `src/time/` |
//! | trace mode (`EPOLL_RT_TRACE`), [`task::Builder`] names | `src/trace.rs`, `src/task/builder.rs` |
//! | [`Runtime::stats`] counters | `src/runtime/stats.rs` |
//! | [`signal::ctrl_c`], [`signal::signal`] (signalfd, signal mask) | `src/signal.rs`, `src/sys/signalfd.rs` |
//!
//! # Glossary
//!
//! - **Readiness**: the kernel's word that a descriptor may be read or written without
//!   blocking. A hint: the call may still return `WouldBlock`.
//! - **Edge-triggered**: epoll reports a descriptor when its readiness *changes*, once,
//!   rather than at every wait while it stays ready. The runtime registers every
//!   descriptor this way, once, and reads until `WouldBlock`.
//! - **Waker**: a handle that puts a task back on the run queue. A future that returns
//!   `Pending` must have arranged for its waker to be woken later.
//! - **Task**: a spawned future, owned by the executor, polled when woken.
//! - **Reactor**: the part that waits on epoll and wakes tasks.
//! - **Executor**: the part that polls tasks.

#![deny(unsafe_op_in_unsafe_fn)]

#[macro_use]
mod sys;

mod async_fd;
#[cfg(feature = "futures-io")]
mod io_traits;
pub mod net;
mod reactor;
mod runtime;
pub mod signal;
mod slab;
pub mod task;
pub mod time;
mod trace;

pub use async_fd::{AsyncFd, ReadyGuard, WouldBlock};
pub use net::{AsyncTcpListener, AsyncTcpStream};
pub use runtime::{Runtime, RuntimeStats, block_on, block_on_threads, spawn};
pub use sys::epoll;
pub use task::{JoinError, JoinHandle, yield_now};
