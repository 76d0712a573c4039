//! Chapter 4 of the guide (`docs/guide/04-reactor.md`): the reactor's protocol, step by
//! step, through [`epoll_rt::AsyncFd`] on a Unix socket pair.
//!
//! 1. A new registration starts out "ready": the first wait returns at once, the read
//!    says `WouldBlock`, and only then is readiness cleared.
//! 2. A real wait: the task sleeps until an epoll event sets the readable bit and wakes it.
//! 3. Draining: read until `WouldBlock`, because an edge-triggered registration will not
//!    report the bytes that are already there a second time.
//! 4. Two directions, two waiting tasks: room in the send buffer wakes the writer, data
//!    wakes the reader, and neither wakes the other.
//!
//! ```text
//! cargo run --example guide_ch04_reactor
//! ```
//!
//! Exits with status 0 if the reactor behaved as the chapter says, 1 otherwise.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::AsyncFd;

/// Prints one line with the milliseconds since the program started.
fn say(what: &str) {
    static START: OnceLock<Instant> = OnceLock::new();
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    println!("{ms:>5} ms  {what}");
}

/// A connected pair: ours registered with the runtime, the peer a plain blocking socket
/// for a std thread to drive.
fn pair() -> io::Result<(AsyncFd<UnixStream>, UnixStream)> {
    let (ours, peer) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    Ok((AsyncFd::new(ours)?, peer))
}

/// Steps 1 to 3. Returns whether each step saw what the chapter says.
async fn one_direction() -> io::Result<bool> {
    let mut ok = true;
    let (ours, mut peer) = pair()?;
    let mut buf = [0u8; 4];

    say("1. new registration: wait for readable");
    let mut guard = ours.readable().await?;
    say("   ... returned at once (a new registration is assumed ready)");
    match guard.try_io(|mut s| s.read(&mut buf)) {
        Err(_would_block) => say("   read: WouldBlock -> readable bit cleared"),
        Ok(result) => {
            say(&format!(
                "   read: {result:?} (unexpected: nothing was sent)"
            ));
            ok = false;
        }
    }

    say("2. wait for readable again; a thread will write in 30 ms");
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        let _ = peer.write_all(b"0123456789");
        peer
    });
    let mut guard = ours.readable().await?;
    say("   woken: an epoll event set the readable bit");

    say("3. drain 4 bytes at a time, until WouldBlock");
    let mut total = 0;
    loop {
        match guard.try_io(|mut s| s.read(&mut buf)) {
            Ok(Ok(n)) => {
                say(&format!(
                    "   read {n} bytes: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                ));
                total += n;
            }
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => {
                say("   WouldBlock: drained; readable bit cleared, next wait will sleep");
                break;
            }
        }
    }
    ok &= total == 10;
    drop(writer.join().expect("the writer thread does not panic"));
    Ok(ok)
}

/// Step 4. Returns whether the writer was woken by room and the reader by data, in that
/// order.
async fn two_directions() -> io::Result<bool> {
    let (ours, mut peer) = pair()?;
    let ours = Rc::new(ours);

    // Fill our send buffer (and the peer's receive buffer) until the kernel says
    // WouldBlock: from now on, writing has to wait.
    let chunk = [b'x'; 4096];
    let mut filled = 0;
    loop {
        let mut guard = ours.writable().await?;
        match guard.try_io(|mut s| s.write(&chunk)) {
            Ok(result) => filled += result?,
            Err(_would_block) => break,
        }
    }
    say(&format!(
        "4. filled the socket with {} KiB; now two tasks wait",
        filled / 1024
    ));

    // The reader waits for data; the writer (this task) for room. Same descriptor, two
    // directions, two lists of wakers in the registration.
    let reader = {
        let ours = ours.clone();
        epoll_rt::spawn(async move {
            let mut buf = [0u8; 64];
            let n = ours.read_with(|mut s| s.read(&mut buf)).await?;
            say(&format!(
                "   reader woken: read {:?}",
                String::from_utf8_lossy(&buf[..n])
            ));
            Ok::<Instant, io::Error>(Instant::now())
        })
    };
    // The peer empties its receive buffer after 30 ms (room: EPOLLOUT); then, once told
    // that the writer is awake, it sends a reply (data: EPOLLIN). The channel keeps the
    // two events in separate turns of the loop, however slow the machine.
    let (go, wait_for_go) = mpsc::channel::<()>();
    let peer_thread = thread::spawn(move || -> io::Result<()> {
        thread::sleep(Duration::from_millis(30));
        let mut sink = vec![0u8; filled];
        peer.read_exact(&mut sink)?;
        let _ = wait_for_go.recv();
        thread::sleep(Duration::from_millis(30));
        peer.write_all(b"reply")
    });

    let _guard = ours.writable().await?;
    let writer_woken = Instant::now();
    say("   writer woken: room in the send buffer (the reader still sleeps)");
    let _ = go.send(());
    let reader_woken = reader.await??;
    peer_thread
        .join()
        .expect("the peer thread does not panic")?;
    Ok(writer_woken < reader_woken)
}

fn main() -> ExitCode {
    let result = epoll_rt::block_on(async {
        Ok::<bool, io::Error>(one_direction().await? && two_directions().await?)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unexpected: the reactor did not behave as chapter 4 describes");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
