//! Unix-domain sockets: created non-blocking and close-on-exec, addressed by path, and
//! written without `SIGPIPE`.
//!
//! As for TCP (see `socket.rs`), the calls that create a descriptor (`socket`,
//! `socketpair`, `accept4`) pass `SOCK_NONBLOCK | SOCK_CLOEXEC`, so no socket is ever
//! blocking or inheritable by a concurrent `fork` + `exec`. std creates its Unix sockets
//! blocking, and its `UnixStream::write` is a `write(2)`, which raises `SIGPIPE` (by default
//! fatal) when the peer has gone; [`send`] and [`send_to`] pass `MSG_NOSIGNAL` instead,
//! so a closed peer is an `EPIPE` error. Reads of stream sockets go through [`recv_stream`],
//! which also reports whether the kernel stopped the read early (see there). Everything
//! else (`shutdown`, `local_addr`, datagram receives, ...) is left to the
//! `std::os::unix::net` types built from these descriptors.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// A filesystem path encoded as a C `sockaddr_un`, ready for `bind`, `connect` or
/// `sendto`.
pub(crate) struct UnixAddr {
    /// The address: family `AF_UNIX` and the NUL-terminated path.
    storage: libc::sockaddr_un,
    /// The bytes of `storage` in use: the family, the path and its NUL.
    len: libc::socklen_t,
}

impl UnixAddr {
    /// Encodes `path`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path is empty, contains a NUL byte (a C string cannot hold it;
    /// a leading NUL would also select Linux's abstract namespace by accident), or is too
    /// long: `sun_path` holds 108 bytes, and we keep one for the terminating NUL, as std
    /// does, so a path may have at most 107 bytes.
    pub(crate) fn from_path(path: &Path) -> io::Result<Self> {
        let bytes = path.as_os_str().as_bytes();
        // SAFETY: sockaddr_un is plain old data; all-zero is a valid value, and the zeros
        // after the path provide its terminating NUL.
        let mut storage: libc::sockaddr_un = unsafe { mem::zeroed() };
        if bytes.is_empty() {
            return Err(invalid_path(path, "it is empty".into()));
        }
        if bytes.contains(&0) {
            return Err(invalid_path(path, "it contains a NUL byte".into()));
        }
        if bytes.len() >= storage.sun_path.len() {
            let problem = format!(
                "it is too long ({} bytes; a Unix socket path has at most {})",
                bytes.len(),
                storage.sun_path.len() - 1
            );
            return Err(invalid_path(path, problem));
        }
        storage.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, &src) in storage.sun_path.iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        let len = mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len() + 1;
        Ok(Self {
            storage,
            len: len as libc::socklen_t,
        })
    }

    /// The address as the `(pointer, length)` pair the socket calls take.
    fn as_raw(&self) -> (*const libc::sockaddr, libc::socklen_t) {
        ((&raw const self.storage).cast(), self.len)
    }
}

/// The error for a path that cannot be a Unix socket address.
fn invalid_path(path: &Path, problem: String) -> io::Error {
    let message = format!("invalid Unix socket path {path:?}: {problem}");
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A new non-blocking, close-on-exec Unix socket of type `ty` (`SOCK_STREAM` or
/// `SOCK_DGRAM`), not yet bound or connected.
pub(crate) fn socket(ty: libc::c_int) -> io::Result<OwnedFd> {
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain integer arguments; on success the result is a new descriptor.
    let fd = syscall!(socket(libc::AF_UNIX, ty, 0))?;
    // SAFETY: the descriptor was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Two connected, non-blocking, close-on-exec Unix sockets of type `ty`.
pub(crate) fn pair(ty: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let ty = ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    syscall!(socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()))?;
    // SAFETY: socketpair succeeded, so both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Binds `fd` to `addr`, creating the socket file. Fails with `AddrInUse` if the file
/// exists, even if no socket is listening there any more.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &UnixAddr) -> io::Result<()> {
    let (ptr, len) = addr.as_raw();
    // SAFETY: `ptr` points to a valid sockaddr_un of `len` bytes, alive for the call.
    syscall!(bind(fd.as_raw_fd(), ptr, len)).map(drop)
}

/// Creates a stream socket bound to `addr` and listening, with room for `backlog`
/// pending connections (capped by the kernel at `net.core.somaxconn`).
pub(crate) fn listener(addr: &UnixAddr, backlog: libc::c_int) -> io::Result<UnixListener> {
    let fd = socket(libc::SOCK_STREAM)?;
    bind(fd.as_fd(), addr)?;
    // SAFETY: plain integer arguments.
    syscall!(listen(fd.as_raw_fd(), backlog))?;
    Ok(UnixListener::from(fd))
}

/// Connects `fd` to the socket at `addr`.
///
/// Never waits, even on a non-blocking stream socket: a Unix connect completes at once,
/// or fails. In particular, when the listener's queue of pending connections is full it
/// fails with `WouldBlock` (`EAGAIN`, not `EINPROGRESS`) and the socket stays unconnected,
/// so the caller may try again later.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &UnixAddr) -> io::Result<()> {
    let (ptr, len) = addr.as_raw();
    // SAFETY: `ptr` points to a valid sockaddr_un of `len` bytes, alive for the call.
    syscall!(connect(fd.as_raw_fd(), ptr, len)).map(drop)
}

/// Accepts one pending connection as a non-blocking, close-on-exec stream.
///
/// The peer's address is not asked for: std cannot build its `SocketAddr` from raw parts,
/// so the caller gets it with `UnixStream::peer_addr`. Fails with `WouldBlock` when no
/// connection is pending.
pub(crate) fn accept(listener: BorrowedFd<'_>) -> io::Result<UnixStream> {
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: null address and length pointers tell accept4 not to report the peer.
    let fd = syscall!(accept4(
        listener.as_raw_fd(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        flags,
    ))?;
    // SAFETY: accept4 returned a new descriptor that nothing else owns.
    Ok(UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Sends the datagram `buf` to `addr`, with `MSG_NOSIGNAL` (see `socket::send`).
pub(crate) fn send_to(fd: BorrowedFd<'_>, buf: &[u8], addr: &UnixAddr) -> io::Result<usize> {
    let (ptr, len) = addr.as_raw();
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes and `ptr` points to a valid
    // sockaddr_un of `len` bytes, both for the whole call.
    let n = syscall!(sendto(
        fd.as_raw_fd(),
        buf.as_ptr().cast(),
        buf.len(),
        libc::MSG_NOSIGNAL,
        ptr,
        len,
    ))?;
    Ok(n as usize)
}

/// Reads from the stream socket `fd` into `buf`. Returns the number of bytes read and
/// whether the kernel dropped ancillary data on the way (`MSG_CTRUNC`).
///
/// A stream read normally copies queued data until `buf` is full or the queue is empty,
/// so a short read means "drained". Not so at a message that carried ancillary data:
/// descriptors passed with `SCM_RIGHTS`, or credentials when `SO_PASSCRED` is set. The
/// kernel ends the read there, with more data queued behind. We pass no control buffer,
/// so the kernel closes any passed descriptors (as it does for a plain `read`) and sets
/// `MSG_CTRUNC`, which tells the caller that this short read proves nothing.
pub(crate) fn recv_stream(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, bool)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero means no name and no control buffer.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: `msg` describes one iovec that covers exactly `buf`, writable for the whole
    // call, and no name or control buffer.
    let n = syscall!(recvmsg(fd.as_raw_fd(), &raw mut msg, 0))?;
    Ok((n as usize, msg.msg_flags & libc::MSG_CTRUNC != 0))
}

/// Sends the one byte `byte` on `fd` with `fd` itself attached (`SCM_RIGHTS`), as a peer
/// passing descriptors would. Test-only: the runtime never passes descriptors.
#[cfg(test)]
pub(crate) fn send_byte_with_fd(fd: BorrowedFd<'_>, byte: u8) {
    let mut data = [byte];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Aligned for a cmsghdr, and large enough for one holding a c_int.
    let mut control = [0u64; 4];
    // SAFETY: msghdr is plain old data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as usize;
    assert!(msg.msg_controllen <= mem::size_of_val(&control));
    // SAFETY: `msg` has a control buffer of msg_controllen bytes, room for one
    // cmsghdr with a c_int of data, which is what is written.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
        libc::CMSG_DATA(cmsg)
            .cast::<libc::c_int>()
            .write_unaligned(fd.as_raw_fd());
    }
    // SAFETY: `msg` points to the live iovec and control buffer set up above.
    let sent = syscall!(sendmsg(fd.as_raw_fd(), &raw const msg, 0)).expect("sendmsg");
    assert_eq!(sent, 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn path_checks() {
        assert!(UnixAddr::from_path(Path::new("/tmp/a.sock")).is_ok());
        assert!(UnixAddr::from_path(Path::new(&"x".repeat(107))).is_ok());
        for bad in ["", "a\0b", &"x".repeat(108)] {
            let err = UnixAddr::from_path(Path::new(bad))
                .err()
                .expect("bad path accepted");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn recv_stream_flags_a_read_cut_short_by_passed_descriptors() {
        let (a, b) = pair(libc::SOCK_STREAM).expect("socketpair");
        send_byte_with_fd(a.as_fd(), b'a');
        UnixStream::from(a.try_clone().expect("dup"))
            .write_all(b"bcd")
            .expect("write");

        let mut buf = [0; 16];
        // The read stops after the message that carried a descriptor, and says so.
        assert_eq!(recv_stream(b.as_fd(), &mut buf).expect("recv"), (1, true));
        assert_eq!(recv_stream(b.as_fd(), &mut buf).expect("recv"), (3, false));
        assert_eq!(&buf[..3], b"bcd");
    }

    #[test]
    fn send_reports_a_closed_peer_as_broken_pipe() {
        let (a, b) = pair(libc::SOCK_STREAM).expect("socketpair");
        drop(b);
        let err = crate::sys::socket::send(&a, b"x").expect_err("send to a closed peer");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn datagram_send_to_a_path() {
        let path = std::env::temp_dir().join(format!("epoll-rt-sys-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let receiver = UnixDatagram::from(socket(libc::SOCK_DGRAM).expect("socket"));
        let addr = UnixAddr::from_path(&path).expect("path");
        bind(receiver.as_fd(), &addr).expect("bind");
        let sender = socket(libc::SOCK_DGRAM).expect("socket");
        assert_eq!(send_to(sender.as_fd(), b"hi", &addr).expect("send_to"), 2);
        let mut buf = [0; 4];
        assert_eq!(receiver.recv(&mut buf).expect("recv"), 2);
        std::fs::remove_file(&path).expect("remove socket file");
    }
}
