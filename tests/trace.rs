//! Trace mode and runtime statistics.
//!
//! `EPOLL_RT_TRACE` is read when a runtime is created, so the traced workload runs in a
//! child process (this same test binary, asked to run only `traced_workload`) with the
//! variable set; the parent checks what the child wrote.

mod util;

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::process::Command;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use epoll_rt::task::Builder;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, Runtime};

/// Set in the child process: run the workload instead of skipping it.
const CHILD: &str = "EPOLL_RT_TRACE_TEST_CHILD";

/// The workload the parent traces: a named server task echoes one client.
#[test]
fn traced_workload() {
    if std::env::var_os(CHILD).is_none() {
        return; // only meaningful in the child process
    }
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = Builder::new().name("echo server").spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = [0; 16];
            let n = stream.read(&mut buf).await?;
            stream.write_all(&buf[..n]).await
        });
        let mut client = AsyncTcpStream::connect(addr).await?;
        // Let the server task reach its read and wait, so the trace shows a wake.
        epoll_rt::time::sleep(Duration::from_millis(5)).await;
        client.write_all(b"ping").await?;
        let mut buf = [0; 4];
        client.read_exact(&mut buf).await?;
        server.await??;
        // A task aborted while it waits is dropped, not polled: the trace says so. (It
        // takes the finished server's slot, so it is task 0 too.)
        let idle = Builder::new()
            .name("idle")
            .spawn(std::future::pending::<()>());
        epoll_rt::yield_now().await;
        idle.abort();
        assert!(idle.await.unwrap_err().is_cancelled());
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// A workload whose I/O object and timer outlive the runtime: once the runtime is
/// dropped, the trace file is complete JSON although they still hold the tracer.
#[test]
fn traced_workload_outliving_its_runtime() {
    if std::env::var_os(CHILD).is_none() {
        return; // only meaningful in the child process
    }
    let path = std::env::var("EPOLL_RT_TRACE").expect("a trace file");
    let rt = Runtime::new().unwrap();
    let kept = rt.block_on(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0").unwrap();
        let mut nap = Box::pin(epoll_rt::time::sleep(Duration::from_secs(60)));
        // Polled once, so the timer is registered with the runtime's reactor.
        std::future::poll_fn(|cx| {
            assert!(nap.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
        (listener, nap)
    });
    drop(rt);
    let text = std::fs::read_to_string(&path).expect("trace file written");
    assert!(
        matches!(json::parse(&text), Ok(json::Value::Array(_))),
        "not a JSON array while the listener and the timer live:\n{text}"
    );
    drop(kept);
}

/// Three runtimes in a row on this thread, then two at once on threads of their own
/// (`block_on_threads`), all tracing to the same file: each one echoes a message.
#[test]
fn traced_workload_of_five_runtimes() {
    if std::env::var_os(CHILD).is_none() {
        return; // only meaningful in the child process
    }
    async fn echo_once() -> std::io::Result<()> {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = epoll_rt::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await?;
            stream.write_all(&buf).await
        });
        let mut client = AsyncTcpStream::connect(addr).await?;
        client.write_all(b"ping").await?;
        let mut buf = [0; 4];
        client.read_exact(&mut buf).await?;
        server.await?
    }
    for _ in 0..3 {
        Runtime::new().unwrap().block_on(echo_once()).unwrap();
    }
    for result in epoll_rt::block_on_threads(2, |_| echo_once()).unwrap() {
        result.unwrap();
    }
}

/// Runs `traced_workload` in a child process with `EPOLL_RT_TRACE=value`; returns stderr.
fn run_child(value: &str) -> String {
    run_child_test("traced_workload", value)
}

/// Runs the test `name` of this file in a child process with `EPOLL_RT_TRACE=value`;
/// returns stderr.
fn run_child_test(name: &'static str, value: &str) -> String {
    run_child_process(name, value).1
}

/// Runs the test `name` of this file in a child process with `EPOLL_RT_TRACE=value`;
/// returns the child's process id and its stderr.
fn run_child_process(name: &'static str, value: &str) -> (u32, String) {
    let (pid, output) = util::watchdog(util::LIMIT, {
        let value = value.to_owned();
        move || {
            let child = Command::new(std::env::current_exe().expect("test binary path"))
                .args(["--exact", name, "--nocapture", "--test-threads=1"])
                .env(CHILD, "1")
                .env("EPOLL_RT_TRACE", value)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run the traced child");
            let pid = child.id();
            (
                pid,
                child.wait_with_output().expect("wait for the traced child"),
            )
        }
    });
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (pid, String::from_utf8(output.stderr).expect("utf-8 trace"))
}

#[test]
fn trace_lines_on_stderr() {
    let trace = run_child("1");
    let lines: Vec<&str> = trace
        .lines()
        .filter(|l| l.starts_with("[epoll-rt"))
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("epoll_wait(timeout = "),
        "no epoll_wait line in:\n{trace}"
    );
    assert!(
        has("poll task 0 \"echo server\" -> Pending"),
        "no pending poll of the named task:\n{trace}"
    );
    assert!(
        has("poll task 0 \"echo server\" -> Ready"),
        "no final poll of the named task:\n{trace}"
    );
    assert!(
        has("wake task 0 \"echo server\" (from runtime thread)"),
        "no wake line:\n{trace}"
    );
    assert!(
        has("poll block_on -> Ready"),
        "no poll of the block_on future:\n{trace}"
    );
    assert!(has(" readable"), "no readiness line:\n{trace}");
    assert!(
        has("cancel task 0 \"idle\" (aborted: dropped, not polled)"),
        "no cancel line for the aborted task:\n{trace}"
    );
    assert!(
        !has("poll task 0 \"idle\" -> Ready"),
        "the aborted task was polled again:\n{trace}"
    );
}

#[test]
fn trace_file_is_chrome_json() {
    let path = std::env::temp_dir().join(format!("epoll-rt-trace-{}.json", std::process::id()));
    run_child(path.to_str().expect("utf-8 temp path"));
    let text = std::fs::read_to_string(&path).expect("trace file written");
    let _ = std::fs::remove_file(&path);

    let events = match json::parse(&text) {
        Ok(json::Value::Array(events)) => events,
        other => panic!("trace file is not a JSON array: {other:?}\n{text}"),
    };
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| e.get("name")?.as_str())
        .collect();
    assert!(
        names.contains(&"epoll_wait"),
        "no epoll_wait event: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("poll task 0 \"echo server\"")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("wake task 0")),
        "{names:?}"
    );
    for event in &events {
        let phase = event.get("ph").and_then(json::Value::as_str);
        assert!(
            matches!(phase, Some("X" | "i" | "M")),
            "bad phase in {event:?}"
        );
        if phase == Some("M") {
            continue; // metadata: a track's name, no time
        }
        assert!(
            event.get("ts").and_then(json::Value::as_f64).is_some(),
            "no timestamp in {event:?}"
        );
        if phase == Some("X") {
            assert!(
                event.get("dur").and_then(json::Value::as_f64).is_some(),
                "span without duration: {event:?}"
            );
        }
    }
}

/// Five runtimes of one process, three in a row and two at once, write one valid file:
/// the real process id, one track (tid) per runtime thread, each named by a `thread_name`
/// metadata event, and every runtime's events from its first to its last. (Each new
/// runtime used to truncate the file, two at once wrote two arrays into it, and every
/// event said `pid 1, tid 1`.)
#[test]
fn trace_file_of_many_runtimes_is_one_chrome_json() {
    let path =
        std::env::temp_dir().join(format!("epoll-rt-trace-five-{}.json", std::process::id()));
    let (pid, _) = run_child_process(
        "traced_workload_of_five_runtimes",
        path.to_str().expect("utf-8 temp path"),
    );
    let text = std::fs::read_to_string(&path).expect("trace file written");
    let _ = std::fs::remove_file(&path);
    let events = match json::parse(&text) {
        Ok(json::Value::Array(events)) => events,
        other => panic!("trace file is not a JSON array: {other:?}\n{text}"),
    };
    let field = |e: &json::Value, key: &str| e.get(key).and_then(json::Value::as_f64);
    for event in &events {
        assert_eq!(field(event, "pid"), Some(f64::from(pid)), "{event:?}");
    }

    // One metadata event per runtime, naming its thread's track: the test's own thread
    // three times, then the two threads of `block_on_threads`.
    let names: Vec<(f64, &str)> = events
        .iter()
        .filter(|e| e.get("ph").and_then(json::Value::as_str) == Some("M"))
        .map(|e| {
            assert_eq!(
                e.get("name").and_then(json::Value::as_str),
                Some("thread_name")
            );
            let name = e
                .get("args")
                .and_then(|a| a.get("name"))
                .and_then(json::Value::as_str)
                .expect("a thread name");
            (field(e, "tid").expect("a tid"), name)
        })
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(
        names[..3].iter().all(|&(tid, _)| tid == names[0].0),
        "{names:?}"
    );
    let mut threads: Vec<&str> = names[3..].iter().map(|&(_, name)| name).collect();
    threads.sort_unstable();
    assert_eq!(
        threads,
        [
            "epoll-rt runtime, thread epoll-rt-0",
            "epoll-rt runtime, thread epoll-rt-1"
        ]
    );
    let tids: Vec<f64> = names.iter().map(|&(tid, _)| tid).collect();
    assert!(tids[3] != tids[4] && !tids[..3].contains(&tids[3]) && !tids[..3].contains(&tids[4]));

    // Every event is on a named track, and each runtime's last event, the poll that ends
    // its `block_on`, is there: three on the first track, one on each of the others.
    let mut last_polls = [0; 3];
    for event in &events {
        let tid = field(event, "tid").expect("a tid");
        assert!(tids.contains(&tid), "event on an unnamed track: {event:?}");
        if event.get("name").and_then(json::Value::as_str) == Some("poll block_on") {
            let outcome = event.get("args").and_then(|a| a.get("outcome"));
            if outcome.and_then(json::Value::as_str) == Some("Ready") {
                let track = [tids[0], tids[3], tids[4]].iter().position(|&t| t == tid);
                last_polls[track.expect("a runtime's track")] += 1;
            }
        }
    }
    assert_eq!(last_polls, [3, 1, 1], "each runtime's last event");
}

#[test]
fn trace_file_is_complete_when_the_runtime_drops() {
    let path = std::env::temp_dir().join(format!(
        "epoll-rt-trace-outliving-{}.json",
        std::process::id()
    ));
    run_child_test(
        "traced_workload_outliving_its_runtime",
        path.to_str().expect("utf-8 temp path"),
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn stats_count_the_loop() {
    let stats = util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let server = epoll_rt::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                let mut buf = [0; 16];
                let n = stream.read(&mut buf).await?;
                stream.write_all(&buf[..n]).await
            });
            let mut client = AsyncTcpStream::connect(addr).await?;
            client.write_all(b"ping").await?;
            let mut buf = [0; 4];
            client.read_exact(&mut buf).await?;
            server.await??;
            // One wake from another thread, through the eventfd.
            let (tx, rx) = std::sync::mpsc::channel();
            let remote = epoll_rt::spawn(std::future::poll_fn(move |cx| {
                let _ = tx.send(cx.waker().clone());
                std::task::Poll::Ready(())
            }));
            remote.await.ok();
            let waker = rx.recv().expect("waker sent");
            std::thread::spawn(move || waker.wake())
                .join()
                .expect("waker thread");
            epoll_rt::time::sleep(Duration::from_millis(1)).await;
            Ok::<(), std::io::Error>(())
        })
        .unwrap();
        rt.stats()
    });
    assert_eq!(stats.tasks_spawned, 2);
    assert_eq!(stats.tasks_finished, 2);
    assert!(stats.polls >= 4, "{stats:?}");
    assert!(stats.local_wakes >= 2, "{stats:?}");
    assert_eq!(
        stats.remote_wakes, 0,
        "the woken task had finished: its wake is ignored ({stats:?})"
    );
    assert!(
        stats.epoll_waits >= 1 && stats.epoll_events >= 1,
        "{stats:?}"
    );
    assert!(
        stats.epoll_ctls >= 6,
        "3 sockets registered and deregistered: {stats:?}"
    );
    assert!(stats.read_calls >= 3 && stats.write_calls >= 2, "{stats:?}");
    assert!(stats.eventfd_rings <= stats.remote_wakes, "{stats:?}");
}

/// Wakes from another thread go through the remote queue when they find their task idle.
/// (One that lands while the task is being polled only marks it notified, and the runtime
/// queues the task itself when the poll ends: a local wake.)
#[test]
fn stats_count_remote_wakes() {
    let stats = util::watchdog(util::LIMIT, || {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            // The block_on future itself is woken from another thread, 10 times, each
            // time by a task that runs once the future has returned `Pending`.
            let slot: Rc<Cell<Option<Waker>>> = Rc::default();
            let helper = {
                let slot = slot.clone();
                epoll_rt::spawn(async move {
                    for _ in 0..10 {
                        let waker = loop {
                            match slot.take() {
                                Some(waker) => break waker,
                                None => epoll_rt::yield_now().await,
                            }
                        };
                        std::thread::spawn(move || waker.wake())
                            .join()
                            .expect("waker thread");
                    }
                })
            };
            let mut woken = 0;
            poll_fn(|cx| {
                if woken == 10 {
                    return Poll::Ready(());
                }
                woken += 1;
                slot.set(Some(cx.waker().clone()));
                Poll::Pending
            })
            .await;
            helper.await.unwrap();
        });
        rt.stats()
    });
    assert_eq!(stats.remote_wakes, 10, "{stats:?}");
    assert!((1..=10).contains(&stats.eventfd_rings), "{stats:?}");
    assert!(stats.polls >= 11, "{stats:?}");
}

/// A small JSON parser, enough to check that the trace file is well-formed JSON and to
/// look inside its events, without a dependency.
mod json {
    /// A JSON value.
    #[derive(Debug)]
    pub enum Value {
        Null,
        Bool(#[allow(dead_code)] bool),
        Number(f64),
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    impl Value {
        /// Member `key` of an object.
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }

        /// The string, if this is one.
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Value::String(s) => Some(s),
                _ => None,
            }
        }

        /// The number, if this is one.
        pub fn as_f64(&self) -> Option<f64> {
            match self {
                Value::Number(n) => Some(*n),
                _ => None,
            }
        }
    }

    /// Parses a whole document.
    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let value = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing data at byte {}", p.i));
        }
        Ok(value)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }

        fn eat(&mut self, b: u8) -> Result<(), String> {
            self.ws();
            if self.s.get(self.i) == Some(&b) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected {:?} at byte {}", b as char, self.i))
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            match self.s.get(self.i) {
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Value::Array(items));
                    }
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Value::Array(items));
                            }
                            _ => return Err(format!("bad array at byte {}", self.i)),
                        }
                    }
                }
                Some(b'{') => {
                    self.i += 1;
                    let mut members = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Value::Object(members));
                    }
                    loop {
                        self.ws();
                        let key = self.string()?;
                        self.eat(b':')?;
                        members.push((key, self.value()?));
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Value::Object(members));
                            }
                            _ => return Err(format!("bad object at byte {}", self.i)),
                        }
                    }
                }
                Some(b'"') => self.string().map(Value::String),
                Some(b't') => self.word("true", Value::Bool(true)),
                Some(b'f') => self.word("false", Value::Bool(false)),
                Some(b'n') => self.word("null", Value::Null),
                Some(_) => self.number(),
                None => Err("unexpected end".into()),
            }
        }

        fn word(&mut self, word: &str, value: Value) -> Result<Value, String> {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                Ok(value)
            } else {
                Err(format!("bad literal at byte {}", self.i))
            }
        }

        fn number(&mut self) -> Result<Value, String> {
            let start = self.i;
            while self.i < self.s.len()
                && matches!(
                    self.s[self.i],
                    b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                )
            {
                self.i += 1;
            }
            std::str::from_utf8(&self.s[start..self.i])
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Value::Number)
                .ok_or_else(|| format!("bad number at byte {start}"))
        }

        fn string(&mut self) -> Result<String, String> {
            if self.s.get(self.i) != Some(&b'"') {
                return Err(format!("expected a string at byte {}", self.i));
            }
            self.i += 1;
            let mut out = Vec::new();
            while let Some(&b) = self.s.get(self.i) {
                self.i += 1;
                match b {
                    b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                    b'\\' => {
                        let esc = *self.s.get(self.i).ok_or("unterminated escape")?;
                        self.i += 1;
                        match esc {
                            b'"' | b'\\' | b'/' => out.push(esc),
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            b'u' => {
                                let hex =
                                    self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
                                let code = u32::from_str_radix(
                                    std::str::from_utf8(hex).map_err(|e| e.to_string())?,
                                    16,
                                )
                                .map_err(|e| e.to_string())?;
                                self.i += 4;
                                let c = char::from_u32(code).ok_or("bad \\u escape")?;
                                out.extend_from_slice(c.to_string().as_bytes());
                            }
                            _ => return Err(format!("bad escape at byte {}", self.i)),
                        }
                    }
                    b if b < 0x20 => {
                        return Err(format!("control character in string at byte {}", self.i));
                    }
                    b => out.push(b),
                }
            }
            Err("unterminated string".into())
        }
    }
}
