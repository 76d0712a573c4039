//! The cooperative budget: a task whose socket is always ready still lets the other tasks
//! and the reactor run.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use epoll_rt::time::sleep;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream, spawn};

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
