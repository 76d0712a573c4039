//! Trace mode: a window into the event loop, for learners and for debugging.
//!
//! With the environment variable `EPOLL_RT_TRACE` set when a runtime is created, the
//! runtime reports every step of its loop:
//!
//! - `EPOLL_RT_TRACE=1`: one line per step on standard error: each `epoll_wait` (its
//!   timeout and how many events it returned), each descriptor that became readable or
//!   writable, each task woken (and from which thread), each task polled and whether it
//!   returned `Ready` or `Pending`.
//! - `EPOLL_RT_TRACE=trace.json` (any other value is a file path): the same events in the
//!   Chrome trace-event format. Open the file in Perfetto (ui.perfetto.dev) or
//!   `chrome://tracing` and the loop appears on a timeline: task polls and `epoll_wait`s as
//!   spans, wakes and readiness as instants. The file is complete JSON once the runtime is
//!   dropped.
//!
//! Off, it costs nothing measurable: the variable is read once, in `Runtime::new`, and every
//! trace point is a test of an `Option` that is `None`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Where trace events go.
enum Sink {
    /// Human-readable lines on standard error.
    Stderr,
    /// A Chrome trace-event JSON array being written to a file.
    Chrome {
        /// The open file.
        out: BufWriter<File>,
        /// Whether no event has been written yet (no comma before the next one).
        first: bool,
    },
    /// The runtime was dropped and the trace closed: later events (a waker or I/O object
    /// that outlived its runtime) are not written.
    Closed,
}

/// The trace of one runtime. Shared (`Arc`) by the parts that report to it, including
/// wakers on other threads.
pub(crate) struct Tracer {
    /// Time zero of the trace: when the runtime was created.
    start: Instant,
    /// Where events are written.
    sink: Mutex<Sink>,
    /// How events name each live task, by the bits of its key: kept here rather than in
    /// every task's header, so that a runtime that does not trace spends no byte of its
    /// tasks on names.
    labels: Mutex<HashMap<u64, String>>,
}

impl Tracer {
    /// A tracer as `EPOLL_RT_TRACE` asks for, or `None` when it is unset, empty or `0`.
    /// A trace file that cannot be created is reported on standard error, once, and
    /// tracing stays off: a debugging aid must not stop the program.
    pub(crate) fn from_env() -> Option<Arc<Tracer>> {
        let value = std::env::var_os("EPOLL_RT_TRACE")?;
        let sink = match value.to_str() {
            Some("" | "0") => return None,
            Some("1") => Sink::Stderr,
            _ => match File::create(&value) {
                Ok(file) => {
                    let mut out = BufWriter::new(file);
                    let _ = out.write_all(b"[\n");
                    Sink::Chrome { out, first: true }
                }
                Err(e) => {
                    eprintln!(
                        "epoll-rt: EPOLL_RT_TRACE: cannot create {value:?}: {e}; tracing off"
                    );
                    return None;
                }
            },
        };
        Some(Arc::new(Tracer {
            start: Instant::now(),
            sink: Mutex::new(sink),
            labels: Mutex::default(),
        }))
    }

    /// Microseconds from the start of the trace to `t`.
    fn micros(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64() * 1e6
    }

    /// Writes one event: `line` for stderr, stamped with the time it is written (so lines
    /// read in the order things finished); for Chrome, a span of `dur` starting at `at` (or
    /// an instant when `dur` is `None`).
    fn emit(&self, at: Instant, dur: Option<Duration>, name: &str, line: &str, args: &str) {
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        // Write errors are ignored: the trace is best effort and must not fail the program.
        let _ = match &mut *sink {
            Sink::Stderr => writeln!(
                io::stderr().lock(),
                "[epoll-rt {:>12.1}µs] {line}",
                self.micros(Instant::now())
            ),
            Sink::Chrome { out, first } => {
                let mut event = String::with_capacity(160);
                let _ = write!(
                    event,
                    "{{\"name\":\"{}\",\"ts\":{:.3},\"pid\":1,\"tid\":1",
                    json_escape(name),
                    self.micros(at)
                );
                let _ = match dur {
                    Some(d) => write!(event, ",\"ph\":\"X\",\"dur\":{:.3}", d.as_secs_f64() * 1e6),
                    None => write!(event, ",\"ph\":\"i\",\"s\":\"t\""),
                };
                let _ = write!(event, ",\"args\":{{{args}}}}}");
                let sep = if std::mem::take(first) { "" } else { ",\n" };
                out.write_all(sep.as_bytes())
                    .and_then(|()| out.write_all(event.as_bytes()))
            }
            Sink::Closed => Ok(()),
        };
    }

    /// Ends the trace, when its runtime is dropped: a Chrome trace's array is closed, so the
    /// file is valid JSON from then on, whatever still holds the tracer.
    pub(crate) fn close(&self) {
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        if let Sink::Chrome { out, .. } = &mut *sink {
            // Write errors are ignored, as for every event.
            let _ = out.write_all(b"\n]\n").and_then(|()| out.flush());
        }
        *sink = Sink::Closed;
    }

    /// One `epoll_wait`: it began at `started`, with `timeout`, and returned `events`.
    pub(crate) fn epoll_wait(&self, started: Instant, timeout: Option<Duration>, events: usize) {
        let timeout = match timeout {
            None => "none (block)".to_owned(),
            Some(t) => format!("{t:?}"),
        };
        let slept = started.elapsed();
        let line = format!("epoll_wait(timeout = {timeout}) -> {events} event(s) after {slept:?}");
        let args = format!("\"timeout\":\"{timeout}\",\"events\":{events}");
        self.emit(started, Some(slept), "epoll_wait", &line, &args);
    }

    /// A descriptor became readable and/or writable.
    pub(crate) fn ready(&self, fd: i32, readable: bool, writable: bool, closed: bool) {
        let what = match (readable, writable) {
            (true, true) => "readable + writable",
            (true, false) => "readable",
            (false, true) => "writable",
            (false, false) => "no direction",
        };
        let closed = if closed { " (peer closed / error)" } else { "" };
        let line = format!("  fd {fd} {what}{closed}");
        let args = format!("\"fd\":{fd},\"readable\":{readable},\"writable\":{writable}");
        self.emit(
            Instant::now(),
            None,
            &format!("fd {fd} {what}"),
            &line,
            &args,
        );
    }

    /// Names task `task` (its key's bits) `label` in the events that follow.
    pub(crate) fn name_task(&self, task: u64, label: String) {
        let mut labels = self.labels.lock().unwrap_or_else(PoisonError::into_inner);
        labels.insert(task, label);
    }

    /// Forgets the name of task `task`, which is gone.
    pub(crate) fn forget_task(&self, task: u64) {
        let mut labels = self.labels.lock().unwrap_or_else(PoisonError::into_inner);
        labels.remove(&task);
    }

    /// How events name task `task`.
    fn label(&self, task: u64) -> String {
        let labels = self.labels.lock().unwrap_or_else(PoisonError::into_inner);
        labels
            .get(&task)
            .map_or_else(|| "task".to_owned(), String::clone)
    }

    /// Task `task` was woken; `local` says whether from the runtime's own thread.
    pub(crate) fn wake(&self, task: u64, local: bool) {
        let task = self.label(task);
        let from = if local {
            "runtime thread".to_owned()
        } else {
            let current = thread::current();
            match current.name() {
                Some(name) => format!("thread {name:?}"),
                None => format!("{:?}", current.id()),
            }
        };
        let line = format!("wake {task} (from {from})");
        let args = format!("\"from\":\"{}\"", json_escape(&from));
        self.emit(Instant::now(), None, &format!("wake {task}"), &line, &args);
    }

    /// Task `task`, aborted, was dropped without being polled again.
    pub(crate) fn cancel(&self, task: u64) {
        let task = self.label(task);
        let line = format!("cancel {task} (aborted: dropped, not polled)");
        self.emit(Instant::now(), None, &format!("cancel {task}"), &line, "");
    }

    /// Task `task` was polled from `started` until now, and returned `Ready` or `Pending`.
    pub(crate) fn poll(&self, task: u64, started: Instant, ready: bool) {
        let task = self.label(task);
        let outcome = if ready { "Ready" } else { "Pending" };
        let took = started.elapsed();
        let line = format!("poll {task} -> {outcome} ({took:?})");
        let args = format!("\"outcome\":\"{outcome}\"");
        self.emit(started, Some(took), &format!("poll {task}"), &line, &args);
    }
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer").finish_non_exhaustive()
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        self.close();
    }
}

/// `s` with the characters JSON strings cannot hold escaped.
fn json_escape(s: &str) -> String {
    let mut escaped = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(escaped, "\\u{:04x}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    escaped
}

/// How a task is named in traces: `task 3 "conn"`, or `task 3`, or `block_on`.
pub(crate) fn task_label(index: u32, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("task {index} {name:?}"),
        None => format!("task {index}"),
    }
}
