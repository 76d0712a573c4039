//! A signalfd: signals received as reads on a descriptor, instead of by a handler.
//!
//! The kernel delivers a signal to a thread that does not *block* it, by running the
//! signal's handler or its default action (for `SIGINT` and `SIGTERM`: end the process).
//! A signal that every eligible thread blocks stays *pending* instead, and a signalfd
//! whose mask contains it becomes readable: each `read` takes one pending signal off the
//! queue and returns a `signalfd_siginfo` describing it. So the recipe is two calls:
//!
//! 1. block the signals in the calling thread (`pthread_sigmask(SIG_BLOCK)`);
//! 2. create the signalfd for the same set (`signalfd`), non-blocking and close-on-exec.
//!
//! Which threads block what, and why that matters, is the business of the `signal`
//! module above this one; this file only wraps the calls.

use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::c_int;

/// Refuses a number that cannot be received through a signalfd, with `InvalidInput`.
///
/// Besides numbers that name no signal, three groups are refused:
/// - `SIGKILL` and `SIGSTOP` can be neither caught nor blocked: the kernel acts on them.
/// - `SIGSEGV`, `SIGBUS`, `SIGILL` and `SIGFPE` report a fault of the thread that caused
///   it; blocking them cannot stop the kernel from ending the process at the fault, and
///   std's stack-overflow report relies on `SIGSEGV` and `SIGBUS`.
/// - The numbers between the standard signals and `SIGRTMIN()` are the C library's own,
///   used to manage its threads.
pub(crate) fn check(signum: c_int) -> io::Result<()> {
    let reason = match signum {
        libc::SIGKILL | libc::SIGSTOP => "it can be neither caught nor blocked",
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => {
            "it reports a fault of the thread itself, which blocking cannot defer"
        }
        n if n < 1 || n > libc::SIGRTMAX() => "it is not a signal number",
        n if n > libc::SIGSYS && n < libc::SIGRTMIN() => {
            "it is reserved by the C library for its own use"
        }
        _ => return Ok(()),
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("signal {signum} cannot be listened for: {reason}"),
    ))
}

/// The set of `signals`, after [`check`]ing each.
fn sigset(signals: &[c_int]) -> io::Result<libc::sigset_t> {
    // SAFETY: sigset_t is a plain bit array, for which all zeros is a valid value;
    // sigemptyset then makes it the empty set by definition.
    let mut set: libc::sigset_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    syscall!(sigemptyset(&mut set))?;
    for &signum in signals {
        check(signum)?;
        // SAFETY: `set` is a valid, initialized sigset_t; `signum` was checked above.
        syscall!(sigaddset(&mut set, signum))?;
    }
    Ok(set)
}

/// Adds `signals` to the calling thread's signal mask, so that they stay pending instead
/// of being delivered to this thread. Threads spawned from this thread afterwards inherit
/// the mask.
pub(crate) fn block(signals: &[c_int]) -> io::Result<()> {
    let set = sigset(signals)?;
    block_set(&set)
}

/// [`block`] for a set already built.
fn block_set(set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: `set` is a valid sigset_t for the whole call; a null old-set pointer asks
    // for nothing back. pthread_sigmask changes the calling thread's mask only.
    let err = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, set, std::ptr::null_mut()) };
    // Unlike most calls, pthread_sigmask returns the error number instead of setting errno.
    if err != 0 {
        return Err(io::Error::from_raw_os_error(err));
    }
    Ok(())
}

/// A non-blocking, close-on-exec signalfd.
#[derive(Debug)]
pub(crate) struct SignalFd {
    /// The signalfd's descriptor.
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks `signals` in the calling thread, then creates a signalfd that receives them.
    ///
    /// Blocking comes first: a signal that arrives in between then waits, pending, for the
    /// new descriptor, instead of taking its default action.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal that [`check`] refuses; `EMFILE` and the like if no
    /// descriptor can be created.
    pub(crate) fn new(signals: &[c_int]) -> io::Result<Self> {
        let set = sigset(signals)?;
        block_set(&set)?;
        let flags = libc::SFD_NONBLOCK | libc::SFD_CLOEXEC;
        // SAFETY: `set` is a valid sigset_t for the whole call; -1 asks for a new
        // descriptor, which the call returns on success.
        let fd = syscall!(signalfd(-1, &set, flags))?;
        // SAFETY: the descriptor was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Takes one pending signal off the queue and returns its number.
    ///
    /// Fails with `WouldBlock` when none of the descriptor's signals is pending, for the
    /// calling thread or for the process.
    pub(crate) fn read(&self) -> io::Result<c_int> {
        // SAFETY: signalfd_siginfo is plain old data; all-zero is a valid value.
        let mut info: libc::signalfd_siginfo = unsafe { mem::zeroed() };
        let size = mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is `size` writable bytes for the whole call.
        let n = syscall!(read(self.fd.as_raw_fd(), (&raw mut info).cast(), size))?;
        // The kernel fills whole records or fails with EINVAL, so this cannot happen; it
        // is still no reason to panic.
        if n as usize != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "short read from a signalfd",
            ));
        }
        // Signal numbers are small (at most SIGRTMAX, 64), so the cast is lossless.
        Ok(info.ssi_signo as c_int)
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
