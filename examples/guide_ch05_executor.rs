//! Chapter 5 of the guide (`docs/guide/05-executor.md`): the executor's rules, each shown
//! by a small experiment.
//!
//! 1. The run queue is first in, first out: `yield_now` sends a task to the back.
//! 2. A task that is always ready (it yields in a loop) cannot delay a timer: a yield
//!    waits for the executor's next look at epoll (and a task that wakes itself instead
//!    still gets one look every 64 polls).
//! 3. A task that blocks the thread delays everything: scheduling is cooperative.
//! 4. The cooperative budget: a read loop on a socket that is always ready is made to
//!    return `Pending` every 128 operations, so its siblings run.
//! 5. Wakes from other threads: 4 threads wake one task 4000 times; the task is queued
//!    once per turn, not once per wake.
//! 6. `JoinHandle`: a panicking task becomes an error for whoever awaits it; an aborted
//!    one becomes "cancelled"; the runtime carries on.
//!
//! ```text
//! cargo run --example guide_ch05_executor
//! ```
//!
//! Exits with status 0 if the executor behaved as the chapter says, 1 otherwise.

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn};
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::sleep;
use epoll_rt::{AsyncFd, spawn, yield_now};

/// Part 1: three tasks, two steps each, a `yield_now` in between.
async fn fifo_order() -> bool {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = ["A", "B", "C"]
        .into_iter()
        .map(|name| {
            let log = log.clone();
            spawn(async move {
                log.borrow_mut().push(format!("{name}1"));
                yield_now().await; // back of the queue
                log.borrow_mut().push(format!("{name}2"));
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let order = log.borrow().join(" ");
    println!("1. run order: {order}");
    order == "A1 B1 C1 A2 B2 C2"
}

/// Part 2: a timer next to a task that never stops yielding.
async fn spinner_vs_timer() -> bool {
    let stop = Rc::new(Cell::new(false));
    let spins = Rc::new(Cell::new(0u64));
    let spinner = {
        let (stop, spins) = (stop.clone(), spins.clone());
        spawn(async move {
            while !stop.get() {
                spins.set(spins.get() + 1);
                yield_now().await; // ready again after the next look at epoll
            }
        })
    };
    let start = Instant::now();
    sleep(Duration::from_millis(10)).await;
    let late = start.elapsed().saturating_sub(Duration::from_millis(10));
    stop.set(true);
    let _ = spinner.await;
    println!(
        "2. sleep(10 ms) next to a task that yielded {} times: {late:?} late",
        spins.get()
    );
    // The sleep completed at all: the reactor got its turns. (How late it is depends on
    // the machine, so it is printed, not checked.)
    spins.get() > 0
}

/// Part 3: a timer next to a task that blocks the thread for 50 ms.
async fn blocker_vs_timer() -> bool {
    let blocker = spawn(async {
        thread::sleep(Duration::from_millis(50)); // never do this in async code
    });
    let start = Instant::now();
    sleep(Duration::from_millis(10)).await;
    let took = start.elapsed();
    let _ = blocker.await;
    println!("3. sleep(10 ms) next to a task that blocked the thread for 50 ms: took {took:?}");
    took >= Duration::from_millis(50)
}

/// Part 4: a read loop on a socket at end of file, which is always ready, next to a sibling
/// that counts how often it gets to run.
async fn budget() -> io::Result<bool> {
    let (ours, peer) = UnixStream::pair()?;
    drop(peer); // every read now returns 0 at once: end of file
    ours.set_nonblocking(true)?;
    let ours = AsyncFd::new(ours)?;

    let done = Rc::new(Cell::new(false));
    let sibling_runs = Rc::new(Cell::new(0u32));
    let sibling = {
        let (done, runs) = (done.clone(), sibling_runs.clone());
        spawn(async move {
            while !done.get() {
                runs.set(runs.get() + 1);
                yield_now().await;
            }
        })
    };
    // 1000 reads, none of which ever waits: without a budget, this loop would hold the
    // thread until it ends.
    let mut buf = [0u8; 16];
    for _ in 0..1000 {
        ours.read_with(|mut s| s.read(&mut buf)).await?;
    }
    done.set(true);
    let _ = sibling.await;
    println!(
        "4. 1000 reads that never wait; the sibling task ran {} times meanwhile \
         (the budget is 128 operations per poll)",
        sibling_runs.get()
    );
    // 1000 / 128: the read loop was made to yield 7 times.
    Ok(sibling_runs.get() >= 7)
}

/// Part 5: four threads wake one task 1000 times each.
async fn remote_wakes() -> bool {
    const THREADS: usize = 4;
    const WAKES: usize = 1000;
    let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut polls = 0;
    let mut threads = Vec::new();
    let start = Instant::now();
    poll_fn(|cx| {
        polls += 1;
        // Keep the current waker where the threads find it (the contract of `Pending`).
        let mut slot = waker.lock().expect("no thread panics holding it");
        if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *slot = Some(cx.waker().clone());
        }
        drop(slot);
        if threads.is_empty() {
            for _ in 0..THREADS {
                let (waker, finished) = (waker.clone(), finished.clone());
                threads.push(thread::spawn(move || {
                    for i in 0..WAKES {
                        if i + 1 == WAKES {
                            finished.fetch_add(1, Ordering::SeqCst);
                        }
                        if let Some(w) = waker.lock().expect("no panic").as_ref() {
                            w.wake_by_ref();
                        }
                    }
                }));
            }
        }
        if finished.load(Ordering::SeqCst) == THREADS {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    for t in threads {
        t.join().expect("the waking threads do not panic");
    }
    println!(
        "5. {} wakes from {THREADS} threads: the task was polled {polls} times, in {:?}",
        THREADS * WAKES,
        start.elapsed()
    );
    polls <= THREADS * WAKES + 1
}

/// Part 6: panics and cancellation reach the `JoinHandle`, not the runtime.
async fn join_handles() -> bool {
    let panicky = spawn(async {
        yield_now().await;
        panic!("something went wrong in a task");
    });
    let forever = spawn(pending::<()>());
    forever.abort();
    let panicked = panicky.await.is_err_and(|e| e.is_panic());
    let cancelled = forever.await.is_err_and(|e| e.is_cancelled());
    let still_alive = spawn(async { 6 * 7 }).await.is_ok_and(|n| n == 42);
    println!(
        "6. panicked task -> JoinError::is_panic: {panicked}; aborted task -> is_cancelled: \
         {cancelled}; the runtime still runs tasks: {still_alive}"
    );
    panicked && cancelled && still_alive
}

fn main() -> ExitCode {
    // The default hook prints a panic with a backtrace hint; one line is enough here.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or("(non-string payload)");
        println!("   (panic hook) a task panicked: {message}");
    }));
    let result = epoll_rt::block_on(async {
        let mut ok = fifo_order().await;
        ok &= spinner_vs_timer().await;
        ok &= blocker_vs_timer().await;
        ok &= budget().await?;
        ok &= remote_wakes().await;
        ok &= join_handles().await;
        Ok::<bool, io::Error>(ok)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unexpected: the executor did not behave as chapter 5 describes");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
