//! The cooperative budget: a task whose socket is always ready still lets the other tasks
//! and the reactor run.

mod util;

use std::cell::Cell;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use epoll_rt::time::sleep;
use epoll_rt::{AsyncFd, AsyncTcpListener, AsyncTcpStream, spawn, yield_now};

/// A read loop on a socket at end of file never sees `WouldBlock`: each read returns 0 at
/// once. Without a budget it would never return `Pending`, and the timer task below could
/// not run until the loop gave up by itself after a million reads.
#[test]
fn always_ready_reader_does_not_starve_timers() {
    const MAX_SPINS: u32 = 1_000_000;
    let spins = util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
        drop(listener.accept().await?); // the peer closes: every read now returns 0

        let stop = Rc::new(Cell::new(false));
        let flag = stop.clone();
        spawn(async move {
            sleep(Duration::from_millis(2)).await;
            flag.set(true);
        });

        let mut buf = [0u8; 64];
        let mut spins = 0;
        while !stop.get() && spins < MAX_SPINS {
            assert_eq!(client.read(&mut buf).await?, 0);
            spins += 1;
        }
        Ok::<u32, std::io::Error>(spins)
    })
    .unwrap();
    assert!(
        spins < MAX_SPINS,
        "the timer task never ran while the reader spun"
    );
}

/// Two tasks both reading always-ready sockets take turns instead of one running to the
/// end first.
#[test]
fn always_ready_readers_interleave() {
    const READS: u32 = 10_000;
    let (first_done_at, _) = util::run(|| async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let mut a = AsyncTcpStream::connect(addr).await?;
        drop(listener.accept().await?);
        let mut b = AsyncTcpStream::connect(addr).await?;
        drop(listener.accept().await?);

        let progress_b = Rc::new(Cell::new(0u32));
        let seen = progress_b.clone();
        let task_b = spawn(async move {
            let mut buf = [0u8; 8];
            for _ in 0..READS {
                b.read(&mut buf).await?;
                seen.set(seen.get() + 1);
            }
            Ok::<(), std::io::Error>(())
        });
        let mut buf = [0u8; 8];
        for _ in 0..READS {
            a.read(&mut buf).await?;
        }
        // When `a` finished, `b` must already have made real progress.
        let b_at_a_end = progress_b.get();
        task_b.await??;
        Ok::<(u32, u32), std::io::Error>((b_at_a_end, READS))
    })
    .unwrap();
    assert!(
        first_done_at > READS / 4,
        "task b made {first_done_at} of {READS} reads while task a did all of its"
    );
}

/// A task refused an operation for want of budget gives the thread back as a yield does:
/// its wake waits for the next look at epoll. So a reader that is always ready and a
/// sibling that yields in a loop take turns, one poll each per turn, rather than the
/// reader running its polls back to back (64 per look at epoll) while the yielder waits.
#[test]
fn a_task_over_its_budget_takes_turns_with_a_yielding_one() {
    const READS: u32 = 128 * 10;
    let sibling_runs = util::run(|| async {
        // `read_with` on a socket at end of file: ready for ever, every read returns 0.
        let (ours, peer) = UnixStream::pair()?;
        drop(peer);
        ours.set_nonblocking(true)?;
        let ours = AsyncFd::new(ours)?;

        let done = Rc::new(Cell::new(false));
        let runs = Rc::new(Cell::new(0u32));
        let sibling = {
            let (done, runs) = (done.clone(), runs.clone());
            spawn(async move {
                while !done.get() {
                    runs.set(runs.get() + 1);
                    yield_now().await;
                }
            })
        };
        let mut buf = [0u8; 8];
        for _ in 0..READS {
            assert_eq!(ours.read_with(|mut s| s.read(&mut buf)).await?, 0);
        }
        done.set(true);
        sibling.await.expect("the sibling does not panic");
        Ok::<_, std::io::Error>(runs.get())
    })
    .unwrap();
    // The reader is refused once per 128 reads, 9 times before its last read here; the
    // sibling runs once in each of those turns.
    assert!(
        sibling_runs >= READS / 128 - 1,
        "the yielding sibling ran {sibling_runs} times while the reader was refused 9 times"
    );
}
