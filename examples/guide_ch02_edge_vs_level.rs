//! Chapter 2 of the guide (`docs/guide/02-epoll-by-hand.md`): level-triggered,
//! edge-triggered and one-shot epoll, side by side, on a Unix socket pair.
//!
//! Each experiment writes into one end of the pair and asks [`epoll_rt::epoll::Epoll`] about
//! the other end several times, with a zero timeout (just a look), and prints how many
//! events each look returned. The last experiment closes the peer, which is how the Python
//! tutorial's server ends up reporting a dead client forever.
//!
//! ```text
//! cargo run --example guide_ch02_edge_vs_level
//! ```
//!
//! Exits with status 0 if the kernel answered as the chapter says, 1 otherwise.

use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use epoll_rt::epoll::{Epoll, EventFlags, Events};

/// One look: `epoll_wait` with a zero timeout. Returns the number of events and prints it
/// with the flags of the first.
fn look(epoll: &Epoll, events: &mut Events, what: &str) -> io::Result<usize> {
    let n = epoll.poll(events, Some(Duration::ZERO))?;
    let flags = events
        .iter()
        .next()
        .map_or(String::new(), |e| format!("  {:?}", e.flags()));
    println!("  {what:<44} -> {n} event(s){flags}");
    Ok(n)
}

/// Reads up to `max` bytes from a non-blocking socket; 0 bytes if it would block.
fn read_some(sock: &mut UnixStream, max: usize) -> io::Result<usize> {
    let mut buf = vec![0u8; max];
    match sock.read(&mut buf) {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(0),
        Err(e) => Err(e),
    }
}

/// A connected pair: `ours` (non-blocking, watched by epoll) and `peer` (the other end).
fn pair() -> io::Result<(UnixStream, UnixStream)> {
    let (ours, peer) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    Ok((ours, peer))
}

/// Level-triggered (the default, and the tutorial's): reported at every look while data
/// is waiting, until it has all been read.
fn level() -> io::Result<Vec<usize>> {
    println!("level-triggered: register(IN)");
    let (mut ours, mut peer) = pair()?;
    let epoll = Epoll::new()?;
    epoll.register(&ours, EventFlags::IN)?;
    let mut events = Events::with_capacity(8);
    let mut counts = Vec::new();

    peer.write_all(&[b'x'; 100])?;
    counts.push(look(&epoll, &mut events, "peer wrote 100 bytes; look")?);
    counts.push(look(&epoll, &mut events, "look again, nothing read")?);
    let n = read_some(&mut ours, 10)?;
    counts.push(look(
        &epoll,
        &mut events,
        &format!("read {n} of them; look"),
    )?);
    let n = read_some(&mut ours, 1000)?;
    counts.push(look(
        &epoll,
        &mut events,
        &format!("read the other {n}; look"),
    )?);
    Ok(counts)
}

/// Edge-triggered: reported once per arrival, however much is left unread.
fn edge() -> io::Result<Vec<usize>> {
    println!("edge-triggered: register(IN | ET)");
    let (mut ours, mut peer) = pair()?;
    let epoll = Epoll::new()?;
    epoll.register(&ours, EventFlags::IN | EventFlags::ET)?;
    let mut events = Events::with_capacity(8);
    let mut counts = Vec::new();

    peer.write_all(&[b'x'; 100])?;
    counts.push(look(&epoll, &mut events, "peer wrote 100 bytes; look")?);
    counts.push(look(&epoll, &mut events, "look again, nothing read")?);
    let n = read_some(&mut ours, 10)?;
    // The trap: 90 bytes wait in the socket, and epoll says nothing. A program that now
    // waits for an event before reading again waits forever.
    counts.push(look(
        &epoll,
        &mut events,
        &format!("read {n} of them (90 left!); look"),
    )?);
    peer.write_all(b"more")?;
    counts.push(look(&epoll, &mut events, "peer wrote 4 more bytes; look")?);
    // The rule that comes with ET: read until WouldBlock.
    let mut drained = 0;
    loop {
        match read_some(&mut ours, 16)? {
            0 => break,
            n => drained += n,
        }
    }
    println!("  drained {drained} bytes, until WouldBlock");
    counts.push(look(&epoll, &mut events, "look")?);
    Ok(counts)
}

/// One-shot: one event, then the registration is disabled until `modify` re-arms it.
fn oneshot() -> io::Result<Vec<usize>> {
    println!("one-shot: register(IN | ONESHOT)");
    let (ours, mut peer) = pair()?;
    let epoll = Epoll::new()?;
    epoll.register(&ours, EventFlags::IN | EventFlags::ONESHOT)?;
    let mut events = Events::with_capacity(8);
    let mut counts = Vec::new();

    peer.write_all(b"ping")?;
    counts.push(look(&epoll, &mut events, "peer wrote 4 bytes; look")?);
    peer.write_all(b"ping")?;
    counts.push(look(
        &epoll,
        &mut events,
        "peer wrote 4 more; look (disarmed)",
    )?);
    epoll.modify(&ours, EventFlags::IN | EventFlags::ONESHOT)?;
    counts.push(look(&epoll, &mut events, "modify() re-arms it; look")?);
    Ok(counts)
}

/// The tutorial's bug: the peer closes, a read returns 0 (end of file) every time, and a
/// level-triggered registration reports the socket at every look, forever.
fn hangup() -> io::Result<Vec<usize>> {
    println!("peer closes, level-triggered: register(IN)");
    let (mut ours, peer) = pair()?;
    let epoll = Epoll::new()?;
    epoll.register(&ours, EventFlags::IN)?;
    let mut events = Events::with_capacity(8);
    let mut counts = Vec::new();

    drop(peer);
    for round in 1..=3 {
        let n = read_some(&mut ours, 100)?;
        counts.push(look(
            &epoll,
            &mut events,
            &format!("read() = {n} (end of file); look #{round}"),
        )?);
    }
    epoll.unregister(&ours)?;
    counts.push(look(&epoll, &mut events, "unregister() it; look")?);
    Ok(counts)
}

/// One experiment: returns the number of events each look returned.
type Experiment = fn() -> io::Result<Vec<usize>>;

fn main() -> ExitCode {
    // What the chapter says each experiment prints, as event counts per look.
    let experiments: [(Experiment, &[usize]); 4] = [
        (level, &[1, 1, 1, 0]),
        (edge, &[1, 0, 0, 1, 0]),
        (oneshot, &[1, 0, 1]),
        (hangup, &[1, 1, 1, 0]),
    ];
    let mut ok = true;
    for (experiment, expected) in experiments {
        match experiment() {
            Ok(counts) if counts == expected => {}
            Ok(counts) => {
                eprintln!("  unexpected: event counts {counts:?}, expected {expected:?}");
                ok = false;
            }
            Err(e) => {
                eprintln!("  error: {e}");
                ok = false;
            }
        }
        println!();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
