//! Logging that never stalls a server: shared by the async example servers (included
//! with `#[path]`, so it is not an example of its own).
//!
//! Writing to stderr can block: when stderr is a pipe nobody drains, the 64 KiB pipe
//! buffer fills and the next `write` waits forever. A server that logs from its event
//! loop then freezes, every client with it. And when the pipe's reader has gone, the
//! write fails with `EPIPE`, which `eprintln!` turns into a panic. So the servers never
//! write to stderr themselves:
//!
//! - [`log`] hands a line to a bounded queue and returns at once; a line that does not
//!   fit is dropped and counted. A logger thread writes the queue to stderr and ignores
//!   write errors. Blocking there stalls only that thread.
//! - [`RateLimit`] lets an event that a client can repeat at will (an unknown command,
//!   say) be logged at most about once a second, with the count of those left out.
//!
//! Why not make stderr non-blocking instead? `O_NONBLOCK` is a flag of the open file
//! description, which the shell and every other process started from it share: setting
//! it would make *their* writes fail with `EAGAIN`.

use std::cell::Cell;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// Lines that may wait for the logger thread; more are dropped.
const QUEUE: usize = 1024;

/// The shortest time between two lines of one [`RateLimit`].
const INTERVAL: Duration = Duration::from_secs(1);

/// The logger thread's queue, created with the thread at the first [`log`]. `None` if
/// the thread could not be started: lines are then dropped.
static QUEUE_TX: OnceLock<Option<SyncSender<String>>> = OnceLock::new();

/// Lines dropped because the queue was full, not yet reported.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Queues `line` (without its newline) for stderr. Never blocks, never fails: a line
/// that finds the queue full is dropped, and the logger says how many were.
pub fn log(line: String) {
    let tx = QUEUE_TX.get_or_init(|| {
        let (tx, rx) = sync_channel::<String>(QUEUE);
        let thread = std::thread::Builder::new().name("logger".into());
        thread
            .spawn(move || {
                let mut stderr = std::io::stderr();
                for line in rx {
                    // Errors are ignored: a log that cannot be written is not a reason
                    // to stop, and there is nowhere to report it.
                    let _ = writeln!(stderr, "{line}");
                    let dropped = DROPPED.swap(0, Ordering::Relaxed);
                    if dropped > 0 {
                        let _ = writeln!(stderr, "({dropped} log lines dropped: stderr is slow)");
                    }
                }
            })
            .ok()
            .map(|_| tx)
    });
    let queued = tx.as_ref().is_some_and(|tx| tx.try_send(line).is_ok());
    if !queued {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Logs one kind of event at most about once per second, counting the rest.
///
/// Single-threaded (a `Cell`), as the servers' event loops are: keep one in a
/// `thread_local!`.
pub struct RateLimit {
    /// When the next line may be written; `None` before the first.
    next: Cell<Option<Instant>>,
    /// Events left out since the last line.
    suppressed: Cell<u64>,
}

impl RateLimit {
    /// A limiter that has logged nothing yet.
    pub const fn new() -> Self {
        Self {
            next: Cell::new(None),
            suppressed: Cell::new(0),
        }
    }

    /// Logs the line `message` makes, unless a line was logged less than a second ago;
    /// then only counts the event. (`message` is not called for a suppressed event.)
    pub fn log(&self, message: impl FnOnce() -> String) {
        let now = Instant::now();
        if self.next.get().is_some_and(|next| now < next) {
            self.suppressed.set(self.suppressed.get() + 1);
            return;
        }
        self.next.set(Some(now + INTERVAL));
        let suppressed = self.suppressed.replace(0);
        let mut line = message();
        if suppressed > 0 {
            line.push_str(&format!(" (and {suppressed} more like it since the last)"));
        }
        log(line);
    }
}
