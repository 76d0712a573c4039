//! Peers that misbehave do not disturb anyone else: an echo server (one runtime, one
//! thread) serves 50 well-behaved clients correctly while other clients, at the same time,
//! reset their connection mid-read and mid-write, half-close, vanish with unread data,
//! reset before they are even accepted, or send one byte at a time.
//!
//! Every client is a plain thread with a blocking std socket, so the clients share nothing
//! with the runtime under test. Each kind of fault has a known outcome on the server (a
//! reset is an error for the handler, a half-close or a slow client ends at end of file),
//! so the test checks the server's counts exactly, then that it holds no descriptor of a
//! gone client, sits idle, and still serves.

mod server;
mod util;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use server::EchoServer;

/// Well-behaved clients.
const GOOD: usize = 50;

/// Rounds a well-behaved client makes at least, and at most: it goes on while faults are
/// still happening, so that every fault meets live neighbours.
const GOOD_ROUNDS: (usize, usize) = (20, 2000);

/// Largest message of one round of a well-behaved client.
const GOOD_CHUNK: u64 = 16 << 10;

/// Bytes a slow client sends, one at a time.
const SLOW_BYTES: usize = 200;

/// Pause between two bytes of a slow client.
const SLOW_PAUSE: Duration = Duration::from_millis(1);

/// Bytes a half-closing client sends before shutting down its writing half.
const HALF_CLOSE_BYTES: usize = 256 << 10;

/// Most bytes a client resetting mid-write sends while it waits for the server to block.
const MAX_FLOOD: usize = 64 << 20;

/// Bytes a client resetting mid-write must have sent beyond those echoed back to it before
/// it resets: echo the server still has to write.
const IN_FLIGHT: usize = 128 << 10;

/// How long one client waits for a read before failing.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Limit for the whole test.
const LIMIT: Duration = Duration::from_secs(120);

/// The ways a client can misbehave.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    /// Sends part of a message, reads its echo (so the server waits in `read`), then
    /// resets the connection (`SO_LINGER` zero).
    ResetMidRead,
    /// Sends without reading until the server is stuck writing the echo, then resets.
    ResetMidWrite,
    /// Sends, shuts down its writing half, reads the whole echo and then end of file.
    HalfClose,
    /// Sends, and closes as soon as the echo starts to arrive: closing with unread data
    /// makes the kernel send a reset.
    Vanish,
    /// Connects, sends and resets at once, before the server has accepted the connection.
    ResetAtOnce,
    /// Sends one byte at a time, with a pause between bytes, then reads the echo.
    Slow,
}

impl Fault {
    /// How many clients of each kind.
    const PLAN: [(Fault, usize); 6] = [
        (Fault::ResetMidRead, 10),
        (Fault::ResetMidWrite, 5),
        (Fault::HalfClose, 10),
        (Fault::Vanish, 10),
        (Fault::ResetAtOnce, 10),
        (Fault::Slow, 20),
    ];

    /// Whether the server's handler must end with an error (a reset) rather than at end
    /// of file.
    fn fails_the_handler(self) -> bool {
        !matches!(self, Fault::HalfClose | Fault::Slow)
    }
}

/// Sets an integer socket option.
fn set_option(stream: &TcpStream, level: libc::c_int, name: libc::c_int, value: libc::c_int) {
    // SAFETY: the option value is a c_int that lives across the call, with its size given;
    // the descriptor is open for as long as `stream` is borrowed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt: {}", io::Error::last_os_error());
}

/// Closes `stream` with a reset instead of the usual end of file: `SO_LINGER` on, with a
/// zero timeout, makes `close` discard the unsent data and send an RST.
fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the option value is a `linger` that lives across the call, with its size
    // given; the descriptor is open for as long as `stream` is borrowed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
    drop(stream);
}

/// Bytes waiting in `stream`'s receive queue.
fn unread_bytes(stream: &TcpStream) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int, which we own; the descriptor is open.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0, "FIONREAD: {}", io::Error::last_os_error());
    n as usize
}

/// Connects to the server, with reads bounded by [`IO_TIMEOUT`].
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// A well-behaved client: rounds of a random message and its echo, checked, with a short
/// pause between rounds, until `faults_left` reaches zero (within the round bounds).
fn good_client(stream: &mut TcpStream, id: u64, faults_left: &AtomicUsize) -> io::Result<usize> {
    let mut rng = util::Rng::new(0x600D_0000 + id);
    let (min_rounds, max_rounds) = GOOD_ROUNDS;
    let mut echoed = vec![0u8; GOOD_CHUNK as usize];
    for round in 0..max_rounds {
        if round >= min_rounds && faults_left.load(Ordering::SeqCst) == 0 {
            return Ok(round);
        }
        let len = 1 + rng.below(GOOD_CHUNK) as usize;
        let message = rng.bytes(len);
        stream.write_all(&message)?;
        stream.read_exact(&mut echoed[..message.len()])?;
        assert!(
            echoed[..message.len()] == message[..],
            "good client {id}: wrong echo in round {round}"
        );
        thread::sleep(Duration::from_millis(1));
    }
    Ok(max_rounds)
}

/// A client with a fault, from an open connection to the end of its misbehaviour.
fn faulty_client(mut stream: TcpStream, fault: Fault, id: u64) -> io::Result<()> {
    let mut rng = util::Rng::new(0xFA_0000 + id);
    match fault {
        Fault::ResetMidRead => {
            let part = b"the first half of a mess";
            stream.write_all(part)?;
            let mut echoed = [0u8; 24];
            stream.read_exact(&mut echoed)?;
            assert_eq!(&echoed, part);
            // The server has echoed everything and waits for the rest in `read`.
            thread::sleep(Duration::from_millis(5));
            reset(stream);
        }
        Fault::ResetMidWrite => {
            // Small buffers (which also turn off their autotuning) on our side, so the
            // server's writes fill them quickly.
            set_option(&stream, libc::SOL_SOCKET, libc::SO_RCVBUF, 32 << 10);
            set_option(&stream, libc::SOL_SOCKET, libc::SO_SNDBUF, 32 << 10);
            stream.set_nonblocking(true)?;
            let chunk = rng.bytes(64 << 10);
            // Send until sending blocks, with the echo coming back and well behind: the
            // server then holds more of our bytes than it has echoed, so it still has echo
            // to write when the reset lands. (No timing is assumed: a slow server only
            // makes this take longer.)
            let (mut sent, start) = (0, Instant::now());
            loop {
                assert!(sent < MAX_FLOOD, "the server never stopped reading");
                assert!(start.elapsed() < IO_TIMEOUT, "the echo never got going");
                match stream.write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        let unread = unread_bytes(&stream);
                        if unread > 0 && sent > unread + IN_FLIGHT {
                            break;
                        }
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => return Err(e),
                }
            }
            // Give the server a moment to fill our receive buffer, so that it waits in its
            // write; it has echo to write either way.
            let mut unread = unread_bytes(&stream);
            for _ in 0..20 {
                thread::sleep(Duration::from_millis(5));
                let now = unread_bytes(&stream);
                if now == unread {
                    break;
                }
                unread = now;
            }
            reset(stream);
        }
        Fault::HalfClose => {
            let message = rng.bytes(HALF_CLOSE_BYTES);
            let mut writer = stream.try_clone()?;
            let sent = message.clone();
            let writing = thread::spawn(move || -> io::Result<()> {
                writer.write_all(&sent)?;
                writer.shutdown(Shutdown::Write)
            });
            let mut echoed = Vec::with_capacity(message.len());
            stream.read_to_end(&mut echoed)?;
            writing.join().expect("writer thread panicked")?;
            assert!(
                echoed == message,
                "half-close {id}: echo differs or cut short"
            );
        }
        Fault::Vanish => {
            stream.write_all(&rng.bytes(32 << 10))?;
            // Wait for the first echoed byte without taking it, then close with it unread.
            let mut byte = [0u8; 1];
            assert_eq!(stream.peek(&mut byte)?, 1);
            drop(stream);
        }
        Fault::ResetAtOnce => {
            stream.write_all(b"hello and goodbye")?;
            reset(stream);
        }
        Fault::Slow => {
            stream.set_nodelay(true)?;
            let message = rng.bytes(SLOW_BYTES);
            for byte in &message {
                stream.write_all(std::slice::from_ref(byte))?;
                thread::sleep(SLOW_PAUSE);
            }
            let mut echoed = vec![0u8; SLOW_BYTES];
            stream.read_exact(&mut echoed)?;
            assert!(echoed == message, "slow client {id}: wrong echo");
        }
    }
    Ok(())
}

#[test]
fn faulty_peers_do_not_disturb_other_connections_or_the_server() -> io::Result<()> {
    util::watchdog(LIMIT, || {
        let server = EchoServer::start();
        let fds_before = util::open_fds();
        let faults: Vec<Fault> = Fault::PLAN
            .iter()
            .flat_map(|&(fault, count)| std::iter::repeat_n(fault, count))
            .collect();
        let total = GOOD + faults.len();
        let faults_left = Arc::new(AtomicUsize::new(faults.len()));
        // Everyone connects first, then all start together.
        let start = Arc::new(Barrier::new(total));
        let began = Instant::now();

        let good: Vec<_> = (0..GOOD)
            .map(|id| {
                let (start, faults_left) = (start.clone(), faults_left.clone());
                let addr = server.addr;
                thread::spawn(move || -> io::Result<usize> {
                    let mut stream = connect(addr)?;
                    start.wait();
                    good_client(&mut stream, id as u64, &faults_left)
                })
            })
            .collect();
        let faulty: Vec<_> = faults
            .iter()
            .enumerate()
            .map(|(id, &fault)| {
                let (start, faults_left) = (start.clone(), faults_left.clone());
                let addr = server.addr;
                thread::spawn(move || -> io::Result<()> {
                    let result = connect(addr).and_then(|stream| {
                        start.wait();
                        faulty_client(stream, fault, id as u64)
                    });
                    faults_left.fetch_sub(1, Ordering::SeqCst);
                    result.map_err(|e| io::Error::new(e.kind(), format!("{fault:?} {id}: {e}")))
                })
            })
            .collect();

        // Every well-behaved client got every echo right; every fault went as planned.
        let mut rounds = 0;
        for (id, client) in good.into_iter().enumerate() {
            rounds += client
                .join()
                .expect("a good client panicked")
                .map_err(|e| io::Error::new(e.kind(), format!("good client {id}: {e}")))?;
        }
        for client in faulty {
            client.join().expect("a faulty client panicked")?;
        }
        let elapsed = began.elapsed();

        // The server saw each connection end the way its client left.
        assert!(
            server.wait_for_handlers(total, Duration::from_secs(20)),
            "handlers still running: {:?}",
            server.stats
        );
        let expected_failures = faults.iter().filter(|f| f.fails_the_handler()).count();
        let stats = &server.stats;
        assert_eq!(stats.failed.load(Ordering::SeqCst), expected_failures);
        assert_eq!(
            stats.closed.load(Ordering::SeqCst),
            total - expected_failures
        );

        // It holds no descriptor of a gone client, does not spin, and still serves.
        assert!(
            server::wait_until(Duration::from_secs(10), || util::open_fds() == fds_before),
            "{} descriptors open after the clients left, {fds_before} before they came",
            util::open_fds()
        );
        let (cpu, wall) = server.idle_cpu(Duration::from_millis(300));
        assert!(
            cpu < wall / 5,
            "the idle server used {cpu:?} of CPU in {wall:?}"
        );
        server.assert_serves(b"still there?")?;
        eprintln!(
            "{GOOD} good clients made {rounds} checked round trips while {} faulty clients \
             misbehaved, in {elapsed:.2?}: {:?}",
            faults.len(),
            Fault::PLAN
        );
        server.stop()
    })
}
