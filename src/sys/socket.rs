//! TCP and UDP sockets that are non-blocking and close-on-exec from the moment they exist.
//!
//! `std::net` creates blocking sockets and has no non-blocking `connect`, so the three calls
//! that create a socket (`socket` for listeners and clients, `accept4` for accepted
//! connections) are made here with `SOCK_NONBLOCK | SOCK_CLOEXEC`. There is no window in
//! which a socket is blocking, or in which a concurrent `fork` + `exec` could inherit it.
//! So are the two calls every request makes, `recv` and `send`: std's `read` and `write`
//! reach the same system calls through a few layers of buffer bookkeeping, about 15
//! instructions each, 4.5% of an echo request's user-space work (callgrind). And `send`
//! passes `MSG_NOSIGNAL`, so a peer that has gone is an error, never a `SIGPIPE`.
//! Everything else (`shutdown`, `set_nodelay`, ...) is left to the `std::net` types these
//! functions return.

use std::io;
use std::mem;
use std::net::{
    Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpListener, TcpStream, UdpSocket,
};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// The listen backlog requested; the kernel caps it at `net.core.somaxconn`.
///
/// std asks for 128, which a burst of a few hundred connects overflows; an overflowing
/// backlog drops SYNs and costs the client a one-second retransmission.
pub(crate) const BACKLOG: libc::c_int = 4096;

/// Creates a listening TCP socket bound to `addr` with `SO_REUSEADDR` (so a restarted
/// server can bind while old connections sit in `TIME_WAIT`), and `SO_REUSEPORT` if asked
/// (so several sockets, one per thread, can share the port).
pub(crate) fn tcp_listener(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    let fd = new_socket(&addr)?;
    set_flag(&fd, libc::SO_REUSEADDR)?;
    if reuse_port {
        set_flag(&fd, libc::SO_REUSEPORT)?;
    }
    let (storage, len) = to_sockaddr(&addr);
    // SAFETY: `storage` holds a valid socket address of `len` bytes for the whole call.
    syscall!(bind(fd.as_raw_fd(), (&raw const storage).cast(), len))?;
    // SAFETY: plain integer arguments.
    syscall!(listen(fd.as_raw_fd(), BACKLOG))?;
    Ok(TcpListener::from(fd))
}

/// Accepts one pending connection as a non-blocking, close-on-exec socket.
///
/// Fails with `WouldBlock` when no connection is pending.
pub(crate) fn accept(listener: BorrowedFd<'_>) -> io::Result<(TcpStream, SocketAddr)> {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` and `len` are valid for writes and describe each other.
    let fd = syscall!(accept4(
        listener.as_raw_fd(),
        (&raw mut storage).cast(),
        &mut len,
        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
    ))?;
    // SAFETY: accept4 returned a new descriptor that nothing else owns.
    let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let peer = from_sockaddr(&storage)?;
    Ok((stream, peer))
}

/// Starts a non-blocking connect to `addr`.
///
/// Returns the socket and whether the connection is still in progress (`EINPROGRESS`): if
/// so, the socket becomes writable once the handshake ends, and `SO_ERROR`
/// (`TcpStream::take_error`) then tells whether it succeeded.
pub(crate) fn tcp_connect(addr: SocketAddr) -> io::Result<(TcpStream, bool)> {
    let fd = new_socket(&addr)?;
    let (storage, len) = to_sockaddr(&addr);
    // SAFETY: `storage` holds a valid socket address of `len` bytes for the whole call.
    let in_progress = match syscall!(connect(fd.as_raw_fd(), (&raw const storage).cast(), len)) {
        Ok(_) => false,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
        Err(e) => return Err(e),
    };
    Ok((TcpStream::from(fd), in_progress))
}

/// Creates a UDP socket bound to `addr`, non-blocking and close-on-exec.
pub(crate) fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let ty = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain integer arguments; on success the result is a new descriptor.
    let fd = syscall!(socket(family, ty, libc::IPPROTO_UDP))?;
    // SAFETY: the descriptor was just created and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let (storage, len) = to_sockaddr(&addr);
    // SAFETY: `storage` holds a valid socket address of `len` bytes for the whole call.
    syscall!(bind(fd.as_raw_fd(), (&raw const storage).cast(), len))?;
    Ok(UdpSocket::from(fd))
}

/// A new non-blocking, close-on-exec TCP socket of `addr`'s family.
fn new_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain integer arguments; on success the result is a new descriptor.
    let fd = syscall!(socket(family, ty, libc::IPPROTO_TCP))?;
    // SAFETY: the descriptor was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets a boolean `SOL_SOCKET` option to 1.
fn set_flag(fd: &OwnedFd, option: libc::c_int) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: the option value is a c_int that lives across the call, with its size given.
    syscall!(setsockopt(
        fd.as_raw_fd(),
        libc::SOL_SOCKET,
        option,
        (&raw const one).cast(),
        mem::size_of::<libc::c_int>() as libc::socklen_t,
    ))
    .map(drop)
}

/// Encodes a Rust socket address as a C `sockaddr_in` or `sockaddr_in6`.
fn to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr type.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr type.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Decodes a C socket address filled in by the kernel.
fn from_sockaddr(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in; storage is aligned
            // for it.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6; storage is aligned
            // for it.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        family => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("accept returned an address of unexpected family {family}"),
        )),
    }
}

/// Receives into `buf` from the connected socket `fd`: the number of bytes read, 0 at end
/// of file.
///
/// `recv` and `send` take the socket itself (`&TcpStream`, `&UnixStream`), borrowed for
/// the call, rather than a `BorrowedFd`: std's `as_fd` for its sockets is a call into
/// std, where `as_raw_fd` is inlined; every read and write of the echo benchmark makes
/// one, about 18 instructions per request together with the register spills the calls
/// forced (callgrind).
pub(crate) fn recv(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
    let n = syscall!(recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0))?;
    Ok(n as usize)
}

/// Sends `buf` on the connected socket `fd`, with `MSG_NOSIGNAL`: a peer that has gone
/// is an `EPIPE` (`BrokenPipe`) error, never a `SIGPIPE`.
pub(crate) fn send(fd: &impl AsRawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole call.
    let n = syscall!(send(
        fd.as_raw_fd(),
        buf.as_ptr().cast(),
        buf.len(),
        libc::MSG_NOSIGNAL,
    ))?;
    Ok(n as usize)
}
