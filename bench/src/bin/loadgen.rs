//! The load generator of the benchmark suite: closed-loop ping-pong over TCP.
//!
//! Every connection has exactly one message in flight: it sends a message, waits for the
//! whole reply, records the round-trip time, and sends the next. With N connections the
//! server therefore always has up to N requests to serve, and the figures are
//! messages per second and the latency percentiles of those round trips.
//!
//! It must never be the bottleneck, so it carries no runtime of its own: each thread
//! drives its connections with a level-triggered epoll loop over blocking sockets (epoll
//! only says which socket has a reply; a read after that never blocks, and a write of one
//! small message always fits in the socket buffer). A thread with a single connection
//! skips epoll and just writes then reads, two system calls per message.
//!
//! ```text
//! loadgen --addr 127.0.0.1:33445 --conns 50 --size 64 --secs 5       # echo, timed
//! loadgen --addr 127.0.0.1:33445 --conns 1 --count 20000              # echo, counted
//! loadgen --addr 127.0.0.1:8080 --http --conns 1 --secs 5             # HTTP keep-alive
//! loadgen --addr 127.0.0.1:33445 --conns 5000 --idle --pid 1234       # memory per connection
//! loadgen --addr 127.0.0.1:33445 --idle-conns 10000 --conns 1 --count 20000 --pid 1234
//! ```
//!
//! The last line keeps 10,000 connections open and idle (each made one round trip first)
//! while one connection makes 20,000 round trips: the server's CPU time per request beside
//! many idle connections, and its memory growth per idle connection.
//!
//! The result is one line of `key=value` pairs, starting with `loadgen:`, easy to pick
//! apart from a shell script. With `--pid`, the server's user and system CPU time during
//! the measured window (from `/proc/<pid>/stat`) are reported per message too, and its
//! total CPU time to the nanosecond (from `/proc/<pid>/task/*/schedstat`).
//!
//! Only loopback addresses are accepted: this tool exists to load a server on this machine.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::epoll::{Epoll, EventFlags, Events};

/// The request of `--http` mode: a minimal keep-alive HTTP/1.1 GET.
const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Kernel clock ticks per second in `/proc/<pid>/stat`: `USER_HZ`, fixed at 100 on Linux
/// whatever the kernel's internal tick rate.
const USER_HZ: f64 = 100.0;

/// What the command line asked for.
#[derive(Clone, Debug)]
struct Options {
    /// The server to load (loopback only).
    addr: SocketAddr,
    /// Connections, spread over the threads.
    conns: usize,
    /// Bytes per echo message.
    size: usize,
    /// Measured duration, in seconds (ignored when `count` is set).
    secs: f64,
    /// Unmeasured run before the measured window, in seconds (timed mode only).
    warmup: f64,
    /// Client threads.
    threads: usize,
    /// Make exactly this many round trips in all, however long they take (counted mode:
    /// no warm-up, `secs` ignored).
    count: Option<u64>,
    /// Speak HTTP/1.1 instead of echo.
    http: bool,
    /// Open the connections, make one round trip on each, report memory, and stop.
    idle: bool,
    /// The server's process id, to report its CPU time (or memory, with `idle`).
    pid: Option<u32>,
    /// Connections opened before a ping-pong run, each making one round trip, and held
    /// open and idle while it runs.
    idle_conns: usize,
}

impl Options {
    /// Parses `std::env::args`.
    fn parse() -> Result<Self, String> {
        let mut opts = Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 33445)),
            conns: 1,
            size: 64,
            secs: 5.0,
            warmup: 0.5,
            threads: 1,
            count: None,
            http: false,
            idle: false,
            pid: None,
            idle_conns: 0,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--http" => opts.http = true,
                "--idle" => opts.idle = true,
                "-h" | "--help" => return Err(String::new()),
                _ => {
                    let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
                    match flag.as_str() {
                        "--addr" => opts.addr = parse(&flag, &value)?,
                        "--conns" => opts.conns = parse(&flag, &value)?,
                        "--size" => opts.size = parse(&flag, &value)?,
                        "--secs" => opts.secs = parse(&flag, &value)?,
                        "--warmup" => opts.warmup = parse(&flag, &value)?,
                        "--threads" => opts.threads = parse(&flag, &value)?,
                        "--count" => opts.count = Some(parse(&flag, &value)?),
                        "--pid" => opts.pid = Some(parse(&flag, &value)?),
                        "--idle-conns" => opts.idle_conns = parse(&flag, &value)?,
                        _ => return Err(format!("unknown option {flag}")),
                    }
                }
            }
        }
        if !opts.addr.ip().is_loopback() {
            return Err(format!("{} is not a loopback address", opts.addr));
        }
        if opts.conns == 0 || opts.size == 0 || opts.threads == 0 {
            return Err("--conns, --size and --threads must be at least 1".into());
        }
        if opts.secs <= 0.0 || opts.warmup < 0.0 {
            return Err("--secs must be positive and --warmup not negative".into());
        }
        opts.threads = opts.threads.min(opts.conns);
        Ok(opts)
    }
}

/// Parses one option's value.
fn parse<T: FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("bad value for {flag}: {value:?}"))
}

/// The protocol spoken on every connection: what to send, and when a reply is complete.
#[derive(Clone, Copy, Debug)]
enum Protocol {
    /// Send `size` bytes, expect the same bytes back.
    Echo { size: usize },
    /// Send [`HTTP_REQUEST`], expect one `200` response with a `Content-Length` body.
    Http,
}

impl Protocol {
    /// Fills `out` with the request numbered `seq`.
    fn request(self, seq: u64, out: &mut Vec<u8>) {
        out.clear();
        match self {
            // Each message carries its sequence number, so a reply from the wrong round
            // trip, or a corrupted one, is caught.
            Protocol::Echo { size } => {
                out.extend((0..size).map(|i| (seq as usize).wrapping_add(i) as u8));
            }
            Protocol::Http => out.extend_from_slice(HTTP_REQUEST),
        }
    }

    /// If `received` starts with a whole reply to `request`, its length. An error if the
    /// reply is wrong.
    fn complete(self, request: &[u8], received: &[u8]) -> io::Result<Option<usize>> {
        match self {
            Protocol::Echo { size } => {
                if received.len() < size {
                    return Ok(None);
                }
                if received.len() > size || received != request {
                    return Err(bad_reply("the echo differs from the message"));
                }
                Ok(Some(size))
            }
            Protocol::Http => http_response_len(received),
        }
    }
}

/// The length of the HTTP response at the start of `buf`, once it is all there.
fn http_response_len(buf: &[u8]) -> io::Result<Option<usize>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| bad_reply("response head is not UTF-8"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(bad_reply("response is not `HTTP/1.1 200`"));
    }
    let body_len = head
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or_else(|| bad_reply("response has no Content-Length"))?;
    let total = head_end + 4 + body_len;
    Ok((buf.len() >= total).then_some(total))
}

/// An `InvalidData` error.
fn bad_reply(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// One client connection and the round trip in flight on it.
struct Conn {
    /// The socket (blocking).
    stream: TcpStream,
    /// The request in flight.
    request: Vec<u8>,
    /// Reply bytes received so far.
    received: Vec<u8>,
    /// When the request in flight was sent.
    sent_at: Instant,
    /// Round trips started on this connection.
    seq: u64,
}

impl Conn {
    /// Connects to `addr` with `TCP_NODELAY`.
    fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            request: Vec::new(),
            received: Vec::with_capacity(4096),
            sent_at: Instant::now(),
            seq: 0,
        })
    }

    /// Sends the next request.
    fn send(&mut self, proto: Protocol) -> io::Result<()> {
        proto.request(self.seq, &mut self.request);
        self.seq += 1;
        self.received.clear();
        self.sent_at = Instant::now();
        self.stream.write_all(&self.request)
    }

    /// Reads what is there (one `read`, which blocks only if nothing is) and says whether
    /// the reply is now complete.
    fn receive(&mut self, proto: Protocol) -> io::Result<bool> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.received.extend_from_slice(&chunk[..n]);
        Ok(proto.complete(&self.request, &self.received)?.is_some())
    }

    /// Sends a request and blocks until its whole reply is in: one round trip.
    fn round_trip(&mut self, proto: Protocol) -> io::Result<()> {
        self.send(proto)?;
        while !self.receive(proto)? {}
        Ok(())
    }
}

/// When a thread measures and when it stops.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Count round trips completed in `[from, until)`, stop at `until`.
    Timed { from: Instant, until: Instant },
    /// Send exactly this many requests, count every round trip, stop when all are
    /// answered. No time limit.
    Counted(u64),
}

impl Plan {
    /// Whether a round trip completed at `now` is counted.
    fn counts(self, now: Instant) -> bool {
        match self {
            Plan::Timed { from, until } => now >= from && now < until,
            Plan::Counted(_) => true,
        }
    }

    /// Whether a thread that has sent `sent` requests may send another at `now`.
    fn may_send(self, sent: u64, now: Instant) -> bool {
        match self {
            Plan::Timed { until, .. } => now < until,
            Plan::Counted(total) => sent < total,
        }
    }
}

/// What one thread measured.
#[derive(Default)]
struct Tally {
    /// Round trips counted.
    done: u64,
    /// Their round-trip times, in nanoseconds.
    latencies_ns: Vec<u32>,
}

impl Tally {
    /// Records a round trip that completed at `now`, if the plan counts it.
    fn record(&mut self, plan: Plan, conn: &Conn, now: Instant) {
        if plan.counts(now) {
            self.done += 1;
            let ns = now.duration_since(conn.sent_at).as_nanos();
            self.latencies_ns.push(ns.min(u32::MAX as u128) as u32);
        }
    }
}

/// Runs the ping-pong on `conns` until the plan says stop.
fn drive(mut conns: Vec<Conn>, proto: Protocol, plan: Plan) -> io::Result<Tally> {
    let mut tally = Tally::default();
    if let [conn] = conns.as_mut_slice() {
        // One connection: no need to ask epoll which one is ready.
        loop {
            conn.round_trip(proto)?;
            let now = Instant::now();
            tally.record(plan, conn, now);
            if !plan.may_send(conn.seq, now) {
                return Ok(tally);
            }
        }
    }

    let epoll = Epoll::new()?;
    for (token, conn) in conns.iter().enumerate() {
        epoll.register_with_token(conn.stream.as_fd(), EventFlags::IN, token as u64)?;
    }
    let mut events = Events::with_capacity(conns.len().min(1024));
    // Requests sent, and connections still waiting for a reply; the loop ends when none
    // is. In counted mode a request is sent only while the count allows, so exactly that
    // many are made, even with more connections than requests.
    let mut sent = 0;
    let mut in_flight = 0;
    for conn in &mut conns {
        if !plan.may_send(sent, Instant::now()) {
            break;
        }
        conn.send(proto)?;
        sent += 1;
        in_flight += 1;
    }
    while in_flight > 0 {
        epoll.poll(&mut events, Some(Duration::from_secs(10)))?;
        if events.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no reply for 10 s: is the server alive?",
            ));
        }
        let now = Instant::now();
        for event in events.iter() {
            let conn = &mut conns[event.token() as usize];
            if !conn.receive(proto)? {
                continue;
            }
            tally.record(plan, conn, now);
            if plan.may_send(sent, now) {
                conn.send(proto)?;
                sent += 1;
            } else {
                in_flight -= 1;
            }
        }
    }
    Ok(tally)
}

/// A process's CPU time so far, in seconds, to the nanosecond: the sum over its threads
/// of the first field of `/proc/<pid>/task/<tid>/schedstat` (time spent on a CPU, user and
/// system together). Unlike the 10 ms ticks of `/proc/<pid>/stat` it resolves a
/// microsecond, and time spent waiting for a CPU is not in it.
fn run_time(pid: u32) -> io::Result<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let schedstat = std::fs::read_to_string(task?.path().join("schedstat"))?;
        ns += schedstat
            .split_whitespace()
            .next()
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or_else(|| bad_reply("malformed /proc/<pid>/task/<tid>/schedstat"))?;
    }
    Ok(ns as f64 / 1e9)
}

/// A process's CPU time so far, user and system, in seconds.
fn cpu_times(pid: u32) -> io::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after its ')' do not.
    // utime and stime are fields 14 and 15, i.e. the 12th and 13th after the name.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| bad_reply("malformed /proc/<pid>/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| bad_reply("malformed /proc/<pid>/stat"))
    };
    Ok((ticks(11)? / USER_HZ, ticks(12)? / USER_HZ))
}

/// A process's resident set size, in bytes.
fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| bad_reply("no VmRSS in /proc/<pid>/status"))
}

/// The `q`-quantile of `samples` (sorted in place), in microseconds.
fn quantile_us(samples: &mut [u32], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let rank = ((samples.len() - 1) as f64 * q).round() as usize;
    let (_, value, _) = samples.select_nth_unstable(rank);
    f64::from(*value) / 1000.0
}

/// Opens `count` connections, makes one round trip on each (so the server has accepted it
/// and its task has run), and returns them with the server's memory report, if `pid`.
fn open_idle(
    opts: &Options,
    proto: Protocol,
    count: usize,
) -> io::Result<(Vec<Conn>, Option<String>)> {
    let before = opts.pid.map(rss_bytes).transpose()?;
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        let mut conn = Conn::connect(opts.addr)?;
        conn.round_trip(proto)?;
        conns.push(conn);
    }
    // Let the server finish whatever it does after its last reply.
    thread::sleep(Duration::from_millis(200));
    let mut report = None;
    if let (Some(pid), Some(before)) = (opts.pid, before) {
        let after = rss_bytes(pid)?;
        let per_conn = after.saturating_sub(before) as f64 / count.max(1) as f64;
        report = Some(format!(
            "rss_before_kb={} rss_after_kb={} bytes_per_conn={per_conn:.0}",
            before / 1024,
            after / 1024
        ));
    }
    Ok((conns, report))
}

/// `--idle`: opens every connection, makes one round trip on each, and reports the
/// server's memory growth.
fn idle(opts: &Options, proto: Protocol) -> io::Result<()> {
    let (conns, report) = open_idle(opts, proto, opts.conns)?;
    let mut line = format!("loadgen: mode=idle conns={}", conns.len());
    if let Some(report) = report {
        line += &format!(" {report}");
    }
    println!("{line}");
    Ok(())
}

/// The server's user and system CPU time (10 ms ticks) and its time on a CPU (to the
/// nanosecond), in seconds.
fn server_cpu(pid: u32) -> io::Result<(f64, f64, f64)> {
    let (user, sys) = cpu_times(pid)?;
    Ok((user, sys, run_time(pid)?))
}

/// The ping-pong run: connect, start together, measure, report.
fn ping_pong(opts: &Options, proto: Protocol) -> io::Result<()> {
    // `--idle-conns`: held open (and idle) until the report is printed.
    let (_idle, idle_report) = match opts.idle_conns {
        0 => (Vec::new(), None),
        n => open_idle(opts, proto, n)?,
    };

    // Connect everything first, so connection setup is never measured.
    let mut groups: Vec<Vec<Conn>> = (0..opts.threads).map(|_| Vec::new()).collect();
    for i in 0..opts.conns {
        groups[i % opts.threads].push(Conn::connect(opts.addr)?);
    }

    let start = Instant::now() + Duration::from_millis(50);
    let plan_for = |thread: usize| match opts.count {
        Some(total) => {
            // Split the count evenly; the first threads take the remainder.
            let share = total / opts.threads as u64;
            Plan::Counted(share + u64::from((thread as u64) < total % opts.threads as u64))
        }
        None => {
            let from = start + Duration::from_secs_f64(opts.warmup);
            Plan::Timed {
                from,
                until: from + Duration::from_secs_f64(opts.secs),
            }
        }
    };

    // The threads and this one meet at the barrier, then the clock starts.
    let barrier = Arc::new(Barrier::new(opts.threads + 1));
    let workers: Vec<_> = groups
        .into_iter()
        .enumerate()
        .map(|(i, conns)| {
            let barrier = barrier.clone();
            let plan = plan_for(i);
            thread::spawn(move || {
                barrier.wait();
                drive(conns, proto, plan)
            })
        })
        .collect();
    barrier.wait();

    // The server's CPU time over the measured window: sampled from this thread, which
    // otherwise only waits.
    let (window_start, cpu_before) = match opts.count {
        Some(_) => (Instant::now(), opts.pid.map(server_cpu).transpose()?),
        None => {
            let from = start + Duration::from_secs_f64(opts.warmup);
            thread::sleep(from.saturating_duration_since(Instant::now()));
            (from, opts.pid.map(server_cpu).transpose()?)
        }
    };
    if opts.count.is_none() {
        let until = window_start + Duration::from_secs_f64(opts.secs);
        thread::sleep(until.saturating_duration_since(Instant::now()));
    }
    let cpu_after_window = opts.pid.map(server_cpu).transpose()?;

    let mut done = 0;
    let mut latencies = Vec::new();
    for worker in workers {
        let tally = worker
            .join()
            .map_err(|_| io::Error::other("a client thread panicked"))??;
        done += tally.done;
        latencies.extend(tally.latencies_ns);
    }
    // In counted mode the window ends when the last thread does.
    let (elapsed, cpu_after) = match opts.count {
        Some(_) => (
            window_start.elapsed(),
            opts.pid.map(server_cpu).transpose()?,
        ),
        None => (Duration::from_secs_f64(opts.secs), cpu_after_window),
    };

    let secs = elapsed.as_secs_f64();
    let mut line = format!(
        "loadgen: mode={} conns={} threads={} msgs={done} secs={secs:.3} msg_per_s={:.0} \
         p50_us={:.1} p99_us={:.1}",
        if opts.http { "http" } else { "echo" },
        opts.conns,
        opts.threads,
        done as f64 / secs,
        quantile_us(&mut latencies, 0.50),
        quantile_us(&mut latencies, 0.99),
    );
    if let (Some((u0, s0, r0)), Some((u1, s1, r1))) = (cpu_before, cpu_after) {
        let per_msg = |t: f64| t * 1e6 / done.max(1) as f64;
        line += &format!(
            " server_user_us_per_msg={:.3} server_sys_us_per_msg={:.3} server_cpu_us_per_msg={:.3}",
            per_msg(u1 - u0),
            per_msg(s1 - s0),
            per_msg(r1 - r0)
        );
    }
    if opts.idle_conns > 0 {
        line += &format!(" idle_conns={}", opts.idle_conns);
        if let Some(report) = idle_report {
            line += &format!(" idle_{}", report.replace(' ', " idle_"));
        }
    }
    println!("{line}");
    Ok(())
}

fn main() -> ExitCode {
    let opts = match Options::parse() {
        Ok(opts) => opts,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("loadgen: {why}");
            }
            eprintln!(
                "usage: loadgen [--addr 127.0.0.1:PORT] [--conns N] [--size BYTES] \
                 [--secs S] [--warmup S] [--threads T] [--count N] [--http] [--idle] [--pid PID] \
                 [--idle-conns N]"
            );
            return ExitCode::from(2);
        }
    };
    let proto = if opts.http {
        Protocol::Http
    } else {
        Protocol::Echo { size: opts.size }
    };
    let result = if opts.idle {
        idle(&opts, proto)
    } else {
        ping_pong(&opts, proto)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
