//! Child processes: a pidfd to wait on (`pidfd_open`), reaping (`waitid`), signals
//! (`pidfd_send_signal`, `kill`), and the signal mask a child starts with (`pre_exec`).
//!
//! A *pidfd* is a descriptor that refers to one process. It becomes readable when the
//! process exits, so epoll can wait for a child's exit like for any socket: no `SIGCHLD`
//! handler, no thread blocked in `waitpid`. It also pins the process's identity: a
//! signal sent through it can never reach another process that was given the same
//! number after this one was reaped. `pidfd_open` came with Linux 5.3, `waitid(P_PIDFD)`
//! with 5.4.
//!
//! A child stays a zombie, holding its process id, until its parent *reaps* it with
//! `waitid` (or `waitpid`). Until then its number cannot be reused, which is what makes
//! [`kill`] by number safe for a child that only its owner reaps.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::ExitStatus;

/// Opens a pidfd for the process `pid` (close-on-exec, as every pidfd is).
///
/// Fails with `ENOSYS` on a kernel older than 5.3, and with whatever a seccomp profile
/// answers where it refuses the call (`EPERM` in older container runtimes).
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes plain integers (a process id, no flags).
    let fd = syscall!(syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0))?;
    // SAFETY: pidfd_open returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Sends `signum` to the process `pidfd` refers to. Succeeds for a zombie (the signal is
/// then discarded); fails with `ESRCH` once the process has been reaped.
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signum: libc::c_int) -> io::Result<()> {
    // SAFETY: a null siginfo asks the kernel to fill in what `kill` would; the other
    // arguments are plain integers.
    syscall!(syscall(
        libc::SYS_pidfd_send_signal,
        pidfd.as_raw_fd(),
        signum,
        std::ptr::null::<libc::siginfo_t>(),
        0,
    ))?;
    Ok(())
}

/// Sends `signum` to process `pid`. The caller must know that `pid` is still its own,
/// unreaped child: otherwise the number may name another process by now.
pub(crate) fn kill(pid: u32, signum: libc::c_int) -> io::Result<()> {
    // SAFETY: plain integers.
    syscall!(kill(pid as libc::pid_t, signum))?;
    Ok(())
}

/// Which child a `waitid` concerns.
#[derive(Clone, Copy)]
pub(crate) enum WaitFor<'a> {
    /// The process a pidfd refers to (`P_PIDFD`).
    Pidfd(BorrowedFd<'a>),
    /// The child with this process id (`P_PID`).
    Pid(u32),
}

/// Reaps the child if it has exited, without waiting (`waitid` with `WNOHANG`): its exit
/// status, or `None` while it runs. `ECHILD` if it is not a child of this process, or was
/// reaped already.
pub(crate) fn try_reap(child: WaitFor<'_>) -> io::Result<Option<ExitStatus>> {
    let info = waitid(child, libc::WEXITED | libc::WNOHANG)?;
    // SAFETY: waitid filled `info` in for a child event (or left it zeroed, with no
    // child to report); si_pid and si_status are the fields of that layout.
    let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
    // With WNOHANG and nothing to report, waitid succeeds and leaves si_pid at zero.
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(exit_status(code, status)))
}

/// Blocks until the child `pid` has exited, without reaping it (`WNOWAIT`): it stays a
/// zombie, holding its number, for [`try_reap`] to reap from the thread that owns it.
/// For the blocking pool, where no pidfd can be had. Interrupted calls are retried.
pub(crate) fn wait_exited(pid: u32) -> io::Result<()> {
    loop {
        match waitid(WaitFor::Pid(pid), libc::WEXITED | libc::WNOWAIT) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result.map(drop),
        }
    }
}

/// `waitid` with `options`, for `child`.
fn waitid(child: WaitFor<'_>, options: libc::c_int) -> io::Result<libc::siginfo_t> {
    let (idtype, id) = match child {
        WaitFor::Pidfd(fd) => (libc::P_PIDFD, fd.as_raw_fd() as libc::id_t),
        WaitFor::Pid(pid) => (libc::P_PID, pid as libc::id_t),
    };
    // SAFETY: siginfo_t is plain old data; all zeros is a valid value (and the one the
    // WNOHANG case reads back when no child has changed state).
    let mut info: libc::siginfo_t = unsafe { mem::zeroed() };
    // SAFETY: `info` is valid for writes for the whole call; the rest are integers.
    syscall!(waitid(idtype, id, &mut info, options))?;
    Ok(info)
}

/// The `ExitStatus` std would have built from the wait status `waitpid` returns, made
/// from `waitid`'s `si_code` and `si_status`.
fn exit_status(code: libc::c_int, status: libc::c_int) -> ExitStatus {
    // The wait status encoding: exit code in bits 8..16; or the signal in bits 0..7, and
    // bit 7 if it dumped core.
    let raw = match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f, // CLD_KILLED: WEXITED reports no other code.
    };
    ExitStatus::from_raw(raw)
}

/// Makes the child that `command` spawns start with an empty signal mask.
///
/// A child inherits its parent's signal mask across `fork` and `exec`, and std's
/// `Command` passes it on untouched. A runtime thread blocks the signals it listens for
/// (see `signal.rs`), so without this, a child of a server that listens for `SIGTERM`
/// would ignore `SIGTERM` itself.
pub(crate) fn clear_signal_mask_on_exec(command: &mut std::process::Command) {
    let reset = || {
        // Only async-signal-safe calls here: this runs in the child between `fork` and
        // `exec`, where another thread of the parent may have held a lock (malloc's) at
        // the fork. sigemptyset and sigprocmask are on POSIX's list.
        // SAFETY: sigset_t is plain old data; all zeros is a valid value, and
        // sigemptyset makes it the empty set.
        let mut empty: libc::sigset_t = unsafe { mem::zeroed() };
        // SAFETY: `empty` is valid for writes.
        syscall!(sigemptyset(&mut empty))?;
        // SAFETY: `empty` is a valid set; a null old-set pointer asks for nothing back.
        // After fork the child has one thread, so the process mask is that thread's.
        syscall!(sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()))?;
        Ok(())
    };
    // SAFETY: `reset` makes only async-signal-safe calls, allocates nothing, and touches
    // no state shared with the parent (see above): what pre_exec requires.
    unsafe { command.pre_exec(reset) };
}
