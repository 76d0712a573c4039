//! Networking: async TCP listeners and streams.
//!
//! Each type wraps the matching `std::net` type in an [`AsyncFd`](crate::AsyncFd): the
//! socket calls are std's, made non-blocking, and the `AsyncFd` turns their `WouldBlock`
//! into waiting.

mod tcp_listener;
mod tcp_split;
mod tcp_stream;

pub use tcp_listener::AsyncTcpListener;
pub use tcp_split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp_stream::AsyncTcpStream;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

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
