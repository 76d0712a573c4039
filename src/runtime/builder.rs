//! The runtime builder: a [`Runtime`] with settings other than the defaults. The names
//! are tokio's (`tokio::runtime::Builder`), for the settings this runtime has.

use std::fmt;
use std::io;
use std::time::Duration;

use super::Runtime;
use super::blocking::Config;

/// Settings for a new [`Runtime`], from [`Runtime::builder`].
///
/// The [blocking pool](crate::spawn_blocking) runs at most
/// [`max_blocking_threads`](Self::max_blocking_threads) threads (64 by default), each
/// kept [`thread_keep_alive`](Self::thread_keep_alive) with nothing to do (10 s by
/// default). The executor can [spin before it sleeps](Self::spin_before_sleep) (never, by
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
    /// How long the reactor spins before sleeping, while traffic flows.
    spin: Duration,
}

impl Builder {
    /// A builder with the default settings, those of [`Runtime::new`].
    pub fn new() -> Self {
        Self {
            blocking: Config::default(),
            spin: Duration::ZERO,
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

    /// How long the runtime keeps looking for events before it sleeps in `epoll_wait`,
    /// while traffic flows (zero by default: it sleeps at once).
    ///
    /// Each time the executor runs out of ready tasks after a wait that found events, it
    /// makes zero-timeout `epoll_wait`s for up to `limit` (never past the nearest timer)
    /// before the sleeping one. That spares the other side a wake-up: a client on another
    /// CPU that writes to a sleeping server also pays for waking the server's CPU, which on
    /// a virtual machine can cost more than the request. The price is CPU time: up to
    /// `limit` of it after every burst of events, even a lone request's. A runtime that
    /// found nothing at its last wait sleeps at once, so an idle one never spins.
    ///
    /// Tens of microseconds are typical; the runtime's counters `spins` and
    /// `sleeps_avoided` ([`RuntimeStats`](crate::RuntimeStats)) tell how often it paid off.
    /// It pays only when the senders run on other CPUs: the spin yields the CPU between
    /// its looks, but a client that shares the runtime's CPU still loses some of its rate.
    ///
    /// ```
    /// use std::time::Duration;
    /// use epoll_rt::Runtime;
    ///
    /// let rt = Runtime::builder()
    ///     .spin_before_sleep(Duration::from_micros(50))
    ///     .build()?;
    /// rt.block_on(epoll_rt::time::sleep(Duration::from_millis(1)));
    /// assert_eq!(rt.stats().spins, 0); // no event yet, so no traffic: no spin
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spin_before_sleep(&mut self, limit: Duration) -> &mut Self {
        self.spin = limit;
        self
    }

    /// Creates the runtime: an epoll instance and an eventfd, no thread.
    ///
    /// # Errors
    ///
    /// If the process is out of file descriptors.
    pub fn build(&self) -> io::Result<Runtime> {
        Runtime::with_config(self.blocking, self.spin)
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
            .field("spin_before_sleep", &self.spin)
            .finish()
    }
}
