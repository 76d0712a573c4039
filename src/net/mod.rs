//! Networking: async TCP listeners and streams.
//!
//! Each type wraps the matching `std` type in an [`AsyncFd`](crate::AsyncFd): each socket
//! call is a non-blocking one (std's, or `accept4`, `recv` and `send` made directly, in
//! `sys/socket.rs`, with the flags we want), and the `AsyncFd` turns its `WouldBlock`
//! into waiting.
//!
//! Besides TCP: [`AsyncUdpSocket`] for UDP, and for Unix-domain sockets
//! [`AsyncUnixListener`], [`AsyncUnixStream`] and [`AsyncUnixDatagram`].
//!
//! A server task and a client, over loopback:
//!
//! ```
//! use epoll_rt::net::{AsyncTcpListener, AsyncTcpStream};
//!
//! epoll_rt::block_on(async {
//!     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let server = epoll_rt::spawn(async move {
//!         let (mut stream, _peer) = listener.accept().await?;
//!         stream.write_all(b"welcome").await
//!     });
//!     let mut client = AsyncTcpStream::connect(addr).await?;
//!     let mut buf = [0; 7];
//!     client.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"welcome");
//!     server.await?
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod byte_stream;
#[cfg(test)]
mod memory;
mod tcp_listener;
mod tcp_split;
mod tcp_stream;
mod udp;
mod unix_datagram;
mod unix_listener;
mod unix_stream;

pub use tcp_listener::AsyncTcpListener;
pub use tcp_split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp_stream::AsyncTcpStream;
pub use udp::AsyncUdpSocket;
pub use unix_datagram::AsyncUnixDatagram;
pub use unix_listener::AsyncUnixListener;
pub use unix_stream::AsyncUnixStream;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::time::sleep;

/// How long `accept` waits before trying again when the process is out of descriptors.
const EXHAUSTED_BACKOFF: Duration = Duration::from_millis(20);

/// Tries `f` on each address `addr` resolves to, returning the first success or the last
/// error (as std's `TcpListener::bind` does).
fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_err = None;
    for addr in addr.to_socket_addrs()? {
        match f(addr) {
            Ok(value) => return Ok(value),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(no_addresses))
}

/// The error for an address that resolved to nothing.
fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// What an accept loop does about an error of `accept4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AcceptError {
    /// Out of descriptors or memory: the pending connection stays queued and the listener
    /// stays readable, so retrying at once would spin. Wait [`EXHAUSTED_BACKOFF`] first.
    Backoff,
    /// The error belongs to one connection, not to the listener: try again at once.
    Retry,
    /// Anything else: return it to the caller.
    Fail,
}

/// Sorts an error of `accept4`; see [`AcceptError`].
///
/// Linux passes errors of the network on to `accept` that concern only the connection
/// being accepted: accept(2), section "Error handling", asks a server to retry on them
/// as on `EAGAIN`. `ECONNABORTED` (the client gave up while queued) is the common one.
fn classify_accept_error(e: &io::Error) -> AcceptError {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => AcceptError::Backoff,
        Some(
            libc::ECONNABORTED
            | libc::EPROTO
            | libc::ENETDOWN
            | libc::ENOPROTOOPT
            | libc::EHOSTDOWN
            | libc::ENONET
            | libc::EHOSTUNREACH
            | libc::EOPNOTSUPP
            | libc::ENETUNREACH,
        ) => AcceptError::Retry,
        _ => AcceptError::Fail,
    }
}

/// The error policy of the accept loops (TCP and Unix), documented on
/// `AsyncTcpListener::accept`. Returns `Ok(())` when the loop should try again: after
/// waiting [`EXHAUSTED_BACKOFF`] if the process or system is out of descriptors or memory,
/// at once if the error concerned only the connection being accepted. Any other error is
/// returned.
async fn recover_from_accept_error(e: io::Error) -> io::Result<()> {
    match classify_accept_error(&e) {
        AcceptError::Backoff => {
            sleep(EXHAUSTED_BACKOFF).await;
            Ok(())
        }
        AcceptError::Retry => Ok(()),
        AcceptError::Fail => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(errno: i32) -> AcceptError {
        classify_accept_error(&io::Error::from_raw_os_error(errno))
    }

    #[test]
    fn accept_errors_of_one_connection_are_retried_at_once() {
        // accept(2), "Error handling": these concern the connection, not the listener.
        for errno in [
            libc::ECONNABORTED,
            libc::EPROTO,
            libc::ENETDOWN,
            libc::ENOPROTOOPT,
            libc::EHOSTDOWN,
            libc::ENONET,
            libc::EHOSTUNREACH,
            libc::EOPNOTSUPP,
            libc::ENETUNREACH,
        ] {
            let name = io::Error::from_raw_os_error(errno);
            assert_eq!(classify(errno), AcceptError::Retry, "{name}");
        }
    }

    #[test]
    fn exhaustion_backs_off_and_other_errors_fail() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert_eq!(classify(errno), AcceptError::Backoff);
        }
        for errno in [libc::EBADF, libc::EINVAL, libc::ENOTSOCK, libc::EPERM] {
            assert_eq!(classify(errno), AcceptError::Fail);
        }
        let no_errno = io::Error::other("not from the kernel");
        assert_eq!(classify_accept_error(&no_errno), AcceptError::Fail);
    }
}
