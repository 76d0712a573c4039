//! Ten thousand concurrent connections, held open together and each echoed correctly by an
//! echo server running one runtime on one thread.
//!
//! Both ends of 10,000 connections take 20,000 descriptors, and the hard limit on this
//! machine is 20,000 per process. So the clients live in a second process: the test binary
//! runs itself again (`std::env::current_exe()`), asking for the ignored test
//! [`client_side_of_the_load_test`] only, with the server's address in the environment.
//! Each process then needs a little over 10,000 descriptors, and raises its soft limit to
//! the hard one.
//!
//! The two processes talk over the child's standard streams: the child prints
//! `load_10k: echoed N` once every connection is open and has had its message echoed,
//! then holds them all until it reads `close` on its standard input. While they are held,
//! the test checks that the server has 10,000 handlers live at once and that it uses
//! almost no CPU with 10,000 idle connections.

mod server;
mod util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use server::EchoServer;

/// Connections held at once.
const CONNECTIONS: usize = 10_000;

/// Client threads in the child process; each opens, writes and reads its share.
const CLIENT_THREADS: usize = 4;

/// Descriptors each process needs beyond its connections: standard streams, the runtime's
/// epoll and eventfd, the listener, the pipes to the child, the test harness's own.
const SPARE_FDS: u64 = 64;

/// Limit for the whole test, generous because the machine may be busy with builds.
const LIMIT: Duration = Duration::from_secs(180);

/// How long one client waits for a connect or an echo before failing.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variable that tells the child process where the server listens.
const ADDR_VAR: &str = "EPOLL_RT_LOAD_10K_ADDR";

/// The line the child prints once every connection has been echoed.
const ECHOED: &str = "load_10k: echoed";

/// How long the server is watched while the connections sit idle.
const IDLE_WATCH: Duration = Duration::from_millis(500);

/// Raises the soft descriptor limit to the hard one; fails if that is not enough for
/// `needed` descriptors.
fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct, which we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0, "getrlimit failed");
    assert!(
        limit.rlim_max >= needed,
        "this test needs {needed} descriptors per process; the hard limit is {}",
        limit.rlim_max
    );
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit reads one `rlimit` from the struct, which lives across the call.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(rc, 0, "setrlimit failed: {}", io::Error::last_os_error());
}

/// The message connection `id` sends: its number, then 8 to 120 bytes of its own.
fn message(id: usize) -> Vec<u8> {
    let mut rng = util::Rng::new(0x10_000 + id as u64);
    let len = 8 + rng.below(113) as usize;
    let mut message = format!("{id:05}|").into_bytes();
    message.extend(rng.bytes(len));
    message
}

/// Opens `count` connections to `addr` from [`CLIENT_THREADS`] threads; once all are open,
/// sends each its message and checks each echo. Returns the connections, still open.
fn open_and_echo(addr: SocketAddr, count: usize) -> io::Result<Vec<TcpStream>> {
    let all_open = Arc::new(Barrier::new(CLIENT_THREADS));
    let threads: Vec<_> = (0..CLIENT_THREADS)
        .map(|t| {
            let all_open = all_open.clone();
            thread::spawn(move || -> io::Result<Vec<TcpStream>> {
                let ids: Vec<usize> = (t..count).step_by(CLIENT_THREADS).collect();
                let mut streams = Vec::with_capacity(ids.len());
                for &id in &ids {
                    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
                        .map_err(|e| io::Error::new(e.kind(), format!("connect {id}: {e}")))?;
                    stream.set_read_timeout(Some(IO_TIMEOUT))?;
                    streams.push(stream);
                }
                // Nothing is sent before every connection of every thread is open.
                all_open.wait();
                for (&id, stream) in ids.iter().zip(&mut streams) {
                    stream.write_all(&message(id))?;
                }
                for (&id, stream) in ids.iter().zip(&mut streams) {
                    let expected = message(id);
                    let mut echoed = vec![0u8; expected.len()];
                    stream
                        .read_exact(&mut echoed)
                        .map_err(|e| io::Error::new(e.kind(), format!("echo {id}: {e}")))?;
                    assert!(echoed == expected, "connection {id} got a wrong echo");
                }
                Ok(streams)
            })
        })
        .collect();
    let mut streams = Vec::with_capacity(count);
    for thread in threads {
        streams.extend(thread.join().expect("a client thread panicked")?);
    }
    Ok(streams)
}

/// The client process: opens and echoes every connection, says so, and holds them until
/// told to close. Run by [`ten_thousand_connections_are_held_and_echoed`].
#[test]
#[ignore = "the client half of ten_thousand_connections_are_held_and_echoed, which runs it \
            in a child process"]
fn client_side_of_the_load_test() -> io::Result<()> {
    let addr: SocketAddr = std::env::var(ADDR_VAR)
        .unwrap_or_else(|_| {
            panic!(
                "{ADDR_VAR} is not set: this is the client half of \
                 ten_thousand_connections_are_held_and_echoed; run that test instead"
            )
        })
        .parse()
        .expect("a socket address");
    // If the parent dies, its end of our standard input closes and we stop below; this
    // bounds the rest.
    thread::spawn(|| {
        thread::sleep(LIMIT);
        eprintln!("client process: still running after {LIMIT:?}, giving up");
        std::process::exit(3);
    });
    raise_fd_limit(CONNECTIONS as u64 + SPARE_FDS);

    let start = Instant::now();
    let streams = open_and_echo(addr, CONNECTIONS)?;
    eprintln!(
        "client process: {} connections opened and echoed in {:.2?}",
        streams.len(),
        start.elapsed()
    );
    println!("{ECHOED} {}", streams.len());
    io::stdout().flush()?;

    let mut command = String::new();
    io::stdin().read_line(&mut command)?;
    assert_eq!(command.trim(), "close", "the parent process went away");
    drop(streams);
    Ok(())
}

/// Kills the child process if the test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn ten_thousand_connections_are_held_and_echoed() -> io::Result<()> {
    util::watchdog(LIMIT, || {
        raise_fd_limit(CONNECTIONS as u64 + SPARE_FDS);
        let server = EchoServer::start();
        let fds_before = util::open_fds();
        let start = Instant::now();

        // 1. The clients, in a child process running this binary's ignored test.
        let mut child = KillOnDrop(
            Command::new(std::env::current_exe()?)
                .args([
                    "client_side_of_the_load_test",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ADDR_VAR, server.addr.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?,
        );
        let mut stderr = child.0.stderr.take().expect("piped");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut stdout = BufReader::new(child.0.stdout.take().expect("piped"));

        // 2. Wait until every connection is open and echoed. The rest is the harness's
        // output, which may share the line (`test client_side_of_the_load_test ... `).
        let mut line = String::new();
        let echoed = loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                let status = child.0.wait()?;
                let stderr = stderr.join().expect("stderr reader");
                panic!("the client process ended ({status}) before echoing:\n{stderr}");
            }
            if let Some((_, count)) = line.split_once(ECHOED) {
                break count.trim().parse::<usize>().expect("a count");
            }
        };
        let echo_time = start.elapsed();
        assert_eq!(echoed, CONNECTIONS);

        // 3. All of them are held at once, by one server thread, which idles while they do.
        let stats = &server.stats;
        assert_eq!(stats.accepted.load(Ordering::SeqCst), CONNECTIONS);
        assert_eq!(stats.live.load(Ordering::SeqCst), CONNECTIONS);
        assert_eq!(stats.peak.load(Ordering::SeqCst), CONNECTIONS);
        assert_eq!(stats.ended(), 0, "a handler ended while its client held on");
        let busy_cpu = server.cpu_time();
        let (idle_cpu, wall) = server.idle_cpu(IDLE_WATCH);
        assert!(
            idle_cpu < wall / 5,
            "the server used {idle_cpu:?} of CPU in {wall:?} with {CONNECTIONS} idle connections"
        );

        // 4. The clients close; every handler ends at end of file and every descriptor
        // is released.
        let mut stdin = child.0.stdin.take().expect("piped");
        writeln!(stdin, "close")?;
        drop(stdin);
        let status = child.0.wait()?;
        let stderr = stderr.join().expect("stderr reader");
        assert!(status.success(), "client process: {status}\n{stderr}");
        assert!(
            server.wait_for_handlers(CONNECTIONS, Duration::from_secs(60)),
            "handlers still running: {:?}",
            server.stats
        );
        assert_eq!(stats.failed.load(Ordering::SeqCst), 0);
        drop(stdout);
        drop(child);
        assert!(
            server::wait_until(Duration::from_secs(10), || util::open_fds() == fds_before),
            "{} descriptors open after the clients left, {fds_before} before they came",
            util::open_fds()
        );

        // 5. And the server still serves.
        server.assert_serves(b"after ten thousand")?;
        eprintln!(
            "{CONNECTIONS} connections opened, held and echoed in {echo_time:.2?}; server CPU \
             {busy_cpu:.2?} for all of it, {idle_cpu:?} in {wall:.2?} while they sat idle; \
             {}",
            stderr.trim()
        );
        server.stop()
    })
}
