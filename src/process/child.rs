//! [`Child`]: a running child process, whose exit a task can await.
//!
//! The wait is a pidfd (see `sys/process.rs`) registered with the reactor: it becomes
//! readable when the child exits, the task is woken, and a non-blocking `waitid` reaps
//! the child. No `SIGCHLD` handler, no thread. tokio installs a `SIGCHLD` handler and, at
//! each signal, tries every child it knows; async-process (smol) does the same from a
//! thread of its own. Both predate pidfds, and keep that path for old kernels.
//!
//! Where no pidfd can be had (a kernel older than 5.3, or a seccomp profile that refuses
//! `pidfd_open`), a thread of the blocking pool waits instead, in `waitid` with `WNOWAIT`:
//! it learns that the child has exited without reaping it, and wakes the task, which
//! reaps. The thread is taken from the first `wait` until the child exits.
//!
//! Only the task that owns the `Child` ever reaps it, so its process id cannot be given
//! to another process while the `Child` can still use it: until it is reaped, the exited
//! child stays a zombie that holds its number. That is what makes `kill` by number safe
//! on the fallback path, and why the pool thread must not reap.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{ExitStatus, Output};

use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use crate::runtime::context;
use crate::sys::process::{self as sys, WaitFor};
use crate::{AsyncFd, JoinHandle};

/// A spawned child process, from [`Command::spawn`](super::Command::spawn).
///
/// Its piped standard streams wait in `stdin`, `stdout` and `stderr`, to be taken out
/// (`child.stdout.take()`) and used by any task of the runtime.
///
/// # Dropping a `Child`
///
/// As with std, dropping a `Child` neither kills nor waits for the process: it runs on.
/// Once it exits it stays a zombie (an entry in the process table, not memory) until this
/// program exits, since nothing reaps it; await [`wait`](Child::wait) to avoid that. The
/// descriptors the `Child` holds (its pidfd, the pipes still in it) are closed.
///
/// ```
/// use epoll_rt::process::Command;
///
/// epoll_rt::block_on(async {
///     let mut child = Command::new("sleep").arg("10").spawn()?;
///     assert!(child.try_wait()?.is_none()); // still running
///     child.kill().await?;
///     assert!(child.id().is_none()); // reaped: the number may belong to another process now
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Child {
    /// The writing end of the child's standard input, if it was [`Stdio::piped`].
    ///
    /// [`Stdio::piped`]: super::Stdio::piped
    pub stdin: Option<ChildStdin>,
    /// The reading end of the child's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The reading end of the child's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// The child's process id; its own until `status` is set (see the module docs).
    pid: u32,
    /// How the child's exit is awaited.
    exit: Exit,
    /// How the child ended, once it has been reaped.
    status: Option<ExitStatus>,
}

impl Child {
    /// Wraps a child that std has just spawned: its pipes registered with the reactor, a
    /// pidfd opened for its exit.
    pub(super) fn from_std(mut child: std::process::Child) -> io::Result<Self> {
        let pid = child.id();
        // Each step that fails leaves a child no one will wait for: kill and reap it, so
        // a failed spawn leaves no process behind. (The wait blocks, briefly: a child
        // ends as soon as SIGKILL reaches it.)
        let wrap = |child: &mut std::process::Child| -> io::Result<Self> {
            let exit = Exit::new(pid)?;
            Ok(Self {
                stdin: child.stdin.take().map(ChildStdin::from_std).transpose()?,
                stdout: child.stdout.take().map(ChildStdout::from_std).transpose()?,
                stderr: child.stderr.take().map(ChildStderr::from_std).transpose()?,
                pid,
                exit,
                status: None,
            })
        };
        wrap(&mut child).inspect_err(|_| {
            let _ = child.kill();
            let _ = child.wait();
        })
    }

    /// The child's process id, or `None` once it has been reaped (by [`wait`] or
    /// [`try_wait`]), when the number may already name another process.
    ///
    /// [`wait`]: Child::wait
    /// [`try_wait`]: Child::try_wait
    pub fn id(&self) -> Option<u32> {
        self.status.is_none().then_some(self.pid)
    }

    /// Waits for the child to exit and returns its status; reaps it.
    ///
    /// The child's standard input, if still held in [`stdin`](Child::stdin), is closed
    /// first: a child that reads until end of file would otherwise wait for the parent
    /// while the parent waits for it.
    ///
    /// Cancel-safe: dropping the future loses nothing, and a later call returns the same
    /// status.
    ///
    /// ```
    /// use epoll_rt::process::Command;
    ///
    /// epoll_rt::block_on(async {
    ///     let status = Command::new("sh").args(["-c", "exit 7"]).spawn()?.wait().await?;
    ///     assert_eq!(status.code(), Some(7));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            match &mut self.exit {
                // Readable once the child has exited; `try_wait` above then reaps it. It
                // found nothing yet, so the readiness seen so far is stale: clear it and
                // wait for the event of the exit.
                Exit::Pidfd(pidfd) => pidfd.readable().await?.clear_ready(),
                // The pool thread returns once the child has exited, leaving it to
                // `try_wait` to reap.
                Exit::Pool(waiting) => {
                    let pid = self.pid;
                    let task = match waiting {
                        Some(task) => task,
                        None => waiting.insert(context::spawn_blocking(false, move || {
                            sys::wait_exited(pid)
                        })?),
                    };
                    let exited = task.await;
                    *waiting = None;
                    match exited {
                        Ok(Ok(())) => {}
                        // `waitid` failed: if not because the child was reaped
                        // meanwhile, waiting again would fail the same way.
                        Ok(Err(e)) => return self.try_wait()?.ok_or(e),
                        Err(e) => {
                            return Err(io::Error::other(format!(
                                "the blocking pool's wait for the child did not complete: {e}"
                            )));
                        }
                    }
                }
            }
        }
    }

    /// Reaps the child if it has exited and returns its status, or `None` while it runs.
    /// Never waits.
    ///
    /// ```
    /// use std::time::Duration;
    /// use epoll_rt::process::Command;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut child = Command::new("true").spawn()?;
    ///     let status = loop {
    ///         match child.try_wait()? {
    ///             Some(status) => break status,
    ///             None => epoll_rt::time::sleep(Duration::from_millis(1)).await,
    ///         }
    ///     };
    ///     assert!(status.success());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = sys::try_reap(match &self.exit {
                Exit::Pidfd(pidfd) => WaitFor::Pidfd(pidfd.as_fd()),
                Exit::Pool(_) => WaitFor::Pid(self.pid),
            })?;
        }
        Ok(self.status)
    }

    /// Sends `SIGKILL` to the child, without waiting for it to end (await
    /// [`wait`](Child::wait) for that, or use [`kill`](Child::kill)). Does nothing if
    /// the child has been reaped already.
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.signal(libc::SIGKILL)
    }

    /// Kills the child with `SIGKILL` and waits for it to end, reaping it.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use epoll_rt::process::Command;
    ///
    /// epoll_rt::block_on(async {
    ///     let mut child = Command::new("sleep").arg("10").spawn()?;
    ///     child.kill().await?;
    ///     assert_eq!(child.wait().await?.signal(), Some(libc::SIGKILL));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Sends `signum` to the child, or nothing if it has been reaped: through the pidfd
    /// if there is one, else by number, which is still the child's (see the module docs).
    fn signal(&mut self, signum: libc::c_int) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        match &self.exit {
            Exit::Pidfd(pidfd) => sys::pidfd_send_signal(pidfd.as_fd(), signum),
            Exit::Pool(_) => sys::kill(self.pid, signum),
        }
    }

    /// Collects what the child writes to its piped standard output and error until it
    /// exits, and its status. Standard input, if piped, is closed first; a stream that
    /// was not piped gives an empty vector.
    ///
    /// ```
    /// use epoll_rt::process::{Command, Stdio};
    ///
    /// epoll_rt::block_on(async {
    ///     let child = Command::new("echo").arg("out").stdout(Stdio::piped()).spawn()?;
    ///     let output = child.wait_with_output().await?;
    ///     assert_eq!(output.stdout, b"out\n");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = super::collect(self.stdout.take(), self.stderr.take()).await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// How a [`Child`]'s exit is awaited.
enum Exit {
    /// A pidfd of the child, registered with the reactor: readable once it has exited.
    Pidfd(AsyncFd<OwnedFd>),
    /// No pidfd could be had: a pool thread waits for the exit (without reaping). `None`
    /// until a [`Child::wait`] starts it; kept across cancelled waits, so that a wait
    /// polled again joins the thread already waiting instead of taking another.
    Pool(Option<JoinHandle<io::Result<()>>>),
}

impl Exit {
    /// The way to await the exit of child `pid`: a pidfd, or where the kernel or a
    /// seccomp profile refuses one (`ENOSYS`, `EPERM`, `EACCES`), the pool.
    fn new(pid: u32) -> io::Result<Self> {
        match sys::pidfd_open(pid) {
            Ok(pidfd) => Ok(Exit::Pidfd(AsyncFd::new_nonblocking(pidfd)?)),
            Err(e) if is_refused(&e) => Ok(Exit::Pool(None)),
            Err(e) => Err(e),
        }
    }
}

/// Whether `pidfd_open` failed for want of the call itself, rather than for this child
/// (`EMFILE`: out of descriptors, which a thread would not cure).
fn is_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS | libc::EPERM | libc::EACCES)
    )
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
