//! A safe binding to Linux epoll, speaking the vocabulary of Python's `select.epoll`.
//!
//! This module is usable on its own, without the async runtime on top of it: it is what the
//! `seed_server` example uses to port the classic Python tutorial line for line.
//!
//! | Python `select.epoll` | here |
//! |---|---|
//! | `epoll = select.epoll()` | [`Epoll::new()`] |
//! | `select.epoll.fromfd(fd)` | [`Epoll::from_fd`] |
//! | `epoll.fileno()` | [`AsRawFd::as_raw_fd`] (and [`AsFd::as_fd`]) |
//! | `epoll.register(fd, EPOLLIN)` | [`Epoll::register`]`(&fd, EventFlags::IN)` |
//! | `epoll.modify(fd, mask)` | [`Epoll::modify`] |
//! | `epoll.unregister(fd)` | [`Epoll::unregister`] |
//! | `epoll.poll(timeout, maxevents)` | [`Epoll::poll`]`(&mut events, timeout)`, `maxevents` being [`Events::with_capacity`] |
//! | `epoll.close()` | dropping the `Epoll` |
//!
//! The tutorial's first steps, here with a listening socket on loopback:
//!
//! ```
//! use std::net::{TcpListener, TcpStream};
//! use std::os::fd::AsRawFd;
//! use std::time::Duration;
//! use epoll_rt::epoll::{Epoll, EventFlags, Events};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let epoll = Epoll::new()?; // epoll = select.epoll()
//! epoll.register(&listener, EventFlags::IN)?; // epoll.register(fileno, EPOLLIN)
//! let _client = TcpStream::connect(listener.local_addr()?)?;
//! let mut events = Events::with_capacity(16);
//! assert_eq!(epoll.poll(&mut events, Some(Duration::from_secs(5)))?, 1); // epoll.poll(5)
//! for event in events.iter() {
//!     assert_eq!(event.fd(), listener.as_raw_fd());
//!     let (_connection, _address) = listener.accept()?; // ready: does not block
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Each registration carries a 64-bit *token* that the kernel hands back with every event
//! for that descriptor (the `data` field of `struct epoll_event`). [`Epoll::register`] uses
//! the descriptor number itself as the token, as Python does; the reactor uses
//! [`Epoll::register_with_token`] to store a slot number instead.
//!
//! # Spurious events
//!
//! An event says a descriptor *was* ready when the kernel looked, not that the next
//! `read` will succeed: another reader may have drained it, or (in edge-triggered mode) the
//! event may describe data that was already read. Code that uses epoll must treat every
//! event as a hint and handle `WouldBlock` on the operation that follows.
//!
//! # Draining readiness
//!
//! With [`EventFlags::ET`] (edge-triggered), the kernel reports a descriptor once per
//! *change* (new data arriving, buffer space opening), not once per `poll` while it stays
//! ready. A program using `ET` must therefore keep reading (or writing) until the call
//! returns `WouldBlock`, or know by other means that nothing is left; otherwise it waits
//! for an event that never comes. Level-triggered mode (the default, and the tutorial's)
//! reports a ready descriptor on every `poll`, which is simpler and costs more calls.

use std::fmt;
use std::io;
use std::ops::{BitAnd, BitOr, BitOrAssign};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The `events` mask of an epoll registration or event: which conditions to watch, or which
/// happened.
///
/// Combine flags with `|`; test them with [`contains`](Self::contains) or
/// [`intersects`](Self::intersects).
///
/// ```
/// use epoll_rt::epoll::EventFlags;
///
/// let interest = EventFlags::IN | EventFlags::RDHUP | EventFlags::ET;
/// assert!(interest.contains(EventFlags::IN));
/// assert!(!interest.intersects(EventFlags::OUT));
/// assert_eq!(format!("{interest:?}"), "EventFlags(IN | RDHUP | ET)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventFlags(u32);

/// Name and value of every flag, in the order `Debug` prints them.
const FLAG_NAMES: &[(&str, EventFlags)] = &[
    ("IN", EventFlags::IN),
    ("PRI", EventFlags::PRI),
    ("OUT", EventFlags::OUT),
    ("ERR", EventFlags::ERR),
    ("HUP", EventFlags::HUP),
    ("RDNORM", EventFlags::RDNORM),
    ("RDBAND", EventFlags::RDBAND),
    ("WRNORM", EventFlags::WRNORM),
    ("WRBAND", EventFlags::WRBAND),
    ("MSG", EventFlags::MSG),
    ("RDHUP", EventFlags::RDHUP),
    ("EXCLUSIVE", EventFlags::EXCLUSIVE),
    ("WAKEUP", EventFlags::WAKEUP),
    ("ONESHOT", EventFlags::ONESHOT),
    ("ET", EventFlags::ET),
];

impl EventFlags {
    /// `EPOLLIN`: the descriptor is readable (data, a pending connection, or end of file).
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert!(flags.contains(EventFlags::IN));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const IN: Self = Self(libc::EPOLLIN as u32);
    /// `EPOLLOUT`: the descriptor is writable (there is room in the send buffer).
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?; // a new socket has room at once
    /// let flags = events.iter().next().unwrap().flags();
    /// assert_eq!(flags, EventFlags::OUT);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const OUT: Self = Self(libc::EPOLLOUT as u32);
    /// `EPOLLPRI`: urgent (out-of-band) data is available to read.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN | EventFlags::PRI)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // ordinary data, not urgent
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert!(flags.contains(EventFlags::IN) && !flags.contains(EventFlags::PRI));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const PRI: Self = Self(libc::EPOLLPRI as u32);
    /// `EPOLLERR`: an error condition happened. Always reported; need not be requested.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (mut a, b) = UnixStream::pair()?;
    /// let epoll = Epoll::new()?;
    /// epoll.register(&a, EventFlags::empty())?; // ERR needs no asking
    /// a.write_all(b"never read")?;
    /// drop(b); // closed with unread data: the connection is reset
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert!(flags.contains(EventFlags::ERR));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const ERR: Self = Self(libc::EPOLLERR as u32);
    /// `EPOLLHUP`: hang-up, both directions are closed. Always reported; need not be requested.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (a, b) = UnixStream::pair()?;
    /// let epoll = Epoll::new()?;
    /// epoll.register(&a, EventFlags::empty())?; // HUP needs no asking
    /// drop(b);
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert!(flags.contains(EventFlags::HUP));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const HUP: Self = Self(libc::EPOLLHUP as u32);
    /// `EPOLLET`: edge-triggered mode; report changes, not states (see the module docs).
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN | EventFlags::ET)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// let mut events = Events::with_capacity(4);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::from_secs(5)))?, 1);
    /// // The datagram is still unread, but its arrival was reported once already.
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const ET: Self = Self(libc::EPOLLET as u32);
    /// `EPOLLONESHOT`: after one event, disable the registration until [`Epoll::modify`]
    /// re-arms it.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// let interest = EventFlags::IN | EventFlags::ONESHOT;
    /// epoll.register(&socket, interest)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// let mut events = Events::with_capacity(4);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::from_secs(5)))?, 1);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 0); // disabled
    /// epoll.modify(&socket, interest)?; // re-armed: still unread, so reported again
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const ONESHOT: Self = Self(libc::EPOLLONESHOT as u32);
    /// `EPOLLRDNORM`: normal data can be read; the same as `IN` for sockets.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::RDNORM)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert_eq!(flags, EventFlags::RDNORM);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const RDNORM: Self = Self(libc::EPOLLRDNORM as u32);
    /// `EPOLLRDBAND`: priority-band data can be read.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN | EventFlags::RDBAND)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // ordinary data
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert_eq!(flags, EventFlags::IN); // no priority band: RDBAND stays clear
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const RDBAND: Self = Self(libc::EPOLLRDBAND as u32);
    /// `EPOLLWRNORM`: normal data can be written; the same as `OUT` for sockets.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::WRNORM)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert_eq!(flags, EventFlags::WRNORM);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const WRNORM: Self = Self(libc::EPOLLWRNORM as u32);
    /// `EPOLLWRBAND`: priority-band data can be written.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT | EventFlags::WRBAND)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// // A datagram socket with room reports both bands.
    /// assert_eq!(flags, EventFlags::OUT | EventFlags::WRBAND);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const WRBAND: Self = Self(libc::EPOLLWRBAND as u32);
    /// `EPOLLMSG`: accepted and ignored by Linux.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN | EventFlags::MSG)?; // accepted...
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert_eq!(flags, EventFlags::IN); // ...and never reported
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const MSG: Self = Self(libc::EPOLLMSG as u32);
    /// `EPOLLRDHUP`: the peer closed its writing half (a stream socket read will return
    /// end of file once the buffered data is consumed).
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (a, b) = UnixStream::pair()?;
    /// let epoll = Epoll::new()?;
    /// epoll.register(&a, EventFlags::RDHUP)?;
    /// b.shutdown(Shutdown::Write)?; // the peer will send no more
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert_eq!(flags, EventFlags::RDHUP); // not HUP: `a` can still write
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const RDHUP: Self = Self(libc::EPOLLRDHUP as u32);
    /// `EPOLLEXCLUSIVE`: when several epoll instances wait on the same descriptor, wake one
    /// or more of them instead of all (eases a thundering herd on a shared listening
    /// socket; epoll(7) promises no fewer than one). Only valid with [`Epoll::register`],
    /// not [`Epoll::modify`].
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::net::UdpSocket;
    /// use epoll_rt::epoll::{Epoll, EventFlags};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN | EventFlags::EXCLUSIVE)?;
    /// let err = epoll.modify(&socket, EventFlags::IN | EventFlags::EXCLUSIVE).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput); // EINVAL
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const EXCLUSIVE: Self = Self(libc::EPOLLEXCLUSIVE as u32);
    /// `EPOLLWAKEUP`: keep the system from suspending while the event is pending.
    ///
    /// Without the `CAP_BLOCK_SUSPEND` capability the flag is silently dropped, and the
    /// registration works as if it had not been given.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN | EventFlags::WAKEUP)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert!(flags.contains(EventFlags::IN));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub const WAKEUP: Self = Self(libc::EPOLLWAKEUP as u32);

    /// No flags.
    ///
    /// ```
    /// use epoll_rt::epoll::EventFlags;
    ///
    /// assert!(EventFlags::empty().is_empty());
    /// assert_eq!(EventFlags::empty(), EventFlags::default());
    /// assert_eq!(format!("{:?}", EventFlags::empty()), "EventFlags()");
    /// ```
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The raw `u32` mask, as the kernel sees it.
    ///
    /// ```
    /// use epoll_rt::epoll::EventFlags;
    ///
    /// assert_eq!((EventFlags::IN | EventFlags::OUT).bits(), 0x1 | 0x4);
    /// assert_eq!(EventFlags::ET.bits(), 1 << 31);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from a raw mask; bits without a name are kept as they are.
    ///
    /// ```
    /// use epoll_rt::epoll::EventFlags;
    ///
    /// assert_eq!(EventFlags::from_bits_retain(0x5), EventFlags::IN | EventFlags::OUT);
    /// let odd = EventFlags::from_bits_retain(0x1001); // 0x1000 has no name
    /// assert_eq!(odd.bits(), 0x1001);
    /// assert_eq!(format!("{odd:?}"), "EventFlags(IN | 0x1000)");
    /// ```
    pub const fn from_bits_retain(bits: u32) -> Self {
        Self(bits)
    }

    /// Whether no flag is set.
    ///
    /// ```
    /// use epoll_rt::epoll::EventFlags;
    ///
    /// assert!(!EventFlags::IN.is_empty());
    /// assert!((EventFlags::IN & EventFlags::OUT).is_empty()); // no flag in common
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set in `self`.
    ///
    /// ```
    /// use epoll_rt::epoll::EventFlags;
    ///
    /// let ready = EventFlags::IN | EventFlags::RDHUP;
    /// assert!(ready.contains(EventFlags::IN));
    /// assert!(!ready.contains(EventFlags::IN | EventFlags::OUT)); // OUT is missing
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether at least one flag of `other` is set in `self`.
    ///
    /// ```
    /// use epoll_rt::epoll::EventFlags;
    ///
    /// let ready = EventFlags::IN | EventFlags::RDHUP;
    /// assert!(ready.intersects(EventFlags::IN | EventFlags::OUT));
    /// assert!(!ready.intersects(EventFlags::OUT | EventFlags::ERR));
    /// ```
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for EventFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for EventFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for EventFlags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl fmt::Debug for EventFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventFlags(")?;
        let mut rest = self.0;
        let mut first = true;
        for &(name, flag) in FLAG_NAMES {
            if self.contains(flag) && rest & flag.0 != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        f.write_str(")")
    }
}

/// One event reported by [`Epoll::poll`]: which registration, and what happened to it.
///
/// ```
/// use std::net::UdpSocket;
/// use std::time::Duration;
/// use epoll_rt::epoll::{Epoll, Event, EventFlags, Events};
///
/// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
/// epoll.register_with_token(&socket, EventFlags::IN | EventFlags::OUT, 7)?;
/// let mut events = Events::with_capacity(4);
/// epoll.poll(&mut events, Some(Duration::ZERO))?;
/// let event: Event = events.iter().next().unwrap();
/// // Nothing was received, but there is room to send.
/// assert_eq!((event.token(), event.flags()), (7, EventFlags::OUT));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// What happened (`IN`, `OUT`, `HUP`, ...).
    flags: EventFlags,
    /// The token the descriptor was registered with.
    token: u64,
}

impl Event {
    /// What happened to the descriptor.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN | EventFlags::OUT)?;
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
    /// let flags = events.iter().next().unwrap().flags();
    /// assert_eq!(flags, EventFlags::IN | EventFlags::OUT); // a datagram, and room
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn flags(&self) -> EventFlags {
        self.flags
    }

    /// The token given at registration.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register_with_token(&socket, EventFlags::OUT, 42)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// assert_eq!(events.iter().next().unwrap().token(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The descriptor number, for registrations made with [`Epoll::register`], which uses
    /// the descriptor itself as the token (as Python's `epoll.poll()` returns `(fd, mask)`).
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// assert_eq!(events.iter().next().unwrap().fd(), socket.as_raw_fd());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fd(&self) -> RawFd {
        self.token as RawFd
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("token", &self.token)
            .field("flags", &self.flags)
            .finish()
    }
}

/// The buffer [`Epoll::poll`] fills with events; its capacity is `maxevents`, the most
/// events one call can return.
///
/// ```
/// use epoll_rt::epoll::Events;
///
/// let events = Events::with_capacity(64);
/// assert_eq!(events.capacity(), 64);
/// assert!(events.is_empty());
/// ```
pub struct Events {
    /// Storage handed to the kernel; all `capacity` entries are initialised.
    buf: Vec<libc::epoll_event>,
    /// How many entries the last `poll` filled.
    len: usize,
}

impl Events {
    /// A buffer that receives at most `capacity` events per [`Epoll::poll`].
    ///
    /// A capacity of zero is allowed here, but `poll` then fails with `InvalidInput`.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let epoll = Epoll::new()?;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&a, EventFlags::OUT)?;
    /// epoll.register(&b, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(1);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 1); // two ready, room for one
    /// let mut none = Events::with_capacity(0);
    /// assert!(epoll.poll(&mut none, Some(Duration::ZERO)).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity],
            len: 0,
        }
    }

    /// The most events one `poll` can return.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(8);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// assert_eq!((events.len(), events.capacity()), (1, 8));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// How many events the last `poll` returned.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let epoll = Epoll::new()?;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&a, EventFlags::OUT)?;
    /// epoll.register(&b, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(4);
    /// let n = epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// assert_eq!((n, events.len()), (2, 2));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the last `poll` returned no event (it timed out).
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN)?; // nothing will arrive
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::from_millis(1)))?;
    /// assert!(events.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets the events of the last `poll`.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// assert_eq!(events.len(), 1);
    /// events.clear();
    /// assert!(events.is_empty() && events.iter().next().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The events the last `poll` returned.
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let epoll = Epoll::new()?;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&a, EventFlags::OUT)?;
    /// epoll.register(&b, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// let mut fds: Vec<_> = events.iter().map(|event| event.fd()).collect();
    /// fds.sort();
    /// let mut expected = [a.as_raw_fd(), b.as_raw_fd()];
    /// expected.sort();
    /// assert_eq!(fds, expected);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Event> + '_ {
        self.buf[..self.len].iter().map(|e| Event {
            flags: EventFlags(e.events),
            token: e.u64,
        })
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An epoll instance: a kernel object that watches many descriptors and reports which are
/// ready. The descriptor is close-on-exec and is closed when the `Epoll` is dropped.
///
/// ```
/// use epoll_rt::epoll::{Epoll, EventFlags, Events};
/// use std::net::UdpSocket;
/// use std::os::fd::AsRawFd;
/// use std::time::Duration;
///
/// let epoll = Epoll::new()?;
/// let socket = UdpSocket::bind("127.0.0.1:0")?;
/// epoll.register(&socket, EventFlags::IN)?;
///
/// // Nothing was sent yet: the poll times out with no event.
/// let mut events = Events::with_capacity(16);
/// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 0);
///
/// // Send a datagram to ourselves: now the socket is readable.
/// socket.send_to(b"hi", socket.local_addr()?)?;
/// epoll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// let event = events.iter().next().unwrap();
/// assert_eq!(event.fd(), socket.as_raw_fd());
/// assert!(event.flags().contains(EventFlags::IN));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Epoll {
    /// The epoll descriptor; owning it means dropping the `Epoll` closes it.
    fd: OwnedFd,
}

impl Epoll {
    /// Creates an epoll instance (`epoll_create1(EPOLL_CLOEXEC)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, Events};
    ///
    /// let epoll = Epoll::new()?;
    /// let mut events = Events::with_capacity(4);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 0); // it watches nothing yet
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Self> {
        // SAFETY: epoll_create1 takes only flags; on success it returns a new descriptor.
        let fd = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))?;
        // SAFETY: the descriptor was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Takes ownership of an existing epoll descriptor (Python's `select.epoll.fromfd`), for
    /// example one inherited from a parent process.
    ///
    /// The descriptor is not checked to be an epoll instance; if it is not, every later
    /// call fails with `EINVAL`.
    ///
    /// ```
    /// use std::os::fd::OwnedFd;
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT)?;
    /// let fd = OwnedFd::from(epoll); // as a parent process would pass it on
    /// let epoll = Epoll::from_fd(fd);
    /// // The same kernel instance, with its registrations:
    /// let mut events = Events::with_capacity(4);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_fd(fd: OwnedFd) -> Self {
        Self { fd }
    }

    /// Starts watching `fd` for `flags`; events carry the descriptor number as their token
    /// (see [`Event::fd`]).
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::os::fd::AsRawFd;
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// assert_eq!(events.iter().next().unwrap().fd(), socket.as_raw_fd());
    /// // Once only: change a registration with `modify`.
    /// let err = epoll.register(&socket, EventFlags::IN).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn register(&self, fd: impl AsFd, flags: EventFlags) -> io::Result<()> {
        let fd = fd.as_fd();
        self.ctl(libc::EPOLL_CTL_ADD, fd, flags, fd.as_raw_fd() as u64)
    }

    /// Starts watching `fd` for `flags`; events carry `token` (see [`Event::token`]).
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let epoll = Epoll::new()?;
    /// let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register_with_token(&a, EventFlags::OUT, 100)?;
    /// epoll.register_with_token(&b, EventFlags::OUT, 200)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// let mut tokens: Vec<u64> = events.iter().map(|event| event.token()).collect();
    /// tokens.sort();
    /// assert_eq!(tokens, [100, 200]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn register_with_token(
        &self,
        fd: impl AsFd,
        flags: EventFlags,
        token: u64,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd.as_fd(), flags, token)
    }

    /// Replaces the flags of a registration made with [`register`](Self::register). Re-arms
    /// a registration disabled by [`EventFlags::ONESHOT`].
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN)?;
    /// let mut events = Events::with_capacity(4);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 0); // nothing to read
    /// epoll.modify(&socket, EventFlags::OUT)?;
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 1); // but room to write
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn modify(&self, fd: impl AsFd, flags: EventFlags) -> io::Result<()> {
        let fd = fd.as_fd();
        self.ctl(libc::EPOLL_CTL_MOD, fd, flags, fd.as_raw_fd() as u64)
    }

    /// Replaces the flags and token of a registration.
    ///
    /// ```
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register_with_token(&socket, EventFlags::OUT, 1)?;
    /// epoll.modify_with_token(&socket, EventFlags::OUT, 2)?;
    /// let mut events = Events::with_capacity(4);
    /// epoll.poll(&mut events, Some(Duration::ZERO))?;
    /// assert_eq!(events.iter().next().unwrap().token(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn modify_with_token(
        &self,
        fd: impl AsFd,
        flags: EventFlags,
        token: u64,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_fd(), flags, token)
    }

    /// Stops watching `fd`. Closing a descriptor also removes it, unless a duplicate of it
    /// (from `dup` or `fork`) is still open, which is why careful code unregisters first.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::net::UdpSocket;
    /// use std::time::Duration;
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::OUT)?;
    /// epoll.unregister(&socket)?;
    /// let mut events = Events::with_capacity(4);
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::ZERO))?, 0); // writable, but unwatched
    /// let err = epoll.unregister(&socket).unwrap_err(); // not registered any more
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unregister(&self, fd: impl AsFd) -> io::Result<()> {
        // SAFETY: EPOLL_CTL_DEL ignores the event pointer (null is allowed since Linux 2.6.9);
        // both descriptors are open (`fd` is borrowed), and the kernel validates them.
        syscall!(epoll_ctl(
            self.fd.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd.as_fd().as_raw_fd(),
            std::ptr::null_mut()
        ))
        .map(drop)
    }

    fn ctl(
        &self,
        op: libc::c_int,
        fd: BorrowedFd<'_>,
        flags: EventFlags,
        token: u64,
    ) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: flags.bits(),
            u64: token,
        };
        // SAFETY: `event` is a valid epoll_event for the duration of the call; `fd` is a
        // borrowed, open descriptor.
        syscall!(epoll_ctl(
            self.fd.as_raw_fd(),
            op,
            fd.as_raw_fd(),
            &mut event
        ))
        .map(drop)
    }

    /// Waits until at least one registered descriptor is ready or `timeout` passes, fills
    /// `events`, and returns how many events it holds (0 on timeout).
    ///
    /// `None` waits forever; `Some(Duration::ZERO)` only looks. Timeouts are kept to the
    /// nanosecond (`epoll_pwait2`, Linux 5.11) rather than rounded to milliseconds. Where
    /// `epoll_pwait2` is not available (an older kernel answers `ENOSYS`, a seccomp profile
    /// that predates it, as in older container runtimes, `EPERM`), the process remembers
    /// it and from then on rounds timeouts *up* to the next millisecond for `epoll_wait`, so
    /// a poll never returns before its timeout and a short timeout never becomes a busy
    /// loop.
    ///
    /// A signal that interrupts the wait (`EINTR`) is not an error: the wait resumes for
    /// whatever is left of the timeout.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use std::net::UdpSocket;
    /// use std::time::{Duration, Instant};
    /// use epoll_rt::epoll::{Epoll, EventFlags, Events};
    ///
    /// let (epoll, socket) = (Epoll::new()?, UdpSocket::bind("127.0.0.1:0")?);
    /// epoll.register(&socket, EventFlags::IN)?;
    /// let mut events = Events::with_capacity(16);
    /// let start = Instant::now();
    /// assert_eq!(epoll.poll(&mut events, Some(Duration::from_millis(5)))?, 0); // timed out
    /// assert!(start.elapsed() >= Duration::from_millis(5)); // not early
    /// socket.send_to(b"hi", socket.local_addr()?)?; // a datagram to itself
    /// assert_eq!(epoll.poll(&mut events, None)?, 1); // no timeout: returns once ready
    /// let err = epoll.poll(&mut Events::with_capacity(0), None).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        // Only a finite, non-zero timeout needs a start to resume from after EINTR.
        let start = timeout.filter(|t| !t.is_zero()).map(|_| Instant::now());
        self.poll_since(events, timeout, start)
    }

    /// [`poll`](Self::poll) for a caller that has just read the clock anyway: `start` is
    /// that reading, from which a wait cut short by a signal resumes for what is left of
    /// `timeout`. It saves the clock read `poll` makes for a finite timeout: the reactor
    /// reads the clock to bound its wait by the nearest timer, and one read per turn is
    /// enough. `None` with a finite timeout resumes for the whole `timeout` again.
    pub(crate) fn poll_since(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        start: Option<Instant>,
    ) -> io::Result<usize> {
        events.len = 0;
        if events.buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Events capacity (maxevents) must be at least 1",
            ));
        }
        let max = events.buf.len().min(libc::c_int::MAX as usize) as libc::c_int;
        let mut remaining = timeout;
        loop {
            match self.wait(&mut events.buf, max, remaining) {
                Ok(n) => {
                    events.len = n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    remaining = left_after_interruption(start, timeout);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One `epoll_wait` (or `epoll_pwait2` for a timeout that is not whole milliseconds).
    fn wait(
        &self,
        buf: &mut [libc::epoll_event],
        max: libc::c_int,
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let epfd = self.fd.as_raw_fd();
        let ptr = buf.as_mut_ptr();
        let ms = match timeout {
            None => -1,
            Some(t) if t.subsec_nanos() % 1_000_000 == 0 && t.as_millis() <= i32::MAX as u128 => {
                t.as_millis() as libc::c_int
            }
            Some(t) if PWAIT2_UNAVAILABLE.load(Ordering::Relaxed) => round_up_ms(t),
            Some(t) => match pwait2(epfd, ptr, max, t) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    PWAIT2_UNAVAILABLE.store(true, Ordering::Relaxed);
                    round_up_ms(t)
                }
                res => return res,
            },
        };
        // SAFETY: `ptr` points to `max` initialised epoll_event slots that stay borrowed
        // (through `buf`) for the duration of the call.
        syscall!(epoll_wait(epfd, ptr, max, ms)).map(|n| n as usize)
    }
}

/// What is left of `timeout`, begun at `start`, once a signal has interrupted the wait:
/// worked out on the rare interruption rather than before every wait. Without a `start`,
/// the whole `timeout` again.
#[cold]
fn left_after_interruption(start: Option<Instant>, timeout: Option<Duration>) -> Option<Duration> {
    match start
        .zip(timeout)
        .and_then(|(start, t)| start.checked_add(t))
    {
        Some(deadline) => Some(deadline.saturating_duration_since(Instant::now())),
        None => timeout,
    }
}

/// Set once `epoll_pwait2` has failed with `ENOSYS` (a kernel older than 5.11) or `EPERM`
/// (a seccomp filter that does not know the call): from then on every wait of the process
/// uses `epoll_wait`. Neither answer changes while a process runs, so asking once is
/// enough; a race between threads only means a second thread asks once too.
static PWAIT2_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// The kernel's `struct __kernel_timespec`, which `epoll_pwait2` reads: 64-bit seconds and
/// nanoseconds on every architecture, unlike `libc::timespec`, whose `time_t` is 32 bits on
/// some 32-bit targets.
#[repr(C)]
struct KernelTimespec {
    /// Whole seconds.
    tv_sec: i64,
    /// Nanoseconds, below 10^9.
    tv_nsec: i64,
}

/// `epoll_pwait2`: `epoll_wait` with a nanosecond timeout.
///
/// Called as a raw system call rather than through the C library, whose wrapper exists
/// only in glibc 2.35 and later (and in no musl): a binary that linked the wrapper would
/// not even load on an older glibc, such as RHEL 9's 2.34.
fn pwait2(
    epfd: RawFd,
    ptr: *mut libc::epoll_event,
    max: libc::c_int,
    t: Duration,
) -> io::Result<usize> {
    let ts = KernelTimespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(t.subsec_nanos()),
    };
    // SAFETY: `ptr` points to `max` writable epoll_event slots (see `Epoll::wait`), `ts`
    // lives across the call, and a null signal mask means "leave the mask alone" (its size,
    // the last argument, is then not read). The integers are passed as `c_long`, the width
    // the kernel reads every argument at.
    syscall!(syscall(
        libc::SYS_epoll_pwait2,
        libc::c_long::from(epfd),
        ptr,
        libc::c_long::from(max),
        &ts as *const KernelTimespec,
        std::ptr::null::<libc::sigset_t>(),
        0 as libc::c_long,
    ))
    .map(|n| n as usize)
}

/// A timeout in whole milliseconds for `epoll_wait`, rounded up and capped at `i32::MAX`.
fn round_up_ms(t: Duration) -> libc::c_int {
    let ms = t.as_nanos().div_ceil(1_000_000);
    ms.min(libc::c_int::MAX as u128) as libc::c_int
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Epoll {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for Epoll {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl From<OwnedFd> for Epoll {
    fn from(fd: OwnedFd) -> Self {
        Self::from_fd(fd)
    }
}

impl From<Epoll> for OwnedFd {
    fn from(epoll: Epoll) -> Self {
        epoll.fd
    }
}
