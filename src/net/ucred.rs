//! `UCred`: who is at the other end of a Unix stream, as the kernel vouches for it.

/// The credentials of the process at the other end of a Unix stream, from
/// [`AsyncUnixStream::peer_cred`](super::AsyncUnixStream::peer_cred): its process,
/// user and group ids as they were when it connected (or called `socketpair`). The kernel
/// fills them in (`SO_PEERCRED`), so the peer cannot lie about them: a local server can
/// use them to decide whom to serve.
///
/// ```
/// use epoll_rt::net::AsyncUnixStream;
///
/// epoll_rt::block_on(async {
///     let (a, _b) = AsyncUnixStream::pair()?;
///     let cred = a.peer_cred()?; // the other end is this very process
///     assert_eq!(cred.pid(), Some(std::process::id() as i32));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UCred {
    /// The peer's process id.
    pid: libc::pid_t,
    /// The peer's effective user id.
    uid: libc::uid_t,
    /// The peer's effective group id.
    gid: libc::gid_t,
}

impl UCred {
    /// Wraps what `SO_PEERCRED` returned.
    pub(crate) fn from_raw(cred: libc::ucred) -> Self {
        Self {
            pid: cred.pid,
            uid: cred.uid,
            gid: cred.gid,
        }
    }

    /// The peer's effective user id.
    pub fn uid(&self) -> libc::uid_t {
        self.uid
    }

    /// The peer's effective group id.
    pub fn gid(&self) -> libc::gid_t {
        self.gid
    }

    /// The peer's process id; `None` where the kernel could not tell (a peer in another
    /// pid namespace that has no id in ours reads as 0). An `Option`, as tokio's is.
    pub fn pid(&self) -> Option<libc::pid_t> {
        (self.pid != 0).then_some(self.pid)
    }
}
