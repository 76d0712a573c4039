//! Chapter 1 of the guide (`docs/guide/01-blocking.md`): a blocking echo server on one
//! thread, and why it cannot serve two clients at once.
//!
//! With no argument, the program runs a demo and exits: it starts the server on a thread,
//! connects client A, then client B, and shows that B gets no answer while A is connected,
//! because the server's only thread sits in `read()` on A's socket. With
//! `--thread-per-client`, the server gives each client its own thread and B is answered at
//! once. With an address, it just serves, forever, for you to try with `nc`.
//!
//! ```text
//! cargo run --example guide_ch01_blocking                          # the demo
//! cargo run --example guide_ch01_blocking -- --thread-per-client   # the usual fix
//! cargo run --example guide_ch01_blocking -- 127.0.0.1:33446       # serve; try two `nc`s
//! ```
//!
//! The demo exits with status 0 if the server behaved as the chapter says, 1 otherwise.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long client B waits for its echo before concluding that nobody is serving it.
const PATIENCE: Duration = Duration::from_millis(500);

/// Prints one line, prefixed with the milliseconds since the program started and who
/// speaks, so the interleaving of server and clients is visible.
fn say(who: &str, what: &str) {
    static START: OnceLock<Instant> = OnceLock::new();
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    println!("{ms:>5} ms  {who:<8} {what}");
}

/// Echoes everything one client sends until it closes. Every call here blocks the thread:
/// `read` until the client sends something (or closes), `write_all` until the kernel has
/// taken every byte.
fn handle(mut stream: TcpStream, who: &str) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        say(who, "read() ... (the thread sleeps in the kernel)");
        let n = stream.read(&mut buf)?;
        if n == 0 {
            say(who, "read() = 0: the client closed");
            return Ok(());
        }
        say(who, &format!("read() = {n} bytes, echoing them"));
        stream.write_all(&buf[..n])?;
    }
}

/// The blocking server: accept a client, serve it until it leaves, accept the next.
/// `clients` bounds the loop (the demo serves two); `None` serves forever.
fn serve(listener: TcpListener, clients: Option<usize>, thread_per_client: bool) {
    let mut served = 0;
    while clients.is_none_or(|max| served < max) {
        say("server", "accept() ...");
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                say("server", &format!("accept failed: {e}"));
                continue;
            }
        };
        served += 1;
        say("server", &format!("accepted client {served} ({peer})"));
        if thread_per_client {
            // The usual fix: one thread per client. It works, at the price of a thread
            // (a stack, a kernel task, context switches) for every connection.
            thread::spawn(move || {
                let who = format!("thread {served}");
                let _ = handle(stream, &who);
            });
        } else if let Err(e) = handle(stream, "server") {
            say("server", &format!("client error: {e}"));
        }
    }
}

/// The demo: clients A and B against the server, from this thread.
fn demo(thread_per_client: bool) -> io::Result<bool> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    say("main", &format!("server listening on {addr}"));
    let server = thread::spawn(move || serve(listener, Some(2), thread_per_client));

    // Client A connects and gets its echo: the server is all A's.
    let mut a = TcpStream::connect(addr)?;
    a.write_all(b"hello from A")?;
    let mut buf = [0u8; 64];
    let n = a.read(&mut buf)?;
    say(
        "client A",
        &format!("got {:?}", String::from_utf8_lossy(&buf[..n])),
    );

    // Client B connects. `connect` succeeds even though the server is busy: the kernel
    // completes the handshake by itself and queues the connection (the listen backlog)
    // until someone calls `accept`.
    let mut b = TcpStream::connect(addr)?;
    if thread_per_client {
        say("client B", "connected");
    } else {
        say(
            "client B",
            "connected (the kernel queued us; the server has not accepted)",
        );
    }
    b.write_all(b"hello from B")?;
    b.set_read_timeout(Some(PATIENCE))?;
    let answered_at_once = match b.read(&mut buf) {
        Ok(n) => {
            say(
                "client B",
                &format!("got {:?}", String::from_utf8_lossy(&buf[..n])),
            );
            true
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            say(
                "client B",
                &format!("no answer within {PATIENCE:?}: the server is stuck in A's read()"),
            );
            false
        }
        Err(e) => return Err(e),
    };

    // A leaves. Only now does the single-threaded server return to `accept`, find B, and
    // read the bytes B sent half a second ago.
    say("client A", "closing");
    drop(a);
    if !answered_at_once {
        b.set_read_timeout(Some(Duration::from_secs(5)))?;
        let n = b.read(&mut buf)?;
        say(
            "client B",
            &format!("got {:?} at last", String::from_utf8_lossy(&buf[..n])),
        );
    }
    drop(b);
    server.join().expect("the server thread does not panic");

    // The chapter's claim, checked: one thread answers B only after A leaves; one thread
    // per client answers B at once.
    Ok(answered_at_once == thread_per_client)
}

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let result = match arg.as_deref() {
        None => demo(false),
        Some("--thread-per-client") => demo(true),
        Some(addr) => TcpListener::bind(addr).and_then(|listener| {
            let addr = listener.local_addr()?;
            let (host, port) = (addr.ip(), addr.port());
            say(
                "server",
                &format!("listening on {addr}; try `nc {host} {port}` twice"),
            );
            serve(listener, None, false);
            Ok(true)
        }),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unexpected: the server did not behave as chapter 1 describes");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
