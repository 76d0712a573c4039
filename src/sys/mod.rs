//! The operating-system layer: every `unsafe` line of the crate lives below this module.
//!
//! Each file wraps one kernel object or family of calls in a safe Rust type (and one, a
//! CPU instruction):
//!
//! | file | kernel object | used by |
//! |---|---|---|
//! | [`epoll`] | an epoll instance (`epoll_create1`, `epoll_ctl`, `epoll_wait`) | the reactor, and users who want epoll by hand |
//! | `eventfd` | an eventfd counter (`eventfd`, `read`, `write`) | waking the loop from another thread |
//! | `socket` | TCP and UDP sockets created non-blocking (`socket`, `bind`, `listen`, `accept4`, `connect`); `recv`, and `send` without `SIGPIPE`, on any connected socket, and their vectored forms (`recvmsg`, `sendmsg`); `peek` (`MSG_PEEK`); `SO_LINGER` | `net` |
//! | `unix_socket` | Unix-domain sockets created non-blocking (`socket`, `socketpair`, `accept4`), `sockaddr_un` paths, the peer's credentials (`SO_PEERCRED`) | `net` |
//! | `hyper_cursor` | `recv` straight into hyper's uninitialised read buffer (feature `hyper`) | `epoll_rt::hyper` |
//! | `fd` | file status flags of any descriptor (`fcntl`); `read` and `write` on pipes | `AsyncFd`, `process` |
//! | `thread` | the calling thread's kernel id (`gettid`) | trace files |
//! | `timer_slack` | the thread's timer slack (`prctl`) | the executor, for precise timers |
//! | `timerfd` | a one-shot timer on the monotonic clock (`timerfd_create`, `timerfd_settime`) | the reactor's alarm, for far deadlines |
//! | `process` | child processes: pidfds (`pidfd_open`, `pidfd_send_signal`), reaping (`waitid`), the signal mask before `exec` | `process` |
//! | `prefetch` | none: a hint that makes the CPU start loading a cache line (`prefetcht0`) | the scheduler's look-ahead |
//! | `signalfd` | a signalfd and the thread's signal mask (`signalfd`, `pthread_sigmask`, `read`) | `signal` |
//!
//! Everything above this layer speaks in `OwnedFd`, `BorrowedFd` and `io::Result`, never in
//! raw integers and `-1`.

/// Calls a libc function and turns the C convention "`-1` and `errno`" into an `io::Result`.
///
/// The expansion contains an `unsafe` block, so each use site carries the `// SAFETY:`
/// comment that explains why the arguments are valid.
macro_rules! syscall {
    ($fn: ident ( $($arg: expr),* $(,)* ) ) => {{
        #[allow(unused_unsafe, clippy::undocumented_unsafe_blocks)]
        let res = unsafe { libc::$fn($($arg, )*) };
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

pub mod epoll;
pub(crate) mod eventfd;
pub(crate) mod fd;
#[cfg(feature = "hyper")]
pub(crate) mod hyper_cursor;
pub(crate) mod prefetch;
pub(crate) mod process;
pub(crate) mod signalfd;
pub(crate) mod socket;
pub(crate) mod thread;
pub(crate) mod timer_slack;
pub(crate) mod timerfd;
pub(crate) mod unix_socket;
