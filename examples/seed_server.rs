//! The seed: the classic Python epoll tutorial's server, ported line for line onto
//! [`epoll_rt::epoll`], with no async at all.
//!
//! This is the "before" picture: one thread, one `epoll`, one loop that asks the kernel
//! which sockets are ready and serves each by hand. Compare it with `echo_server.rs`,
//! which does the same job with tasks. Comments give the Python line each step ports
//! (`py NN`), and point out where the tutorial is wrong: it calls `accept()` on the
//! `socket` module, never closes a client that hung up (level-triggered epoll then reports
//! it readable at every `poll`, forever), and never answers. This port fixes all three
//! and echoes every byte back.
//!
//! Run it, then talk to it:
//!
//! ```text
//! cargo run --example seed_server                # listens on 127.0.0.1:33445
//! cargo run --example seed_server 127.0.0.1:0    # any free port
//! nc 127.0.0.1 33445                             # in another terminal
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use epoll_rt::epoll::{Epoll, EventFlags, Events};

/// How long the listener rests after `accept` found no descriptor left (`EMFILE`).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Prints one line, as the tutorial's `print` does, but a failure is not fatal: with
/// standard output on a pipe whose reader has gone (`seed_server | head -1`), `println!`
/// would panic on `EPIPE` and take every client down with it.
macro_rules! say {
    ($($arg:tt)*) => {
        let _ = writeln!(io::stdout(), $($arg)*);
    };
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:33445".into());

    // py 10-16, 21: socket(), setsockopt(SO_REUSEADDR), bind(), listen(5). std's `bind`
    // does all four, SO_REUSEADDR included, with a backlog of its own choosing.
    let server = TcpListener::bind(&addr)?;
    // The tutorial leaves the listener blocking. Non-blocking is safer: if another thread
    // or process accepts the connection between `poll` saying "ready" and our `accept`,
    // we get `WouldBlock`, not a hang until the next client. (A client that gave up in
    // that window is still accepted on Linux: its first `recv` gets end of file, or
    // `ECONNRESET`.)
    server.set_nonblocking(true)?;
    // py 15: serverfd = server.fileno()
    let serverfd = server.as_raw_fd();
    println!("listening on {}", server.local_addr()?);
    io::stdout().flush()?;

    // py 17-18: serverdict. The listener is kept apart, so the map holds clients only.
    let mut clients: HashMap<RawFd, TcpStream> = HashMap::new();

    // py 19: epoll = select.epoll()
    let epoll = Epoll::new()?;
    // py 20: epoll.register(serverfd, select.EPOLLIN). No `EventFlags::ET`, so this is
    // level-triggered, Python's default: while a socket stays readable, every `poll`
    // reports it again. That is why one `accept` or one `read` per event is enough here.
    epoll.register(&server, EventFlags::IN)?;

    // `maxevents`: at most 64 events per `poll`. More ready sockets are not lost; being
    // level-triggered, they are reported again by the next `poll`.
    let mut events = Events::with_capacity(64);

    // Set while the listener is out of epoll, resting after `EMFILE`: when to put it back.
    let mut resume_accept: Option<Instant> = None;

    // py 22
    loop {
        // py 23: events = epoll.poll(1). Wakes at least once a second even when idle;
        // `None` would wait for the next event however long it takes. Sooner if the
        // listener is resting.
        let timeout = resume_accept.map_or(Duration::from_secs(1), |at| {
            at.saturating_duration_since(Instant::now())
        });
        epoll.poll(&mut events, Some(timeout))?;
        if resume_accept.is_some_and(|at| Instant::now() >= at) {
            epoll.register(&server, EventFlags::IN)?;
            resume_accept = None;
        }

        // py 24: for fileno, event in events
        for event in events.iter() {
            let fd = event.fd();

            // py 25
            if fd == serverfd {
                // py 26: the tutorial writes `socket.accept()`, the module, which fails:
                // `accept` belongs to the listening socket.
                let (client, address) = match server.accept() {
                    Ok(accepted) => accepted,
                    // Spurious wake-up, or another thread or process took the connection first:
                    // nothing to do. (`ECONNABORTED` is what some systems return for a
                    // connection reset before it was accepted.)
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::ConnectionAborted
                        ) =>
                    {
                        continue;
                    }
                    Err(e) if out_of_resources(&e) => {
                        // No descriptor (or memory) left for the connection, which stays
                        // in the kernel's queue. Level-triggered, the listener would be
                        // reported again at once and the loop would spin; exiting would
                        // drop every client. So rest the listener: out of epoll until
                        // clients have had time to leave and free descriptors.
                        say!("accept: {e}; pausing for {ACCEPT_BACKOFF:?}");
                        epoll.unregister(&server)?;
                        resume_accept = Some(Instant::now() + ACCEPT_BACKOFF);
                        continue; // the rest of `events` may hold clients to serve
                    }
                    Err(e) => return Err(e),
                };
                // py 27
                say!("<----- fd {} ---- {address} ----->", client.as_raw_fd());
                // py 28: client.setblocking(0)
                client.set_nonblocking(true)?;
                // py 29: epoll.register(client.fileno(), select.EPOLLIN). If epoll cannot
                // take it (out of memory), close this client rather than the server.
                if epoll.register(&client, EventFlags::IN).is_err() {
                    continue;
                }
                // py 30: serverdict[client.fileno()] = client
                clients.insert(client.as_raw_fd(), client);
            } else if let Some(client) = clients.get_mut(&fd) {
                // py 31: `elif event & select.EPOLLIN`. The tutorial looks at EPOLLIN
                // only; HUP (both directions closed) and ERR are reported whether asked
                // for or not, and mean the connection is over: nothing we could echo
                // would arrive.
                let open = !event.flags().intersects(EventFlags::HUP | EventFlags::ERR)
                    && serve(client, fd);
                if !open {
                    // What the tutorial never does: forget a client that is gone. Left
                    // registered, a closed socket reads as end of file forever, so
                    // level-triggered `poll` would report it at every call and the loop
                    // would spin at full CPU.
                    epoll.unregister(&*client)?;
                    // Dropping the `TcpStream` closes the socket.
                    clients.remove(&fd);
                    say!("client {fd} closed");
                }
            }
        }
    }
}

/// Whether an `accept` error means "no resources right now" (descriptors, memory), which
/// clients leaving will fix, rather than a broken listener.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Reads what one client sent, prints it and echoes it back (py 32-34, plus the echo the
/// tutorial lacks). Returns whether the connection stays open.
fn serve(client: &mut TcpStream, fd: RawFd) -> bool {
    // py 33: data = serverdict[fileno].recv(4096)
    let mut data = [0u8; 4096];
    let n = match client.read(&mut data) {
        // End of file: the client closed its side (the tutorial treats this as data).
        Ok(0) => return false,
        Ok(n) => n,
        // Readiness is a hint (see the "Spurious events" section of `epoll_rt::epoll`):
        // nothing to read after all. Try again at the next event.
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
            return true;
        }
        // Connection reset, and the like.
        Err(_) => return false,
    };

    // py 32, 34: print "client:", fileno; print data. Invalid UTF-8 shows as U+FFFD; a
    // trailing newline is dropped, as `println!` adds one.
    let text = String::from_utf8_lossy(&data[..n]);
    say!("client {fd}: {}", text.trim_end_matches(['\r', '\n']));

    // The echo. The socket is non-blocking, so `write_all` fails with `WouldBlock` if the
    // client's receive window and our send buffer are both full, that is, if the client
    // sends without reading the replies. We then drop the client: blocking here would
    // freeze every other client, and keeping the unsent bytes would need a buffer per
    // client plus `EPOLLOUT` interest, which is what the async `echo_server` does for us.
    // A client that reads its echoes never gets near that limit.
    client.write_all(&data[..n]).is_ok()
}
