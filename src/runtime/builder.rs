//! The runtime builder: a [`Runtime`] with settings other than the defaults. The names
//! are tokio's (`tokio::runtime::Builder`), for the settings this runtime has.

use std::fmt;
use std::io;
use std::time::Duration;

use super::Runtime;
use super::blocking::Config;

/// Settings for a new [`Runtime`], from [`Runtime::builder`].
///
/// Only the [blocking pool](crate::spawn_blocking) has settings: at most
/// [`max_blocking_threads`](Self::max_blocking_threads) threads (64 by default), each
/// kept [`thread_keep_alive`](Self::thread_keep_alive) with nothing to do (10 s by
/// default).
///
/// ```
/// use std::time::Duration;
/// use epoll_rt::Runtime;
///
/// let rt = Runtime::builder()
///     .max_blocking_threads(4)
///     .thread_keep_alive(Duration::from_secs(1))
///     .build()?;
/// let sum = rt.block_on(async { epoll_rt::spawn_blocking(|| (1..=10).sum::<u32>()).await })?;
/// assert_eq!(sum, 55);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Builder {
    /// The blocking pool's limits.
    blocking: Config,
}

impl Builder {
    /// A builder with the default settings, those of [`Runtime::new`].
    pub fn new() -> Self {
        Self {
            blocking: Config::default(),
        }
    }

    /// The most threads the blocking pool runs at once (64 by default; 0 counts as 1).
    /// Closures spawned while that many run wait for one of them to finish.
    pub fn max_blocking_threads(&mut self, threads: usize) -> &mut Self {
        self.blocking.max_threads = threads.max(1);
        self
    }

    /// How long a thread of the blocking pool with nothing to do waits for a closure
    /// before it ends (10 s by default).
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Self {
        self.blocking.keep_alive = keep_alive;
        self
    }

    /// Creates the runtime: an epoll instance and an eventfd, no thread.
    ///
    /// # Errors
    ///
    /// If the process is out of file descriptors.
    pub fn build(&self) -> io::Result<Runtime> {
        Runtime::with_config(self.blocking)
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("max_blocking_threads", &self.blocking.max_threads)
            .field("thread_keep_alive", &self.blocking.keep_alive)
            .finish()
    }
}
