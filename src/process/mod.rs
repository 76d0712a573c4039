//! Child processes: [`Command`] spawns one, [`Child`] awaits its exit, and its piped
//! standard streams are async ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]).
//!
//! ```
//! use epoll_rt::process::Command;
//!
//! epoll_rt::block_on(async {
//!     let output = Command::new("sh").arg("-c").arg("echo hi; exit 3").output().await?;
//!     assert_eq!(output.stdout, b"hi\n");
//!     assert_eq!(output.status.code(), Some(3));
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`Command`] wraps `std::process::Command`, which does the spawning; what this module
//! adds is the waiting. A child's exit reaches the reactor as a *pidfd* becoming readable
//! (`child.rs`), and each piped stream is the parent's end of a pipe, registered like a
//! socket (`pipe.rs`). Nothing blocks the thread, and no `SIGCHLD` handler is installed.
//!
//! # Without pidfds
//!
//! Waiting on a pidfd needs `pidfd_open` (Linux 5.3) and `waitid(P_PIDFD)` (Linux 5.4).
//! Where the kernel lacks them, or a seccomp profile refuses them (`ENOSYS`, `EPERM`),
//! [`Child::wait`] hands the wait to a thread of the runtime's blocking pool
//! ([`spawn_blocking`](crate::spawn_blocking)), which blocks until the child exits. One
//! thread per child being waited for, and a trap: a runtime being dropped waits for the
//! closures its pool is running, so it waits for such a child to exit, unless
//! [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout) bounds the wait.

//! # The child's signal mask
//!
//! A child starts with an empty signal mask, whatever the spawning thread blocks. A
//! runtime thread blocks the signals it listens for (see [`signal`](crate::signal)), and
//! a child inherits its parent's mask across `fork` and `exec`: without the reset, the
//! child of a server that listens for `SIGTERM` would ignore `SIGTERM` itself. std's
//! `Command` leaves the mask as it is; this one clears it just before `exec`.

use std::ffi::OsStr;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::path::Path;
use std::pin::pin;
use std::process::{ExitStatus, Output};
use std::task::Poll;

pub use std::process::Stdio;

use crate::sys::process::clear_signal_mask_on_exec;

mod child;
mod pipe;

pub use child::Child;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

/// A process to spawn: a program, its arguments, its environment and its standard
/// streams. The builder methods forward to `std::process::Command`'s; the ones that
/// start the process are async.
///
/// A command can be spawned any number of times.
///
/// ```
/// use epoll_rt::process::Command;
///
/// epoll_rt::block_on(async {
///     let status = Command::new("sh")
///         .arg("-c")
///         .arg("test \"$GREETING\" = hello")
///         .env("GREETING", "hello")
///         .status()
///         .await?;
///     assert!(status.success());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Command {
    /// std's command, with the signal-mask reset already added to its `pre_exec` hooks.
    std: std::process::Command,
}

impl Command {
    /// A command that runs `program`, found through `PATH` if it names no directory, with
    /// no arguments, the parent's environment and working directory, and the parent's
    /// standard streams.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Self::env) adds).
    pub fn env_clear(&mut self) -> &mut Self {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's standard input: [`Stdio::piped`] for a [`ChildStdin`] in
    /// [`Child::stdin`], [`Stdio::null`], or [`Stdio::inherit`] (the default).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.std.stdin(cfg);
        self
    }

    /// Sets the child's standard output; [`Stdio::piped`] gives a [`ChildStdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.std.stdout(cfg);
        self
    }

    /// Sets the child's standard error; [`Stdio::piped`] gives a [`ChildStderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.std.stderr(cfg);
        self
    }

    /// std's command, for settings this type does not forward (`CommandExt`'s `uid`,
    /// `process_group`, ...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the process, on the runtime running on this thread. Never waits for the
    /// child: the `fork` and `exec` happen in this call, as with std.
    ///
    /// # Errors
    ///
    /// The program could not be started (`NotFound` for a missing program); its pipes
    /// or pidfd could not be set up (the child is then killed); no runtime runs on this
    /// thread.
    pub fn spawn(&mut self) -> io::Result<Child> {
        Child::from_std(self.std.spawn()?)
    }

    /// Runs the command to its end, collecting its standard output and error, and its
    /// status.
    ///
    /// Unlike std's, this sets standard output and error to [`Stdio::piped`] on the
    /// command itself, as tokio's does, so a later [`spawn`](Self::spawn) pipes them too;
    /// and it leaves standard input as configured (std's `output` uses `Stdio::null`).
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        self.spawn()?.wait_with_output().await
    }

    /// Runs the command to its end, with the standard streams as configured (by default
    /// the parent's), and returns its status.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a command configured with std, adding the signal-mask reset to its
    /// `pre_exec` hooks (see the [module docs](self)).
    fn from(mut std: std::process::Command) -> Self {
        clear_signal_mask_on_exec(&mut std);
        Self { std }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)
    }
}

/// Reads the two output pipes to their ends at the same time (one after the other could
/// deadlock: a child that fills the pipe not being read blocks, and never closes the
/// other); a missing pipe reads as empty.
async fn collect(
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut read_out = pin!(async move {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = stdout {
            pipe.read_to_end(&mut bytes).await?;
        }
        Ok::<_, io::Error>(bytes)
    });
    let mut read_err = pin!(async move {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = stderr {
            pipe.read_to_end(&mut bytes).await?;
        }
        Ok::<_, io::Error>(bytes)
    });
    // Poll both until both are done; the first error ends the collection.
    let (mut out, mut err) = (None, None);
    poll_fn(|cx| {
        if out.is_none() {
            if let Poll::Ready(result) = read_out.as_mut().poll(cx) {
                out = Some(result?);
            }
        }
        if err.is_none() {
            if let Poll::Ready(result) = read_err.as_mut().poll(cx) {
                err = Some(result?);
            }
        }
        match (out.take(), err.take()) {
            (Some(out), Some(err)) => Poll::Ready(Ok((out, err))),
            (o, e) => {
                (out, err) = (o, e);
                Poll::Pending
            }
        }
    })
    .await
}
