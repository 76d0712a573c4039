//! `Interest` (the directions a caller wants to wait for) and `Ready` (the directions the
//! reactor reports ready): the arguments and answer of the sockets' `ready` method, named
//! as tokio names them.

use std::ops::BitOr;

use crate::driver::Readiness;

/// The directions to wait for in a socket's `ready`: [`READABLE`](Self::READABLE),
/// [`WRITABLE`](Self::WRITABLE), or both (`Interest::READABLE | Interest::WRITABLE`).
///
/// ```
/// use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Interest};
///
/// epoll_rt::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
///     let client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     // One wait for either direction: here writable (room to send), not readable.
///     let mut buf = [0; 8];
///     let _ = server.try_read(&mut buf); // nothing yet: clears the optimistic readiness
///     let ready = server.ready(Interest::READABLE | Interest::WRITABLE).await?;
///     assert!(ready.is_writable() && !ready.is_readable());
///     client.try_write(b"hi")?;
///     assert!(server.ready(Interest::READABLE).await?.is_readable());
///     assert_eq!(server.try_read(&mut buf)?, 2);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Interest(u8);

impl Interest {
    /// Wait until reads may make progress.
    pub const READABLE: Self = Self(1);
    /// Wait until writes may make progress.
    pub const WRITABLE: Self = Self(2);

    /// Whether the interest includes reading.
    pub fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }

    /// Whether the interest includes writing.
    pub fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
}

impl BitOr for Interest {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The directions a socket's `ready` found ready: a hint, as all readiness is (an
/// operation may still return `WouldBlock`, and then the `try_` methods clear it).
/// [`Interest`] shows it in use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ready(Readiness);

impl Ready {
    /// The part of `readiness` that `interest` asked about.
    pub(crate) fn new(readiness: Readiness, interest: Interest) -> Self {
        let mut ready = Readiness::EMPTY;
        if interest.is_readable() {
            ready = ready | Readiness::READABLE | Readiness::READ_CLOSED | Readiness::ERROR;
        }
        if interest.is_writable() {
            ready = ready | Readiness::WRITABLE | Readiness::WRITE_CLOSED | Readiness::ERROR;
        }
        Self(readiness & ready)
    }

    /// Whether a read may make progress: data, end of file, or a pending error.
    pub fn is_readable(self) -> bool {
        self.0
            .intersects(Readiness::READABLE | Readiness::READ_CLOSED | Readiness::ERROR)
    }

    /// Whether a write may make progress: room in the send buffer, or a pending error.
    pub fn is_writable(self) -> bool {
        self.0
            .intersects(Readiness::WRITABLE | Readiness::WRITE_CLOSED | Readiness::ERROR)
    }

    /// Whether the peer has closed its writing half (`EPOLLRDHUP` or `EPOLLHUP`): reads
    /// will reach end of file once the queued data is read.
    pub fn is_read_closed(self) -> bool {
        self.0.intersects(Readiness::READ_CLOSED)
    }

    /// Whether writing can no longer succeed (`EPOLLHUP`).
    pub fn is_write_closed(self) -> bool {
        self.0.intersects(Readiness::WRITE_CLOSED)
    }
}
