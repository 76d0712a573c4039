//! Guide, chapter 4, exercise 1: what do the optimistic start and a real wait cost? Count
//! the syscalls with `Runtime::stats`.
//!
//! A new registration is assumed ready. If the data is already there, a read is one
//! syscall and no `epoll_wait`. If it is not, the read costs one syscall that answers
//! `WouldBlock` (which clears the readable bit), then a sleep in `epoll_wait`, then the
//! read that finds the data.
//!
//! ```text
//! cargo run --example guide_ex04_1_spurious
//! ```

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use epoll_rt::{AsyncFd, Runtime, RuntimeStats};

/// (read syscalls, of which `WouldBlock`, `epoll_wait`s) between two snapshots.
fn cost(before: RuntimeStats, after: RuntimeStats) -> (u64, u64, u64) {
    (
        after.read_calls - before.read_calls,
        after.would_blocks - before.would_blocks,
        after.epoll_waits - before.epoll_waits,
    )
}

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let runtime = Runtime::new()?;
    let (ours, mut peer) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    let mut buf = [0u8; 16];

    let (at_once, waited) = runtime.block_on(async {
        let ours = AsyncFd::new(ours)?;

        // 1. The data is there before the first read: the optimistic try finds it.
        peer.write_all(b"early")?;
        let before = runtime.stats();
        let n = ours.read_with(|mut s| s.read(&mut buf)).await?;
        assert_eq!(&buf[..n], b"early");
        let at_once = cost(before, runtime.stats());

        // 2. Nothing there: try, WouldBlock, sleep; a thread writes 20 ms later.
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            peer.write_all(b"late").map(|()| peer)
        });
        let before = runtime.stats();
        let n = ours.read_with(|mut s| s.read(&mut buf)).await?;
        assert_eq!(&buf[..n], b"late");
        let waited = cost(before, runtime.stats());
        drop(writer.join().expect("the writer does not panic")?);
        Ok::<_, io::Error>((at_once, waited))
    })?;
    println!(
        "data already there: {} read(s), {} WouldBlock, {} epoll_wait",
        at_once.0, at_once.1, at_once.2
    );
    println!(
        "data 20 ms later:   {} read(s), {} WouldBlock, {} epoll_wait(s)",
        waited.0, waited.1, waited.2
    );
    assert_eq!(at_once, (1, 0, 0));
    assert_eq!((waited.0, waited.1), (2, 1));
    assert!(waited.2 >= 1, "the second read slept in epoll_wait");
    Ok(())
}
